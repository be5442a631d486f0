//! ITI-57 Update Document Set rules (IHE ITI TF-2b 3.57): DocumentEntry metadata update and
//! UpdateAvailabilityStatus, run on SQLite always and on PostgreSQL with
//! `--features postgres-tests`.

use registry::code_lists::CodeLists;
use registry::config::DEFAULT_AFFINITY_DOMAIN;
use registry::register::{RegisterContext, register};
use registry::storage::{AvailabilityStatus, Database, StoredObject};
use registry::stored_query::{QueryOptions, execute};
use registry::update::update_document_set;
use schemas::constants::{error_code, stored_query};
use schemas::ebrim::{
    AdhocQueryRequest, Identifiable, RegistryObject, RegistryResponse, ResponseStatus, ReturnType,
    Slot,
};

mod support;

use support::database::on_both_backends;
use support::metadata::*;

/// entryUUID (= logicalID) of the registered DocumentEntry.
const ORIGINAL: &str = "urn:uuid:0a000000-0000-4000-8000-000000000001";
/// entryUUID of the new version submitted by ITI-57.
const NEW_VERSION: &str = "urn:uuid:0a000000-0000-4000-8000-000000000002";
const DOC_UID: &str = "1.2.3.57.1";
const UPDATE_STATUS: &str = "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus";
const APPROVED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved";
const DEPRECATED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated";

struct Registry {
    db: Database,
    ctx: RegisterContext,
}

impl Registry {
    /// A fresh registry holding DocumentEntry ORIGINAL (version 1, Approved).
    async fn new(db: &Database) -> Self {
        let db = db.clone();
        db.upsert_patient(PATIENT_VALUE).await.unwrap();
        let ctx = RegisterContext {
            affinity_domain: DEFAULT_AFFINITY_DOMAIN.to_owned(),
            code_lists: CodeLists::imaging_defaults(),
            accept_unknown_patients: false,
        };
        let registry = Registry { db, ctx };
        let response = register(
            &registry.db,
            &registry.ctx,
            &request(&[
                document(ORIGINAL, DOC_UID, PATIENT),
                submission_set("SubmissionSet01", "1.2.3.57.100", PATIENT),
                member("as01", "SubmissionSet01", ORIGINAL, "Original"),
            ]),
        )
        .await;
        assert_eq!(
            response.status,
            ResponseStatus::Success,
            "{:#?}",
            response.errors
        );
        registry
    }

    async fn update(&self, parts: &[String]) -> RegistryResponse {
        update_document_set(&self.db, &self.ctx, &request(parts)).await
    }

    async fn versions(&self) -> Vec<StoredObject> {
        self.db.versions_of(ORIGINAL).await.unwrap()
    }

    async fn status_of_original(&self) -> AvailabilityStatus {
        self.versions().await[0].status
    }
}

/// A DocumentEntry `id` declaring logicalID `lid`.
fn new_version(id: &str, lid: &str, unique_id: &str) -> String {
    document(id, unique_id, PATIENT).replacen(
        &format!("<rim:ExtrinsicObject id=\"{id}\""),
        &format!("<rim:ExtrinsicObject lid=\"{lid}\" id=\"{id}\""),
        1,
    )
}

/// The SubmissionSet HasMember announcing a new version of `previous_version`.
fn member_with_previous_version(target: &str, previous_version: &str) -> String {
    format!(
        "<rim:Association associationType=\"{HAS_MEMBER}\" id=\"as-update\" sourceObject=\"SubmissionSet02\" targetObject=\"{target}\"><rim:Slot name=\"SubmissionSetStatus\"><rim:ValueList><rim:Value>Original</rim:Value></rim:ValueList></rim:Slot><rim:Slot name=\"PreviousVersion\"><rim:ValueList><rim:Value>{previous_version}</rim:Value></rim:ValueList></rim:Slot></rim:Association>\n"
    )
}

/// A metadata update of ORIGINAL: new version NEW_VERSION with `lid`, `unique_id` and
/// PreviousVersion `previous_version`.
fn document_update(lid: &str, unique_id: &str, previous_version: &str) -> Vec<String> {
    vec![
        submission_set("SubmissionSet02", "1.2.3.57.200", PATIENT),
        new_version(NEW_VERSION, lid, unique_id),
        member_with_previous_version(NEW_VERSION, previous_version),
    ]
}

fn status_association(id: &str, target: &str, original: &str, new: &str) -> String {
    format!(
        "<rim:Association associationType=\"{UPDATE_STATUS}\" id=\"{id}\" sourceObject=\"SubmissionSet02\" targetObject=\"{target}\"><rim:Slot name=\"OriginalStatus\"><rim:ValueList><rim:Value>{original}</rim:Value></rim:ValueList></rim:Slot><rim:Slot name=\"NewStatus\"><rim:ValueList><rim:Value>{new}</rim:Value></rim:ValueList></rim:Slot></rim:Association>\n"
    )
}

/// An UpdateAvailabilityStatus of ORIGINAL from `original` to `new`.
fn status_update(original: &str, new: &str) -> Vec<String> {
    vec![
        submission_set("SubmissionSet02", "1.2.3.57.200", PATIENT),
        status_association("as-status", ORIGINAL, original, new),
    ]
}

fn assert_success(response: &RegistryResponse) {
    assert_eq!(
        response.status,
        ResponseStatus::Success,
        "{:#?}",
        response.errors
    );
}

fn assert_refused(response: &RegistryResponse, code: &str) {
    assert_eq!(response.status, ResponseStatus::Failure);
    assert!(
        response.errors.iter().any(|e| e.error_code == code),
        "expected {code}, got {:#?}",
        response.errors
    );
}

async fn document_update_approves_version_2_and_deprecates_version_1(db: &Database) {
    let registry = Registry::new(db).await;
    assert_success(
        &registry
            .update(&document_update(ORIGINAL, DOC_UID, "1"))
            .await,
    );
    let versions = registry.versions().await;
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0].entry_uuid, ORIGINAL);
    assert_eq!(versions[0].status, AvailabilityStatus::Deprecated);
    assert_eq!(versions[1].entry_uuid, NEW_VERSION);
    assert_eq!(versions[1].version, 2);
    assert_eq!(versions[1].logical_id, ORIGINAL);
    assert_eq!(versions[1].status, AvailabilityStatus::Approved);
    assert_eq!(versions[1].unique_id, DOC_UID);
    assert!(
        versions[1].fragment.contains("versionName=\"2\""),
        "{}",
        versions[1].fragment
    );
}

async fn previous_version_not_the_approved_one_is_metadata_version_error(db: &Database) {
    let registry = Registry::new(db).await;
    let response = registry
        .update(&document_update(ORIGINAL, DOC_UID, "2"))
        .await;
    assert_refused(&response, error_code::XDS_METADATA_VERSION_ERROR);
    assert_eq!(registry.versions().await.len(), 1);
    assert_eq!(
        registry.status_of_original().await,
        AvailabilityStatus::Approved
    );
}

async fn updating_a_replaced_version_again_is_metadata_version_error(db: &Database) {
    let registry = Registry::new(db).await;
    assert_success(
        &registry
            .update(&document_update(ORIGINAL, DOC_UID, "1"))
            .await,
    );
    let mut again = document_update(ORIGINAL, DOC_UID, "1");
    again[0] = submission_set("SubmissionSet02", "1.2.3.57.201", PATIENT);
    let third = "urn:uuid:0a000000-0000-4000-8000-000000000003";
    again[1] = new_version(third, ORIGINAL, DOC_UID);
    again[2] = member_with_previous_version(third, "1");
    assert_refused(
        &registry.update(&again).await,
        error_code::XDS_METADATA_VERSION_ERROR,
    );
    assert_eq!(registry.versions().await.len(), 2);
}

async fn unknown_logical_id_is_metadata_version_error(db: &Database) {
    let registry = Registry::new(db).await;
    let unknown = "urn:uuid:0a000000-0000-4000-8000-0000000000ff";
    let response = registry
        .update(&document_update(unknown, DOC_UID, "1"))
        .await;
    assert_refused(&response, error_code::XDS_METADATA_VERSION_ERROR);
    assert_eq!(registry.versions().await.len(), 1);
}

async fn changed_unique_id_is_metadata_identifier_error(db: &Database) {
    let registry = Registry::new(db).await;
    let response = registry
        .update(&document_update(ORIGINAL, "1.2.3.57.999", "1"))
        .await;
    assert_refused(&response, error_code::XDS_METADATA_IDENTIFIER_ERROR);
    assert_eq!(registry.versions().await.len(), 1);
}

async fn update_availability_status_deprecates_an_approved_document(db: &Database) {
    let registry = Registry::new(db).await;
    assert_success(&registry.update(&status_update(APPROVED, DEPRECATED)).await);
    assert_eq!(
        registry.status_of_original().await,
        AvailabilityStatus::Deprecated
    );
}

async fn update_availability_status_approves_a_deprecated_document(db: &Database) {
    let registry = Registry::new(db).await;
    assert_success(&registry.update(&status_update(APPROVED, DEPRECATED)).await);
    let mut back = status_update(DEPRECATED, APPROVED);
    back[0] = submission_set("SubmissionSet02", "1.2.3.57.201", PATIENT);
    assert_success(&registry.update(&back).await);
    assert_eq!(
        registry.status_of_original().await,
        AvailabilityStatus::Approved
    );
}

async fn original_status_not_the_current_one_is_metadata_update_error(db: &Database) {
    let registry = Registry::new(db).await;
    let response = registry.update(&status_update(DEPRECATED, APPROVED)).await;
    assert_refused(&response, error_code::XDS_METADATA_UPDATE_ERROR);
    assert_eq!(
        registry.status_of_original().await,
        AvailabilityStatus::Approved
    );
}

/// One transaction: a refused operation leaves the valid one of the same request unapplied.
async fn refused_update_applies_no_operation(db: &Database) {
    let registry = Registry::new(db).await;
    let mut parts = status_update(APPROVED, DEPRECATED);
    let unknown = "urn:uuid:0a000000-0000-4000-8000-0000000000ff";
    parts.push(new_version(NEW_VERSION, unknown, "1.2.3.57.2"));
    parts.push(member_with_previous_version(NEW_VERSION, "1"));
    assert_refused(
        &registry.update(&parts).await,
        error_code::XDS_METADATA_VERSION_ERROR,
    );
    assert_eq!(
        registry.status_of_original().await,
        AvailabilityStatus::Approved
    );
}

/// ITI-18 GetDocuments by `$XDSDocumentEntryLogicalID` answers every version of the logical
/// DocumentEntry (Metadata Update option, ITI TF-2a 3.18.4.1.2.3.7.5).
async fn get_documents_by_logical_id_answers_every_version(db: &Database) {
    let registry = Registry::new(db).await;
    assert_success(
        &registry
            .update(&document_update(ORIGINAL, DOC_UID, "1"))
            .await,
    );
    let query = AdhocQueryRequest {
        id: None,
        comment: None,
        request_slots: Vec::new(),
        return_type: ReturnType::ObjectRef,
        return_composed_objects: true,
        federated: false,
        federation: None,
        start_index: 0,
        max_results: None,
        query: RegistryObject {
            id: stored_query::GET_DOCUMENTS.to_owned(),
            slots: vec![
                Slot::new("$XDSDocumentEntryLogicalID", [format!("('{ORIGINAL}')")]),
                Slot::new("$MetadataLevel", ["2".to_owned()]),
            ],
            ..RegistryObject::default()
        },
    };
    let response = execute(&registry.db, &QueryOptions::default(), &query).await;
    assert_eq!(response.response.status, ResponseStatus::Success);
    let mut ids: Vec<&str> = response
        .objects
        .objects
        .iter()
        .map(|o| match o {
            Identifiable::ObjectRef(r) => r.id.as_str(),
            other => panic!("expected an ObjectRef, got {other:?}"),
        })
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, [ORIGINAL, NEW_VERSION]);
}

on_both_backends!(
    get_documents_by_logical_id_answers_every_version,
    document_update_approves_version_2_and_deprecates_version_1,
    previous_version_not_the_approved_one_is_metadata_version_error,
    updating_a_replaced_version_again_is_metadata_version_error,
    unknown_logical_id_is_metadata_version_error,
    changed_unique_id_is_metadata_identifier_error,
    update_availability_status_deprecates_an_approved_document,
    update_availability_status_approves_a_deprecated_document,
    original_status_not_the_current_one_is_metadata_update_error,
    refused_update_applies_no_operation,
);
