//! ITI-57 Update Document Set operations beyond the DocumentEntry ones of `update.rs` (IHE ITI
//! TF-2b 3.57.4.1.3): Folder metadata update, AssociationPropagation, UpdateAvailabilityStatus of
//! Folders, SubmissionSets and Associations, Submit Association and the common rules, run on
//! SQLite always and on PostgreSQL with `--features postgres-tests`.

use registry::code_lists::CodeLists;
use registry::config::DEFAULT_AFFINITY_DOMAIN;
use registry::register::{RegisterContext, register};
use registry::storage::{AvailabilityStatus, Database, StoredAssociation, StoredObject};
use registry::stored_query::{QueryOptions, execute};
use registry::update::update_document_set;
use schemas::constants::{error_code, stored_query};
use schemas::ebrim::{
    AdhocQueryRequest, AdhocQueryResponse, Identifiable, RegistryObject, RegistryResponse,
    ResponseStatus, ReturnType, Slot,
};

mod support;

use support::database::on_both_backends;
use support::metadata::*;

/// The registered DocumentEntry in FOLDER.
const DOC: &str = "urn:uuid:0b000000-0000-4000-8000-000000000001";
/// A registered DocumentEntry in no Folder.
const LONE_DOC: &str = "urn:uuid:0b000000-0000-4000-8000-000000000002";
/// The registered Folder holding DOC.
const FOLDER: &str = "urn:uuid:0b000000-0000-4000-8000-000000000003";
/// The SubmissionSet that registered them.
const FIRST_SS: &str = "urn:uuid:0b000000-0000-4000-8000-000000000004";
/// A DocumentEntry of OTHER_PATIENT.
const OTHER_DOC: &str = "urn:uuid:0b000000-0000-4000-8000-000000000005";
/// entryUUID of a new version.
const NEW: &str = "urn:uuid:0b000000-0000-4000-8000-0000000000a1";
const DOC_UID: &str = "1.2.3.58.1";
const LONE_DOC_UID: &str = "1.2.3.58.2";
const FOLDER_UID: &str = "1.2.3.58.3";
const UPDATE_STATUS: &str = "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus";
const SUBMIT_ASSOCIATION: &str = "urn:ihe:iti:2010:AssociationType:SubmitAssociation";
const APPROVED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved";
const DEPRECATED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated";
/// An old lastUpdateTime that any update replaces.
const STALE_TIME: &str = "20000101000000";

struct Registry {
    db: Database,
    ctx: RegisterContext,
}

impl Registry {
    /// A fresh registry holding FOLDER (with DOC) and LONE_DOC of PATIENT, OTHER_DOC of
    /// OTHER_PATIENT; FOLDER's lastUpdateTime is STALE_TIME.
    async fn new(db: &Database) -> Self {
        let db = db.clone();
        db.upsert_patient(PATIENT_VALUE).await.unwrap();
        db.upsert_patient(OTHER_PATIENT_VALUE).await.unwrap();
        let ctx = RegisterContext {
            affinity_domain: DEFAULT_AFFINITY_DOMAIN.to_owned(),
            code_lists: CodeLists::imaging_defaults(),
            accept_unknown_patients: false,
        };
        let registry = Registry { db, ctx };
        registry
            .register(&[
                document(DOC, DOC_UID, PATIENT),
                document(LONE_DOC, LONE_DOC_UID, PATIENT),
                folder(FOLDER, FOLDER_UID, PATIENT),
                submission_set(FIRST_SS, "1.2.3.58.100", PATIENT),
                member("as01", FIRST_SS, DOC, "Original"),
                member("as02", FIRST_SS, LONE_DOC, "Original"),
                member("as03", FIRST_SS, FOLDER, "Original"),
                association("as04", HAS_MEMBER, FOLDER, DOC),
                member("as05", FIRST_SS, "as04", "Original"),
            ])
            .await;
        registry
            .register(&[
                document(OTHER_DOC, "1.2.3.58.5", OTHER_PATIENT),
                submission_set("SubmissionSet01", "1.2.3.58.101", OTHER_PATIENT),
                member("as01", "SubmissionSet01", OTHER_DOC, "Original"),
            ])
            .await;
        registry.age_folder(FOLDER).await;
        registry
    }

    async fn register(&self, parts: &[String]) {
        let response = register(&self.db, &self.ctx, &request(parts)).await;
        assert_success(&response);
    }

    async fn update(&self, parts: &[String]) -> RegistryResponse {
        update_document_set(&self.db, &self.ctx, &request(parts)).await
    }

    /// Sets the stored lastUpdateTime of `folder` to STALE_TIME, so an update is visible.
    async fn age_folder(&self, folder: &str) {
        use diesel::prelude::*;
        use registry::storage::schema::registry_objects;
        let object = self.object(folder).await;
        let fragment = object
            .fragment
            .replace(last_update_time(&object.fragment), STALE_TIME);
        let folder = folder.to_owned();
        match &self.db {
            Database::Sqlite(pool) => {
                let mut conn = pool.get().await.unwrap();
                diesel_async::RunQueryDsl::execute(
                    diesel::update(registry_objects::table.find(folder)).set((
                        registry_objects::fragment.eq(fragment),
                        registry_objects::last_update_time.eq(STALE_TIME),
                    )),
                    &mut conn,
                )
                .await
                .unwrap();
            }
            Database::Postgres(pool) => {
                let mut conn = pool.get().await.unwrap();
                diesel_async::RunQueryDsl::execute(
                    diesel::update(registry_objects::table.find(folder)).set((
                        registry_objects::fragment.eq(fragment),
                        registry_objects::last_update_time.eq(STALE_TIME),
                    )),
                    &mut conn,
                )
                .await
                .unwrap();
            }
        }
    }

    async fn object(&self, entry_uuid: &str) -> StoredObject {
        self.db
            .objects_by_uuid(&[entry_uuid.to_owned()])
            .await
            .unwrap()
            .pop()
            .unwrap_or_else(|| panic!("{entry_uuid} is not registered"))
    }

    async fn versions(&self, logical_id: &str) -> Vec<StoredObject> {
        self.db.versions_of(logical_id).await.unwrap()
    }

    /// Approved HasMember associations from `source` to `target`.
    async fn memberships(&self, source: &str, target: &str) -> Vec<StoredAssociation> {
        self.db
            .associations_of(&[source.to_owned()])
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.association_type == HAS_MEMBER)
            .filter(|a| a.source_uuid == source && a.target_uuid == target)
            .filter(|a| a.status == AvailabilityStatus::Approved)
            .collect()
    }
}

fn last_update_time(fragment: &str) -> &str {
    let slot = fragment.find("name=\"lastUpdateTime\"").unwrap();
    let open = slot + fragment[slot..].find("<rim:Value>").unwrap() + "<rim:Value>".len();
    let close = open + fragment[open..].find("</rim:Value>").unwrap();
    &fragment[open..close]
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

/// The SubmissionSet of every update.
fn update_set() -> String {
    submission_set("SubmissionSet02", "1.2.3.58.200", PATIENT)
}

/// `object` (an `rim:ExtrinsicObject` or `rim:RegistryPackage` with id `id`) declaring `lid`.
fn with_lid(object: &str, id: &str, lid: &str) -> String {
    object.replacen(
        &format!(" id=\"{id}\""),
        &format!(" lid=\"{lid}\" id=\"{id}\""),
        1,
    )
}

/// The SubmissionSet HasMember announcing new version `target`, with its slots.
fn trigger(target: &str, previous_version: &str, propagation: Option<&str>) -> String {
    let slot = |name: &str, value: &str| {
        format!(
            "<rim:Slot name=\"{name}\"><rim:ValueList><rim:Value>{value}</rim:Value></rim:ValueList></rim:Slot>"
        )
    };
    format!(
        "<rim:Association associationType=\"{HAS_MEMBER}\" id=\"as-trigger\" sourceObject=\"SubmissionSet02\" targetObject=\"{target}\">{}{}{}</rim:Association>\n",
        slot("SubmissionSetStatus", "Original"),
        slot("PreviousVersion", previous_version),
        propagation.map_or_else(String::new, |p| slot("AssociationPropagation", p)),
    )
}

/// A new version of FOLDER.
fn folder_update(previous_version: &str, propagation: Option<&str>) -> Vec<String> {
    vec![
        update_set(),
        with_lid(&folder(NEW, FOLDER_UID, PATIENT), NEW, FOLDER),
        trigger(NEW, previous_version, propagation),
    ]
}

/// A new version of DOC.
fn document_update(propagation: Option<&str>) -> Vec<String> {
    vec![
        update_set(),
        with_lid(&document(NEW, DOC_UID, PATIENT), NEW, DOC),
        trigger(NEW, "1", propagation),
    ]
}

fn status_association(id: &str, target: &str, original: &str, new: &str) -> String {
    format!(
        "<rim:Association associationType=\"{UPDATE_STATUS}\" id=\"{id}\" sourceObject=\"SubmissionSet02\" targetObject=\"{target}\"><rim:Slot name=\"OriginalStatus\"><rim:ValueList><rim:Value>{original}</rim:Value></rim:ValueList></rim:Slot><rim:Slot name=\"NewStatus\"><rim:ValueList><rim:Value>{new}</rim:Value></rim:ValueList></rim:Slot></rim:Association>\n"
    )
}

/// Submit Association of `kind` from `source` to `target`.
fn submit_association(kind: &str, source: &str, target: &str) -> Vec<String> {
    vec![
        update_set(),
        association("as-new", kind, source, target),
        format!(
            "<rim:Association associationType=\"{SUBMIT_ASSOCIATION}\" id=\"as-submit\" sourceObject=\"SubmissionSet02\" targetObject=\"as-new\"/>\n"
        ),
    ]
}

async fn folder_update_approves_version_2_and_deprecates_version_1(db: &Database) {
    let registry = Registry::new(db).await;
    assert_success(&registry.update(&folder_update("1", None)).await);
    let versions = registry.versions(FOLDER).await;
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0].status, AvailabilityStatus::Deprecated);
    assert_eq!(versions[1].entry_uuid, NEW);
    assert_eq!(versions[1].version, 2);
    assert_eq!(versions[1].status, AvailabilityStatus::Approved);
    assert_eq!(versions[1].unique_id, FOLDER_UID);
    assert!(versions[1].fragment.contains("versionName=\"2\""));
    assert_ne!(last_update_time(&versions[1].fragment), STALE_TIME);
}

async fn folder_update_propagates_its_memberships_by_default(db: &Database) {
    let registry = Registry::new(db).await;
    assert_success(&registry.update(&folder_update("1", Some("yes"))).await);
    assert_eq!(registry.memberships(NEW, DOC).await.len(), 1);
    assert_eq!(registry.memberships(FOLDER, DOC).await.len(), 1);
}

async fn folder_update_without_association_propagation_has_no_members(db: &Database) {
    let registry = Registry::new(db).await;
    assert_success(&registry.update(&folder_update("1", Some("no"))).await);
    assert!(registry.memberships(NEW, DOC).await.is_empty());
}

async fn folder_update_of_a_wrong_previous_version_is_metadata_version_error(db: &Database) {
    let registry = Registry::new(db).await;
    let response = registry.update(&folder_update("2", None)).await;
    assert_refused(&response, error_code::XDS_METADATA_VERSION_ERROR);
    assert_eq!(registry.versions(FOLDER).await.len(), 1);
}

async fn folder_update_without_logical_id_is_metadata_update_error(db: &Database) {
    let registry = Registry::new(db).await;
    let parts = vec![
        update_set(),
        folder(NEW, FOLDER_UID, PATIENT),
        trigger(NEW, "1", None),
    ];
    assert_refused(
        &registry.update(&parts).await,
        error_code::XDS_METADATA_UPDATE_ERROR,
    );
}

async fn folder_update_of_a_document_entry_logical_id_is_metadata_update_error(db: &Database) {
    let registry = Registry::new(db).await;
    let parts = vec![
        update_set(),
        with_lid(&folder(NEW, FOLDER_UID, PATIENT), NEW, DOC),
        trigger(NEW, "1", None),
    ];
    assert_refused(
        &registry.update(&parts).await,
        error_code::XDS_METADATA_UPDATE_ERROR,
    );
}

async fn first_version_submitted_by_update_is_metadata_update_operation_error(db: &Database) {
    let registry = Registry::new(db).await;
    let parts = vec![
        update_set(),
        folder("Folder09", "1.2.3.58.9", PATIENT),
        member("as01", "SubmissionSet02", "Folder09", "Original"),
    ];
    assert_refused(
        &registry.update(&parts).await,
        error_code::XDS_METADATA_UPDATE_OPERATION_ERROR,
    );
}

async fn association_propagation_neither_yes_nor_no_is_metadata_update_operation_error(
    db: &Database,
) {
    let registry = Registry::new(db).await;
    let response = registry.update(&folder_update("1", Some("maybe"))).await;
    assert_refused(&response, error_code::XDS_METADATA_UPDATE_OPERATION_ERROR);
    assert_eq!(registry.versions(FOLDER).await.len(), 1);
}

async fn previous_version_not_a_number_is_metadata_update_operation_error(db: &Database) {
    let registry = Registry::new(db).await;
    let response = registry.update(&folder_update("one", None)).await;
    assert_refused(&response, error_code::XDS_METADATA_UPDATE_OPERATION_ERROR);
}

async fn document_update_propagates_folder_membership_and_updates_folder_last_update_time(
    db: &Database,
) {
    let registry = Registry::new(db).await;
    assert_success(&registry.update(&document_update(None)).await);
    assert_eq!(registry.memberships(FOLDER, NEW).await.len(), 1);
    let folder = registry.object(FOLDER).await;
    assert_ne!(folder.last_update_time(), STALE_TIME);
}

async fn document_update_without_association_propagation_leaves_the_folder_unchanged(
    db: &Database,
) {
    let registry = Registry::new(db).await;
    assert_success(&registry.update(&document_update(Some("no"))).await);
    assert!(registry.memberships(FOLDER, NEW).await.is_empty());
    assert_eq!(registry.object(FOLDER).await.last_update_time(), STALE_TIME);
}

async fn document_update_changing_the_patient_of_a_folder_member_is_patient_id_reconciliation_error(
    db: &Database,
) {
    let registry = Registry::new(db).await;
    let parts = vec![
        submission_set("SubmissionSet02", "1.2.3.58.200", OTHER_PATIENT),
        with_lid(&document(NEW, DOC_UID, OTHER_PATIENT), NEW, DOC),
        trigger(NEW, "1", None),
    ];
    assert_refused(
        &registry.update(&parts).await,
        error_code::XDS_PATIENT_ID_RECONCILIATION_ERROR,
    );
}

async fn document_update_changing_the_patient_of_an_unconnected_document_is_accepted(
    db: &Database,
) {
    let registry = Registry::new(db).await;
    let parts = vec![
        submission_set("SubmissionSet02", "1.2.3.58.200", OTHER_PATIENT),
        with_lid(&document(NEW, LONE_DOC_UID, OTHER_PATIENT), NEW, LONE_DOC),
        trigger(NEW, "1", None),
    ];
    assert_success(&registry.update(&parts).await);
    assert_eq!(registry.object(NEW).await.patient_id, OTHER_PATIENT_VALUE);
}

async fn update_availability_status_deprecates_a_folder_and_leaves_its_members(db: &Database) {
    let registry = Registry::new(db).await;
    let parts = vec![
        update_set(),
        status_association("as-status", FOLDER, APPROVED, DEPRECATED),
    ];
    assert_success(&registry.update(&parts).await);
    assert_eq!(
        registry.object(FOLDER).await.status,
        AvailabilityStatus::Deprecated
    );
    assert_eq!(
        registry.object(DOC).await.status,
        AvailabilityStatus::Approved
    );
}

async fn update_availability_status_of_a_submission_set_is_metadata_update_operation_error(
    db: &Database,
) {
    let registry = Registry::new(db).await;
    let parts = vec![
        update_set(),
        status_association("as-status", FIRST_SS, APPROVED, DEPRECATED),
    ];
    assert_refused(
        &registry.update(&parts).await,
        error_code::XDS_METADATA_UPDATE_OPERATION_ERROR,
    );
    assert_eq!(
        registry.object(FIRST_SS).await.status,
        AvailabilityStatus::Approved
    );
}

async fn update_availability_status_deprecates_an_association(db: &Database) {
    let registry = Registry::new(db).await;
    let membership = registry.memberships(FOLDER, DOC).await.remove(0);
    let parts = vec![
        update_set(),
        status_association("as-status", &membership.entry_uuid, APPROVED, DEPRECATED),
    ];
    assert_success(&registry.update(&parts).await);
    assert!(registry.memberships(FOLDER, DOC).await.is_empty());
}

/// ITI-18 query `query_id` with `slots` (ObjectRef answer).
async fn stored_query(db: &Database, query_id: &str, slots: Vec<Slot>) -> AdhocQueryResponse {
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
            id: query_id.to_owned(),
            slots,
            ..RegistryObject::default()
        },
    };
    execute(db, &QueryOptions::default(), &query).await
}

/// ITI-18 GetRelatedDocuments of `LONE_DOC` by APND, with optional `$XDSAssociationStatus`.
async fn related_by_apnd(db: &Database, association_status: Option<&str>) -> AdhocQueryResponse {
    let mut slots = vec![
        Slot::new("$XDSDocumentEntryEntryUUID", [format!("'{LONE_DOC}'")]),
        Slot::new("$AssociationTypes", [format!("('{APND}')")]),
    ];
    if let Some(status) = association_status {
        slots.push(Slot::new(
            "$XDSAssociationStatus",
            [format!("('{status}')")],
        ));
    }
    stored_query(db, stored_query::GET_RELATED_DOCUMENTS, slots).await
}

/// ITI-18 GetFolderAndContents by uniqueId after a Folder update: the current version only, and
/// with `$MetadataLevel` 2 every version of the Folder (Metadata Update option).
async fn get_folder_and_contents_at_metadata_level_2_answers_every_folder_version(db: &Database) {
    let registry = Registry::new(db).await;
    assert_success(&registry.update(&folder_update("1", None)).await);
    let by_unique_id = || Slot::new("$XDSFolderUniqueId", [format!("'{FOLDER_UID}'")]);
    let ids = |response: AdhocQueryResponse| -> Vec<String> {
        let mut ids: Vec<String> = response
            .objects
            .objects
            .iter()
            .filter_map(|o| match o {
                Identifiable::ObjectRef(r) if r.id == FOLDER || r.id == NEW => Some(r.id.clone()),
                _ => None,
            })
            .collect();
        ids.sort_unstable();
        ids
    };
    let current = stored_query(
        db,
        stored_query::GET_FOLDER_AND_CONTENTS,
        vec![by_unique_id()],
    )
    .await;
    assert_eq!(ids(current), [NEW]);
    let every = stored_query(
        db,
        stored_query::GET_FOLDER_AND_CONTENTS,
        vec![
            by_unique_id(),
            Slot::new("$MetadataLevel", ["2".to_owned()]),
        ],
    )
    .await;
    assert_eq!(ids(every), [FOLDER, NEW]);
}

/// ITI-18 after ITI-57: a Deprecated Association is left out of GetRelatedDocuments unless
/// `$XDSAssociationStatus` asks for Deprecated ones (Metadata Update option).
async fn deprecated_association_is_only_answered_when_association_status_asks_for_it(
    db: &Database,
) {
    let registry = Registry::new(db).await;
    assert_success(
        &registry
            .update(&submit_association(APND, LONE_DOC, DOC))
            .await,
    );
    assert_eq!(related_by_apnd(db, None).await.objects.objects.len(), 3);
    let appended = registry
        .db
        .associations_of(&[LONE_DOC.to_owned()])
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.association_type == APND)
        .unwrap();
    let parts = vec![
        submission_set("SubmissionSet02", "1.2.3.58.201", PATIENT),
        status_association("as-status", &appended.entry_uuid, APPROVED, DEPRECATED),
    ];
    assert_success(&registry.update(&parts).await);
    let default = related_by_apnd(db, None).await;
    assert_eq!(default.response.status, ResponseStatus::Success);
    assert!(default.objects.objects.is_empty());
    let asked = related_by_apnd(db, Some(DEPRECATED)).await;
    assert_eq!(asked.objects.objects.len(), 3);
}

async fn submission_set_cannot_be_updated(db: &Database) {
    let registry = Registry::new(db).await;
    let parts = vec![
        with_lid(&update_set(), "SubmissionSet02", FIRST_SS),
        status_association("as-status", LONE_DOC, APPROVED, DEPRECATED),
    ];
    assert_refused(
        &registry.update(&parts).await,
        error_code::XDS_METADATA_UPDATE_OPERATION_ERROR,
    );
    assert_eq!(
        registry.object(LONE_DOC).await.status,
        AvailabilityStatus::Approved
    );
}

async fn two_operations_on_one_logical_object_are_metadata_update_operation_error(db: &Database) {
    let registry = Registry::new(db).await;
    let mut parts = folder_update("1", None);
    parts.push(status_association(
        "as-status",
        FOLDER,
        APPROVED,
        DEPRECATED,
    ));
    assert_refused(
        &registry.update(&parts).await,
        error_code::XDS_METADATA_UPDATE_OPERATION_ERROR,
    );
    assert_eq!(registry.versions(FOLDER).await.len(), 1);
}

async fn submit_association_adds_a_document_to_a_folder_and_updates_its_last_update_time(
    db: &Database,
) {
    let registry = Registry::new(db).await;
    let parts = submit_association(HAS_MEMBER, FOLDER, LONE_DOC);
    assert_success(&registry.update(&parts).await);
    assert_eq!(registry.memberships(FOLDER, LONE_DOC).await.len(), 1);
    assert_ne!(registry.object(FOLDER).await.last_update_time(), STALE_TIME);
}

async fn submit_association_appends_a_document_to_another(db: &Database) {
    let registry = Registry::new(db).await;
    assert_success(
        &registry
            .update(&submit_association(APND, LONE_DOC, DOC))
            .await,
    );
    let appended = registry
        .db
        .associations_of(&[LONE_DOC.to_owned()])
        .await
        .unwrap()
        .into_iter()
        .any(|a| a.association_type == APND && a.target_uuid == DOC);
    assert!(appended);
}

async fn submit_association_of_a_folder_member_again_is_metadata_update_error(db: &Database) {
    let registry = Registry::new(db).await;
    let response = registry
        .update(&submit_association(HAS_MEMBER, FOLDER, DOC))
        .await;
    assert_refused(&response, error_code::XDS_METADATA_UPDATE_ERROR);
    assert_eq!(registry.memberships(FOLDER, DOC).await.len(), 1);
}

async fn submit_association_with_a_deprecated_document_is_metadata_update_error(db: &Database) {
    let registry = Registry::new(db).await;
    let deprecate = vec![
        update_set(),
        status_association("as-status", LONE_DOC, APPROVED, DEPRECATED),
    ];
    assert_success(&registry.update(&deprecate).await);
    let mut parts = submit_association(HAS_MEMBER, FOLDER, LONE_DOC);
    parts[0] = submission_set("SubmissionSet02", "1.2.3.58.201", PATIENT);
    assert_refused(
        &registry.update(&parts).await,
        error_code::XDS_METADATA_UPDATE_ERROR,
    );
}

async fn submit_association_between_patients_is_patient_id_reconciliation_error(db: &Database) {
    let registry = Registry::new(db).await;
    let response = registry
        .update(&submit_association(HAS_MEMBER, FOLDER, OTHER_DOC))
        .await;
    assert_refused(&response, error_code::XDS_PATIENT_ID_RECONCILIATION_ERROR);
    assert!(registry.memberships(FOLDER, OTHER_DOC).await.is_empty());
}

async fn submit_association_of_a_replacement_is_metadata_update_operation_error(db: &Database) {
    let registry = Registry::new(db).await;
    let response = registry
        .update(&submit_association(RPLC, LONE_DOC, DOC))
        .await;
    assert_refused(&response, error_code::XDS_METADATA_UPDATE_OPERATION_ERROR);
}

async fn association_that_is_no_operation_is_metadata_update_operation_error(db: &Database) {
    let registry = Registry::new(db).await;
    let parts = vec![update_set(), association("as-new", APND, LONE_DOC, DOC)];
    assert_refused(
        &registry.update(&parts).await,
        error_code::XDS_METADATA_UPDATE_OPERATION_ERROR,
    );
}

async fn folder_update_without_submission_set_status_is_accepted(db: &Database) {
    let registry = Registry::new(db).await;
    let mut parts = folder_update("1", None);
    parts[2] = without_slot(&parts[2], "SubmissionSetStatus");
    assert_success(&registry.update(&parts).await);
    assert_eq!(registry.versions(FOLDER).await.len(), 2);
}

async fn document_update_without_submission_set_status_is_metadata_update_operation_error(
    db: &Database,
) {
    let registry = Registry::new(db).await;
    let mut parts = document_update(None);
    parts[2] = without_slot(&parts[2], "SubmissionSetStatus");
    assert_refused(
        &registry.update(&parts).await,
        error_code::XDS_METADATA_UPDATE_OPERATION_ERROR,
    );
}

async fn submit_association_of_an_unknown_type_is_registry_metadata_error(db: &Database) {
    let registry = Registry::new(db).await;
    let parts = submit_association("urn:ihe:iti:2007:AssociationType:APND_TXFM", LONE_DOC, DOC);
    assert_refused(
        &registry.update(&parts).await,
        error_code::XDS_REGISTRY_METADATA_ERROR,
    );
}

/// `association` without its slot `name`.
fn without_slot(association: &str, name: &str) -> String {
    let start = association
        .find(&format!("<rim:Slot name=\"{name}\">"))
        .unwrap();
    let end = start + association[start..].find("</rim:Slot>").unwrap() + "</rim:Slot>".len();
    format!("{}{}", &association[..start], &association[end..])
}

/// lastUpdateTime of a stored Folder.
trait LastUpdateTime {
    fn last_update_time(&self) -> String;
}

impl LastUpdateTime for StoredObject {
    fn last_update_time(&self) -> String {
        last_update_time(&self.fragment).to_owned()
    }
}

on_both_backends!(
    get_folder_and_contents_at_metadata_level_2_answers_every_folder_version,
    deprecated_association_is_only_answered_when_association_status_asks_for_it,
    folder_update_without_submission_set_status_is_accepted,
    document_update_without_submission_set_status_is_metadata_update_operation_error,
    submit_association_of_an_unknown_type_is_registry_metadata_error,
    folder_update_approves_version_2_and_deprecates_version_1,
    folder_update_propagates_its_memberships_by_default,
    folder_update_without_association_propagation_has_no_members,
    folder_update_of_a_wrong_previous_version_is_metadata_version_error,
    folder_update_without_logical_id_is_metadata_update_error,
    folder_update_of_a_document_entry_logical_id_is_metadata_update_error,
    first_version_submitted_by_update_is_metadata_update_operation_error,
    association_propagation_neither_yes_nor_no_is_metadata_update_operation_error,
    previous_version_not_a_number_is_metadata_update_operation_error,
    document_update_propagates_folder_membership_and_updates_folder_last_update_time,
    document_update_without_association_propagation_leaves_the_folder_unchanged,
    document_update_changing_the_patient_of_a_folder_member_is_patient_id_reconciliation_error,
    document_update_changing_the_patient_of_an_unconnected_document_is_accepted,
    update_availability_status_deprecates_a_folder_and_leaves_its_members,
    update_availability_status_of_a_submission_set_is_metadata_update_operation_error,
    update_availability_status_deprecates_an_association,
    submission_set_cannot_be_updated,
    two_operations_on_one_logical_object_are_metadata_update_operation_error,
    submit_association_adds_a_document_to_a_folder_and_updates_its_last_update_time,
    submit_association_appends_a_document_to_another,
    submit_association_of_a_folder_member_again_is_metadata_update_error,
    submit_association_with_a_deprecated_document_is_metadata_update_error,
    submit_association_between_patients_is_patient_id_reconciliation_error,
    submit_association_of_a_replacement_is_metadata_update_operation_error,
    association_that_is_no_operation_is_metadata_update_operation_error,
);
