//! ITI-42 Register Document Set-b (ITI TF-2b 3.42): the Document Registry validates a
//! SubmitObjectsRequest and registers all of it in one transaction, or none of it.
//!
//! Order of work: symbolic ids become UUIDs ([`ids`]); the ebRIM objects become typed XDS
//! objects (schemas `MetadataError` on a coding error); the checks that need no database run
//! ([`validate`]); the registered objects the submission refers to are loaded ([`state`]); the
//! patient, uniqueId, entryUUID and Association rules run ([`associations`]); if nothing was
//! found, the rows ([`rows`]) and the changes to registered objects (RPLC deprecation, Folder
//! lastUpdateTime) are written in one transaction. Every error found is reported, not just the
//! first (ITI TF-3 4.2.4.1).

mod associations;
pub(crate) mod ids;
pub(crate) mod issue;
pub(crate) mod rows;
mod state;
pub(crate) mod validate;

use schemas::constants::error_code;
use schemas::ebrim::{RegistryResponse, ResponseStatus, SubmitObjectsRequest};
use schemas::hl7v2::Cx;
use schemas::xds::{Association, AssociationType, Submission};

use crate::code_lists::CodeLists;
use crate::config::Config;
use crate::storage::{
    Database, FolderUpdate, ObjectKind, RegisteredChanges, StorageError, StoredObject,
};

use ids::IdMap;
use issue::Issue;
use state::RegistryState;

/// The affinity-domain policy an ITI-42 registration is checked against.
#[derive(Debug, Clone)]
pub struct RegisterContext {
    /// Assigning authority (OID) every patientId must carry (CX.4.2).
    pub affinity_domain: String,
    /// The codes each coded attribute may carry.
    pub code_lists: CodeLists,
    /// Skip the XDSUnknownPatientId check of patients not announced by the identity feed.
    pub accept_unknown_patients: bool,
}

impl RegisterContext {
    /// The policy of the `[registry]` configuration with these code lists.
    pub fn from_config(config: &Config, code_lists: CodeLists) -> Self {
        RegisterContext {
            affinity_domain: config.affinity_domain.clone(),
            code_lists,
            accept_unknown_patients: config.accept_unknown_patients,
        }
    }
}

/// ITI-42 Register Document Set-b: Success, or Failure listing every error found, in which
/// case nothing was registered.
#[tracing::instrument(name = "ITI-42", skip_all, fields(objects = request.objects.objects.len()))]
pub async fn register(
    db: &Database,
    ctx: &RegisterContext,
    request: &SubmitObjectsRequest,
) -> RegistryResponse {
    let (status, issues) = match register_submission(db, ctx, request).await {
        Ok(submission_set) => {
            tracing::info!(submission_set, "registered");
            (ResponseStatus::Success, Vec::new())
        }
        Err(issues) => {
            tracing::info!(
                errors = issues.len(),
                first = issues.first().map(|i| i.error_code),
                "refused"
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

/// Registers `request`; returns the SubmissionSet's entryUUID, or every issue found.
async fn register_submission(
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
        validate::Versions::FirstOnly,
    ));
    let state = RegistryState::load(db, &submission)
        .await
        .map_err(|e| adding(&mut issues, storage_issue(&e, &ids, &submission)))?;
    if let Err(e) = known_patient(db, ctx, &submission, &ids, &mut issues).await {
        issues.push(storage_issue(&e, &ids, &submission));
    }
    registered_collisions(&submission, &ids, &state, &mut issues);
    let plan = associations::check(&submission, &ids, &state, &mut issues);
    if !issues.is_empty() {
        return Err(issues);
    }

    let now = rows::utc_now_dtm();
    rows::assign_registry_values(&mut submission, &now);
    let submission_set = submission.submission_set.entry_uuid.clone();
    let mut builder = rows::RowBuilder::new(&submission_set);
    builder.submission(&submission);
    for (folder, document) in &plan.folder_additions {
        let mut membership = Association::new(
            ids::new_uuid_urn(),
            AssociationType::HasMember,
            folder,
            document,
        );
        membership.submission_set_status = None;
        builder.association(&membership);
    }
    let changes = RegisteredChanges {
        deprecate: plan.deprecate,
        folder_updates: plan
            .touched_folders
            .values()
            .map(|folder| folder_update(folder, &now))
            .collect(),
        ..RegisteredChanges::default()
    };
    db.register_with_changes(&builder.rows, &changes)
        .await
        .map_err(|e| vec![storage_issue(&e, &ids, &submission)])?;
    Ok(submission_set)
}

/// All issues found so far, and `issue`.
fn adding(issues: &mut Vec<Issue>, issue: Issue) -> Vec<Issue> {
    issues.push(issue);
    std::mem::take(issues)
}

/// A registered Folder that gained members: lastUpdateTime = `now` (ITI TF-3 4.2.3.4.7).
pub(crate) fn folder_update(folder: &StoredObject, now: &str) -> FolderUpdate {
    FolderUpdate {
        entry_uuid: folder.entry_uuid.clone(),
        last_update_time: now.to_owned(),
        fragment: rows::with_last_update_time(&folder.fragment, now)
            .unwrap_or_else(|| folder.fragment.clone()),
    }
}

/// ITI TF-2b 3.42.4.1.3: the patientId is of the affinity domain and known to the registry
/// through the Patient Identity Feed, else XDSUnknownPatientId.
pub(crate) async fn known_patient(
    db: &Database,
    ctx: &RegisterContext,
    submission: &Submission,
    ids: &IdMap,
    issues: &mut Vec<Issue>,
) -> Result<(), StorageError> {
    let ss = &submission.submission_set;
    let Some(patient) = ss.patient_id.as_ref().map(|p| p.value.as_str()) else {
        return Ok(());
    };
    let Ok(cx) = Cx::parse_patient_id(patient) else {
        return Ok(());
    };
    let location = ids.original(&ss.entry_uuid);
    let authority = &cx.assigning_authority.universal_id;
    if *authority != ctx.affinity_domain {
        issues.push(Issue::new(
            error_code::XDS_UNKNOWN_PATIENT_ID,
            location,
            format!(
                "{location}: patientId {patient:?} has assigning authority {authority}, not the affinity domain {}",
                ctx.affinity_domain
            ),
        ));
    } else if !ctx.accept_unknown_patients && !db.patient_known(patient).await? {
        issues.push(Issue::new(
            error_code::XDS_UNKNOWN_PATIENT_ID,
            location,
            format!(
                "{location}: patientId {patient:?} is not known from the Patient Identity Feed"
            ),
        ));
    }
    Ok(())
}

/// uniqueIds and entryUUIDs the registry already holds (ITI TF-3 Table 4.2.4.1-2).
///
/// A DocumentEntry uniqueId already registered is a resubmission of the document: accepted when
/// hash and size are identical, and registered as a DocumentEntry of its own with that uniqueId
/// (NIST test 12004: GetDocuments by the uniqueId then returns both), else XDSNonIdenticalHash /
/// XDSNonIdenticalSize. A SubmissionSet or Folder uniqueId already registered is
/// XDSDuplicateUniqueIdInRegistry.
fn registered_collisions(
    submission: &Submission,
    ids: &IdMap,
    state: &RegistryState,
    issues: &mut Vec<Issue>,
) {
    let ss = &submission.submission_set;
    let new_objects = std::iter::once((
        ObjectKind::SubmissionSet,
        ss.entry_uuid.as_str(),
        ss.unique_id.value.as_str(),
        None,
        None,
    ))
    .chain(submission.document_entries.iter().map(|d| {
        (
            ObjectKind::DocumentEntry,
            d.entry_uuid.as_str(),
            d.unique_id.value.as_str(),
            d.hash.as_deref(),
            d.size.as_deref(),
        )
    }))
    .chain(submission.folders.iter().map(|f| {
        (
            ObjectKind::Folder,
            f.entry_uuid.as_str(),
            f.unique_id.value.as_str(),
            None,
            None,
        )
    }));
    for (kind, uuid, unique_id, hash, size) in new_objects {
        let location = ids.original(uuid);
        if state.objects.contains_key(uuid) {
            issues.push(Issue::metadata(
                location,
                "entryUUID",
                format!("{uuid} is already registered"),
            ));
        }
        for existing in state
            .same_unique_id
            .iter()
            .filter(|o| o.unique_id == unique_id)
        {
            issues.extend(unique_id_collision(
                kind, location, unique_id, hash, size, existing,
            ));
        }
    }
    for a in &submission.associations {
        if state.association_uuids.contains(&a.entry_uuid) {
            let location = ids.original(&a.entry_uuid);
            issues.push(Issue::metadata(
                location,
                "entryUUID",
                format!("{} is already registered", a.entry_uuid),
            ));
        }
    }
}

/// The issue of a new object whose uniqueId `existing` holds; `None` for a DocumentEntry
/// resubmitted with identical hash and size.
fn unique_id_collision(
    kind: ObjectKind,
    location: &str,
    unique_id: &str,
    hash: Option<&str>,
    size: Option<&str>,
    existing: &StoredObject,
) -> Option<Issue> {
    if kind != ObjectKind::DocumentEntry || existing.kind != ObjectKind::DocumentEntry {
        return Some(Issue::new(
            error_code::XDS_DUPLICATE_UNIQUE_ID_IN_REGISTRY,
            location,
            format!("{location}: {kind} uniqueId {unique_id:?} is already registered"),
        ));
    }
    let same_hash = match (hash, existing.hash.as_deref()) {
        (Some(new), Some(old)) => new.eq_ignore_ascii_case(old),
        (new, old) => new == old,
    };
    if !same_hash {
        return Some(Issue::new(
            error_code::XDS_NON_IDENTICAL_HASH,
            location,
            format!(
                "{location}: DocumentEntry uniqueId {unique_id:?} is registered with hash {:?}, submitted with {:?}",
                existing.hash.as_deref().unwrap_or(""),
                hash.unwrap_or("")
            ),
        ));
    }
    let size: Option<i64> = size.and_then(|s| s.parse().ok());
    (size != existing.size).then(|| {
        Issue::new(
            error_code::XDS_NON_IDENTICAL_SIZE,
            location,
            format!(
                "{location}: DocumentEntry uniqueId {unique_id:?} is registered with size {:?}, submitted with {size:?}",
                existing.size
            ),
        )
    })
}

/// The issue a storage failure is reported as.
pub(crate) fn storage_issue(error: &StorageError, ids: &IdMap, submission: &Submission) -> Issue {
    let location = ids
        .original(&submission.submission_set.entry_uuid)
        .to_owned();
    match error {
        StorageError::DuplicateUniqueId { unique_id } => Issue::new(
            error_code::XDS_DUPLICATE_UNIQUE_ID_IN_REGISTRY,
            location,
            format!("uniqueId {unique_id:?} was registered by another submission meanwhile"),
        ),
        StorageError::DuplicateEntryUuid { entry_uuid } => Issue::metadata(
            ids.original(entry_uuid),
            "entryUUID",
            format!("{entry_uuid} is already registered"),
        ),
        StorageError::UnresolvedReference { entry_uuid } => Issue::new(
            error_code::UNRESOLVED_REFERENCE_EXCEPTION,
            ids.original(entry_uuid),
            format!("{entry_uuid} was removed from the registry meanwhile"),
        ),
        StorageError::StatusMismatch { entry_uuid, .. } | StorageError::NotFound { entry_uuid } => {
            Issue::new(
                error_code::XDS_REGISTRY_DEPRECATED_DOCUMENT_ERROR,
                location,
                format!("{entry_uuid} is no longer an Approved DocumentEntry"),
            )
        }
        other => Issue::new(
            error_code::XDS_REGISTRY_ERROR,
            location,
            format!("registry storage failed: {other}"),
        ),
    }
}
