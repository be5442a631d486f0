//! RAD-107 WADO-RS (PS3.18 10.4) under `/dicomweb` — studies, series and instances as
//! `multipart/related; type="application/dicom"`, and their metadata as DICOM JSON — and RAD-55
//! WADO-URI (PS3.18 9) at `/wado` with `contentType=application/dicom`. Every body is streamed,
//! instance by instance, from the instance store or the PACS.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::{StreamExt, stream};
use schemas::mtom::BodyStream;

use crate::source::{
    DICOM_MEDIA_TYPE, ImagingSource, InstanceKey, Located, Origin, PacsCatalogs, SourceError,
};

/// Root of the WADO-RS endpoints.
pub const WADO_RS_ROOT: &str = "/dicomweb";
/// Path of the WADO-URI endpoint.
pub const WADO_URI_PATH: &str = "/wado";
/// Media type of DICOM JSON metadata.
pub const DICOM_JSON_MEDIA_TYPE: &str = "application/dicom+json";

/// The WADO-RS and WADO-URI routes.
pub fn router() -> Router<Arc<ImagingSource>> {
    Router::new()
        .route("/dicomweb/studies/{study}", get(retrieve_study))
        .route("/dicomweb/studies/{study}/metadata", get(study_metadata))
        .route(
            "/dicomweb/studies/{study}/series/{series}",
            get(retrieve_series),
        )
        .route(
            "/dicomweb/studies/{study}/series/{series}/metadata",
            get(series_metadata),
        )
        .route(
            "/dicomweb/studies/{study}/series/{series}/instances/{instance}",
            get(retrieve_instance),
        )
        .route(
            "/dicomweb/studies/{study}/series/{series}/instances/{instance}/metadata",
            get(instance_metadata),
        )
        .route(WADO_URI_PATH, get(wado_uri))
}

/// Why a WADO request gets no instance: the HTTP status and a reason in plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WadoError {
    pub status: StatusCode,
    pub reason: String,
}

impl WadoError {
    fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        WadoError {
            status,
            reason: reason.into(),
        }
    }
}

impl From<SourceError> for WadoError {
    fn from(error: SourceError) -> Self {
        tracing::error!(%error, "WADO cannot read an instance");
        let status = match error {
            SourceError::Pacs(_) => StatusCode::BAD_GATEWAY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        WadoError::new(status, error.to_string())
    }
}

impl IntoResponse for WadoError {
    fn into_response(self) -> Response {
        (
            self.status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            self.reason,
        )
            .into_response()
    }
}

/// Checks that a path or query value is a DICOM UID.
fn uid<'a>(name: &str, value: &'a str) -> Result<&'a str, WadoError> {
    let valid = !value.is_empty()
        && value.len() <= 64
        && value.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if valid {
        Ok(value)
    } else {
        Err(WadoError::new(
            StatusCode::BAD_REQUEST,
            format!("{name} {value:?} is not a DICOM UID"),
        ))
    }
}

/// WADO-RS only answers in `multipart/related; type="application/dicom"` (as stored, no
/// transcoding): an Accept header that allows neither that nor `*/*` gets 406.
fn check_accept(headers: &HeaderMap, single_part: &str) -> Result<(), WadoError> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let acceptable = accept.split(',').any(|range| {
        let range = range.trim().to_ascii_lowercase();
        range.starts_with("*/*")
            || range.starts_with("multipart/*")
            || (range.starts_with("multipart/related")
                && (!range.contains("type=") || range.contains(single_part)))
    });
    if acceptable {
        Ok(())
    } else {
        Err(WadoError::new(
            StatusCode::NOT_ACCEPTABLE,
            format!(
                "Accept {accept:?} is not supported: this endpoint answers multipart/related; \
                 type=\"{single_part}\""
            ),
        ))
    }
}

async fn retrieve_study(
    State(source): State<Arc<ImagingSource>>,
    Path(study): Path<String>,
    headers: HeaderMap,
) -> Result<Response, WadoError> {
    check_accept(&headers, DICOM_MEDIA_TYPE)?;
    let (instances, catalogs) = instances(&source, &study, None).await?;
    Ok(multipart_response(&source, instances, &catalogs).await)
}

async fn retrieve_series(
    State(source): State<Arc<ImagingSource>>,
    Path((study, series)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, WadoError> {
    check_accept(&headers, DICOM_MEDIA_TYPE)?;
    let (instances, catalogs) = instances(&source, &study, Some(&series)).await?;
    Ok(multipart_response(&source, instances, &catalogs).await)
}

async fn retrieve_instance(
    State(source): State<Arc<ImagingSource>>,
    Path((study, series, instance)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, WadoError> {
    check_accept(&headers, DICOM_MEDIA_TYPE)?;
    let located = instance_located(&source, &study, &series, &instance).await?;
    Ok(multipart_response(&source, vec![located], &PacsCatalogs::default()).await)
}

async fn study_metadata(
    State(source): State<Arc<ImagingSource>>,
    Path(study): Path<String>,
) -> Result<Response, WadoError> {
    let (instances, _) = instances(&source, &study, None).await?;
    metadata_response(instances)
}

async fn series_metadata(
    State(source): State<Arc<ImagingSource>>,
    Path((study, series)): Path<(String, String)>,
) -> Result<Response, WadoError> {
    let (instances, _) = instances(&source, &study, Some(&series)).await?;
    metadata_response(instances)
}

async fn instance_metadata(
    State(source): State<Arc<ImagingSource>>,
    Path((study, series, instance)): Path<(String, String, String)>,
) -> Result<Response, WadoError> {
    let located = instance_located(&source, &study, &series, &instance).await?;
    metadata_response(vec![located])
}

/// RAD-55 WADO-URI: one instance as `application/dicom`.
async fn wado_uri(
    State(source): State<Arc<ImagingSource>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, WadoError> {
    let parameter = |name: &str| {
        query.get(name).map(String::as_str).ok_or_else(|| {
            WadoError::new(
                StatusCode::BAD_REQUEST,
                format!("WADO-URI parameter {name} is required"),
            )
        })
    };
    let request_type = parameter("requestType")?;
    if request_type != "WADO" {
        return Err(WadoError::new(
            StatusCode::BAD_REQUEST,
            format!("requestType {request_type:?} is not WADO"),
        ));
    }
    let (study, series, object) = (
        parameter("studyUID")?,
        parameter("seriesUID")?,
        parameter("objectUID")?,
    );
    match query.get("contentType").map(String::as_str) {
        Some(DICOM_MEDIA_TYPE) => {}
        other => {
            return Err(WadoError::new(
                StatusCode::NOT_ACCEPTABLE,
                format!(
                    "contentType {other:?} is not supported: only contentType=application/dicom \
                     is served (no rendering)"
                ),
            ));
        }
    }
    if let Some(empty) = [
        ("studyUID", study),
        ("seriesUID", series),
        ("objectUID", object),
    ]
    .into_iter()
    .find_map(|(name, value)| value.is_empty().then_some(name))
    {
        // Given but empty: no object has that identity (the NIST RAD-55 tests expect 404).
        return Err(WadoError::new(
            StatusCode::NOT_FOUND,
            format!("no object with an empty {empty}"),
        ));
    }
    let located = instance_located(&source, study, series, object).await?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, DICOM_MEDIA_TYPE)],
        Body::from_stream(source.open(&located)),
    )
        .into_response())
}

/// Every instance of a study or series, with the PACS catalog read to find them.
async fn instances(
    source: &ImagingSource,
    study: &str,
    series: Option<&str>,
) -> Result<(Vec<Located>, PacsCatalogs), WadoError> {
    uid("Study Instance UID", study)?;
    if let Some(series) = series {
        uid("Series Instance UID", series)?;
    }
    let mut catalogs = PacsCatalogs::default();
    let found = source.study_instances(study, series, &mut catalogs).await?;
    if found.is_empty() {
        let what = match series {
            Some(series) => format!("no instance of series {series} in study {study}"),
            None => format!("no instance of study {study}"),
        };
        return Err(WadoError::new(StatusCode::NOT_FOUND, what));
    }
    Ok((found, catalogs))
}

async fn instance_located(
    source: &ImagingSource,
    study: &str,
    series: &str,
    instance: &str,
) -> Result<Located, WadoError> {
    let key = InstanceKey {
        study: uid("Study Instance UID", study)?.to_owned(),
        series: uid("Series Instance UID", series)?.to_owned(),
        sop: uid("SOP Instance UID", instance)?.to_owned(),
    };
    source
        .locate(&key, &mut PacsCatalogs::default())
        .await?
        .ok_or_else(|| {
            WadoError::new(
                StatusCode::NOT_FOUND,
                format!("no instance {instance} in series {series} of study {study}"),
            )
        })
}

/// A `multipart/related; type="application/dicom"` answer, each part streamed when reached (a
/// whole study or series of the PACS re-framed from its own WADO-RS answer as it arrives).
async fn multipart_response(
    source: &ImagingSource,
    instances: Vec<Located>,
    catalogs: &PacsCatalogs,
) -> Response {
    let boundary = format!("DICOMwebBoundary_{}", uuid::Uuid::new_v4().simple());
    let mut segments: Vec<BodyStream> = Vec::with_capacity(2 * instances.len() + 1);
    let opened = source.open_all(&instances, &[], catalogs).await;
    for (index, (_, body)) in opened.into_iter().enumerate() {
        let body = match body {
            Ok(body) => body,
            Err(error) => stream::iter([Err(std::io::Error::other(error))]).boxed(),
        };
        let lead = if index == 0 { "" } else { "\r\n" };
        let head = format!("{lead}--{boundary}\r\nContent-Type: {DICOM_MEDIA_TYPE}\r\n\r\n");
        segments.push(stream::iter([Ok(Bytes::from(head))]).boxed());
        segments.push(body);
    }
    segments.push(stream::iter([Ok(Bytes::from(format!("\r\n--{boundary}--\r\n")))]).boxed());
    let content_type =
        format!("multipart/related; type=\"{DICOM_MEDIA_TYPE}\"; boundary={boundary}");
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(stream::iter(segments).flatten()),
    )
        .into_response()
}

/// The DICOM JSON metadata (PS3.18 F) of stored instances, written instance by instance (the
/// pixel data is not read). Instances only the PACS holds have no metadata here.
fn metadata_response(instances: Vec<Located>) -> Result<Response, WadoError> {
    let paths: Vec<_> = instances
        .into_iter()
        .filter_map(|located| match located.origin {
            Origin::Store(path) => Some(path),
            Origin::Pacs { .. } => None,
        })
        .collect();
    if paths.is_empty() {
        return Err(WadoError::new(
            StatusCode::NOT_FOUND,
            "metadata is served for instances in the instance store only; these are in the PACS",
        ));
    }
    let objects = stream::iter(paths.into_iter().enumerate()).then(|(index, path)| async move {
        let json = tokio::task::spawn_blocking(move || instance_json(&path))
            .await
            .map_err(std::io::Error::other)??;
        let mut chunk = Vec::with_capacity(json.len() + 1);
        chunk.push(if index == 0 { b'[' } else { b',' });
        chunk.extend_from_slice(&json);
        Ok::<Bytes, std::io::Error>(Bytes::from(chunk))
    });
    let body = objects.chain(stream::iter([Ok(Bytes::from_static(b"]"))]));
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, DICOM_JSON_MEDIA_TYPE)],
        Body::from_stream(body),
    )
        .into_response())
}

/// One stored instance's attributes up to the pixel data, as a DICOM JSON object.
fn instance_json(path: &std::path::Path) -> Result<Vec<u8>, std::io::Error> {
    let object = dicom_object::OpenFileOptions::new()
        .read_until(dicom_dictionary_std::tags::PIXEL_DATA)
        .open_file(path)
        .map_err(std::io::Error::other)?;
    dicom_json::to_vec(&object).map_err(std::io::Error::other)
}
