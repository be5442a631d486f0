//! ITI-62 Delete Document Set (Remove Metadata, ITI TF-2b 3.62): removes DocumentEntries,
//! SubmissionSets, Folders and Associations named by `rim:ObjectRef`s, all or nothing.
//!
//! Rules (ITI TF-2b 3.62.4.1.3, as the NIST tests 30000-30008 exercise them), each reported as one
//! `rs:RegistryError` and all reported together:
//! - `deletionScope`, if present, is `DeletionScopeType:DeleteAll`: the registry holds no
//!   repository items to keep, so `DeleteRepositoryItemOnly` is refused
//!   (`XDSRegistryMetadataError`); so is an empty `ObjectRefList`;
//! - every ObjectRef names an object or association of the registry, else
//!   `UnresolvedReferenceException` (and nothing else is checked);
//! - no association that stays may reference (as source or target) a removed object or
//!   association, else `ReferencesExistException`: removing a SubmissionSet, Folder or
//!   DocumentEntry removes its HasMember associations too, removing an APND/RPLC/XFRM target
//!   removes that relationship too;
//! - an object or association that stays and that a removed association referenced must remain
//!   referenced by some association, else `XDSUnreferencedObjectException` (removing a
//!   SubmissionSet's last member leaves an empty SubmissionSet; removing a SubmissionSet's
//!   HasMember leaves the member outside any SubmissionSet).
//!
//! The checks run inside the deleting transaction, so a concurrent registration cannot slip an
//! association in between check and delete on SQLite (whose writer lock the delete takes first).

use schemas::constants::error_code;
use schemas::ebrim::{
    RegistryError, RegistryResponse, RemoveObjectsRequest, ResponseStatus, Severity,
};
use tracing::Instrument;

use crate::storage::Database;
use crate::storage::lifecycle_support::{RemovalEffect, RemovalError};

/// `deletionScope` value of a metadata removal (ebRS 3.0 lcm, the schema default).
pub const DELETE_ALL: &str = "urn:oasis:names:tc:ebxml-regrep:DeletionScopeType:DeleteAll";

/// Location given to errors about the request itself rather than one object.
const REQUEST_LOCATION: &str = "RemoveObjectsRequest";

/// One reason an ITI-62 request removes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeleteError {
    /// `deletionScope` other than DeleteAll (XDSRegistryMetadataError).
    #[error(
        "deletionScope {scope} is not supported: Delete Document Set removes metadata (DeleteAll)"
    )]
    UnsupportedDeletionScope {
        /// The deletionScope as given.
        scope: String,
    },
    /// The ObjectRefList names nothing (XDSRegistryMetadataError).
    #[error("the ObjectRefList names no object to remove")]
    NothingToRemove,
    /// An ObjectRef names no object or association (UnresolvedReferenceException).
    #[error("ObjectRef {entry_uuid} names no object or association in the registry")]
    UnresolvedReference {
        /// The ObjectRef id.
        entry_uuid: String,
    },
    /// A removed object stays referenced by an association not removed (ReferencesExistException).
    #[error("{referenced} is still referenced by Association {association}, which is not removed")]
    ReferencesExist {
        /// entryUUID of the removed object or association.
        referenced: String,
        /// entryUUID of the association that would be left dangling.
        association: String,
    },
    /// An object would be left without any association (XDSUnreferencedObjectException).
    #[error("{entry_uuid} would be left without any Association referencing it")]
    UnreferencedObject {
        /// entryUUID of the object or association left unreferenced.
        entry_uuid: String,
    },
    /// The database failed (XDSRegistryError).
    #[error("registry database error: {message}")]
    Storage {
        /// The storage error, as text.
        message: String,
    },
}

impl DeleteError {
    /// The XDS error code of ITI TF-3 Table 4.2.4.1-2 (with the Remove Metadata additions).
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedDeletionScope { .. } | Self::NothingToRemove => {
                error_code::XDS_REGISTRY_METADATA_ERROR
            }
            Self::UnresolvedReference { .. } => error_code::UNRESOLVED_REFERENCE_EXCEPTION,
            Self::ReferencesExist { .. } => error_code::REFERENCES_EXIST_EXCEPTION,
            Self::UnreferencedObject { .. } => error_code::XDS_UNREFERENCED_OBJECT_EXCEPTION,
            Self::Storage { .. } => error_code::XDS_REGISTRY_ERROR,
        }
    }

    /// The entryUUID the error is about, or `RemoveObjectsRequest`.
    pub fn location(&self) -> &str {
        match self {
            Self::UnresolvedReference { entry_uuid } | Self::UnreferencedObject { entry_uuid } => {
                entry_uuid
            }
            Self::ReferencesExist { referenced, .. } => referenced,
            Self::UnsupportedDeletionScope { .. }
            | Self::NothingToRemove
            | Self::Storage { .. } => REQUEST_LOCATION,
        }
    }

    /// The `rs:RegistryError` (severity Error) reporting this problem.
    pub fn to_registry_error(&self) -> RegistryError {
        RegistryError {
            error_code: self.code().to_owned(),
            code_context: self.to_string(),
            location: Some(self.location().to_owned()),
            severity: Severity::Error,
            value: None,
        }
    }
}

/// ITI-62 Delete Document Set: removes the objects and associations the request names, or
/// nothing, and answers with the `rs:RegistryResponse` (Success, or Failure with every error).
pub async fn delete_document_set(
    db: &Database,
    request: &RemoveObjectsRequest,
) -> RegistryResponse {
    let span = tracing::info_span!(
        "ITI-62",
        request_id = request.id.as_deref(),
        object_refs = request.object_refs.len()
    );
    async {
        let outcome = remove(db, request).await;
        match &outcome {
            Ok(removed) => tracing::info!(removed, "metadata removed"),
            Err(errors) => tracing::warn!(?errors, "metadata removal refused"),
        }
        count_request(outcome.is_ok());
        response(outcome)
    }
    .instrument(span)
    .await
}

/// Checks the request, then removes in one transaction; the number removed, or every error found.
async fn remove(db: &Database, request: &RemoveObjectsRequest) -> Result<usize, Vec<DeleteError>> {
    check_request(request)?;
    let entry_uuids: Vec<String> = request.object_refs.iter().map(|r| r.id.clone()).collect();
    db.remove_if_consistent(&entry_uuids, judge)
        .await
        .map_err(|error| match error {
            RemovalError::Refused(errors) => errors,
            RemovalError::Storage(error) => {
                tracing::error!(%error, "ITI-62 storage failure");
                vec![DeleteError::Storage {
                    message: error.to_string(),
                }]
            }
        })
}

/// Request-level rules: a DeleteAll (or absent) deletionScope and at least one ObjectRef.
fn check_request(request: &RemoveObjectsRequest) -> Result<(), Vec<DeleteError>> {
    let mut errors = Vec::new();
    if let Some(scope) = request.deletion_scope.as_deref()
        && scope != DELETE_ALL
    {
        errors.push(DeleteError::UnsupportedDeletionScope {
            scope: scope.to_owned(),
        });
    }
    if request.object_refs.is_empty() {
        errors.push(DeleteError::NothingToRemove);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The registry-consistency rules applied to the effect of the removal.
fn judge(effect: &RemovalEffect) -> Result<(), Vec<DeleteError>> {
    if !effect.unresolved.is_empty() {
        return Err(effect
            .unresolved
            .iter()
            .map(|entry_uuid| DeleteError::UnresolvedReference {
                entry_uuid: entry_uuid.clone(),
            })
            .collect());
    }
    let mut errors = Vec::new();
    for association in &effect.dangling {
        // A dangling association references a removed object as source, target or both.
        for referenced in [&association.source_uuid, &association.target_uuid] {
            if effect.was_removed(referenced) {
                errors.push(DeleteError::ReferencesExist {
                    referenced: referenced.clone(),
                    association: association.entry_uuid.clone(),
                });
            }
        }
    }
    errors.extend(
        effect
            .unreferenced
            .iter()
            .map(|entry_uuid| DeleteError::UnreferencedObject {
                entry_uuid: entry_uuid.clone(),
            }),
    );
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The RegistryResponse for an outcome.
fn response(outcome: Result<usize, Vec<DeleteError>>) -> RegistryResponse {
    let (status, errors) = match outcome {
        Ok(_) => (ResponseStatus::Success, Vec::new()),
        Err(errors) => (
            ResponseStatus::Failure,
            errors.iter().map(DeleteError::to_registry_error).collect(),
        ),
    };
    RegistryResponse {
        status,
        request_id: None,
        response_slots: Vec::new(),
        errors,
    }
}

/// Counts one answered request in `registry_requests_total{transaction="ITI-62", status}`.
fn count_request(success: bool) {
    metrics::counter!(
        "registry_requests_total",
        "transaction" => "ITI-62",
        "status" => if success { "Success" } else { "Failure" }
    )
    .increment(1);
}
