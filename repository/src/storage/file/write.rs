//! ITI-41 write side of the file store. The bytes of a document are gathered into recycled
//! 1 MiB buffers (the request's own buffers are released at once), and each full buffer goes to
//! two blocking threads working side by side while the request is still being read: one computes
//! the SHA-1, the other writes the temporary file. A document smaller than one buffer is hashed
//! and written in one blocking call at the end.
//!
//! The writing thread writes full buffers with direct I/O (`O_DIRECT`, a second descriptor of
//! the same file): the disk reads them from the buffers themselves, a few at a time, with no copy
//! into the page cache and no writeback work afterwards; the buffers are aligned for it and the
//! last, partial one goes through the ordinary descriptor. Where the file system refuses direct
//! I/O the file is written through the page cache, a background flush started every
//! [`SYNC_EVERY_BYTES`] so that the commit's fsync only waits for the last stretch. Either way
//! the commit's fsync makes the content durable.

use std::fs::File;
use std::io::{self, IoSlice, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::thread::ScopedJoinHandle;

use bytes::Bytes;
use sha1::{Digest, Sha1};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::buffers::BufferPool;

/// Size of the buffers handed to the threads (a multiple of [`DIRECT_ALIGN`]).
const BATCH_BYTES: usize = 1024 * 1024;
/// Alignment of memory, file offsets and lengths in direct I/O (the largest logical block size
/// in use).
const DIRECT_ALIGN: usize = 4096;
/// Most full buffers written by one direct `pwritev` (one larger disk request).
const DIRECT_BATCHES_PER_WRITE: usize = 2;
/// Idle write buffers the store keeps for the next uploads (one upload has up to about
/// `QUEUED_BATCHES + DIRECT_BATCHES_PER_WRITE + 2` in flight).
pub const IDLE_BATCHES: usize = 8;
/// Buffers queued for each thread: memory per upload stays near
/// `(QUEUED_BATCHES + DIRECT_BATCHES_PER_WRITE + 2) × BATCH_BYTES` (6 MiB; the peak RSS goal
/// of 64 MB while moving 150 MB also holds the process's own ~20 MiB and its allocator's
/// not yet returned memory).
const QUEUED_BATCHES: usize = 2;
/// Written bytes after which a flush to disk is started in the background (when none is running).
const SYNC_EVERY_BYTES: u64 = 16 * 1024 * 1024;

/// The content of one document on its way to a file: SHA-1 and size computed on the way.
pub struct Pipeline {
    pool: BufferPool,
    /// The buffer being filled: its bytes from `batch_start` (the first aligned address).
    batch: Vec<u8>,
    batch_start: usize,
    size: u64,
    /// The file until the threads start (with the first full buffer: a document smaller than
    /// one buffer is hashed and written in one go at the end).
    file: Option<Target>,
    threads: Option<Threads>,
}

/// The temporary file: its ordinary descriptor, and one for direct I/O when the file system
/// accepts it.
pub struct Target {
    pub file: File,
    pub direct: Option<File>,
}

/// The hashing and the writing thread of a document larger than one buffer.
struct Threads {
    to_hasher: mpsc::Sender<Bytes>,
    to_file: mpsc::Sender<Bytes>,
    hashing: JoinHandle<Sha1>,
    /// `None` once the writing thread stopped on an error (already reported).
    writing: Option<JoinHandle<io::Result<File>>>,
}

/// What went through a finished pipeline.
pub struct Written {
    pub file: File,
    pub sha1: String,
    pub size: u64,
}

fn failed_earlier() -> io::Error {
    io::Error::other("the file write failed earlier")
}

impl Pipeline {
    /// A pipeline into `file`, its buffers from `pool` (see [`batch_pool`]).
    pub fn new(file: Target, pool: BufferPool) -> Self {
        let (batch, batch_start) = aligned(&pool);
        Pipeline {
            batch,
            batch_start,
            pool,
            size: 0,
            file: Some(file),
            threads: None,
        }
    }

    /// Appends one chunk; waits only when both threads are `QUEUED_BATCHES` behind. An error is
    /// the writing thread's.
    pub async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.size += chunk.len() as u64;
        let mut rest = chunk;
        while !rest.is_empty() {
            let room = BATCH_BYTES - self.batch_len();
            let (now, later) = rest.split_at(room.min(rest.len()));
            self.batch.extend_from_slice(now);
            rest = later;
            if self.batch_len() == BATCH_BYTES {
                self.send_batch().await?;
            }
        }
        Ok(())
    }

    /// Waits for what was written to be hashed and in the file (flushed in part, not yet
    /// synced).
    pub async fn finish(mut self) -> io::Result<Written> {
        let size = self.size;
        let Some(mut threads) = self.threads.take() else {
            let Target { mut file, .. } = self.file.take().ok_or_else(failed_earlier)?;
            let batch = std::mem::take(&mut self.batch);
            let start = self.batch_start;
            let (file, hasher) = tokio::task::spawn_blocking(move || {
                let content = &batch[start..];
                file.write_all(content)?;
                io::Result::Ok((file, Sha1::new_with_prefix(content)))
            })
            .await
            .map_err(io::Error::other)??;
            return Ok(Written {
                file,
                sha1: hex::encode(hasher.finalize()),
                size,
            });
        };
        if self.batch_len() > 0 {
            let last = self.shared_batch();
            threads.send(last).await?;
        }
        let Threads {
            to_hasher,
            to_file,
            hashing,
            writing,
        } = threads;
        drop((to_hasher, to_file));
        let file = writing
            .ok_or_else(failed_earlier)?
            .await
            .map_err(io::Error::other)??;
        let hasher = hashing.await.map_err(io::Error::other)?;
        Ok(Written {
            file,
            sha1: hex::encode(hasher.finalize()),
            size,
        })
    }

    fn batch_len(&self) -> usize {
        self.batch.len() - self.batch_start
    }

    fn shared_batch(&mut self) -> Bytes {
        let (next, next_start) = aligned(&self.pool);
        let full = std::mem::replace(&mut self.batch, next);
        let start = std::mem::replace(&mut self.batch_start, next_start);
        self.pool.share_from(full, start)
    }

    async fn send_batch(&mut self) -> io::Result<()> {
        let batch = self.shared_batch();
        if self.threads.is_none() {
            let file = self.file.take().ok_or_else(failed_earlier)?;
            self.threads = Some(Threads::start(file));
        }
        match self.threads.as_mut() {
            Some(threads) => threads.send(batch).await,
            None => Err(failed_earlier()),
        }
    }
}

/// The pool of a store's write buffers: one batch plus the slack that aligns it.
pub fn batch_pool() -> BufferPool {
    BufferPool::new(BATCH_BYTES + DIRECT_ALIGN, IDLE_BATCHES)
}

/// An empty buffer of `pool` and where its aligned part starts (it holds that many zeros).
fn aligned(pool: &BufferPool) -> (Vec<u8>, usize) {
    let mut buffer = pool.take();
    let start = buffer.as_ptr().align_offset(DIRECT_ALIGN);
    buffer.resize(start, 0);
    (buffer, start)
}

impl Threads {
    fn start(file: Target) -> Self {
        let (to_hasher, hasher_input) = mpsc::channel(QUEUED_BATCHES);
        let (to_file, file_input) = mpsc::channel(QUEUED_BATCHES);
        Threads {
            to_hasher,
            to_file,
            hashing: tokio::task::spawn_blocking(move || hash_batches(hasher_input)),
            writing: Some(tokio::task::spawn_blocking(move || {
                write_batches(file, file_input)
            })),
        }
    }

    async fn send(&mut self, batch: Bytes) -> io::Result<()> {
        if self.to_file.send(batch.clone()).await.is_err() {
            // The writing thread stopped on an error: that error is the answer.
            let stopped = self.writing.take().ok_or_else(failed_earlier)?.await;
            return Err(match stopped {
                Ok(Err(error)) => error,
                Ok(Ok(_)) => io::Error::other("the file writer stopped early"),
                Err(join) => io::Error::other(join),
            });
        }
        self.to_hasher
            .send(batch)
            .await
            .map_err(|_| io::Error::other("the SHA-1 thread stopped early"))
    }
}

fn hash_batches(mut batches: mpsc::Receiver<Bytes>) -> Sha1 {
    let mut hasher = Sha1::new();
    while let Some(batch) = batches.blocking_recv() {
        hasher.update(&batch);
    }
    hasher
}

/// Writes the batches to the file, directly where possible; returns the ordinary descriptor.
fn write_batches(target: Target, batches: mpsc::Receiver<Bytes>) -> io::Result<File> {
    match target.direct {
        Some(direct) => write_direct(direct, target.file, batches),
        None => write_buffered(target.file, batches),
    }
}

/// Writes full batches with direct I/O, up to [`DIRECT_BATCHES_PER_WRITE`] of those waiting in
/// one request, and the last, partial batch through `file` after them. A file system that
/// accepted the `O_DIRECT` open but refuses a direct write (`EINVAL`) gets the rest of the file,
/// from the first byte not written, through the page cache ([`write_buffered`]): the same bytes
/// at the same offsets, made durable by the same commit fsync.
fn write_direct(
    mut direct: impl Write,
    mut file: File,
    mut batches: mpsc::Receiver<Bytes>,
) -> io::Result<File> {
    let mut offset = 0u64;
    let mut group: Vec<Bytes> = Vec::with_capacity(DIRECT_BATCHES_PER_WRITE);
    while let Some(first) = batches.blocking_recv() {
        let mut next = Some(first);
        let mut tail = None;
        while let Some(batch) = next.take() {
            if batch.len() < BATCH_BYTES {
                // The last batch: nothing follows it.
                tail = Some(batch);
                break;
            }
            group.push(batch);
            if group.len() < DIRECT_BATCHES_PER_WRITE {
                next = batches.try_recv().ok();
            }
        }
        let slices: Vec<IoSlice<'_>> = group.iter().map(|b| IoSlice::new(b)).collect();
        let mut written = 0u64;
        match write_all_vectored(&mut direct, slices, &mut written) {
            Ok(()) => {}
            Err(error) if error.raw_os_error() == Some(libc::EINVAL) => {
                tracing::warn!(
                    offset = offset + written,
                    "the file system refused a direct write; the rest of the file goes through the page cache"
                );
                file.seek(SeekFrom::Start(offset + written))?;
                let mut skip = usize::try_from(written).map_err(io::Error::other)?;
                for batch in &group {
                    let from = skip.min(batch.len());
                    file.write_all(&batch[from..])?;
                    skip -= from;
                }
                if let Some(last) = tail {
                    file.write_all(&last)?;
                }
                return write_buffered(file, batches);
            }
            Err(error) => return Err(error),
        }
        offset += written;
        group.clear();
        if let Some(last) = tail {
            file.write_all_at(&last, offset)?;
            offset += last.len() as u64;
        }
    }
    Ok(file)
}

/// `write_all` for a list of slices (a short write continues where it stopped); `written`
/// counts the bytes written, also when an error stops it.
fn write_all_vectored(
    file: &mut impl Write,
    mut slices: Vec<IoSlice<'_>>,
    written: &mut u64,
) -> io::Result<()> {
    let mut rest = slices.as_mut_slice();
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                *written += n as u64;
                IoSlice::advance_slices(&mut rest, n);
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Writes each batch through the page cache, starting a background flush (`fdatasync` on a
/// second descriptor) every [`SYNC_EVERY_BYTES`] when the previous one is done. A failed flush
/// fails the write: its error would not be reported again by the commit's fsync.
fn write_buffered(mut file: File, mut batches: mpsc::Receiver<Bytes>) -> io::Result<File> {
    std::thread::scope(|scope| {
        let mut flushing: Option<ScopedJoinHandle<'_, io::Result<()>>> = None;
        let mut unflushed = 0u64;
        while let Some(batch) = batches.blocking_recv() {
            file.write_all(&batch)?;
            unflushed += batch.len() as u64;
            let idle = flushing.as_ref().is_none_or(ScopedJoinHandle::is_finished);
            if unflushed >= SYNC_EVERY_BYTES && idle {
                if let Some(done) = flushing.take() {
                    joined(done)?;
                }
                let flushed = file.try_clone()?;
                flushing = Some(scope.spawn(move || flushed.sync_data()));
                unflushed = 0;
            }
        }
        if let Some(running) = flushing {
            joined(running)?;
        }
        io::Result::Ok(())
    })?;
    Ok(file)
}

fn joined(flush: ScopedJoinHandle<'_, io::Result<()>>) -> io::Result<()> {
    flush
        .join()
        .map_err(|_| io::Error::other("the background flush panicked"))?
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;
    use std::path::Path;

    use super::*;

    /// Five full batches and a partial one, each byte telling its batch and position.
    fn batches() -> Vec<Bytes> {
        (0..6)
            .map(|n| {
                let len = if n < 5 { BATCH_BYTES } else { 1000 };
                Bytes::from(
                    (0..len)
                        .map(|i| ((i * 31 + n) % 251) as u8)
                        .collect::<Vec<u8>>(),
                )
            })
            .collect()
    }

    fn queued(batches: &[Bytes]) -> mpsc::Receiver<Bytes> {
        let (sender, receiver) = mpsc::channel(batches.len());
        for batch in batches {
            sender
                .try_send(batch.clone())
                .expect("room for every batch");
        }
        receiver
    }

    /// A direct descriptor of `path` whose file system takes `accept` bytes, then refuses
    /// every write with `error` (one slice per call, as short as the budget makes it).
    struct Refusing {
        file: File,
        accept: usize,
        error: i32,
        refused: usize,
    }

    impl Refusing {
        fn new(path: &Path, accept: usize, error: i32) -> Self {
            let file = OpenOptions::new()
                .write(true)
                .open(path)
                .expect("second descriptor");
            Refusing {
                file,
                accept,
                error,
                refused: 0,
            }
        }
    }

    impl Write for Refusing {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.accept == 0 {
                self.refused += 1;
                return Err(io::Error::from_raw_os_error(self.error));
            }
            let n = self.file.write(&buf[..buf.len().min(self.accept)])?;
            self.accept -= n;
            Ok(n)
        }

        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| b);
            self.write(first)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn written_through(accept: usize, error: i32) -> (io::Result<File>, Vec<u8>, usize) {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("document.part");
        let file = File::create(&path).expect("file created");
        let mut direct = Refusing::new(&path, accept, error);
        let batches = batches();
        let outcome = write_direct(&mut direct, file, queued(&batches));
        let content = std::fs::read(&path).expect("file read");
        (outcome, content, direct.refused)
    }

    #[test]
    fn a_first_direct_write_refused_with_einval_sends_the_file_through_the_page_cache() {
        let (outcome, content, refused) = written_through(0, libc::EINVAL);
        assert!(outcome.is_ok(), "{outcome:?}");
        assert_eq!(refused, 1, "no direct write is tried after the refusal");
        assert_eq!(content, batches().concat());
    }

    #[test]
    fn einval_after_direct_writes_goes_on_from_the_first_byte_not_written() {
        let (outcome, content, refused) = written_through(BATCH_BYTES + 12_345, libc::EINVAL);
        assert!(outcome.is_ok(), "{outcome:?}");
        assert_eq!(refused, 1, "no direct write is tried after the refusal");
        assert_eq!(content, batches().concat());
    }

    #[test]
    fn a_direct_write_failing_otherwise_fails_the_write() {
        let (outcome, _, _) = written_through(BATCH_BYTES, libc::EIO);
        let error = outcome.expect_err("EIO is not a refusal of direct I/O");
        assert_eq!(error.raw_os_error(), Some(libc::EIO));
    }
}
