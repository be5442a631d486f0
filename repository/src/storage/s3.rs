//! The S3-compatible object store (`object_store`): one object per document, named by its key,
//! written with a multipart upload (memory bounded by one part in flight and one being filled)
//! that becomes visible only when completed, and read back as a stream.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, WriteMultipart};
use sha1::{Digest, Sha1};

use super::{
    ContentStream, ContentWriter, DocumentStore, Placed, StorageKey, StoreError, StoredContent,
};
use crate::config::S3Config;

/// Smallest part S3 accepts in a multipart upload (but the last).
pub const MIN_PART_BYTES: usize = 5 * 1024 * 1024;
/// Parts uploading at once, besides the one being filled.
const PARTS_IN_FLIGHT: usize = 1;

/// Documents as objects of one bucket of an S3-compatible store (`[repository.s3]`).
#[derive(Debug, Clone)]
pub struct S3Store {
    store: Arc<dyn ObjectStore>,
    part_size: usize,
}

fn object_error(
    operation: &'static str,
    key: &StorageKey,
) -> impl FnOnce(object_store::Error) -> StoreError {
    let key = key.clone();
    move |source| StoreError::Object {
        operation,
        key,
        source: Box::new(source),
    }
}

impl S3Store {
    /// A store on the bucket `config` names (no request is sent yet).
    pub fn open(config: &S3Config) -> Result<Self, StoreError> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_allow_http(config.allow_http);
        if let Some(endpoint) = &config.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false);
        }
        if let Some(id) = &config.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &config.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let store = builder.build().map_err(|e| StoreError::Config {
            reason: format!("S3 bucket {:?}: {e}", config.bucket),
        })?;
        Ok(S3Store {
            store: Arc::new(store),
            part_size: config.part_size_bytes.max(MIN_PART_BYTES),
        })
    }

    fn path_of(key: &StorageKey) -> ObjectPath {
        ObjectPath::from(key.as_str())
    }
}

impl DocumentStore for S3Store {
    fn begin(&self, key: &StorageKey) -> BoxFuture<'_, Result<Box<dyn ContentWriter>, StoreError>> {
        let key = key.clone();
        Box::pin(async move {
            let upload = self
                .store
                .put_multipart(&Self::path_of(&key))
                .await
                .map_err(object_error("start the upload of", &key))?;
            Ok(Box::new(S3Writer {
                upload: Some(WriteMultipart::new_with_chunk_size(upload, self.part_size)),
                key,
                hasher: Sha1::new(),
                size: 0,
            }) as Box<dyn ContentWriter>)
        })
    }

    fn open(&self, key: &StorageKey) -> BoxFuture<'_, Result<ContentStream, StoreError>> {
        let key = key.clone();
        Box::pin(async move {
            match self.store.get(&Self::path_of(&key)).await {
                Ok(result) => Ok(result
                    .into_stream()
                    .map(|chunk| chunk.map_err(io::Error::other))
                    .boxed()),
                Err(object_store::Error::NotFound { .. }) => Err(StoreError::NotFound { key }),
                Err(e) => Err(object_error("read", &key)(e)),
            }
        })
    }

    fn remove(&self, key: &StorageKey) -> BoxFuture<'_, Result<(), StoreError>> {
        let key = key.clone();
        Box::pin(async move {
            match self.store.delete(&Self::path_of(&key)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(object_error("delete", &key)(e)),
            }
        })
    }

    /// Uploads never completed are invisible and hold no key; the bucket's lifecycle rule
    /// (AbortIncompleteMultipartUpload) reclaims their parts. Nothing to do here.
    fn sweep_uncommitted(&self) -> BoxFuture<'_, Result<usize, StoreError>> {
        Box::pin(async { Ok(0) })
    }
}

/// One multipart upload in progress. Dropped without commit or abort (a request cancelled
/// mid-upload), it aborts the upload in the background.
struct S3Writer {
    upload: Option<WriteMultipart>,
    key: StorageKey,
    hasher: Sha1,
    size: u64,
}

impl ContentWriter for S3Writer {
    fn write(&mut self, chunk: Bytes) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.hasher.update(&chunk);
            self.size += chunk.len() as u64;
            let key = &self.key;
            let Some(upload) = self.upload.as_mut() else {
                return Err(object_error("write", key)(object_store::Error::Generic {
                    store: "S3",
                    source: "writer already finished".into(),
                }));
            };
            upload
                .wait_for_capacity(PARTS_IN_FLIGHT)
                .await
                .map_err(object_error("upload a part of", key))?;
            upload.put(chunk);
            Ok(())
        })
    }

    /// The object exists once the multipart upload is complete, and is durable then.
    fn place(mut self: Box<Self>) -> BoxFuture<'static, Result<Placed, StoreError>> {
        Box::pin(async move {
            let upload = self.upload.take();
            let key = self.key.clone();
            if let Some(upload) = upload {
                upload
                    .finish()
                    .await
                    .map_err(object_error("complete the upload of", &key))?;
            }
            Ok(Placed {
                content: StoredContent {
                    key,
                    sha1: hex::encode(std::mem::take(&mut self.hasher).finalize()),
                    size: self.size,
                },
                durable: Box::pin(std::future::ready(Ok(()))),
            })
        })
    }

    fn abort(mut self: Box<Self>) -> BoxFuture<'static, Result<(), StoreError>> {
        Box::pin(async move {
            match self.upload.take() {
                Some(upload) => upload
                    .abort()
                    .await
                    .map_err(object_error("abort the upload of", &self.key)),
                None => Ok(()),
            }
        })
    }
}

impl Drop for S3Writer {
    fn drop(&mut self) {
        if let Some(upload) = self.upload.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let key = self.key.clone();
            runtime.spawn(async move {
                if let Err(error) = upload.abort().await {
                    tracing::warn!(%error, %key, "abandoned S3 upload could not be aborted");
                }
            });
        }
    }
}
