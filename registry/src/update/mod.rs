//! ITI-57 Update Document Set (IHE ITI TF-2b 3.57, Metadata Update): the Document Registry
//! applies metadata updates submitted as a SubmitObjectsRequest, all in one transaction or not
//! at all. The SubmissionSet is always new: a SubmissionSet is never updated.
//!
//! Operations (ITI TF-2b 3.57.4.1.3.3), each on its own logical object (two operations on one
//! logical object are XDSMetadataUpdateOperationError):
//! - DocumentEntry / Folder metadata update ([`versions`]): a new version (same logicalID, new
//!   entryUUID) held by a SubmissionSet HasMember with a PreviousVersion slot naming the Approved
//!   version. It becomes Approved with version = latest + 1 and the previous version becomes
//!   Deprecated; unless AssociationPropagation is `no`, the previous version's Folder
//!   memberships (of a DocumentEntry, whose Folders get lastUpdateTime = now) or members (of a
//!   Folder) are given to the new version.
//! - UpdateAvailabilityStatus of a DocumentEntry, Folder or Association ([`associations`]),
//!   Approved <-> Deprecated.
//! - Submit Association ([`associations`]): a new Association between registered objects held by
//!   a SubmissionSet SubmitAssociation; a DocumentEntry added to a Folder updates the Folder's
//!   lastUpdateTime.
//!
//! Anything else (a first version, a SubmissionSet update, another Association) is refused with
//! XDSMetadataUpdateOperationError.

mod associations;
mod versions;

use std::collections::{HashMap, HashSet};

use schemas::constants::error_code;
use schemas::ebrim::{RegistryResponse, ResponseStatus, SubmitObjectsRequest, VersionInfo};
use schemas::xds::{Association, AssociationType};

use crate::register::RegisterContext;
use crate::register::ids::{self, IdMap};
use crate::register::issue::Issue;
use crate::register::{folder_update, known_patient, rows, storage_issue, validate};
use crate::storage::{Database, ObjectKind, RegisteredChanges, StatusChange, StorageError};

use associations::StatusTarget;
use versions::{NewVersion, Trigger};

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

/// Applies `request`; returns the SubmissionSet's entryUUID, or every issue found.
async fn apply_update(
    db: &Database,
    ctx: &RegisterContext,
    request: &SubmitObjectsRequest,
) -> Result<String, Vec<Issue>> {
    let mut issues = Vec::new();
    let (ids, list) = IdMap::rewrite(&request.objects, &mut issues);
    let mut submission = match schemas::xds::Submission::from_object_list(&list) {
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
    let plan = match plan_operations(db, &submission, &ids, &mut issues).await {
        Ok(plan) => plan,
        Err(e) => {
            let location = ids.original(&submission.submission_set.entry_uuid);
            issues.push(update_storage_issue(&e, location));
            return Err(issues);
        }
    };
    if !issues.is_empty() {
        return Err(issues);
    }
    let ss_uuid = submission.submission_set.entry_uuid.clone();
    let folders = db
        .objects_by_uuid(&plan.folders_gaining_members)
        .await
        .map_err(|e| vec![update_storage_issue(&e, ids.original(&ss_uuid))])?;

    let now = rows::utc_now_dtm();
    rows::assign_registry_values(&mut submission, &now);
    let by_uuid: HashMap<&str, &NewVersion> = plan
        .versions
        .iter()
        .map(|v| (v.entry_uuid.as_str(), v))
        .collect();
    let version_info = |v: &NewVersion| {
        Some(VersionInfo {
            version_name: Some(v.version.to_string()),
            comment: None,
        })
    };
    for de in &mut submission.document_entries {
        if let Some(v) = by_uuid.get(de.entry_uuid.as_str()) {
            de.logical_id = Some(v.logical_id.clone());
            de.version = version_info(v);
        }
    }
    for folder in &mut submission.folders {
        if let Some(v) = by_uuid.get(folder.entry_uuid.as_str()) {
            folder.logical_id = Some(v.logical_id.clone());
            folder.version = version_info(v);
        }
    }
    let mut builder = rows::RowBuilder::new(&ss_uuid);
    builder.submission(&submission);
    for object in &mut builder.rows.objects {
        if let Some(v) = by_uuid.get(object.entry_uuid.as_str()) {
            object.logical_id.clone_from(&v.logical_id);
            object.version = v.version;
        }
    }
    for v in &plan.versions {
        for propagated in &v.propagated {
            let (source, target) = match v.kind {
                ObjectKind::Folder => (v.entry_uuid.as_str(), propagated.target_uuid.as_str()),
                _ => (propagated.source_uuid.as_str(), v.entry_uuid.as_str()),
            };
            let mut membership = Association::new(
                ids::new_uuid_urn(),
                AssociationType::HasMember,
                source,
                target,
            );
            membership.submission_set_status = None;
            builder.association(&membership);
        }
    }
    let changes = RegisteredChanges {
        deprecate: plan
            .versions
            .iter()
            .map(|v| v.previous.entry_uuid.clone())
            .collect(),
        folder_updates: folders
            .iter()
            .filter(|f| !plan.versioned.contains(&f.logical_id))
            .map(|f| folder_update(f, &now))
            .collect(),
        status_changes: plan.object_status_changes,
        association_status_changes: plan.association_status_changes,
    };
    db.register_with_changes(&builder.rows, &changes)
        .await
        .map_err(|e| vec![update_storage_issue(&e, ids.original(&ss_uuid))])?;
    Ok(ss_uuid)
}

/// The operations of an accepted update.
#[derive(Debug, Default)]
struct Plan {
    /// New versions of DocumentEntries and Folders.
    versions: Vec<NewVersion>,
    /// logicalIDs given a new version.
    versioned: HashSet<String>,
    /// UpdateAvailabilityStatus of DocumentEntries and Folders.
    object_status_changes: Vec<StatusChange>,
    /// UpdateAvailabilityStatus of Associations.
    association_status_changes: Vec<StatusChange>,
    /// Registered Folders that gain a member (Submit Association, propagation).
    folders_gaining_members: Vec<String>,
}

/// Checks every operation of `submission` against the registry, adding the issues found.
async fn plan_operations(
    db: &Database,
    submission: &schemas::xds::Submission,
    ids: &IdMap,
    issues: &mut Vec<Issue>,
) -> Result<Plan, StorageError> {
    let mut plan = Plan::default();
    let ss = &submission.submission_set;
    let ss_uuid = ss.entry_uuid.as_str();
    if ss.logical_id.as_deref().is_some_and(|lid| lid != ss_uuid) {
        let location = ids.original(ss_uuid);
        issues.push(Issue::new(
            error_code::XDS_METADATA_UPDATE_OPERATION_ERROR,
            location,
            format!(
                "{location}: a SubmissionSet cannot be updated: its logicalID must be its entryUUID"
            ),
        ));
    }
    // logicalID -> location of the operation on it: one operation per logical object.
    let mut operated: HashMap<String, String> = HashMap::new();
    let mut once = |logical_id: &str, location: &str, issues: &mut Vec<Issue>| {
        if let Some(first) = operated.insert(logical_id.to_owned(), location.to_owned()) {
            issues.push(Issue::new(
                error_code::XDS_METADATA_UPDATE_OPERATION_ERROR,
                location,
                format!("{location}: logical object {logical_id} is already the subject of operation {first} of this update"),
            ));
        }
    };
    let triggers = submission
        .document_entries
        .iter()
        .map(|d| Trigger {
            kind: ObjectKind::DocumentEntry,
            entry_uuid: &d.entry_uuid,
            logical_id: d.logical_id.as_deref(),
            unique_id: &d.unique_id.value,
            patient_id: d.patient_id.as_ref().map(|p| p.value.as_str()),
        })
        .chain(submission.folders.iter().map(|f| Trigger {
            kind: ObjectKind::Folder,
            entry_uuid: &f.entry_uuid,
            logical_id: f.logical_id.as_deref(),
            unique_id: &f.unique_id.value,
            patient_id: f.patient_id.as_ref().map(|p| p.value.as_str()),
        }));
    let mut new_object_uuids = HashSet::new();
    for trigger in triggers {
        new_object_uuids.insert(trigger.entry_uuid);
        let location = ids.original(trigger.entry_uuid);
        let announced =
            versions::trigger_association(&submission.associations, ss_uuid, trigger.entry_uuid);
        match versions::new_version(db, &trigger, announced, location).await? {
            Ok(version) => {
                once(&version.logical_id, location, issues);
                plan.versioned.insert(version.logical_id.clone());
                if version.kind == ObjectKind::DocumentEntry {
                    plan.folders_gaining_members
                        .extend(version.propagated.iter().map(|a| a.source_uuid.clone()));
                }
                plan.versions.push(version);
            }
            Err(issue) => issues.push(issue),
        }
    }
    let submitted: HashSet<&str> = submission
        .associations
        .iter()
        .map(|a| a.entry_uuid.as_str())
        .collect();
    let held: HashSet<&str> = submission
        .associations
        .iter()
        .filter(|a| a.source == ss_uuid && submitted.contains(a.target.as_str()))
        .filter(|a| {
            matches!(
                a.association_type,
                AssociationType::SubmitAssociation | AssociationType::HasMember
            )
        })
        .map(|a| a.target.as_str())
        .collect();
    for association in &submission.associations {
        let location = ids.original(&association.entry_uuid);
        let holds = association.source == ss_uuid
            && (held.contains(association.target.as_str())
                || new_object_uuids.contains(association.target.as_str()));
        if association.association_type == AssociationType::UpdateAvailabilityStatus {
            match associations::status_change(db, association, ss_uuid, location).await? {
                Ok(StatusTarget::Object { change, logical_id }) => {
                    once(&logical_id, location, issues);
                    plan.object_status_changes.push(change);
                }
                Ok(StatusTarget::Association(change)) => {
                    once(&change.entry_uuid, location, issues);
                    plan.association_status_changes.push(change);
                }
                Err(issue) => issues.push(issue),
            }
        } else if held.contains(association.entry_uuid.as_str()) {
            match associations::submit_association(db, association, location).await? {
                Ok(submitted) => plan
                    .folders_gaining_members
                    .extend(submitted.folder.map(|f| f.entry_uuid)),
                Err(issue) => issues.push(issue),
            }
        } else if !holds {
            issues.push(Issue::new(
                error_code::XDS_METADATA_UPDATE_OPERATION_ERROR,
                location,
                format!(
                    "{location}: Association {} from {} to {} is not an Update Document Set operation",
                    association.association_type.urn(),
                    association.source,
                    association.target
                ),
            ));
        }
    }
    Ok(plan)
}

/// The issue a storage failure of an update is reported as: a registered object changed
/// meanwhile is XDSMetadataUpdateError / XDSMetadataVersionError.
fn update_storage_issue(error: &StorageError, location: &str) -> Issue {
    match error {
        StorageError::UnresolvedReference { entry_uuid } => Issue::new(
            error_code::UNRESOLVED_REFERENCE_EXCEPTION,
            location,
            format!("{entry_uuid} was removed from the registry meanwhile"),
        ),
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
