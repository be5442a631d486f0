//! What the registry already holds that an ITI-42 submission refers to or collides with.

use std::collections::{HashMap, HashSet};

use schemas::xds::{AssociationType, Submission};

use crate::storage::{AvailabilityStatus, Database, ObjectKind, StorageError, StoredObject};

/// Registered objects relevant to one submission, loaded before it is checked.
#[derive(Debug, Default)]
pub(crate) struct RegistryState {
    /// Registered objects by entryUUID: association endpoints and submitted entryUUIDs.
    pub(crate) objects: HashMap<String, StoredObject>,
    /// Submitted Association entryUUIDs that are already registered.
    pub(crate) association_uuids: HashSet<String>,
    /// Registered objects sharing a uniqueId with a submitted object.
    pub(crate) same_unique_id: Vec<StoredObject>,
    /// Approved Folders holding a registered DocumentEntry the submission replaces.
    pub(crate) folders_of: HashMap<String, Vec<StoredObject>>,
    /// Approved transformations (XFRM sources) of a registered DocumentEntry the submission replaces.
    pub(crate) transformations_of: HashMap<String, Vec<String>>,
}

fn replaces(t: &AssociationType) -> bool {
    matches!(
        t,
        AssociationType::Replace | AssociationType::TransformAndReplace
    )
}

impl RegistryState {
    /// Loads the registered objects `submission` refers to (after id rewriting).
    pub(crate) async fn load(db: &Database, submission: &Submission) -> Result<Self, StorageError> {
        let mut uuids: Vec<String> = std::iter::once(&submission.submission_set.entry_uuid)
            .chain(submission.document_entries.iter().map(|d| &d.entry_uuid))
            .chain(submission.folders.iter().map(|f| &f.entry_uuid))
            .cloned()
            .collect();
        let association_uuids: Vec<String> = submission
            .associations
            .iter()
            .map(|a| a.entry_uuid.clone())
            .collect();
        let submitted: HashSet<&str> = uuids
            .iter()
            .chain(&association_uuids)
            .map(String::as_str)
            .collect();
        let referenced: Vec<String> = submission
            .associations
            .iter()
            .flat_map(|a| [&a.source, &a.target])
            .filter(|id| !submitted.contains(id.as_str()))
            .cloned()
            .collect();
        uuids.extend(referenced);
        let objects: HashMap<String, StoredObject> = db
            .objects_by_uuid(&uuids)
            .await?
            .into_iter()
            .map(|o| (o.entry_uuid.clone(), o))
            .collect();
        let registered_associations = db
            .associations_by_uuid(&association_uuids)
            .await?
            .into_iter()
            .map(|a| a.entry_uuid)
            .collect();
        let unique_ids: Vec<String> = std::iter::once(&submission.submission_set.unique_id.value)
            .chain(
                submission
                    .document_entries
                    .iter()
                    .map(|d| &d.unique_id.value),
            )
            .chain(submission.folders.iter().map(|f| &f.unique_id.value))
            .cloned()
            .collect();
        let same_unique_id = db.objects_by_unique_id(&unique_ids).await?;

        let replaced: Vec<String> = submission
            .associations
            .iter()
            .filter(|a| replaces(&a.association_type) && objects.contains_key(&a.target))
            .map(|a| a.target.clone())
            .collect();
        let mut state = RegistryState {
            objects,
            association_uuids: registered_associations,
            same_unique_id,
            ..RegistryState::default()
        };
        if replaced.is_empty() {
            return Ok(state);
        }
        let related: Vec<_> = db
            .associations_of(&replaced)
            .await?
            .into_iter()
            .filter(|a| {
                a.status == AvailabilityStatus::Approved && replaced.contains(&a.target_uuid)
            })
            .collect();
        let sources: Vec<String> = related.iter().map(|a| a.source_uuid.clone()).collect();
        let source_objects: HashMap<String, StoredObject> = db
            .objects_by_uuid(&sources)
            .await?
            .into_iter()
            .filter(|o| o.status == AvailabilityStatus::Approved)
            .map(|o| (o.entry_uuid.clone(), o))
            .collect();
        for association in related {
            let Some(source) = source_objects.get(&association.source_uuid) else {
                continue;
            };
            match (
                AssociationType::from_urn(&association.association_type),
                source.kind,
            ) {
                (AssociationType::HasMember, ObjectKind::Folder) => state
                    .folders_of
                    .entry(association.target_uuid)
                    .or_default()
                    .push(source.clone()),
                (AssociationType::Transform, ObjectKind::DocumentEntry) => state
                    .transformations_of
                    .entry(association.target_uuid)
                    .or_default()
                    .push(source.entry_uuid.clone()),
                _ => {}
            }
        }
        Ok(state)
    }
}
