//! Test support for services with a database (feature `scratch-database`): a fresh, empty
//! database per test — a SQLite file in a temporary directory, or a PostgreSQL schema of its own
//! in the database of `HIE_TEST_POSTGRES_URL` — named by URL, so each service connects and
//! migrates it with its own `Database::connect`. [`on_both_backends!`](crate::on_both_backends)
//! declares each rule of a suite as a test on both.

/// The database backends the test suites run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A schema of its own in the PostgreSQL database of `HIE_TEST_POSTGRES_URL`.
    Postgres,
}

/// The PostgreSQL database the PostgreSQL suites run against when `HIE_TEST_POSTGRES_URL` is unset.
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Longest PostgreSQL identifier (NAMEDATALEN - 1).
const MAX_SCHEMA_NAME: usize = 63;

/// An empty scratch database for one test, removed by [`ScratchDatabase::remove`].
pub struct ScratchDatabase {
    /// The URL to connect to (`sqlite://FILE`, or the PostgreSQL URL with the schema as
    /// search path).
    pub url: String,
    /// The SQLite file's directory, removed with it.
    dir: Option<tempfile::TempDir>,
    /// The PostgreSQL schema and the URL of its database.
    schema: Option<(String, String)>,
}

impl ScratchDatabase {
    /// A fresh database on `backend` for the test named `test` (unique across suites): the SQLite
    /// file is `file_name`; the PostgreSQL schema is `schema_prefix`, `HIE_TEST_SCHEMA_PREFIX`
    /// (keeps concurrent runs apart) and the test's words.
    ///
    /// An unreachable PostgreSQL fails the test with a message naming the server.
    pub async fn create(
        backend: Backend,
        test: &str,
        file_name: &str,
        schema_prefix: &str,
    ) -> Self {
        match backend {
            Backend::Sqlite => {
                let prefix: String = test
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                let dir = tempfile::Builder::new()
                    .prefix(&prefix)
                    .tempdir()
                    .expect("temp dir");
                ScratchDatabase {
                    url: format!("sqlite://{}", dir.path().join(file_name).display()),
                    dir: Some(dir),
                    schema: None,
                }
            }
            Backend::Postgres => {
                let base = std::env::var("HIE_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
                let schema = schema_name(schema_prefix, test);
                admin_execute(
                    &base,
                    &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"),
                )
                .await;
                let separator = if base.contains('?') { '&' } else { '?' };
                ScratchDatabase {
                    url: format!("{base}{separator}options=-csearch_path%3D{schema}"),
                    dir: None,
                    schema: Some((schema, base)),
                }
            }
        }
    }

    /// Removes the database: the SQLite directory, or the PostgreSQL schema. Close the service's
    /// connections first.
    ///
    /// A failed test does not get here, so its schema stays for inspection until the next run.
    pub async fn remove(self) {
        drop(self.dir);
        if let Some((schema, base)) = self.schema {
            admin_execute(&base, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE;")).await;
        }
    }
}

/// Runs `sql` on a connection of its own to `base`.
async fn admin_execute(base: &str, sql: &str) {
    use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
    let mut admin = AsyncPgConnection::establish(base)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "the PostgreSQL suites need PostgreSQL at {base} (set HIE_TEST_POSTGRES_URL): {e}"
            )
        });
    admin
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql} on {base}: {e}"));
}

/// A PostgreSQL schema name: `prefix`, `HIE_TEST_SCHEMA_PREFIX` and the test's lower-case words,
/// shortened with a hash of the full name when longer than an identifier may be.
fn schema_name(prefix: &str, test: &str) -> String {
    use std::hash::{Hash, Hasher};
    let clean = |text: &str| -> String {
        text.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect()
    };
    let run = std::env::var("HIE_TEST_SCHEMA_PREFIX").unwrap_or_default();
    let name = format!("{}{}{}", clean(prefix), clean(&run), clean(test));
    if name.len() <= MAX_SCHEMA_NAME {
        return name;
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    test.hash(&mut hasher);
    let suffix = format!("_{:016x}", hasher.finish());
    format!("{}{suffix}", &name[..MAX_SCHEMA_NAME - suffix.len()])
}

/// Declares each rule `async fn rule(db: &TestDatabase)` (or `&Database`) of an integration test
/// suite as a test on SQLite and, with the calling crate's `postgres-tests` feature, on
/// PostgreSQL, each on a fresh database removed afterwards. The suite's `support::database`
/// module provides `TestDatabase::open(Backend, test)` and `TestDatabase::close`.
// `crate::support::database` is the calling suite's own module, on purpose.
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! on_both_backends {
    ($($rule:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $rule() {
                    let db = crate::support::database::TestDatabase::open(
                        $crate::scratch_database::Backend::Sqlite,
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
                    let db = crate::support::database::TestDatabase::open(
                        $crate::scratch_database::Backend::Postgres,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_name_is_lower_case_words_and_fits_an_identifier() {
        assert_eq!(schema_name("t_", "update::Sqlite"), "t_update__sqlite");
        let long = schema_name("t_", &"x".repeat(200));
        assert_eq!(long.len(), MAX_SCHEMA_NAME);
        assert_ne!(long, schema_name("t_", &"x".repeat(201)));
    }

    #[tokio::test]
    async fn sqlite_scratch_database_is_a_file_url_in_a_removed_directory() {
        let scratch = ScratchDatabase::create(Backend::Sqlite, "a::b", "x.db", "t_").await;
        let path = scratch.url.strip_prefix("sqlite://").unwrap().to_owned();
        let dir = std::path::Path::new(&path).parent().unwrap().to_owned();
        assert!(dir.is_dir());
        scratch.remove().await;
        assert!(!dir.exists());
    }
}
