//! Life-cycle support: a removal whose effect is judged inside the removing transaction (ITI-62).

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::error::StorageError;
use super::model::StoredAssociation;
use super::schema::{associations, registry_objects};
use super::{Database, on_backend, write_isolation};

/// What removing a set of entryUUIDs does to the registry, seen from inside the removing
/// transaction (after the rows are gone, before commit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemovalEffect {
    /// Requested entryUUIDs that named no object and no association, in request order.
    pub unresolved: Vec<String>,
    /// Associations left in place whose source or target was removed, by entryUUID.
    pub dangling: Vec<StoredAssociation>,
    /// Objects or associations left in place that a removed association referenced (as source or
    /// target) and that no remaining association references any more, sorted.
    pub unreferenced: Vec<String>,
    /// entryUUIDs of the removed objects and associations, sorted.
    pub removed: Vec<String>,
}

impl RemovalEffect {
    /// `true` when `entry_uuid` was removed.
    pub fn was_removed(&self, entry_uuid: &str) -> bool {
        self.removed
            .binary_search_by(|removed| removed.as_str().cmp(entry_uuid))
            .is_ok()
    }
}

/// Why [`Database::remove_if_consistent`] removed nothing.
#[derive(Debug, thiserror::Error)]
pub enum RemovalError<E> {
    /// The judge refused the effect; the transaction was rolled back.
    #[error("removal refused")]
    Refused(E),
    /// The database failed; the transaction was rolled back.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl<E> From<diesel::result::Error> for RemovalError<E> {
    fn from(error: diesel::result::Error) -> Self {
        Self::Storage(StorageError::Query(error))
    }
}

impl Database {
    /// ITI-62 Delete Document Set: removes the objects and associations named by `entry_uuids`
    /// (objects with their codes, authors and reference ids), then hands the [`RemovalEffect`] to
    /// `judge`, all in one transaction: committed when `judge` accepts, rolled back when it refuses.
    ///
    /// The rows are deleted first so that a SQLite transaction holds the write lock before it reads.
    /// Returns the number of removed objects and associations.
    ///
    /// On PostgreSQL the transaction is SERIALIZABLE and run again (up to
    /// [`super::WRITE_ATTEMPTS`] times) when a concurrent write aborts it.
    pub async fn remove_if_consistent<E, F>(
        &self,
        entry_uuids: &[String],
        judge: F,
    ) -> Result<usize, RemovalError<E>>
    where
        F: Fn(&RemovalEffect) -> Result<(), E> + Send + Sync,
        E: Send,
    {
        let mut attempt = 1;
        loop {
            match self.remove_once(entry_uuids, &judge).await {
                Err(RemovalError::Storage(e))
                    if e.is_serialization_failure() && attempt < super::WRITE_ATTEMPTS =>
                {
                    tracing::debug!(attempt, "removal retried after a serialization failure");
                    super::pause_before_retry(attempt).await;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    /// One attempt of [`Database::remove_if_consistent`].
    async fn remove_once<E, F>(
        &self,
        entry_uuids: &[String],
        judge: &F,
    ) -> Result<usize, RemovalError<E>>
    where
        F: Fn(&RemovalEffect) -> Result<(), E> + Send + Sync,
        E: Send,
    {
        let mut seen = BTreeSet::new();
        let wanted: Vec<String> = entry_uuids
            .iter()
            .filter(|uuid| seen.insert(uuid.as_str()))
            .cloned()
            .collect();
        let wanted = &wanted;
        on_backend!(self, |conn| {
            conn.transaction(async |conn| {
                write_isolation!(self, conn);
                let removed_associations: Vec<(String, String, String)> = diesel::delete(
                    associations::table.filter(associations::entry_uuid.eq_any(wanted)),
                )
                .returning((
                    associations::entry_uuid,
                    associations::source_uuid,
                    associations::target_uuid,
                ))
                .get_results(conn)
                .await?;
                let removed_objects: Vec<String> = diesel::delete(
                    registry_objects::table.filter(registry_objects::entry_uuid.eq_any(wanted)),
                )
                .returning(registry_objects::entry_uuid)
                .get_results(conn)
                .await?;

                let removed: BTreeSet<&str> = removed_associations
                    .iter()
                    .map(|(uuid, _, _)| uuid.as_str())
                    .chain(removed_objects.iter().map(String::as_str))
                    .collect();
                let unresolved: Vec<String> = wanted
                    .iter()
                    .filter(|uuid| !removed.contains(uuid.as_str()))
                    .cloned()
                    .collect();

                let removed_ids: Vec<&str> = removed.iter().copied().collect();
                let dangling: Vec<StoredAssociation> = associations::table
                    .filter(
                        associations::source_uuid
                            .eq_any(&removed_ids)
                            .or(associations::target_uuid.eq_any(&removed_ids)),
                    )
                    .order(associations::entry_uuid.asc())
                    .select(StoredAssociation::as_select())
                    .load(conn)
                    .await?;

                let endpoints: Vec<&str> = removed_associations
                    .iter()
                    .flat_map(|(_, source, target)| [source.as_str(), target.as_str()])
                    .filter(|uuid| !removed.contains(uuid))
                    .collect::<BTreeSet<&str>>()
                    .into_iter()
                    .collect();
                let unreferenced = if endpoints.is_empty() {
                    Vec::new()
                } else {
                    let mut existing: BTreeSet<String> = registry_objects::table
                        .filter(registry_objects::entry_uuid.eq_any(&endpoints))
                        .select(registry_objects::entry_uuid)
                        .load::<String>(conn)
                        .await?
                        .into_iter()
                        .collect();
                    existing.extend(
                        associations::table
                            .filter(associations::entry_uuid.eq_any(&endpoints))
                            .select(associations::entry_uuid)
                            .load::<String>(conn)
                            .await?,
                    );
                    let still_referenced: BTreeSet<String> = associations::table
                        .filter(
                            associations::source_uuid
                                .eq_any(&endpoints)
                                .or(associations::target_uuid.eq_any(&endpoints)),
                        )
                        .select((associations::source_uuid, associations::target_uuid))
                        .load::<(String, String)>(conn)
                        .await?
                        .into_iter()
                        .flat_map(|(source, target)| [source, target])
                        .collect();
                    existing
                        .into_iter()
                        .filter(|uuid| !still_referenced.contains(uuid))
                        .collect()
                };

                let effect = RemovalEffect {
                    unresolved,
                    dangling,
                    unreferenced,
                    removed: removed_ids.iter().map(|uuid| (*uuid).to_owned()).collect(),
                };
                judge(&effect).map_err(RemovalError::Refused)?;
                Ok(effect.removed.len())
            })
            .await
        })
    }
}
