//! What the running registry answers is valid against the official XSDs: the RegistryResponse of
//! ITI-42 (success and failure) and the AdhocQueryResponse of ITI-18 (LeafClass and ObjectRef),
//! sent over SOAP on loopback with the IHE minimal sample as the submission.
#![cfg(feature = "peers")]

mod support;

use schemas::soap::action;
use support::{assert_schema_valid, call};

fn find_documents(return_type: &str) -> String {
    format!(
        r#"<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><query:ResponseOption returnComposedObjects="true" returnType="{return_type}"/><rim:AdhocQuery id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"><rim:Slot name="$XDSDocumentEntryPatientId"><rim:ValueList><rim:Value>'X1^^^&amp;1.3.6.1.4.1.21367.2005.13.20.1000&amp;ISO'</rim:Value></rim:ValueList></rim:Slot><rim:Slot name="$XDSDocumentEntryStatus"><rim:ValueList><rim:Value>('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')</rim:Value></rim:ValueList></rim:Slot></rim:AdhocQuery></query:AdhocQueryRequest>"#
    )
}

#[tokio::test]
async fn registry_answers_validate_against_the_official_schemas() {
    let sample = std::fs::read_to_string(support::shared_file(
        "ihe-samples/minimal/SubmitObjectsRequest.xml",
    ))
    .expect("IHE minimal SubmitObjectsRequest sample");
    let peers = support::registry_and_repository().await;
    let url = peers.registry.endpoint_url();

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
}
