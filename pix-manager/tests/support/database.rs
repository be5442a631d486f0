//! A fresh MPI database per test: a SQLite file in a temporary directory, or (with the
//! `postgres-tests` feature) a PostgreSQL schema of its own, so the same rules run on both.

use pix_manager::storage::Database;

/// The database backends the test suites run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A schema of its own in the PostgreSQL database of `HIE_TEST_POSTGRES_URL`.
    #[cfg(feature = "postgres-tests")]
    Postgres,
}

/// The PostgreSQL database the `postgres-tests` feature runs against.
#[cfg(feature = "postgres-tests")]
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Longest PostgreSQL identifier (NAMEDATALEN - 1).
#[cfg(feature = "postgres-tests")]
const MAX_SCHEMA_NAME: usize = 63;

/// A migrated, empty MPI database used by one test; derefs to its [`Database`].
pub struct TestDatabase {
    /// The database, connected and migrated.
    pub db: Database,
    /// The URL it was opened with, for a server under test (`Config::database_url`).
    pub url: String,
    /// The SQLite file's directory, removed with it.
    dir: Option<tempfile::TempDir>,
    /// The PostgreSQL schema and the URL of its database, dropped by [`TestDatabase::close`].
    #[cfg(feature = "postgres-tests")]
    schema: Option<(String, String)>,
}

impl std::ops::Deref for TestDatabase {
    type Target = Database;

    fn deref(&self) -> &Database {
        &self.db
    }
}

impl TestDatabase {
    /// Opens a fresh database on `backend` for the test named `test` (unique across suites).
    ///
    /// PostgreSQL must be reachable when the feature is on: an unreachable server fails the test.
    pub async fn open(backend: Backend, test: &str) -> Self {
        match backend {
            Backend::Sqlite => Self::open_sqlite(test).await,
            #[cfg(feature = "postgres-tests")]
            Backend::Postgres => Self::open_postgres(test).await,
        }
    }

    /// A SQLite file in a temporary directory named after `test`.
    async fn open_sqlite(test: &str) -> Self {
        let prefix: String = test
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let dir = tempfile::Builder::new()
            .prefix(&prefix)
            .tempdir()
            .expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("mpi.db").display());
        let db = Database::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("SQLite connect to {url}: {e}"));
        TestDatabase {
            db,
            url,
            dir: Some(dir),
            #[cfg(feature = "postgres-tests")]
            schema: None,
        }
    }

    /// A schema of its own for `test`, re-created empty, in the PostgreSQL test database.
    #[cfg(feature = "postgres-tests")]
    async fn open_postgres(test: &str) -> Self {
        let base = postgres_url();
        let schema = schema_name(test);
        admin_execute(
            &base,
            &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"),
        )
        .await;
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-csearch_path%3D{schema}");
        let db = Database::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL connect to {url}: {e}"));
        TestDatabase {
            db,
            url,
            dir: None,
            schema: Some((schema, base)),
        }
    }

    /// Closes the database and removes it: the SQLite directory, or the PostgreSQL schema.
    ///
    /// A failed test does not get here, so its schema stays for inspection until the next run.
    pub async fn close(self) {
        #[cfg(feature = "postgres-tests")]
        let schema = self.schema;
        drop(self.db);
        drop(self.dir);
        #[cfg(feature = "postgres-tests")]
        if let Some((schema, base)) = schema {
            admin_execute(&base, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE;")).await;
        }
    }
}

/// `HIE_TEST_POSTGRES_URL`, or the local test database.
#[cfg(feature = "postgres-tests")]
fn postgres_url() -> String {
    std::env::var("HIE_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// Runs `sql` on a connection of its own to `base`.
#[cfg(feature = "postgres-tests")]
async fn admin_execute(base: &str, sql: &str) {
    use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
    let mut admin = AsyncPgConnection::establish(base)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "feature postgres-tests needs PostgreSQL at {base} (set HIE_TEST_POSTGRES_URL): {e}"
            )
        });
    admin
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql} on {base}: {e}"));
}

/// A PostgreSQL schema name for `test`: its lower-case words, shortened with a hash of the full
/// name when longer than an identifier may be.
#[cfg(feature = "postgres-tests")]
fn schema_name(test: &str) -> String {
    use std::hash::{Hash, Hasher};
    let words: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let name = format!("mpisvc_{words}");
    if name.len() <= MAX_SCHEMA_NAME {
        return name;
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    test.hash(&mut hasher);
    let suffix = format!("_{:016x}", hasher.finish());
    format!("{}{suffix}", &name[..MAX_SCHEMA_NAME - suffix.len()])
}

/// Declares each rule `async fn rule(db: &TestDatabase)` (or `&Database`) as a test on SQLite
/// and, with `postgres-tests`, on PostgreSQL, each run on a fresh database removed afterwards.
macro_rules! on_both_backends {
    ($($rule:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $rule() {
                    let db = $crate::support::database::TestDatabase::open(
                        $crate::support::database::Backend::Sqlite,
                        concat!(module_path!(), "::", stringify!($rule)),
                    )
                    .await;
                    super::$rule(&db).await;
                    db.close().await;
                }
            )+
        }

        #[cfg(feature = "postgres-tests")]
        mod postgres {
            $(
                #[tokio::test]
                async fn $rule() {
                    let db = $crate::support::database::TestDatabase::open(
                        $crate::support::database::Backend::Postgres,
                        concat!(module_path!(), "::", stringify!($rule)),
                    )
                    .await;
                    super::$rule(&db).await;
                    db.close().await;
                }
            )+
        }
    };
}
pub(crate) use on_both_backends;
