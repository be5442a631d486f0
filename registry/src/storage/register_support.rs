//! ITI-42 / ITI-57 support: a registration together with the changes it causes to registered
//! objects (RPLC / XFRM_RPLC deprecation, new versions, status updates, Folder lastUpdateTime),
//! in one transaction (SERIALIZABLE on PostgreSQL, see [`super::write_isolation`]).

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::child_rows::{ChildRows, WriteChildRows};
use super::error::StorageError;
use super::model::{AvailabilityStatus, NewObject, ObjectKind, Submission};
use super::schema::{associations, registry_objects};
use super::{Database, POSTGRES};

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

/// ITI-57 UpdateAvailabilityStatus of a registered object: `from` -> `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// entryUUID of the object.
    pub entry_uuid: String,
    /// The status the object must have when the transaction runs.
    pub from: AvailabilityStatus,
    /// The status it gets.
    pub to: AvailabilityStatus,
}

/// The changes an ITI-42 or ITI-57 submission makes to objects already registered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisteredChanges {
    /// entryUUIDs of Approved DocumentEntries to deprecate (RPLC, XFRM_RPLC targets, previous
    /// versions replaced by ITI-57).
    pub deprecate: Vec<String>,
    /// Registered Folders that gained members.
    pub folder_updates: Vec<FolderUpdate>,
    /// ITI-57 status changes of registered objects.
    pub status_changes: Vec<StatusChange>,
    /// ITI-57 status changes of registered Associations (UpdateAvailabilityStatus of an
    /// Association).
    pub association_status_changes: Vec<StatusChange>,
}

/// Maps a failed object INSERT to the typed uniqueness error it stands for: a repeated version
/// of one logical object (or a repeated entryUUID).
pub(super) fn object_insert_error(error: DieselError, object: &NewObject) -> StorageError {
    if let DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) = &error {
        let names_version = info
            .constraint_name()
            .is_some_and(|c| c.contains("logical_id"))
            || info.message().contains("logical_id");
        return if names_version {
            StorageError::DuplicateVersion {
                logical_id: object.logical_id.clone(),
                version: object.version,
            }
        } else {
            StorageError::DuplicateEntryUuid {
                entry_uuid: object.entry_uuid.clone(),
            }
        };
    }
    StorageError::Query(error)
}

/// Sorted, de-duplicated copy of child rows (a code listed twice on one object is one code).
pub(super) fn dedup<T: Ord + Clone>(rows: &[T]) -> Vec<T> {
    rows.iter()
        .cloned()
        .collect::<BTreeSet<T>>()
        .into_iter()
        .collect()
}

/// A registered object holding a uniqueId: uniqueId, logicalID, kind, hash, size.
type UniqueIdHolder = (String, String, ObjectKind, Option<String>, Option<i64>);

/// ITI-42 resubmission (NIST test 12004): `object` may share its uniqueId with a registered object
/// of another logical object only when both are DocumentEntries of identical hash and size.
fn is_resubmission(object: &NewObject, holder: &UniqueIdHolder) -> bool {
    let (_, _, kind, hash, size) = holder;
    object.kind == ObjectKind::DocumentEntry
        && *kind == ObjectKind::DocumentEntry
        && object.hash.as_deref().map(str::to_ascii_lowercase)
            == hash.as_deref().map(str::to_ascii_lowercase)
        && object.size == *size
}

/// The ITI-42 / ITI-57 registration transaction of `$submission` with `$changes` on `$conn`
/// (written once, compiled for each backend's connection): SERIALIZABLE first when
/// `$serializable` (PostgreSQL, see [`super::write_isolation`]). Inside an open transaction (the
/// SQLite group commit) it is a savepoint, rolled back alone when it fails.
macro_rules! registration_transaction {
    ($conn:ident, $submission:expr, $changes:expr, serializable: $serializable:expr) => {
        $conn
            .transaction(async |conn| {
                if $serializable {
                    diesel_async::RunQueryDsl::execute(
                        diesel::sql_query(super::SERIALIZABLE),
                        conn,
                    )
                    .await?;
                }
                for object in &$submission.objects {
                    // The entryUUID conflict is taken first, so a repeated first version
                    // (lid = entryUUID) is a repeated entryUUID on both backends.
                    let inserted = diesel::insert_into(registry_objects::table)
                        .values(object)
                        .on_conflict(registry_objects::entry_uuid)
                        .do_nothing()
                        .execute(conn)
                        .await
                        .map_err(|e| object_insert_error(e, object))?;
                    if inserted == 0 {
                        return Err(StorageError::DuplicateEntryUuid {
                            entry_uuid: object.entry_uuid.clone(),
                        });
                    }
                }
                conn.write_child_rows(ChildRows {
                    codes: dedup(&$submission.codes),
                    authors: dedup(&$submission.authors),
                    reference_ids: dedup(&$submission.reference_ids),
                    associations: $submission.associations.clone(),
                })
                .await?;
                let deprecations = $changes.deprecate.iter().map(|entry_uuid| StatusChange {
                    entry_uuid: entry_uuid.clone(),
                    from: AvailabilityStatus::Approved,
                    to: AvailabilityStatus::Deprecated,
                });
                for change in deprecations.chain($changes.status_changes.iter().cloned()) {
                    let entry_uuid = &change.entry_uuid;
                    let changed = diesel::update(
                        registry_objects::table
                            .filter(registry_objects::entry_uuid.eq(entry_uuid))
                            .filter(registry_objects::status.eq(change.from)),
                    )
                    .set(registry_objects::status.eq(change.to))
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
                                expected: change.from,
                                actual,
                            },
                            None => StorageError::NotFound {
                                entry_uuid: entry_uuid.clone(),
                            },
                        });
                    }
                }
                for change in &$changes.association_status_changes {
                    let changed = diesel::update(
                        associations::table
                            .filter(associations::entry_uuid.eq(&change.entry_uuid))
                            .filter(associations::status.eq(change.from)),
                    )
                    .set(associations::status.eq(change.to))
                    .execute(conn)
                    .await?;
                    if changed == 0 {
                        let actual: Option<AvailabilityStatus> = associations::table
                            .filter(associations::entry_uuid.eq(&change.entry_uuid))
                            .select(associations::status)
                            .first(conn)
                            .await
                            .optional()?;
                        return Err(match actual {
                            Some(actual) => StorageError::StatusMismatch {
                                entry_uuid: change.entry_uuid.clone(),
                                expected: change.from,
                                actual,
                            },
                            None => StorageError::NotFound {
                                entry_uuid: change.entry_uuid.clone(),
                            },
                        });
                    }
                }
                for update in &$changes.folder_updates {
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
                // Every endpoint must exist when the transaction commits: a concurrent ITI-62
                // may have removed one since the submission was checked. Objects and
                // Associations this transaction wrote exist; only registered ones are read, so a
                // plain submission reads no shared index page (no SERIALIZABLE conflict).
                let written: BTreeSet<&str> = $submission
                    .objects
                    .iter()
                    .map(|o| o.entry_uuid.as_str())
                    .chain(
                        $submission
                            .associations
                            .iter()
                            .map(|a| a.entry_uuid.as_str()),
                    )
                    .collect();
                let endpoints: Vec<&str> = $submission
                    .associations
                    .iter()
                    .flat_map(|a| [a.source_uuid.as_str(), a.target_uuid.as_str()])
                    .filter(|uuid| !written.contains(uuid))
                    .collect::<BTreeSet<&str>>()
                    .into_iter()
                    .collect();
                if !endpoints.is_empty() {
                    let present: BTreeSet<String> = registry_objects::table
                        .filter(registry_objects::entry_uuid.eq_any(&endpoints))
                        .select(registry_objects::entry_uuid)
                        .union(
                            associations::table
                                .filter(associations::entry_uuid.eq_any(&endpoints))
                                .select(associations::entry_uuid),
                        )
                        .load::<String>(conn)
                        .await?
                        .into_iter()
                        .collect();
                    if let Some(missing) = endpoints.iter().find(|e| !present.contains(**e)) {
                        return Err(StorageError::UnresolvedReference {
                            entry_uuid: (*missing).to_owned(),
                        });
                    }
                }
                // A uniqueId names one logical object across its versions (ITI-57), and also
                // the identical DocumentEntries resubmitted under it.
                let unique_ids: BTreeSet<&str> = $submission
                    .objects
                    .iter()
                    .map(|o| o.unique_id.as_str())
                    .collect();
                let holders: Vec<UniqueIdHolder> = registry_objects::table
                    .filter(registry_objects::unique_id.eq_any(&unique_ids))
                    .select((
                        registry_objects::unique_id,
                        registry_objects::logical_id,
                        registry_objects::kind,
                        registry_objects::hash,
                        registry_objects::size,
                    ))
                    .load(conn)
                    .await?;
                for object in &$submission.objects {
                    let taken = holders.iter().any(|holder| {
                        holder.0 == object.unique_id
                            && holder.1 != object.logical_id
                            && !is_resubmission(object, holder)
                    });
                    if taken {
                        return Err(StorageError::DuplicateUniqueId {
                            unique_id: object.unique_id.clone(),
                        });
                    }
                }
                Ok(())
            })
            .await
    };
}

impl Database {
    /// ITI-42 Register Document Set-b: inserts `submission` and applies `changes` in ONE
    /// transaction, all or nothing.
    ///
    /// A deprecated entry must be Approved (a status change's object in its `from` status) when
    /// the transaction runs, else
    /// [`StorageError::StatusMismatch`] (or [`StorageError::NotFound`]). A uniqueId held by
    /// another logical object fails with [`StorageError::DuplicateUniqueId`], unless both are
    /// DocumentEntries of identical hash and size (a resubmission, registered as an entry of its
    /// own); a repeated entryUUID is [`StorageError::DuplicateEntryUuid`] and a repeated version
    /// of one logical object [`StorageError::DuplicateVersion`].
    pub async fn register_with_changes(
        &self,
        submission: &Submission,
        changes: &RegisteredChanges,
    ) -> Result<(), StorageError> {
        let mut attempt = 1;
        loop {
            match self.register_once(submission, changes).await {
                Err(e) if e.is_serialization_failure() && attempt < super::WRITE_ATTEMPTS => {
                    tracing::debug!(
                        attempt,
                        "registration retried after a serialization failure"
                    );
                    super::pause_before_retry(attempt).await;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    /// One attempt of [`Database::register_with_changes`]: on PostgreSQL a SERIALIZABLE
    /// transaction of its own, on SQLite a savepoint of the writer's next group commit.
    async fn register_once(
        &self,
        submission: &Submission,
        changes: &RegisteredChanges,
    ) -> Result<(), StorageError> {
        match self {
            Database::Postgres(pool) => {
                let mut pooled = pool
                    .get()
                    .await
                    .map_err(|e| StorageError::pool(POSTGRES, e))?;
                let conn: &mut AsyncPgConnection = &mut pooled;
                registration_transaction!(conn, submission, changes, serializable: true)
            }
            Database::Sqlite(sqlite) => {
                let submission = submission.clone();
                let changes = changes.clone();
                sqlite
                    .register(move |conn| {
                        Box::pin(async move {
                            registration_transaction!(
                                conn,
                                &submission,
                                &changes,
                                serializable: false
                            )
                        })
                    })
                    .await
            }
        }
    }
}
