//! ITI-57 operations carried by Associations: UpdateAvailabilityStatus of a DocumentEntry, Folder
//! or Association (ITI TF-2b 3.57.4.1.3.3.2, 3.57.4.1.3.3.4, 3.57.4.1.3.3.6) and Submit
//! Association (3.57.4.1.3.3.5).

use schemas::constants::error_code;
use schemas::xds::{Association, AssociationType};

use crate::register::issue::Issue;
use crate::storage::{AvailabilityStatus, Database, ObjectKind, StatusChange, StorageError};

/// Prefix of the ebRIM availability status URNs in OriginalStatus / NewStatus.
const STATUS_URN_PREFIX: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:";

/// What an UpdateAvailabilityStatus changes.
#[derive(Debug)]
pub(super) enum StatusTarget {
    /// A DocumentEntry or Folder (its latest version), with its logicalID.
    Object {
        /// The change.
        change: StatusChange,
        /// logicalID of the object.
        logical_id: String,
    },
    /// A registered Association.
    Association(StatusChange),
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

/// ITI TF-2b 3.57.4.1.3.3.2 / .4 / .6: an UpdateAvailabilityStatus Association from the
/// SubmissionSet to the latest version of a registered DocumentEntry or Folder, or to a
/// registered Association, whose status is OriginalStatus; NewStatus is the other of Approved
/// and Deprecated. A SubmissionSet's status cannot be changed (3.57.4.1.3.1 rule 8). Changing a
/// Folder's status leaves its members' status as it is.
pub(super) async fn status_change(
    db: &Database,
    association: &Association,
    ss_uuid: &str,
    location: &str,
) -> Result<Result<StatusTarget, Issue>, StorageError> {
    let refuse = |code: &'static str, rule: String| {
        Issue::new(
            code,
            location,
            format!("{location}: UpdateAvailabilityStatus {rule}"),
        )
    };
    if association.source != ss_uuid {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_UPDATE_ERROR,
            format!("source {} is not the SubmissionSet", association.source),
        )));
    }
    let from = status_of(association.original_status.as_deref());
    let to = status_of(association.new_status.as_deref());
    let (Some(from), Some(to)) = (from, to) else {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_UPDATE_ERROR,
            format!(
                "OriginalStatus {:?} and NewStatus {:?} must each be Approved or Deprecated",
                association.original_status.as_deref().unwrap_or(""),
                association.new_status.as_deref().unwrap_or("")
            ),
        )));
    };
    if from == to {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_UPDATE_ERROR,
            format!("NewStatus equals OriginalStatus ({from})"),
        )));
    }
    let target_uuid = std::slice::from_ref(&association.target);
    let Some(target) = db.objects_by_uuid(target_uuid).await?.into_iter().next() else {
        let Some(stored) = db
            .associations_by_uuid(target_uuid)
            .await?
            .into_iter()
            .next()
        else {
            return Ok(Err(refuse(
                error_code::XDS_METADATA_UPDATE_ERROR,
                format!(
                    "target {} is not a registered object or Association",
                    association.target
                ),
            )));
        };
        if stored.status != from {
            return Ok(Err(refuse(
                error_code::XDS_METADATA_UPDATE_ERROR,
                format!(
                    "target Association {} is {}, not OriginalStatus {from}",
                    stored.entry_uuid, stored.status
                ),
            )));
        }
        return Ok(Ok(StatusTarget::Association(StatusChange {
            entry_uuid: stored.entry_uuid,
            from,
            to,
        })));
    };
    if target.kind == ObjectKind::SubmissionSet {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_UPDATE_OPERATION_ERROR,
            format!(
                "target {} is a SubmissionSet, whose status cannot be updated",
                target.entry_uuid
            ),
        )));
    }
    if target.status != from {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_UPDATE_ERROR,
            format!(
                "target {} is {}, not OriginalStatus {from}",
                target.entry_uuid, target.status
            ),
        )));
    }
    let newest = db.versions_of(&target.logical_id).await?;
    if newest.last().is_some_and(|o| o.version > target.version) {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_UPDATE_ERROR,
            format!(
                "target {} is not the latest version of logicalID {}",
                target.entry_uuid, target.logical_id
            ),
        )));
    }
    Ok(Ok(StatusTarget::Object {
        change: StatusChange {
            entry_uuid: target.entry_uuid,
            from,
            to,
        },
        logical_id: target.logical_id,
    }))
}

/// A new Association between registered objects, accepted by Submit Association.
#[derive(Debug)]
pub(super) struct SubmittedAssociation {
    /// The Folder that gains a member (a Folder HasMember), whose lastUpdateTime changes.
    pub(super) folder: Option<crate::storage::StoredObject>,
}

/// Association types Submit Association may add between registered objects (3.57.4.1.3.3.5):
/// Folder membership and the relationships that do not replace (a replacement is a new
/// DocumentEntry, ITI-42).
fn submittable(association_type: &AssociationType) -> bool {
    matches!(
        association_type,
        AssociationType::HasMember
            | AssociationType::Append
            | AssociationType::Transform
            | AssociationType::Signs
            | AssociationType::IsSnapshotOf
    )
}

/// ITI TF-2b 3.57.4.1.3.3.5 Submit Association: `association`, held by a SubmissionSet
/// SubmitAssociation (or HasMember), links two registered Approved objects of one patient
/// (3.57.4.1.3.3.6.7, else XDSPatientIDReconciliationError); a HasMember links a Folder to a
/// DocumentEntry not already in it. An associationType XDS does not define is
/// XDSRegistryMetadataError.
pub(super) async fn submit_association(
    db: &Database,
    association: &Association,
    location: &str,
) -> Result<Result<SubmittedAssociation, Issue>, StorageError> {
    let refuse = |code: &'static str, rule: String| {
        Issue::new(
            code,
            location,
            format!(
                "{location}: Submit Association {} from {} to {}: {rule}",
                association.association_type.urn(),
                association.source,
                association.target
            ),
        )
    };
    if let AssociationType::Other(unknown) = &association.association_type {
        return Ok(Err(refuse(
            error_code::XDS_REGISTRY_METADATA_ERROR,
            format!("{unknown:?} is not an associationType of XDS metadata"),
        )));
    }
    if !submittable(&association.association_type) {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_UPDATE_OPERATION_ERROR,
            "this associationType cannot be submitted by Update Document Set".to_owned(),
        )));
    }
    let ends = [association.source.clone(), association.target.clone()];
    let objects = db.objects_by_uuid(&ends).await?;
    let find = |uuid: &str| objects.iter().find(|o| o.entry_uuid == uuid);
    let (Some(source), Some(target)) = (find(&association.source), find(&association.target))
    else {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_UPDATE_ERROR,
            "source and target must be registered objects".to_owned(),
        )));
    };
    if let Some(deprecated) = [source, target]
        .into_iter()
        .find(|o| o.status != AvailabilityStatus::Approved)
    {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_UPDATE_ERROR,
            format!(
                "{} is {}, not Approved",
                deprecated.entry_uuid, deprecated.status
            ),
        )));
    }
    if source.patient_id != target.patient_id {
        return Ok(Err(refuse(
            error_code::XDS_PATIENT_ID_RECONCILIATION_ERROR,
            format!(
                "source patientId {:?} differs from target patientId {:?}",
                source.patient_id, target.patient_id
            ),
        )));
    }
    if association.association_type != AssociationType::HasMember {
        if source.kind != ObjectKind::DocumentEntry || target.kind != ObjectKind::DocumentEntry {
            return Ok(Err(refuse(
                error_code::XDS_METADATA_UPDATE_OPERATION_ERROR,
                "a relationship links two DocumentEntries".to_owned(),
            )));
        }
        return Ok(Ok(SubmittedAssociation { folder: None }));
    }
    if source.kind != ObjectKind::Folder || target.kind != ObjectKind::DocumentEntry {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_UPDATE_OPERATION_ERROR,
            "a submitted HasMember links a Folder to a DocumentEntry".to_owned(),
        )));
    }
    let has_member = AssociationType::HasMember.urn();
    let already = db
        .associations_of(std::slice::from_ref(&source.entry_uuid))
        .await?
        .into_iter()
        .any(|a| {
            a.association_type == has_member
                && a.source_uuid == source.entry_uuid
                && a.target_uuid == target.entry_uuid
                && a.status == AvailabilityStatus::Approved
        });
    if already {
        return Ok(Err(refuse(
            error_code::XDS_METADATA_UPDATE_ERROR,
            "the DocumentEntry is already a member of the Folder".to_owned(),
        )));
    }
    Ok(Ok(SubmittedAssociation {
        folder: Some(source.clone()),
    }))
}
