//! The document index: an embedded SQLite table (diesel, as the registry) mapping
//! (repositoryUniqueId, document uniqueId) to stored content, with its `pending`/`registered`
//! state.
//!
//! Why SQLite rather than a sidecar file per document: a lookup by uniqueId is an indexed query
//! instead of a scan, the state change of all documents of one submission is one atomic UPDATE,
//! and crash safety (journal, `synchronous = FULL`) comes with the engine instead of being
//! rebuilt with rename tricks.

use std::path::Path;
use std::time::Duration;

use diesel::SqliteConnection;
use diesel::prelude::*;
use diesel::result::ConnectionError;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::schema::documents;
use super::{StorageKey, StoreError};

type SqliteConn = SyncConnectionWrapper<SqliteConnection>;
type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");
const POOL_SIZE: usize = 4;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the index failed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("repository index {path}: connection pool: {source}")]
    Pool {
        path: String,
        #[source]
        source: BoxError,
    },
    #[error("repository index: migrations failed: {0}")]
    Migration(#[source] BoxError),
    #[error("repository index: query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("repository index: {0}")]
    Key(#[from] StoreError),
    #[error("repository index: unknown document state {0:?}")]
    UnknownState(String),
    #[error("repository index: {expected} pending documents to register, {found} found")]
    NotPending { expected: usize, found: usize },
}

/// Where a document is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentState {
    /// Content stored (or being stored), the registry has not accepted it (yet).
    Pending,
    /// The registry accepted the submission: the document is served.
    Registered,
    /// ITI-86 is removing it: no longer served, content being deleted.
    Removing,
}

impl DocumentState {
    fn as_str(self) -> &'static str {
        match self {
            DocumentState::Pending => "pending",
            DocumentState::Registered => "registered",
            DocumentState::Removing => "removing",
        }
    }

    fn parse(value: &str) -> Result<Self, IndexError> {
        match value {
            "pending" => Ok(DocumentState::Pending),
            "registered" => Ok(DocumentState::Registered),
            "removing" => Ok(DocumentState::Removing),
            other => Err(IndexError::UnknownState(other.to_owned())),
        }
    }
}

/// A document about to be stored (ITI-41).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDocument {
    pub key: StorageKey,
    pub repository_unique_id: String,
    pub document_unique_id: String,
    pub mime_type: String,
}

/// One index row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedDocument {
    pub key: StorageKey,
    pub repository_unique_id: String,
    pub document_unique_id: String,
    pub mime_type: String,
    /// SHA-1 (hex), known once the content is committed.
    pub hash: Option<String>,
    /// Size in bytes, known once the content is committed.
    pub size: Option<i64>,
    pub state: DocumentState,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = documents)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite))]
struct Row {
    storage_key: String,
    repository_unique_id: String,
    document_unique_id: String,
    mime_type: String,
    hash: Option<String>,
    size: Option<i64>,
    state: String,
    created_at: i64,
}

impl Row {
    fn into_document(self) -> Result<IndexedDocument, IndexError> {
        Ok(IndexedDocument {
            key: StorageKey::parse(&self.storage_key)?,
            repository_unique_id: self.repository_unique_id,
            document_unique_id: self.document_unique_id,
            mime_type: self.mime_type,
            hash: self.hash,
            size: self.size,
            state: DocumentState::parse(&self.state)?,
            created_at: self.created_at,
        })
    }
}

/// The repository's document index (SQLite file, WAL journal, `synchronous = FULL`).
#[derive(Clone)]
pub struct DocumentIndex {
    pool: Pool<SqliteConn>,
}

impl std::fmt::Debug for DocumentIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DocumentIndex")
    }
}

macro_rules! with_conn {
    ($self:expr, |$conn:ident| $body:expr) => {{
        let mut pooled = $self.pool.get().await.map_err(|e| IndexError::Pool {
            path: String::new(),
            source: Box::new(e),
        })?;
        let $conn: &mut SqliteConn = &mut pooled;
        $body
    }};
}

impl DocumentIndex {
    /// Opens (creating if needed) the index file at `path` and runs its migrations.
    pub async fn open(path: &Path) -> Result<Self, IndexError> {
        let path = path.display().to_string();
        let pool_error = |source: BoxError| IndexError::Pool {
            path: path.clone(),
            source,
        };
        let mut config = ManagerConfig::<SqliteConn>::default();
        config.recycling_method = RecyclingMethod::Fast;
        config.custom_setup = Box::new(|path| Box::pin(open_sqlite(path.to_owned())));
        let manager = AsyncDieselConnectionManager::<SqliteConn>::new_with_config(&path, config);
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| pool_error(Box::new(e)))?;
        let mut conn = pool.get().await.map_err(|e| pool_error(Box::new(e)))?;
        let outcome = conn
            .spawn_blocking(|sync_conn| {
                Ok(sync_conn.run_pending_migrations(MIGRATIONS).map(|_| ()))
            })
            .await?;
        outcome.map_err(IndexError::Migration)?;
        drop(conn);
        Ok(DocumentIndex { pool })
    }

    /// ITI-41: records a document as `pending` before any of its content is written.
    pub async fn insert_pending(&self, document: &NewDocument) -> Result<(), IndexError> {
        let row = Row {
            storage_key: document.key.as_str().to_owned(),
            repository_unique_id: document.repository_unique_id.clone(),
            document_unique_id: document.document_unique_id.clone(),
            mime_type: document.mime_type.clone(),
            hash: None,
            size: None,
            state: DocumentState::Pending.as_str().to_owned(),
            created_at: super::now_millis(),
        };
        with_conn!(self, |conn| {
            diesel::insert_into(documents::table)
                .values(&row)
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// ITI-41: the hash and size computed while the content was stored.
    pub async fn set_content(
        &self,
        key: &StorageKey,
        hash: &str,
        size: u64,
    ) -> Result<(), IndexError> {
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        with_conn!(self, |conn| {
            diesel::update(documents::table.find(key.as_str()))
                .set((documents::hash.eq(hash), documents::size.eq(size)))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// ITI-41 after the registry's Success: all `keys` become `registered` at once, or none
    /// (when one of them is not pending any more). The commit is not synced to disk
    /// (`synchronous = NORMAL` for this one transaction): the registry holds the documents by
    /// now, and a mark a power cut loses leaves them `pending` with their hash recorded, which
    /// the next start's reconciliation marks again from the registry's answer
    /// (`crate::recovery`). The submitter waits for one fsync less.
    pub async fn mark_registered(&self, keys: &[StorageKey]) -> Result<(), IndexError> {
        let keys: Vec<&str> = keys.iter().map(StorageKey::as_str).collect();
        let expected = keys.len();
        let mut pooled = self.pool.get().await.map_err(|e| IndexError::Pool {
            path: String::new(),
            source: Box::new(e),
        })?;
        let conn: &mut SqliteConn = &mut pooled;
        conn.batch_execute("PRAGMA synchronous = NORMAL").await?;
        let outcome = conn
            .transaction::<_, IndexError, _>(async |conn| {
                let found = diesel::update(
                    documents::table
                        .filter(documents::storage_key.eq_any(&keys))
                        .filter(documents::state.eq(DocumentState::Pending.as_str())),
                )
                .set(documents::state.eq(DocumentState::Registered.as_str()))
                .execute(conn)
                .await?;
                if found == expected {
                    Ok(())
                } else {
                    Err(IndexError::NotPending { expected, found })
                }
            })
            .await;
        if conn
            .batch_execute("PRAGMA synchronous = FULL")
            .await
            .is_err()
        {
            // A connection that would commit without syncing never goes back to the pool.
            drop(Object::take(pooled));
        }
        outcome
    }

    /// Drops the rows of `keys` (their content must be removed first).
    pub async fn remove(&self, keys: &[StorageKey]) -> Result<(), IndexError> {
        let keys: Vec<&str> = keys.iter().map(StorageKey::as_str).collect();
        with_conn!(self, |conn| {
            diesel::delete(documents::table.filter(documents::storage_key.eq_any(&keys)))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// ITI-43: the registered document with this uniqueId in this repository.
    pub async fn find_registered(
        &self,
        repository_unique_id: &str,
        document_unique_id: &str,
    ) -> Result<Option<IndexedDocument>, IndexError> {
        let row: Option<Row> = with_conn!(self, |conn| {
            documents::table
                .filter(documents::repository_unique_id.eq(repository_unique_id))
                .filter(documents::document_unique_id.eq(document_unique_id))
                .filter(documents::state.eq(DocumentState::Registered.as_str()))
                .order(documents::created_at.asc())
                .select(Row::as_select())
                .first(conn)
                .await
                .optional()?
        });
        row.map(Row::into_document).transpose()
    }

    /// The row of one key, whatever its state.
    pub async fn get(&self, key: &StorageKey) -> Result<Option<IndexedDocument>, IndexError> {
        let row: Option<Row> = with_conn!(self, |conn| {
            documents::table
                .find(key.as_str())
                .select(Row::as_select())
                .first(conn)
                .await
                .optional()?
        });
        row.map(Row::into_document).transpose()
    }

    /// Every row, oldest first (operations and tests).
    pub async fn all(&self) -> Result<Vec<IndexedDocument>, IndexError> {
        let rows: Vec<Row> = with_conn!(self, |conn| {
            documents::table
                .order((documents::created_at.asc(), documents::storage_key.asc()))
                .select(Row::as_select())
                .load(conn)
                .await?
        });
        rows.into_iter().map(Row::into_document).collect()
    }

    /// Keys of the `pending` rows created before `cutoff_millis` whose content was never
    /// recorded: they were never offered to the registry (the start sweep removes them).
    pub async fn pending_unoffered_before(
        &self,
        cutoff_millis: i64,
    ) -> Result<Vec<StorageKey>, IndexError> {
        let keys: Vec<String> = with_conn!(self, |conn| {
            documents::table
                .filter(documents::state.eq(DocumentState::Pending.as_str()))
                .filter(documents::created_at.lt(cutoff_millis))
                .filter(documents::hash.is_null())
                .select(documents::storage_key)
                .load(conn)
                .await?
        });
        parse_keys(&keys)
    }

    /// The `pending` rows created before `cutoff_millis` whose content was recorded: the
    /// registry may have accepted them before the process that stored them stopped.
    pub async fn pending_offered_before(
        &self,
        cutoff_millis: i64,
    ) -> Result<Vec<IndexedDocument>, IndexError> {
        let rows: Vec<Row> = with_conn!(self, |conn| {
            documents::table
                .filter(documents::state.eq(DocumentState::Pending.as_str()))
                .filter(documents::created_at.lt(cutoff_millis))
                .filter(documents::hash.is_not_null())
                .order(documents::created_at.asc())
                .select(Row::as_select())
                .load(conn)
                .await?
        });
        rows.into_iter().map(Row::into_document).collect()
    }

    /// ITI-86: the keys of every registered copy of this document in this repository.
    pub async fn registered_keys(
        &self,
        repository_unique_id: &str,
        document_unique_id: &str,
    ) -> Result<Vec<StorageKey>, IndexError> {
        let keys: Vec<String> = with_conn!(self, |conn| {
            documents::table
                .filter(documents::repository_unique_id.eq(repository_unique_id))
                .filter(documents::document_unique_id.eq(document_unique_id))
                .filter(documents::state.eq(DocumentState::Registered.as_str()))
                .select(documents::storage_key)
                .load(conn)
                .await?
        });
        parse_keys(&keys)
    }

    /// ITI-86: `keys` stop being served (state `removing`) before their content is deleted;
    /// returns how many rows changed.
    pub async fn mark_removing(&self, keys: &[StorageKey]) -> Result<usize, IndexError> {
        let keys: Vec<&str> = keys.iter().map(StorageKey::as_str).collect();
        with_conn!(self, |conn| {
            Ok(diesel::update(
                documents::table
                    .filter(documents::storage_key.eq_any(&keys))
                    .filter(documents::state.eq(DocumentState::Registered.as_str())),
            )
            .set(documents::state.eq(DocumentState::Removing.as_str()))
            .execute(conn)
            .await?)
        })
    }

    /// Keys of the rows an ITI-86 removal left in state `removing` (a crash during it).
    pub async fn removing(&self) -> Result<Vec<StorageKey>, IndexError> {
        let keys: Vec<String> = with_conn!(self, |conn| {
            documents::table
                .filter(documents::state.eq(DocumentState::Removing.as_str()))
                .select(documents::storage_key)
                .load(conn)
                .await?
        });
        parse_keys(&keys)
    }
}

fn parse_keys(keys: &[String]) -> Result<Vec<StorageKey>, IndexError> {
    keys.iter()
        .map(|k| StorageKey::parse(k).map_err(IndexError::from))
        .collect()
}

/// One SQLite connection: WAL journal and `synchronous = FULL`, so that a committed state change
/// survives a power loss, not only a process crash.
async fn open_sqlite(path: String) -> Result<SqliteConn, ConnectionError> {
    let mut conn = SqliteConn::establish(&path).await?;
    let pragmas = format!(
        "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;",
        BUSY_TIMEOUT.as_millis()
    );
    conn.batch_execute(&pragmas)
        .await
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(QueryableByName)]
    struct Synchronous {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        synchronous: i32,
    }

    /// `PRAGMA synchronous` of each of the pool's connections, all held at once.
    async fn synchronous_of_every_connection(index: &DocumentIndex) -> Vec<i32> {
        let mut held = Vec::new();
        for _ in 0..POOL_SIZE {
            held.push(index.pool.get().await.expect("connection"));
        }
        let mut levels = Vec::new();
        for conn in &mut held {
            let conn: &mut SqliteConn = conn;
            let rows: Vec<Synchronous> = diesel::sql_query("PRAGMA synchronous")
                .load(conn)
                .await
                .expect("pragma read");
            levels.extend(rows.into_iter().map(|row| row.synchronous));
        }
        levels
    }

    #[tokio::test]
    async fn every_connection_commits_with_full_sync_after_a_registration_mark() {
        let dir = tempfile::tempdir().expect("temp folder");
        let index = DocumentIndex::open(&dir.path().join("index.db"))
            .await
            .expect("index opens");
        let key = StorageKey::generate();
        index
            .insert_pending(&NewDocument {
                key: key.clone(),
                repository_unique_id: "1.2.3".to_owned(),
                document_unique_id: "1.2.3.4".to_owned(),
                mime_type: "text/plain".to_owned(),
            })
            .await
            .expect("pending row");
        index.set_content(&key, "00", 1).await.expect("content");
        index
            .mark_registered(std::slice::from_ref(&key))
            .await
            .expect("marked");
        const FULL: i32 = 2;
        assert_eq!(
            synchronous_of_every_connection(&index).await,
            vec![FULL; POOL_SIZE]
        );
    }
}
