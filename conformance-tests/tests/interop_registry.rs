#![cfg(feature = "peers")]
//! Interop: the XDS Document Registry answers an independent SOAP client, zeep, built from the
//! official `XDS.b_DocumentRegistry.wsdl` (`interop/zeep_registry.py`), over real HTTP.
//!
//! Needs `python3` with zeep (`pip install zeep==4.3.3`) and the shared folder; fails, never
//! skips, without them.

mod support;

use registry::config::Config;
use registry::server::{Registry, start};
use registry::storage::{Database, DocumentEntryType, NewObject, ObjectKind, Submission};
use schemas::hl7v2::message::Message;
use schemas::hl7v2::mllp::{MllpReader, write_frame};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// The patient of the shared sample SubmitObjectsRequest (affinity domain of the default config).
const PATIENT: &str = "X1^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO";
const SUCCESS: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";
const FAILURE: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure";

/// What `zeep_registry.py` prints: zeep's typed reading of the registry's answer.
#[derive(Debug, Deserialize)]
struct Summary {
    status: String,
    objects: usize,
    object_ids: Vec<String>,
    object_kinds: Vec<String>,
    errors: Vec<RegistryErrorSummary>,
    /// Elements zeep could not type against the WSDL's schemas (outside RegistryObjectList).
    untyped: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RegistryErrorSummary {
    code: String,
    context: Option<String>,
}

/// The registry in-process on loopback, ports chosen by the system, SQLite in `dir`.
async fn registry(
    dir: &std::path::Path,
    accept_unknown_patients: bool,
) -> (Registry, CancellationToken) {
    let config = Config {
        http_port: 0,
        mllp_port: 0,
        accept_unknown_patients,
        ..Config::default()
    };
    let shutdown = CancellationToken::new();
    let running = start(&config, [127, 0, 0, 1].into(), dir, shutdown.clone())
        .await
        .expect("registry starts");
    (running, shutdown)
}

/// Runs `interop/zeep_registry.py` against `endpoint` with the mode arguments `mode`.
async fn zeep(endpoint: &str, mode: &[&str]) -> Summary {
    let summary: Summary = support::zeep(
        "zeep_registry.py",
        &support::shared_file("ihe-schemas/wsdl/XDS.b_DocumentRegistry.wsdl"),
        endpoint,
        mode,
    )
    .await;
    assert!(
        summary.untyped.is_empty(),
        "zeep could not type these elements of the answer against the WSDL's schemas: {:?}",
        summary.untyped
    );
    summary
}

async fn find_documents(endpoint: &str) -> Summary {
    zeep(endpoint, &["find-documents", "--patient", PATIENT]).await
}

/// ITI-8: an ADT^A01 for [`PATIENT`] over MLLP to the registry's identity feed; returns MSA-1.
async fn feed_patient(registry: &Registry) -> String {
    let segments = [
        "MSH|^~\\&|PAT_IDENTITY_X_REF_MGR|IHE|XDSb_REG|IHE|20240115083000||ADT^A01^ADT_A01|ZEEP-1|P|2.5",
        "EVN||20240115083000",
        "PID|||X1^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO^PI||Doe^Jane||19700101|F",
        "PV1||O",
    ];
    let message: String = segments.iter().map(|s| format!("{s}\r")).collect();
    let stream = TcpStream::connect(registry.mllp_addr)
        .await
        .expect("MLLP connect");
    let mut client = MllpReader::new(stream);
    write_frame(client.get_mut(), message.as_bytes())
        .await
        .expect("ADT^A01 sent");
    let frame = tokio::time::timeout(std::time::Duration::from_secs(10), client.next_frame())
        .await
        .expect("ACK within 10 s")
        .expect("readable ACK")
        .expect("an ACK frame");
    let ack = Message::parse(&frame).expect("ACK parses");
    ack.get("MSA-1").unwrap_or_default().to_owned()
}

/// The DocumentEntry of the shared sample SubmitObjectsRequest stored as ITI-42 leaves it: its
/// ExtrinsicObject as the LeafClass fragment, the symbolic id replaced by `entry_uuid`.
async fn store_sample_document_entry(dir: &std::path::Path, entry_uuid: &str) {
    let sample = std::fs::read_to_string(sample_submission()).expect("sample SubmitObjectsRequest");
    let document = roxmltree::Document::parse(&sample).expect("sample parses");
    let extrinsic = document
        .descendants()
        .find(|n| {
            n.has_tag_name((
                "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0",
                "ExtrinsicObject",
            ))
        })
        .expect("sample has an ExtrinsicObject");
    let symbolic = extrinsic.attribute("id").expect("ExtrinsicObject id");
    let fragment =
        sample[extrinsic.range()].replace(&format!("\"{symbolic}\""), &format!("\"{entry_uuid}\""));
    let mut entry = NewObject::first_version(
        ObjectKind::DocumentEntry,
        entry_uuid,
        PATIENT,
        "2.25.262469648696365156902516063316555594530",
        fragment,
    );
    entry.object_type = Some(DocumentEntryType::Stable);
    entry.mime_type = Some("application/dicom".to_owned());
    entry.creation_time = Some("20261101093000".to_owned());
    let db = Database::connect(&format!("sqlite://{}", dir.join("registry.db").display()))
        .await
        .expect("registry database");
    db.insert_submission(&Submission {
        objects: vec![entry],
        ..Submission::default()
    })
    .await
    .expect("DocumentEntry stored");
}

/// ITI-18 over zeep: FindDocuments on an empty registry is Success with no objects.
#[tokio::test]
async fn find_documents_on_an_empty_registry_is_success_with_no_objects() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (registry, shutdown) = registry(dir.path(), true).await;
    let answer = find_documents(&registry.endpoint_url()).await;
    assert_eq!(answer.status, SUCCESS, "{answer:?}");
    assert_eq!(answer.objects, 0, "{answer:?}");
    assert!(answer.errors.is_empty(), "{answer:?}");
    shutdown.cancel();
}

/// ITI-18 over zeep: a FindDocuments without the required `$XDSDocumentEntryStatus` is a
/// Failure whose typed RegistryErrorList carries XDSStoredQueryMissingParam.
#[tokio::test]
async fn find_documents_without_status_is_xds_stored_query_missing_param() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (registry, shutdown) = registry(dir.path(), true).await;
    let answer = zeep(
        &registry.endpoint_url(),
        &["find-documents", "--patient", PATIENT, "--no-status"],
    )
    .await;
    assert_eq!(answer.status, FAILURE, "{answer:?}");
    assert_eq!(answer.objects, 0, "{answer:?}");
    let codes: Vec<&str> = answer.errors.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, ["XDSStoredQueryMissingParam"], "{answer:?}");
    assert!(
        answer.errors[0]
            .context
            .as_deref()
            .is_some_and(|c| c.contains("$XDSDocumentEntryStatus")),
        "{answer:?}"
    );
    shutdown.cancel();
}

/// ITI-8 then ITI-18 over zeep: after the patient is fed and a DocumentEntry is stored for it,
/// FindDocuments (LeafClass) returns that ExtrinsicObject, which zeep reads without error.
#[tokio::test]
async fn find_documents_returns_the_document_entry_of_a_fed_patient() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (registry, shutdown) = registry(dir.path(), true).await;
    assert_eq!(feed_patient(&registry).await, "AA");
    let entry_uuid = "urn:uuid:6a3c0e39-9d1b-4d43-8c5e-1d1f0c5b7a01";
    store_sample_document_entry(dir.path(), entry_uuid).await;
    let answer = find_documents(&registry.endpoint_url()).await;
    assert_eq!(answer.status, SUCCESS, "{answer:?}");
    assert_eq!(answer.objects, 1, "{answer:?}");
    assert_eq!(answer.object_ids, [entry_uuid], "{answer:?}");
    assert_eq!(answer.object_kinds, ["ExtrinsicObject"], "{answer:?}");
    shutdown.cancel();
}

fn sample_submission() -> String {
    support::shared_file("ihe-samples/minimal/SubmitObjectsRequest.xml")
        .display()
        .to_string()
}

/// ITI-8, ITI-42 and ITI-18 over zeep: the shared sample submission, registered through zeep
/// for a fed patient, is Success, and FindDocuments over zeep returns its DocumentEntry under
/// the entryUUID the registry gave its symbolic id.
#[tokio::test]
async fn document_registered_over_zeep_for_a_fed_patient_is_found_over_zeep() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (registry, shutdown) = registry(dir.path(), false).await;
    let url = registry.endpoint_url();
    assert_eq!(feed_patient(&registry).await, "AA");
    let registered = zeep(&url, &["register", "--submission", &sample_submission()]).await;
    assert_eq!(registered.status, SUCCESS, "{registered:?}");
    assert!(registered.errors.is_empty(), "{registered:?}");
    let answer = find_documents(&url).await;
    assert_eq!(answer.status, SUCCESS, "{answer:?}");
    assert_eq!(answer.object_kinds, ["ExtrinsicObject"], "{answer:?}");
    assert!(answer.object_ids[0].starts_with("urn:uuid:"), "{answer:?}");
    shutdown.cancel();
}

/// ITI-42 over zeep: a submission for a patient the identity feed never announced is a Failure
/// whose typed RegistryErrorList carries XDSUnknownPatientId.
#[tokio::test]
async fn registration_over_zeep_for_an_unfed_patient_is_xds_unknown_patient_id() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (registry, shutdown) = registry(dir.path(), false).await;
    let url = registry.endpoint_url();
    let registered = zeep(&url, &["register", "--submission", &sample_submission()]).await;
    assert_eq!(registered.status, FAILURE, "{registered:?}");
    let codes: Vec<&str> = registered.errors.iter().map(|e| e.code.as_str()).collect();
    assert!(codes.contains(&"XDSUnknownPatientId"), "{registered:?}");
    assert_eq!(find_documents(&url).await.objects, 0);
    shutdown.cancel();
}
