//! The file store and the index: content committed into a sharded path, aborted or dropped
//! writes leaving no file, and the start sweep of documents stored but never offered to the
//! registry. The contract every store keeps is `store_contract.rs`.

use bytes::Bytes;
use futures::TryStreamExt;
use repository::storage::{
    DocumentIndex, DocumentState, DocumentStore, FileStore, NewDocument, StorageKey, StoreError,
    now_millis, sweep_pending,
};

async fn store(dir: &std::path::Path) -> FileStore {
    FileStore::open(dir.join("documents")).await.unwrap()
}

async fn read_all(store: &FileStore, key: &StorageKey) -> Vec<u8> {
    let chunks: Vec<Bytes> = store.open(key).await.unwrap().try_collect().await.unwrap();
    chunks.concat()
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[tokio::test]
async fn committed_content_lives_in_a_sharded_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let key = StorageKey::generate();
    let mut writer = store.begin(&key).await.unwrap();
    writer.write(Bytes::from_static(b"x")).await.unwrap();
    writer.commit().await.unwrap();
    let k = key.as_str();
    let expected = dir
        .path()
        .join("documents")
        .join(&k[0..2])
        .join(&k[2..4])
        .join(k);
    assert_eq!(store.path_of(&key), expected);
    assert!(expected.is_file());
}

#[tokio::test]
async fn aborted_write_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let key = StorageKey::generate();
    let mut writer = store.begin(&key).await.unwrap();
    writer.write(Bytes::from_static(b"partial")).await.unwrap();
    writer.abort().await.unwrap();
    assert!(files_under(store.root()).is_empty());
}

#[tokio::test]
async fn dropped_write_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let mut writer = store.begin(&StorageKey::generate()).await.unwrap();
    writer.write(Bytes::from_static(b"partial")).await.unwrap();
    drop(writer);
    assert!(files_under(store.root()).is_empty());
}

#[test]
fn a_storage_key_that_could_name_another_path_is_refused() {
    for bad in ["../../etc/passwd", "", "ABCDEF0123456789abcdef0123456789"] {
        assert!(matches!(
            StorageKey::parse(bad),
            Err(StoreError::InvalidKey(_))
        ));
    }
    assert!(StorageKey::parse(StorageKey::generate().as_str()).is_ok());
}

fn new_document(uid: &str) -> NewDocument {
    NewDocument {
        key: StorageKey::generate(),
        repository_unique_id: "1.2.3".into(),
        document_unique_id: uid.into(),
        mime_type: "text/plain".into(),
    }
}

#[tokio::test]
async fn only_registered_documents_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let index = DocumentIndex::open(&dir.path().join("repository.db"))
        .await
        .unwrap();
    let doc = new_document("1.2.3.4");
    index.insert_pending(&doc).await.unwrap();
    index.set_content(&doc.key, "abc", 3).await.unwrap();
    assert_eq!(
        index.find_registered("1.2.3", "1.2.3.4").await.unwrap(),
        None
    );
    index
        .mark_registered(std::slice::from_ref(&doc.key))
        .await
        .unwrap();
    let found = index
        .find_registered("1.2.3", "1.2.3.4")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.state, DocumentState::Registered);
    assert_eq!(found.hash.as_deref(), Some("abc"));
    assert_eq!(found.size, Some(3));
    assert_eq!(
        index.find_registered("9.9.9", "1.2.3.4").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn registering_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let index = DocumentIndex::open(&dir.path().join("repository.db"))
        .await
        .unwrap();
    let doc = new_document("1.2.3.4");
    index.insert_pending(&doc).await.unwrap();
    let missing = StorageKey::generate();
    assert!(
        index
            .mark_registered(&[doc.key.clone(), missing])
            .await
            .is_err()
    );
    let row = index.get(&doc.key).await.unwrap().unwrap();
    assert_eq!(row.state, DocumentState::Pending);
}

#[tokio::test]
async fn start_sweep_removes_pending_documents_and_uncommitted_writes_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path()).await;
    let index = DocumentIndex::open(&dir.path().join("repository.db"))
        .await
        .unwrap();
    let mut keys = Vec::new();
    for uid in ["1.1", "1.2"] {
        let doc = new_document(uid);
        index.insert_pending(&doc).await.unwrap();
        let mut writer = store.begin(&doc.key).await.unwrap();
        writer.write(Bytes::from_static(b"content")).await.unwrap();
        writer.commit().await.unwrap();
        keys.push(doc.key);
    }
    index.mark_registered(&keys[1..]).await.unwrap();
    // A write of a crashed process: its temporary file was never committed.
    let crashed = store.begin(&StorageKey::generate()).await.unwrap();
    std::mem::forget(crashed);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    let removed = sweep_pending(&store, &index, now_millis()).await.unwrap();

    assert_eq!(removed, 1);
    assert_eq!(index.get(&keys[0]).await.unwrap(), None);
    assert!(matches!(
        store.open(&keys[0]).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(read_all(&store, &keys[1]).await, b"content");
    assert_eq!(files_under(store.root()), vec![store.path_of(&keys[1])]);
}
