//! ITI-42 Register Document Set-b rules (ITI TF-2b 3.42, ITI TF-3 4.1/4.2), run on SQLite
//! always and on PostgreSQL with `--features postgres-tests`.

use registry::code_lists::CodeLists;
use registry::config::DEFAULT_AFFINITY_DOMAIN;
use registry::register::{RegisterContext, register};
use registry::storage::{
    AvailabilityStatus, Database, FolderUpdate, ObjectKind, RegisteredChanges, StoredObject,
    Submission,
};
use schemas::ebrim::{RegistryResponse, ResponseStatus, Severity};

mod support;

use support::database::on_both_backends;
use support::metadata::*;

struct Registry {
    db: Database,
    ctx: RegisterContext,
}

impl Registry {
    /// The ITI-42 endpoint on the fresh database `db`, with the test patient fed.
    async fn new(db: &Database) -> Self {
        let db = db.clone();
        db.upsert_patient(PATIENT_VALUE).await.unwrap();
        let ctx = RegisterContext {
            affinity_domain: DEFAULT_AFFINITY_DOMAIN.to_owned(),
            code_lists: CodeLists::imaging_defaults(),
            accept_unknown_patients: false,
        };
        Registry { db, ctx }
    }

    async fn submit(&self, parts: &[String]) -> RegistryResponse {
        register(&self.db, &self.ctx, &request(parts)).await
    }

    async fn accept(&self, parts: &[String]) {
        let response = self.submit(parts).await;
        assert_eq!(
            response.status,
            ResponseStatus::Success,
            "{:#?}",
            response.errors
        );
        assert!(response.errors.is_empty());
    }

    async fn by_unique_id(&self, unique_id: &str) -> StoredObject {
        let mut found = self
            .db
            .objects_by_unique_id(&[unique_id.to_owned()])
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "{unique_id}");
        found.remove(0)
    }

    async fn stored_objects(&self) -> usize {
        let mine = self.db.get_all_for_patient(PATIENT_VALUE).await.unwrap();
        let other = self
            .db
            .get_all_for_patient(OTHER_PATIENT_VALUE)
            .await
            .unwrap();
        mine.objects.len() + mine.associations.len() + other.objects.len()
    }
}

/// The response failed with an error of `code`, each error of severity Error with a codeContext
/// and a location.
fn assert_refused(response: &RegistryResponse, code: &str) {
    assert_eq!(response.status, ResponseStatus::Failure);
    assert!(
        response.errors.iter().any(|e| e.error_code == code),
        "expected {code}, got {:#?}",
        response.errors
    );
    for e in &response.errors {
        assert_eq!(e.severity, Severity::Error);
        assert!(!e.code_context.is_empty());
        assert!(e.location.as_deref().is_some_and(|l| !l.is_empty()));
    }
}

fn error_with<'a>(response: &'a RegistryResponse, code: &str) -> &'a schemas::ebrim::RegistryError {
    response
        .errors
        .iter()
        .find(|e| e.error_code == code)
        .unwrap_or_else(|| panic!("no {code} in {:#?}", response.errors))
}

async fn minimal_submission_is_registered_as_approved_first_versions(db: &Database) {
    let registry = Registry::new(db).await;
    registry
        .accept(&single_document("1.2.3.1", "1.2.3.100"))
        .await;
    let document = registry.by_unique_id("1.2.3.100").await;
    assert_eq!(document.kind, ObjectKind::DocumentEntry);
    assert_eq!(document.status, AvailabilityStatus::Approved);
    assert_eq!(document.version, 1);
    assert_eq!(document.logical_id, document.entry_uuid);
    assert_eq!(document.hash.as_deref(), Some(HASH));
    assert_eq!(document.size, Some(1));
    let set = registry.by_unique_id("1.2.3.1").await;
    assert_eq!(set.kind, ObjectKind::SubmissionSet);
    assert_eq!(
        document.submission_set.as_deref(),
        Some(set.entry_uuid.as_str())
    );
}

async fn stored_fragment_has_lid_version_and_no_status(db: &Database) {
    let registry = Registry::new(db).await;
    registry
        .accept(&single_document("1.2.3.1", "1.2.3.100"))
        .await;
    let document = registry.by_unique_id("1.2.3.100").await;
    let start = format!(
        "<rim:ExtrinsicObject id=\"{0}\" lid=\"{0}\" objectType=",
        document.entry_uuid
    );
    assert!(
        document.fragment.starts_with(&start),
        "{}",
        document.fragment
    );
    assert!(!document.fragment.contains("status="));
    assert!(
        document
            .fragment
            .contains("<rim:VersionInfo versionName=\"1\"/>")
    );
    let set = registry.by_unique_id("1.2.3.1").await;
    assert!(!set.fragment.contains("status="));
    // The top-level marker is stored inside the SubmissionSet's fragment.
    assert!(
        set.fragment
            .contains("urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd")
    );
}

async fn symbolic_ids_become_uuids(db: &Database) {
    let registry = Registry::new(db).await;
    registry
        .accept(&single_document("1.2.3.1", "1.2.3.100"))
        .await;
    let document = registry.by_unique_id("1.2.3.100").await;
    let set = registry.by_unique_id("1.2.3.1").await;
    for object in [&document, &set] {
        assert!(object.entry_uuid.starts_with("urn:uuid:"));
        assert!(!object.fragment.contains("Document01"));
        assert!(!object.fragment.contains("SubmissionSet01"));
        assert!(!object.fragment.contains("id=\"cl"));
    }
    assert!(
        document
            .fragment
            .contains(&format!("classifiedObject=\"{}\"", document.entry_uuid))
    );
    assert!(
        document
            .fragment
            .contains(&format!("registryObject=\"{}\"", document.entry_uuid))
    );
    let associations = registry
        .db
        .associations_of(std::slice::from_ref(&document.entry_uuid))
        .await
        .unwrap();
    assert_eq!(associations.len(), 1);
    assert_eq!(associations[0].source_uuid, set.entry_uuid);
    assert_eq!(associations[0].target_uuid, document.entry_uuid);
    assert!(associations[0].entry_uuid.starts_with("urn:uuid:"));
    assert!(!associations[0].fragment.contains("as01"));
    assert!(!associations[0].fragment.contains("status="));
}

async fn uuid_ids_are_kept(db: &Database) {
    let registry = Registry::new(db).await;
    let doc = "urn:uuid:0f6e1ad2-0bd5-4c5b-9a6a-4b2b1d0f0a01";
    registry
        .accept(&[
            document(doc, "1.2.3.100", PATIENT),
            submission_set("SubmissionSet01", "1.2.3.1", PATIENT),
            member("as01", "SubmissionSet01", doc, "Original"),
        ])
        .await;
    assert_eq!(registry.by_unique_id("1.2.3.100").await.entry_uuid, doc);
}

async fn metadata_conversion_error_is_registry_metadata_error_located_at_the_object(db: &Database) {
    let registry = Registry::new(db).await;
    let doc = document("Document01", "1.2.3.100", PATIENT);
    let twice_class_code = doc.replace(
        "<rim:Name>",
        "<rim:Classification classificationScheme=\"urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a\" classifiedObject=\"Document01\" id=\"second\" nodeRepresentation=\"REPORTS\"><rim:Slot name=\"codingScheme\"><rim:ValueList><rim:Value>1.3.6.1.4.1.19376.1.2.6.1</rim:Value></rim:ValueList></rim:Slot></rim:Classification><rim:Name>",
    );
    let response = registry
        .submit(&[
            twice_class_code,
            submission_set("SubmissionSet01", "1.2.3.1", PATIENT),
            member("as01", "SubmissionSet01", "Document01", "Original"),
        ])
        .await;
    assert_refused(&response, "XDSRegistryMetadataError");
    let error = error_with(&response, "XDSRegistryMetadataError");
    assert_eq!(error.location.as_deref(), Some("Document01"));
    assert!(
        error.code_context.contains("DocumentEntry.classCode"),
        "{}",
        error.code_context
    );
}

async fn missing_required_document_entry_attribute_is_metadata_error(db: &Database) {
    // NIST 11998a (one per attribute) and 12084 (repositoryUniqueId); ITI TF-3 Table 4.3.1-3.
    let attributes = [
        ("urn:uuid:41a5887f", "classCode"),
        ("urn:uuid:f4f85eac", "confidentialityCode"),
        ("name=\"creationTime\"", "creationTime"),
        ("urn:uuid:a09d5840", "formatCode"),
        ("urn:uuid:f33fb8ac", "healthcareFacilityTypeCode"),
        ("name=\"languageCode\"", "languageCode"),
        ("urn:uuid:cccf5598", "practiceSettingCode"),
        ("name=\"sourcePatientId\"", "sourcePatientId"),
        ("urn:uuid:f0306f51", "typeCode"),
        ("name=\"repositoryUniqueId\"", "repositoryUniqueId"),
        ("name=\"hash\"", "hash"),
        ("name=\"size\"", "size"),
        ("urn:uuid:58a6f841", "patientId"),
    ];
    let registry = Registry::new(db).await;
    for (line, attribute) in attributes {
        let mut parts = single_document("1.2.3.1", "1.2.3.100");
        parts[0] = without(&parts[0], line);
        let response = registry.submit(&parts).await;
        assert_refused(&response, "XDSRegistryMetadataError");
        let error = error_with(&response, "XDSRegistryMetadataError");
        assert!(
            error
                .code_context
                .contains(&format!("DocumentEntry.{attribute}: is required")),
            "{attribute}: {}",
            error.code_context
        );
        assert_eq!(error.location.as_deref(), Some("Document01"));
    }
}

async fn missing_required_submission_set_attribute_is_metadata_error(db: &Database) {
    let attributes = [
        ("urn:uuid:554ac39e", "sourceId"),
        ("name=\"submissionTime\"", "submissionTime"),
        ("urn:uuid:aa543740", "contentTypeCode"),
        ("urn:uuid:6b5aea1a", "patientId"),
    ];
    let registry = Registry::new(db).await;
    for (line, attribute) in attributes {
        let mut parts = single_document("1.2.3.1", "1.2.3.100");
        parts[1] = without(&parts[1], line);
        let response = registry.submit(&parts).await;
        assert_refused(&response, "XDSRegistryMetadataError");
        let error = error_with(&response, "XDSRegistryMetadataError");
        assert!(
            error
                .code_context
                .contains(&format!("SubmissionSet.{attribute}: is required")),
            "{attribute}: {}",
            error.code_context
        );
        assert_eq!(error.location.as_deref(), Some("SubmissionSet01"));
    }
}

async fn folder_without_code_list_is_metadata_error(db: &Database) {
    let registry = Registry::new(db).await;
    let response = registry
        .submit(&[
            without(
                &folder("Folder01", "1.2.3.50", PATIENT),
                "urn:uuid:1ba97051",
            ),
            submission_set("SubmissionSet01", "1.2.3.1", PATIENT),
            member("as01", "SubmissionSet01", "Folder01", "Original"),
        ])
        .await;
    assert_refused(&response, "XDSRegistryMetadataError");
    let error = error_with(&response, "XDSRegistryMetadataError");
    assert!(error.code_context.contains("Folder.codeList: is required"));
    assert_eq!(error.location.as_deref(), Some("Folder01"));
}

async fn malformed_values_are_metadata_errors_and_all_are_reported(db: &Database) {
    let registry = Registry::new(db).await;
    let doc = document("Document01", "1.2.3.100", PATIENT)
        .replace(HASH, "not-a-sha1")
        .replace("<rim:Value>1</rim:Value>", "<rim:Value>one</rim:Value>")
        .replace("20261101093000", "2026-11-01")
        .replace("SRC-1^^^", "SRC-1^^^^^^");
    let response = registry
        .submit(&[
            doc,
            submission_set("SubmissionSet01", "not.an.oid", PATIENT),
            member("as01", "SubmissionSet01", "Document01", "Original"),
        ])
        .await;
    assert_refused(&response, "XDSRegistryMetadataError");
    for attribute in [
        "DocumentEntry.hash",
        "DocumentEntry.size",
        "DocumentEntry.creationTime",
        "DocumentEntry.sourcePatientId",
        "SubmissionSet.uniqueId",
    ] {
        assert!(
            response
                .errors
                .iter()
                .any(|e| e.code_context.contains(attribute)),
            "{attribute} not reported: {:#?}",
            response.errors
        );
    }
}

async fn symbolic_reference_to_no_object_is_unresolved_reference_exception(db: &Database) {
    let registry = Registry::new(db).await;
    let mut parts = single_document("1.2.3.1", "1.2.3.100");
    parts.push(association("as02", APND, "Document01", "Nowhere"));
    let response = registry.submit(&parts).await;
    assert_refused(&response, "UnresolvedReferenceException");
    let error = error_with(&response, "UnresolvedReferenceException");
    assert_eq!(error.location.as_deref(), Some("as02"));
    assert!(error.code_context.contains("Nowhere"));
}

async fn uuid_reference_to_no_registered_object_is_unresolved_reference_exception(db: &Database) {
    let registry = Registry::new(db).await;
    let mut parts = single_document("1.2.3.1", "1.2.3.100");
    parts.push(association(
        "as02",
        RPLC,
        "Document01",
        "urn:uuid:9a1c4ad2-0bd5-4c5b-9a6a-4b2b1d0f0a99",
    ));
    let response = registry.submit(&parts).await;
    assert_refused(&response, "UnresolvedReferenceException");
}

async fn patient_id_of_document_differs_from_submission_set_is_patient_id_does_not_match(
    db: &Database,
) {
    // NIST 11997.
    let registry = Registry::new(db).await;
    let response = registry
        .submit(&[
            document("Document01", "1.2.3.100", OTHER_PATIENT),
            submission_set("SubmissionSet01", "1.2.3.1", PATIENT),
            member("as01", "SubmissionSet01", "Document01", "Original"),
        ])
        .await;
    assert_refused(&response, "XDSPatientIdDoesNotMatch");
    let error = error_with(&response, "XDSPatientIdDoesNotMatch");
    assert_eq!(error.location.as_deref(), Some("Document01"));
}

async fn patient_id_of_folder_differs_from_submission_set_is_patient_id_does_not_match(
    db: &Database,
) {
    let registry = Registry::new(db).await;
    let response = registry
        .submit(&[
            folder("Folder01", "1.2.3.50", OTHER_PATIENT),
            submission_set("SubmissionSet01", "1.2.3.1", PATIENT),
            member("as01", "SubmissionSet01", "Folder01", "Original"),
        ])
        .await;
    assert_refused(&response, "XDSPatientIdDoesNotMatch");
}

async fn unknown_patient_is_unknown_patient_id(db: &Database) {
    // NIST 11996.
    let registry = Registry::new(db).await;
    let response = registry
        .submit(&[
            document("Document01", "1.2.3.100", OTHER_PATIENT),
            submission_set("SubmissionSet01", "1.2.3.1", OTHER_PATIENT),
            member("as01", "SubmissionSet01", "Document01", "Original"),
        ])
        .await;
    assert_refused(&response, "XDSUnknownPatientId");
    assert_eq!(
        error_with(&response, "XDSUnknownPatientId")
            .location
            .as_deref(),
        Some("SubmissionSet01")
    );
}

async fn patient_of_another_assigning_authority_is_unknown_patient_id(db: &Database) {
    let registry = Registry::new(db).await;
    let foreign = "X1^^^&amp;1.2.3.4.5&amp;ISO";
    let response = registry
        .submit(&[
            document("Document01", "1.2.3.100", foreign),
            submission_set("SubmissionSet01", "1.2.3.1", foreign),
            member("as01", "SubmissionSet01", "Document01", "Original"),
        ])
        .await;
    assert_refused(&response, "XDSUnknownPatientId");
    assert!(
        error_with(&response, "XDSUnknownPatientId")
            .code_context
            .contains("not the affinity domain")
    );
}

async fn unknown_patient_is_accepted_when_configured(db: &Database) {
    let mut registry = Registry::new(db).await;
    registry.ctx.accept_unknown_patients = true;
    registry
        .accept(&[
            document("Document01", "1.2.3.100", OTHER_PATIENT),
            submission_set("SubmissionSet01", "1.2.3.1", OTHER_PATIENT),
            member("as01", "SubmissionSet01", "Document01", "Original"),
        ])
        .await;
}

async fn unique_id_twice_in_one_submission_is_registry_duplicate_unique_id_in_message(
    db: &Database,
) {
    let registry = Registry::new(db).await;
    let response = registry
        .submit(&[
            document("Document01", "1.2.3.100", PATIENT),
            document("Document02", "1.2.3.100", PATIENT),
            submission_set("SubmissionSet01", "1.2.3.1", PATIENT),
            member("as01", "SubmissionSet01", "Document01", "Original"),
            member("as02", "SubmissionSet01", "Document02", "Original"),
        ])
        .await;
    assert_refused(&response, "XDSRegistryDuplicateUniqueIdInMessage");
    let error = error_with(&response, "XDSRegistryDuplicateUniqueIdInMessage");
    assert!(error.code_context.contains("1.2.3.100"));
}

async fn registered_submission_set_unique_id_is_duplicate_unique_id_in_registry(db: &Database) {
    let registry = Registry::new(db).await;
    registry
        .accept(&single_document("1.2.3.1", "1.2.3.100"))
        .await;
    let response = registry
        .submit(&single_document("1.2.3.1", "1.2.3.101"))
        .await;
    assert_refused(&response, "XDSDuplicateUniqueIdInRegistry");
    assert_eq!(
        error_with(&response, "XDSDuplicateUniqueIdInRegistry")
            .location
            .as_deref(),
        Some("SubmissionSet01")
    );
}

async fn duplicate_unique_id_with_different_hash_is_non_identical_hash(db: &Database) {
    // NIST 12004 resubmit_doc_diff_hash.
    let registry = Registry::new(db).await;
    registry
        .accept(&single_document("1.2.3.1", "1.2.3.100"))
        .await;
    let mut parts = single_document("1.2.3.2", "1.2.3.100");
    parts[0] = parts[0].replace(HASH, "0000000000000000000000000000000000000000");
    let response = registry.submit(&parts).await;
    assert_refused(&response, "XDSNonIdenticalHash");
    assert!(
        error_with(&response, "XDSNonIdenticalHash")
            .code_context
            .contains("1.2.3.100")
    );
}

async fn duplicate_unique_id_with_different_size_is_non_identical_size(db: &Database) {
    let registry = Registry::new(db).await;
    registry
        .accept(&single_document("1.2.3.1", "1.2.3.100"))
        .await;
    let mut parts = single_document("1.2.3.2", "1.2.3.100");
    parts[0] = parts[0].replace("<rim:Value>1</rim:Value>", "<rim:Value>2</rim:Value>");
    let response = registry.submit(&parts).await;
    assert_refused(&response, "XDSNonIdenticalSize");
}

/// NIST 12004 resubmit_doc: a DocumentEntry of a registered uniqueId with identical hash and size
/// is accepted and registered as a DocumentEntry of its own; both are found by the uniqueId.
async fn identical_resubmission_is_registered_as_another_document_entry_with_the_unique_id(
    db: &Database,
) {
    let registry = Registry::new(db).await;
    registry
        .accept(&single_document("1.2.3.1", "1.2.3.100"))
        .await;
    let mut resubmission = single_document("1.2.3.2", "1.2.3.100");
    resubmission[0] = resubmission[0].replace(HASH, &HASH.to_uppercase());
    registry.accept(&resubmission).await;
    let copies = db
        .objects_by_unique_id(&["1.2.3.100".to_owned()])
        .await
        .unwrap();
    assert_eq!(copies.len(), 2, "{copies:#?}");
    assert_ne!(copies[0].entry_uuid, copies[1].entry_uuid);
    assert_ne!(copies[0].submission_set, copies[1].submission_set);
    for copy in &copies {
        assert_eq!(copy.kind, ObjectKind::DocumentEntry);
        assert_eq!(copy.status, AvailabilityStatus::Approved);
        assert_eq!(copy.logical_id, copy.entry_uuid);
        assert_eq!(copy.version, 1);
    }
}

async fn registered_entry_uuid_submitted_again_is_metadata_error(db: &Database) {
    let registry = Registry::new(db).await;
    let doc = "urn:uuid:0f6e1ad2-0bd5-4c5b-9a6a-4b2b1d0f0a01";
    let parts = |ss_uid: &str, doc_uid: &str| {
        vec![
            document(doc, doc_uid, PATIENT),
            submission_set("SubmissionSet01", ss_uid, PATIENT),
            member("as01", "SubmissionSet01", doc, "Original"),
        ]
    };
    registry.accept(&parts("1.2.3.1", "1.2.3.100")).await;
    let response = registry.submit(&parts("1.2.3.2", "1.2.3.101")).await;
    assert_refused(&response, "XDSRegistryMetadataError");
    assert!(
        error_with(&response, "XDSRegistryMetadataError")
            .code_context
            .contains("already registered")
    );
}

async fn code_not_in_affinity_domain_list_is_metadata_error(db: &Database) {
    let registry = Registry::new(db).await;
    let mut parts = single_document("1.2.3.1", "1.2.3.100");
    parts[0] = parts[0].replace(
        "nodeRepresentation=\"IMAGES\"",
        "nodeRepresentation=\"SELFIES\"",
    );
    let response = registry.submit(&parts).await;
    assert_refused(&response, "XDSRegistryMetadataError");
    let error = error_with(&response, "XDSRegistryMetadataError");
    assert!(error.code_context.contains("DocumentEntry.classCode"));
    assert!(error.code_context.contains("SELFIES"));
}

async fn document_not_member_of_submission_set_is_metadata_error(db: &Database) {
    let registry = Registry::new(db).await;
    let response = registry
        .submit(&[
            document("Document01", "1.2.3.100", PATIENT),
            submission_set("SubmissionSet01", "1.2.3.1", PATIENT),
        ])
        .await;
    assert_refused(&response, "XDSRegistryMetadataError");
    let error = error_with(&response, "XDSRegistryMetadataError");
    assert_eq!(error.location.as_deref(), Some("Document01"));
    assert!(error.code_context.contains("HasMember"));
}

async fn has_member_of_new_document_without_original_status_is_metadata_error(db: &Database) {
    let registry = Registry::new(db).await;
    let mut parts = single_document("1.2.3.1", "1.2.3.100");
    parts[2] = member("as01", "SubmissionSet01", "Document01", "Reference");
    let response = registry.submit(&parts).await;
    assert_refused(&response, "XDSRegistryMetadataError");
    assert!(
        error_with(&response, "XDSRegistryMetadataError")
            .code_context
            .contains("SubmissionSetStatus")
    );
}

async fn failed_submission_leaves_nothing_behind(db: &Database) {
    // NIST 12084: two documents, one without repositoryUniqueId.
    let registry = Registry::new(db).await;
    let response = registry
        .submit(&[
            document("Document01", "1.2.3.100", PATIENT),
            without(
                &document("Document02", "1.2.3.101", PATIENT),
                "name=\"repositoryUniqueId\"",
            ),
            submission_set("SubmissionSet01", "1.2.3.1", PATIENT),
            member("as01", "SubmissionSet01", "Document01", "Original"),
            member("as02", "SubmissionSet01", "Document02", "Original"),
        ])
        .await;
    assert_refused(&response, "XDSRegistryMetadataError");
    assert_eq!(registry.stored_objects().await, 0);
}

/// Registers document `uid` in its own submission and returns its entryUUID.
async fn registered_document(registry: &Registry, ss_uid: &str, uid: &str) -> String {
    registry.accept(&single_document(ss_uid, uid)).await;
    registry.by_unique_id(uid).await.entry_uuid
}

/// A submission whose new document `uid` has `kind` to the registered `target`.
fn related_document(ss_uid: &str, uid: &str, kind: &str, target: &str) -> Vec<String> {
    let mut parts = single_document(ss_uid, uid);
    parts.push(association("as02", kind, "Document01", target));
    parts
}

async fn rplc_deprecates_the_replaced_document(db: &Database) {
    // NIST 11992.
    let registry = Registry::new(db).await;
    let original = registered_document(&registry, "1.2.3.1", "1.2.3.100").await;
    registry
        .accept(&related_document("1.2.3.2", "1.2.3.101", RPLC, &original))
        .await;
    assert_eq!(
        registry.by_unique_id("1.2.3.100").await.status,
        AvailabilityStatus::Deprecated
    );
    let replacement = registry.by_unique_id("1.2.3.101").await;
    assert_eq!(replacement.status, AvailabilityStatus::Approved);
    let relations = registry.db.associations_of(&[original]).await.unwrap();
    assert!(
        relations
            .iter()
            .any(|a| a.association_type == RPLC && a.source_uuid == replacement.entry_uuid)
    );
}

async fn replace_of_deprecated_target_is_registry_deprecated_document_error(db: &Database) {
    // NIST 11993 / 11994: relating to a replaced (Deprecated) entry fails; XDSReplaceFailed is
    // no longer in ITI TF-3 Table 4.2.4.1-2.
    let registry = Registry::new(db).await;
    let original = registered_document(&registry, "1.2.3.1", "1.2.3.100").await;
    registry
        .accept(&related_document("1.2.3.2", "1.2.3.101", RPLC, &original))
        .await;
    for (i, kind) in [RPLC, APND, XFRM].into_iter().enumerate() {
        let response = registry
            .submit(&related_document(
                &format!("1.2.3.3{i}"),
                &format!("1.2.3.10{}", i + 2),
                kind,
                &original,
            ))
            .await;
        assert_refused(&response, "XDSRegistryDeprecatedDocumentError");
        assert_eq!(
            error_with(&response, "XDSRegistryDeprecatedDocumentError")
                .location
                .as_deref(),
            Some("as02")
        );
    }
}

async fn replace_of_another_patients_document_is_patient_id_does_not_match(db: &Database) {
    // NIST 11998.
    let mut registry = Registry::new(db).await;
    registry.ctx.accept_unknown_patients = true;
    let original = registered_document(&registry, "1.2.3.1", "1.2.3.100").await;
    let parts = vec![
        document("Document01", "1.2.3.101", OTHER_PATIENT),
        submission_set("SubmissionSet01", "1.2.3.2", OTHER_PATIENT),
        member("as01", "SubmissionSet01", "Document01", "Original"),
        association("as02", RPLC, "Document01", &original),
    ];
    let response = registry.submit(&parts).await;
    assert_refused(&response, "XDSPatientIdDoesNotMatch");
    assert_eq!(
        registry.by_unique_id("1.2.3.100").await.status,
        AvailabilityStatus::Approved
    );
}

async fn append_keeps_the_original_approved(db: &Database) {
    // NIST 11993 validate_original.
    let registry = Registry::new(db).await;
    let original = registered_document(&registry, "1.2.3.1", "1.2.3.100").await;
    registry
        .accept(&related_document("1.2.3.2", "1.2.3.101", APND, &original))
        .await;
    assert_eq!(
        registry.by_unique_id("1.2.3.100").await.status,
        AvailabilityStatus::Approved
    );
}

async fn rplc_deprecates_the_transformations_of_the_replaced_document(db: &Database) {
    let registry = Registry::new(db).await;
    let original = registered_document(&registry, "1.2.3.1", "1.2.3.100").await;
    registry
        .accept(&related_document("1.2.3.2", "1.2.3.101", XFRM, &original))
        .await;
    registry
        .accept(&related_document("1.2.3.3", "1.2.3.102", RPLC, &original))
        .await;
    assert_eq!(
        registry.by_unique_id("1.2.3.101").await.status,
        AvailabilityStatus::Deprecated
    );
}

/// A submission creating Folder `folder_uid` that holds document `doc_uid`.
fn folder_with_document(ss_uid: &str, folder_uid: &str, doc_uid: &str) -> Vec<String> {
    vec![
        document("Document01", doc_uid, PATIENT),
        folder("Folder01", folder_uid, PATIENT),
        submission_set("SubmissionSet01", ss_uid, PATIENT),
        member("as01", "SubmissionSet01", "Document01", "Original"),
        member("as02", "SubmissionSet01", "Folder01", "Original"),
        association("as03", HAS_MEMBER, "Folder01", "Document01"),
        member("as04", "SubmissionSet01", "as03", "Original"),
    ]
}

fn last_update_time(fragment: &str) -> &str {
    let slot = fragment.find("name=\"lastUpdateTime\"").unwrap();
    let open = slot + fragment[slot..].find("<rim:Value>").unwrap() + "<rim:Value>".len();
    let close = open + fragment[open..].find("</rim:Value>").unwrap();
    &fragment[open..close]
}

async fn new_folder_gets_last_update_time(db: &Database) {
    // NIST 12000.
    let registry = Registry::new(db).await;
    registry
        .accept(&folder_with_document("1.2.3.1", "1.2.3.50", "1.2.3.100"))
        .await;
    let folder = registry.by_unique_id("1.2.3.50").await;
    assert_eq!(folder.kind, ObjectKind::Folder);
    let time = last_update_time(&folder.fragment);
    assert_eq!(time.len(), 14);
    assert!(time.bytes().all(|b| b.is_ascii_digit()));
    assert!(
        folder
            .fragment
            .contains("urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2")
    );
}

async fn adding_a_document_to_a_registered_folder_updates_its_last_update_time(db: &Database) {
    // NIST 12001.
    let registry = Registry::new(db).await;
    registry
        .accept(&folder_with_document("1.2.3.1", "1.2.3.50", "1.2.3.100"))
        .await;
    let folder = registry.by_unique_id("1.2.3.50").await;
    let stale = folder
        .fragment
        .replace(last_update_time(&folder.fragment), "20000101000000");
    // Age the stored time so that the update is visible within the same second.
    let aged = RegisteredChanges {
        folder_updates: vec![FolderUpdate {
            entry_uuid: folder.entry_uuid.clone(),
            last_update_time: "20000101000000".to_owned(),
            fragment: stale.clone(),
        }],
        ..RegisteredChanges::default()
    };
    registry
        .db
        .register_with_changes(&Submission::default(), &aged)
        .await
        .unwrap();
    assert_eq!(
        last_update_time(&registry.by_unique_id("1.2.3.50").await.fragment),
        "20000101000000"
    );
    let mut parts = single_document("1.2.3.2", "1.2.3.101");
    parts.push(association(
        "as03",
        HAS_MEMBER,
        &folder.entry_uuid,
        "Document01",
    ));
    parts.push(member("as04", "SubmissionSet01", "as03", "Original"));
    registry.accept(&parts).await;
    let updated = registry.by_unique_id("1.2.3.50").await;
    assert_ne!(
        last_update_time(&updated.fragment),
        last_update_time(&stale)
    );
    let members = registry
        .db
        .associations_of(std::slice::from_ref(&folder.entry_uuid))
        .await
        .unwrap();
    assert_eq!(
        members
            .iter()
            .filter(|a| a.association_type == HAS_MEMBER)
            .count(),
        3
    );
}

async fn adding_another_patients_document_to_a_folder_is_patient_id_does_not_match(db: &Database) {
    // NIST 12002.
    let mut registry = Registry::new(db).await;
    registry.ctx.accept_unknown_patients = true;
    registry
        .accept(&folder_with_document("1.2.3.1", "1.2.3.50", "1.2.3.100"))
        .await;
    let folder = registry.by_unique_id("1.2.3.50").await;
    let response = registry
        .submit(&[
            document("Document01", "1.2.3.101", OTHER_PATIENT),
            submission_set("SubmissionSet01", "1.2.3.2", OTHER_PATIENT),
            member("as01", "SubmissionSet01", "Document01", "Original"),
            association("as03", HAS_MEMBER, &folder.entry_uuid, "Document01"),
        ])
        .await;
    assert_refused(&response, "XDSPatientIdDoesNotMatch");
}

async fn replacement_joins_the_folders_of_the_replaced_document(db: &Database) {
    let registry = Registry::new(db).await;
    registry
        .accept(&folder_with_document("1.2.3.1", "1.2.3.50", "1.2.3.100"))
        .await;
    let folder = registry.by_unique_id("1.2.3.50").await;
    let original = registry.by_unique_id("1.2.3.100").await.entry_uuid;
    registry
        .accept(&related_document("1.2.3.2", "1.2.3.101", RPLC, &original))
        .await;
    let replacement = registry.by_unique_id("1.2.3.101").await.entry_uuid;
    let members = registry
        .db
        .associations_of(std::slice::from_ref(&folder.entry_uuid))
        .await
        .unwrap();
    assert!(
        members.iter().any(|a| a.association_type == HAS_MEMBER
            && a.source_uuid == folder.entry_uuid
            && a.target_uuid == replacement),
        "{members:#?}"
    );
}

async fn author_person_without_id_or_name_is_metadata_error(db: &Database) {
    let registry = Registry::new(db).await;
    let mut parts = single_document("1.2.3.1", "1.2.3.100");
    parts[0] = parts[0].replace("^Welby^Marcus^^^Dr", "^^^^^Dr");
    let response = registry.submit(&parts).await;
    assert_refused(&response, "XDSRegistryMetadataError");
    assert!(
        error_with(&response, "XDSRegistryMetadataError")
            .code_context
            .contains("DocumentEntry.author.authorPerson")
    );
}

async fn metadata_update_association_type_is_metadata_error(db: &Database) {
    let registry = Registry::new(db).await;
    let original = registered_document(&registry, "1.2.3.1", "1.2.3.100").await;
    let response = registry
        .submit(&related_document(
            "1.2.3.2",
            "1.2.3.101",
            "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus",
            &original,
        ))
        .await;
    assert_refused(&response, "XDSRegistryMetadataError");
    assert_eq!(
        error_with(&response, "XDSRegistryMetadataError")
            .location
            .as_deref(),
        Some("as02")
    );
}

async fn logical_id_other_than_entry_uuid_is_metadata_error(db: &Database) {
    let registry = Registry::new(db).await;
    let mut parts = single_document("1.2.3.1", "1.2.3.100");
    parts[0] = parts[0].replace(
        "<rim:ExtrinsicObject id=\"Document01\"",
        "<rim:ExtrinsicObject id=\"Document01\" lid=\"urn:uuid:0f6e1ad2-0bd5-4c5b-9a6a-4b2b1d0f0a01\"",
    );
    let response = registry.submit(&parts).await;
    assert_refused(&response, "XDSRegistryMetadataError");
    assert!(
        error_with(&response, "XDSRegistryMetadataError")
            .code_context
            .contains("logicalID")
    );
}

on_both_backends!(
    minimal_submission_is_registered_as_approved_first_versions,
    stored_fragment_has_lid_version_and_no_status,
    symbolic_ids_become_uuids,
    uuid_ids_are_kept,
    metadata_conversion_error_is_registry_metadata_error_located_at_the_object,
    missing_required_document_entry_attribute_is_metadata_error,
    missing_required_submission_set_attribute_is_metadata_error,
    folder_without_code_list_is_metadata_error,
    malformed_values_are_metadata_errors_and_all_are_reported,
    symbolic_reference_to_no_object_is_unresolved_reference_exception,
    uuid_reference_to_no_registered_object_is_unresolved_reference_exception,
    patient_id_of_document_differs_from_submission_set_is_patient_id_does_not_match,
    patient_id_of_folder_differs_from_submission_set_is_patient_id_does_not_match,
    unknown_patient_is_unknown_patient_id,
    patient_of_another_assigning_authority_is_unknown_patient_id,
    unknown_patient_is_accepted_when_configured,
    unique_id_twice_in_one_submission_is_registry_duplicate_unique_id_in_message,
    registered_submission_set_unique_id_is_duplicate_unique_id_in_registry,
    duplicate_unique_id_with_different_hash_is_non_identical_hash,
    duplicate_unique_id_with_different_size_is_non_identical_size,
    identical_resubmission_is_registered_as_another_document_entry_with_the_unique_id,
    registered_entry_uuid_submitted_again_is_metadata_error,
    code_not_in_affinity_domain_list_is_metadata_error,
    document_not_member_of_submission_set_is_metadata_error,
    has_member_of_new_document_without_original_status_is_metadata_error,
    failed_submission_leaves_nothing_behind,
    rplc_deprecates_the_replaced_document,
    replace_of_deprecated_target_is_registry_deprecated_document_error,
    replace_of_another_patients_document_is_patient_id_does_not_match,
    append_keeps_the_original_approved,
    rplc_deprecates_the_transformations_of_the_replaced_document,
    new_folder_gets_last_update_time,
    adding_a_document_to_a_registered_folder_updates_its_last_update_time,
    adding_another_patients_document_to_a_folder_is_patient_id_does_not_match,
    replacement_joins_the_folders_of_the_replaced_document,
    author_person_without_id_or_name_is_metadata_error,
    metadata_update_association_type_is_metadata_error,
    logical_id_other_than_entry_uuid_is_metadata_error,
);
