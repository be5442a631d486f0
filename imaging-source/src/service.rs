//! The Imaging Document Source's HTTP endpoints: the SOAP 1.2 endpoint `/xdsi` (RAD-69, MTOM
//! answer streamed), WADO-RS under `/dicomweb` and WADO-URI at `/wado` (see [`crate::wado`]).
//! Handlers only read and write the wire format; the transactions are plain functions.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::post;
use futures::StreamExt;
use schemas::constants::error_code;
use schemas::ebrim::{RegistryError, RegistryResponse, ResponseStatus, Severity};
use schemas::ihe::{RetrieveDocumentSetResponse, read_retrieve_imaging_document_set_request};
use schemas::mtom::{MtomReader, SoapContentType};
use schemas::soap::{self, Fault, SoapError, action};
use schemas::xml::XmlError;
use service_kit::soap_http::{fault_response, mtom_response};
use tracing::Instrument;

use crate::consumer::ConsumerContext;
use crate::rad69;
use crate::source::ImagingSource;
use crate::wado;

/// Path of the RAD-69 SOAP endpoint.
pub const ENDPOINT_PATH: &str = "/xdsi";

/// Every endpoint as an axum router (the caller adds `/healthz` and `/metrics`), with the
/// Imaging Document Consumer's JSON API under `/consumer`.
pub fn router(source: Arc<ImagingSource>, consumer: Arc<ConsumerContext>) -> Router {
    Router::new()
        .route(ENDPOINT_PATH, post(endpoint))
        .merge(wado::router())
        .with_state(source)
        .merge(crate::consumer::http::router(consumer.clone()))
        .merge(crate::import_reconciliation::http::router(consumer))
}

async fn endpoint(
    State(source): State<Arc<ImagingSource>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let max = source.limits.max_bytes;
    let sender = |reason: String| Fault::new(soap::FaultCode::Sender, reason);
    match SoapContentType::parse(content_type) {
        Ok(SoapContentType::Plain { .. }) => match axum::body::to_bytes(body, max).await {
            Ok(envelope) => handle(&source, &envelope).await,
            Err(e) => fault_response(&sender(format!("request body refused: {e}")), None),
        },
        Ok(SoapContentType::Mtom(multipart)) => {
            let stream = body
                .into_data_stream()
                .map(|chunk| chunk.map_err(std::io::Error::other));
            let mut reader = MtomReader::new(stream, &multipart);
            match reader.root(max).await {
                Ok(root) => handle(&source, &root.body).await,
                Err(e) => fault_response(&sender(format!("MTOM request refused: {e}")), None),
            }
        }
        Err(e) => fault_response(
            &sender(format!("unsupported Content-Type {content_type:?}: {e}")),
            None,
        ),
    }
}

async fn handle(source: &ImagingSource, envelope: &Bytes) -> Response {
    let mut request = match soap::read_envelope(envelope, source.limits) {
        Ok(request) => request,
        Err(error) => return fault_response(&error.to_fault(), None),
    };
    let headers = request.headers.clone();
    if headers.action != action::RETRIEVE_IMAGING_DOCUMENT_SET {
        return fault_response(
            &SoapError::ActionNotSupported {
                action: headers.action.clone(),
            }
            .to_fault(),
            headers.message_id.as_deref(),
        );
    }
    let span = tracing::info_span!("RAD-69", message_id = headers.message_id.as_deref());
    let parsed = read_retrieve_imaging_document_set_request(&mut request.reader, &request.body);
    drop(request);
    let retrieved = match parsed {
        Ok(retrieve_request) => {
            rad69::retrieve_imaging_document_set(source, &retrieve_request)
                .instrument(span)
                .await
        }
        Err(error) => match body_error(&error) {
            Some(response) => rad69::Retrieved {
                response: RetrieveDocumentSetResponse {
                    response,
                    documents: Vec::new(),
                },
                attachments: Vec::new(),
            },
            None => {
                return fault_response(
                    &SoapError::Xml(error).to_fault(),
                    headers.message_id.as_deref(),
                );
            }
        },
    };
    mtom_response(
        &headers,
        action::RETRIEVE_IMAGING_DOCUMENT_SET_RESPONSE,
        &retrieved.response.to_xml(),
        retrieved.attachments,
    )
}

/// A body that is well-formed XML but not a valid RAD-69 request gets a Failure RegistryResponse
/// with XDSRepositoryMetadataError; XML that is not well-formed, or breaks the size and depth
/// limits, gets a SOAP Fault (`None`).
fn body_error(error: &XmlError) -> Option<RegistryResponse> {
    match error {
        XmlError::MissingAttribute { .. }
        | XmlError::MissingElement { .. }
        | XmlError::UnexpectedElement { .. }
        | XmlError::InvalidValue { .. }
        | XmlError::Unsupported(_) => Some(RegistryResponse {
            status: ResponseStatus::Failure,
            request_id: None,
            response_slots: Vec::new(),
            errors: vec![RegistryError {
                error_code: error_code::XDS_REPOSITORY_METADATA_ERROR.to_owned(),
                code_context: error.to_string(),
                location: None,
                severity: Severity::Error,
                value: None,
            }],
        }),
        _ => None,
    }
}
