//! MPI storage: records of each identifier domain, persons with their affinity-domain ids, links,
//! blocking keys, matching decisions, the review queue and the link history, on SQLite (embedded
//! default) or PostgreSQL with the same diesel code.
//!
//! Every operation that changes identities runs in one database transaction (on SQLite a
//! savepoint of a group commit, see `sqlite`), so a message is stored whole or not at all. On
//! SQLite one writer thread runs every change in arrival order, so each feed sees the records
//! fed before it.

mod ahead;
mod error;
mod model;
mod ops;
pub mod schema;
mod sqlite;

use std::time::Duration;

use std::sync::Arc;

use diesel::result::ConnectionError;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use error::{BoxError, StorageError};
pub use model::{
    FeedOutcome, HistoryEntry, KeysHeld, PatientKey, PersonIdentity, PersonsMerged, ReviewItem,
    StoredDecision, StoredRecord,
};

pub use sqlite::SqliteConn;
use sqlite::{Sqlite, run};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

const SQLITE: &str = "SQLite";
const POSTGRES: &str = "PostgreSQL";

/// Read connections per pool for a SQLite file (writes have the writer's own).
const SQLITE_POOL_SIZE: usize = 4;
/// Connections per pool for PostgreSQL.
const POSTGRES_POOL_SIZE: usize = 16;
/// How long a SQLite writer waits for the write lock before failing with SQLITE_BUSY.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of the file the SQLite writer reads through a memory map instead of a copy per
/// page (SQLite caps it at its compile-time maximum, 2 GiB by default). Reader connections map
/// nothing: SQLite unmaps a connection's whole map when a read transaction finds the WAL
/// changed, which under a feed is every read, and each read then faulted its pages in again
/// (`munmap` and page faults were 20% of the reads that match feeds ahead, 2026-11-25).
const SQLITE_MMAP_BYTES: u64 = 1 << 31;
/// WAL pages after which the writer's commit copies the WAL back into the database file (SQLite's
/// default is 1,000): a page rewritten by many group commits (the last page of each table and
/// index) is copied once per checkpoint, and the database file written and synced less often.
/// Kept under the 4,096 frames of one WAL-index hash table: a page looked up in a longer WAL
/// searches one table more (measured: 16,000 pages spent more in those lookups than it saved).
const SQLITE_WAL_AUTOCHECKPOINT_PAGES: u32 = 4_000;

/// The MPI database: a connection pool on one of the supported backends.
#[derive(Clone)]
pub enum Database {
    /// Embedded SQLite (file or in-memory): read pool and group-committing writer.
    Sqlite(Sqlite),
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

/// Runs `ops::postgres::$function(conn, args...)` on a pooled PostgreSQL connection, or on
/// SQLite the closure `$sqlite` (given the connection, with owned arguments: it runs on another
/// thread) as a read or a queued write (`$mode`); `ops::sqlite` and `ops::postgres` are the same
/// code compiled once per backend. A PostgreSQL write runs under [`lock_identity_changes`], so
/// writes are applied one after the other there too.
macro_rules! dispatch {
    ($db:expr, read, $sqlite:expr, $function:ident($($arg:expr),* $(,)?)) => {{
        match $db {
            $crate::storage::Database::Sqlite(sqlite) => sqlite.read($sqlite).await,
            $crate::storage::Database::Postgres(pool) => {
                let mut pooled = postgres_connection(pool).await?;
                $crate::storage::ops::postgres::$function(&mut pooled, $($arg),*).await
            }
        }
    }};
    ($db:expr, $mode:ident, $sqlite:expr, $function:ident($($arg:expr),* $(,)?)) => {{
        match $db {
            $crate::storage::Database::Sqlite(sqlite) => sqlite.$mode($sqlite).await,
            $crate::storage::Database::Postgres(pool) => {
                let mut pooled = postgres_connection(pool).await?;
                pooled
                    .transaction(async |conn| {
                        lock_identity_changes(conn).await?;
                        $crate::storage::ops::postgres::$function(conn, $($arg),*).await
                    })
                    .await
            }
        }
    }};
}

async fn postgres_connection(
    pool: &Pool<AsyncPgConnection>,
) -> Result<Object<AsyncPgConnection>, StorageError> {
    pool.get()
        .await
        .map_err(|e| StorageError::pool(POSTGRES, e))
}

/// Holds the MPI's identity-change lock until the transaction ends (PostgreSQL: a
/// transaction-level advisory lock per schema, shared by every PIX manager process on that
/// database). A feed is matched against the records stored before it: two feeds of one person
/// arriving together, each matched while the other is uncommitted, would each miss the other
/// and leave that person with two affinity-domain ids. SQLite has one writer and needs no lock.
async fn lock_identity_changes(conn: &mut AsyncPgConnection) -> Result<(), StorageError> {
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "SELECT pg_advisory_xact_lock(hashtext('hie.mpi.identity'), hashtext(current_schema()))",
        ),
        conn,
    )
    .await?;
    Ok(())
}

impl Database {
    /// Opens the database named by `url` and runs pending migrations.
    ///
    /// `postgres://...` / `postgresql://...` select PostgreSQL; `sqlite://PATH`, `sqlite::memory:`
    /// or a plain file path select SQLite (WAL journal, busy timeout, foreign keys on).
    pub async fn connect(url: &str) -> Result<Self, StorageError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::connect_postgres(url).await
        } else if url == "sqlite::memory:" {
            Self::connect_sqlite(":memory:", 0, Durability::Durable).await
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            Self::connect_sqlite(path, SQLITE_POOL_SIZE, Durability::Durable).await
        } else if url.contains("://") || url.is_empty() {
            Err(StorageError::UnsupportedUrl {
                url: url.to_owned(),
            })
        } else {
            Self::connect_sqlite(url, SQLITE_POOL_SIZE, Durability::Durable).await
        }
    }

    /// Opens a throwaway SQLite database at `path` (the batch linkage of `hie mpi link`, deleted
    /// when it ends): commits do not wait for the disk, since nothing outlives the run.
    pub async fn connect_throwaway(path: &std::path::Path) -> Result<Self, StorageError> {
        let path = path.to_str().ok_or_else(|| StorageError::UnsupportedUrl {
            url: path.display().to_string(),
        })?;
        Self::connect_sqlite(path, SQLITE_POOL_SIZE, Durability::Throwaway).await
    }

    /// The backend's name, for logs.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => SQLITE,
            Self::Postgres(_) => POSTGRES,
        }
    }

    /// Opens the writer's connection, runs the migrations on it, starts the writer; a file
    /// database also gets two pools of `readers` connections, one for queries and one for
    /// matching feeds ahead of the writer (an in-memory one is the writer's
    /// connection only).
    async fn connect_sqlite(
        path: &str,
        readers: usize,
        durability: Durability,
    ) -> Result<Self, StorageError> {
        let mut writer = open_sqlite(path.to_owned(), durability, SQLITE_MMAP_BYTES)
            .await
            .map_err(|e| StorageError::pool(SQLITE, e))?;
        writer
            .batch_execute(&format!(
                "PRAGMA wal_autocheckpoint = {SQLITE_WAL_AUTOCHECKPOINT_PAGES};"
            ))
            .await
            .map_err(|e| StorageError::pool(SQLITE, e))?;
        let outcome = writer
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
        let pool = || -> Result<Option<Pool<SqliteConn>>, StorageError> {
            if path == ":memory:" {
                return Ok(None);
            }
            let mut config = ManagerConfig::<SqliteConn>::default();
            config.recycling_method = RecyclingMethod::Fast;
            config.custom_setup =
                Box::new(move |path| Box::pin(open_sqlite(path.to_owned(), durability, 0)));
            let manager = AsyncDieselConnectionManager::<SqliteConn>::new_with_config(path, config);
            Pool::builder(manager)
                .max_size(readers)
                .build()
                .map(Some)
                .map_err(|e| StorageError::pool(SQLITE, e))
        };
        Ok(Self::Sqlite(Sqlite::start(writer, pool()?, pool()?)?))
    }

    async fn connect_postgres(url: &str) -> Result<Self, StorageError> {
        let migration_url = url.to_owned();
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
        config.custom_setup = Box::new(|url| Box::pin(open_postgres(url.to_owned())));
        let manager =
            AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
        let pool = Pool::builder(manager)
            .max_size(POSTGRES_POOL_SIZE)
            .build()
            .map_err(|e| StorageError::pool(POSTGRES, e))?;
        Ok(Self::Postgres(pool))
    }
}

/// Whether an SQLite commit waits until it is on disk.
#[derive(Debug, Clone, Copy)]
enum Durability {
    /// `synchronous = FULL`: an acknowledged identity feed survives a power loss.
    Durable,
    /// `synchronous = OFF`: a database deleted at the end of the run.
    Throwaway,
}

/// Opens one SQLite connection with the MPI's pragmas, `mmap_bytes` of the file memory-mapped.
///
/// `temp_store = MEMORY` keeps the savepoint journal in memory: each write of a group commit
/// runs in a savepoint, and SQLite copies every page it changes there first, once per savepoint;
/// in a temporary file past 64 KiB (the default), those copies were a `pwrite` each, 15% of the
/// writer's time at 100,000 records. Nothing there outlives the transaction.
async fn open_sqlite(
    path: String,
    durability: Durability,
    mmap_bytes: u64,
) -> Result<SqliteConn, ConnectionError> {
    let mut conn = SqliteConn::establish(&path).await?;
    let synchronous = match durability {
        Durability::Durable => "FULL",
        Durability::Throwaway => "OFF",
    };
    let pragmas = format!(
        "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON; PRAGMA mmap_size = {mmap_bytes}; PRAGMA temp_store = MEMORY;",
        SQLITE_BUSY_TIMEOUT.as_millis()
    );
    conn.batch_execute(&pragmas)
        .await
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}

/// Opens one PostgreSQL connection of the MPI's pool, which plans every statement with its
/// values (`plan_cache_mode = force_custom_plan`). The MPI's tables grow from empty, and a
/// prepared statement's generic plan is kept by its connection until the table is analyzed:
/// one made while `links` was small read all of it for every ITI-9 once it had grown (p50 3.2
/// ms at 22,000 records and 15 ms at 110,000 on a server without autovacuum, 0.5 ms planned
/// each time; `benches/pix_load.rs`, 2026-11-25). Planning costs tens of microseconds.
async fn open_postgres(url: String) -> Result<AsyncPgConnection, ConnectionError> {
    let mut conn = AsyncPgConnection::establish(&url).await?;
    conn.batch_execute("SET plan_cache_mode = force_custom_plan")
        .await
        .map_err(ConnectionError::CouldntSetupConfiguration)?;
    Ok(conn)
}

/// The MPI operations, each one transaction (see `ops`).
impl Database {
    /// ITI-8 register/update of `key` with `demographics`, matched by `matcher` against at most
    /// `max_candidates` candidates.
    pub async fn feed(
        &self,
        key: &PatientKey,
        demographics: &crate::matching::Demographics,
        matcher: &Arc<crate::matching::Matcher>,
        max_candidates: i64,
    ) -> Result<FeedOutcome, StorageError> {
        // computed here, on the connection's task, not on the SQLite writer's thread
        let input = Arc::new(ops::FeedInput::new(key, demographics)?);
        // SQLite: the candidates read and assessed on a reader connection, then the write; a
        // read that fails leaves the matching to the writer
        let ahead = match self {
            Self::Sqlite(sqlite) => sqlite
                .match_ahead(Arc::clone(&input), Arc::clone(matcher), max_candidates)
                .await
                .unwrap_or_else(|error| {
                    tracing::warn!(%error, "matching ahead failed: the writer matches the feed");
                    None
                }),
            Self::Postgres(_) => None,
        };
        let owned_matcher = Arc::clone(matcher);
        dispatch!(
            self,
            write_with_memory,
            move |c, memory| run(ops::sqlite::feed(
                c,
                &input,
                ahead,
                &owned_matcher,
                max_candidates,
                memory
            )),
            feed(
                &input,
                None,
                matcher,
                max_candidates,
                &mut ops::WriterMemory::default()
            )
        )
    }

    /// ITI-8 A40: `subsumed` merged into `surviving`.
    pub async fn merge(
        &self,
        surviving: &PatientKey,
        subsumed: &PatientKey,
        demographics: &crate::matching::Demographics,
    ) -> Result<FeedOutcome, StorageError> {
        let owned = (surviving.clone(), subsumed.clone(), demographics.clone());
        dispatch!(
            self,
            write_with_memory,
            move |c, memory| run(ops::sqlite::merge(c, &owned.0, &owned.1, &owned.2, memory)),
            merge(
                surviving,
                subsumed,
                demographics,
                &mut ops::WriterMemory::default()
            )
        )
    }

    /// Manual link: `key` joins the person of `target`.
    pub async fn link(
        &self,
        key: &PatientKey,
        target: &PatientKey,
        reason: &str,
    ) -> Result<FeedOutcome, StorageError> {
        let owned = (key.clone(), target.clone(), reason.to_owned());
        dispatch!(
            self,
            write,
            move |c| run(ops::sqlite::link(c, &owned.0, &owned.1, &owned.2)),
            link(key, target, reason)
        )
    }

    /// Manual unlink: `key` gets a person of its own.
    pub async fn unlink(
        &self,
        key: &PatientKey,
        reason: &str,
    ) -> Result<FeedOutcome, StorageError> {
        let owned = (key.clone(), reason.to_owned());
        dispatch!(
            self,
            write,
            move |c| run(ops::sqlite::unlink(c, &owned.0, &owned.1)),
            unlink(key, reason)
        )
    }

    /// ITI-9: the person of the record `key`.
    pub async fn person_by_key(
        &self,
        key: &PatientKey,
    ) -> Result<Option<PersonIdentity>, StorageError> {
        let owned = key.clone();
        dispatch!(
            self,
            read,
            move |c| run(ops::sqlite::person_by_key(c, &owned)),
            person_by_key(key)
        )
    }

    /// ITI-9: the person with this affinity-domain id.
    pub async fn person_by_affinity_id(
        &self,
        affinity_id: &str,
    ) -> Result<Option<PersonIdentity>, StorageError> {
        let owned = affinity_id.to_owned();
        dispatch!(
            self,
            read,
            move |c| run(ops::sqlite::person_by_affinity_id(c, &owned)),
            person_by_affinity_id(affinity_id)
        )
    }

    /// ITI-21: active records holding any of `keys` (all when `keys` is empty) or every one of
    /// them, as `held` says, at most `limit`.
    pub async fn records_for_keys(
        &self,
        keys: &[String],
        held: KeysHeld,
        limit: i64,
    ) -> Result<Vec<StoredRecord>, StorageError> {
        let owned = keys.to_vec();
        dispatch!(
            self,
            read,
            move |c| run(ops::sqlite::records_for_keys(c, &owned, held, limit)),
            records_for_keys(keys, held, limit)
        )
    }

    /// ITI-21 by identifier: the active records with this local id (in `domain` when given).
    pub async fn records_by_local_id(
        &self,
        local_id: &str,
        domain: Option<&str>,
    ) -> Result<Vec<StoredRecord>, StorageError> {
        let owned = (local_id.to_owned(), domain.map(str::to_owned));
        dispatch!(
            self,
            read,
            move |c| run(ops::sqlite::records_by_local_id(
                c,
                &owned.0,
                owned.1.as_deref()
            )),
            records_by_local_id(local_id, domain)
        )
    }

    /// Pending review-queue entries, oldest first.
    pub async fn pending_reviews(&self, limit: i64) -> Result<Vec<ReviewItem>, StorageError> {
        dispatch!(
            self,
            read,
            move |c| run(ops::sqlite::pending_reviews(c, limit)),
            pending_reviews(limit)
        )
    }

    /// Accepts or rejects a pending review; an accepted one returns what the link did.
    pub async fn resolve_review(
        &self,
        id: i32,
        accept: bool,
    ) -> Result<Option<FeedOutcome>, StorageError> {
        dispatch!(
            self,
            write,
            move |c| run(ops::sqlite::resolve_review(c, id, accept)),
            resolve_review(id, accept)
        )
    }

    /// The link history of a record.
    pub async fn history(&self, key: &PatientKey) -> Result<Vec<HistoryEntry>, StorageError> {
        let owned = key.clone();
        dispatch!(
            self,
            read,
            move |c| run(ops::sqlite::history(c, &owned)),
            history(key)
        )
    }

    /// The stored matching decisions of the record `key`, oldest first.
    pub async fn decisions(&self, key: &PatientKey) -> Result<Vec<StoredDecision>, StorageError> {
        let owned = key.clone();
        dispatch!(
            self,
            read,
            move |c| run(ops::sqlite::decisions_of(c, &owned)),
            decisions_of(key)
        )
    }

    /// Every active record with its person's affinity-domain id, grouped by person.
    pub async fn all_links(&self) -> Result<Vec<(String, PatientKey)>, StorageError> {
        dispatch!(
            self,
            read,
            move |c| run(ops::sqlite::all_links(c)),
            all_links()
        )
    }
}

#[cfg(test)]
mod tests {
    use diesel::sql_types::Text;
    use diesel_async::RunQueryDsl;

    use super::*;
    use crate::storage::sqlite::run;

    #[derive(diesel::QueryableByName)]
    struct PlanStep {
        #[diesel(sql_type = Text)]
        detail: String,
    }

    #[derive(diesel::QueryableByName)]
    struct TempStore {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        temp_store: i32,
    }

    /// The writer's and the readers' connections keep temporary data, the savepoint journal of
    /// a group commit with it, in memory (`temp_store = 2`), not in a temporary file.
    #[tokio::test]
    async fn the_savepoint_journal_is_kept_in_memory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("mpi.db");
        let db = Database::connect(path.to_str().expect("a UTF-8 path"))
            .await
            .expect("MPI");
        let Database::Sqlite(sqlite) = &db else {
            panic!("an SQLite MPI");
        };
        let query = |conn: &mut SqliteConn| -> Result<Vec<TempStore>, StorageError> {
            Ok(run(diesel::sql_query("PRAGMA temp_store").load(conn))?)
        };
        let written = sqlite.write(query).await.expect("writer's pragma");
        let read = sqlite.read(query).await.expect("reader's pragma");
        for setting in [written, read] {
            assert_eq!(
                setting.iter().map(|s| s.temp_store).collect::<Vec<_>>(),
                [2]
            );
        }
    }

    fn smith(given: &str) -> crate::matching::Demographics {
        crate::matching::Demographics {
            given_name: Some(given.to_owned()),
            surname: Some("SMITH".to_owned()),
            date_of_birth: Some("19700304".to_owned()),
            sex: Some("M".to_owned()),
            address_1: Some("1 MAIN ST".to_owned()),
            suburb: Some("SPRINGFIELD".to_owned()),
            postcode: Some("62701".to_owned()),
            ..Default::default()
        }
    }

    /// A file MPI (it has reader connections, so feeds are matched ahead) where GREEN's G1 and
    /// BLUE's B1 are the same John Smith.
    struct AheadScenario {
        db: Database,
        matcher: Arc<crate::matching::Matcher>,
        _dir: tempfile::TempDir,
    }

    impl AheadScenario {
        async fn new() -> Self {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("mpi.db");
            let db = Database::connect(path.to_str().expect("a UTF-8 path"))
                .await
                .expect("MPI");
            AheadScenario {
                db,
                matcher: Arc::new(crate::matching::Matcher::default()),
                _dir: dir,
            }
        }

        fn sqlite(&self) -> &Sqlite {
            match &self.db {
                Database::Sqlite(sqlite) => sqlite,
                Database::Postgres(_) => panic!("an SQLite MPI"),
            }
        }

        /// Feeds (or feeds again: an update) G1 the ordinary way.
        async fn feed_green(&self) {
            let green = PatientKey::new("GREEN", "G1");
            self.db
                .feed(&green, &smith("JOHN"), &self.matcher, 200)
                .await
                .expect("G1 fed");
        }

        /// B1's feed and its candidates assessed ahead, as the MPI is now.
        async fn blue_matched_ahead(&self) -> (Arc<ops::FeedInput>, ahead::MatchedAhead) {
            let blue = PatientKey::new("BLUE", "B1");
            let input = Arc::new(ops::FeedInput::new(&blue, &smith("JOHN")).expect("input"));
            let ahead = self
                .sqlite()
                .match_ahead(Arc::clone(&input), Arc::clone(&self.matcher), 200)
                .await
                .expect("matched ahead");
            (input, ahead.expect("a file MPI matches ahead"))
        }

        /// Feeds B1 through the writer with `ahead`; whether it joined G1's person.
        async fn feed_blue_with(
            &self,
            input: Arc<ops::FeedInput>,
            ahead: ahead::MatchedAhead,
        ) -> bool {
            let matcher = Arc::clone(&self.matcher);
            let fed = self
                .sqlite()
                .write_with_memory(move |c, memory| {
                    run(ops::sqlite::feed(
                        c,
                        &input,
                        Some(ahead),
                        &matcher,
                        200,
                        memory,
                    ))
                })
                .await
                .expect("B1 fed");
            fed.affinity_id == self.green_affinity_id().await
        }

        async fn green_affinity_id(&self) -> String {
            self.db
                .person_by_key(&PatientKey::new("GREEN", "G1"))
                .await
                .expect("ITI-9")
                .expect("a person")
                .affinity_id
        }
    }

    /// A feed whose matching ahead fails (here no matching connection can be had) is matched by
    /// the writer: stored and linked, not refused.
    #[tokio::test]
    async fn a_feed_is_matched_by_the_writer_when_matching_ahead_fails() {
        let mpi = AheadScenario::new().await;
        mpi.feed_green().await;
        mpi.sqlite().close_matchers();
        let blue = PatientKey::new("BLUE", "B1");
        let fed = mpi
            .db
            .feed(&blue, &smith("JOHN"), &mpi.matcher, 200)
            .await
            .expect("B1 fed");
        assert_eq!(fed.affinity_id, mpi.green_affinity_id().await, "linked");
    }

    /// The writer takes a feed's candidates as assessed ahead while none of its blocking keys
    /// was written since: an assessment emptied of its candidate gives a new person though the
    /// MPI holds the same patient (the writer did not read the candidates again).
    #[tokio::test]
    async fn an_assessment_ahead_is_taken_while_no_key_of_the_feed_was_written_since() {
        let mpi = AheadScenario::new().await;
        mpi.feed_green().await;
        let (input, mut ahead) = mpi.blue_matched_ahead().await;
        assert_eq!(ahead.decided.len(), 1, "G1 assessed ahead");
        ahead.decided.clear();
        assert!(!mpi.feed_blue_with(input, ahead).await, "not linked");
    }

    /// A feed assessed ahead is matched again by the writer when a record holding one of its
    /// blocking keys was stored after the assessment read the candidates.
    #[tokio::test]
    async fn an_assessment_ahead_is_matched_again_when_a_key_of_the_feed_was_written_since() {
        let mpi = AheadScenario::new().await;
        let (input, ahead) = mpi.blue_matched_ahead().await;
        assert!(ahead.decided.is_empty(), "nothing stored yet");
        mpi.feed_green().await;
        assert!(mpi.feed_blue_with(input, ahead).await, "linked");
    }

    /// A record whose keys were set anew (an update) makes an assessment read before it stale:
    /// the writer compares with the record as it is now.
    #[tokio::test]
    async fn an_assessment_ahead_is_matched_again_when_a_candidate_was_updated_since() {
        let mpi = AheadScenario::new().await;
        mpi.feed_green().await;
        let (input, mut ahead) = mpi.blue_matched_ahead().await;
        ahead.decided.clear();
        mpi.feed_green().await;
        assert!(mpi.feed_blue_with(input, ahead).await, "linked");
    }

    /// ITI-9 / ITI-21 by a local id whose assigning authority is not given reads the records of
    /// that id through an index, not every record of the MPI (migration `records_local_id`).
    #[tokio::test]
    async fn a_local_id_without_its_domain_is_looked_up_through_an_index() {
        let db = Database::connect("sqlite::memory:").await.expect("MPI");
        let Database::Sqlite(sqlite) = &db else {
            panic!("an SQLite MPI");
        };
        let plan: Vec<PlanStep> = sqlite
            .read(|conn| {
                Ok(run(diesel::sql_query(
                    "EXPLAIN QUERY PLAN SELECT records.id FROM records \
                     INNER JOIN links ON links.record_id = records.id \
                     WHERE records.local_id = 'PAT-1'",
                )
                .load(conn))?)
            })
            .await
            .expect("query plan");
        let plan: Vec<&str> = plan.iter().map(|step| step.detail.as_str()).collect();
        assert!(
            plan.iter().any(|step| step.starts_with("SEARCH records")
                && step.contains("INDEX records_local_id")),
            "{plan:?}"
        );
    }
}
