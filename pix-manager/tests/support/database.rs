//! A fresh MPI database per test (a SQLite file, or with the `postgres-tests` feature a
//! PostgreSQL schema of its own: `service_kit::scratch_database`), connected and migrated by the
//! service's own `Database::connect`, so the same rules run on both backends.

use pix_manager::storage::Database;
pub(crate) use service_kit::on_both_backends;
pub use service_kit::scratch_database::Backend;
use service_kit::scratch_database::ScratchDatabase;

/// A migrated, empty MPI database used by one test; derefs to its [`Database`].
pub struct TestDatabase {
    /// The database, connected and migrated.
    pub db: Database,
    /// The URL it was opened with, for a server under test (`Config::database_url`).
    pub url: String,
    scratch: ScratchDatabase,
}

impl std::ops::Deref for TestDatabase {
    type Target = Database;

    fn deref(&self) -> &Database {
        &self.db
    }
}

impl TestDatabase {
    /// Opens a fresh database on `backend` for the test named `test` (unique across suites).
    pub async fn open(backend: Backend, test: &str) -> Self {
        let scratch = ScratchDatabase::create(backend, test, "mpi.db", "mpisvc_").await;
        let url = scratch.url.clone();
        let db = Database::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
        TestDatabase { db, url, scratch }
    }

    /// Closes the database and removes it.
    pub async fn close(self) {
        drop(self.db);
        self.scratch.remove().await;
    }
}
