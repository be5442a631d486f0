//! ITI-42 support: a registration together with the changes it causes to registered objects
//! (RPLC / XFRM_RPLC deprecation, Folder lastUpdateTime), in one transaction.

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::error::StorageError;
use super::model::{AvailabilityStatus, NewObject, Submission};
use super::schema::{
    associations, object_authors, object_codes, object_reference_ids, registry_objects,
};
use super::{Database, on_backend};

/// A registered Folder whose lastUpdateTime changes because documents were added to it
/// (ITI TF-3 4.2.3.4.7), with its fragment rewritten accordingly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderUpdate {
    /// entryUUID of the Folder.
    pub entry_uuid: String,
    /// The new lastUpdateTime (DTM).
    pub last_update_time: String,
    /// The Folder's LeafClass fragment carrying that lastUpdateTime.
    pub fragment: String,
}

/// The changes an ITI-42 submission makes to objects already registered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisteredChanges {
    /// entryUUIDs of Approved DocumentEntries to deprecate (RPLC, XFRM_RPLC targets).
    pub deprecate: Vec<String>,
    /// Registered Folders that gained members.
    pub folder_updates: Vec<FolderUpdate>,
}

fn object_insert_error(error: DieselError, object: &NewObject) -> StorageError {
    if let DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) = &error {
        let names_unique_id = info
            .constraint_name()
            .is_some_and(|c| c.contains("unique_id"))
            || info.message().contains("unique_id");
        return if names_unique_id {
            StorageError::DuplicateUniqueId {
                unique_id: object.unique_id.clone(),
            }
        } else {
            StorageError::DuplicateEntryUuid {
                entry_uuid: object.entry_uuid.clone(),
            }
        };
    }
    StorageError::Query(error)
}

fn dedup<T: Ord + Clone>(rows: &[T]) -> Vec<T> {
    rows.iter()
        .cloned()
        .collect::<BTreeSet<T>>()
        .into_iter()
        .collect()
}

impl Database {
    /// ITI-42 Register Document Set-b: inserts `submission` and applies `changes` in ONE
    /// transaction, all or nothing.
    ///
    /// A deprecated entry must be Approved when the transaction runs, else
    /// [`StorageError::StatusMismatch`] (or [`StorageError::NotFound`]); uniqueness errors are
    /// those of [`Database::insert_submission`].
    pub async fn register_with_changes(
        &self,
        submission: &Submission,
        changes: &RegisteredChanges,
    ) -> Result<(), StorageError> {
        let codes = dedup(&submission.codes);
        let authors = dedup(&submission.authors);
        let reference_ids = dedup(&submission.reference_ids);
        on_backend!(self, |conn| {
            conn.transaction(async |conn| {
                for object in &submission.objects {
                    diesel::insert_into(registry_objects::table)
                        .values(object)
                        .execute(conn)
                        .await
                        .map_err(|e| object_insert_error(e, object))?;
                }
                for row in &codes {
                    diesel::insert_into(object_codes::table)
                        .values(row)
                        .execute(conn)
                        .await?;
                }
                for row in &authors {
                    diesel::insert_into(object_authors::table)
                        .values(row)
                        .execute(conn)
                        .await?;
                }
                for row in &reference_ids {
                    diesel::insert_into(object_reference_ids::table)
                        .values(row)
                        .execute(conn)
                        .await?;
                }
                for association in &submission.associations {
                    diesel::insert_into(associations::table)
                        .values(association)
                        .execute(conn)
                        .await
                        .map_err(|e| match e {
                            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                                StorageError::DuplicateEntryUuid {
                                    entry_uuid: association.entry_uuid.clone(),
                                }
                            }
                            other => StorageError::Query(other),
                        })?;
                }
                for entry_uuid in &changes.deprecate {
                    let changed = diesel::update(
                        registry_objects::table
                            .filter(registry_objects::entry_uuid.eq(entry_uuid))
                            .filter(registry_objects::status.eq(AvailabilityStatus::Approved)),
                    )
                    .set(registry_objects::status.eq(AvailabilityStatus::Deprecated))
                    .execute(conn)
                    .await?;
                    if changed == 0 {
                        let actual: Option<AvailabilityStatus> = registry_objects::table
                            .filter(registry_objects::entry_uuid.eq(entry_uuid))
                            .select(registry_objects::status)
                            .first(conn)
                            .await
                            .optional()?;
                        return Err(match actual {
                            Some(actual) => StorageError::StatusMismatch {
                                entry_uuid: entry_uuid.clone(),
                                expected: AvailabilityStatus::Approved,
                                actual,
                            },
                            None => StorageError::NotFound {
                                entry_uuid: entry_uuid.clone(),
                            },
                        });
                    }
                }
                for update in &changes.folder_updates {
                    diesel::update(
                        registry_objects::table
                            .filter(registry_objects::entry_uuid.eq(&update.entry_uuid)),
                    )
                    .set((
                        registry_objects::last_update_time.eq(&update.last_update_time),
                        registry_objects::fragment.eq(&update.fragment),
                    ))
                    .execute(conn)
                    .await?;
                }
                for object in &submission.objects {
                    let foreign: i64 = registry_objects::table
                        .filter(registry_objects::unique_id.eq(&object.unique_id))
                        .filter(registry_objects::logical_id.ne(&object.logical_id))
                        .count()
                        .get_result(conn)
                        .await?;
                    if foreign > 0 {
                        return Err(StorageError::DuplicateUniqueId {
                            unique_id: object.unique_id.clone(),
                        });
                    }
                }
                Ok(())
            })
            .await
        })
    }
}
