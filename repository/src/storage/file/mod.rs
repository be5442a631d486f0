//! The local file store: one file per document under `ab/cd/<key>`, written through a temporary
//! file in `tmp/` that is renamed into place and synced (content and folders) on commit.
//!
//! Large documents move at disk and network speed: while an ITI-41 request is read, its bytes
//! are hashed and written by two blocking threads side by side, the file written with direct
//! I/O where the file system allows it ([`write`]); an ITI-43 answer is read a few megabytes
//! ahead of the network by a blocking thread ([`read`]). Both move the bytes in a few recycled
//! 1 MiB buffers ([`buffers`]).

mod buffers;
mod read;
mod write;

pub use buffers::BufferPool;
pub use write::{BATCH_BYTES, aligned_buffer, batch_pool};

use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::future::BoxFuture;

use super::{
    ContentStream, ContentWriter, DocumentStore, Placed, StorageKey, StoreError, StoredContent,
};
use write::{Pipeline, Target};

/// Folder of the writes in progress, inside the store root.
const TMP_DIR: &str = "tmp";

/// Documents as files under a root folder (`[repository] storage_root`, by default
/// `<data_dir>/documents`).
#[derive(Debug, Clone)]
pub struct FileStore {
    root: PathBuf,
    /// Buffers of ITI-41 writes and of ITI-43 reads, reused across transfers.
    write_buffers: BufferPool,
    read_buffers: BufferPool,
}

fn io_error(operation: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Io {
        operation,
        path,
        source,
    }
}

impl FileStore {
    /// A store under `root`, creating the folder if needed.
    pub async fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        let tmp = root.join(TMP_DIR);
        tokio::fs::create_dir_all(&tmp)
            .await
            .map_err(io_error("create", &tmp))?;
        Ok(FileStore {
            root,
            write_buffers: write::batch_pool(),
            read_buffers: read::chunk_pool(),
        })
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the committed content of `key` lives: `ab/cd/<key>` (the first two byte pairs of
    /// the key shard the files over 65 536 folders).
    pub fn path_of(&self, key: &StorageKey) -> PathBuf {
        let k = key.as_str();
        self.root.join(&k[0..2]).join(&k[2..4]).join(k)
    }

    fn tmp_path_of(&self, key: &StorageKey) -> PathBuf {
        self.root.join(TMP_DIR).join(format!("{key}.part"))
    }
}

impl DocumentStore for FileStore {
    fn begin(&self, key: &StorageKey) -> BoxFuture<'_, Result<Box<dyn ContentWriter>, StoreError>> {
        let tmp_path = self.tmp_path_of(key);
        let final_path = self.path_of(key);
        let key = key.clone();
        Box::pin(async move {
            let file = tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp_path)
                .await
                .map_err(io_error("create", &tmp_path))?;
            // Direct I/O is an optimisation: a file system that refuses it gets buffered writes.
            let direct = tokio::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_DIRECT)
                .open(&tmp_path)
                .await
                .ok();
            let target = Target {
                file: file.into_std().await,
                direct: match direct {
                    Some(direct) => Some(direct.into_std().await),
                    None => None,
                },
            };
            Ok(Box::new(FileWriter {
                key,
                pipeline: Some(Pipeline::new(target, self.write_buffers.clone())),
                tmp_path,
                final_path,
            }) as Box<dyn ContentWriter>)
        })
    }

    fn open(&self, key: &StorageKey) -> BoxFuture<'_, Result<ContentStream, StoreError>> {
        let path = self.path_of(key);
        let key = key.clone();
        Box::pin(async move {
            match tokio::fs::File::open(&path).await {
                Ok(file) => Ok(read::read_ahead(
                    file.into_std().await,
                    self.read_buffers.clone(),
                )),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::NotFound { key }),
                Err(e) => Err(io_error("open", &path)(e)),
            }
        })
    }

    fn remove(&self, key: &StorageKey) -> BoxFuture<'_, Result<(), StoreError>> {
        let path = self.path_of(key);
        Box::pin(async move {
            match tokio::fs::remove_file(&path).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io_error("remove", &path)(e)),
            }
        })
    }

    fn sweep_uncommitted(&self) -> BoxFuture<'_, Result<usize, StoreError>> {
        let tmp = self.root.join(TMP_DIR);
        Box::pin(async move {
            let mut entries = tokio::fs::read_dir(&tmp)
                .await
                .map_err(io_error("list", &tmp))?;
            let mut removed = 0;
            while let Some(entry) = entries.next_entry().await.map_err(io_error("list", &tmp))? {
                let path = entry.path();
                match tokio::fs::remove_file(&path).await {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_error("remove", &path)(e)),
                }
            }
            Ok(removed)
        })
    }
}

/// A document being written to `tmp/<key>.part`. Dropped without commit or abort (a request
/// cancelled mid-upload), it removes its temporary file.
struct FileWriter {
    key: StorageKey,
    /// `None` once finished.
    pipeline: Option<Pipeline>,
    tmp_path: PathBuf,
    final_path: PathBuf,
}

impl FileWriter {
    /// Puts the content at its final path; durable once the returned future resolves. The
    /// content, the folders whose entries changed and the rename are synced side by side
    /// (concurrent fsyncs share the file system's journal commits). A crash before they are
    /// durable leaves a `pending` row whose content the next start removes wherever it is: the
    /// sweep when its hash was not recorded yet, else the reconciliation with the registry,
    /// which was not asked to register it before the content was durable.
    async fn place_content(mut self: Box<Self>) -> Result<Placed, StoreError> {
        let pipeline = self.pipeline.take().ok_or_else(|| {
            io_error("write", &self.tmp_path)(io::Error::other("writer already finished"))
        })?;
        let written = pipeline
            .finish()
            .await
            .map_err(io_error("write", &self.tmp_path))?;
        let file = written.file;
        let content_synced = tokio::task::spawn_blocking(move || file.sync_all());
        let shard = self
            .final_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut changed = create_dirs(&shard).await?;
        tokio::fs::rename(&self.tmp_path, &self.final_path)
            .await
            .map_err(io_error("rename into place", &self.final_path))?;
        // The file is in place: nothing for Drop to remove.
        self.tmp_path = PathBuf::new();
        changed.push(shard);
        let final_path = self.final_path.clone();
        let durable = async move {
            let (content, folders) = tokio::join!(
                content_synced,
                futures::future::try_join_all(changed.iter().map(|dir| sync_dir(dir)))
            );
            content
                .map_err(|e| io_error("sync", &final_path)(io::Error::other(e)))?
                .map_err(io_error("sync", &final_path))?;
            folders.map(|_| ())
        };
        Ok(Placed {
            content: StoredContent {
                key: self.key.clone(),
                sha1: written.sha1,
                size: written.size,
            },
            durable: Box::pin(durable),
        })
    }
}

impl ContentWriter for FileWriter {
    fn write(&mut self, chunk: Bytes) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            match self.pipeline.as_mut() {
                Some(pipeline) => pipeline
                    .write(chunk)
                    .await
                    .map_err(io_error("write", &self.tmp_path)),
                None => Err(io_error("write", &self.tmp_path)(io::Error::other(
                    "writer already finished",
                ))),
            }
        })
    }

    fn place(self: Box<Self>) -> BoxFuture<'static, Result<Placed, StoreError>> {
        Box::pin(self.place_content())
    }

    fn abort(mut self: Box<Self>) -> BoxFuture<'static, Result<(), StoreError>> {
        Box::pin(async move {
            drop(self.pipeline.take());
            let path = std::mem::take(&mut self.tmp_path);
            match tokio::fs::remove_file(&path).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io_error("remove", &path)(e)),
            }
        })
    }
}

impl Drop for FileWriter {
    fn drop(&mut self) {
        if !self.tmp_path.as_os_str().is_empty() {
            drop(self.pipeline.take());
            // Best effort: what is left is removed by the next start's sweep.
            let _ = std::fs::remove_file(&self.tmp_path);
        }
    }
}

/// Creates the shard folder `ab/cd` if needed; returns the folders whose entry lists changed
/// (the root and `ab`) when it was created, to be synced with the rename.
async fn create_dirs(shard: &Path) -> Result<Vec<PathBuf>, StoreError> {
    if tokio::fs::try_exists(shard).await.unwrap_or(false) {
        return Ok(Vec::new());
    }
    tokio::fs::create_dir_all(shard)
        .await
        .map_err(io_error("create", shard))?;
    Ok(shard
        .ancestors()
        .skip(1)
        .take(2)
        .map(Path::to_path_buf)
        .collect())
}

/// fsync of a folder, so that a rename or a new entry in it survives a crash.
async fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    let path = dir.to_path_buf();
    tokio::task::spawn_blocking(move || std::fs::File::open(&path).and_then(|f| f.sync_all()))
        .await
        .map_err(|e| io_error("sync", dir)(io::Error::other(e)))?
        .map_err(io_error("sync", dir))
}
