//! Registry storage rules, run on SQLite always and on PostgreSQL with `--features postgres-tests`.

use registry::storage::{
    AvailabilityStatus, CodeGroup, CodeValue, Database, DocumentEntryType, NewAssociation,
    NewAuthor, NewCode, NewObject, NewReferenceId, ObjectFilter, ObjectKind, StorageError,
    Submission, TimeRange,
};

const PATIENT: &str = "P1^^^&1.2.3&ISO";
const OTHER_PATIENT: &str = "P2^^^&1.2.3&ISO";
const CLASS_CODE: &str = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a";
const EVENT_CODE: &str = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4";
const HAS_MEMBER: &str = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember";

use AvailabilityStatus::{Approved, Deprecated, Submitted};

mod support;

use support::database::on_both_backends;

/// A DocumentEntry row with a recognisable fragment and a hash of its own.
fn document(uuid: &str, unique_id: &str) -> NewObject {
    let mut object = NewObject::first_version(
        ObjectKind::DocumentEntry,
        uuid,
        PATIENT,
        unique_id,
        format!("<rim:ExtrinsicObject id=\"{uuid}\"/>"),
    );
    object.object_type = Some(DocumentEntryType::Stable);
    object.hash = Some(format!("hash-of-{uuid}"));
    object.size = Some(1);
    object
}

/// A submission of one SubmissionSet `ss` holding `documents`.
fn submission(ss: &str, documents: Vec<NewObject>) -> Submission {
    let mut set = NewObject::first_version(
        ObjectKind::SubmissionSet,
        ss,
        PATIENT,
        format!("1.2.{ss}"),
        format!("<rim:RegistryPackage id=\"{ss}\"/>"),
    );
    set.submission_time = Some("20240101120000".to_owned());
    set.source_id = Some("1.9.9".to_owned());
    let associations = documents
        .iter()
        .map(|d| NewAssociation {
            entry_uuid: format!("{ss}-{}", d.entry_uuid),
            association_type: HAS_MEMBER.to_owned(),
            source_uuid: ss.to_owned(),
            target_uuid: d.entry_uuid.clone(),
            status: Approved,
            submission_set_status: Some("Original".to_owned()),
            submission_set: Some(ss.to_owned()),
            fragment: "<rim:Association/>".to_owned(),
        })
        .collect();
    let mut objects = vec![set];
    objects.extend(documents.into_iter().map(|mut d| {
        d.submission_set = Some(ss.to_owned());
        d
    }));
    Submission {
        objects,
        associations,
        ..Submission::default()
    }
}

fn code(object: &str, scheme: &str, value: &str) -> NewCode {
    NewCode {
        object_uuid: object.to_owned(),
        scheme: scheme.to_owned(),
        code: value.to_owned(),
        coding_scheme: "2.16.840.1.113883.6.1".to_owned(),
    }
}

fn group(scheme: &str, values: &[&str]) -> CodeGroup {
    CodeGroup {
        scheme: scheme.to_owned(),
        codes: values
            .iter()
            .map(|v| CodeValue::new(*v, "2.16.840.1.113883.6.1"))
            .collect(),
    }
}

fn uuids(objects: &[registry::storage::StoredObject]) -> Vec<String> {
    let mut ids: Vec<String> = objects.iter().map(|o| o.entry_uuid.clone()).collect();
    ids.sort();
    ids
}

fn owned(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

async fn find(db: &Database, filter: &ObjectFilter) -> Vec<String> {
    match db.find_documents(filter).await {
        Ok(found) => uuids(&found),
        Err(e) => panic!("find_documents failed: {e}"),
    }
}

async fn register(db: &Database, submission: &Submission) {
    if let Err(e) = db.insert_submission(submission).await {
        panic!("insert_submission failed: {e}");
    }
}

/// ITI-42: a submission is all-or-nothing; its 3rd object repeating a registered uniqueId leaves nothing.
async fn submission_is_all_or_nothing(db: &Database) {
    register(db, &submission("ss1", vec![document("d1", "1.1")])).await;
    let mut failing = submission("ss2", vec![document("d2", "1.2"), document("d3", "1.1")]);
    failing.codes.push(code("d2", CLASS_CODE, "A"));
    failing.authors.push(NewAuthor {
        object_uuid: "d2".to_owned(),
        author_person: "Smith".to_owned(),
    });
    let err = db.insert_submission(&failing).await;
    assert!(
        matches!(&err, Err(StorageError::DuplicateUniqueId { unique_id }) if unique_id == "1.1"),
        "{err:?}"
    );
    let left = db
        .objects_by_uuid(&owned(&["ss2", "d2", "d3"]))
        .await
        .expect("lookup");
    assert!(left.is_empty(), "rows left behind: {left:?}");
    let associations = db.associations_of(&owned(&["ss2"])).await.expect("lookup");
    assert!(associations.is_empty());
    let mut filter = ObjectFilter::for_patient(PATIENT, &[Approved]);
    filter.code_groups.push(group(CLASS_CODE, &["A"]));
    assert!(find(db, &filter).await.is_empty());
}

/// XDSDuplicateUniqueIdInRegistry: a uniqueId held by another logical object (a DocumentEntry of
/// another hash, or a SubmissionSet) is a typed error.
async fn unique_id_of_another_object_is_typed_error(db: &Database) {
    register(db, &submission("ss1", vec![document("d1", "1.1")])).await;
    let err = db
        .insert_submission(&submission("ss2", vec![document("d2", "1.1")]))
        .await;
    assert!(
        matches!(&err, Err(StorageError::DuplicateUniqueId { unique_id }) if unique_id == "1.1"),
        "{err:?}"
    );
    let mut resized = document("d3", "1.1");
    resized.hash.clone_from(&document("d1", "1.1").hash);
    resized.size = Some(2);
    let err = db
        .insert_submission(&submission("ss3", vec![resized]))
        .await;
    assert!(
        matches!(&err, Err(StorageError::DuplicateUniqueId { unique_id }) if unique_id == "1.1"),
        "{err:?}"
    );
    let err = db
        .insert_submission(&submission("ss4", vec![document("d4", "1.2.ss1")]))
        .await;
    assert!(
        matches!(&err, Err(StorageError::DuplicateUniqueId { unique_id }) if unique_id == "1.2.ss1"),
        "{err:?}"
    );
}

/// How many submissions the concurrency rules send at once (more than one group commit or one
/// PostgreSQL pool takes, so some wait for others).
const CONCURRENT: usize = 24;

/// ITI-42 under concurrency: submissions sent at once (on SQLite committed together in groups)
/// each succeed or fail on their own: every valid one is stored whole, and every failing one
/// (a registered entryUUID, an Association to an object never registered) gets its own error
/// and leaves nothing behind.
async fn concurrent_registrations_each_succeed_or_fail_on_their_own(db: &Database) {
    register(db, &submission("ss0", vec![document("d0", "1.0")])).await;
    let submissions: Vec<Submission> = (1..=CONCURRENT)
        .map(|n| {
            let ss = format!("ss{n}");
            match n % 3 {
                // Repeats the registered d0's entryUUID.
                1 => submission(&ss, vec![document("d0", &format!("1.{n}"))]),
                // Its second Association points at an object that is not registered.
                2 => {
                    let mut failing =
                        submission(&ss, vec![document(&format!("d{n}"), &format!("1.{n}"))]);
                    let mut dangling = failing.associations[0].clone();
                    dangling.entry_uuid = format!("{ss}-dangling");
                    dangling.target_uuid = "never-registered".to_owned();
                    failing.associations.push(dangling);
                    failing
                }
                _ => submission(&ss, vec![document(&format!("d{n}"), &format!("1.{n}"))]),
            }
        })
        .collect();
    let outcomes =
        futures::future::join_all(submissions.iter().map(|s| db.insert_submission(s))).await;
    for (n, outcome) in (1..=CONCURRENT).zip(outcomes) {
        let ss = format!("ss{n}");
        let doc = format!("d{n}");
        let stored = uuids(
            &db.objects_by_uuid(&owned(&[&ss, &doc]))
                .await
                .expect("lookup"),
        );
        match n % 3 {
            1 => {
                assert!(
                    matches!(&outcome, Err(StorageError::DuplicateEntryUuid { entry_uuid }) if entry_uuid == "d0"),
                    "{ss}: {outcome:?}"
                );
                assert!(stored.is_empty(), "{ss} left {stored:?}");
            }
            2 => {
                assert!(
                    matches!(&outcome, Err(StorageError::UnresolvedReference { entry_uuid }) if entry_uuid == "never-registered"),
                    "{ss}: {outcome:?}"
                );
                assert!(stored.is_empty(), "{ss} left {stored:?}");
            }
            _ => {
                assert!(outcome.is_ok(), "{ss}: {outcome:?}");
                assert_eq!(stored, owned(&[&doc, &ss]), "{ss} stored whole");
                let associations = db.associations_of(&owned(&[&ss])).await.expect("lookup");
                assert_eq!(associations.len(), 1, "{ss}'s HasMember stored");
            }
        }
    }
}

/// XDSDuplicateUniqueIdInRegistry under concurrency: of submissions sent at once whose
/// DocumentEntries (of different hashes) share one uniqueId, exactly one is stored and every
/// other is refused with the typed error, also when they are committed in one group.
async fn concurrent_registrations_of_one_unique_id_store_exactly_one(db: &Database) {
    let submissions: Vec<Submission> = (1..=CONCURRENT)
        .map(|n| submission(&format!("ss{n}"), vec![document(&format!("d{n}"), "1.1")]))
        .collect();
    let outcomes =
        futures::future::join_all(submissions.iter().map(|s| db.insert_submission(s))).await;
    let stored = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(stored, 1, "{outcomes:?}");
    let refused = outcomes
        .iter()
        .filter(|o| matches!(o, Err(StorageError::DuplicateUniqueId { unique_id }) if unique_id == "1.1"))
        .count();
    assert_eq!(refused, CONCURRENT - 1, "{outcomes:?}");
    let holders = db
        .objects_by_unique_id(&owned(&["1.1"]))
        .await
        .expect("lookup");
    assert_eq!(holders.len(), 1, "one DocumentEntry holds the uniqueId");
}

/// ITI-42 resubmission (NIST 12004): a DocumentEntry of identical hash and size is stored again
/// under the registered uniqueId, as an entry of its own, and lookups by uniqueId find both.
async fn identical_document_entry_is_stored_again_under_its_unique_id(db: &Database) {
    register(db, &submission("ss1", vec![document("d1", "1.1")])).await;
    let mut copy = document("d2", "1.1");
    copy.hash = document("d1", "1.1").hash.map(|h| h.to_uppercase());
    register(db, &submission("ss2", vec![copy])).await;
    let found = db
        .objects_by_unique_id(&owned(&["1.1"]))
        .await
        .expect("lookup");
    assert_eq!(uuids(&found), owned(&["d1", "d2"]));
    assert!(
        found
            .iter()
            .all(|o| o.logical_id == o.entry_uuid && o.version == 1)
    );
}

/// ITI-57 XDSMetadataVersionError: one logical object holds each version once.
async fn repeated_version_is_typed_error(db: &Database) {
    register(db, &submission("ss1", vec![document("d1", "1.1")])).await;
    let version_2 = |uuid: &str| {
        let mut v2 = document(uuid, "1.1");
        v2.logical_id = "d1".to_owned();
        v2.version = 2;
        v2
    };
    register(db, &submission("ss2", vec![version_2("d1v2")])).await;
    let err = db
        .insert_submission(&submission("ss3", vec![version_2("d1v2b")]))
        .await;
    assert!(
        matches!(&err, Err(StorageError::DuplicateVersion { logical_id, version: 2 }) if logical_id == "d1"),
        "{err:?}"
    );
}

/// XDSRegistryDuplicateUniqueIdInMessage: one submission repeating a uniqueId.
async fn duplicate_unique_id_in_submission_is_typed_error(db: &Database) {
    let err = db
        .insert_submission(&submission(
            "ss1",
            vec![document("d1", "1.1"), document("d2", "1.1")],
        ))
        .await;
    assert!(
        matches!(&err, Err(StorageError::DuplicateUniqueIdInSubmission { unique_id, version: 1 }) if unique_id == "1.1"),
        "{err:?}"
    );
}

/// ITI-57: a new version of the same logical document shares the uniqueId; another logical one may not.
async fn versions_share_unique_id(db: &Database) {
    register(db, &submission("ss1", vec![document("d1", "1.1")])).await;
    let mut v2 = document("d1v2", "1.1");
    v2.logical_id = "d1".to_owned();
    v2.version = 2;
    register(db, &submission("ss2", vec![v2])).await;
    let versions = db.versions_of("d1").await.expect("versions");
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![1, 2]
    );
    let mut intruder = document("x", "1.1");
    intruder.version = 3;
    let err = db
        .insert_submission(&submission("ss3", vec![intruder]))
        .await;
    assert!(
        matches!(err, Err(StorageError::DuplicateUniqueId { .. })),
        "{err:?}"
    );
}

/// A repeated entryUUID is a typed error, not a generic database error.
async fn duplicate_entry_uuid_is_typed_error(db: &Database) {
    register(db, &submission("ss1", vec![document("d1", "1.1")])).await;
    let err = db
        .insert_submission(&submission("ss2", vec![document("d1", "1.2")]))
        .await;
    assert!(
        matches!(&err, Err(StorageError::DuplicateEntryUuid { entry_uuid }) if entry_uuid == "d1"),
        "{err:?}"
    );
}

/// A repeated Association entryUUID, registered before or twice in one submission, is a typed
/// error and registers nothing.
async fn duplicate_association_entry_uuid_is_typed_error(db: &Database) {
    register(db, &submission("ss1", vec![document("d1", "1.1")])).await;
    let mut again = submission("ss2", vec![document("d2", "1.2")]);
    again.associations[0].entry_uuid = "ss1-d1".to_owned();
    let err = db.insert_submission(&again).await;
    assert!(
        matches!(&err, Err(StorageError::DuplicateEntryUuid { entry_uuid }) if entry_uuid == "ss1-d1"),
        "{err:?}"
    );
    let mut twice = submission("ss3", vec![document("d3", "1.3"), document("d4", "1.4")]);
    twice.associations[1].entry_uuid = twice.associations[0].entry_uuid.clone();
    let err = db.insert_submission(&twice).await;
    assert!(
        matches!(&err, Err(StorageError::DuplicateEntryUuid { entry_uuid }) if entry_uuid == "ss3-d3"),
        "{err:?}"
    );
    let left = db
        .objects_by_uuid(&owned(&["ss2", "d2", "ss3", "d3", "d4"]))
        .await
        .expect("lookup");
    assert!(left.is_empty(), "{left:?}");
}

/// Lookups by entryUUID and uniqueId return the stored LeafClass fragment.
async fn lookups_return_fragment(db: &Database) {
    register(db, &submission("ss1", vec![document("d1", "1.1")])).await;
    let by_uuid = db.objects_by_uuid(&owned(&["d1"])).await.expect("lookup");
    assert_eq!(by_uuid.len(), 1);
    assert_eq!(by_uuid[0].fragment, "<rim:ExtrinsicObject id=\"d1\"/>");
    assert_eq!(by_uuid[0].submission_set.as_deref(), Some("ss1"));
    let by_unique = db
        .objects_by_unique_id(&owned(&["1.1"]))
        .await
        .expect("lookup");
    assert_eq!(uuids(&by_unique), owned(&["d1"]));
}

/// $XDSDocumentEntryStatus: values OR together.
async fn status_values_or_together(db: &Database) {
    let mut deprecated = document("d2", "1.2");
    deprecated.status = Deprecated;
    let mut submitted = document("d3", "1.3");
    submitted.status = Submitted;
    register(
        db,
        &submission("ss1", vec![document("d1", "1.1"), deprecated, submitted]),
    )
    .await;
    assert_eq!(
        find(db, &ObjectFilter::for_patient(PATIENT, &[Approved])).await,
        owned(&["d1"])
    );
    assert_eq!(
        find(
            db,
            &ObjectFilter::for_patient(PATIENT, &[Approved, Deprecated])
        )
        .await,
        owned(&["d1", "d2"])
    );
    assert!(
        find(db, &ObjectFilter::for_patient(OTHER_PATIENT, &[Approved]))
            .await
            .is_empty()
    );
}

/// Code parameters: OR within one value list, AND across repeated lists (EventCodeList).
async fn codes_or_within_group_and_across_groups(db: &Database) {
    let mut sub = submission(
        "ss1",
        vec![
            document("d1", "1.1"),
            document("d2", "1.2"),
            document("d3", "1.3"),
        ],
    );
    sub.codes = vec![
        code("d1", EVENT_CODE, "E1"),
        code("d1", EVENT_CODE, "E2"),
        code("d2", EVENT_CODE, "E1"),
        code("d3", EVENT_CODE, "E3"),
        code("d3", CLASS_CODE, "E1"),
    ];
    register(db, &sub).await;
    let mut or_filter = ObjectFilter::for_patient(PATIENT, &[Approved]);
    or_filter.code_groups.push(group(EVENT_CODE, &["E1", "E3"]));
    assert_eq!(find(db, &or_filter).await, owned(&["d1", "d2", "d3"]));

    let mut and_filter = ObjectFilter::for_patient(PATIENT, &[Approved]);
    and_filter.code_groups.push(group(EVENT_CODE, &["E1"]));
    and_filter.code_groups.push(group(EVENT_CODE, &["E2"]));
    assert_eq!(find(db, &and_filter).await, owned(&["d1"]));

    let mut scheme_filter = ObjectFilter::for_patient(PATIENT, &[Approved]);
    scheme_filter.code_groups.push(group(CLASS_CODE, &["E1"]));
    assert_eq!(find(db, &scheme_filter).await, owned(&["d3"]));

    let mut other_coding_scheme = ObjectFilter::for_patient(PATIENT, &[Approved]);
    other_coding_scheme.code_groups.push(CodeGroup {
        scheme: EVENT_CODE.to_owned(),
        codes: vec![CodeValue::new("E1", "another-scheme")],
    });
    assert!(find(db, &other_coding_scheme).await.is_empty());
}

/// Time parameters: From is inclusive, To is exclusive (ITI TF-2a 3.18.4.1.2.3.6).
async fn time_from_inclusive_to_exclusive(db: &Database) {
    let mut early = document("d1", "1.1");
    early.creation_time = Some("20041224".to_owned());
    early.service_start_time = Some("20041224".to_owned());
    early.service_stop_time = Some("20041224".to_owned());
    let mut late = document("d2", "1.2");
    late.creation_time = Some("20051224".to_owned());
    late.service_start_time = Some("20051224".to_owned());
    late.service_stop_time = Some("20051224".to_owned());
    register(db, &submission("ss1", vec![early, late])).await;

    let mut left_edge = ObjectFilter::for_patient(PATIENT, &[Approved]);
    left_edge.creation_time = TimeRange::new(Some("20041224"), Some("20050101"));
    assert_eq!(find(db, &left_edge).await, owned(&["d1"]));

    let mut right_edge = ObjectFilter::for_patient(PATIENT, &[Approved]);
    right_edge.creation_time = TimeRange::new(Some("20041124"), Some("20041224"));
    assert!(find(db, &right_edge).await.is_empty());

    let mut start = ObjectFilter::for_patient(PATIENT, &[Approved]);
    start.service_start_time = TimeRange::new(Some("20050101"), None);
    assert_eq!(find(db, &start).await, owned(&["d2"]));

    let mut stop = ObjectFilter::for_patient(PATIENT, &[Approved]);
    stop.service_stop_time = TimeRange::new(None, Some("20051224"));
    assert_eq!(find(db, &stop).await, owned(&["d1"]));
}

/// $XDSDocumentEntryAuthorPerson: LIKE patterns with % and _, OR across values.
async fn author_person_wildcards(db: &Database) {
    let mut sub = submission(
        "ss1",
        vec![
            document("d1", "1.1"),
            document("d2", "1.2"),
            document("d3", "1.3"),
        ],
    );
    sub.authors = vec![
        NewAuthor {
            object_uuid: "d1".to_owned(),
            author_person: "^Smith^John".to_owned(),
        },
        NewAuthor {
            object_uuid: "d2".to_owned(),
            author_person: "^Smyth^Jane".to_owned(),
        },
        NewAuthor {
            object_uuid: "d3".to_owned(),
            author_person: "^Jones^Ann".to_owned(),
        },
    ];
    register(db, &sub).await;
    let mut percent = ObjectFilter::for_patient(PATIENT, &[Approved]);
    percent.author_persons = owned(&["%Smith%"]);
    assert_eq!(find(db, &percent).await, owned(&["d1"]));

    let mut underscore = ObjectFilter::for_patient(PATIENT, &[Approved]);
    underscore.author_persons = owned(&["^Sm_th%"]);
    assert_eq!(find(db, &underscore).await, owned(&["d1", "d2"]));

    let mut either = ObjectFilter::for_patient(PATIENT, &[Approved]);
    either.author_persons = owned(&["%Jones%", "%Smyth%"]);
    assert_eq!(find(db, &either).await, owned(&["d2", "d3"]));
}

/// $XDSDocumentEntryAuthorPerson: SQL LIKE matching is case-sensitive on every backend.
async fn author_person_match_is_case_sensitive(db: &Database) {
    let mut sub = submission("ss1", vec![document("d1", "1.1")]);
    sub.authors = vec![NewAuthor {
        object_uuid: "d1".to_owned(),
        author_person: "^Smith^John".to_owned(),
    }];
    register(db, &sub).await;
    let mut lower = ObjectFilter::for_patient(PATIENT, &[Approved]);
    lower.author_persons = owned(&["%smith%"]);
    assert!(find(db, &lower).await.is_empty());
    let mut exact_case = ObjectFilter::for_patient(PATIENT, &[Approved]);
    exact_case.author_persons = owned(&["%Smith%"]);
    assert_eq!(find(db, &exact_case).await, owned(&["d1"]));
}

/// $XDSDocumentEntryAuthorPerson: a backslash escapes `%` and `_`, the same on every backend, and
/// a trailing backslash is an ordinary character rather than an error.
async fn author_person_backslash_escapes_wildcards(db: &Database) {
    let mut sub = submission(
        "ss1",
        vec![
            document("d1", "1.1"),
            document("d2", "1.2"),
            document("d3", "1.3"),
        ],
    );
    sub.authors = vec![
        NewAuthor {
            object_uuid: "d1".to_owned(),
            author_person: "^Smith_Jones^Ann".to_owned(),
        },
        NewAuthor {
            object_uuid: "d2".to_owned(),
            author_person: "^SmithXJones^Ann".to_owned(),
        },
        NewAuthor {
            object_uuid: "d3".to_owned(),
            author_person: "^Jones^Ann\\".to_owned(),
        },
    ];
    register(db, &sub).await;
    let mut escaped = ObjectFilter::for_patient(PATIENT, &[Approved]);
    escaped.author_persons = owned(&["%Smith\\_Jones%"]);
    assert_eq!(find(db, &escaped).await, owned(&["d1"]));
    let mut wildcard = ObjectFilter::for_patient(PATIENT, &[Approved]);
    wildcard.author_persons = owned(&["%Smith_Jones%"]);
    assert_eq!(find(db, &wildcard).await, owned(&["d1", "d2"]));
    let mut trailing = ObjectFilter::for_patient(PATIENT, &[Approved]);
    trailing.author_persons = owned(&["%Ann\\"]);
    assert_eq!(find(db, &trailing).await, owned(&["d3"]));
}

/// $XDSDocumentEntryType: stable and on-demand entries are told apart.
async fn object_type_filter(db: &Database) {
    let mut on_demand = document("d2", "1.2");
    on_demand.object_type = Some(DocumentEntryType::OnDemand);
    register(
        db,
        &submission("ss1", vec![document("d1", "1.1"), on_demand]),
    )
    .await;
    let mut filter = ObjectFilter::for_patient(PATIENT, &[Approved]);
    filter.object_types = vec![DocumentEntryType::OnDemand];
    assert_eq!(find(db, &filter).await, owned(&["d2"]));
    filter.object_types = vec![DocumentEntryType::Stable, DocumentEntryType::OnDemand];
    assert_eq!(find(db, &filter).await, owned(&["d1", "d2"]));
}

/// FindDocumentsByReferenceId: $XDSDocumentEntryReferenceIdList values OR together.
async fn reference_ids_or_together(db: &Database) {
    let mut sub = submission(
        "ss1",
        vec![
            document("d1", "1.1"),
            document("d2", "1.2"),
            document("d3", "1.3"),
        ],
    );
    sub.reference_ids = vec![
        NewReferenceId {
            object_uuid: "d1".to_owned(),
            reference_id: "ORDER-1^^^&1.2&ISO^urn:ihe:iti:xds:2013:order".to_owned(),
        },
        NewReferenceId {
            object_uuid: "d2".to_owned(),
            reference_id: "ORDER-2^^^&1.2&ISO^urn:ihe:iti:xds:2013:order".to_owned(),
        },
    ];
    register(db, &sub).await;
    let mut filter = ObjectFilter::for_patient(PATIENT, &[Approved]);
    filter.reference_ids = owned(&[
        "ORDER-1^^^&1.2&ISO^urn:ihe:iti:xds:2013:order",
        "ORDER-2^^^&1.2&ISO^urn:ihe:iti:xds:2013:order",
    ]);
    assert_eq!(find(db, &filter).await, owned(&["d1", "d2"]));
}

/// The result cap: at most `limit` rows come back.
async fn result_limit_caps_rows(db: &Database) {
    let documents = (0..5)
        .map(|i| document(&format!("d{i}"), &format!("1.{i}")))
        .collect();
    register(db, &submission("ss1", documents)).await;
    let mut filter = ObjectFilter::for_patient(PATIENT, &[Approved]);
    filter.limit = Some(3);
    assert_eq!(find(db, &filter).await.len(), 3);
}

/// FindSubmissionSets and FindFolders see only their own kind.
async fn find_submission_sets_and_folders_by_kind(db: &Database) {
    let mut sub = submission("ss1", vec![document("d1", "1.1")]);
    let mut folder = NewObject::first_version(ObjectKind::Folder, "f1", PATIENT, "1.9", "<f/>");
    folder.last_update_time = Some("20240102".to_owned());
    sub.objects.push(folder);
    register(db, &sub).await;
    let mut sets = ObjectFilter::for_patient(PATIENT, &[Approved]);
    sets.source_ids = owned(&["1.9.9"]);
    sets.submission_time = TimeRange::new(Some("20240101120000"), None);
    let found = db.find_submission_sets(&sets).await.expect("find");
    assert_eq!(uuids(&found), owned(&["ss1"]));
    let mut folders = ObjectFilter::for_patient(PATIENT, &[Approved]);
    folders.last_update_time = TimeRange::new(None, Some("20240103"));
    let found = db.find_folders(&folders).await.expect("find");
    assert_eq!(uuids(&found), owned(&["f1"]));
}

/// GetAll / GetAssociations: associations by source or target, objects by patient.
async fn associations_and_get_all(db: &Database) {
    register(
        db,
        &submission("ss1", vec![document("d1", "1.1"), document("d2", "1.2")]),
    )
    .await;
    let of_document = db.associations_of(&owned(&["d1"])).await.expect("assoc");
    assert_eq!(of_document.len(), 1);
    assert_eq!(of_document[0].source_uuid, "ss1");
    let of_set = db.associations_of(&owned(&["ss1"])).await.expect("assoc");
    assert_eq!(of_set.len(), 2);
    let all = db.get_all_for_patient(PATIENT).await.expect("get all");
    assert_eq!(uuids(&all.objects), owned(&["d1", "d2", "ss1"]));
    assert_eq!(all.associations.len(), 2);
}

/// ITI-57: a status change applies only from the expected status.
async fn status_update_checks_current_status(db: &Database) {
    register(db, &submission("ss1", vec![document("d1", "1.1")])).await;
    db.update_status("d1", Approved, Deprecated)
        .await
        .expect("update");
    assert_eq!(
        find(db, &ObjectFilter::for_patient(PATIENT, &[Deprecated])).await,
        owned(&["d1"])
    );
    let err = db.update_status("d1", Approved, Deprecated).await;
    assert!(
        matches!(
            err,
            Err(StorageError::StatusMismatch {
                actual: Deprecated,
                ..
            })
        ),
        "{err:?}"
    );
    let err = db.update_status("nope", Approved, Deprecated).await;
    assert!(matches!(err, Err(StorageError::NotFound { .. })), "{err:?}");
    db.update_status("ss1-d1", Approved, Deprecated)
        .await
        .expect("association update");
}

/// ITI-62: delete removes objects, associations and their codes; an unknown uuid deletes nothing.
async fn delete_removes_rows(db: &Database) {
    let mut sub = submission("ss1", vec![document("d1", "1.1"), document("d2", "1.2")]);
    sub.codes.push(code("d1", CLASS_CODE, "A"));
    register(db, &sub).await;
    let err = db.delete_objects(&owned(&["d1", "missing"])).await;
    assert!(
        matches!(&err, Err(StorageError::NotFound { entry_uuid }) if entry_uuid == "missing"),
        "{err:?}"
    );
    assert_eq!(
        db.objects_by_uuid(&owned(&["d1"]))
            .await
            .expect("lookup")
            .len(),
        1
    );
    let removed = db
        .delete_objects(&owned(&["d1", "ss1-d1"]))
        .await
        .expect("delete");
    assert_eq!(removed, 2);
    assert!(
        db.objects_by_uuid(&owned(&["d1"]))
            .await
            .expect("lookup")
            .is_empty()
    );
    assert!(
        db.associations_of(&owned(&["d1"]))
            .await
            .expect("assoc")
            .is_empty()
    );
    let mut filter = ObjectFilter::for_patient(PATIENT, &[Approved]);
    filter.code_groups.push(group(CLASS_CODE, &["A"]));
    assert!(find(db, &filter).await.is_empty());
    // The uniqueId is free again once its document is deleted.
    register(db, &submission("ss2", vec![document("d9", "1.1")])).await;
}

/// ITI TF-2a 3.8 merge: the subsumed patient's objects move to the surviving id.
async fn merge_repoints_objects(db: &Database) {
    db.upsert_patient(PATIENT).await.expect("feed");
    db.upsert_patient(OTHER_PATIENT).await.expect("feed");
    assert!(db.patient_known(PATIENT).await.expect("known"));
    assert!(!db.patient_known("P3^^^&1.2.3&ISO").await.expect("known"));
    register(
        db,
        &submission("ss1", vec![document("d1", "1.1"), document("d2", "1.2")]),
    )
    .await;
    let moved = db
        .merge_patients(PATIENT, OTHER_PATIENT)
        .await
        .expect("merge");
    assert_eq!(moved, 3);
    assert!(!db.patient_known(PATIENT).await.expect("known"));
    let record = db.patient(PATIENT).await.expect("patient").expect("row");
    assert_eq!(record.merged_into.as_deref(), Some(OTHER_PATIENT));
    assert!(
        find(db, &ObjectFilter::for_patient(PATIENT, &[Approved]))
            .await
            .is_empty()
    );
    assert_eq!(
        find(db, &ObjectFilter::for_patient(OTHER_PATIENT, &[Approved])).await,
        owned(&["d1", "d2"])
    );
}

/// `Database::connect` refuses URLs of unsupported backends.
#[tokio::test]
async fn unsupported_url_is_typed_error() {
    let err = Database::connect("mysql://localhost/db").await;
    assert!(
        matches!(err, Err(StorageError::UnsupportedUrl { .. })),
        "{err:?}"
    );
}

/// `sqlite::memory:` gives a working, migrated database.
#[tokio::test]
async fn sqlite_memory_url_works() {
    let db = Database::connect("sqlite::memory:").await.expect("connect");
    register(&db, &submission("ss1", vec![document("d1", "1.1")])).await;
    assert_eq!(
        find(&db, &ObjectFilter::for_patient(PATIENT, &[Approved])).await,
        owned(&["d1"])
    );
}

/// On PostgreSQL a lookup by one uniqueId (GetDocuments) is a plain `= $1` statement, which
/// PostgreSQL plans once and then runs on its generic plan; `= ANY($1)` was planned again at
/// every execution at registry scale (its generic plan estimated dearer than the custom one).
#[cfg(feature = "postgres-tests")]
#[tokio::test]
async fn lookup_by_one_unique_id_runs_on_a_generic_plan_on_postgresql() {
    use diesel::sql_types::BigInt;
    use diesel_async::RunQueryDsl;

    #[derive(diesel::QueryableByName)]
    struct Plans {
        #[diesel(sql_type = BigInt)]
        generic_plans: i64,
    }

    let db = support::database::TestDatabase::open(
        support::database::Backend::Postgres,
        "storage::lookup_by_one_unique_id_runs_on_a_generic_plan_on_postgresql",
    )
    .await;
    db.insert_submission(&submission("ss1", vec![document("d1", "1.1")]))
        .await
        .expect("register");
    // Sequential calls: the pool holds one connection, which prepared the lookup.
    for _ in 0..8 {
        let found = db
            .objects_by_unique_id(&owned(&["1.1"]))
            .await
            .expect("lookup");
        assert_eq!(found.len(), 1);
    }
    let Database::Postgres(pool) = &db.db else {
        panic!("a PostgreSQL test database");
    };
    let plans: Vec<Plans> = diesel::sql_query(
        "SELECT generic_plans FROM pg_prepared_statements AS p WHERE p.statement LIKE \
         '%\"fragment\" FROM \"registry_objects\" WHERE (\"registry_objects\".\"unique_id\" = $1)' \
         AND p.statement NOT LIKE '%pg_prepared_statements%'",
    )
    .load(&mut pool.get().await.expect("connection"))
    .await
    .expect("prepared statements");
    assert_eq!(
        plans.len(),
        1,
        "one prepared lookup by one uniqueId, `= $1`"
    );
    assert!(
        plans[0].generic_plans > 0,
        "the lookup is planned each time"
    );
    db.close().await;
}

/// A DocumentEntry fragment the size of a real one (about 6 KB of XML, about 2 KB once
/// lz4-compressed) stays in its `registry_objects` row on PostgreSQL, so serving it in an
/// ITI-18 LeafClass answer reads no TOAST table (migration `fragment_inline`); under
/// PostgreSQL's default TOAST target the compressed fragment was moved out of the row.
#[cfg(feature = "postgres-tests")]
#[tokio::test]
async fn document_entry_fragment_stays_in_its_row_on_postgresql() {
    use diesel::sql_types::BigInt;
    use diesel_async::RunQueryDsl;

    #[derive(diesel::QueryableByName)]
    struct Toast {
        #[diesel(sql_type = BigInt)]
        toast_bytes: i64,
    }

    let db = support::database::TestDatabase::open(
        support::database::Backend::Postgres,
        "storage::document_entry_fragment_stays_in_its_row_on_postgresql",
    )
    .await;
    // Identifiers and hashes do not compress (2 KB of pseudo-random hex), repeated slots do.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut identifiers = String::with_capacity(2048);
    while identifiers.len() < 2048 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        identifiers.push_str(&format!("{state:016x}"));
    }
    let slots = "<rim:Slot name=\"urn:ihe:iti:xds:2013:referenceIdList\"><rim:ValueList>\
                 <rim:Value>v</rim:Value></rim:ValueList></rim:Slot>"
        .repeat(40);
    let mut entry = document("d1", "1.1");
    entry.fragment =
        format!("<rim:ExtrinsicObject id=\"d1\"><!--{identifiers}-->{slots}</rim:ExtrinsicObject>");
    assert!(entry.fragment.len() > 6000, "{}", entry.fragment.len());
    db.insert_submission(&submission("ss1", vec![entry.clone()]))
        .await
        .expect("register");
    let Database::Postgres(pool) = &db.db else {
        panic!("a PostgreSQL test database");
    };
    let toast: Toast = diesel::sql_query(
        "SELECT pg_relation_size(reltoastrelid) AS toast_bytes FROM pg_class \
         WHERE oid = 'registry_objects'::regclass",
    )
    .get_result(&mut pool.get().await.expect("connection"))
    .await
    .expect("TOAST table size");
    assert_eq!(
        toast.toast_bytes, 0,
        "the fragment was moved out of its row"
    );
    let stored = db.objects_by_uuid(&owned(&["d1"])).await.expect("lookup");
    assert_eq!(stored[0].fragment, entry.fragment);
    db.close().await;
}

on_both_backends!(
    submission_is_all_or_nothing,
    concurrent_registrations_each_succeed_or_fail_on_their_own,
    concurrent_registrations_of_one_unique_id_store_exactly_one,
    unique_id_of_another_object_is_typed_error,
    identical_document_entry_is_stored_again_under_its_unique_id,
    repeated_version_is_typed_error,
    duplicate_unique_id_in_submission_is_typed_error,
    versions_share_unique_id,
    duplicate_entry_uuid_is_typed_error,
    duplicate_association_entry_uuid_is_typed_error,
    lookups_return_fragment,
    status_values_or_together,
    codes_or_within_group_and_across_groups,
    time_from_inclusive_to_exclusive,
    author_person_wildcards,
    author_person_match_is_case_sensitive,
    author_person_backslash_escapes_wildcards,
    object_type_filter,
    reference_ids_or_together,
    result_limit_caps_rows,
    find_submission_sets_and_folders_by_kind,
    associations_and_get_all,
    status_update_checks_current_status,
    delete_removes_rows,
    merge_repoints_objects,
);
