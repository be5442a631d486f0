//! Reusable chunk buffers for one document transfer. A buffer is filled, handed out as `Bytes`
//! (to the hashing and writing threads, or to the HTTP response), and comes back to its pool when
//! the last clone is dropped. Reusing the same few buffers keeps their memory mapped and warm: a
//! fresh buffer per chunk costs page faults and kernel zeroing of every page, more than the
//! bytes' own copy.

use bytes::Bytes;
use tokio::sync::mpsc;

/// The buffers of one transfer, each `capacity` bytes. How many exist is bounded by the transfer
/// itself (the chunks queued at once); the pool only recycles them.
pub struct BufferPool {
    capacity: usize,
    returned: mpsc::UnboundedReceiver<Vec<u8>>,
    give_back: mpsc::UnboundedSender<Vec<u8>>,
}

impl BufferPool {
    /// An empty pool of `capacity`-byte buffers.
    pub fn new(capacity: usize) -> Self {
        let (give_back, returned) = mpsc::unbounded_channel();
        BufferPool {
            capacity,
            returned,
            give_back,
        }
    }

    /// The size of each buffer.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// An empty buffer: one that came back, else a new one.
    pub fn take(&mut self) -> Vec<u8> {
        self.returned
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(self.capacity))
    }

    /// `buffer` as shared bytes; it returns to this pool when the last clone is dropped (or is
    /// freed if the pool is gone by then).
    pub fn share(&self, buffer: Vec<u8>) -> Bytes {
        self.share_from(buffer, 0)
    }

    /// `buffer[start..]` as shared bytes, returned to this pool like [`BufferPool::share`].
    pub fn share_from(&self, buffer: Vec<u8>, start: usize) -> Bytes {
        Bytes::from_owner(Pooled {
            start: start.min(buffer.len()),
            buffer,
            pool: self.give_back.clone(),
        })
    }
}

/// A buffer lent out as `Bytes` (its bytes from `start`).
struct Pooled {
    buffer: Vec<u8>,
    start: usize,
    pool: mpsc::UnboundedSender<Vec<u8>>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buffer[self.start..]
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let mut buffer = std::mem::take(&mut self.buffer);
        buffer.clear();
        // The pool is gone once its transfer ended: the buffer is then simply freed.
        let _ = self.pool.send(buffer);
    }
}
