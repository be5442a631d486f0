//! ITI-86 Remove Documents (ITI TF-2b 3.86): each document removed stops being served and its
//! content and index row are deleted; one RegistryError per document not removed.

mod support;

use repository::storage::{DocumentState, NewDocument, StorageKey};
use schemas::constants::error_code;
use schemas::ebrim::ResponseStatus;
use support::{
    Content, REPOSITORY_UID, Setup, error_codes, new_unique_id, one_document_submission,
    provide_and_register, remove_documents, retrieve,
};

const TEXT: &[u8] = b"CT chest report: no acute findings.\n";

async fn stored_document(setup: &Setup) -> String {
    let uid = new_unique_id();
    let answer = provide_and_register(
        &setup.url(),
        one_document_submission(&uid),
        vec![("Document01", Content::bytes(TEXT))],
    )
    .await;
    assert_eq!(answer.status, ResponseStatus::Success, "{answer:?}");
    uid
}

#[tokio::test]
async fn removed_document_is_no_longer_retrieved_and_its_content_and_row_are_gone() {
    let setup = Setup::new().await;
    let uid = stored_document(&setup).await;
    let kept = stored_document(&setup).await;

    let answer = remove_documents(&setup.url(), &[(REPOSITORY_UID, &uid)]).await;

    assert_eq!(answer.status, ResponseStatus::Success, "{answer:?}");
    assert!(answer.errors.is_empty());
    let (response, _) = retrieve(&setup.url(), &[(REPOSITORY_UID, &uid)]).await;
    assert_eq!(
        error_codes(&response.response),
        [error_code::XDS_MISSING_DOCUMENT]
    );
    let rows = setup.index_rows().await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].document_unique_id, kept);
    assert_eq!(setup.stored_files().len(), 1);
}

#[tokio::test]
async fn unknown_document_is_xds_document_unique_id_error_with_failure() {
    let setup = Setup::new().await;
    let unknown = new_unique_id();

    let answer = remove_documents(&setup.url(), &[(REPOSITORY_UID, &unknown)]).await;

    assert_eq!(answer.status, ResponseStatus::Failure);
    assert_eq!(
        error_codes(&answer),
        [error_code::XDS_DOCUMENT_UNIQUE_ID_ERROR]
    );
    assert_eq!(answer.errors[0].location.as_deref(), Some(unknown.as_str()));
}

#[tokio::test]
async fn document_removed_twice_is_xds_document_unique_id_error_the_second_time() {
    let setup = Setup::new().await;
    let uid = stored_document(&setup).await;
    let first = remove_documents(&setup.url(), &[(REPOSITORY_UID, &uid)]).await;
    assert_eq!(first.status, ResponseStatus::Success);

    let second = remove_documents(&setup.url(), &[(REPOSITORY_UID, &uid)]).await;

    assert_eq!(
        error_codes(&second),
        [error_code::XDS_DOCUMENT_UNIQUE_ID_ERROR]
    );
}

#[tokio::test]
async fn another_repository_unique_id_is_xds_unknown_repository_id_and_nothing_is_removed() {
    let setup = Setup::new().await;
    let uid = stored_document(&setup).await;

    let answer = remove_documents(&setup.url(), &[("1.2.3.999", &uid)]).await;

    assert_eq!(answer.status, ResponseStatus::Failure);
    assert_eq!(
        error_codes(&answer),
        [error_code::XDS_UNKNOWN_REPOSITORY_ID]
    );
    assert_eq!(answer.errors[0].location.as_deref(), Some("1.2.3.999"));
    let (response, parts) = retrieve(&setup.url(), &[(REPOSITORY_UID, &uid)]).await;
    assert_eq!(response.response.status, ResponseStatus::Success);
    assert_eq!(parts[0].bytes, TEXT);
}

#[tokio::test]
async fn some_documents_removed_and_some_not_is_partial_success() {
    let setup = Setup::new().await;
    let uid = stored_document(&setup).await;
    let unknown = new_unique_id();

    let answer = remove_documents(
        &setup.url(),
        &[(REPOSITORY_UID, &uid), (REPOSITORY_UID, &unknown)],
    )
    .await;

    assert_eq!(answer.status, ResponseStatus::PartialSuccess);
    assert_eq!(
        error_codes(&answer),
        [error_code::XDS_DOCUMENT_UNIQUE_ID_ERROR]
    );
    assert!(setup.index_rows().await.is_empty());
    assert!(setup.stored_files().is_empty());
}

#[tokio::test]
async fn pending_document_is_not_removed() {
    let setup = Setup::new().await;
    let index = &setup.repository.repository.index;
    let uid = new_unique_id();
    index
        .insert_pending(&NewDocument {
            key: StorageKey::generate(),
            repository_unique_id: REPOSITORY_UID.into(),
            document_unique_id: uid.clone(),
            mime_type: "text/plain".into(),
        })
        .await
        .unwrap();

    let answer = remove_documents(&setup.url(), &[(REPOSITORY_UID, &uid)]).await;

    assert_eq!(
        error_codes(&answer),
        [error_code::XDS_DOCUMENT_UNIQUE_ID_ERROR]
    );
    assert_eq!(setup.index_rows().await[0].state, DocumentState::Pending);
}

#[tokio::test]
async fn removal_a_crash_left_half_done_is_finished_at_start() {
    let setup = Setup::new().await;
    let uid = stored_document(&setup).await;
    let index = &setup.repository.repository.index;
    let keys = index.registered_keys(REPOSITORY_UID, &uid).await.unwrap();
    assert_eq!(index.mark_removing(&keys).await.unwrap(), 1);
    let (response, _) = retrieve(&setup.url(), &[(REPOSITORY_UID, &uid)]).await;
    assert_eq!(
        error_codes(&response.response),
        [error_code::XDS_MISSING_DOCUMENT]
    );

    let again = support::start_repository(
        setup.dir.path(),
        "http://127.0.0.1:9/xds/registry",
        setup.store.clone(),
        &setup.shutdown,
    )
    .await;

    assert!(again.repository.index.all().await.unwrap().is_empty());
    assert!(setup.stored_files().is_empty());
}
