//! What the running repository answers, and the ITI-18 query it sends the registry, are valid
//! against the official XSDs: the RegistryResponse of ITI-41 (success and failure), the
//! RetrieveDocumentSetResponse of ITI-43 (its MTOM root part with the xop:Include resolved, and a
//! failure), the RegistryResponse of ITI-86 (success, partial success and failure), and the
//! GetDocuments AdhocQueryRequest of crash recovery.
#![cfg(feature = "peers")]

use std::collections::HashMap;

use base64::Engine;
use conformance_tests::semantic::normalise;
use conformance_tests::shared::shared_dir;
use conformance_tests::xmllint::validate;
use conformance_tests::xsd::{root_element, xsd_for_namespace};
use schemas::mtom::{MtomReader, SoapContentType};
use schemas::soap::{self, action};
use tokio_util::sync::CancellationToken;

const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
const REPOSITORY_UID: &str = "1.3.6.1.4.1.21367.2010.1.2.1125";
const SAMPLE_UNIQUE_ID: &str = "2.25.262469648696365156902516063316555594530";

/// The SOAP Body's first child of the answer to `body` sent with `request_action`, every
/// xop:Include replaced by its MIME part.
async fn call(url: &str, request_action: &str, body: &str) -> String {
    let (envelope, _) = soap::write_request_envelope(request_action, url, body);
    let answer = reqwest::Client::new()
        .post(url)
        .header("content-type", soap::content_type(request_action))
        .body(envelope)
        .send()
        .await
        .expect("repository answers");
    let content_type = answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (root, parts) = match SoapContentType::parse(&content_type).expect("SOAP answer") {
        SoapContentType::Plain { .. } => (answer.bytes().await.expect("body"), HashMap::new()),
        SoapContentType::Mtom(multipart) => {
            let mut reader = MtomReader::new(Box::pin(answer.bytes_stream()), &multipart);
            let root = reader.root(1 << 20).await.expect("MTOM root part");
            let mut parts = HashMap::new();
            while let Some(headers) = reader.next_part().await.expect("MIME part") {
                let mut bytes = Vec::new();
                while let Some(chunk) = reader.read_chunk().await.expect("part chunk") {
                    bytes.extend_from_slice(&chunk);
                }
                parts.insert(headers.content_id.unwrap_or_default(), bytes);
            }
            (root.body, parts)
        }
    };
    let text = String::from_utf8(root.to_vec()).expect("UTF-8 envelope");
    let mut envelope = normalise(&text).unwrap_or_else(|e| panic!("answer is not XML: {e}"));
    envelope
        .resolve_xop_includes(&|cid| parts.get(cid).cloned())
        .unwrap_or_else(|cid| panic!("xop:Include of an absent part {cid}"));
    let body = envelope
        .child_elements()
        .find(|e| e.name.is(SOAP12, "Body"))
        .unwrap_or_else(|| panic!("no SOAP Body in {text}"));
    body.child_elements()
        .next()
        .unwrap_or_else(|| panic!("empty SOAP Body in {text}"))
        .to_xml()
}

fn assert_schema_valid(xml: &str) {
    let shared = shared_dir().unwrap_or_else(|e| panic!("{e}"));
    let root = root_element(xml).expect("message parses");
    let xsd = xsd_for_namespace(&shared, &root.namespace)
        .unwrap_or_else(|| panic!("no XSD for {}", root.namespace));
    if let Err(report) = validate(xml, &xsd) {
        panic!("repository message is not schema-valid: {report}\n{xml}");
    }
}

/// The IHE minimal sample submission without hash, size and repositoryUniqueId (the repository
/// fills them in), with `content` inline as Document01.
fn provide_request(content: &[u8]) -> String {
    let shared = shared_dir().unwrap_or_else(|e| panic!("{e}"));
    let sample =
        std::fs::read_to_string(shared.join("ihe-samples/minimal/SubmitObjectsRequest.xml"))
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
    let dir = tempfile::tempdir().expect("temp dir");
    let shutdown = CancellationToken::new();
    let registry_config = registry::config::Config {
        http_port: 0,
        mllp_port: 0,
        accept_unknown_patients: true,
        ..registry::config::Config::default()
    };
    let registry_dir = dir.path().join("registry");
    std::fs::create_dir_all(&registry_dir).expect("registry folder");
    let registry = registry::server::start(
        &registry_config,
        [127, 0, 0, 1].into(),
        &registry_dir,
        shutdown.clone(),
    )
    .await
    .expect("registry starts");
    let config = repository::config::Config {
        http_port: 0,
        registry_url: registry.endpoint_url(),
        ..repository::config::Config::default()
    };
    let repository_dir = dir.path().join("repository");
    std::fs::create_dir_all(&repository_dir).expect("repository folder");
    let repository = repository::server::start(
        &config,
        [127, 0, 0, 1].into(),
        &repository_dir,
        shutdown.clone(),
    )
    .await
    .expect("repository starts");
    let url = repository.endpoint_url();
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
    shutdown.cancel();
}

#[test]
fn recovery_get_documents_query_validates_against_the_official_schemas() {
    let query = repository::registry_client::get_documents_query("2.25.1'<&");
    assert_schema_valid(&query);
}
