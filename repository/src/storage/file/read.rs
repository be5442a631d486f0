//! ITI-43 read side of the file store: a document is read on a blocking thread in large chunks,
//! a few chunks ahead of the HTTP response, into recycled buffers handed over without copying.

use std::fs::File;
use std::io::{self, Read};

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::mpsc;

use super::buffers::BufferPool;
use crate::storage::ContentStream;

/// Size of the chunks a stored document is read back in (one `read` each; the response sends
/// each chunk as it is).
const READ_CHUNK_BYTES: usize = 1024 * 1024;
/// Chunks read ahead of the response: memory per retrieval stays under
/// `(READ_AHEAD_CHUNKS + 2) × READ_CHUNK_BYTES`.
const READ_AHEAD_CHUNKS: usize = 2;

/// Idle read buffers the store keeps for the next retrievals (one retrieval has up to
/// `READ_AHEAD_CHUNKS + 2` in flight).
const IDLE_CHUNKS: usize = 8;

/// The pool of a store's read buffers.
pub fn chunk_pool() -> BufferPool {
    BufferPool::new(READ_CHUNK_BYTES, IDLE_CHUNKS)
}

/// The content of `file` as a stream of `READ_CHUNK_BYTES` chunks (buffers of `pool`, see
/// [`chunk_pool`]), read on a blocking thread while the previous chunks are being sent.
/// Dropping the stream stops the thread.
pub fn read_ahead(file: File, pool: BufferPool) -> ContentStream {
    let (chunks, received) = mpsc::channel(READ_AHEAD_CHUNKS);
    tokio::task::spawn_blocking(move || read_chunks(file, &pool, &chunks));
    futures::stream::unfold(received, |mut received| async move {
        received.recv().await.map(|chunk| (chunk, received))
    })
    .boxed()
}

/// Reads `file` to its end into `chunks`; stops early when the receiver is gone.
fn read_chunks(mut file: File, pool: &BufferPool, chunks: &mpsc::Sender<io::Result<Bytes>>) {
    loop {
        match next_chunk(&mut file, pool) {
            Ok(chunk) if chunk.is_empty() => return,
            Ok(chunk) => {
                if chunks.blocking_send(Ok(chunk)).is_err() {
                    return;
                }
            }
            Err(error) => {
                let _ = chunks.blocking_send(Err(error));
                return;
            }
        }
    }
}

/// Up to one buffer of `file` (empty at the end of the file). The buffer is filled by the
/// kernel directly (`read_to_end` does not zero it first) and becomes the chunk without a copy.
fn next_chunk(file: &mut File, pool: &BufferPool) -> io::Result<Bytes> {
    let mut buffer = pool.take();
    file.take(pool.capacity() as u64).read_to_end(&mut buffer)?;
    Ok(pool.share(buffer))
}
