//! ITI-42 / ITI-57: writing a submission's codes, authors, referenceIdList values and
//! Associations inside the registration transaction, the fastest way each backend allows:
//! one multi-row INSERT per table on PostgreSQL (one round trip each), and on SQLite every row
//! in one hop to the connection's blocking thread (no round trips; one hop instead of one per
//! row).

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::SqliteConn;
use super::error::StorageError;
use super::model::{NewAssociation, NewAuthor, NewCode, NewReferenceId};
use super::schema::{associations, object_authors, object_codes, object_reference_ids};

/// Rows per multi-row INSERT (well below PostgreSQL's 65,535 bound parameters).
const ROWS_PER_INSERT: usize = 1000;

/// The rows a submission adds besides its registry objects.
pub(super) struct ChildRows {
    pub codes: Vec<NewCode>,
    pub authors: Vec<NewAuthor>,
    pub reference_ids: Vec<NewReferenceId>,
    pub associations: Vec<NewAssociation>,
}

/// Writes [`ChildRows`] on the connection of a registration transaction. A repeated
/// Association entryUUID (registered before, or twice in the submission) is
/// [`StorageError::DuplicateEntryUuid`].
pub(super) trait WriteChildRows {
    async fn write_child_rows(&mut self, rows: ChildRows) -> Result<(), StorageError>;
}

impl WriteChildRows for AsyncPgConnection {
    async fn write_child_rows(&mut self, rows: ChildRows) -> Result<(), StorageError> {
        for chunk in rows.codes.chunks(ROWS_PER_INSERT) {
            diesel::insert_into(object_codes::table)
                .values(chunk)
                .execute(self)
                .await?;
        }
        for chunk in rows.authors.chunks(ROWS_PER_INSERT) {
            diesel::insert_into(object_authors::table)
                .values(chunk)
                .execute(self)
                .await?;
        }
        for chunk in rows.reference_ids.chunks(ROWS_PER_INSERT) {
            diesel::insert_into(object_reference_ids::table)
                .values(chunk)
                .execute(self)
                .await?;
        }
        for chunk in rows.associations.chunks(ROWS_PER_INSERT) {
            let inserted: Vec<String> = diesel::insert_into(associations::table)
                .values(chunk)
                .on_conflict(associations::entry_uuid)
                .do_nothing()
                .returning(associations::entry_uuid)
                .get_results(self)
                .await?;
            if let Some(repeated) = first_not_inserted(chunk, &inserted) {
                return Err(StorageError::DuplicateEntryUuid {
                    entry_uuid: repeated.to_owned(),
                });
            }
        }
        Ok(())
    }
}

impl WriteChildRows for SqliteConn {
    async fn write_child_rows(&mut self, rows: ChildRows) -> Result<(), StorageError> {
        self.spawn_blocking(move |conn| {
            for row in &rows.codes {
                diesel::RunQueryDsl::execute(
                    diesel::insert_into(object_codes::table).values(row),
                    conn,
                )?;
            }
            for row in &rows.authors {
                diesel::RunQueryDsl::execute(
                    diesel::insert_into(object_authors::table).values(row),
                    conn,
                )?;
            }
            for row in &rows.reference_ids {
                diesel::RunQueryDsl::execute(
                    diesel::insert_into(object_reference_ids::table).values(row),
                    conn,
                )?;
            }
            for row in &rows.associations {
                let inserted = diesel::insert_into(associations::table).values(row);
                match diesel::RunQueryDsl::execute(inserted, conn) {
                    Ok(_) => {}
                    Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                        return Ok(Err(StorageError::DuplicateEntryUuid {
                            entry_uuid: row.entry_uuid.clone(),
                        }));
                    }
                    Err(other) => return Err(other),
                }
            }
            Ok(Ok(()))
        })
        .await?
    }
}

/// The entryUUID of the first Association of `rows` that an `ON CONFLICT DO NOTHING` insert
/// skipped (`inserted` are the entryUUIDs it wrote): registered before, or repeated in `rows`.
fn first_not_inserted<'a>(rows: &'a [NewAssociation], inserted: &[String]) -> Option<&'a str> {
    if inserted.len() == rows.len() {
        return None;
    }
    let mut written: std::collections::BTreeSet<&str> =
        inserted.iter().map(String::as_str).collect();
    rows.iter()
        .map(|row| row.entry_uuid.as_str())
        .find(|uuid| !written.remove(uuid))
}
