//! ITI-41 Provide and Register Document Set-b against a real registry on loopback: documents are
//! stored, their DocumentEntries completed and registered with ITI-42, all or nothing.

mod support;

use repository::storage::DocumentStore;
use schemas::constants::error_code;
use schemas::ebrim::ResponseStatus;
use schemas::soap::{self, action};
use support::{
    Content, REPOSITORY_UID, Setup, document_entry, error_codes, new_unique_id,
    one_document_submission, provide_and_register, provide_and_register_plain, retrieve, sha1_hex,
    submit, with_slot, without,
};

const TEXT: &[u8] = b"CT chest report: no acute findings.\n";

#[tokio::test]
async fn provided_document_is_registered_with_hash_size_and_repository_unique_id() {
    let setup = Setup::new().await;
    let uid = new_unique_id();
    let answer = provide_and_register(
        &setup.url(),
        one_document_submission(&uid),
        vec![("Document01", Content::bytes(TEXT))],
    )
    .await;
    assert_eq!(answer.status, ResponseStatus::Success, "{answer:?}");

    let entries = setup.registered_entries().await;
    let entry = entries
        .iter()
        .find(|e| e.unique_id.value == uid)
        .expect("the registry holds the entry");
    assert_eq!(entry.hash.as_deref(), Some(sha1_hex(TEXT).as_str()));
    assert_eq!(entry.size.as_deref(), Some(TEXT.len().to_string().as_str()));
    assert_eq!(entry.repository_unique_id.as_deref(), Some(REPOSITORY_UID));
}

#[tokio::test]
async fn provided_document_is_retrieved_byte_for_byte() {
    let setup = Setup::new().await;
    let uid = new_unique_id();
    let answer = provide_and_register(
        &setup.url(),
        one_document_submission(&uid),
        vec![("Document01", Content::bytes(TEXT))],
    )
    .await;
    assert_eq!(answer.status, ResponseStatus::Success, "{answer:?}");
    let (response, parts) = retrieve(&setup.url(), &[(REPOSITORY_UID, &uid)]).await;
    assert_eq!(response.response.status, ResponseStatus::Success);
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].bytes, TEXT);
}

#[tokio::test]
async fn inline_base64_document_in_a_plain_soap_request_is_stored() {
    let setup = Setup::new().await;
    let uid = new_unique_id();
    let answer = provide_and_register_plain(
        &setup.url(),
        one_document_submission(&uid),
        vec![("Document01", TEXT.to_vec())],
    )
    .await;
    assert_eq!(answer.status, ResponseStatus::Success, "{answer:?}");
    let (_, parts) = retrieve(&setup.url(), &[(REPOSITORY_UID, &uid)]).await;
    assert_eq!(parts[0].bytes, TEXT);
}

#[tokio::test]
async fn inline_base64_document_in_an_mtom_request_is_stored() {
    let setup = Setup::new().await;
    let uid = new_unique_id();
    let answer = provide_and_register(
        &setup.url(),
        one_document_submission(&uid),
        vec![("Document01", Content::Inline(TEXT.to_vec()))],
    )
    .await;
    assert_eq!(answer.status, ResponseStatus::Success, "{answer:?}");
    let (_, parts) = retrieve(&setup.url(), &[(REPOSITORY_UID, &uid)]).await;
    assert_eq!(parts[0].bytes, TEXT);
}

#[tokio::test]
async fn two_documents_of_one_submission_are_both_stored() {
    let setup = Setup::new().await;
    let (uid1, uid2) = (new_unique_id(), new_unique_id());
    let submission = submit(
        &[
            document_entry("Document01", &uid1),
            document_entry("Document02", &uid2),
        ],
        &["Document01", "Document02"],
    );
    let answer = provide_and_register(
        &setup.url(),
        submission,
        vec![
            ("Document01", Content::bytes(b"one")),
            ("Document02", Content::bytes(b"two")),
        ],
    )
    .await;
    assert_eq!(answer.status, ResponseStatus::Success, "{answer:?}");
    let (response, parts) = retrieve(
        &setup.url(),
        &[(REPOSITORY_UID, &uid1), (REPOSITORY_UID, &uid2)],
    )
    .await;
    assert_eq!(response.documents.len(), 2);
    let bytes: Vec<&[u8]> = parts.iter().map(|p| p.bytes.as_slice()).collect();
    assert_eq!(bytes, vec![b"one".as_slice(), b"two".as_slice()]);
}

#[tokio::test]
async fn correct_submitted_hash_and_size_are_accepted() {
    let setup = Setup::new().await;
    let uid = new_unique_id();
    let entry = with_slot(
        &with_slot(
            &document_entry("Document01", &uid),
            "hash",
            &sha1_hex(TEXT).to_uppercase(),
        ),
        "size",
        &TEXT.len().to_string(),
    );
    let answer = provide_and_register(
        &setup.url(),
        submit(&[entry], &["Document01"]),
        vec![("Document01", Content::bytes(TEXT))],
    )
    .await;
    assert_eq!(answer.status, ResponseStatus::Success, "{answer:?}");
}

async fn assert_refused_and_nothing_kept(
    setup: &Setup,
    answer: &schemas::ebrim::RegistryResponse,
    code: &str,
) {
    assert_eq!(answer.status, ResponseStatus::Failure, "{answer:?}");
    assert!(error_codes(answer).contains(&code), "{answer:?}");
    assert_eq!(setup.stored_files(), Vec::<std::path::PathBuf>::new());
    assert!(setup.index_rows().await.is_empty());
    assert!(setup.registered_entries().await.is_empty());
}

#[tokio::test]
async fn document_without_document_entry_is_xds_missing_document_metadata() {
    let setup = Setup::new().await;
    let answer = provide_and_register(
        &setup.url(),
        one_document_submission(&new_unique_id()),
        vec![
            ("Document01", Content::bytes(TEXT)),
            ("Document99", Content::bytes(TEXT)),
        ],
    )
    .await;
    assert_refused_and_nothing_kept(&setup, &answer, error_code::XDS_MISSING_DOCUMENT_METADATA)
        .await;
    assert_eq!(answer.errors[0].location.as_deref(), Some("Document99"));
}

#[tokio::test]
async fn document_entry_without_document_is_xds_missing_document() {
    let setup = Setup::new().await;
    let submission = submit(
        &[
            document_entry("Document01", &new_unique_id()),
            document_entry("Document02", &new_unique_id()),
        ],
        &["Document01", "Document02"],
    );
    let answer = provide_and_register(
        &setup.url(),
        submission,
        vec![("Document01", Content::bytes(TEXT))],
    )
    .await;
    assert_refused_and_nothing_kept(&setup, &answer, error_code::XDS_MISSING_DOCUMENT).await;
    assert_eq!(answer.errors[0].location.as_deref(), Some("Document02"));
}

#[tokio::test]
async fn include_of_a_part_not_in_the_message_is_xds_missing_document() {
    let setup = Setup::new().await;
    let answer = provide_and_register(
        &setup.url(),
        one_document_submission(&new_unique_id()),
        vec![("Document01", Content::MissingPart)],
    )
    .await;
    assert_refused_and_nothing_kept(&setup, &answer, error_code::XDS_MISSING_DOCUMENT).await;
}

#[tokio::test]
async fn submitted_hash_differing_from_the_content_is_xds_repository_metadata_error() {
    let setup = Setup::new().await;
    let entry = with_slot(
        &document_entry("Document01", &new_unique_id()),
        "hash",
        &sha1_hex(b"something else"),
    );
    let answer = provide_and_register(
        &setup.url(),
        submit(&[entry], &["Document01"]),
        vec![("Document01", Content::bytes(TEXT))],
    )
    .await;
    assert_refused_and_nothing_kept(&setup, &answer, error_code::XDS_REPOSITORY_METADATA_ERROR)
        .await;
}

#[tokio::test]
async fn submitted_size_differing_from_the_content_is_xds_repository_metadata_error() {
    let setup = Setup::new().await;
    let entry = with_slot(&document_entry("Document01", &new_unique_id()), "size", "1");
    let answer = provide_and_register(
        &setup.url(),
        submit(&[entry], &["Document01"]),
        vec![("Document01", Content::bytes(TEXT))],
    )
    .await;
    assert_refused_and_nothing_kept(&setup, &answer, error_code::XDS_REPOSITORY_METADATA_ERROR)
        .await;
}

#[tokio::test]
async fn repository_unique_id_of_another_repository_is_xds_repository_metadata_error() {
    let setup = Setup::new().await;
    let entry = with_slot(
        &document_entry("Document01", &new_unique_id()),
        "repositoryUniqueId",
        "1.2.3.999",
    );
    let answer = provide_and_register(
        &setup.url(),
        submit(&[entry], &["Document01"]),
        vec![("Document01", Content::bytes(TEXT))],
    )
    .await;
    assert_refused_and_nothing_kept(&setup, &answer, error_code::XDS_REPOSITORY_METADATA_ERROR)
        .await;
}

#[tokio::test]
async fn registry_down_is_xds_registry_not_available_and_nothing_is_left_in_the_store() {
    let setup = Setup::with_registry_down().await;
    let answer = provide_and_register(
        &setup.url(),
        one_document_submission(&new_unique_id()),
        vec![("Document01", Content::bytes(TEXT))],
    )
    .await;
    assert_refused_and_nothing_kept(&setup, &answer, error_code::XDS_REGISTRY_NOT_AVAILABLE).await;
}

#[tokio::test]
async fn registry_refusal_is_returned_and_the_stored_documents_are_removed() {
    let setup = Setup::new().await;
    // Without classCode the registry refuses the DocumentEntry (the repository does not check it).
    let entry = without(
        &document_entry("Document01", &new_unique_id()),
        "-classCode",
    );
    let answer = provide_and_register(
        &setup.url(),
        submit(&[entry], &["Document01"]),
        vec![("Document01", Content::bytes(TEXT))],
    )
    .await;
    assert_refused_and_nothing_kept(&setup, &answer, error_code::XDS_REGISTRY_METADATA_ERROR).await;
    assert!(
        setup
            .store
            .counters
            .chunks_written
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0,
        "the document was stored before the registry refused it"
    );
}

#[tokio::test]
async fn malformed_submission_body_is_xds_repository_metadata_error() {
    let setup = Setup::new().await;
    let body =
        r#"<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007"/>"#;
    let (envelope, _) = soap::write_request_envelope(
        action::PROVIDE_AND_REGISTER_DOCUMENT_SET_B,
        &setup.url(),
        body,
    );
    let text = reqwest::Client::new()
        .post(setup.url())
        .header(
            "content-type",
            soap::content_type(action::PROVIDE_AND_REGISTER_DOCUMENT_SET_B),
        )
        .body(envelope)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(error_code::XDS_REPOSITORY_METADATA_ERROR),
        "{text}"
    );
}

#[tokio::test]
async fn unknown_action_is_a_sender_fault_action_not_supported() {
    let setup = Setup::new().await;
    let (envelope, _) = soap::write_request_envelope("urn:example:Nothing", &setup.url(), "<x/>");
    let response = reqwest::Client::new()
        .post(setup.url())
        .header("content-type", soap::content_type("urn:example:Nothing"))
        .body(envelope)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("ActionNotSupported")
    );
}

#[tokio::test]
async fn healthz_and_metrics_are_served() {
    let setup = Setup::new().await;
    let base = format!("http://{}", setup.repository.http_addr);
    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(health.text().await.unwrap().contains("repository"));
    let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(metrics.status(), 200);
}

#[tokio::test]
async fn start_removes_documents_a_previous_process_left_pending() {
    let setup = Setup::new().await;
    let index = &setup.repository.repository.index;
    let key = repository::storage::StorageKey::generate();
    index
        .insert_pending(&repository::storage::NewDocument {
            key: key.clone(),
            repository_unique_id: REPOSITORY_UID.into(),
            document_unique_id: new_unique_id(),
            mime_type: "text/plain".into(),
        })
        .await
        .unwrap();
    let mut writer = setup.store.begin(&key).await.unwrap();
    writer.write(bytes::Bytes::from_static(TEXT)).await.unwrap();
    writer.commit().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

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
