//! DICOMweb client against a small in-process DICOMweb server (PS3.18 answers): WADO-RS
//! metadata builds the Study, WADO-RS instance bytes come out of the multipart answer unchanged,
//! a study answer is read part by part, each named by its file meta group,
//! QIDO-RS "no match" (204) is an empty list, an unknown study is NotFound; an answer whose
//! length is that of the connection (Orthanc's) is read whole, and one cut short is an error; a
//! chunked one is read whole; the PACS connection of an answer whose bodies are dropped is
//! closed; a PACS that stays silent (before or in the middle of an answer) is a Timeout after
//! the idle timeout, one that refuses the connection a Connect error.

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use dicom_object::InMemDicomObject;
use futures::StreamExt;

use imaging_source::dicomweb::{
    DicomWebClient, DicomWebError, PacsParts, PacsTimeouts, RetrieveScope, dicom_accept,
};
use imaging_source::instance_store::InstanceStore;
use imaging_source::source::{ImagingSource, InstanceKey, Located, Origin, PacsCatalogs};
use schemas::xml::Limits;
use support::silent_pacs::silent_pacs;

const BOUNDARY: &str = "wado-boundary-1";

fn instance_file(sop: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("i.dcm");
    let series = if sop.starts_with("2.25.60.2") {
        "2.25.60.2"
    } else {
        "2.25.60.1"
    };
    support::write_instance(&path, "2.25.60", series, sop, "CT", 1);
    std::fs::read(path).unwrap()
}

async fn metadata(Path(study): Path<String>) -> impl IntoResponse {
    if study != "2.25.60" {
        return (StatusCode::NOT_FOUND, String::new()).into_response();
    }
    let values: Vec<serde_json::Value> = ["2.25.60.1.1", "2.25.60.1.2", "2.25.60.2.1"]
        .iter()
        .map(|sop| {
            let file = instance_file(sop);
            let obj: InMemDicomObject = dicom_object::from_reader(&file[128..])
                .unwrap()
                .into_inner();
            dicom_json::to_value(obj).unwrap()
        })
        .collect();
    (
        [(header::CONTENT_TYPE, "application/dicom+json")],
        serde_json::to_string(&values).unwrap(),
    )
        .into_response()
}

async fn instance(Path((_, _, sop)): Path<(String, String, String)>) -> impl IntoResponse {
    let mut body = format!("--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n").into_bytes();
    body.extend_from_slice(&instance_file(&sop));
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    (
        [(
            header::CONTENT_TYPE,
            format!("multipart/related; type=\"application/dicom\"; boundary={BOUNDARY}"),
        )],
        body,
    )
}

/// Retrieve Study: the three instances, then (for study 2.25.61) a part that is not DICOM.
async fn study(Path(study): Path<String>) -> impl IntoResponse {
    let mut body = Vec::new();
    let mut part = |bytes: &[u8]| {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    };
    for sop in ["2.25.60.1.1", "2.25.60.1.2", "2.25.60.2.1"] {
        part(&instance_file(sop));
    }
    if study == "2.25.61" {
        part(b"not a DICOM file");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (
        [(
            header::CONTENT_TYPE,
            format!("multipart/related; type=\"application/dicom\"; boundary={BOUNDARY}"),
        )],
        body,
    )
}

async fn studies() -> impl IntoResponse {
    StatusCode::NO_CONTENT
}

async fn server() -> String {
    let app = Router::new()
        .route("/dicom-web/studies", get(studies))
        .route("/dicom-web/studies/{study}", get(study))
        .route("/dicom-web/studies/{study}/metadata", get(metadata))
        .route(
            "/dicom-web/studies/{study}/series/{series}/instances/{sop}",
            get(instance),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/dicom-web")
}

#[tokio::test]
async fn wado_rs_metadata_builds_the_study() {
    let client = DicomWebClient::new(&server().await).unwrap();
    let study = client.study("2.25.60").await.unwrap();
    assert_eq!(study.series.len(), 2);
    assert_eq!(study.instance_count(), 3);
    assert_eq!(study.patient.id, "PAT-0001");
    assert_eq!(study.patient.issuer.as_deref(), Some(support::LOCAL_OID));
    assert_eq!(study.modalities(), ["CT"]);
}

#[tokio::test]
async fn unknown_study_is_not_found() {
    let client = DicomWebClient::new(&server().await).unwrap();
    assert!(matches!(
        client.study("2.25.61").await,
        Err(DicomWebError::NotFound { .. })
    ));
}

#[tokio::test]
async fn qido_rs_no_content_is_an_empty_list() {
    let client = DicomWebClient::new(&server().await).unwrap();
    assert!(
        client
            .find_studies(&[("PatientID", "NOBODY")])
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn wado_rs_instance_is_streamed_out_of_the_multipart_answer_unchanged() {
    let client = DicomWebClient::new(&server().await).unwrap();
    let mut stream = client
        .retrieve_instance("2.25.60", "2.25.60.1", "2.25.60.1.2")
        .await
        .unwrap();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(bytes, instance_file("2.25.60.1.2"));
}

/// Every part of a WADO-RS answer read to its end: (SOP Instance UID, transfer syntax, bytes).
async fn read_parts(
    parts: &mut PacsParts,
) -> Result<Vec<(String, String, Vec<u8>)>, DicomWebError> {
    let mut read = Vec::new();
    while let Some(mut part) = parts.next_part().await? {
        let mut bytes = Vec::new();
        while let Some(chunk) = part.chunk().await? {
            bytes.extend_from_slice(&chunk);
        }
        read.push((part.sop_instance_uid, part.transfer_syntax, bytes));
    }
    Ok(read)
}

#[tokio::test]
async fn wado_rs_study_parts_are_named_by_the_sop_instance_uid_of_their_meta_group() {
    let client = DicomWebClient::new(&server().await).unwrap();
    let scope = RetrieveScope::Study {
        study: "2.25.60".into(),
    };
    let mut parts = client.retrieve(&scope, &[]).await.unwrap();
    let mut seen = Vec::new();
    for (sop, transfer_syntax, bytes) in read_parts(&mut parts).await.unwrap() {
        assert_eq!(bytes, instance_file(&sop));
        assert_eq!(transfer_syntax, "1.2.840.10008.1.2.1");
        seen.push(sop);
    }
    assert_eq!(seen, ["2.25.60.1.1", "2.25.60.1.2", "2.25.60.2.1"]);
}

/// A PACS that answers one request the way Orthanc answers WADO-RS: `Connection: close`, no
/// Content-Length (the body ends with the connection), written in small pieces; `cut_at` ends
/// the connection after that many bytes of the body. Gives its URL and, once served, the
/// request's head.
async fn pacs_answering_to_the_end_of_the_connection(
    body: Vec<u8>,
    cut_at: usize,
) -> (String, tokio::task::JoinHandle<String>) {
    pacs_answering(body, cut_at, false).await
}

/// Reads a request's head off `socket`, byte by byte up to its blank line (the fake PACS then
/// answers); the head as received.
async fn read_request_head(socket: &mut tokio::net::TcpStream) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        socket.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    head
}

/// [`pacs_answering_to_the_end_of_the_connection`]; with `until_the_client_leaves`, the PACS
/// keeps the connection open after the bytes it sends, and its task ends once the client has
/// closed it.
async fn pacs_answering(
    body: Vec<u8>,
    cut_at: usize,
    until_the_client_leaves: bool,
) -> (String, tokio::task::JoinHandle<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let head = read_request_head(&mut socket).await;
        let answer_head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: multipart/related; type=\"application/dicom\"; \
             boundary={BOUNDARY}\r\nConnection: close\r\n\r\n"
        );
        socket.write_all(answer_head.as_bytes()).await.unwrap();
        for piece in body[..cut_at.min(body.len())].chunks(1000) {
            if socket.write_all(piece).await.is_err() {
                // The client is gone.
                return String::from_utf8(head).unwrap();
            }
        }
        if until_the_client_leaves {
            let mut rest = Vec::new();
            // Ok(0) or a reset: the client is gone.
            let _ = socket.read_to_end(&mut rest).await;
        }
        String::from_utf8(head).unwrap()
    });
    (format!("http://{addr}/dicom-web"), served)
}

/// The multipart answer of Retrieve Study 2.25.60 (as [`study`] sends it).
fn study_answer() -> Vec<u8> {
    let mut body = Vec::new();
    for sop in ["2.25.60.1.1", "2.25.60.1.2", "2.25.60.2.1"] {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(&instance_file(sop));
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

#[tokio::test]
async fn wado_rs_study_answer_ending_with_the_connection_is_read_whole() {
    let body = study_answer();
    let (url, served) = pacs_answering_to_the_end_of_the_connection(body.clone(), body.len()).await;
    let client = DicomWebClient::new(&url).unwrap();
    let scope = RetrieveScope::Study {
        study: "2.25.60".into(),
    };
    let mut parts = client
        .retrieve(&scope, &["1.2.840.10008.1.2.1".into()])
        .await
        .unwrap();
    let mut seen = Vec::new();
    for (sop, _, bytes) in read_parts(&mut parts).await.unwrap() {
        assert_eq!(bytes, instance_file(&sop));
        seen.push(sop);
    }
    assert_eq!(seen, ["2.25.60.1.1", "2.25.60.1.2", "2.25.60.2.1"]);
    let request = served.await.unwrap().to_ascii_lowercase();
    assert!(
        request.starts_with("get /dicom-web/studies/2.25.60 http/1.1\r\n"),
        "{request}"
    );
    let host = url
        .trim_start_matches("http://")
        .trim_end_matches("/dicom-web");
    assert!(
        request.contains(&format!("\r\nhost: {host}\r\n")),
        "{request}"
    );
    assert!(
        request.contains(
            "\r\naccept: multipart/related; type=\"application/dicom\"; \
             transfer-syntax=1.2.840.10008.1.2.1\r\n"
        ),
        "{request}"
    );
}

#[tokio::test]
async fn wado_rs_study_answer_cut_mid_instance_is_a_multipart_error() {
    let body = study_answer();
    let (url, _served) =
        pacs_answering_to_the_end_of_the_connection(body.clone(), body.len() / 2).await;
    let client = DicomWebClient::new(&url).unwrap();
    let scope = RetrieveScope::Study {
        study: "2.25.60".into(),
    };
    let mut parts = client.retrieve(&scope, &[]).await.unwrap();
    let outcome = read_parts(&mut parts).await;
    assert!(
        matches!(outcome, Err(DicomWebError::Multipart { .. })),
        "{outcome:?}"
    );
}

/// The PACS requests of an answer are run by the answer's bodies: once they are dropped (the
/// consumer is gone), the PACS connection is closed, mid-instance.
#[tokio::test]
async fn pacs_answer_is_abandoned_when_the_bodies_relaying_it_are_dropped() {
    let sop = "2.25.60.1.2";
    let mut answer =
        format!("--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n").into_bytes();
    let mut file = instance_file(sop);
    file.resize(2 << 20, 0);
    answer.extend_from_slice(&file);
    let (url, served) = pacs_answering(answer, 1 << 20, true).await;
    let store = tempfile::tempdir().unwrap();
    let source = ImagingSource {
        repository_unique_id: "1.3.6.1.4.1.21367.13.80.110".to_owned(),
        store: Arc::new(InstanceStore::new(store.path())),
        pacs: Some(Arc::new(DicomWebClient::new(&url).unwrap())),
        limits: Limits {
            max_bytes: 1 << 20,
            max_depth: 64,
        },
    };
    let located = [Located {
        key: InstanceKey {
            study: "2.25.60".to_owned(),
            series: "2.25.60.1".to_owned(),
            sop: sop.to_owned(),
        },
        origin: Origin::Pacs { position: 0 },
        transfer_syntax: Some("1.2.840.10008.1.2.1".to_owned()),
    }];
    let mut opened = source
        .open_all(&located, &[], &PacsCatalogs::default())
        .await;
    let (_, body) = opened.pop().unwrap();
    let mut body = body.unwrap();
    let first = body.next().await.unwrap().unwrap();
    assert_eq!(first[..], file[..first.len()]);
    drop(body);
    let request = tokio::time::timeout(std::time::Duration::from_secs(10), served)
        .await
        .expect("the PACS connection is closed once the bodies are dropped")
        .unwrap();
    assert!(
        request.starts_with(&format!(
            "GET /dicom-web/studies/2.25.60/series/2.25.60.1/instances/{sop} "
        )),
        "{request}"
    );
}

#[tokio::test]
async fn wado_rs_part_without_a_file_meta_group_is_a_part_header_error() {
    let client = DicomWebClient::new(&server().await).unwrap();
    let scope = RetrieveScope::Study {
        study: "2.25.61".into(),
    };
    let mut parts = client.retrieve(&scope, &[]).await.unwrap();
    for _ in 0..3 {
        assert!(parts.next_part().await.unwrap().is_some());
    }
    assert!(matches!(
        parts.next_part().await,
        Err(DicomWebError::PartHeader { index: 3, .. })
    ));
}

fn impatient(url: &str) -> DicomWebClient {
    DicomWebClient::with_timeouts(
        url,
        PacsTimeouts {
            connect: Duration::from_secs(5),
            idle: Duration::from_millis(300),
        },
    )
    .unwrap()
}

/// Runs `exchange`, which must end (with an error) well before the test gives up on it.
async fn ends<T>(exchange: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("the exchange with a silent PACS ends")
}

#[tokio::test]
async fn every_request_to_a_silent_pacs_times_out() {
    let client = impatient(&silent_pacs().await);
    let scope = RetrieveScope::Study {
        study: "2.25.60".into(),
    };
    let retrieve = ends(client.retrieve(&scope, &[])).await;
    assert!(
        matches!(retrieve, Err(DicomWebError::Timeout { .. })),
        "{:?}",
        retrieve.err()
    );
    let metadata = ends(client.study("2.25.60")).await;
    assert!(
        matches!(metadata, Err(DicomWebError::Timeout { .. })),
        "{metadata:?}"
    );
    let search = ends(client.find_studies(&[("PatientID", "PAT-0001")])).await;
    assert!(
        matches!(search, Err(DicomWebError::Timeout { .. })),
        "{search:?}"
    );
}

#[tokio::test]
async fn answer_stalling_mid_instance_times_out() {
    let body = study_answer();
    let (url, _served) = pacs_answering(body.clone(), body.len() / 2, true).await;
    let client = impatient(&url);
    let scope = RetrieveScope::Study {
        study: "2.25.60".into(),
    };
    let mut parts = client.retrieve(&scope, &[]).await.unwrap();
    let outcome = ends(read_parts(&mut parts)).await;
    assert!(
        matches!(outcome, Err(DicomWebError::Timeout { .. })),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn refused_connection_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = impatient(&format!("http://{addr}/dicom-web"));
    let scope = RetrieveScope::Study {
        study: "2.25.60".into(),
    };
    let retrieve = ends(client.retrieve(&scope, &[])).await;
    assert!(
        matches!(retrieve, Err(DicomWebError::Connect { .. })),
        "{:?}",
        retrieve.err()
    );
}

/// An answer in chunked transfer coding (chunk extensions, a trailer), delivered in pieces that
/// split its chunk-size lines and CRLFs, is read whole.
#[tokio::test]
async fn chunked_answer_is_read_whole() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = study_answer();
    let mut wire = Vec::new();
    for (n, chunk) in body.chunks(3000).enumerate() {
        wire.extend_from_slice(format!("{:X};n={n}\r\n", chunk.len()).as_bytes());
        wire.extend_from_slice(chunk);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\nX-Trailer: done\r\n\r\n");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        read_request_head(&mut socket).await;
        let answer_head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: multipart/related; type=\"application/dicom\"; \
             boundary={BOUNDARY}\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
        socket.write_all(answer_head.as_bytes()).await.unwrap();
        for piece in wire.chunks(7) {
            socket.write_all(piece).await.unwrap();
        }
        // The connection stays open: the end of the answer is the last chunk.
        let mut rest = Vec::new();
        let _ = socket.read_to_end(&mut rest).await;
    });
    let client = impatient(&format!("http://{addr}/dicom-web"));
    let scope = RetrieveScope::Study {
        study: "2.25.60".into(),
    };
    let mut parts = client.retrieve(&scope, &[]).await.unwrap();
    let read = ends(read_parts(&mut parts)).await.unwrap();
    let seen: Vec<&str> = read.iter().map(|(sop, _, _)| sop.as_str()).collect();
    assert_eq!(seen, ["2.25.60.1.1", "2.25.60.1.2", "2.25.60.2.1"]);
    for (sop, _, bytes) in &read {
        assert_eq!(*bytes, instance_file(sop));
    }
}

#[test]
fn accept_names_each_transfer_syntax_asked_for() {
    assert_eq!(
        dicom_accept(&[]),
        "multipart/related; type=\"application/dicom\""
    );
    assert_eq!(
        dicom_accept(&["1.2.840.10008.1.2".into(), "1.2.840.10008.1.2.1".into()]),
        "multipart/related; type=\"application/dicom\"; transfer-syntax=1.2.840.10008.1.2, \
         multipart/related; type=\"application/dicom\"; transfer-syntax=1.2.840.10008.1.2.1"
    );
}
