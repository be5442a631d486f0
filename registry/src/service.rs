//! The registry's SOAP 1.2 endpoint, `/xds/registry` (ITI-18, ITI-42, ITI-57, ITI-62, ITI-44): reads the envelope (plain SOAP or MTOM),
//! dispatches on the WS-Addressing action to the transaction functions, and writes the answer.
//! Handlers stay thin: every transaction is a plain function of the registry library.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::StreamExt;
use schemas::ebrim::{
    self, RegistryError, RegistryResponse, ResponseStatus, Severity, read_adhoc_query_request,
    read_remove_objects_request, read_submit_objects_request,
};
use schemas::mtom::{MtomReader, SoapContentType};
use schemas::soap::{self, Fault, ResponseHeaders, SoapError, SoapRequest, action};
use schemas::xml::{Limits, XmlError};
use service_kit::soap_http::fault_response;

use crate::identity_feed;
use crate::register::{self, RegisterContext};
use crate::storage::Database;
use crate::stored_query::{self, QueryOptions};
use crate::{delete, update};

/// Path of the SOAP endpoint.
pub const ENDPOINT_PATH: &str = "/xds/registry";

/// Everything a request needs, shared by all connections.
pub struct RegistryService {
    pub db: Database,
    /// Assigning authority (OID) of the affinity domain's patient ids.
    pub affinity_domain: String,
    /// ITI-42 rules: affinity domain, code lists, unknown-patient policy.
    pub register: RegisterContext,
    /// ITI-18 result cap and homeCommunityId.
    pub query: QueryOptions,
    pub limits: Limits,
}

/// The SOAP endpoint as an axum router (the caller adds `/healthz` and `/metrics`).
pub fn router(service: Arc<RegistryService>) -> Router {
    Router::new()
        .route(ENDPOINT_PATH, post(endpoint))
        .with_state(service)
}

async fn endpoint(
    State(service): State<Arc<RegistryService>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let envelope = match read_body(&headers, body, service.limits.max_bytes).await {
        Ok(bytes) => bytes,
        Err(fault) => return fault_response(&fault, None),
    };
    let request = match soap::read_envelope(&envelope, service.limits) {
        Ok(request) => request,
        Err(error) => return fault_response(&error.to_fault(), None),
    };
    dispatch(&service, request).await
}

/// The SOAP envelope bytes of a request: the whole body for `application/soap+xml`, the root
/// part for MTOM (a registry request carries no attachments).
async fn read_body(headers: &HeaderMap, body: Body, max_bytes: usize) -> Result<Bytes, Fault> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let sender = |reason: String| Fault::new(soap::FaultCode::Sender, reason);
    match SoapContentType::parse(content_type) {
        Ok(SoapContentType::Plain { .. }) => axum::body::to_bytes(body, max_bytes)
            .await
            .map_err(|e| sender(format!("request body refused: {e}"))),
        Ok(SoapContentType::Mtom(multipart)) => {
            let stream = body
                .into_data_stream()
                .map(|chunk| chunk.map_err(std::io::Error::other));
            let mut reader = MtomReader::new(stream, &multipart);
            let root = reader
                .root(max_bytes)
                .await
                .map_err(|e| sender(format!("MTOM request refused: {e}")))?;
            Ok(root.body)
        }
        Err(e) => Err(sender(format!(
            "unsupported Content-Type {content_type:?}: {e}"
        ))),
    }
}

async fn dispatch(service: &RegistryService, mut request: SoapRequest<'_>) -> Response {
    let headers = request.headers.clone();
    match headers.action.as_str() {
        action::REGISTER_DOCUMENT_SET_B => {
            let answer = match read_submit_objects_request(&mut request.reader, &request.body) {
                Ok(submit) => register::register(&service.db, &service.register, &submit).await,
                Err(error) => match body_error(&error) {
                    Some(response) => response,
                    None => return xml_fault(error, &headers),
                },
            };
            soap_response(
                &headers,
                action::REGISTER_DOCUMENT_SET_B_RESPONSE,
                1024,
                |out| answer.write_xml(out),
            )
        }
        action::UPDATE_DOCUMENT_SET => {
            let answer = match read_submit_objects_request(&mut request.reader, &request.body) {
                Ok(submit) => {
                    update::update_document_set(&service.db, &service.register, &submit).await
                }
                Err(error) => match body_error(&error) {
                    Some(response) => response,
                    None => return xml_fault(error, &headers),
                },
            };
            soap_response(
                &headers,
                action::UPDATE_DOCUMENT_SET_RESPONSE,
                1024,
                |out| answer.write_xml(out),
            )
        }
        action::DELETE_DOCUMENT_SET => {
            let answer = match read_remove_objects_request(&mut request.reader, &request.body) {
                Ok(remove) => delete::delete_document_set(&service.db, &remove).await,
                Err(error) => match body_error(&error) {
                    Some(response) => response,
                    None => return xml_fault(error, &headers),
                },
            };
            soap_response(
                &headers,
                action::DELETE_DOCUMENT_SET_RESPONSE,
                1024,
                |out| answer.write_xml(out),
            )
        }
        action::REGISTRY_STORED_QUERY => {
            let answer = match read_adhoc_query_request(&mut request.reader, &request.body) {
                Ok(query) => stored_query::execute(&service.db, &service.query, &query).await,
                Err(error) => match body_error(&error) {
                    Some(response) => ebrim::AdhocQueryResponse {
                        response,
                        start_index: None,
                        total_result_count: None,
                        objects: ebrim::RegistryObjectList::default(),
                    },
                    None => return xml_fault(error, &headers),
                },
            };
            soap_response(
                &headers,
                action::REGISTRY_STORED_QUERY_RESPONSE,
                answer_len(&answer),
                |out| answer.write_xml(out),
            )
        }
        action::PATIENT_REGISTRY_RECORD_ADDED
        | action::PATIENT_REGISTRY_RECORD_REVISED
        | action::PATIENT_REGISTRY_DUPLICATES_RESOLVED => {
            let ack = identity_feed::handle_v3(
                &mut request.reader,
                &request.body,
                &service.db,
                &service.affinity_domain,
            )
            .await;
            soap_response(&headers, action::MCCI_ACKNOWLEDGEMENT, ack.len(), |out| {
                out.push_str(&ack)
            })
        }
        other => fault_response(
            &SoapError::ActionNotSupported {
                action: other.to_owned(),
            }
            .to_fault(),
            headers.message_id.as_deref(),
        ),
    }
}

/// A body that is well-formed XML but not a valid ebXML message gets a RegistryResponse with
/// XDSRegistryMetadataError (the submitter can act on it); XML that is not well-formed, or
/// breaks the size and depth limits, gets a SOAP Fault (`None`).
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
                error_code: schemas::constants::error_code::XDS_REGISTRY_METADATA_ERROR.to_owned(),
                code_context: error.to_string(),
                location: None,
                severity: Severity::Error,
                value: None,
            }],
        }),
        _ => None,
    }
}

fn xml_fault(error: XmlError, request: &soap::AddressingHeaders) -> Response {
    fault_response(
        &SoapError::Xml(error).to_fault(),
        request.message_id.as_deref(),
    )
}

/// Bytes to reserve for `answer` besides its stored fragments.
const ANSWER_MARKUP: usize = 1024;

/// About the length of `answer`'s XML: a LeafClass answer is mostly its stored fragments.
fn answer_len(answer: &ebrim::AdhocQueryResponse) -> usize {
    ANSWER_MARKUP
        + answer
            .objects
            .objects
            .iter()
            .map(|object| match object {
                ebrim::Identifiable::Raw(xml) => xml.len(),
                _ => ANSWER_MARKUP,
            })
            .sum::<usize>()
}

/// The response envelope with the body written straight into it by `write_body` (about
/// `body_len` bytes): an ITI-18 LeafClass answer runs to hundreds of KB, and is not copied
/// from a body string into the envelope.
fn soap_response(
    request: &soap::AddressingHeaders,
    response_action: &str,
    body_len: usize,
    write_body: impl FnOnce(&mut String),
) -> Response {
    let headers = ResponseHeaders::answering(request, response_action);
    let mut envelope = soap::envelope_prefix(&headers);
    envelope.reserve(body_len + soap::ENVELOPE_SUFFIX.len());
    write_body(&mut envelope);
    envelope.push_str(soap::ENVELOPE_SUFFIX);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, soap::content_type(response_action))],
        envelope,
    )
        .into_response()
}
