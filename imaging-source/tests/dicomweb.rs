//! DICOMweb client against a small in-process DICOMweb server (PS3.18 answers): WADO-RS
//! metadata builds the Study, WADO-RS instance bytes come out of the multipart answer unchanged,
//! QIDO-RS "no match" (204) is an empty list, an unknown study is NotFound.

mod support;

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use dicom_object::InMemDicomObject;
use futures::StreamExt;
use imaging_source::dicomweb::{DicomWebClient, DicomWebError};

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

async fn studies() -> impl IntoResponse {
    StatusCode::NO_CONTENT
}

async fn server() -> String {
    let app = Router::new()
        .route("/dicom-web/studies", get(studies))
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
