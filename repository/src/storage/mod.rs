//! Document content storage for ITI-41 (written) and ITI-43 (read): a [`DocumentStore`] holds the
//! bytes, streamed in and out chunk by chunk, and the [`DocumentIndex`] maps
//! (repositoryUniqueId, document uniqueId) to them with a `pending` → `registered` state.
//!
//! Crash safety: the index row (`pending`) is written before any byte of content, content goes
//! to a temporary file first and is renamed into place only when complete and synced, and a row
//! becomes `registered` only after the registry accepted the submission. On start,
//! [`sweep_pending`] removes what a previous process left half done, so a document is either
//! registered and served, or gone.

mod file;
mod index;
mod s3;
mod schema;

use std::io;
use std::path::PathBuf;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;

pub use file::{BATCH_BYTES, BufferPool, FileStore, aligned_buffer, batch_pool};
pub use index::{DocumentIndex, DocumentState, IndexError, IndexedDocument, NewDocument};
pub use s3::{MIN_PART_BYTES, S3Store};

/// A document's content as a stream of chunks.
pub type ContentStream = BoxStream<'static, io::Result<Bytes>>;

/// The name of one document's content inside a store: a random UUID (32 lowercase hex digits),
/// so two documents never share a file and a key never names a path outside the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StorageKey(String);

impl StorageKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        StorageKey(uuid::Uuid::new_v4().simple().to_string())
    }

    /// A key read back from the index; anything but 32 lowercase hex digits is refused.
    pub fn parse(value: &str) -> Result<Self, StoreError> {
        let valid = value.len() == 32
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if valid {
            Ok(StorageKey(value.to_owned()))
        } else {
            Err(StoreError::InvalidKey(value.to_owned()))
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for StorageKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a committed write stored: where, the SHA-1 (lowercase hex, the XDS `hash`) and the size
/// in bytes (the XDS `size`), both computed while the bytes went through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredContent {
    pub key: StorageKey,
    pub sha1: String,
    pub size: u64,
}

/// Content put under its key, with what makes it durable still on the way.
pub struct Placed {
    pub content: StoredContent,
    /// Resolves once the content survives a power cut.
    pub durable: BoxFuture<'static, Result<(), StoreError>>,
}

/// Why the document store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("document store: cannot {operation} {path}: {source}")]
    Io {
        operation: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("document store: no content under key {key}")]
    NotFound { key: StorageKey },
    #[error("document store: invalid storage key {0:?}")]
    InvalidKey(String),
    #[error("object store: cannot {operation} {key}: {source}")]
    Object {
        operation: &'static str,
        key: StorageKey,
        #[source]
        source: Box<object_store::Error>,
    },
    #[error("document store configuration: {reason}")]
    Config { reason: String },
}

/// Where document content lives: the local file system ([`FileStore`], the default) or an
/// S3-compatible object store ([`S3Store`]).
/// Methods return boxed futures so that the store can be chosen at run time
/// (`Arc<dyn DocumentStore>`).
pub trait DocumentStore: Send + Sync + 'static {
    /// Starts writing the content of a new document under `key`; nothing is visible under
    /// `key` until [`ContentWriter::commit`].
    fn begin(&self, key: &StorageKey) -> BoxFuture<'_, Result<Box<dyn ContentWriter>, StoreError>>;

    /// The committed content under `key`, streamed.
    fn open(&self, key: &StorageKey) -> BoxFuture<'_, Result<ContentStream, StoreError>>;

    /// Removes the committed content under `key`; removing absent content is not an error.
    fn remove(&self, key: &StorageKey) -> BoxFuture<'_, Result<(), StoreError>>;

    /// Removes what writes never committed or aborted left behind (a crashed process);
    /// returns how many were removed. Called on start, before any write begins.
    fn sweep_uncommitted(&self) -> BoxFuture<'_, Result<usize, StoreError>>;
}

/// One document being written: chunks in, SHA-1 and size computed on the way.
pub trait ContentWriter: Send {
    /// Appends one chunk.
    fn write(&mut self, chunk: Bytes) -> BoxFuture<'_, Result<(), StoreError>>;

    /// Puts the content under its key; it is durable once [`Placed::durable`] resolves, which
    /// the caller may await side by side with its own work (ITI-41 records the content in the
    /// index meanwhile).
    fn place(self: Box<Self>) -> BoxFuture<'static, Result<Placed, StoreError>>;

    /// Makes the content durable and visible under its key.
    fn commit(self: Box<Self>) -> BoxFuture<'static, Result<StoredContent, StoreError>> {
        let placing = self.place();
        Box::pin(async move {
            let placed = placing.await?;
            placed.durable.await?;
            Ok(placed.content)
        })
    }

    /// Discards the content written so far.
    fn abort(self: Box<Self>) -> BoxFuture<'static, Result<(), StoreError>>;
}

/// Why a repository storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Index(#[from] IndexError),
}

/// The start sweep, before anything is served or written: removes the uncommitted writes, the
/// documents a previous process left `pending` without having recorded their content (so never
/// offered to the registry), and those an ITI-86 removal left half done. Content goes first,
/// then the index row, so a crash during the sweep leaves rows that the next sweep finds again.
/// Pending documents that were offered to the registry are not touched here: whether they are
/// kept is the registry's answer ([`crate::recovery`]). Returns the number of documents removed.
pub async fn sweep_pending(
    store: &dyn DocumentStore,
    index: &DocumentIndex,
    started_at_millis: i64,
) -> Result<usize, StorageError> {
    store.sweep_uncommitted().await?;
    let mut stale = index.pending_unoffered_before(started_at_millis).await?;
    stale.extend(index.removing().await?);
    for key in &stale {
        store.remove(key).await?;
        index.remove(std::slice::from_ref(key)).await?;
    }
    if !stale.is_empty() {
        tracing::info!(
            count = stale.len(),
            "removed documents stored but never offered to the registry, or half removed"
        );
    }
    Ok(stale.len())
}

/// Milliseconds since the Unix epoch (index timestamps).
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
