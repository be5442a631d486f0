//! ITI-57 Update Document Set (IHE ITI TF-2b 3.57, Metadata Update): the Document Registry
//! applies metadata updates submitted as a SubmitObjectsRequest, all in one transaction or not
//! at all.
//!
//! Operations supported:
//! - DocumentEntry metadata update (ITI TF-2b 3.57.4.1.3.3.1): a new version of a registered
//!   DocumentEntry (same logicalID, new entryUUID) that the SubmissionSet holds through a
//!   HasMember Association with a PreviousVersion slot. It becomes Approved with
//!   version = previous + 1 and the previous version becomes Deprecated.
//! - UpdateAvailabilityStatus (ITI TF-2b 3.57.4.1.3.3.2): an Association from the SubmissionSet
//!   to a registered object with OriginalStatus / NewStatus slots, Approved ↔ Deprecated.
//!
//! Not supported (refused with XDSMetadataUpdateOperationError): Folder and SubmissionSet
//! metadata updates, SubmitAssociation, new DocumentEntries without PreviousVersion and any
//! other Association.

use std::collections::HashMap;

use schemas::constants::error_code;
use schemas::ebrim::{RegistryResponse, ResponseStatus, SubmitObjectsRequest, VersionInfo};
use schemas::xds::{Association, AssociationType, DocumentEntry, Submission};

use crate::register::RegisterContext;
use crate::register::ids::IdMap;
use crate::register::issue::Issue;
use crate::register::{known_patient, rows, storage_issue, validate};
use crate::storage::{
    AvailabilityStatus, Database, RegisteredChanges, StatusChange, StorageError, StoredObject,
};

/// Prefix of the ebRIM availability status URNs in OriginalStatus / NewStatus.
const STATUS_URN_PREFIX: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:";

/// ITI-57 Update Document Set: Success, or Failure listing every error found, in which case
/// nothing was changed.
#[tracing::instrument(name = "ITI-57", skip_all, fields(objects = request.objects.objects.len()))]
pub async fn update_document_set(
    db: &Database,
    ctx: &RegisterContext,
    request: &SubmitObjectsRequest,
) -> RegistryResponse {
    let (status, issues) = match apply_update(db, ctx, request).await {
        Ok(submission_set) => {
            tracing::info!(submission_set, "metadata updated");
            (ResponseStatus::Success, Vec::new())
        }
        Err(issues) => {
            tracing::info!(
                errors = issues.len(),
                first = issues.first().map(|i| i.error_code),
                "update refused"
            );
            (ResponseStatus::Failure, issues)
        }
    };
    RegistryResponse {
        status,
        request_id: None,
        response_slots: Vec::new(),
        errors: issues.into_iter().map(Issue::into_registry_error).collect(),
    }
}

/// A new version of a registered DocumentEntry, checked against the registry.
struct NewVersion {
    /// entryUUID of the new version.
    entry_uuid: String,
    /// Its logicalID (that of the registered object).
    logical_id: String,
    /// Its version number.
    version: i32,
    /// entryUUID of the Approved version it replaces.
    previous: String,
}

/// Applies `request`; returns the SubmissionSet's entryUUID, or every issue found.
async fn apply_update(
    db: &Database,
    ctx: &RegisterContext,
    request: &SubmitObjectsRequest,
) -> Result<String, Vec<Issue>> {
    let mut issues = Vec::new();
    let (ids, list) = IdMap::rewrite(&request.objects, &mut issues);
    let mut submission = match Submission::from_object_list(&list) {
        Ok(submission) => submission,
        Err(error) => {
            let location = ids.original(&error.object_id).to_owned();
            issues.push(Issue::from_metadata_error(&error, &location));
            return Err(issues);
        }
    };
    issues.extend(validate::check(
        &submission,
        &ids,
        ctx,
        validate::Versions::NewVersionsAllowed,
    ));
    if let Err(e) = known_patient(db, ctx, &submission, &ids, &mut issues).await {
        issues.push(storage_issue(&e, &ids, &submission));
    }
    let ss_uuid = submission.submission_set.entry_uuid.clone();
    for folder in &submission.folders {
        issues.push(Issue::new(
            error_code::XDS_METADATA_UPDATE_OPERATION_ERROR,
            ids.original(&folder.entry_uuid),
            format!(
                "{}: Folder submissions are not supported by this registry's Update Document Set",
                ids.original(&folder.entry_uuid)
            ),
        ));
    }
    let mut versions = Vec::new();
    for de in &submission.document_entries {
        let location = ids.original(&de.entry_uuid);
        match new_version(db, de, &ss_uuid, &submission.associations, location).await {
            Ok(Ok(version)) => versions.push(version),
            Ok(Err(issue)) => issues.push(issue),
            Err(e) => issues.push(update_storage_issue(&e, location)),
        }
    }
    let mut status_changes = Vec::new();
    for association in &submission.associations {
        let location = ids.original(&association.entry_uuid);
        match association.association_type {
            AssociationType::UpdateAvailabilityStatus => {
                match status_change(db, association, &ss_uuid, location).await {
                    Ok(Ok(change)) => status_changes.push(change),
                    Ok(Err(issue)) => issues.push(issue),
                    Err(e) => issues.push(update_storage_issue(&e, location)),
                }
            }
            AssociationType::HasMember
                if association.source == ss_uuid
                    && submission
                        .document_entries
                        .iter()
                        .any(|d| d.entry_uuid == association.target) => {}
            ref other => issues.push(Issue::new(
                error_code::XDS_METADATA_UPDATE_OPERATION_ERROR,
                location,
                format!(
                    "{location}: Association {} from {} to {} is not a supported update operation",
                    other.urn(),
                    association.source,
                    association.target
                ),
            )),
        }
    }
    if !issues.is_empty() {
        return Err(issues);
    }

    let now = rows::utc_now_dtm();
    rows::assign_registry_values(&mut submission, &now);
    let by_uuid: HashMap<&str, &NewVersion> = versions
        .iter()
        .map(|v| (v.entry_uuid.as_str(), v))
        .collect();
    for de in &mut submission.document_entries {
        if let Some(version) = by_uuid.get(de.entry_uuid.as_str()) {
            de.logical_id = Some(version.logical_id.clone());
            de.version = Some(VersionInfo {
                version_name: Some(version.version.to_string()),
                comment: None,
            });
        }
    }
    let mut builder = rows::RowBuilder::new(&ss_uuid);
    builder.submission(&submission);
    for object in &mut builder.rows.objects {
        if let Some(version) = by_uuid.get(object.entry_uuid.as_str()) {
            object.logical_id.clone_from(&version.logical_id);
            object.version = version.version;
        }
    }
    let changes = RegisteredChanges {
        deprecate: versions.iter().map(|v| v.previous.clone()).collect(),
        status_changes,
        ..RegisteredChanges::default()
    };
    db.register_with_changes(&builder.rows, &changes)
        .await
        .map_err(|e| {
            let location = ids.original(&ss_uuid).to_owned();
            vec![update_storage_issue(&e, &location)]
        })?;
    Ok(ss_uuid)
}

/// ITI TF-2b 3.57.4.1.3.3.1: the DocumentEntry `de` is a new version of a registered one,
/// announced by a HasMember from the SubmissionSet with a PreviousVersion slot that names the
/// Approved version's number; the uniqueId and patientId stay those of that version.
async fn new_version(
    db: &Database,
    de: &DocumentEntry,
    ss_uuid: &str,
    associations: &[Association],
    location: &str,
) -> Result<Result<NewVersion, Issue>, StorageError> {
    let refuse = |code: &'static str, rule: String| {
        Issue::new(code, location, format!("{location}: {rule}"))
    };
    let announced = associations.iter().find(|a| {
        a.association_type == AssociationType::HasMember
            && a.source == ss_uuid
            && a.target == de.entry_uuid
    });
    let Some(previous_version) = announced.and_then(|a| a.previous_version.as_deref()) else {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_UPDATE_OPERATION_ERROR,
            "a DocumentEntry of an update must be a new version announced by a SubmissionSet HasMember with a PreviousVersion slot".to_owned(),
        )));
    };
    let logical_id = match de.logical_id.as_deref() {
        Some(lid) if lid != de.entry_uuid => lid.to_owned(),
        _ => {
            return Ok(Err(refuse(
                error_code::XDS_METADATA_UPDATE_ERROR,
                "a new version must carry the logicalID (lid) of the registered DocumentEntry, distinct from its entryUUID".to_owned(),
            )));
        }
    };
    let registered = db.versions_of(&logical_id).await?;
    let Some(latest) = registered.last() else {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_UPDATE_ERROR,
            format!("logicalID {logical_id} names no registered object"),
        )));
    };
    let approved: Option<&StoredObject> = registered
        .iter()
        .rev()
        .find(|o| o.status == AvailabilityStatus::Approved);
    let Some(approved) = approved.filter(|a| a.version.to_string() == previous_version.trim())
    else {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_VERSION_ERROR,
            format!(
                "PreviousVersion {previous_version:?} is not the version of the Approved DocumentEntry of logicalID {logical_id} ({})",
                approved.map_or_else(|| "none is Approved".to_owned(), |a| a.version.to_string())
            ),
        )));
    };
    if de.unique_id.value != approved.unique_id {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_IDENTIFIER_ERROR,
            format!(
                "uniqueId {:?} differs from {:?} of the previous version",
                de.unique_id.value, approved.unique_id
            ),
        )));
    }
    let patient = de.patient_id.as_ref().map(|p| p.value.as_str());
    if patient != Some(approved.patient_id.as_str()) {
        return Ok(Err(refuse(
            error_code::XDS_PATIENT_ID_RECONCILIATION_ERROR,
            format!(
                "patientId {:?} differs from {:?} of the previous version",
                patient.unwrap_or(""),
                approved.patient_id
            ),
        )));
    }
    Ok(Ok(NewVersion {
        entry_uuid: de.entry_uuid.clone(),
        logical_id,
        version: latest.version + 1,
        previous: approved.entry_uuid.clone(),
    }))
}

/// An OriginalStatus / NewStatus slot value as a storage status (Approved or Deprecated).
fn status_of(urn: Option<&str>) -> Option<AvailabilityStatus> {
    let name = urn?.trim();
    let name = name.strip_prefix(STATUS_URN_PREFIX).unwrap_or(name);
    match name {
        "Approved" => Some(AvailabilityStatus::Approved),
        "Deprecated" => Some(AvailabilityStatus::Deprecated),
        _ => None,
    }
}

/// ITI TF-2b 3.57.4.1.3.3.2: an UpdateAvailabilityStatus Association from the SubmissionSet to
/// the latest version of a registered object whose status is OriginalStatus; NewStatus is the
/// other of Approved and Deprecated.
async fn status_change(
    db: &Database,
    association: &Association,
    ss_uuid: &str,
    location: &str,
) -> Result<Result<StatusChange, Issue>, StorageError> {
    let refuse = |rule: String| {
        Issue::new(
            error_code::XDS_METADATA_UPDATE_ERROR,
            location,
            format!("{location}: {rule}"),
        )
    };
    if association.source != ss_uuid {
        return Ok(Err(refuse(format!(
            "UpdateAvailabilityStatus source {} is not the SubmissionSet",
            association.source
        ))));
    }
    let from = status_of(association.original_status.as_deref());
    let to = status_of(association.new_status.as_deref());
    let (Some(from), Some(to)) = (from, to) else {
        return Ok(Err(refuse(format!(
            "OriginalStatus {:?} and NewStatus {:?} must each be Approved or Deprecated",
            association.original_status.as_deref().unwrap_or(""),
            association.new_status.as_deref().unwrap_or("")
        ))));
    };
    if from == to {
        return Ok(Err(refuse(format!(
            "NewStatus equals OriginalStatus ({from})"
        ))));
    }
    let target = db
        .objects_by_uuid(std::slice::from_ref(&association.target))
        .await?
        .into_iter()
        .next();
    let Some(target) = target else {
        return Ok(Err(refuse(format!(
            "target {} is not a registered object",
            association.target
        ))));
    };
    if target.status != from {
        return Ok(Err(refuse(format!(
            "target {} is {}, not OriginalStatus {from}",
            target.entry_uuid, target.status
        ))));
    }
    let newest = db.versions_of(&target.logical_id).await?;
    if newest.last().is_some_and(|o| o.version > target.version) {
        return Ok(Err(refuse(format!(
            "target {} is not the latest version of logicalID {}",
            target.entry_uuid, target.logical_id
        ))));
    }
    Ok(Ok(StatusChange {
        entry_uuid: target.entry_uuid,
        from,
        to,
    }))
}

/// The issue a storage failure of an update is reported as: a registered object changed
/// meanwhile is XDSMetadataUpdateError / XDSMetadataVersionError.
fn update_storage_issue(error: &StorageError, location: &str) -> Issue {
    match error {
        StorageError::StatusMismatch { entry_uuid, .. } | StorageError::NotFound { entry_uuid } => {
            Issue::new(
                error_code::XDS_METADATA_UPDATE_ERROR,
                location,
                format!("{entry_uuid} changed status meanwhile"),
            )
        }
        StorageError::DuplicateVersion {
            logical_id,
            version,
        } => Issue::new(
            error_code::XDS_METADATA_VERSION_ERROR,
            location,
            format!("version {version} of logicalID {logical_id} was registered meanwhile"),
        ),
        StorageError::DuplicateUniqueId { unique_id } => Issue::new(
            error_code::XDS_DUPLICATE_UNIQUE_ID_IN_REGISTRY,
            location,
            format!("uniqueId {unique_id:?} is held by another object"),
        ),
        StorageError::DuplicateEntryUuid { entry_uuid } => Issue::metadata(
            location,
            "entryUUID",
            format!("{entry_uuid} is already registered"),
        ),
        other => Issue::new(
            error_code::XDS_REGISTRY_ERROR,
            location,
            format!("registry storage failed: {other}"),
        ),
    }
}
