//! Reusable chunk buffers of the file store, shared by all its transfers. A buffer is filled,
//! handed out as `Bytes` (to the hashing and writing threads, or to the HTTP response), and comes
//! back to the pool when the last clone is dropped. Reusing the same few buffers keeps their
//! memory mapped and warm: a fresh buffer costs page faults and kernel zeroing of every page,
//! more than the bytes' own copy, and buffers freed after each transfer and allocated again for
//! the next one left the allocator holding several transfers' worth of pages (the repository's
//! peak RSS grew by about 30 MiB over five 150 MB ITI-41 that each had 6 MiB in flight).

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;

/// Buffers of `capacity` bytes, at most `max_idle` of them kept while unused (the others are
/// freed when they come back). How many exist at once is bounded by the transfers themselves
/// (the chunks each queues); the pool only recycles them. Clones share the same buffers.
#[derive(Clone)]
pub struct BufferPool {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for BufferPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufferPool")
            .field("capacity", &self.shared.capacity)
            .field("max_idle", &self.shared.max_idle)
            .finish_non_exhaustive()
    }
}

struct Shared {
    capacity: usize,
    max_idle: usize,
    idle: Mutex<Vec<Vec<u8>>>,
}

impl BufferPool {
    /// An empty pool of `capacity`-byte buffers keeping up to `max_idle` idle ones.
    pub fn new(capacity: usize, max_idle: usize) -> Self {
        BufferPool {
            shared: Arc::new(Shared {
                capacity,
                max_idle,
                idle: Mutex::new(Vec::with_capacity(max_idle)),
            }),
        }
    }

    /// The size of each buffer.
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// An empty buffer: one that came back, else a new one.
    pub fn take(&self) -> Vec<u8> {
        self.shared
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(self.shared.capacity))
    }

    /// `buffer` as shared bytes; it returns to this pool when the last clone is dropped.
    pub fn share(&self, buffer: Vec<u8>) -> Bytes {
        self.share_from(buffer, 0)
    }

    /// `buffer[start..]` as shared bytes, returned to this pool like [`BufferPool::share`].
    pub fn share_from(&self, buffer: Vec<u8>, start: usize) -> Bytes {
        Bytes::from_owner(Pooled {
            start: start.min(buffer.len()),
            buffer,
            pool: Arc::clone(&self.shared),
        })
    }
}

/// A buffer lent out as `Bytes` (its bytes from `start`).
struct Pooled {
    buffer: Vec<u8>,
    start: usize,
    pool: Arc<Shared>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buffer[self.start..]
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let mut buffer = std::mem::take(&mut self.buffer);
        if buffer.capacity() != self.pool.capacity {
            return;
        }
        buffer.clear();
        let mut idle = self
            .pool
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.pool.max_idle {
            idle.push(buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_returned_buffer_is_lent_again_with_the_same_memory() {
        let pool = BufferPool::new(4096, 2);
        let mut buffer = pool.take();
        buffer.extend_from_slice(b"first transfer");
        let address = buffer.as_ptr();
        let bytes = pool.share(buffer);
        let clone = bytes.clone();
        drop(bytes);
        let fresh = pool.take();
        assert_ne!(fresh.as_ptr(), address, "still lent out through a clone");
        drop(clone);
        let again = pool.take();
        assert_eq!(again.as_ptr(), address);
        assert!(again.is_empty(), "a buffer comes back emptied");
    }

    #[test]
    fn clones_of_the_pool_share_its_buffers() {
        let pool = BufferPool::new(4096, 2);
        let other_transfer = pool.clone();
        let buffer = pool.take();
        let address = buffer.as_ptr();
        drop(pool.share(buffer));
        let reused = other_transfer.take();
        assert_eq!(reused.as_ptr(), address);
    }

    #[test]
    fn no_more_than_max_idle_buffers_are_kept() {
        let pool = BufferPool::new(4096, 2);
        let lent: Vec<Bytes> = (0..3).map(|_| pool.share(pool.take())).collect();
        drop(lent);
        assert_eq!(pool.shared.idle.lock().unwrap().len(), 2);
    }

    #[test]
    fn a_buffer_that_grew_is_not_kept() {
        let pool = BufferPool::new(16, 2);
        let mut buffer = pool.take();
        buffer.extend_from_slice(&[0; 64]);
        drop(pool.share(buffer));
        assert!(pool.shared.idle.lock().unwrap().is_empty());
    }
}
