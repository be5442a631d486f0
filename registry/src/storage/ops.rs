//! Storage operations, each written once and run on either backend through `on_backend!`.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::error::StorageError;
use super::filter::ObjectFilter;
use super::model::{
    AvailabilityStatus, ObjectKind, PatientContents, PatientRecord, PatientStatus,
    StoredAssociation, StoredObject, Submission,
};
use super::schema::{
    associations, object_authors, object_codes, object_reference_ids, patients, registry_objects,
};
use super::{Database, RegisteredChanges, on_backend};

/// Narrows `$query` to `$range` on `$column`: From inclusive, To exclusive (ITI TF-2a 3.18.4.1.2.3.6).
macro_rules! narrow_by_time {
    ($query:ident, $range:expr, $column:expr) => {
        if let Some(from) = &$range.from {
            $query = $query.filter($column.ge(from));
        }
        if let Some(to) = &$range.to {
            $query = $query.filter($column.lt(to));
        }
    };
}

/// Narrows the boxed `$query` to rows whose `$column` is one of `$values` (a slice): one value
/// is a plain `=`, so its statement is the same whatever the value. PostgreSQL plans `= ANY($1)`
/// again at every execution (a generic plan for an array of unknown length is always estimated
/// dearer than the custom plan for the array at hand), which made a GetDocuments by one uniqueId
/// cost about twice the server CPU of the lookup itself; a plain `= $1` gets its generic plan
/// after five executions and is only executed from then on. SQLite keeps the prepared `= ?`
/// statement, where diesel prepares `IN (?, ...)` anew every time.
macro_rules! filter_one_of {
    ($query:ident, $column:expr, $values:expr) => {
        $query = match $values {
            [one] => $query.filter($column.eq(one)),
            many => $query.filter($column.eq_any(many)),
        }
    };
}

/// Seconds since the Unix epoch (0 if the clock is before 1970).
fn now_epoch_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The escape character of authorPerson LIKE patterns on every backend (PostgreSQL's default;
/// SQLite has none unless one is named).
const LIKE_ESCAPE: char = '\\';

/// `pattern` as a LIKE pattern escaped by [`LIKE_ESCAPE`]: a trailing lone escape character
/// (which PostgreSQL refuses) stands for itself.
fn like_pattern(pattern: &str) -> String {
    let trailing = pattern
        .chars()
        .rev()
        .take_while(|c| *c == LIKE_ESCAPE)
        .count();
    let mut escaped = pattern.to_owned();
    if trailing % 2 == 1 {
        escaped.push(LIKE_ESCAPE);
    }
    escaped
}

/// Rejects a submission in which two objects share (uniqueId, version).
fn check_unique_ids_in_submission(submission: &Submission) -> Result<(), StorageError> {
    let mut seen = BTreeSet::new();
    for object in &submission.objects {
        if !seen.insert((object.unique_id.as_str(), object.version)) {
            return Err(StorageError::DuplicateUniqueIdInSubmission {
                unique_id: object.unique_id.clone(),
                version: object.version,
            });
        }
    }
    Ok(())
}

impl Database {
    /// ITI-42 Register Document Set-b: writes a whole submission in one transaction.
    ///
    /// All-or-nothing: any failure leaves no row behind. Two objects of the submission with the
    /// same uniqueId and version fail with [`StorageError::DuplicateUniqueIdInSubmission`]; the
    /// uniqueness rules against registered objects are those of
    /// [`Database::register_with_changes`].
    pub async fn insert_submission(&self, submission: &Submission) -> Result<(), StorageError> {
        check_unique_ids_in_submission(submission)?;
        self.register_with_changes(submission, &RegisteredChanges::default())
            .await
    }

    /// ITI-57 status change of an object or association: `from` -> `to`, in a transaction.
    ///
    /// Fails with [`StorageError::StatusMismatch`] if the current status is not `from`, and with
    /// [`StorageError::NotFound`] if no object or association has this entryUUID.
    pub async fn update_status(
        &self,
        entry_uuid: &str,
        from: AvailabilityStatus,
        to: AvailabilityStatus,
    ) -> Result<(), StorageError> {
        on_backend!(self, |conn| {
            conn.transaction(async |conn| {
                let objects = diesel::update(
                    registry_objects::table
                        .filter(registry_objects::entry_uuid.eq(entry_uuid))
                        .filter(registry_objects::status.eq(from)),
                )
                .set(registry_objects::status.eq(to))
                .execute(conn)
                .await?;
                let changed = objects
                    + diesel::update(
                        associations::table
                            .filter(associations::entry_uuid.eq(entry_uuid))
                            .filter(associations::status.eq(from)),
                    )
                    .set(associations::status.eq(to))
                    .execute(conn)
                    .await?;
                if changed > 0 {
                    return Ok(());
                }
                let object_status: Option<AvailabilityStatus> = registry_objects::table
                    .filter(registry_objects::entry_uuid.eq(entry_uuid))
                    .select(registry_objects::status)
                    .first(conn)
                    .await
                    .optional()?;
                let actual = match object_status {
                    Some(status) => Some(status),
                    None => associations::table
                        .filter(associations::entry_uuid.eq(entry_uuid))
                        .select(associations::status)
                        .first(conn)
                        .await
                        .optional()?,
                };
                Err(match actual {
                    Some(actual) => StorageError::StatusMismatch {
                        entry_uuid: entry_uuid.to_owned(),
                        expected: from,
                        actual,
                    },
                    None => StorageError::NotFound {
                        entry_uuid: entry_uuid.to_owned(),
                    },
                })
            })
            .await
        })
    }

    /// ITI-62 Delete Document Set: removes the named objects and associations (with their codes,
    /// authors and reference ids) in one transaction.
    ///
    /// Every entryUUID must exist, else nothing is deleted and [`StorageError::NotFound`] names
    /// the first missing one. Returns the number of rows removed.
    pub async fn delete_objects(&self, entry_uuids: &[String]) -> Result<usize, StorageError> {
        let wanted: BTreeSet<&String> = entry_uuids.iter().collect();
        on_backend!(self, |conn| {
            conn.transaction(async |conn| {
                let mut deleted: Vec<String> = diesel::delete(
                    associations::table.filter(associations::entry_uuid.eq_any(entry_uuids)),
                )
                .returning(associations::entry_uuid)
                .get_results(conn)
                .await?;
                deleted.extend(
                    diesel::delete(
                        registry_objects::table
                            .filter(registry_objects::entry_uuid.eq_any(entry_uuids)),
                    )
                    .returning(registry_objects::entry_uuid)
                    .get_results::<String>(conn)
                    .await?,
                );
                let found: BTreeSet<&String> = deleted.iter().collect();
                if let Some(missing) = wanted.iter().find(|uuid| !found.contains(*uuid)) {
                    return Err(StorageError::NotFound {
                        entry_uuid: (*missing).clone(),
                    });
                }
                Ok(deleted.len())
            })
            .await
        })
    }

    /// ITI-18 GetDocuments / GetFolders / GetSubmissionSets by entryUUID.
    pub async fn objects_by_uuid(
        &self,
        entry_uuids: &[String],
    ) -> Result<Vec<StoredObject>, StorageError> {
        on_backend!(self, |conn, Db| {
            let mut query = registry_objects::table
                .select(StoredObject::as_select())
                .into_boxed::<Db>();
            filter_one_of!(query, registry_objects::entry_uuid, entry_uuids);
            Ok(query.load(conn).await?)
        })
    }

    /// ITI-18 GetDocuments / GetFolders by uniqueId: every version holding one of the uniqueIds.
    pub async fn objects_by_unique_id(
        &self,
        unique_ids: &[String],
    ) -> Result<Vec<StoredObject>, StorageError> {
        on_backend!(self, |conn, Db| {
            let mut query = registry_objects::table
                .select(StoredObject::as_select())
                .into_boxed::<Db>();
            filter_one_of!(query, registry_objects::unique_id, unique_ids);
            Ok(query.load(conn).await?)
        })
    }

    /// ITI-57: all versions of one logical object, oldest first.
    pub async fn versions_of(&self, logical_id: &str) -> Result<Vec<StoredObject>, StorageError> {
        on_backend!(self, |conn| {
            Ok(registry_objects::table
                .filter(registry_objects::logical_id.eq(logical_id))
                .order(registry_objects::version.asc())
                .select(StoredObject::as_select())
                .load(conn)
                .await?)
        })
    }

    /// ITI-18 GetAssociations support: associations by their own entryUUID.
    pub async fn associations_by_uuid(
        &self,
        entry_uuids: &[String],
    ) -> Result<Vec<StoredAssociation>, StorageError> {
        on_backend!(self, |conn| {
            Ok(associations::table
                .filter(associations::entry_uuid.eq_any(entry_uuids))
                .select(StoredAssociation::as_select())
                .load(conn)
                .await?)
        })
    }

    /// ITI-18 GetAssociations: associations whose source or target is one of `entry_uuids`.
    pub async fn associations_of(
        &self,
        entry_uuids: &[String],
    ) -> Result<Vec<StoredAssociation>, StorageError> {
        on_backend!(self, |conn| {
            Ok(associations::table
                .filter(
                    associations::source_uuid
                        .eq_any(entry_uuids)
                        .or(associations::target_uuid.eq_any(entry_uuids)),
                )
                .select(StoredAssociation::as_select())
                .load(conn)
                .await?)
        })
    }

    /// ITI-18 GetAll: every object of the patient and the associations touching them.
    pub async fn get_all_for_patient(
        &self,
        patient_id: &str,
    ) -> Result<PatientContents, StorageError> {
        on_backend!(self, |conn| {
            let objects = registry_objects::table
                .filter(registry_objects::patient_id.eq(patient_id))
                .select(StoredObject::as_select())
                .load(conn)
                .await?;
            let patient_uuids = registry_objects::table
                .filter(registry_objects::patient_id.eq(patient_id))
                .select(registry_objects::entry_uuid);
            let associations = associations::table
                .filter(
                    associations::source_uuid
                        .eq_any(patient_uuids)
                        .or(associations::target_uuid.eq_any(patient_uuids)),
                )
                .select(StoredAssociation::as_select())
                .load(conn)
                .await?;
            Ok(PatientContents {
                objects,
                associations,
            })
        })
    }

    /// ITI-18 FindDocuments and FindDocumentsByReferenceId.
    pub async fn find_documents(
        &self,
        filter: &ObjectFilter,
    ) -> Result<Vec<StoredObject>, StorageError> {
        self.find_objects(ObjectKind::DocumentEntry, filter).await
    }

    /// ITI-18 FindSubmissionSets.
    pub async fn find_submission_sets(
        &self,
        filter: &ObjectFilter,
    ) -> Result<Vec<StoredObject>, StorageError> {
        self.find_objects(ObjectKind::SubmissionSet, filter).await
    }

    /// ITI-18 FindFolders.
    pub async fn find_folders(
        &self,
        filter: &ObjectFilter,
    ) -> Result<Vec<StoredObject>, StorageError> {
        self.find_objects(ObjectKind::Folder, filter).await
    }

    /// The Find* queries: objects of one kind and patient narrowed by every set filter dimension.
    async fn find_objects(
        &self,
        kind: ObjectKind,
        filter: &ObjectFilter,
    ) -> Result<Vec<StoredObject>, StorageError> {
        use registry_objects::dsl as ro;
        on_backend!(self, |conn, Db| {
            let mut query = ro::registry_objects
                .filter(ro::patient_id.eq(&filter.patient_id))
                .filter(ro::kind.eq(kind))
                .select(StoredObject::as_select())
                .into_boxed::<Db>();
            if !filter.statuses.is_empty() {
                filter_one_of!(query, ro::status, filter.statuses.as_slice());
            }
            if !filter.object_types.is_empty() {
                filter_one_of!(query, ro::object_type, filter.object_types.as_slice());
            }
            if !filter.source_ids.is_empty() {
                filter_one_of!(query, ro::source_id, filter.source_ids.as_slice());
            }
            narrow_by_time!(query, filter.creation_time, ro::creation_time);
            narrow_by_time!(query, filter.service_start_time, ro::service_start_time);
            narrow_by_time!(query, filter.service_stop_time, ro::service_stop_time);
            narrow_by_time!(query, filter.submission_time, ro::submission_time);
            narrow_by_time!(query, filter.last_update_time, ro::last_update_time);
            for group in &filter.code_groups {
                let mut codes = object_codes::table
                    .select(object_codes::object_uuid)
                    .into_boxed::<Db>();
                if group.codes.is_empty() {
                    codes = codes.filter(object_codes::object_uuid.eq_any(Vec::<String>::new()));
                }
                for value in &group.codes {
                    codes = codes.or_filter(
                        object_codes::code
                            .eq(&value.code)
                            .and(object_codes::coding_scheme.eq(&value.coding_scheme)),
                    );
                }
                codes = codes.filter(object_codes::scheme.eq(&group.scheme));
                query = query.filter(ro::entry_uuid.eq_any(codes));
            }
            if !filter.author_persons.is_empty() {
                let mut authors = object_authors::table
                    .select(object_authors::object_uuid)
                    .into_boxed::<Db>();
                for pattern in &filter.author_persons {
                    authors = authors.or_filter(
                        object_authors::author_person
                            .like(like_pattern(pattern))
                            .escape(LIKE_ESCAPE),
                    );
                }
                query = query.filter(ro::entry_uuid.eq_any(authors));
            }
            if !filter.reference_ids.is_empty() {
                let references = object_reference_ids::table
                    .filter(object_reference_ids::reference_id.eq_any(&filter.reference_ids))
                    .select(object_reference_ids::object_uuid);
                query = query.filter(ro::entry_uuid.eq_any(references));
            }
            if let Some(limit) = filter.limit {
                query = query.limit(limit);
            }
            Ok(query.load(conn).await?)
        })
    }

    /// ITI-8 / ITI-44 Patient Identity Feed: records `patient_id` as an active patient.
    pub async fn upsert_patient(&self, patient_id: &str) -> Result<(), StorageError> {
        let record = PatientRecord {
            patient_id: patient_id.to_owned(),
            status: PatientStatus::Active,
            merged_into: None,
            updated_at: now_epoch_seconds(),
        };
        on_backend!(self, |conn| {
            diesel::insert_into(patients::table)
                .values(&record)
                .on_conflict(patients::patient_id)
                .do_update()
                .set((
                    patients::status.eq(PatientStatus::Active),
                    patients::merged_into.eq(None::<String>),
                    patients::updated_at.eq(record.updated_at),
                ))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// ITI-42 XDSUnknownPatientId check: `true` when the id is fed and not merged away.
    pub async fn patient_known(&self, patient_id: &str) -> Result<bool, StorageError> {
        Ok(self
            .patient(patient_id)
            .await?
            .is_some_and(|p| p.status == PatientStatus::Active))
    }

    /// The `patients` row of `patient_id`, if fed.
    pub async fn patient(&self, patient_id: &str) -> Result<Option<PatientRecord>, StorageError> {
        on_backend!(self, |conn| {
            Ok(patients::table
                .find(patient_id)
                .select(PatientRecord::as_select())
                .first(conn)
                .await
                .optional()?)
        })
    }

    /// ITI TF-2a 3.8 merge: in one transaction re-points every object of `subsumed` to
    /// `surviving`, marks `subsumed` merged (and earlier merges into it now point at `surviving`).
    /// Returns the number of objects re-pointed.
    pub async fn merge_patients(
        &self,
        subsumed: &str,
        surviving: &str,
    ) -> Result<usize, StorageError> {
        let now = now_epoch_seconds();
        let surviving_record = PatientRecord {
            patient_id: surviving.to_owned(),
            status: PatientStatus::Active,
            merged_into: None,
            updated_at: now,
        };
        let subsumed_record = PatientRecord {
            patient_id: subsumed.to_owned(),
            status: PatientStatus::Merged,
            merged_into: Some(surviving.to_owned()),
            updated_at: now,
        };
        on_backend!(self, |conn| {
            conn.transaction(async |conn| {
                diesel::insert_into(patients::table)
                    .values(&surviving_record)
                    .on_conflict(patients::patient_id)
                    .do_nothing()
                    .execute(conn)
                    .await?;
                diesel::insert_into(patients::table)
                    .values(&subsumed_record)
                    .on_conflict(patients::patient_id)
                    .do_update()
                    .set((
                        patients::status.eq(PatientStatus::Merged),
                        patients::merged_into.eq(surviving),
                        patients::updated_at.eq(now),
                    ))
                    .execute(conn)
                    .await?;
                diesel::update(patients::table.filter(patients::merged_into.eq(subsumed)))
                    .set(patients::merged_into.eq(surviving))
                    .execute(conn)
                    .await?;
                let moved = diesel::update(
                    registry_objects::table.filter(registry_objects::patient_id.eq(subsumed)),
                )
                .set(registry_objects::patient_id.eq(surviving))
                .execute(conn)
                .await?;
                Ok(moved)
            })
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use diesel::pg::Pg;
    use diesel::prelude::*;
    use diesel::sqlite::Sqlite;

    use crate::storage::schema::registry_objects;

    /// The SQL of a lookup by `unique_ids` narrowed by `filter_one_of!` on backend `$db`.
    macro_rules! unique_id_lookup {
        ($db:ty, $unique_ids:expr) => {{
            let unique_ids: &[String] = $unique_ids;
            let mut query = registry_objects::table
                .select(registry_objects::entry_uuid)
                .into_boxed::<$db>();
            filter_one_of!(query, registry_objects::unique_id, unique_ids);
            diesel::debug_query::<$db, _>(&query).to_string()
        }};
    }

    #[test]
    fn one_value_is_a_plain_equality_on_both_backends() {
        let one = ["1.2.3".to_owned()];
        let pg = unique_id_lookup!(Pg, &one);
        assert!(
            pg.contains("\"registry_objects\".\"unique_id\" = $1"),
            "{pg}"
        );
        let sqlite = unique_id_lookup!(Sqlite, &one);
        assert!(
            sqlite.contains("`registry_objects`.`unique_id` = ?"),
            "{sqlite}"
        );
    }

    #[test]
    fn several_values_are_one_membership_test() {
        let two = ["1.2.3".to_owned(), "1.2.4".to_owned()];
        let pg = unique_id_lookup!(Pg, &two);
        assert!(pg.contains("= ANY($1)"), "{pg}");
        let sqlite = unique_id_lookup!(Sqlite, &two);
        assert!(sqlite.contains("IN (?, ?)"), "{sqlite}");
    }
}
