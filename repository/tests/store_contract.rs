//! The `DocumentStore` contract, one suite run on every backend: the local file store always,
//! the S3 store against moto's S3-compatible server on loopback with `--features s3-tests`.
//! Content is streamed in with SHA-1 and size computed on the way, invisible until committed,
//! never visible when aborted or dropped, streamed back, and removable twice.

mod support;

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use repository::storage::{DocumentStore, StorageKey, StoreError};
use sha1::{Digest, Sha1};

/// A store under test and what keeps its backend alive.
struct Backend {
    store: Arc<dyn DocumentStore>,
    _keep: Box<dyn std::any::Any + Send>,
}

async fn file_backend() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let store = repository::storage::FileStore::open(dir.path().join("documents"))
        .await
        .unwrap();
    Backend {
        store: Arc::new(store),
        _keep: Box::new(dir),
    }
}

#[cfg(feature = "s3-tests")]
async fn s3_backend() -> Backend {
    let moto = support::moto::Moto::start().await;
    let store = repository::storage::S3Store::open(&moto.config()).unwrap();
    Backend {
        store: Arc::new(store),
        _keep: Box::new(moto),
    }
}

/// The content under `key`: SHA-1, size and the largest chunk it came in.
async fn read_back(store: &dyn DocumentStore, key: &StorageKey) -> (String, u64, usize) {
    let mut stream = store.open(key).await.unwrap();
    let mut hasher = Sha1::new();
    let mut size = 0u64;
    let mut largest = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        hasher.update(&chunk);
        size += chunk.len() as u64;
        largest = largest.max(chunk.len());
    }
    (hex::encode(hasher.finalize()), size, largest)
}

async fn is_absent(store: &dyn DocumentStore, key: &StorageKey) -> bool {
    matches!(store.open(key).await, Err(StoreError::NotFound { .. }))
}

async fn committed(store: &dyn DocumentStore, content: &'static [u8]) -> StorageKey {
    let key = StorageKey::generate();
    let mut writer = store.begin(&key).await.unwrap();
    writer.write(Bytes::from_static(content)).await.unwrap();
    writer.commit().await.unwrap();
    key
}

macro_rules! store_contract {
    ($backend:ident, $make:path) => {
        mod $backend {
            use super::*;

            #[tokio::test]
            async fn committed_content_is_read_back_with_its_sha1_and_size() {
                let backend = $make().await;
                let store = backend.store.as_ref();
                let key = StorageKey::generate();
                let mut writer = store.begin(&key).await.unwrap();
                writer.write(Bytes::from_static(b"hello ")).await.unwrap();
                writer.write(Bytes::from_static(b"world")).await.unwrap();
                let stored = writer.commit().await.unwrap();
                let expected = hex::encode(Sha1::digest(b"hello world"));
                assert_eq!(stored.key, key);
                assert_eq!(stored.size, 11);
                assert_eq!(stored.sha1, expected);
                assert_eq!(read_back(store, &key).await.0, expected);
            }

            #[tokio::test]
            async fn empty_content_is_stored() {
                let backend = $make().await;
                let store = backend.store.as_ref();
                let key = StorageKey::generate();
                let writer = store.begin(&key).await.unwrap();
                let stored = writer.commit().await.unwrap();
                assert_eq!(stored.size, 0);
                assert_eq!(read_back(store, &key).await.1, 0);
            }

            #[tokio::test]
            async fn content_is_invisible_before_commit() {
                let backend = $make().await;
                let store = backend.store.as_ref();
                let key = StorageKey::generate();
                let mut writer = store.begin(&key).await.unwrap();
                writer.write(Bytes::from_static(b"partial")).await.unwrap();
                assert!(is_absent(store, &key).await);
                writer.abort().await.unwrap();
            }

            #[tokio::test]
            async fn aborted_write_is_never_visible() {
                let backend = $make().await;
                let store = backend.store.as_ref();
                let key = StorageKey::generate();
                let mut writer = store.begin(&key).await.unwrap();
                writer.write(Bytes::from_static(b"partial")).await.unwrap();
                writer.abort().await.unwrap();
                assert!(is_absent(store, &key).await);
            }

            #[tokio::test]
            async fn dropped_write_is_never_visible() {
                let backend = $make().await;
                let store = backend.store.as_ref();
                let key = StorageKey::generate();
                let mut writer = store.begin(&key).await.unwrap();
                writer.write(Bytes::from_static(b"partial")).await.unwrap();
                drop(writer);
                assert!(is_absent(store, &key).await);
            }

            #[tokio::test]
            async fn removed_content_is_gone_and_removing_twice_is_harmless() {
                let backend = $make().await;
                let store = backend.store.as_ref();
                let key = committed(store, b"x").await;
                let other = committed(store, b"y").await;
                store.remove(&key).await.unwrap();
                store.remove(&key).await.unwrap();
                assert!(is_absent(store, &key).await);
                assert_eq!(read_back(store, &other).await.1, 1);
            }

            #[tokio::test]
            async fn content_of_several_upload_parts_is_streamed_in_and_out_in_bounded_chunks() {
                const TOTAL: usize = 12 * 1024 * 1024;
                const CHUNK: usize = 64 * 1024;
                let backend = $make().await;
                let store = backend.store.as_ref();
                let key = StorageKey::generate();
                let (mut body, sha1) = support::generated_document(TOTAL, CHUNK);
                let mut writer = store.begin(&key).await.unwrap();
                while let Some(chunk) = body.next().await {
                    writer.write(chunk.unwrap()).await.unwrap();
                }
                let stored = writer.commit().await.unwrap();
                assert_eq!(
                    (stored.sha1.as_str(), stored.size),
                    (sha1.as_str(), TOTAL as u64)
                );
                let (read_sha1, size, largest) = read_back(store, &key).await;
                assert_eq!((read_sha1, size), (sha1, TOTAL as u64));
                assert!(
                    largest <= 4 * 1024 * 1024,
                    "a chunk of {largest} bytes was read"
                );
            }
        }
    };
}

store_contract!(file_store, file_backend);
#[cfg(feature = "s3-tests")]
store_contract!(s3_store, s3_backend);

/// ITI-41, ITI-43 and ITI-86 through a repository whose documents live in the S3 store.
#[cfg(feature = "s3-tests")]
#[tokio::test]
async fn s3_backed_repository_provides_retrieves_and_removes_a_document() {
    use schemas::ebrim::ResponseStatus;
    use support::*;

    let dir = tempfile::tempdir().unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let moto = moto::Moto::start().await;
    let registry = start_registry(&dir.path().join("registry"), &shutdown).await;
    let store = Arc::new(repository::storage::S3Store::open(&moto.config()).unwrap());
    let repository = start_repository(
        &dir.path().join("repository"),
        &registry.endpoint_url(),
        store,
        &shutdown,
    )
    .await;
    let url = repository.endpoint_url();
    let uid = new_unique_id();
    let (body, sha1) = generated_document(12 * 1024 * 1024, 256 * 1024);

    let answer = provide_and_register(
        &url,
        one_document_submission(&uid),
        vec![("Document01", Content::Part(body))],
    )
    .await;
    assert_eq!(answer.status, ResponseStatus::Success, "{answer:?}");
    let (response, parts) = retrieve(&url, &[(REPOSITORY_UID, &uid)]).await;
    assert_eq!(response.response.status, ResponseStatus::Success);
    assert_eq!(parts[0].sha1, sha1);

    let removed = remove_documents(&url, &[(REPOSITORY_UID, &uid)]).await;
    assert_eq!(removed.status, ResponseStatus::Success);
    let (response, _) = retrieve(&url, &[(REPOSITORY_UID, &uid)]).await;
    assert_eq!(
        error_codes(&response.response),
        [schemas::constants::error_code::XDS_MISSING_DOCUMENT]
    );
    shutdown.cancel();
}
