//! Typed storage errors.

/// A boxed error from a lower layer (pool, migration harness).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything the MPI storage layer can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database URL names no supported backend.
    #[error(
        "unsupported database URL {url:?}: expected postgres://..., sqlite://PATH, sqlite::memory: or a file path"
    )]
    UnsupportedUrl { url: String },
    /// The connection pool could not be built or could not hand out a connection.
    #[error("{backend} connection pool: {source}")]
    Pool {
        backend: &'static str,
        #[source]
        source: BoxError,
    },
    /// Embedded migrations failed to run.
    #[error("{backend} migrations failed: {source}")]
    Migration {
        backend: &'static str,
        #[source]
        source: BoxError,
    },
    /// No active record has this identifier in this domain.
    #[error("no patient {local_id} in domain {domain}")]
    UnknownRecord { domain: String, local_id: String },
    /// The identifier was merged into another one (ITI-8 A40) and is no longer fed.
    #[error("patient {local_id} of domain {domain} was merged away")]
    MergedRecord { domain: String, local_id: String },
    /// No review-queue entry has this id, or it is no longer pending.
    #[error("no pending review {id}")]
    UnknownReview { id: i32 },
    /// Stored demographics or decision JSON could not be read or written.
    #[error("stored JSON of record {record_id}: {source}")]
    Json {
        record_id: i32,
        #[source]
        source: serde_json::Error,
    },
    /// The SQLite writer thread or a blocking task stopped before answering.
    #[error("SQLite worker stopped before answering")]
    WorkerStopped,
    /// The commit of a group of SQLite writes failed: none of them is stored.
    #[error("SQLite group commit failed: {source}")]
    Commit {
        #[source]
        source: std::sync::Arc<diesel::result::Error>,
    },
    /// Any other database error.
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
}

impl StorageError {
    pub(crate) fn pool(backend: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Pool {
            backend,
            source: source.into(),
        }
    }

    /// True when the error is about the record `key` (unknown, or merged away): an A40's
    /// error then points at the surviving id's field, else at the subsumed one's.
    pub fn is_about(&self, key: &super::PatientKey) -> bool {
        matches!(self,
            StorageError::UnknownRecord { domain, local_id }
            | StorageError::MergedRecord { domain, local_id }
            if *domain == key.domain && *local_id == key.local_id)
    }
}
