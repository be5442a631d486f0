//! ITI-41 write side of the file store. The bytes of a document are gathered into recycled
//! aligned 2 MiB buffers (the request's own buffers are released at once), and each full buffer
//! goes to two kinds of blocking threads working side by side while the request is still being
//! read: one computes the SHA-1, the others write the temporary file. A document read straight
//! from the socket ([`crate::direct_upload`]) arrives as whole aligned buffers already, which are
//! handed on without a copy. A document smaller than one buffer is hashed and written in one
//! blocking call at the end.
//!
//! The writing threads write full buffers with direct I/O (`O_DIRECT`, a second descriptor of
//! the same file), several at once: the disk reads them from the buffers themselves, with no copy
//! into the page cache and no writeback work afterwards; the last, partial buffer goes through
//! the ordinary descriptor. Where the file system refuses direct I/O the file is written through
//! the page cache, a background flush started every [`SYNC_EVERY_BYTES`] so that the commit's
//! fsync only waits for the last stretch. Either way the commit's fsync makes the content
//! durable.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread::ScopedJoinHandle;

use bytes::Bytes;
use sha1::{Digest, Sha1};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::buffers::BufferPool;

/// Size of the buffers handed to the threads (a multiple of [`DIRECT_ALIGN`]): 2 MiB, half
/// the handoffs between the request task and the threads of 1 MiB (4 MiB fill and drain the
/// pipeline in steps too large; see `benches/transfer.rs`).
pub const BATCH_BYTES: usize = 2 * 1024 * 1024;
/// Alignment of memory, file offsets and lengths in direct I/O (the largest logical block size
/// in use).
const DIRECT_ALIGN: usize = 4096;
/// Direct writes in flight at once, each by its own thread (the disk is kept busy while a
/// thread whose write completed waits for a core).
const DIRECT_WRITERS: usize = 3;
/// File space allocated at a time ahead of the direct writes.
const PREALLOCATE_BYTES: u64 = 32 * 1024 * 1024;
/// Idle write buffers the store keeps for the next uploads (one upload has up to about
/// `QUEUED_BATCHES + 2 × DIRECT_WRITERS + 2` in flight).
const IDLE_BATCHES: usize = 8;
/// Buffers queued for each thread: memory per upload stays near
/// `(QUEUED_BATCHES + 2 × DIRECT_WRITERS + 2) × BATCH_BYTES` (20 MiB; the peak RSS goal
/// of 64 MB while moving 150 MB also holds the process's own ~15 MiB and its allocator's
/// not yet returned memory: 34-40 MiB measured).
const QUEUED_BATCHES: usize = 2;
/// Written bytes after which a flush to disk is started in the background (when none is running).
const SYNC_EVERY_BYTES: u64 = 16 * 1024 * 1024;

/// The content of one document on its way to a file: SHA-1 and size computed on the way.
pub struct Pipeline {
    pool: BufferPool,
    /// The buffer being filled: its bytes from `batch_start` (the first aligned address); none
    /// (no capacity) until bytes have to be copied.
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
        Pipeline {
            batch: Vec::new(),
            batch_start: 0,
            pool,
            size: 0,
            file: Some(file),
            threads: None,
        }
    }

    /// Appends one chunk; waits only when both threads are `QUEUED_BATCHES` behind. An error is
    /// the writing thread's. A chunk that is a whole aligned batch arriving at a batch boundary
    /// (what [`crate::direct_upload`] reads) is handed to the threads as it is, without a copy.
    pub async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        if self.batch_len() == 0
            && chunk.len() == BATCH_BYTES
            && chunk.as_ptr().align_offset(DIRECT_ALIGN) == 0
        {
            self.size += chunk.len() as u64;
            return self.send(chunk).await;
        }
        self.size += chunk.len() as u64;
        let mut rest = &chunk[..];
        while !rest.is_empty() {
            if self.batch.capacity() == 0 {
                // A buffer only when bytes have to be copied (not for whole aligned chunks).
                (self.batch, self.batch_start) = aligned_buffer(&self.pool);
            }
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
        let full = std::mem::take(&mut self.batch);
        let start = std::mem::take(&mut self.batch_start);
        self.pool.share_from(full, start)
    }

    async fn send_batch(&mut self) -> io::Result<()> {
        let batch = self.shared_batch();
        self.send(batch).await
    }

    /// Hands a full batch to the threads (started with the first one).
    async fn send(&mut self, batch: Bytes) -> io::Result<()> {
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
pub fn aligned_buffer(pool: &BufferPool) -> (Vec<u8>, usize) {
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
        Some(direct) => write_direct(&direct, target.file, batches, DIRECT_WRITERS),
        None => write_buffered(target.file, batches),
    }
}

/// Positional writes shared by the direct-writing threads (a `File` opened with `O_DIRECT`).
trait WriteAt: Sync {
    fn write_at(&self, buffer: &[u8], offset: u64) -> io::Result<usize>;
}

impl WriteAt for File {
    fn write_at(&self, buffer: &[u8], offset: u64) -> io::Result<usize> {
        FileExt::write_at(self, buffer, offset)
    }
}

/// What the direct-writing threads share.
struct DirectWrites<'a, D> {
    direct: &'a D,
    file: &'a File,
    /// Set once the file system refused a direct write: the batches not yet written go through
    /// the page cache.
    refused: AtomicBool,
    /// The first error of a thread; the others then drop their batches unwritten.
    failure: Mutex<Option<io::Error>>,
}

impl<D: WriteAt> DirectWrites<'_, D> {
    fn failed(&self) -> bool {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Takes batches from `work` until it closes; the first failure is kept in `failure`.
    fn run(&self, work: &Mutex<std::sync::mpsc::Receiver<(u64, Bytes)>>) {
        loop {
            let job = work.lock().unwrap_or_else(PoisonError::into_inner).recv();
            let Ok((offset, batch)) = job else { return };
            if self.failed() {
                continue;
            }
            if let Err(error) = self.write_batch(offset, &batch) {
                let mut failure = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
                failure.get_or_insert(error);
            }
        }
    }

    /// One full batch at `offset`: directly, or through the page cache from the first byte the
    /// file system refused to write directly (`EINVAL`).
    fn write_batch(&self, offset: u64, batch: &[u8]) -> io::Result<()> {
        let mut written = 0usize;
        if !self.refused.load(Ordering::Relaxed) {
            match write_all_at(self.direct, batch, offset, &mut written) {
                Ok(()) => return Ok(()),
                Err(error) if error.raw_os_error() == Some(libc::EINVAL) => {
                    if !self.refused.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            offset = offset + written as u64,
                            "the file system refused a direct write; the rest of the file goes through the page cache"
                        );
                    }
                }
                Err(error) => return Err(error),
            }
        }
        self.file
            .write_all_at(&batch[written..], offset + written as u64)
    }
}

/// Writes full batches with direct I/O, `writers` of them at once by as many threads, the file's
/// space allocated [`PREALLOCATE_BYTES`] ahead of them (a write past the end of the file is
/// serialised by the file system and the disk would idle between writes); then the last,
/// partial batch through `file`, and the file cut to the bytes written. A file system that
/// accepted the `O_DIRECT` open but refuses a direct write (`EINVAL`) gets the rest of the file,
/// from the first byte not written, through the page cache: the same bytes at the same offsets,
/// made durable by the same commit fsync.
fn write_direct(
    direct: &impl WriteAt,
    file: File,
    mut batches: mpsc::Receiver<Bytes>,
    writers: usize,
) -> io::Result<File> {
    let shared = DirectWrites {
        direct,
        file: &file,
        refused: AtomicBool::new(false),
        failure: Mutex::new(None),
    };
    let mut offset = 0u64;
    let mut allocated = 0u64;
    let mut preallocating = true;
    let mut tail = None;
    let (to_writers, work) = std::sync::mpsc::sync_channel::<(u64, Bytes)>(writers);
    let work = Mutex::new(work);
    std::thread::scope(|scope| {
        let (shared, work) = (&shared, &work);
        for _ in 0..writers {
            scope.spawn(move || shared.run(work));
        }
        while let Some(batch) = batches.blocking_recv() {
            if batch.len() < BATCH_BYTES {
                // The last batch: nothing follows it.
                tail = Some(batch);
                break;
            }
            let end = offset + batch.len() as u64;
            if preallocating && end > allocated {
                match preallocate(&file, allocated, PREALLOCATE_BYTES) {
                    Ok(()) => allocated += PREALLOCATE_BYTES,
                    Err(error) => {
                        tracing::debug!(%error, "no space allocated ahead of direct writes");
                        preallocating = false;
                    }
                }
            }
            if shared.failed() || to_writers.send((offset, batch)).is_err() {
                break;
            }
            offset = end;
        }
        drop(to_writers);
    });
    if let Some(error) = shared
        .failure
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
    {
        return Err(error);
    }
    if let Some(last) = tail {
        file.write_all_at(&last, offset)?;
        offset += last.len() as u64;
    }
    if allocated > offset {
        file.set_len(offset)?;
    }
    Ok(file)
}

/// Allocates `len` bytes of `file` from `offset` (the file grows to their end, zeros until
/// written).
fn preallocate(file: &File, offset: u64, len: u64) -> io::Result<()> {
    rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), offset, len)
        .map_err(io::Error::from)
}

/// `write_all_at` that counts in `written` the bytes written, also when an error stops it.
fn write_all_at(
    file: &impl WriteAt,
    buffer: &[u8],
    offset: u64,
    written: &mut usize,
) -> io::Result<()> {
    while *written < buffer.len() {
        match file.write_at(&buffer[*written..], offset + *written as u64) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => *written += n,
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
    /// every write with `error` (each write as short as the budget makes it).
    struct Refusing {
        file: File,
        budget: Mutex<Budget>,
        error: i32,
    }

    #[derive(Default)]
    struct Budget {
        accept: usize,
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
                budget: Mutex::new(Budget { accept, refused: 0 }),
                error,
            }
        }

        fn refused(&self) -> usize {
            self.budget.lock().expect("budget").refused
        }
    }

    impl WriteAt for Refusing {
        fn write_at(&self, buffer: &[u8], offset: u64) -> io::Result<usize> {
            let mut budget = self.budget.lock().expect("budget");
            if budget.accept == 0 {
                budget.refused += 1;
                return Err(io::Error::from_raw_os_error(self.error));
            }
            let n = FileExt::write_at(
                &self.file,
                &buffer[..buffer.len().min(budget.accept)],
                offset,
            )?;
            budget.accept -= n;
            Ok(n)
        }
    }

    /// The file written through `Refusing` by `writers` threads: the outcome, the content and
    /// the refused direct writes.
    fn written_through(
        accept: usize,
        error: i32,
        writers: usize,
    ) -> (io::Result<File>, Vec<u8>, usize) {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("document.part");
        let file = File::create(&path).expect("file created");
        let direct = Refusing::new(&path, accept, error);
        let batches = batches();
        let outcome = write_direct(&direct, file, queued(&batches), writers);
        let content = std::fs::read(&path).expect("file read");
        (outcome, content, direct.refused())
    }

    #[test]
    fn batches_written_by_several_threads_make_the_document_and_no_more() {
        let (outcome, content, refused) = written_through(usize::MAX, libc::EINVAL, 3);
        assert!(outcome.is_ok(), "{outcome:?}");
        assert_eq!(refused, 0);
        assert_eq!(
            content,
            batches().concat(),
            "the space allocated ahead is cut off"
        );
    }

    #[test]
    fn a_first_direct_write_refused_with_einval_sends_the_file_through_the_page_cache() {
        let (outcome, content, refused) = written_through(0, libc::EINVAL, 1);
        assert!(outcome.is_ok(), "{outcome:?}");
        assert_eq!(refused, 1, "no direct write is tried after the refusal");
        assert_eq!(content, batches().concat());
    }

    #[test]
    fn einval_after_direct_writes_goes_on_from_the_first_byte_not_written() {
        let (outcome, content, refused) = written_through(BATCH_BYTES + 12_345, libc::EINVAL, 1);
        assert!(outcome.is_ok(), "{outcome:?}");
        assert_eq!(refused, 1, "no direct write is tried after the refusal");
        assert_eq!(content, batches().concat());
    }

    #[test]
    fn einval_with_writes_in_flight_still_writes_every_batch_once() {
        let (outcome, content, refused) = written_through(BATCH_BYTES + 12_345, libc::EINVAL, 3);
        assert!(outcome.is_ok(), "{outcome:?}");
        assert!(
            (1..=3).contains(&refused),
            "at most one refusal per write in flight: {refused}"
        );
        assert_eq!(content, batches().concat());
    }

    #[test]
    fn a_direct_write_failing_otherwise_fails_the_write() {
        let (outcome, _, _) = written_through(BATCH_BYTES, libc::EIO, 3);
        let error = outcome.expect_err("EIO is not a refusal of direct I/O");
        assert_eq!(error.raw_os_error(), Some(libc::EIO));
    }
}
