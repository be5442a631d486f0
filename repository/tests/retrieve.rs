//! ITI-43 Retrieve Document Set: registered documents streamed back as MTOM attachments, one
//! RegistryError per document not returned, and constant memory for large documents.

mod support;

use std::sync::atomic::Ordering;

use schemas::constants::error_code;
use schemas::ebrim::ResponseStatus;
use schemas::ihe::DocumentContent;
use support::{
    Content, HOME, REPOSITORY_UID, Setup, error_codes, generated_document, new_unique_id,
    one_document_submission, provide_and_register, retrieve,
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
async fn retrieved_document_references_its_attachment_and_echoes_home_community_id() {
    let setup = Setup::new().await;
    let uid = stored_document(&setup).await;
    let (response, parts) = retrieve(&setup.url(), &[(REPOSITORY_UID, &uid)]).await;
    assert_eq!(response.response.status, ResponseStatus::Success);
    let document = &response.documents[0];
    assert_eq!(document.home_community_id.as_deref(), Some(HOME));
    assert_eq!(document.repository_unique_id, REPOSITORY_UID);
    assert_eq!(document.document_unique_id, uid);
    assert_eq!(document.mime_type, "text/plain");
    assert_eq!(
        document.content,
        DocumentContent::Include {
            content_id: parts[0].content_id.clone()
        }
    );
    assert_eq!(parts[0].bytes, TEXT);
}

#[tokio::test]
async fn unknown_repository_unique_id_is_xds_unknown_repository_id() {
    let setup = Setup::new().await;
    let uid = stored_document(&setup).await;
    let (response, parts) = retrieve(&setup.url(), &[("1.2.3.999", &uid)]).await;
    assert_eq!(response.response.status, ResponseStatus::Failure);
    assert_eq!(
        error_codes(&response.response),
        vec![error_code::XDS_UNKNOWN_REPOSITORY_ID]
    );
    assert_eq!(
        response.response.errors[0].location.as_deref(),
        Some("1.2.3.999")
    );
    assert!(parts.is_empty());
}

#[tokio::test]
async fn unknown_document_among_known_ones_is_xds_missing_document_with_partial_success() {
    let setup = Setup::new().await;
    let uid = stored_document(&setup).await;
    let unknown = new_unique_id();
    let (response, parts) = retrieve(
        &setup.url(),
        &[(REPOSITORY_UID, &uid), (REPOSITORY_UID, &unknown)],
    )
    .await;
    assert_eq!(response.response.status, ResponseStatus::PartialSuccess);
    assert_eq!(
        error_codes(&response.response),
        vec![error_code::XDS_MISSING_DOCUMENT]
    );
    assert_eq!(
        response.response.errors[0].location.as_deref(),
        Some(unknown.as_str())
    );
    assert_eq!(response.documents.len(), 1);
    assert_eq!(parts[0].bytes, TEXT);
}

#[tokio::test]
async fn no_document_found_is_a_failure() {
    let setup = Setup::new().await;
    let (response, parts) = retrieve(&setup.url(), &[(REPOSITORY_UID, &new_unique_id())]).await;
    assert_eq!(response.response.status, ResponseStatus::Failure);
    assert_eq!(
        error_codes(&response.response),
        vec![error_code::XDS_MISSING_DOCUMENT]
    );
    assert!(response.documents.is_empty() && parts.is_empty());
}

#[tokio::test]
async fn document_whose_registration_failed_is_never_served() {
    let setup = Setup::with_registry_down().await;
    let uid = new_unique_id();
    let answer = provide_and_register(
        &setup.url(),
        one_document_submission(&uid),
        vec![("Document01", Content::bytes(TEXT))],
    )
    .await;
    assert_eq!(answer.status, ResponseStatus::Failure);
    let (response, _) = retrieve(&setup.url(), &[(REPOSITORY_UID, &uid)]).await;
    assert_eq!(
        error_codes(&response.response),
        vec![error_code::XDS_MISSING_DOCUMENT]
    );
}

/// 50 MB in and out: the store sees the document as many small chunks both ways, never whole.
#[tokio::test]
async fn fifty_megabyte_document_round_trip_is_streamed_in_bounded_chunks() {
    const SIZE: usize = 50 * 1024 * 1024;
    const CLIENT_CHUNK: usize = 256 * 1024;
    // The store's buffer size: read straight from the socket, a document arrives in whole ones.
    const BOUND: u64 = repository::storage::BATCH_BYTES as u64;
    let setup = Setup::new().await;
    let uid = new_unique_id();
    let (body, sha1) = generated_document(SIZE, CLIENT_CHUNK);
    let answer = provide_and_register(
        &setup.url(),
        one_document_submission(&uid),
        vec![("Document01", Content::Part(body))],
    )
    .await;
    assert_eq!(answer.status, ResponseStatus::Success, "{answer:?}");
    let entry = setup
        .registered_entries()
        .await
        .into_iter()
        .find(|e| e.unique_id.value == uid)
        .expect("registered");
    assert_eq!(entry.hash.as_deref(), Some(sha1.as_str()));
    assert_eq!(entry.size.as_deref(), Some(SIZE.to_string().as_str()));

    let counters = &setup.store.counters;
    let written = counters.chunks_written.load(Ordering::Relaxed);
    let largest_written = counters.largest_chunk_written.load(Ordering::Relaxed);
    assert!(written >= SIZE as u64 / BOUND, "{written} chunks written");
    assert!(
        largest_written <= BOUND,
        "largest chunk written: {largest_written}"
    );

    let (response, parts) = retrieve(&setup.url(), &[(REPOSITORY_UID, &uid)]).await;
    assert_eq!(response.response.status, ResponseStatus::Success);
    assert_eq!(parts[0].size, SIZE as u64);
    assert_eq!(parts[0].sha1, sha1);
    let read = counters.chunks_read.load(Ordering::Relaxed);
    let largest_read = counters.largest_chunk_read.load(Ordering::Relaxed);
    assert!(read >= 50, "{read} chunks read");
    assert!(largest_read <= BOUND, "largest chunk read: {largest_read}");
}
