//! The Imaging Document Source in-process on a free port, DICOM instances generated with
//! dicom-object, and a RAD-69 client that reads the MTOM answer back.
#![allow(dead_code)]

use bytes::Bytes;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use futures::StreamExt;
use imaging_source::config::Config;
use imaging_source::server::RunningImagingSource;
use schemas::ihe::{
    DocumentRequest, RetrieveDocumentSetResponse, RetrieveImagingDocumentSetRequest, SeriesRequest,
    StudyRequest, read_retrieve_document_set_response,
};
use schemas::mtom::{MtomReader, SoapContentType};
use schemas::soap::{self, action};
use schemas::xml::Limits;
use tokio_util::sync::CancellationToken;

/// The repositoryUniqueId the source under test answers for.
pub const REPOSITORY_UID: &str = "1.3.6.1.4.1.21367.13.80.110";
/// Explicit VR Little Endian.
pub const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
/// Implicit VR Little Endian.
pub const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
pub const STUDY: &str = "1.2.826.0.1.3680043.8.498.1";
pub const SERIES_A: &str = "1.2.826.0.1.3680043.8.498.1.1";
pub const SERIES_B: &str = "1.2.826.0.1.3680043.8.498.1.2";

/// A running source with its data folder (deleted on drop) and shutdown.
pub struct Setup {
    pub running: RunningImagingSource,
    pub shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Setup {
    /// The source on the instance store only.
    pub async fn new() -> Setup {
        Setup::with_pacs(None).await
    }

    /// The source with a PACS DICOMweb root.
    pub async fn with_pacs(pacs: Option<String>) -> Setup {
        Setup::with_config(Config {
            pacs_dicomweb_url: pacs,
            ..Config::default()
        })
        .await
    }

    /// The source with this configuration, on free ports.
    pub async fn with_config(config: Config) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            http_port: 0,
            scp_port: 0,
            ..config
        };
        let shutdown = CancellationToken::new();
        let running = imaging_source::server::start(
            &config,
            [127, 0, 0, 1].into(),
            dir.path(),
            shutdown.clone(),
        )
        .await
        .unwrap();
        Setup {
            running,
            shutdown,
            _dir: dir,
        }
    }

    /// Where the store keeps an instance.
    pub fn stored_path(&self, study: &str, series: &str, sop: &str) -> std::path::PathBuf {
        self.running.source.store.path(study, series, sop).unwrap()
    }

    pub fn url(&self) -> String {
        self.running.endpoint_url()
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.running.http_addr)
    }

    /// Puts a Part-10 file in the instance store.
    pub async fn put(&self, study: &str, series: &str, sop: &str, bytes: &[u8]) {
        self.running
            .source
            .store
            .put(study, series, sop, bytes)
            .await
            .unwrap();
    }

    /// Generates an instance, stores it and returns its bytes.
    pub async fn stored(&self, series: &str, sop: &str, transfer_syntax: &str) -> Vec<u8> {
        let bytes = dicom_instance(STUDY, series, sop, transfer_syntax, 2048);
        self.put(STUDY, series, sop, &bytes).await;
        bytes
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A small CT image as a Part-10 file in `transfer_syntax` (a native one: 1.2, 1.2.1),
/// with `pixel_bytes` bytes of pixel data that depend on the SOP Instance UID.
pub fn dicom_instance(
    study: &str,
    series: &str,
    sop: &str,
    transfer_syntax: &str,
    pixel_bytes: usize,
) -> Vec<u8> {
    let seed = sop
        .bytes()
        .fold(7u8, |a, b| a.wrapping_mul(31).wrapping_add(b));
    let pixels: Vec<u8> = (0..pixel_bytes)
        .map(|i| seed.wrapping_add((i % 251) as u8))
        .collect();
    let side = ((pixel_bytes / 2) as f64).sqrt() as u16;
    let object = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(uids::CT_IMAGE_STORAGE),
        ),
        DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, PrimitiveValue::from(sop)),
        DataElement::new(tags::MODALITY, VR::CS, PrimitiveValue::from("CT")),
        DataElement::new(tags::PATIENT_NAME, VR::PN, PrimitiveValue::from("Doe^Jane")),
        DataElement::new(tags::PATIENT_ID, VR::LO, PrimitiveValue::from("PAT-0001")),
        DataElement::new(
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(study),
        ),
        DataElement::new(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(series),
        ),
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(side)),
        DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(side)),
        DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::from(pixels)),
    ]);
    let file = object
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(transfer_syntax))
        .unwrap();
    let mut out = Vec::new();
    file.write_all(&mut out).unwrap();
    out
}

/// A RAD-69 request for instances given as (study, series, sop), grouped as asked.
pub fn request(
    repository: &str,
    instances: &[(&str, &str, &str)],
    transfer_syntaxes: &[&str],
) -> RetrieveImagingDocumentSetRequest {
    let mut studies: Vec<StudyRequest> = Vec::new();
    for (study, series, sop) in instances {
        let document = DocumentRequest {
            home_community_id: None,
            repository_unique_id: repository.to_owned(),
            document_unique_id: (*sop).to_owned(),
        };
        let study_request = match studies.iter_mut().find(|s| s.study_instance_uid == *study) {
            Some(found) => found,
            None => {
                studies.push(StudyRequest {
                    study_instance_uid: (*study).to_owned(),
                    series: Vec::new(),
                });
                studies.last_mut().unwrap()
            }
        };
        match study_request
            .series
            .iter_mut()
            .find(|s| s.series_instance_uid == *series)
        {
            Some(found) => found.documents.push(document),
            None => study_request.series.push(SeriesRequest {
                series_instance_uid: (*series).to_owned(),
                documents: vec![document],
            }),
        }
    }
    RetrieveImagingDocumentSetRequest {
        studies,
        transfer_syntax_uids: transfer_syntaxes.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// One attachment of an answer.
#[derive(Debug)]
pub struct Part {
    pub content_id: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Sends a RAD-69 request as plain SOAP 1.2 and reads the answer.
pub async fn rad69(
    url: &str,
    request: &RetrieveImagingDocumentSetRequest,
) -> (RetrieveDocumentSetResponse, Vec<Part>) {
    let (envelope, _) = soap::write_request_envelope(
        action::RETRIEVE_IMAGING_DOCUMENT_SET,
        url,
        &request.to_xml(),
    );
    let response = post_soap(url, action::RETRIEVE_IMAGING_DOCUMENT_SET, envelope).await;
    assert_eq!(response.status(), 200);
    read_answer(response).await
}

/// Posts a SOAP 1.2 envelope with this action.
pub async fn post_soap(url: &str, soap_action: &str, envelope: String) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .header("content-type", soap::content_type(soap_action))
        .body(envelope)
        .send()
        .await
        .unwrap()
}

/// Reads an MTOM RAD-69 answer: the response body and every attachment.
pub async fn read_answer(response: reqwest::Response) -> (RetrieveDocumentSetResponse, Vec<Part>) {
    let (answer, parts, _) = read_answer_with_envelope(response).await;
    (answer, parts)
}

/// [`read_answer`], plus the SOAP envelope as sent.
pub async fn read_answer_with_envelope(
    response: reqwest::Response,
) -> (RetrieveDocumentSetResponse, Vec<Part>, String) {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let SoapContentType::Mtom(multipart) = SoapContentType::parse(&content_type).unwrap() else {
        panic!("RAD-69 answers in MTOM, got {content_type}");
    };
    let stream = Box::pin(
        response
            .bytes_stream()
            .map(|c| c.map_err(std::io::Error::other)),
    );
    let mut reader = MtomReader::new(stream, &multipart);
    let root = reader.root(16 * 1024 * 1024).await.unwrap();
    let mut parts = Vec::new();
    while let Some(headers) = reader.next_part().await.unwrap() {
        let mut bytes = Vec::new();
        while let Some(chunk) = reader.read_chunk().await.unwrap() {
            bytes.extend_from_slice(&chunk);
        }
        parts.push(Part {
            content_id: headers.content_id.clone().unwrap_or_default(),
            content_type: headers.content_type.clone().unwrap_or_default(),
            bytes,
        });
    }
    let envelope: Bytes = root.body;
    let mut message = soap::read_response_envelope(&envelope, Limits::default()).unwrap();
    assert_eq!(
        message.headers.action,
        action::RETRIEVE_IMAGING_DOCUMENT_SET_RESPONSE
    );
    let answer = read_retrieve_document_set_response(&mut message.reader, &message.body).unwrap();
    drop(message);
    (answer, parts, String::from_utf8(envelope.to_vec()).unwrap())
}

/// The bytes of the attachment a DocumentResponse references.
pub fn document_bytes<'a>(
    answer: &RetrieveDocumentSetResponse,
    parts: &'a [Part],
    sop: &str,
) -> &'a [u8] {
    let document = answer
        .documents
        .iter()
        .find(|d| d.document_unique_id == sop)
        .unwrap_or_else(|| panic!("no DocumentResponse for {sop}"));
    let schemas::ihe::DocumentContent::Include { content_id } = &document.content else {
        panic!("inline content for {sop}");
    };
    &parts
        .iter()
        .find(|p| p.content_id.trim_matches(['<', '>']) == content_id)
        .unwrap_or_else(|| panic!("no attachment {content_id}"))
        .bytes
}

/// (errorCode, location) of each RegistryError.
pub fn errors(answer: &RetrieveDocumentSetResponse) -> Vec<(String, Option<String>)> {
    answer
        .response
        .errors
        .iter()
        .map(|e| (e.error_code.clone(), e.location.clone()))
        .collect()
}

/// One instance a fake PACS serves: (study, series, sop, transfer syntax, Part-10 bytes).
pub type PacsInstance = (String, String, String, String, Vec<u8>);

/// A fake PACS and the WADO-RS requests it answered (path and Accept header).
pub struct FakePacs {
    pub url: String,
    pub requests: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
}

impl FakePacs {
    /// The paths of the retrieve requests (metadata requests left out).
    pub fn retrieves(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(path, _)| path.clone())
            .filter(|path| !path.ends_with("/metadata"))
            .collect()
    }
}

/// [`fake_pacs_logged`]'s root URL.
pub async fn fake_pacs(instances: Vec<PacsInstance>) -> String {
    fake_pacs_logged(instances).await.url
}

/// A minimal DICOMweb PACS on a free port, in the manner of Orthanc: WADO-RS study metadata (the
/// UIDs, SOP Class and transfer syntax of each instance), and WADO-RS Retrieve Study, Series and
/// Instance in multipart/related (parts in the order given here, without Content-Location),
/// transcoded to a native syntax (1.2, 1.2.1) named by `transfer-syntax` in Accept when the held
/// one is not named; 406 when none of those named can be made.
pub async fn fake_pacs_logged(instances: Vec<PacsInstance>) -> FakePacs {
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode, Uri};
    use axum::response::IntoResponse;
    use axum::routing::get;
    use std::sync::{Arc, Mutex};

    type Log = Arc<Mutex<Vec<(String, String)>>>;
    type Shared = (Arc<Vec<PacsInstance>>, Log);
    fn log(state: &Shared, uri: &Uri, headers: &HeaderMap) {
        let accept = headers
            .get("accept")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        state
            .1
            .lock()
            .unwrap()
            .push((uri.path().to_owned(), accept));
    }
    async fn metadata(
        State(state): State<Shared>,
        uri: Uri,
        headers: HeaderMap,
        Path(study): Path<String>,
    ) -> axum::response::Response {
        log(&state, &uri, &headers);
        let objects: Vec<serde_json::Value> = state
            .0
            .iter()
            .filter(|i| i.0 == study)
            .map(|(st, se, sop, ts, bytes)| {
                let sop_class = dicom_object::meta::FileMetaTable::from_reader(&bytes[128..])
                    .map(|meta| {
                        meta.media_storage_sop_class_uid()
                            .trim_end_matches('\0')
                            .to_owned()
                    })
                    .unwrap_or_else(|_| uids::CT_IMAGE_STORAGE.to_owned());
                serde_json::json!({
                    "00020010": {"vr": "UI", "Value": [ts]},
                    "00080016": {"vr": "UI", "Value": [sop_class]},
                    "00080018": {"vr": "UI", "Value": [sop]},
                    "00080060": {"vr": "CS", "Value": ["CT"]},
                    "00100020": {"vr": "LO", "Value": ["PAT-0001"]},
                    "0020000D": {"vr": "UI", "Value": [st]},
                    "0020000E": {"vr": "UI", "Value": [se]},
                })
            })
            .collect();
        if objects.is_empty() {
            return StatusCode::NOT_FOUND.into_response();
        }
        (
            [("content-type", "application/dicom+json")],
            serde_json::to_string(&objects).unwrap(),
        )
            .into_response()
    }
    /// The instance in a syntax named in Accept (as held when none is named).
    fn in_accepted_syntax(instance: &PacsInstance, accept: &str) -> Option<Vec<u8>> {
        let named: Vec<&str> = accept
            .split([',', ';'])
            .filter_map(|param| param.trim().strip_prefix("transfer-syntax="))
            .collect();
        if named.is_empty() || named.contains(&"*") || named.contains(&instance.3.as_str()) {
            return Some(instance.4.clone());
        }
        let target = named
            .into_iter()
            .find(|ts| [IMPLICIT_LE, EXPLICIT_LE].contains(ts))?;
        let object = dicom_object::from_reader(&instance.4[128..])
            .unwrap()
            .into_inner();
        let file = object
            .with_meta(FileMetaTableBuilder::new().transfer_syntax(target))
            .unwrap();
        let mut out = Vec::new();
        file.write_all(&mut out).unwrap();
        Some(out)
    }
    fn answer(
        state: &Shared,
        uri: &Uri,
        headers: &HeaderMap,
        wanted: impl Fn(&PacsInstance) -> bool,
    ) -> axum::response::Response {
        log(state, uri, headers);
        let accept = headers
            .get("accept")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let mut body = Vec::new();
        let mut found = false;
        for instance in state.0.iter().filter(|i| wanted(i)) {
            found = true;
            let Some(bytes) = in_accepted_syntax(instance, accept) else {
                return (StatusCode::NOT_ACCEPTABLE, "transfer syntax not offered").into_response();
            };
            body.extend_from_slice(b"--PACSBOUNDARY\r\nContent-Type: application/dicom\r\n\r\n");
            body.extend_from_slice(&bytes);
            body.extend_from_slice(b"\r\n");
        }
        if !found {
            return StatusCode::NOT_FOUND.into_response();
        }
        body.extend_from_slice(b"--PACSBOUNDARY--\r\n");
        // Sent in 8 KiB chunks, as a PACS streams a large answer.
        let chunks: Vec<Result<Bytes, std::io::Error>> = body
            .chunks(8192)
            .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
            .collect();
        (
            [(
                "content-type",
                "multipart/related; type=\"application/dicom\"; boundary=PACSBOUNDARY",
            )],
            axum::body::Body::from_stream(futures::stream::iter(chunks)),
        )
            .into_response()
    }
    async fn study(
        State(state): State<Shared>,
        uri: Uri,
        headers: HeaderMap,
        Path(study): Path<String>,
    ) -> axum::response::Response {
        answer(&state, &uri, &headers, |i| i.0 == study)
    }
    async fn series(
        State(state): State<Shared>,
        uri: Uri,
        headers: HeaderMap,
        Path((study, series)): Path<(String, String)>,
    ) -> axum::response::Response {
        answer(&state, &uri, &headers, |i| i.0 == study && i.1 == series)
    }
    async fn instance(
        State(state): State<Shared>,
        uri: Uri,
        headers: HeaderMap,
        Path((study, series, sop)): Path<(String, String, String)>,
    ) -> axum::response::Response {
        answer(&state, &uri, &headers, |i| {
            i.0 == study && i.1 == series && i.2 == sop
        })
    }
    let requests: Log = Arc::default();
    let router = axum::Router::new()
        .route("/dicom-web/studies/{study}", get(study))
        .route("/dicom-web/studies/{study}/metadata", get(metadata))
        .route("/dicom-web/studies/{study}/series/{series}", get(series))
        .route(
            "/dicom-web/studies/{study}/series/{series}/instances/{sop}",
            get(instance),
        )
        .with_state((Arc::new(instances), requests.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    FakePacs {
        url: format!("http://{addr}/dicom-web"),
        requests,
    }
}
