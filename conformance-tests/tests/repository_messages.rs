//! What the running repository answers, and the ITI-18 query it sends the registry, are valid
//! against the official XSDs: the RegistryResponse of ITI-41 (success and failure), the
//! RetrieveDocumentSetResponse of ITI-43 (its MTOM root part with the xop:Include resolved, and a
//! failure), the RegistryResponse of ITI-86 (success, partial success and failure), and the
//! GetDocuments AdhocQueryRequest of crash recovery.
#![cfg(feature = "peers")]

mod support;

use base64::Engine;
use schemas::soap::action;
use support::{assert_schema_valid, call};

const REPOSITORY_UID: &str = "1.3.6.1.4.1.21367.2010.1.2.1125";
const SAMPLE_UNIQUE_ID: &str = "2.25.262469648696365156902516063316555594530";

/// The IHE minimal sample submission without hash, size and repositoryUniqueId (the repository
/// fills them in), with `content` inline as Document01.
fn provide_request(content: &[u8]) -> String {
    let sample = std::fs::read_to_string(support::shared_file(
        "ihe-samples/minimal/SubmitObjectsRequest.xml",
    ))
    .expect("IHE minimal SubmitObjectsRequest sample");
    let submission: String = sample
        .lines()
        .filter(|l| {
            !(l.contains("<?xml")
                || l.contains("name=\"hash\"")
                || l.contains("name=\"size\"")
                || l.contains("name=\"repositoryUniqueId\""))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    format!(
        "<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb=\"urn:ihe:iti:xds-b:2007\">{submission}<xdsb:Document id=\"Document01\">{}</xdsb:Document></xdsb:ProvideAndRegisterDocumentSetRequest>",
        base64::engine::general_purpose::STANDARD.encode(content)
    )
}

fn document_requests(element: &str, wanted: &[(&str, &str)]) -> String {
    let requests: String = wanted
        .iter()
        .map(|(repository, document)| {
            format!(
                "<xdsb:DocumentRequest><xdsb:RepositoryUniqueId>{repository}</xdsb:RepositoryUniqueId><xdsb:DocumentUniqueId>{document}</xdsb:DocumentUniqueId></xdsb:DocumentRequest>"
            )
        })
        .collect();
    let ns = if element == "RemoveDocumentsRequest" {
        "xmlns:rmd=\"urn:ihe:iti:rmd:2017\" xmlns:xdsb=\"urn:ihe:iti:xds-b:2007\""
    } else {
        "xmlns:xdsb=\"urn:ihe:iti:xds-b:2007\""
    };
    let prefix = if element == "RemoveDocumentsRequest" {
        "rmd"
    } else {
        "xdsb"
    };
    format!("<{prefix}:{element} {ns}>{requests}</{prefix}:{element}>")
}

#[tokio::test]
async fn repository_answers_validate_against_the_official_schemas() {
    let peers = support::registry_and_repository().await;
    let url = peers.repository.endpoint_url();
    let content = b"report text";

    let provided = call(
        &url,
        action::PROVIDE_AND_REGISTER_DOCUMENT_SET_B,
        &provide_request(content),
    )
    .await;
    assert!(
        provided.contains("ResponseStatusType:Success"),
        "{provided}"
    );
    assert_schema_valid(&provided);
    let refused = call(
        &url,
        action::PROVIDE_AND_REGISTER_DOCUMENT_SET_B,
        &provide_request(content).replace(
            "<xdsb:Document id=\"Document01\">",
            "<xdsb:Document id=\"Other\">",
        ),
    )
    .await;
    assert!(refused.contains("ResponseStatusType:Failure"), "{refused}");
    assert_schema_valid(&refused);

    let retrieved = call(
        &url,
        action::RETRIEVE_DOCUMENT_SET,
        &document_requests(
            "RetrieveDocumentSetRequest",
            &[(REPOSITORY_UID, SAMPLE_UNIQUE_ID)],
        ),
    )
    .await;
    assert!(
        retrieved.contains("ResponseStatusType:Success"),
        "{retrieved}"
    );
    assert!(
        retrieved.contains(&base64::engine::general_purpose::STANDARD.encode(content)),
        "{retrieved}"
    );
    assert_schema_valid(&retrieved);
    let missing = call(
        &url,
        action::RETRIEVE_DOCUMENT_SET,
        &document_requests(
            "RetrieveDocumentSetRequest",
            &[(REPOSITORY_UID, "2.25.1"), ("1.2.3", SAMPLE_UNIQUE_ID)],
        ),
    )
    .await;
    assert!(missing.contains("XDSMissingDocument"), "{missing}");
    assert_schema_valid(&missing);

    let partially_removed = call(
        &url,
        action::REMOVE_DOCUMENTS,
        &document_requests(
            "RemoveDocumentsRequest",
            &[
                (REPOSITORY_UID, SAMPLE_UNIQUE_ID),
                (REPOSITORY_UID, "2.25.1"),
            ],
        ),
    )
    .await;
    assert!(
        partially_removed.contains("ResponseStatusType:PartialSuccess"),
        "{partially_removed}"
    );
    assert_schema_valid(&partially_removed);
    let not_removed = call(
        &url,
        action::REMOVE_DOCUMENTS,
        &document_requests("RemoveDocumentsRequest", &[("1.2.3", SAMPLE_UNIQUE_ID)]),
    )
    .await;
    assert!(
        not_removed.contains("XDSUnknownRepositoryId"),
        "{not_removed}"
    );
    assert_schema_valid(&not_removed);
}

#[test]
fn recovery_get_documents_query_validates_against_the_official_schemas() {
    let query = repository::registry_client::get_documents_query("2.25.1'<&");
    assert_schema_valid(&query);
}
