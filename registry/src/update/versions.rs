//! ITI-57 new versions of a DocumentEntry (ITI TF-2b 3.57.4.1.3.3.1) or a Folder
//! (3.57.4.1.3.3.3): the trigger HasMember, the logicalID, PreviousVersion and the
//! associations propagated to the new version.

use schemas::constants::error_code;
use schemas::xds::{Association, AssociationType};

use crate::register::issue::Issue;
use crate::storage::{
    AvailabilityStatus, Database, ObjectKind, StorageError, StoredAssociation, StoredObject,
};

/// A DocumentEntry or Folder of the update, as the version rules see it.
pub(super) struct Trigger<'a> {
    /// DocumentEntry or Folder.
    pub(super) kind: ObjectKind,
    /// entryUUID of the submitted object.
    pub(super) entry_uuid: &'a str,
    /// Its logicalID (`lid`), if sent.
    pub(super) logical_id: Option<&'a str>,
    /// Its uniqueId.
    pub(super) unique_id: &'a str,
    /// Its patientId, if sent.
    pub(super) patient_id: Option<&'a str>,
}

/// A new version of a registered DocumentEntry or Folder, checked against the registry.
#[derive(Debug)]
pub(super) struct NewVersion {
    /// entryUUID of the new version.
    pub(super) entry_uuid: String,
    /// DocumentEntry or Folder.
    pub(super) kind: ObjectKind,
    /// Its logicalID (that of the registered object).
    pub(super) logical_id: String,
    /// Its version number: the latest registered version + 1.
    pub(super) version: i32,
    /// The Approved version it replaces, deprecated by the update.
    pub(super) previous: StoredObject,
    /// The previous version's Approved associations that the new version gets too
    /// (AssociationPropagation, ITI TF-2b 3.57.4.1.3.1.3.4): Folder memberships of a
    /// DocumentEntry, DocumentEntry memberships of a Folder.
    pub(super) propagated: Vec<StoredAssociation>,
}

/// `yes` / `no` of the AssociationPropagation slot (ITI TF-2b 3.57.4.1.3.1.3.4); absent is yes.
fn propagates(slot: Option<&str>) -> Option<bool> {
    match slot.map(str::trim) {
        None | Some("yes") => Some(true),
        Some("no") => Some(false),
        Some(_) => None,
    }
}

/// The SubmissionSet HasMember announcing the new version `entry_uuid`.
pub(super) fn trigger_association<'a>(
    associations: &'a [Association],
    ss_uuid: &str,
    entry_uuid: &str,
) -> Option<&'a Association> {
    associations.iter().find(|a| {
        a.association_type == AssociationType::HasMember
            && a.source == ss_uuid
            && a.target == entry_uuid
    })
}

/// ITI TF-2b 3.57.4.1.3.3.1 / 3.57.4.1.3.3.3: `object` is a new version of a registered object
/// of the same kind, announced by a SubmissionSet HasMember (SubmissionSetStatus Original) with
/// a PreviousVersion slot naming the Approved version (a logicalID the registry does not hold
/// names no version: XDSMetadataVersionError); uniqueId stays that of the logical
/// object; the patientId may change only for an object no Folder, member or relationship
/// connects to others (3.57.4.1.3.3.1.7, 3.57.4.1.3.3.3.7).
pub(super) async fn new_version(
    db: &Database,
    object: &Trigger<'_>,
    announced: Option<&Association>,
    location: &str,
) -> Result<Result<NewVersion, Issue>, StorageError> {
    let kind = object.kind;
    let refuse = |code: &'static str, rule: String| {
        Issue::new(code, location, format!("{location}: {kind} {rule}"))
    };
    let Some(announced) = announced else {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_UPDATE_OPERATION_ERROR,
            "is not announced by a SubmissionSet HasMember: Update Document Set submits new versions only (first versions are ITI-42's)".to_owned(),
        )));
    };
    let Some(previous_version) = announced.previous_version.as_deref() else {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_UPDATE_OPERATION_ERROR,
            "update: the SubmissionSet HasMember has no PreviousVersion slot (first versions are ITI-42's)".to_owned(),
        )));
    };
    let Some(previous_number) = previous_version
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|v| *v > 0)
    else {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_UPDATE_OPERATION_ERROR,
            format!("update: PreviousVersion {previous_version:?} is not a version number"),
        )));
    };
    // A DocumentEntry's SubmissionSet HasMember carries SubmissionSetStatus (ITI TF-3
    // 4.2.2.1.2); a Folder's may omit it, but a new version is never a Reference.
    let status = announced.submission_set_status.as_deref().map(str::trim);
    let status_ok = matches!(
        (kind, status),
        (_, Some("Original")) | (ObjectKind::Folder, None)
    );
    if !status_ok {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_UPDATE_OPERATION_ERROR,
            format!(
                "update: the SubmissionSet HasMember must carry SubmissionSetStatus Original, not {:?}",
                announced.submission_set_status.as_deref().unwrap_or("")
            ),
        )));
    }
    let Some(propagate) = propagates(announced.association_propagation.as_deref()) else {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_UPDATE_OPERATION_ERROR,
            format!(
                "update: AssociationPropagation {:?} is neither yes nor no",
                announced.association_propagation.as_deref().unwrap_or("")
            ),
        )));
    };
    let logical_id = match object.logical_id {
        Some(lid) if lid != object.entry_uuid => lid.to_owned(),
        _ => {
            return Ok(Err(refuse(
                error_code::XDS_METADATA_UPDATE_ERROR,
                "update must carry the logicalID (lid) of the registered object, distinct from its entryUUID".to_owned(),
            )));
        }
    };
    let registered = db.versions_of(&logical_id).await?;
    let Some(latest) = registered.last() else {
        // PreviousVersion names a version the registry does not hold (NIST 15800b).
        return Ok(Err(refuse(
            error_code::XDS_METADATA_VERSION_ERROR,
            format!(
                "update: PreviousVersion {previous_version:?}: logicalID {logical_id} names no registered object"
            ),
        )));
    };
    if latest.kind != kind {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_UPDATE_ERROR,
            format!("update: logicalID {logical_id} names a {}", latest.kind),
        )));
    }
    let approved = registered
        .iter()
        .rev()
        .find(|o| o.status == AvailabilityStatus::Approved);
    let Some(approved) = approved.filter(|a| a.version == previous_number) else {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_VERSION_ERROR,
            format!(
                "update: PreviousVersion {previous_version:?} is not the version of the Approved object of logicalID {logical_id} ({})",
                approved.map_or_else(|| "none is Approved".to_owned(), |a| a.version.to_string())
            ),
        )));
    };
    if object.unique_id != approved.unique_id {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_IDENTIFIER_ERROR,
            format!(
                "update: uniqueId {:?} differs from {:?} of the previous version",
                object.unique_id, approved.unique_id
            ),
        )));
    }
    let connections = connections_of(db, approved).await?;
    if object.patient_id != Some(approved.patient_id.as_str()) && !connections.is_empty() {
        return Ok(Err(refuse(
            error_code::XDS_PATIENT_ID_RECONCILIATION_ERROR,
            format!(
                "update: patientId {:?} differs from {:?} of the previous version, which Association {} connects to other objects",
                object.patient_id.unwrap_or(""),
                approved.patient_id,
                connections[0].entry_uuid
            ),
        )));
    }
    let propagated = if propagate {
        memberships(db, kind, approved, connections).await?
    } else {
        Vec::new()
    };
    Ok(Ok(NewVersion {
        entry_uuid: object.entry_uuid.to_owned(),
        kind,
        logical_id,
        version: latest.version + 1,
        previous: approved.clone(),
        propagated,
    }))
}

/// The Approved associations of `object` other than the SubmissionSet HasMembers that hold it.
async fn connections_of(
    db: &Database,
    object: &StoredObject,
) -> Result<Vec<StoredAssociation>, StorageError> {
    let associations = db
        .associations_of(std::slice::from_ref(&object.entry_uuid))
        .await?;
    let sources: Vec<String> = associations
        .iter()
        .filter(|a| a.target_uuid == object.entry_uuid)
        .map(|a| a.source_uuid.clone())
        .collect();
    let submission_sets: Vec<String> = db
        .objects_by_uuid(&sources)
        .await?
        .into_iter()
        .filter(|o| o.kind == ObjectKind::SubmissionSet)
        .map(|o| o.entry_uuid)
        .collect();
    Ok(associations
        .into_iter()
        .filter(|a| a.status == AvailabilityStatus::Approved)
        .filter(|a| !submission_sets.contains(&a.source_uuid))
        .collect())
}

/// The HasMember associations propagated to a new version: a DocumentEntry's memberships in
/// Approved Folders, a Folder's memberships of DocumentEntries.
async fn memberships(
    db: &Database,
    kind: ObjectKind,
    previous: &StoredObject,
    connections: Vec<StoredAssociation>,
) -> Result<Vec<StoredAssociation>, StorageError> {
    let has_member = AssociationType::HasMember.urn();
    let members: Vec<StoredAssociation> = connections
        .into_iter()
        .filter(|a| a.association_type == has_member)
        .filter(|a| match kind {
            ObjectKind::Folder => a.source_uuid == previous.entry_uuid,
            _ => a.target_uuid == previous.entry_uuid,
        })
        .collect();
    if kind == ObjectKind::Folder {
        return Ok(members);
    }
    let sources: Vec<String> = members.iter().map(|a| a.source_uuid.clone()).collect();
    let folders: Vec<String> = db
        .objects_by_uuid(&sources)
        .await?
        .into_iter()
        .filter(|o| o.kind == ObjectKind::Folder && o.status == AvailabilityStatus::Approved)
        .map(|o| o.entry_uuid)
        .collect();
    Ok(members
        .into_iter()
        .filter(|a| folders.contains(&a.source_uuid))
        .collect())
}
