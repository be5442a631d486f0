//! RAD-69 answers validate against the official XSD (`xdsb:RetrieveDocumentSetResponse`,
//! IHE/XDS.b_DocumentRepository.xsd) with xmllint: a Success with documents, and a
//! PartialSuccess carrying each RegistryError kind.
//! Peer tier: `cargo test -p imaging-source --features peers` (xmllint, ../shared).
#![cfg(feature = "peers")]

#[path = "support/serve.rs"]
mod serve;

use conformance_tests::{shared, xmllint, xsd};
use schemas::ebrim::ResponseStatus;
use schemas::soap::{self, action};
use serve::{EXPLICIT_LE, IMPLICIT_LE, REPOSITORY_UID, SERIES_A, STUDY, Setup, request};

/// The SOAP Body's child of an envelope written by `schemas::soap`.
fn body_child(envelope: &str) -> &str {
    let open = envelope.find("<env:Body>").unwrap() + "<env:Body>".len();
    let close = envelope.rfind(soap::ENVELOPE_SUFFIX).unwrap();
    &envelope[open..close]
}

/// XOP decoding (XOP 1.0 3.2): each `xop:Include` replaced by the base64 of its part, which is
/// what the XSD describes.
fn xop_decoded(body: &str, parts: &[serve::Part]) -> String {
    use base64::Engine;
    let mut out = String::new();
    let mut rest = body;
    while let Some(start) = rest.find("<xop:Include") {
        out.push_str(&rest[..start]);
        let end = start + rest[start..].find("/>").unwrap() + 2;
        let include = &rest[start..end];
        let href = include.split("href=\"cid:").nth(1).unwrap();
        let cid = &href[..href.find('"').unwrap()];
        let part = parts
            .iter()
            .find(|p| p.content_id.trim_matches(['<', '>']) == cid)
            .unwrap();
        out.push_str(&base64::engine::general_purpose::STANDARD.encode(&part.bytes));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

async fn answer_envelope(
    setup: &Setup,
    wanted: &[(&str, &str, &str)],
    repository: &str,
) -> (ResponseStatus, String) {
    let request = request(repository, wanted, &[EXPLICIT_LE]);
    let (envelope, _) = soap::write_request_envelope(
        action::RETRIEVE_IMAGING_DOCUMENT_SET,
        &setup.url(),
        &request.to_xml(),
    );
    let response = serve::post_soap(
        &setup.url(),
        action::RETRIEVE_IMAGING_DOCUMENT_SET,
        envelope,
    )
    .await;
    let (answer, parts, envelope) = serve::read_answer_with_envelope(response).await;
    (
        answer.response.status,
        xop_decoded(body_child(&envelope), &parts),
    )
}

fn validate(body: &str) {
    let shared = shared::shared_dir().unwrap_or_else(|e| panic!("{e}"));
    let schema = xsd::xsd_for_namespace(&shared, xsd::NS_XDSB).unwrap();
    if let Err(report) = xmllint::validate(body, &schema) {
        panic!("{report}\n{body}");
    }
}

#[tokio::test]
async fn success_answer_is_schema_valid() {
    let setup = Setup::new().await;
    setup.stored(SERIES_A, "1.2.3.1", EXPLICIT_LE).await;
    let (status, envelope) =
        answer_envelope(&setup, &[(STUDY, SERIES_A, "1.2.3.1")], REPOSITORY_UID).await;
    assert_eq!(status, ResponseStatus::Success);
    validate(&envelope);
}

#[tokio::test]
async fn partial_success_with_every_error_kind_is_schema_valid() {
    let setup = Setup::new().await;
    setup.stored(SERIES_A, "1.2.3.1", EXPLICIT_LE).await;
    setup.stored(SERIES_A, "1.2.3.2", IMPLICIT_LE).await;
    let (status, envelope) = answer_envelope(
        &setup,
        &[
            (STUDY, SERIES_A, "1.2.3.1"),
            (STUDY, SERIES_A, "1.2.3.2"),
            (STUDY, SERIES_A, "1.2.3.3"),
        ],
        REPOSITORY_UID,
    )
    .await;
    assert_eq!(status, ResponseStatus::PartialSuccess);
    validate(&envelope);
    let (status, envelope) =
        answer_envelope(&setup, &[(STUDY, SERIES_A, "1.2.3.1")], "9.9.9").await;
    assert_eq!(status, ResponseStatus::Failure);
    validate(&envelope);
}
