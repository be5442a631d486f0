//! What the running registry answers is valid against the official XSDs: the RegistryResponse of
//! ITI-42 (success and failure) and the AdhocQueryResponse of ITI-18 (LeafClass and ObjectRef),
//! sent over SOAP on loopback with the IHE minimal sample as the submission.
#![cfg(feature = "peers")]

use conformance_tests::semantic::normalise;
use conformance_tests::shared::shared_dir;
use conformance_tests::xmllint::validate;
use conformance_tests::xsd::{root_element, xsd_for_namespace};
use registry::config::Config;
use schemas::soap::{self, action};
use tokio_util::sync::CancellationToken;

const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";

fn find_documents(return_type: &str) -> String {
    format!(
        r#"<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><query:ResponseOption returnComposedObjects="true" returnType="{return_type}"/><rim:AdhocQuery id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"><rim:Slot name="$XDSDocumentEntryPatientId"><rim:ValueList><rim:Value>'X1^^^&amp;1.3.6.1.4.1.21367.2005.13.20.1000&amp;ISO'</rim:Value></rim:ValueList></rim:Slot><rim:Slot name="$XDSDocumentEntryStatus"><rim:ValueList><rim:Value>('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')</rim:Value></rim:ValueList></rim:Slot></rim:AdhocQuery></query:AdhocQueryRequest>"#
    )
}

/// Sends `body` with `action` and returns the first child of the answer's SOAP Body.
async fn call(url: &str, request_action: &str, body: &str) -> String {
    let (envelope, _) = soap::write_request_envelope(request_action, url, body);
    let answer = reqwest::Client::new()
        .post(url)
        .header("content-type", soap::content_type(request_action))
        .body(envelope)
        .send()
        .await
        .expect("registry answers")
        .text()
        .await
        .expect("answer body");
    let envelope =
        normalise(&answer).unwrap_or_else(|e| panic!("answer is not XML: {e}\n{answer}"));
    let body = envelope
        .child_elements()
        .find(|e| e.name.is(SOAP12, "Body"))
        .unwrap_or_else(|| panic!("no SOAP Body in {answer}"));
    body.child_elements()
        .next()
        .unwrap_or_else(|| panic!("empty SOAP Body in {answer}"))
        .to_xml()
}

fn assert_schema_valid(xml: &str) {
    let shared = shared_dir().unwrap_or_else(|e| panic!("{e}"));
    let root = root_element(xml).expect("answer body parses");
    let xsd = xsd_for_namespace(&shared, &root.namespace)
        .unwrap_or_else(|| panic!("no XSD for {}", root.namespace));
    if let Err(report) = validate(xml, &xsd) {
        panic!("registry answer is not schema-valid: {report}\n{xml}");
    }
}

#[tokio::test]
async fn registry_answers_validate_against_the_official_schemas() {
    let shared = shared_dir().unwrap_or_else(|e| panic!("{e}"));
    let sample =
        std::fs::read_to_string(shared.join("ihe-samples/minimal/SubmitObjectsRequest.xml"))
            .expect("IHE minimal SubmitObjectsRequest sample");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        http_port: 0,
        mllp_port: 0,
        accept_unknown_patients: true,
        ..Config::default()
    };
    let shutdown = CancellationToken::new();
    let running =
        registry::server::start(&config, [127, 0, 0, 1].into(), dir.path(), shutdown.clone())
            .await
            .expect("registry starts");
    let url = running.endpoint_url();

    let registered = call(&url, action::REGISTER_DOCUMENT_SET_B, &sample).await;
    assert!(
        registered.contains("ResponseStatusType:Success"),
        "{registered}"
    );
    assert_schema_valid(&registered);

    let duplicate = call(&url, action::REGISTER_DOCUMENT_SET_B, &sample).await;
    assert!(
        duplicate.contains("ResponseStatusType:Failure"),
        "{duplicate}"
    );
    assert!(duplicate.contains("RegistryError"), "{duplicate}");
    assert_schema_valid(&duplicate);

    for return_type in ["LeafClass", "ObjectRef"] {
        let found = call(
            &url,
            action::REGISTRY_STORED_QUERY,
            &find_documents(return_type),
        )
        .await;
        assert!(found.contains("ResponseStatusType:Success"), "{found}");
        assert!(
            found.contains(if return_type == "LeafClass" {
                "ExtrinsicObject"
            } else {
                "ObjectRef"
            }),
            "{found}"
        );
        assert_schema_valid(&found);
    }
    shutdown.cancel();
}
