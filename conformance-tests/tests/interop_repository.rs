#![cfg(feature = "peers")]
//! Interop: the XDS Document Repository answers an independent SOAP client, zeep, built from the
//! official `XDS.b_DocumentRepository.wsdl` (`interop/zeep_repository.py`), over real HTTP.
//!
//! ITI-41 goes from zeep with the document inline (base64): zeep 4.3.3 cannot send MTOM/XOP.
//! ITI-43 comes back in MTOM and zeep resolves the xop:Include itself.
//!
//! Needs `python3` with zeep (`pip install zeep==4.3.3`) and the shared folder; fails, never
//! skips, without them.

mod support;

use serde::Deserialize;
use sha1::{Digest, Sha1};
use support::{Peers, shared_file};

const SUCCESS: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";
const FAILURE: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure";
/// The uniqueId of the DocumentEntry of the shared sample SubmitObjectsRequest.
const SAMPLE_UNIQUE_ID: &str = "2.25.262469648696365156902516063316555594530";
/// Neither starts nor ends with CR or LF: zeep 4.3.3 strips those from every MIME part sent with
/// `Content-Transfer-Encoding: binary` (`zeep.wsdl.attachments.Attachment.content`), which would
/// change a document that ends with a newline although the repository sends it unchanged.
const CONTENT: &[u8] = b"DICOM manifest stand-in:\n\0\x01\xff the bytes come back unchanged.";

/// What `zeep_repository.py` prints: zeep's typed reading of the repository's answer.
#[derive(Debug, Deserialize)]
struct Summary {
    status: String,
    documents: Vec<DocumentSummary>,
    errors: Vec<ErrorSummary>,
    answer_content_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DocumentSummary {
    unique_id: String,
    repository_unique_id: String,
    mime_type: String,
    sha1: String,
    size: usize,
}

#[derive(Debug, Deserialize)]
struct ErrorSummary {
    code: String,
}

/// Runs `interop/zeep_repository.py` against the repository with the mode arguments `mode`.
async fn zeep(peers: &Peers, mode: &[&str]) -> Summary {
    support::zeep(
        "zeep_repository.py",
        &shared_file("ihe-schemas/wsdl/XDS.b_DocumentRepository.wsdl"),
        &peers.repository.endpoint_url(),
        mode,
    )
    .await
}

/// ITI-41 over zeep (inline base64) of the shared sample submission with `CONTENT`.
async fn provide_sample(peers: &Peers, dir: &std::path::Path) -> Summary {
    let content = dir.join("document.bin");
    std::fs::write(&content, CONTENT).expect("document written");
    let submission = shared_file("ihe-samples/minimal/SubmitObjectsRequest.xml");
    zeep(
        peers,
        &[
            "provide",
            "--submission",
            &submission.display().to_string(),
            "--document",
            &format!("Document01={}", content.display()),
        ],
    )
    .await
}

/// ITI-41 then ITI-43 over zeep: the document zeep provided is registered (Success), and zeep
/// reads the MTOM answer of ITI-43 back to the same bytes.
#[tokio::test]
async fn document_provided_over_zeep_is_retrieved_over_zeep_from_an_mtom_answer() {
    let peers = support::registry_and_repository().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let provided = provide_sample(&peers, dir.path()).await;
    assert_eq!(provided.status, SUCCESS, "{provided:?}");
    assert!(provided.errors.is_empty(), "{provided:?}");

    let retrieved = zeep(
        &peers,
        &[
            "retrieve",
            "--repository",
            &peers.repository_unique_id,
            "--document",
            SAMPLE_UNIQUE_ID,
        ],
    )
    .await;

    assert_eq!(retrieved.status, SUCCESS, "{retrieved:?}");
    assert!(
        retrieved.answer_content_type.as_deref().is_some_and(|t| t
            .starts_with("multipart/related")
            && t.contains("application/xop+xml")),
        "{retrieved:?}"
    );
    let document = &retrieved.documents[0];
    assert_eq!(document.unique_id, SAMPLE_UNIQUE_ID);
    assert_eq!(document.repository_unique_id, peers.repository_unique_id);
    assert_eq!(document.mime_type, "application/dicom");
    assert_eq!(document.size, CONTENT.len());
    assert_eq!(document.sha1, hex::encode(Sha1::digest(CONTENT)));
}

/// ITI-43 over zeep of a document the repository does not hold: Failure with
/// XDSMissingDocument, read by zeep from the typed RegistryErrorList.
#[tokio::test]
async fn unknown_document_retrieved_over_zeep_is_xds_missing_document() {
    let peers = support::registry_and_repository().await;
    let retrieved = zeep(
        &peers,
        &[
            "retrieve",
            "--repository",
            &peers.repository_unique_id,
            "--document",
            "2.25.1",
        ],
    )
    .await;
    assert_eq!(retrieved.status, FAILURE, "{retrieved:?}");
    let codes: Vec<&str> = retrieved.errors.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, ["XDSMissingDocument"], "{retrieved:?}");
}
