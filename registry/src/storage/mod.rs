//! Registry storage: DocumentEntries, SubmissionSets, Folders, Associations and known patients,
//! on SQLite (embedded default) or PostgreSQL, with the same diesel query code for both.
//!
//! Design notes:
//! - uniqueId: shared by the versions of one logical object (ITI-57 keeps it immutable; each
//!   version once, by a unique index on (logicalID, version)) and by DocumentEntries of
//!   identical hash and size resubmitted under it (ITI-42, NIST test 12004), each an entry of its
//!   own. Any other reuse is XDSDuplicateUniqueIdInRegistry, checked inside the registering
//!   transaction.
//! - Times are HL7 DTM text compared as text (From `>=`, To `<`): callers store and query with
//!   the same precision.
//! - authorPerson matching is SQL `LIKE` (`%`, `_`, escape `\`), case-sensitive on both
//!   backends: SQLite connections set `PRAGMA case_sensitive_like`.
//! - SQLite transactions write before they read, so a transaction takes the write lock (waiting
//!   up to the busy timeout) instead of failing on a stale read snapshot.
//! - On SQLite every ITI-42 / ITI-57 registration goes through one writer that commits the
//!   registrations queued meanwhile in one transaction, each in a savepoint ([`SqlitePool`]):
//!   one fsync per group, each answered only after its group's commit.
//! - On PostgreSQL the write transactions of ITI-42, ITI-57 and ITI-62 run SERIALIZABLE
//!   ([`write_isolation`]): a registration that references an object and a removal of that object
//!   cannot both commit; the loser's serialization failure is retried ([`WRITE_ATTEMPTS`]).

mod child_rows;
mod error;
mod filter;
mod group_commit;
pub mod lifecycle_support;
mod model;
mod ops;
mod register_support;
pub mod schema;
mod sqlite_calls;

use std::time::Duration;

use diesel::SqliteConnection;
use diesel::result::ConnectionError;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use error::{BoxError, StorageError};
pub use filter::{CodeGroup, CodeValue, ObjectFilter, TimeRange};
pub use group_commit::SqlitePool;
pub use model::{
    AvailabilityStatus, DocumentEntryType, NewAssociation, NewAuthor, NewCode, NewObject,
    NewReferenceId, ObjectKind, PatientContents, PatientRecord, PatientStatus, StoredAssociation,
    StoredObject, Submission,
};
pub use register_support::{FolderUpdate, RegisteredChanges, StatusChange};
pub use sqlite_calls::SqliteCalls;

/// How many times a write transaction aborted by a PostgreSQL serialization failure is run.
pub const WRITE_ATTEMPTS: usize = 16;

/// Longest pause before running an aborted write transaction again.
const MAX_RETRY_PAUSE: Duration = Duration::from_millis(50);

/// Waits a random time that grows with `attempt` (1 ms, 2 ms, 4 ms, ... up to
/// [`MAX_RETRY_PAUSE`]) before a retry, so transactions that conflicted do not meet again at once.
async fn pause_before_retry(attempt: usize) {
    let ceiling = Duration::from_millis(1 << attempt.min(16)).min(MAX_RETRY_PAUSE);
    // Jitter from the clock's sub-second digits: enough to spread concurrent retries.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let ceiling_nanos = u32::try_from(ceiling.as_nanos()).unwrap_or(u32::MAX).max(1);
    tokio::time::sleep(Duration::from_nanos(u64::from(nanos % ceiling_nanos))).await;
}

/// The statement opening a write transaction at SERIALIZABLE isolation (PostgreSQL).
const SERIALIZABLE: &str = "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE";

/// ITI-42 / ITI-57 / ITI-62 write transactions: the first statement of the transaction sets
/// SERIALIZABLE isolation on PostgreSQL; SQLite transactions are serialised by its writer lock.
macro_rules! write_isolation {
    ($db:expr, $conn:ident) => {
        if matches!($db, $crate::storage::Database::Postgres(_)) {
            diesel_async::RunQueryDsl::execute(
                diesel::sql_query($crate::storage::SERIALIZABLE),
                $conn,
            )
            .await?;
        }
    };
}
pub(crate) use write_isolation;

/// Async SQLite connection: diesel's sync `SqliteConnection` run on tokio's blocking pool (in
/// place on the group-commit writer's thread, see [`SqliteCalls`]).
pub type SqliteConn = SyncConnectionWrapper<SqliteConnection, SqliteCalls>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

const SQLITE: &str = "SQLite";
const POSTGRES: &str = "PostgreSQL";

/// Connections per pool for a SQLite file (SQLite serialises writers; readers run in parallel).
const SQLITE_POOL_SIZE: usize = 4;
/// Connections per pool for PostgreSQL.
const POSTGRES_POOL_SIZE: usize = 16;
/// Bytes of a SQLite file read through a memory map (address space, not memory; SQLite caps it
/// at its compile-time maximum, 2 GiB).
const SQLITE_MMAP_BYTES: u64 = 1 << 31;
/// How long a SQLite writer waits for the write lock before failing with SQLITE_BUSY.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The registry database: a connection pool on one of the supported backends.
#[derive(Clone)]
pub enum Database {
    /// Embedded SQLite (file or in-memory), registrations group-committed by one writer.
    Sqlite(SqlitePool),
    /// PostgreSQL over tokio-postgres.
    Postgres(Pool<AsyncPgConnection>),
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sqlite(_) => "Database::Sqlite",
            Self::Postgres(_) => "Database::Postgres",
        })
    }
}

/// Runs the same diesel code on whichever backend `$db` holds.
///
/// `|conn|` binds a `&mut` async connection; `|conn, Db|` also binds a type alias `Db` for the
/// backend (for `into_boxed::<Db>()`). The body is compiled once per backend.
macro_rules! on_backend {
    ($db:expr, |$conn:ident| $body:expr) => {
        on_backend!($db, |$conn, _Backend| $body)
    };
    ($db:expr, |$conn:ident, $backend:ident| $body:expr) => {{
        match $db {
            $crate::storage::Database::Sqlite(pool) => {
                #[allow(dead_code)]
                type $backend = diesel::sqlite::Sqlite;
                let mut pooled = pool
                    .get()
                    .await
                    .map_err(|e| $crate::storage::StorageError::pool("SQLite", e))?;
                let $conn: &mut $crate::storage::SqliteConn = &mut pooled;
                $body
            }
            $crate::storage::Database::Postgres(pool) => {
                #[allow(dead_code)]
                type $backend = diesel::pg::Pg;
                let mut pooled = pool
                    .get()
                    .await
                    .map_err(|e| $crate::storage::StorageError::pool("PostgreSQL", e))?;
                let $conn: &mut diesel_async::AsyncPgConnection = &mut pooled;
                $body
            }
        }
    }};
}
pub(crate) use on_backend;

impl Database {
    /// Opens the database named by `url` and runs pending migrations.
    ///
    /// `postgres://...` / `postgresql://...` select PostgreSQL; `sqlite://PATH`, `sqlite::memory:`
    /// or a plain file path select SQLite (WAL journal, busy timeout, foreign keys on).
    pub async fn connect(url: &str) -> Result<Self, StorageError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::connect_postgres(url).await
        } else if url == "sqlite::memory:" {
            Self::connect_sqlite(":memory:", 1).await
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            Self::connect_sqlite(path, SQLITE_POOL_SIZE).await
        } else if url.contains("://") || url.is_empty() {
            Err(StorageError::UnsupportedUrl {
                url: url.to_owned(),
            })
        } else {
            Self::connect_sqlite(url, SQLITE_POOL_SIZE).await
        }
    }

    /// The backend's name, for logs.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => SQLITE,
            Self::Postgres(_) => POSTGRES,
        }
    }

    async fn connect_sqlite(path: &str, pool_size: usize) -> Result<Self, StorageError> {
        let mut config = ManagerConfig::<SqliteConn>::default();
        config.recycling_method = RecyclingMethod::Fast;
        config.custom_setup = Box::new(|path| Box::pin(open_sqlite(path.to_owned())));
        let manager = AsyncDieselConnectionManager::<SqliteConn>::new_with_config(path, config);
        // An in-memory database lives in its one connection, so that pool holds exactly one.
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .build()
            .map_err(|e| StorageError::pool(SQLITE, e))?;
        let mut conn = pool
            .get()
            .await
            .map_err(|e| StorageError::pool(SQLITE, e))?;
        let outcome = conn
            .spawn_blocking(|sync_conn| {
                Ok(sync_conn
                    .run_pending_migrations(SQLITE_MIGRATIONS)
                    .map(|_| ()))
            })
            .await?;
        outcome.map_err(|source| StorageError::Migration {
            backend: SQLITE,
            source,
        })?;
        drop(conn);
        Ok(Self::Sqlite(SqlitePool::start(pool)?))
    }

    async fn connect_postgres(url: &str) -> Result<Self, StorageError> {
        let migration_url = url.to_owned();
        // The migration harness is synchronous: run it on a blocking thread over a wrapped async
        // connection, which works on both the current-thread and the multi-thread runtime.
        tokio::task::spawn_blocking(move || -> Result<(), StorageError> {
            let mut conn =
                <AsyncConnectionWrapper<AsyncPgConnection> as diesel::Connection>::establish(
                    &migration_url,
                )
                .map_err(|e| StorageError::pool(POSTGRES, e))?;
            conn.run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|_| ())
                .map_err(|source| StorageError::Migration {
                    backend: POSTGRES,
                    source,
                })
        })
        .await
        .map_err(|e| StorageError::Migration {
            backend: POSTGRES,
            source: e.into(),
        })??;

        let mut config = ManagerConfig::<AsyncPgConnection>::default();
        config.recycling_method = RecyclingMethod::Fast;
        let manager =
            AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
        let pool = Pool::builder(manager)
            .max_size(POSTGRES_POOL_SIZE)
            .build()
            .map_err(|e| StorageError::pool(POSTGRES, e))?;
        Ok(Self::Postgres(pool))
    }
}

/// Opens one SQLite connection with the registry's pragmas.
///
/// `synchronous = FULL`: a registration the registry acknowledged survives a power loss (the
/// repository's recovery trusts the registry's answer; a lost row would make it sweep a
/// registered document).
///
/// Savepoint and statement journals (`temp_store = MEMORY`) stay in memory: they only serve a
/// rollback inside a transaction and are never read after a crash, but in a temporary file they
/// cost the group-commit writer one `pwrite` per page each registration's savepoint first
/// changes (measured: three times as many as its WAL writes).
///
/// Reads go through a memory map of the first [`SQLITE_MMAP_BYTES`] of the file: an ITI-18
/// answer touches a few hundred pages (index, rows, fragment overflow pages), which are then
/// read in place instead of copied by one `pread` each.
async fn open_sqlite(path: String) -> Result<SqliteConn, ConnectionError> {
    let mut conn = SqliteConn::establish(&path).await?;
    let pragmas = format!(
        "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA case_sensitive_like = ON; PRAGMA temp_store = MEMORY; PRAGMA mmap_size = {SQLITE_MMAP_BYTES};",
        SQLITE_BUSY_TIMEOUT.as_millis()
    );
    conn.batch_execute(&pragmas)
        .await
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use diesel::sql_types::Integer;
    use diesel_async::RunQueryDsl;

    use super::Database;

    #[derive(diesel::QueryableByName)]
    struct TempStore {
        #[diesel(sql_type = Integer)]
        temp_store: i32,
    }

    #[tokio::test]
    async fn sqlite_journals_of_savepoints_stay_in_memory() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("registry.db");
        let Ok(Database::Sqlite(pool)) =
            Database::connect(&format!("sqlite://{}", path.display())).await
        else {
            panic!("a SQLite database");
        };
        let mut conn = pool.get().await.expect("connection");
        let setting: TempStore = diesel::sql_query("PRAGMA temp_store")
            .get_result(&mut *conn)
            .await
            .expect("temp_store");
        // 2 = MEMORY.
        assert_eq!(setting.temp_store, 2);
    }
}
