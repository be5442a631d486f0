//! ITI-18 Registry Stored Query execution (ITI TF-2a 3.18.4.1.2.3.7), one test per query and per
//! parameter dimension, over a fixture written straight into storage; run on SQLite always and on
//! PostgreSQL with `--features postgres-tests`.

use std::collections::BTreeSet;

use registry::storage::{
    AvailabilityStatus, Database, DocumentEntryType, NewAssociation, NewAuthor, NewCode, NewObject,
    NewReferenceId, ObjectKind, Submission,
};
use registry::stored_query::{QueryOptions, execute, ids};
use schemas::constants::{association_type, classification_scheme as scheme, error_code};
use schemas::ebrim::{
    AdhocQueryRequest, AdhocQueryResponse, Association, ExtrinsicObject, Identifiable,
    RegistryObject, RegistryPackage, ResponseStatus, ReturnType, Slot,
};
use schemas::xml::Limits;

mod support;

use support::database::on_both_backends;

const PATIENT: &str = "P1^^^&1.2.3&ISO";
const OTHER_PATIENT: &str = "P2^^^&1.2.3&ISO";
const CODING_SCHEME: &str = "1.2.3";
const STABLE: &str = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1";
const ON_DEMAND: &str = "urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248";
const APPROVED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved";
const DEPRECATED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated";

/// Entry UUIDs of the fixture.
fn uuid(n: u32) -> String {
    format!("urn:uuid:00000000-0000-4000-8000-{n:012}")
}

// DocumentEntries: D1, D2 approved stable of PATIENT; D3 deprecated (replaced by D2); D4
// approved on-demand; D5 of OTHER_PATIENT.
const D1: u32 = 1;
const D2: u32 = 2;
const D3: u32 = 3;
const D4: u32 = 4;
const D5: u32 = 5;
const SS1: u32 = 100;
const SS2: u32 = 101;
const FOLDER: u32 = 200;
// Associations.
const SS1_D1: u32 = 301;
const SS1_D2: u32 = 302;
const SS1_D4: u32 = 303;
const SS1_FOLDER: u32 = 304;
const FOLDER_D1: u32 = 305;
const SS1_FOLDER_D1: u32 = 306;
const D2_RPLC_D3: u32 = 307;
const SS2_D3: u32 = 308;
const FOLDER_D2: u32 = 309;
const SS1_FOLDER_D2: u32 = 310;

fn extrinsic_fragment(id: &str, object_type: &str) -> String {
    let mut xml = String::new();
    Identifiable::ExtrinsicObject(ExtrinsicObject {
        object: RegistryObject {
            id: id.to_owned(),
            object_type: Some(object_type.to_owned()),
            ..RegistryObject::default()
        },
        mime_type: Some("text/xml".to_owned()),
        ..ExtrinsicObject::default()
    })
    .write_xml(&mut xml);
    xml
}

fn package_fragment(id: &str) -> String {
    let mut xml = String::new();
    Identifiable::RegistryPackage(RegistryPackage {
        object: RegistryObject {
            id: id.to_owned(),
            ..RegistryObject::default()
        },
        ..RegistryPackage::default()
    })
    .write_xml(&mut xml);
    xml
}

/// Builds the fixture submission row by row.
#[derive(Default)]
struct Fixture {
    submission: Submission,
}

/// One DocumentEntry's queryable attributes.
struct Doc {
    n: u32,
    patient: &'static str,
    status: AvailabilityStatus,
    entry_type: DocumentEntryType,
    creation_time: &'static str,
    service_start: Option<&'static str>,
    service_stop: Option<&'static str>,
    author: &'static str,
    codes: &'static [(&'static str, &'static str)],
}

impl Fixture {
    fn code(&mut self, object: u32, scheme: &str, code: &str) {
        self.submission.codes.push(NewCode {
            object_uuid: uuid(object),
            scheme: scheme.to_owned(),
            code: code.to_owned(),
            coding_scheme: CODING_SCHEME.to_owned(),
        });
    }

    fn author(&mut self, object: u32, person: &str) {
        self.submission.authors.push(NewAuthor {
            object_uuid: uuid(object),
            author_person: person.to_owned(),
        });
    }

    fn document(&mut self, doc: Doc) {
        let id = uuid(doc.n);
        let type_uuid = match doc.entry_type {
            DocumentEntryType::Stable => STABLE,
            DocumentEntryType::OnDemand => ON_DEMAND,
        };
        let mut object = NewObject::first_version(
            ObjectKind::DocumentEntry,
            &id,
            doc.patient,
            format!("1.2.3.4.{}", doc.n),
            extrinsic_fragment(&id, type_uuid),
        );
        object.status = doc.status;
        object.object_type = Some(doc.entry_type);
        object.creation_time = Some(doc.creation_time.to_owned());
        object.service_start_time = doc.service_start.map(str::to_owned);
        object.service_stop_time = doc.service_stop.map(str::to_owned);
        self.submission.objects.push(object);
        self.author(doc.n, doc.author);
        for (scheme, code) in doc.codes {
            self.code(doc.n, scheme, code);
        }
    }

    fn package(&mut self, n: u32, kind: ObjectKind, edit: impl FnOnce(&mut NewObject)) {
        let id = uuid(n);
        let mut object = NewObject::first_version(
            kind,
            &id,
            PATIENT,
            format!("1.2.3.9.{n}"),
            package_fragment(&id),
        );
        edit(&mut object);
        self.submission.objects.push(object);
    }

    fn associate(&mut self, n: u32, kind: &str, source: u32, target: u32) {
        let id = uuid(n);
        let mut fragment = String::new();
        Identifiable::Association(Association {
            object: RegistryObject {
                id: id.clone(),
                ..RegistryObject::default()
            },
            association_type: kind.to_owned(),
            source_object: uuid(source),
            target_object: uuid(target),
        })
        .write_xml(&mut fragment);
        self.submission.associations.push(NewAssociation {
            entry_uuid: id,
            association_type: kind.to_owned(),
            source_uuid: uuid(source),
            target_uuid: uuid(target),
            status: AvailabilityStatus::Approved,
            submission_set_status: None,
            submission_set: None,
            fragment,
        });
    }
}

/// The fresh registry `db` loaded with the fixture.
async fn registry(db: &Database) -> Database {
    let mut f = Fixture::default();
    use AvailabilityStatus::{Approved, Deprecated};
    use DocumentEntryType::{OnDemand, Stable};
    f.document(Doc {
        n: D1,
        patient: PATIENT,
        status: Approved,
        entry_type: Stable,
        creation_time: "20041224",
        service_start: Some("200412240800"),
        service_stop: Some("200412241000"),
        author: "^Smith^John",
        codes: &[
            (scheme::DOCUMENT_ENTRY_CLASS_CODE, "C1"),
            (scheme::DOCUMENT_ENTRY_TYPE_CODE, "T1"),
            (scheme::DOCUMENT_ENTRY_PRACTICE_SETTING_CODE, "PS1"),
            (scheme::DOCUMENT_ENTRY_HEALTHCARE_FACILITY_TYPE_CODE, "H1"),
            (scheme::DOCUMENT_ENTRY_FORMAT_CODE, "F1"),
            (scheme::DOCUMENT_ENTRY_EVENT_CODE_LIST, "E1"),
            (scheme::DOCUMENT_ENTRY_EVENT_CODE_LIST, "E2"),
            (scheme::DOCUMENT_ENTRY_CONFIDENTIALITY_CODE, "N"),
            (scheme::DOCUMENT_ENTRY_CONFIDENTIALITY_CODE, "L"),
        ],
    });
    f.submission.reference_ids.push(NewReferenceId {
        object_uuid: uuid(D1),
        reference_id: "ACC1^^^&1.2.3&ISO^urn:ihe:iti:xds:2013:accession".to_owned(),
    });
    f.document(Doc {
        n: D2,
        patient: PATIENT,
        status: Approved,
        entry_type: Stable,
        creation_time: "20050101103000",
        service_start: Some("20050101"),
        service_stop: None,
        author: "^Jones^Ann",
        codes: &[
            (scheme::DOCUMENT_ENTRY_CLASS_CODE, "C2"),
            (scheme::DOCUMENT_ENTRY_TYPE_CODE, "T2"),
            (scheme::DOCUMENT_ENTRY_PRACTICE_SETTING_CODE, "PS2"),
            (scheme::DOCUMENT_ENTRY_HEALTHCARE_FACILITY_TYPE_CODE, "H2"),
            (scheme::DOCUMENT_ENTRY_FORMAT_CODE, "F2"),
            (scheme::DOCUMENT_ENTRY_EVENT_CODE_LIST, "E1"),
            (scheme::DOCUMENT_ENTRY_CONFIDENTIALITY_CODE, "N"),
        ],
    });
    f.document(Doc {
        n: D3,
        patient: PATIENT,
        status: Deprecated,
        entry_type: Stable,
        creation_time: "2003",
        service_start: None,
        service_stop: None,
        author: "^Smith^John",
        codes: &[
            (scheme::DOCUMENT_ENTRY_CLASS_CODE, "C1"),
            (scheme::DOCUMENT_ENTRY_FORMAT_CODE, "F1"),
        ],
    });
    f.document(Doc {
        n: D4,
        patient: PATIENT,
        status: Approved,
        entry_type: OnDemand,
        creation_time: "20060101",
        service_start: None,
        service_stop: None,
        author: "^Smith^John",
        codes: &[
            (scheme::DOCUMENT_ENTRY_CLASS_CODE, "C1"),
            (scheme::DOCUMENT_ENTRY_FORMAT_CODE, "F1"),
        ],
    });
    f.document(Doc {
        n: D5,
        patient: OTHER_PATIENT,
        status: Approved,
        entry_type: Stable,
        creation_time: "20041224",
        service_start: None,
        service_stop: None,
        author: "^Smith^John",
        codes: &[(scheme::DOCUMENT_ENTRY_CLASS_CODE, "C1")],
    });
    f.package(SS1, ObjectKind::SubmissionSet, |o| {
        o.submission_time = Some("20240101120000".to_owned());
        o.source_id = Some("1.9.9".to_owned());
    });
    f.author(SS1, "^Smith^John");
    f.code(SS1, scheme::SUBMISSION_SET_CONTENT_TYPE_CODE, "CT1");
    f.package(SS2, ObjectKind::SubmissionSet, |o| {
        o.submission_time = Some("20230101".to_owned());
        o.source_id = Some("1.9.8".to_owned());
    });
    f.author(SS2, "^Jones^Ann");
    f.code(SS2, scheme::SUBMISSION_SET_CONTENT_TYPE_CODE, "CT2");
    f.package(FOLDER, ObjectKind::Folder, |o| {
        o.last_update_time = Some("20240101120000".to_owned());
    });
    f.code(FOLDER, scheme::FOLDER_CODE_LIST, "FC1");
    f.code(FOLDER, scheme::FOLDER_CODE_LIST, "FC2");
    let has_member = association_type::HAS_MEMBER;
    f.associate(SS1_D1, has_member, SS1, D1);
    f.associate(SS1_D2, has_member, SS1, D2);
    f.associate(SS1_D4, has_member, SS1, D4);
    f.associate(SS1_FOLDER, has_member, SS1, FOLDER);
    f.associate(FOLDER_D1, has_member, FOLDER, D1);
    f.associate(SS1_FOLDER_D1, has_member, SS1, FOLDER_D1);
    f.associate(FOLDER_D2, has_member, FOLDER, D2);
    f.associate(SS1_FOLDER_D2, has_member, SS1, FOLDER_D2);
    f.associate(D2_RPLC_D3, association_type::RPLC, D2, D3);
    f.associate(SS2_D3, has_member, SS2, D3);
    if let Err(e) = db.insert_submission(&f.submission).await {
        panic!("fixture insert failed: {e}");
    }
    db.clone()
}

/// A quoted parameter value.
fn q(text: &str) -> String {
    format!("'{text}'")
}

/// A parenthesised list of quoted values.
fn list(values: &[&str]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| q(v)).collect();
    format!("({})", quoted.join(","))
}

fn code(value: &str) -> String {
    format!("{value}^^{CODING_SCHEME}")
}

fn codes(values: &[&str]) -> String {
    let coded: Vec<String> = values.iter().map(|v| code(v)).collect();
    let refs: Vec<&str> = coded.iter().map(String::as_str).collect();
    list(&refs)
}

fn request(
    query_id: &str,
    return_type: ReturnType,
    slots: Vec<(&str, String)>,
) -> AdhocQueryRequest {
    AdhocQueryRequest {
        id: None,
        comment: None,
        request_slots: Vec::new(),
        return_type,
        return_composed_objects: true,
        federated: false,
        federation: None,
        start_index: 0,
        max_results: None,
        query: RegistryObject {
            id: query_id.to_owned(),
            slots: slots
                .into_iter()
                .map(|(name, value)| Slot::new(name, [value]))
                .collect(),
            ..RegistryObject::default()
        },
    }
}

/// Runs the query (ObjectRef) and returns the ids answered, as fixture numbers.
async fn run(db: &Database, query_id: &str, slots: Vec<(&str, String)>) -> BTreeSet<u32> {
    let response = execute(
        db,
        &QueryOptions::default(),
        &request(query_id, ReturnType::ObjectRef, slots),
    )
    .await;
    assert_eq!(
        response.response.status,
        ResponseStatus::Success,
        "{:?}",
        response.response.errors
    );
    response
        .objects
        .objects
        .iter()
        .map(|o| match o {
            Identifiable::ObjectRef(r) => fixture_number(&r.id),
            other => panic!("expected an ObjectRef, got {other:?}"),
        })
        .collect()
}

fn fixture_number(id: &str) -> u32 {
    let digits = id.rsplit('-').next().unwrap_or_default();
    match digits.parse() {
        Ok(n) => n,
        Err(_) => panic!("{id} is not a fixture uuid"),
    }
}

fn set(numbers: &[u32]) -> BTreeSet<u32> {
    numbers.iter().copied().collect()
}

/// FindDocuments on PATIENT, Approved, plus `extra`.
async fn find_documents(db: &Database, extra: Vec<(&str, String)>) -> BTreeSet<u32> {
    let mut slots = vec![
        ("$XDSDocumentEntryPatientId", q(PATIENT)),
        ("$XDSDocumentEntryStatus", list(&[APPROVED])),
    ];
    slots.extend(extra);
    run(db, ids::FIND_DOCUMENTS, slots).await
}

async fn find_documents_returns_the_patients_approved_stable_entries(db: &Database) {
    let db = registry(db).await;
    assert_eq!(find_documents(&db, vec![]).await, set(&[D1, D2]));
}

async fn find_documents_status_values_are_or(db: &Database) {
    let db = registry(db).await;
    let found = run(
        &db,
        ids::FIND_DOCUMENTS,
        vec![
            ("$XDSDocumentEntryPatientId", q(PATIENT)),
            ("$XDSDocumentEntryStatus", list(&[APPROVED, DEPRECATED])),
        ],
    )
    .await;
    assert_eq!(found, set(&[D1, D2, D3]));
}

async fn find_documents_entry_type_selects_on_demand_entries(db: &Database) {
    let db = registry(db).await;
    let on_demand = find_documents(&db, vec![("$XDSDocumentEntryType", list(&[ON_DEMAND]))]).await;
    assert_eq!(on_demand, set(&[D4]));
    let both = find_documents(
        &db,
        vec![("$XDSDocumentEntryType", list(&[STABLE, ON_DEMAND]))],
    )
    .await;
    assert_eq!(both, set(&[D1, D2, D4]));
}

async fn find_documents_class_code_values_are_or(db: &Database) {
    let db = registry(db).await;
    let c1 = find_documents(&db, vec![("$XDSDocumentEntryClassCode", codes(&["C1"]))]).await;
    assert_eq!(c1, set(&[D1]));
    let either = find_documents(
        &db,
        vec![("$XDSDocumentEntryClassCode", codes(&["C1", "C2"]))],
    )
    .await;
    assert_eq!(either, set(&[D1, D2]));
}

async fn find_documents_code_matches_coding_scheme_too(db: &Database) {
    let db = registry(db).await;
    let other_scheme = list(&["C1^^9.9.9"]);
    let found = find_documents(&db, vec![("$XDSDocumentEntryClassCode", other_scheme)]).await;
    assert_eq!(found, set(&[]));
}

async fn find_documents_type_code(db: &Database) {
    let db = registry(db).await;
    let found = find_documents(&db, vec![("$XDSDocumentEntryTypeCode", codes(&["T2"]))]).await;
    assert_eq!(found, set(&[D2]));
}

async fn find_documents_practice_setting_code(db: &Database) {
    let db = registry(db).await;
    let found = find_documents(
        &db,
        vec![("$XDSDocumentEntryPracticeSettingCode", codes(&["PS1"]))],
    )
    .await;
    assert_eq!(found, set(&[D1]));
}

async fn find_documents_healthcare_facility_type_code(db: &Database) {
    let db = registry(db).await;
    let found = find_documents(
        &db,
        vec![(
            "$XDSDocumentEntryHealthcareFacilityTypeCode",
            codes(&["H2"]),
        )],
    )
    .await;
    assert_eq!(found, set(&[D2]));
}

async fn find_documents_format_code(db: &Database) {
    let db = registry(db).await;
    let found = find_documents(&db, vec![("$XDSDocumentEntryFormatCode", codes(&["F1"]))]).await;
    assert_eq!(found, set(&[D1]));
}

async fn find_documents_event_code_slots_are_and_of_or(db: &Database) {
    let db = registry(db).await;
    // One slot: E1 OR E2.
    let or = find_documents(
        &db,
        vec![("$XDSDocumentEntryEventCodeList", codes(&["E1", "E2"]))],
    )
    .await;
    assert_eq!(or, set(&[D1, D2]));
    // Two slots: E1 AND E2.
    let and = find_documents(
        &db,
        vec![
            ("$XDSDocumentEntryEventCodeList", codes(&["E1"])),
            ("$XDSDocumentEntryEventCodeList", codes(&["E2"])),
        ],
    )
    .await;
    assert_eq!(and, set(&[D1]));
}

async fn find_documents_confidentiality_slots_are_and_of_or(db: &Database) {
    let db = registry(db).await;
    let or = find_documents(
        &db,
        vec![("$XDSDocumentEntryConfidentialityCode", codes(&["N", "L"]))],
    )
    .await;
    assert_eq!(or, set(&[D1, D2]));
    let and = find_documents(
        &db,
        vec![
            ("$XDSDocumentEntryConfidentialityCode", codes(&["N"])),
            ("$XDSDocumentEntryConfidentialityCode", codes(&["L"])),
        ],
    )
    .await;
    assert_eq!(and, set(&[D1]));
}

async fn find_documents_creation_time_from_is_inclusive(db: &Database) {
    let db = registry(db).await;
    let found = find_documents(
        &db,
        vec![("$XDSDocumentEntryCreationTimeFrom", "20041224".to_owned())],
    )
    .await;
    assert_eq!(found, set(&[D1, D2]));
    let after = find_documents(
        &db,
        vec![("$XDSDocumentEntryCreationTimeFrom", "20041225".to_owned())],
    )
    .await;
    assert_eq!(after, set(&[D2]));
}

async fn find_documents_creation_time_to_is_exclusive(db: &Database) {
    let db = registry(db).await;
    let at_edge = find_documents(
        &db,
        vec![("$XDSDocumentEntryCreationTimeTo", "20041224".to_owned())],
    )
    .await;
    assert_eq!(at_edge, set(&[]));
    let after_edge = find_documents(
        &db,
        vec![("$XDSDocumentEntryCreationTimeTo", "20041225".to_owned())],
    )
    .await;
    assert_eq!(after_edge, set(&[D1]));
}

async fn find_documents_time_of_lower_precision_is_its_earliest_instant(db: &Database) {
    let db = registry(db).await;
    // D1 was created "20041224", the instant 20041224000000.
    let same_instant = find_documents(
        &db,
        vec![(
            "$XDSDocumentEntryCreationTimeFrom",
            "20041224000000".to_owned(),
        )],
    )
    .await;
    assert_eq!(same_instant, set(&[D1, D2]));
    let later_that_day = find_documents(
        &db,
        vec![(
            "$XDSDocumentEntryCreationTimeFrom",
            "200412241000".to_owned(),
        )],
    )
    .await;
    assert_eq!(later_that_day, set(&[D2]));
    // D2 was created 20050101103000; a To bound of lower precision covering it still excludes it.
    let to_minute = find_documents(
        &db,
        vec![
            ("$XDSDocumentEntryCreationTimeFrom", "2005".to_owned()),
            ("$XDSDocumentEntryCreationTimeTo", "200501011030".to_owned()),
        ],
    )
    .await;
    assert_eq!(to_minute, set(&[]));
    let to_next_minute = find_documents(
        &db,
        vec![
            ("$XDSDocumentEntryCreationTimeFrom", "2005".to_owned()),
            ("$XDSDocumentEntryCreationTimeTo", "200501011031".to_owned()),
        ],
    )
    .await;
    assert_eq!(to_next_minute, set(&[D2]));
}

async fn find_documents_service_start_time_range(db: &Database) {
    let db = registry(db).await;
    let found = find_documents(
        &db,
        vec![
            (
                "$XDSDocumentEntryServiceStartTimeFrom",
                "20041224".to_owned(),
            ),
            ("$XDSDocumentEntryServiceStartTimeTo", "20050101".to_owned()),
        ],
    )
    .await;
    assert_eq!(found, set(&[D1]));
}

async fn find_documents_service_stop_time_range(db: &Database) {
    let db = registry(db).await;
    // D2 has no serviceStopTime, so a stop-time bound leaves it out.
    let found = find_documents(
        &db,
        vec![("$XDSDocumentEntryServiceStopTimeFrom", "2004".to_owned())],
    )
    .await;
    assert_eq!(found, set(&[D1]));
    let before = find_documents(
        &db,
        vec![(
            "$XDSDocumentEntryServiceStopTimeTo",
            "200412241000".to_owned(),
        )],
    )
    .await;
    assert_eq!(before, set(&[]));
}

async fn find_documents_author_person_wildcard(db: &Database) {
    let db = registry(db).await;
    let smith = find_documents(
        &db,
        vec![("$XDSDocumentEntryAuthorPerson", list(&["%Smith%"]))],
    )
    .await;
    assert_eq!(smith, set(&[D1]));
    let one_char = find_documents(
        &db,
        vec![("$XDSDocumentEntryAuthorPerson", list(&["^J_nes%"]))],
    )
    .await;
    assert_eq!(one_char, set(&[D2]));
    let either = find_documents(
        &db,
        vec![(
            "$XDSDocumentEntryAuthorPerson",
            list(&["%Smith%", "%Jones%"]),
        )],
    )
    .await;
    assert_eq!(either, set(&[D1, D2]));
    let exact = find_documents(
        &db,
        vec![("$XDSDocumentEntryAuthorPerson", list(&["Smith"]))],
    )
    .await;
    assert_eq!(exact, set(&[]));
}

async fn find_documents_by_reference_id(db: &Database) {
    let db = registry(db).await;
    let mut slots = vec![
        ("$XDSDocumentEntryPatientId", q(PATIENT)),
        ("$XDSDocumentEntryStatus", list(&[APPROVED])),
        (
            "$XDSDocumentEntryReferenceIdList",
            list(&["ACC1^^^&1.2.3&ISO^urn:ihe:iti:xds:2013:accession"]),
        ),
    ];
    let found = run(&db, ids::FIND_DOCUMENTS_BY_REFERENCE_ID, slots.clone()).await;
    assert_eq!(found, set(&[D1]));
    slots[2].1 = list(&["ACC2^^^&1.2.3&ISO^urn:ihe:iti:xds:2013:accession"]);
    let none = run(&db, ids::FIND_DOCUMENTS_BY_REFERENCE_ID, slots).await;
    assert_eq!(none, set(&[]));
}

/// FindSubmissionSets on PATIENT, Approved, plus `extra`.
async fn find_submission_sets(db: &Database, extra: Vec<(&str, String)>) -> BTreeSet<u32> {
    let mut slots = vec![
        ("$XDSSubmissionSetPatientId", q(PATIENT)),
        ("$XDSSubmissionSetStatus", list(&[APPROVED])),
    ];
    slots.extend(extra);
    run(db, ids::FIND_SUBMISSION_SETS, slots).await
}

async fn find_submission_sets_by_patient_and_status(db: &Database) {
    let db = registry(db).await;
    assert_eq!(find_submission_sets(&db, vec![]).await, set(&[SS1, SS2]));
}

async fn find_submission_sets_source_id(db: &Database) {
    let db = registry(db).await;
    let found =
        find_submission_sets(&db, vec![("$XDSSubmissionSetSourceId", list(&["1.9.8"]))]).await;
    assert_eq!(found, set(&[SS2]));
}

async fn find_submission_sets_submission_time_range(db: &Database) {
    let db = registry(db).await;
    let found = find_submission_sets(
        &db,
        vec![
            ("$XDSSubmissionSetSubmissionTimeFrom", "2024".to_owned()),
            ("$XDSSubmissionSetSubmissionTimeTo", "2025".to_owned()),
        ],
    )
    .await;
    assert_eq!(found, set(&[SS1]));
}

async fn find_submission_sets_author_person_wildcard(db: &Database) {
    let db = registry(db).await;
    let found =
        find_submission_sets(&db, vec![("$XDSSubmissionSetAuthorPerson", q("%Jones%"))]).await;
    assert_eq!(found, set(&[SS2]));
}

async fn find_submission_sets_content_type_code(db: &Database) {
    let db = registry(db).await;
    let found =
        find_submission_sets(&db, vec![("$XDSSubmissionSetContentType", codes(&["CT1"]))]).await;
    assert_eq!(found, set(&[SS1]));
}

async fn find_folders_code_list_slots_are_and_of_or(db: &Database) {
    let db = registry(db).await;
    let base = || {
        vec![
            ("$XDSFolderPatientId", q(PATIENT)),
            ("$XDSFolderStatus", list(&[APPROVED])),
        ]
    };
    assert_eq!(run(&db, ids::FIND_FOLDERS, base()).await, set(&[FOLDER]));
    let mut and = base();
    and.push(("$XDSFolderCodeList", codes(&["FC1"])));
    and.push(("$XDSFolderCodeList", codes(&["FC2"])));
    assert_eq!(run(&db, ids::FIND_FOLDERS, and).await, set(&[FOLDER]));
    let mut unmatched = base();
    unmatched.push(("$XDSFolderCodeList", codes(&["FC1"])));
    unmatched.push(("$XDSFolderCodeList", codes(&["FC3"])));
    assert_eq!(run(&db, ids::FIND_FOLDERS, unmatched).await, set(&[]));
}

async fn find_folders_last_update_time_range(db: &Database) {
    let db = registry(db).await;
    let slots = |from: &str| {
        vec![
            ("$XDSFolderPatientId", q(PATIENT)),
            ("$XDSFolderStatus", list(&[APPROVED])),
            ("$XDSFolderLastUpdateTimeFrom", from.to_owned()),
        ]
    };
    assert_eq!(
        run(&db, ids::FIND_FOLDERS, slots("2024")).await,
        set(&[FOLDER])
    );
    assert_eq!(run(&db, ids::FIND_FOLDERS, slots("2025")).await, set(&[]));
}

async fn get_all_returns_objects_and_the_associations_between_them(db: &Database) {
    let db = registry(db).await;
    let found = run(
        &db,
        ids::GET_ALL,
        vec![
            ("$patientId", q(PATIENT)),
            ("$XDSDocumentEntryStatus", list(&[APPROVED])),
            ("$XDSSubmissionSetStatus", list(&[APPROVED])),
            ("$XDSFolderStatus", list(&[APPROVED])),
        ],
    )
    .await;
    // D3 is deprecated and D4 on-demand: neither they nor their associations are returned.
    assert_eq!(
        found,
        set(&[
            D1,
            D2,
            SS1,
            SS2,
            FOLDER,
            SS1_D1,
            SS1_D2,
            SS1_FOLDER,
            FOLDER_D1,
            SS1_FOLDER_D1,
            FOLDER_D2,
            SS1_FOLDER_D2,
        ])
    );
}

async fn get_all_filters_documents_by_format_code(db: &Database) {
    let db = registry(db).await;
    let found = run(
        &db,
        ids::GET_ALL,
        vec![
            ("$patientId", q(PATIENT)),
            ("$XDSDocumentEntryStatus", list(&[APPROVED, DEPRECATED])),
            ("$XDSSubmissionSetStatus", list(&[APPROVED])),
            ("$XDSFolderStatus", list(&[APPROVED])),
            ("$XDSDocumentEntryFormatCode", codes(&["F2"])),
        ],
    )
    .await;
    assert_eq!(
        found,
        set(&[
            D2,
            SS1,
            SS2,
            FOLDER,
            SS1_D2,
            SS1_FOLDER,
            FOLDER_D2,
            SS1_FOLDER_D2
        ])
    );
}

async fn get_documents_by_entry_uuid_and_by_unique_id(db: &Database) {
    let db = registry(db).await;
    let by_uuid = run(
        &db,
        ids::GET_DOCUMENTS,
        vec![(
            "$XDSDocumentEntryEntryUUID",
            list(&[&uuid(D1), &uuid(D3), &uuid(SS1)]),
        )],
    )
    .await;
    assert_eq!(by_uuid, set(&[D1, D3]));
    let by_unique_id = run(
        &db,
        ids::GET_DOCUMENTS,
        vec![("$XDSDocumentEntryUniqueId", list(&["1.2.3.4.2"]))],
    )
    .await;
    assert_eq!(by_unique_id, set(&[D2]));
}

/// NIST 12004 eval: GetDocuments by uniqueId returns the original and its identical resubmission.
async fn get_documents_by_unique_id_returns_every_resubmitted_copy(db: &Database) {
    let db = registry(db).await;
    const RESUBMITTED_D1: u32 = 11;
    let mut resubmission = NewObject::first_version(
        ObjectKind::DocumentEntry,
        uuid(RESUBMITTED_D1),
        PATIENT,
        "1.2.3.4.1",
        extrinsic_fragment(&uuid(RESUBMITTED_D1), STABLE),
    );
    resubmission.object_type = Some(DocumentEntryType::Stable);
    let rows = Submission {
        objects: vec![resubmission],
        ..Submission::default()
    };
    if let Err(e) = db.insert_submission(&rows).await {
        panic!("resubmission refused: {e}");
    }
    let by_unique_id = run(
        &db,
        ids::GET_DOCUMENTS,
        vec![("$XDSDocumentEntryUniqueId", list(&["1.2.3.4.1"]))],
    )
    .await;
    assert_eq!(by_unique_id, set(&[D1, RESUBMITTED_D1]));
}

async fn get_folders_by_entry_uuid(db: &Database) {
    let db = registry(db).await;
    let found = run(
        &db,
        ids::GET_FOLDERS,
        vec![("$XDSFolderEntryUUID", list(&[&uuid(FOLDER), &uuid(D1)]))],
    )
    .await;
    assert_eq!(found, set(&[FOLDER]));
}

async fn get_associations_having_the_object_as_source_or_target(db: &Database) {
    let db = registry(db).await;
    let found = run(
        &db,
        ids::GET_ASSOCIATIONS,
        vec![("$uuid", list(&[&uuid(D2)]))],
    )
    .await;
    assert_eq!(found, set(&[SS1_D2, FOLDER_D2, D2_RPLC_D3]));
}

async fn get_documents_and_associations(db: &Database) {
    let db = registry(db).await;
    let found = run(
        &db,
        ids::GET_DOCUMENTS_AND_ASSOCIATIONS,
        vec![("$XDSDocumentEntryEntryUUID", list(&[&uuid(D3)]))],
    )
    .await;
    assert_eq!(found, set(&[D3, D2_RPLC_D3, SS2_D3]));
}

async fn get_submission_sets_of_documents_with_their_has_member_associations(db: &Database) {
    let db = registry(db).await;
    let found = run(
        &db,
        ids::GET_SUBMISSION_SETS,
        vec![("$uuid", list(&[&uuid(D1), &uuid(D3)]))],
    )
    .await;
    assert_eq!(found, set(&[SS1, SS2, SS1_D1, SS2_D3]));
}

async fn get_submission_set_and_contents_returns_members_and_memberships(db: &Database) {
    let db = registry(db).await;
    let found = run(
        &db,
        ids::GET_SUBMISSION_SET_AND_CONTENTS,
        vec![("$XDSSubmissionSetEntryUUID", q(&uuid(SS1)))],
    )
    .await;
    // D4 is on-demand: left out with its membership by the default $XDSDocumentEntryType.
    assert_eq!(
        found,
        set(&[
            SS1,
            D1,
            D2,
            FOLDER,
            SS1_D1,
            SS1_D2,
            SS1_FOLDER,
            SS1_FOLDER_D1,
            FOLDER_D1,
            SS1_FOLDER_D2,
            FOLDER_D2,
        ])
    );
}

async fn get_submission_set_and_contents_filters_by_format_code(db: &Database) {
    let db = registry(db).await;
    let found = run(
        &db,
        ids::GET_SUBMISSION_SET_AND_CONTENTS,
        vec![
            ("$XDSSubmissionSetUniqueId", q("1.2.3.9.100")),
            ("$XDSDocumentEntryFormatCode", codes(&["F1"])),
        ],
    )
    .await;
    assert_eq!(
        found,
        set(&[
            SS1,
            D1,
            FOLDER,
            SS1_D1,
            SS1_FOLDER,
            SS1_FOLDER_D1,
            FOLDER_D1
        ])
    );
}

async fn get_submission_set_and_contents_filters_by_confidentiality_code(db: &Database) {
    let db = registry(db).await;
    let found = run(
        &db,
        ids::GET_SUBMISSION_SET_AND_CONTENTS,
        vec![
            ("$XDSSubmissionSetEntryUUID", q(&uuid(SS1))),
            ("$XDSDocumentEntryConfidentialityCode", codes(&["N"])),
            ("$XDSDocumentEntryConfidentialityCode", codes(&["L"])),
        ],
    )
    .await;
    assert_eq!(
        found,
        set(&[
            SS1,
            D1,
            FOLDER,
            SS1_D1,
            SS1_FOLDER,
            SS1_FOLDER_D1,
            FOLDER_D1
        ])
    );
}

async fn get_submission_set_and_contents_entry_type_selects_on_demand(db: &Database) {
    let db = registry(db).await;
    let found = run(
        &db,
        ids::GET_SUBMISSION_SET_AND_CONTENTS,
        vec![
            ("$XDSSubmissionSetEntryUUID", q(&uuid(SS1))),
            ("$XDSDocumentEntryType", list(&[ON_DEMAND])),
        ],
    )
    .await;
    assert_eq!(found, set(&[SS1, D4, FOLDER, SS1_D4, SS1_FOLDER]));
}

async fn get_folder_and_contents_filters_by_format_code(db: &Database) {
    let db = registry(db).await;
    let all = run(
        &db,
        ids::GET_FOLDER_AND_CONTENTS,
        vec![("$XDSFolderEntryUUID", q(&uuid(FOLDER)))],
    )
    .await;
    assert_eq!(all, set(&[FOLDER, D1, D2, FOLDER_D1, FOLDER_D2]));
    let f2 = run(
        &db,
        ids::GET_FOLDER_AND_CONTENTS,
        vec![
            ("$XDSFolderEntryUUID", q(&uuid(FOLDER))),
            ("$XDSDocumentEntryFormatCode", codes(&["F2"])),
        ],
    )
    .await;
    assert_eq!(f2, set(&[FOLDER, D2, FOLDER_D2]));
}

async fn get_folders_for_document_follows_folder_has_member(db: &Database) {
    let db = registry(db).await;
    let found = run(
        &db,
        ids::GET_FOLDERS_FOR_DOCUMENT,
        vec![("$XDSDocumentEntryEntryUUID", q(&uuid(D1)))],
    )
    .await;
    assert_eq!(found, set(&[FOLDER]));
    let none = run(
        &db,
        ids::GET_FOLDERS_FOR_DOCUMENT,
        vec![("$XDSDocumentEntryUniqueId", q("1.2.3.4.4"))],
    )
    .await;
    assert_eq!(none, set(&[]));
}

async fn get_related_documents_follows_the_given_association_types(db: &Database) {
    let db = registry(db).await;
    let found = run(
        &db,
        ids::GET_RELATED_DOCUMENTS,
        vec![
            ("$XDSDocumentEntryEntryUUID", q(&uuid(D3))),
            ("$AssociationTypes", list(&[association_type::RPLC])),
        ],
    )
    .await;
    assert_eq!(found, set(&[D3, D2, D2_RPLC_D3]));
}

async fn get_related_documents_without_related_document_is_empty(db: &Database) {
    let db = registry(db).await;
    let found = run(
        &db,
        ids::GET_RELATED_DOCUMENTS,
        vec![
            ("$XDSDocumentEntryEntryUUID", q(&uuid(D3))),
            ("$AssociationTypes", list(&[association_type::APND])),
        ],
    )
    .await;
    assert_eq!(found, set(&[]));
}

async fn too_many_results_is_reported(db: &Database) {
    let db = registry(db).await;
    let options = QueryOptions {
        max_results: 1,
        ..QueryOptions::default()
    };
    let slots = vec![
        ("$XDSDocumentEntryPatientId", q(PATIENT)),
        ("$XDSDocumentEntryStatus", list(&[APPROVED])),
    ];
    let response = execute(
        &db,
        &options,
        &request(ids::FIND_DOCUMENTS, ReturnType::LeafClass, slots.clone()),
    )
    .await;
    assert_eq!(response.response.status, ResponseStatus::Failure);
    assert_eq!(
        response.response.errors[0].error_code,
        error_code::XDS_TOO_MANY_RESULTS
    );
    assert!(response.objects.objects.is_empty());
    // Exactly at the cap is fine.
    let at_cap = QueryOptions {
        max_results: 2,
        ..QueryOptions::default()
    };
    let response = execute(
        &db,
        &at_cap,
        &request(ids::FIND_DOCUMENTS, ReturnType::ObjectRef, slots),
    )
    .await;
    assert_eq!(response.response.status, ResponseStatus::Success);
    assert_eq!(response.objects.objects.len(), 2);
}

async fn too_many_results_counts_associations(db: &Database) {
    let db = registry(db).await;
    let options = QueryOptions {
        max_results: 3,
        ..QueryOptions::default()
    };
    let response = execute(
        &db,
        &options,
        &request(
            ids::GET_FOLDER_AND_CONTENTS,
            ReturnType::ObjectRef,
            vec![("$XDSFolderEntryUUID", q(&uuid(FOLDER)))],
        ),
    )
    .await;
    assert_eq!(
        response.response.errors[0].error_code,
        error_code::XDS_TOO_MANY_RESULTS
    );
}

async fn object_ref_return_type_returns_refs_only(db: &Database) {
    let db = registry(db).await;
    let options = QueryOptions {
        home_community_id: Some("urn:oid:1.2.3.99".to_owned()),
        ..QueryOptions::default()
    };
    let response = execute(
        &db,
        &options,
        &request(
            ids::GET_DOCUMENTS_AND_ASSOCIATIONS,
            ReturnType::ObjectRef,
            vec![("$XDSDocumentEntryEntryUUID", list(&[&uuid(D3)]))],
        ),
    )
    .await;
    assert_eq!(response.response.status, ResponseStatus::Success);
    assert_eq!(response.objects.objects.len(), 3);
    for object in &response.objects.objects {
        match object {
            Identifiable::ObjectRef(r) => {
                assert_eq!(r.home.as_deref(), Some("urn:oid:1.2.3.99"));
                assert!(r.slots.is_empty());
            }
            other => panic!("expected only ObjectRefs, got {other:?}"),
        }
    }
    let xml = response.to_xml();
    assert!(!xml.contains("ExtrinsicObject"), "{xml}");
}

async fn leaf_class_serves_stored_fragments_with_current_status(db: &Database) {
    let db = registry(db).await;
    if let Err(e) = db
        .update_status(
            &uuid(D1),
            AvailabilityStatus::Approved,
            AvailabilityStatus::Deprecated,
        )
        .await
    {
        panic!("status update failed: {e}");
    }
    let response = execute(
        &db,
        &QueryOptions::default(),
        &request(
            ids::GET_DOCUMENTS_AND_ASSOCIATIONS,
            ReturnType::LeafClass,
            vec![("$XDSDocumentEntryEntryUUID", list(&[&uuid(D1)]))],
        ),
    )
    .await;
    assert_eq!(response.response.status, ResponseStatus::Success);
    let xml = response.to_xml();
    let read = match AdhocQueryResponse::from_xml(xml.as_bytes(), Limits::default()) {
        Ok(read) => read,
        Err(e) => panic!("LeafClass response does not parse back: {e}\n{xml}"),
    };
    let mut documents = 0;
    let mut associations = 0;
    for object in &read.objects.objects {
        match object {
            Identifiable::ExtrinsicObject(o) => {
                documents += 1;
                assert_eq!(o.object.id, uuid(D1));
                assert_eq!(o.object.status.as_deref(), Some(DEPRECATED));
                assert_eq!(o.mime_type.as_deref(), Some("text/xml"));
            }
            Identifiable::Association(a) => {
                associations += 1;
                assert_eq!(a.object.status.as_deref(), Some(APPROVED));
                assert_eq!(a.target_object, uuid(D1));
            }
            other => panic!("unexpected object {other:?}"),
        }
    }
    assert_eq!((documents, associations), (1, 2));
}

// Objects of OTHER_PATIENT besides D5, added for the XDSResultNotSinglePatient rule.
const SS3: u32 = 102;
const FOLDER2: u32 = 201;
const SS3_D5: u32 = 311;

/// The fixture plus a SubmissionSet (holding D5) and a Folder of OTHER_PATIENT.
async fn registry_with_other_patient_packages(db: &Database) -> Database {
    let db = registry(db).await;
    let mut f = Fixture::default();
    f.package(SS3, ObjectKind::SubmissionSet, |o| {
        o.patient_id = OTHER_PATIENT.to_owned();
        o.submission_time = Some("20240101".to_owned());
    });
    f.package(FOLDER2, ObjectKind::Folder, |o| {
        o.patient_id = OTHER_PATIENT.to_owned();
        o.last_update_time = Some("20240101".to_owned());
    });
    f.associate(SS3_D5, association_type::HAS_MEMBER, SS3, D5);
    if let Err(e) = db.insert_submission(&f.submission).await {
        panic!("other patient's packages refused: {e}");
    }
    db
}

/// Runs the query with LeafClass and ObjectRef: LeafClass must fail with
/// XDSResultNotSinglePatient, ObjectRef must answer `object_refs` ids.
async fn assert_not_single_patient(
    db: &Database,
    query_id: &str,
    slots: Vec<(&str, String)>,
    object_refs: usize,
) {
    let leaf = execute(
        db,
        &QueryOptions::default(),
        &request(query_id, ReturnType::LeafClass, slots.clone()),
    )
    .await;
    assert_eq!(leaf.response.status, ResponseStatus::Failure);
    assert_eq!(
        leaf.response.errors[0].error_code,
        error_code::XDS_RESULT_NOT_SINGLE_PATIENT
    );
    assert!(leaf.objects.objects.is_empty());
    let refs = execute(
        db,
        &QueryOptions::default(),
        &request(query_id, ReturnType::ObjectRef, slots),
    )
    .await;
    assert_eq!(refs.response.status, ResponseStatus::Success);
    assert_eq!(refs.objects.objects.len(), object_refs);
}

/// NIST 12368 doc_leafclass / doc_objectref.
async fn get_documents_of_two_patients_is_result_not_single_patient(db: &Database) {
    let db = registry(db).await;
    let slots = vec![("$XDSDocumentEntryEntryUUID", list(&[&uuid(D1), &uuid(D5)]))];
    assert_not_single_patient(&db, ids::GET_DOCUMENTS, slots, 2).await;
}

/// NIST 12368 ss_leafclass / ss_objectref.
async fn get_submission_sets_of_two_patients_is_result_not_single_patient(db: &Database) {
    let db = registry_with_other_patient_packages(db).await;
    let slots = vec![("$uuid", list(&[&uuid(D1), &uuid(D5)]))];
    assert_not_single_patient(&db, ids::GET_SUBMISSION_SETS, slots, 4).await;
}

/// NIST 12368 fol_leafclass / fol_objectref.
async fn get_folders_of_two_patients_is_result_not_single_patient(db: &Database) {
    let db = registry_with_other_patient_packages(db).await;
    let slots = vec![(
        "$XDSFolderEntryUUID",
        list(&[&uuid(FOLDER), &uuid(FOLDER2)]),
    )];
    assert_not_single_patient(&db, ids::GET_FOLDERS, slots, 2).await;
}

/// A single patient's objects are served as LeafClass.
async fn get_documents_of_one_patient_is_served_as_leaf_class(db: &Database) {
    let db = registry(db).await;
    let response = execute(
        &db,
        &QueryOptions::default(),
        &request(
            ids::GET_DOCUMENTS,
            ReturnType::LeafClass,
            vec![("$XDSDocumentEntryEntryUUID", list(&[&uuid(D1), &uuid(D2)]))],
        ),
    )
    .await;
    assert_eq!(response.response.status, ResponseStatus::Success);
    assert_eq!(response.objects.objects.len(), 2);
}

async fn refused_request_is_failure_with_the_parameter_error(db: &Database) {
    let db = registry(db).await;
    let response = execute(
        &db,
        &QueryOptions::default(),
        &request(
            ids::FIND_DOCUMENTS,
            ReturnType::LeafClass,
            vec![("$XDSDocumentEntryStatus", list(&[APPROVED]))],
        ),
    )
    .await;
    assert_eq!(response.response.status, ResponseStatus::Failure);
    let error = &response.response.errors[0];
    assert_eq!(error.error_code, error_code::XDS_STORED_QUERY_MISSING_PARAM);
    assert_eq!(
        error.location.as_deref(),
        Some("$XDSDocumentEntryPatientId")
    );
}

async fn unknown_stored_query_is_reported(db: &Database) {
    let db = registry(db).await;
    let response = execute(
        &db,
        &QueryOptions::default(),
        &request(
            "urn:uuid:00000000-0000-0000-0000-000000000000",
            ReturnType::ObjectRef,
            vec![],
        ),
    )
    .await;
    assert_eq!(response.response.status, ResponseStatus::Failure);
    assert_eq!(
        response.response.errors[0].error_code,
        error_code::XDS_UNKNOWN_STORED_QUERY
    );
}

on_both_backends!(
    find_documents_returns_the_patients_approved_stable_entries,
    find_documents_status_values_are_or,
    find_documents_entry_type_selects_on_demand_entries,
    find_documents_class_code_values_are_or,
    find_documents_code_matches_coding_scheme_too,
    find_documents_type_code,
    find_documents_practice_setting_code,
    find_documents_healthcare_facility_type_code,
    find_documents_format_code,
    find_documents_event_code_slots_are_and_of_or,
    find_documents_confidentiality_slots_are_and_of_or,
    find_documents_creation_time_from_is_inclusive,
    find_documents_creation_time_to_is_exclusive,
    find_documents_time_of_lower_precision_is_its_earliest_instant,
    find_documents_service_start_time_range,
    find_documents_service_stop_time_range,
    find_documents_author_person_wildcard,
    find_documents_by_reference_id,
    find_submission_sets_by_patient_and_status,
    find_submission_sets_source_id,
    find_submission_sets_submission_time_range,
    find_submission_sets_author_person_wildcard,
    find_submission_sets_content_type_code,
    find_folders_code_list_slots_are_and_of_or,
    find_folders_last_update_time_range,
    get_all_returns_objects_and_the_associations_between_them,
    get_all_filters_documents_by_format_code,
    get_documents_by_entry_uuid_and_by_unique_id,
    get_documents_by_unique_id_returns_every_resubmitted_copy,
    get_folders_by_entry_uuid,
    get_associations_having_the_object_as_source_or_target,
    get_documents_and_associations,
    get_submission_sets_of_documents_with_their_has_member_associations,
    get_submission_set_and_contents_returns_members_and_memberships,
    get_submission_set_and_contents_filters_by_format_code,
    get_submission_set_and_contents_filters_by_confidentiality_code,
    get_submission_set_and_contents_entry_type_selects_on_demand,
    get_folder_and_contents_filters_by_format_code,
    get_folders_for_document_follows_folder_has_member,
    get_related_documents_follows_the_given_association_types,
    get_related_documents_without_related_document_is_empty,
    too_many_results_is_reported,
    too_many_results_counts_associations,
    object_ref_return_type_returns_refs_only,
    leaf_class_serves_stored_fragments_with_current_status,
    refused_request_is_failure_with_the_parameter_error,
    unknown_stored_query_is_reported,
    get_documents_of_two_patients_is_result_not_single_patient,
    get_submission_sets_of_two_patients_is_result_not_single_patient,
    get_folders_of_two_patients_is_result_not_single_patient,
    get_documents_of_one_patient_is_served_as_leaf_class,
);
