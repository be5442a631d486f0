//! Typed storage errors.

use super::model::AvailabilityStatus;

/// A boxed error from a lower layer (pool, migration harness).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything the registry storage layer can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database URL names no supported backend.
    #[error(
        "unsupported database URL {url:?}: expected postgres://..., sqlite://PATH, sqlite::memory: or a file path"
    )]
    UnsupportedUrl {
        /// The URL as given.
        url: String,
    },
    /// The connection pool could not be built or could not hand out a connection.
    #[error("{backend} connection pool: {source}")]
    Pool {
        /// `SQLite` or `PostgreSQL`.
        backend: &'static str,
        /// The pool or connection error.
        #[source]
        source: BoxError,
    },
    /// Embedded migrations failed to run.
    #[error("{backend} migrations failed: {source}")]
    Migration {
        /// `SQLite` or `PostgreSQL`.
        backend: &'static str,
        /// The migration harness error.
        #[source]
        source: BoxError,
    },
    /// XDSDuplicateUniqueIdInRegistry: another logical object already holds this uniqueId (and
    /// is not a DocumentEntry of identical hash and size resubmitted).
    #[error("uniqueId {unique_id} is already registered")]
    DuplicateUniqueId {
        /// The offending uniqueId.
        unique_id: String,
    },
    /// XDSRegistryDuplicateUniqueIdInMessage: two objects of one submission share a uniqueId and version.
    #[error("uniqueId {unique_id} (version {version}) appears twice in one submission")]
    DuplicateUniqueIdInSubmission {
        /// The repeated uniqueId.
        unique_id: String,
        /// The repeated version.
        version: i32,
    },
    /// ITI-57 XDSMetadataVersionError: this version of the logical object is already registered.
    #[error("version {version} of logical object {logical_id} is already registered")]
    DuplicateVersion {
        /// The logicalID (lid).
        logical_id: String,
        /// The repeated version.
        version: i32,
    },
    /// An entryUUID that is already registered was submitted again.
    #[error("entryUUID {entry_uuid} is already registered")]
    DuplicateEntryUuid {
        /// The offending entryUUID.
        entry_uuid: String,
    },
    /// No object or association has this entryUUID (ITI-62 UnresolvedReferenceException).
    #[error("no registry object or association with entryUUID {entry_uuid}")]
    NotFound {
        /// The entryUUID looked for.
        entry_uuid: String,
    },
    /// An Association to register references an object or Association that is not registered
    /// (any more) when the transaction runs (ITI-42 / ITI-57 after a concurrent ITI-62).
    #[error("{entry_uuid} is referenced by a submitted Association but is not in the registry")]
    UnresolvedReference {
        /// The missing source or target.
        entry_uuid: String,
    },
    /// A status change found another status than expected (ITI-57 XDSMetadataUpdateError).
    #[error("{entry_uuid} has status {actual}, expected {expected}")]
    StatusMismatch {
        /// The object or association.
        entry_uuid: String,
        /// The status the caller expected.
        expected: AvailabilityStatus,
        /// The status found.
        actual: AvailabilityStatus,
    },
    /// The SQLite registration writer stopped before answering (a registration of its group
    /// panicked, or the writer is gone): the registration is not stored.
    #[error("SQLite registration writer stopped before answering")]
    WriterStopped,
    /// The commit of a group of SQLite registrations failed: none of them is stored.
    #[error("SQLite group commit failed: {source}")]
    Commit {
        /// The commit's error, shared by every registration of the group.
        #[source]
        source: std::sync::Arc<diesel::result::Error>,
    },
    /// Any other database error.
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
}

impl StorageError {
    /// `true` for a PostgreSQL serialization failure: the transaction may be run again.
    pub fn is_serialization_failure(&self) -> bool {
        matches!(
            self,
            Self::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::SerializationFailure,
                _
            ))
        )
    }

    pub(crate) fn pool(backend: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Pool {
            backend,
            source: source.into(),
        }
    }
}
