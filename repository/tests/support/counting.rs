//! A [`DocumentStore`] wrapper that counts the chunks going in and out and remembers the largest,
//! so a test can prove a document was streamed rather than held whole.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use repository::storage::{
    ContentStream, ContentWriter, DocumentStore, FileStore, Placed, StorageKey, StoreError,
};

#[derive(Debug, Default)]
pub struct Counters {
    pub chunks_written: AtomicU64,
    pub largest_chunk_written: AtomicU64,
    pub chunks_read: AtomicU64,
    pub largest_chunk_read: AtomicU64,
}

pub struct CountingStore {
    inner: FileStore,
    pub counters: Arc<Counters>,
}

impl CountingStore {
    pub fn new(inner: FileStore) -> Self {
        CountingStore {
            inner,
            counters: Arc::default(),
        }
    }
}

impl DocumentStore for CountingStore {
    fn begin(&self, key: &StorageKey) -> BoxFuture<'_, Result<Box<dyn ContentWriter>, StoreError>> {
        let key = key.clone();
        Box::pin(async move {
            let inner = self.inner.begin(&key).await?;
            Ok(Box::new(CountingWriter {
                inner,
                counters: self.counters.clone(),
            }) as Box<dyn ContentWriter>)
        })
    }

    fn open(&self, key: &StorageKey) -> BoxFuture<'_, Result<ContentStream, StoreError>> {
        let key = key.clone();
        Box::pin(async move {
            let counters = self.counters.clone();
            let stream = self.inner.open(&key).await?;
            Ok(stream
                .inspect(move |chunk| {
                    if let Ok(chunk) = chunk {
                        counters.chunks_read.fetch_add(1, Ordering::Relaxed);
                        counters
                            .largest_chunk_read
                            .fetch_max(chunk.len() as u64, Ordering::Relaxed);
                    }
                })
                .boxed())
        })
    }

    fn remove(&self, key: &StorageKey) -> BoxFuture<'_, Result<(), StoreError>> {
        self.inner.remove(key)
    }

    fn sweep_uncommitted(&self) -> BoxFuture<'_, Result<usize, StoreError>> {
        self.inner.sweep_uncommitted()
    }
}

struct CountingWriter {
    inner: Box<dyn ContentWriter>,
    counters: Arc<Counters>,
}

impl ContentWriter for CountingWriter {
    fn write(&mut self, chunk: Bytes) -> BoxFuture<'_, Result<(), StoreError>> {
        self.counters.chunks_written.fetch_add(1, Ordering::Relaxed);
        self.counters
            .largest_chunk_written
            .fetch_max(chunk.len() as u64, Ordering::Relaxed);
        self.inner.write(chunk)
    }

    fn place(self: Box<Self>) -> BoxFuture<'static, Result<Placed, StoreError>> {
        self.inner.place()
    }

    fn abort(self: Box<Self>) -> BoxFuture<'static, Result<(), StoreError>> {
        self.inner.abort()
    }
}
