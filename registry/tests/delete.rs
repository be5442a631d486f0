//! ITI-62 Delete Document Set rules (ITI TF-2b 3.62.4.1.3), on SQLite always and on PostgreSQL with
//! `--features postgres-tests`, with the registry populated through storage rows. Scenarios follow the NIST tests 30000-30008.

use std::path::PathBuf;

use registry::delete::{DELETE_ALL, delete_document_set};
use registry::storage::{
    AvailabilityStatus, Database, DocumentEntryType, NewAssociation, NewCode, NewObject,
    ObjectKind, StorageError, Submission,
};
use schemas::constants::{association_type, error_code};
use schemas::ebrim::{ObjectRef, RegistryResponse, RemoveObjectsRequest, ResponseStatus};
use schemas::xml::Limits;

mod support;

use support::database::on_both_backends;

const PATIENT: &str = "P1^^^&1.2.3&ISO";
const CLASS_CODE: &str = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a";

fn object(kind: ObjectKind, uuid: &str) -> NewObject {
    let mut object = NewObject::first_version(
        kind,
        uuid,
        PATIENT,
        format!("1.2.3.{uuid}"),
        format!("<rim:RegistryObject id=\"{uuid}\"/>"),
    );
    if kind == ObjectKind::DocumentEntry {
        object.object_type = Some(DocumentEntryType::Stable);
    }
    object
}

fn association(uuid: &str, kind: &str, source: &str, target: &str) -> NewAssociation {
    NewAssociation {
        entry_uuid: uuid.to_owned(),
        association_type: kind.to_owned(),
        source_uuid: source.to_owned(),
        target_uuid: target.to_owned(),
        status: AvailabilityStatus::Approved,
        submission_set_status: None,
        submission_set: None,
        fragment: format!("<rim:Association id=\"{uuid}\"/>"),
    }
}

fn has_member(uuid: &str, source: &str, target: &str) -> NewAssociation {
    association(uuid, association_type::HAS_MEMBER, source, target)
}

/// SubmissionSet `ss` with DocumentEntries `documents`, each in a HasMember `ss-<doc>`, plus
/// `extra` associations (APND, RPLC, ...) submitted with them.
fn submission(ss: &str, documents: &[&str], extra: Vec<NewAssociation>) -> Submission {
    let mut objects = vec![object(ObjectKind::SubmissionSet, ss)];
    let mut associations = Vec::new();
    let mut codes = Vec::new();
    for doc in documents {
        objects.push(object(ObjectKind::DocumentEntry, doc));
        associations.push(has_member(&format!("{ss}-{doc}"), ss, doc));
        codes.push(NewCode {
            object_uuid: (*doc).to_owned(),
            scheme: CLASS_CODE.to_owned(),
            code: "REPORT".to_owned(),
            coding_scheme: "1.2.3".to_owned(),
        });
    }
    associations.extend(extra);
    Submission {
        objects,
        codes,
        associations,
        ..Submission::default()
    }
}

async fn register(db: &Database, submission: &Submission) {
    if let Err(e) = db.insert_submission(submission).await {
        panic!("insert_submission failed: {e}");
    }
}

fn remove_request(ids: &[&str]) -> RemoveObjectsRequest {
    RemoveObjectsRequest {
        object_refs: ids
            .iter()
            .map(|id| ObjectRef {
                id: (*id).to_owned(),
                ..ObjectRef::default()
            })
            .collect(),
        ..RemoveObjectsRequest::default()
    }
}

async fn delete(db: &Database, ids: &[&str]) -> RegistryResponse {
    delete_document_set(db, &remove_request(ids)).await
}

fn assert_success(response: &RegistryResponse) {
    assert_eq!(response.status, ResponseStatus::Success, "{response:?}");
    assert!(response.errors.is_empty(), "{response:?}");
}

/// The response failed with exactly these (errorCode, location) pairs, in any order.
fn assert_failure(response: &RegistryResponse, expected: &[(&str, &str)]) {
    assert_eq!(response.status, ResponseStatus::Failure, "{response:?}");
    let mut found: Vec<(&str, &str)> = response
        .errors
        .iter()
        .map(|e| (e.error_code.as_str(), e.location.as_deref().unwrap_or("")))
        .collect();
    found.sort_unstable();
    let mut expected = expected.to_vec();
    expected.sort_unstable();
    assert_eq!(found, expected, "{response:?}");
}

/// Which of `ids` are still objects or associations of the registry.
async fn present(db: &Database, ids: &[&str]) -> Vec<String> {
    let ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    let mut found: Vec<String> = db
        .objects_by_uuid(&ids)
        .await
        .expect("objects_by_uuid")
        .into_iter()
        .map(|o| o.entry_uuid)
        .chain(
            db.associations_by_uuid(&ids)
                .await
                .expect("associations_by_uuid")
                .into_iter()
                .map(|a| a.entry_uuid),
        )
        .collect();
    found.sort();
    found
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    ids.sort();
    ids
}

/// 30000: an ObjectRef naming nothing in the registry is UnresolvedReferenceException, and the
/// known objects of the same request stay.
async fn unresolved_reference_exception_for_an_unknown_object_ref(db: &Database) {
    register(db, &submission("ss", &["de"], vec![])).await;

    let response = delete(db, &["ss", "ss-de", "de", "urn:uuid:unknown"]).await;

    assert_failure(
        &response,
        &[(
            error_code::UNRESOLVED_REFERENCE_EXCEPTION,
            "urn:uuid:unknown",
        )],
    );
    assert_eq!(
        present(db, &["ss", "ss-de", "de"]).await,
        sorted(&["de", "ss", "ss-de"])
    );
}

/// 30001 step 1: removing a SubmissionSet without its HasMember is ReferencesExistException.
async fn references_exist_exception_for_a_submission_set_still_holding_members(db: &Database) {
    register(db, &submission("ss", &["de"], vec![])).await;

    let response = delete(db, &["ss"]).await;

    assert_failure(&response, &[(error_code::REFERENCES_EXIST_EXCEPTION, "ss")]);
    assert_eq!(present(db, &["ss"]).await, sorted(&["ss"]));
}

/// A DocumentEntry removed without the HasMember that holds it is ReferencesExistException.
async fn references_exist_exception_for_a_document_entry_still_a_member(db: &Database) {
    register(db, &submission("ss", &["de1", "de2"], vec![])).await;

    let response = delete(db, &["de1"]).await;

    assert_failure(
        &response,
        &[(error_code::REFERENCES_EXIST_EXCEPTION, "de1")],
    );
    assert_eq!(present(db, &["de1"]).await, sorted(&["de1"]));
}

/// 30003: an association (Folder HasMember) removed while the SubmissionSet's HasMember that
/// registered it stays is ReferencesExistException.
async fn references_exist_exception_for_an_association_referenced_by_an_association(db: &Database) {
    register(db, &folder_submission()).await;

    let response = delete(db, &["fd-de"]).await;

    assert_failure(
        &response,
        &[(error_code::REFERENCES_EXIST_EXCEPTION, "fd-de")],
    );
}

/// 30008: the original submission cannot go while the APND of a later submission references its
/// DocumentEntry.
async fn references_exist_exception_for_a_document_entry_appended_to(db: &Database) {
    register(db, &submission("ss0", &["de0"], vec![])).await;
    let apnd = association("apnd", association_type::APND, "de1", "de0");
    register(db, &submission("ss1", &["de1"], vec![apnd])).await;

    let response = delete(db, &["ss0", "ss0-de0", "de0"]).await;

    assert_failure(
        &response,
        &[(error_code::REFERENCES_EXIST_EXCEPTION, "de0")],
    );
    assert_eq!(
        present(db, &["ss0", "ss0-de0", "de0"]).await,
        sorted(&["de0", "ss0", "ss0-de0"])
    );
}

/// 30001 step 2: removing a SubmissionSet's only member and its HasMember leaves an empty
/// SubmissionSet: XDSUnreferencedObjectException.
async fn xds_unreferenced_object_exception_for_a_submission_set_left_empty(db: &Database) {
    register(db, &submission("ss", &["de"], vec![])).await;

    let response = delete(db, &["de", "ss-de"]).await;

    assert_failure(
        &response,
        &[(error_code::XDS_UNREFERENCED_OBJECT_EXCEPTION, "ss")],
    );
    assert_eq!(
        present(db, &["de", "ss-de"]).await,
        sorted(&["de", "ss-de"])
    );
}

/// Removing a HasMember but not its DocumentEntry leaves the entry outside any SubmissionSet:
/// XDSUnreferencedObjectException.
async fn xds_unreferenced_object_exception_for_a_document_entry_left_without_submission_set(
    db: &Database,
) {
    register(db, &submission("ss", &["de1", "de2"], vec![])).await;

    let response = delete(db, &["ss-de1"]).await;

    assert_failure(
        &response,
        &[(error_code::XDS_UNREFERENCED_OBJECT_EXCEPTION, "de1")],
    );
    assert_eq!(present(db, &["ss-de1"]).await, sorted(&["ss-de1"]));
}

/// 30001 step 3: a whole submission goes, DocumentEntry codes included.
async fn a_whole_submission_is_removed(db: &Database) {
    register(db, &submission("ss", &["de"], vec![])).await;
    register(db, &submission("other", &["kept"], vec![])).await;

    let response = delete(db, &["de", "ss-de", "ss"]).await;

    assert_success(&response);
    assert!(present(db, &["ss", "ss-de", "de"]).await.is_empty());
    let contents = db.get_all_for_patient(PATIENT).await.expect("GetAll");
    let mut left: Vec<&str> = contents
        .objects
        .iter()
        .map(|o| o.entry_uuid.as_str())
        .collect();
    left.sort_unstable();
    assert_eq!(left, ["kept", "other"]);
    // The removed entry's classCode row went with it: re-registering the uuid with the same
    // code does not collide.
    register(db, &submission("ss", &["de"], vec![])).await;
}

/// 30003 step 3: a DocumentEntry leaves a Folder (the Folder HasMember and the SubmissionSet's
/// HasMember of it go); Folder and DocumentEntry stay, still members of the SubmissionSet.
async fn a_folder_membership_is_removed(db: &Database) {
    register(db, &folder_submission()).await;

    let response = delete(db, &["fd-de", "ss-fd-de"]).await;

    assert_success(&response);
    assert_eq!(
        present(
            db,
            &["ss", "fd", "de", "ss-fd", "ss-de", "fd-de", "ss-fd-de"]
        )
        .await,
        sorted(&["de", "fd", "ss", "ss-de", "ss-fd"])
    );
}

/// 30003 step 1: removing everything of a submission but the SubmissionSet is refused.
async fn xds_unreferenced_object_exception_when_all_but_the_submission_set_is_removed(
    db: &Database,
) {
    register(db, &folder_submission()).await;

    let response = delete(db, &["ss-fd", "ss-de", "fd", "de", "ss-fd-de", "fd-de"]).await;

    assert_failure(
        &response,
        &[(error_code::XDS_UNREFERENCED_OBJECT_EXCEPTION, "ss")],
    );
}

/// 30007 / 30008: original, replacement (XFRM_RPLC) and appended submissions go in one request.
async fn related_submissions_are_removed_together(db: &Database) {
    register(db, &submission("ss0", &["de0"], vec![])).await;
    let xfrm_rplc = association("xfrm-rplc", association_type::XFRM_RPLC, "de1", "de0");
    register(db, &submission("ss1", &["de1"], vec![xfrm_rplc])).await;
    let apnd = association("apnd", association_type::APND, "de2", "de1");
    register(db, &submission("ss2", &["de2"], vec![apnd])).await;
    let all = [
        "ss0",
        "ss0-de0",
        "de0",
        "xfrm-rplc",
        "ss1",
        "ss1-de1",
        "de1",
        "apnd",
        "ss2",
        "ss2-de2",
        "de2",
    ];

    let response = delete(db, &all).await;

    assert_success(&response);
    assert!(present(db, &all).await.is_empty());
}

/// 30006 step 2: the original submission goes once its XFRM_RPLC goes with it.
async fn a_replaced_submission_is_removed_with_its_replacement_association(db: &Database) {
    register(db, &submission("ss0", &["de0"], vec![])).await;
    let rplc = association("rplc", association_type::RPLC, "de1", "de0");
    register(db, &submission("ss1", &["de1"], vec![rplc])).await;

    let response = delete(db, &["ss0", "ss0-de0", "de0", "rplc"]).await;

    assert_success(&response);
    assert_eq!(
        present(db, &["ss0", "de0", "rplc", "ss1", "de1"]).await,
        sorted(&["de1", "ss1"])
    );
}

/// deletionScope DeleteRepositoryItemOnly is refused (XDSRegistryMetadataError), nothing removed.
async fn deletion_scope_other_than_delete_all_is_refused(db: &Database) {
    register(db, &submission("ss", &["de"], vec![])).await;
    let mut request = remove_request(&["ss", "ss-de", "de"]);
    request.deletion_scope =
        Some("urn:oasis:names:tc:ebxml-regrep:DeletionScopeType:DeleteRepositoryItemOnly".into());

    let response = delete_document_set(db, &request).await;

    assert_failure(
        &response,
        &[(
            error_code::XDS_REGISTRY_METADATA_ERROR,
            "RemoveObjectsRequest",
        )],
    );
    assert_eq!(present(db, &["ss"]).await, sorted(&["ss"]));
}

/// An explicit deletionScope DeleteAll is the default and accepted.
async fn deletion_scope_delete_all_is_accepted(db: &Database) {
    register(db, &submission("ss", &["de"], vec![])).await;
    let mut request = remove_request(&["ss", "ss-de", "de"]);
    request.deletion_scope = Some(DELETE_ALL.to_owned());

    assert_success(&delete_document_set(db, &request).await);
}

/// An ObjectRefList naming nothing is refused (XDSRegistryMetadataError).
async fn an_empty_object_ref_list_is_refused(db: &Database) {
    let response = delete(db, &[]).await;

    assert_failure(
        &response,
        &[(
            error_code::XDS_REGISTRY_METADATA_ERROR,
            "RemoveObjectsRequest",
        )],
    );
}

/// Every violation is reported, each naming its object.
async fn every_violation_is_reported(db: &Database) {
    register(db, &submission("ss", &["de1", "de2", "de3"], vec![])).await;

    let response = delete(db, &["de1", "ss-de2"]).await;

    assert_failure(
        &response,
        &[
            (error_code::REFERENCES_EXIST_EXCEPTION, "de1"),
            (error_code::XDS_UNREFERENCED_OBJECT_EXCEPTION, "de2"),
        ],
    );
}

/// The NIST 30001 `remove_all.xml` request, read from the wire format, removes the submission.
async fn nist_30001_remove_all_request_removes_the_submission(db: &Database) {
    let path = shared_dir().join("nist-testkit/tests/30001/remove/remove_all.xml");
    let xml = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (set HIE_SHARED_DIR)", path.display()));
    let xml = xml
        .replace("$Document01$", "de")
        .replace("$AssociationHM01$", "ss-de")
        .replace("$SubmissionSet01$", "ss");
    let request = RemoveObjectsRequest::from_xml(xml.as_bytes(), Limits::default())
        .expect("NIST RemoveObjectsRequest");
    register(db, &submission("ss", &["de"], vec![])).await;

    assert_success(&delete_document_set(db, &request).await);
    assert!(present(db, &["ss", "ss-de", "de"]).await.is_empty());
}

/// The NIST 30003 submission: SubmissionSet `ss` holding Folder `fd` and DocumentEntry `de`, the
/// entry filed in the Folder (`fd-de`), that filing a member of the SubmissionSet (`ss-fd-de`).
fn folder_submission() -> Submission {
    let mut submission = submission("ss", &["de"], vec![]);
    submission.objects.push(object(ObjectKind::Folder, "fd"));
    submission.associations.extend([
        has_member("ss-fd", "ss", "fd"),
        has_member("fd-de", "fd", "de"),
        has_member("ss-fd-de", "ss", "fd-de"),
    ]);
    submission
}

/// `$HIE_SHARED_DIR`, else `../shared` next to the workspace root.
fn shared_dir() -> PathBuf {
    match std::env::var_os("HIE_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    }
}

/// A registration that references a DocumentEntry and the removal of that DocumentEntry, run
/// concurrently, never both commit: no Association is left pointing at a removed object
/// (SERIALIZABLE transactions on PostgreSQL, the writer lock on SQLite, and the endpoint check
/// inside the registering transaction).
async fn a_registration_racing_a_removal_never_leaves_a_dangling_association(db: &Database) {
    const ROUNDS: usize = 12;
    let mut outcomes = Vec::new();
    for round in 0..ROUNDS {
        let (ss, de, hm) = (
            format!("ss{round}"),
            format!("de{round}"),
            format!("ss{round}-de{round}"),
        );
        register(db, &submission(&ss, &[&de], vec![])).await;
        let (appended_ss, appended_de, apnd) = (
            format!("ssx{round}"),
            format!("dex{round}"),
            format!("apnd{round}"),
        );
        let appendix = submission(
            &appended_ss,
            &[&appended_de],
            vec![association(
                &apnd,
                association_type::APND,
                &appended_de,
                &de,
            )],
        );
        let removed_ids = [ss.as_str(), hm.as_str(), de.as_str()];
        let (removal, registration) =
            tokio::join!(delete(db, &removed_ids), db.insert_submission(&appendix));
        let removed = removal.status == ResponseStatus::Success;
        let registered = registration.is_ok();
        assert!(
            !(removed && registered),
            "round {round}: both the removal and the APND to the removed entry committed"
        );
        if registered {
            assert_eq!(present(db, &[&de, &apnd]).await, sorted(&[&apnd, &de]));
        } else {
            assert!(present(db, &[&apnd]).await.is_empty());
        }
        if removed {
            assert!(present(db, &[&de]).await.is_empty());
        }
        outcomes.push((removed, registered));
    }
    assert!(
        outcomes
            .iter()
            .all(|(removed, registered)| removed ^ registered),
        "each round, exactly one of the two commits: {outcomes:?}"
    );
}

/// The registering transaction itself refuses an Association whose endpoint is not in the
/// registry (what a removal committed meanwhile leaves), and writes nothing.
async fn an_association_to_an_object_no_longer_registered_is_an_unresolved_reference(
    db: &Database,
) {
    let appendix = submission(
        "ssx",
        &["dex"],
        vec![association(
            "apnd",
            association_type::APND,
            "dex",
            "removed",
        )],
    );
    match db.insert_submission(&appendix).await {
        Err(StorageError::UnresolvedReference { entry_uuid }) => assert_eq!(entry_uuid, "removed"),
        other => panic!("expected UnresolvedReference, got {other:?}"),
    }
    assert!(present(db, &["ssx", "dex", "apnd"]).await.is_empty());
}

on_both_backends!(
    an_association_to_an_object_no_longer_registered_is_an_unresolved_reference,
    a_registration_racing_a_removal_never_leaves_a_dangling_association,
    unresolved_reference_exception_for_an_unknown_object_ref,
    references_exist_exception_for_a_submission_set_still_holding_members,
    references_exist_exception_for_a_document_entry_still_a_member,
    references_exist_exception_for_an_association_referenced_by_an_association,
    references_exist_exception_for_a_document_entry_appended_to,
    xds_unreferenced_object_exception_for_a_submission_set_left_empty,
    xds_unreferenced_object_exception_for_a_document_entry_left_without_submission_set,
    a_whole_submission_is_removed,
    a_folder_membership_is_removed,
    xds_unreferenced_object_exception_when_all_but_the_submission_set_is_removed,
    related_submissions_are_removed_together,
    a_replaced_submission_is_removed_with_its_replacement_association,
    deletion_scope_other_than_delete_all_is_refused,
    deletion_scope_delete_all_is_accepted,
    an_empty_object_ref_list_is_refused,
    every_violation_is_reported,
    nist_30001_remove_all_request_removes_the_submission,
);
