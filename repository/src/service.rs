//! The repository's SOAP 1.2 endpoint, `/xds/repository` (ITI-41, ITI-43, ITI-86): reads the envelope (plain SOAP or the
//! MTOM root part, bounded), dispatches on the WS-Addressing action, and writes the answer
//! (MTOM for ITI-43, and for ITI-41 when the request was MTOM). Attachments are never buffered:
//! ITI-41 parts are streamed into the store, ITI-43 documents out of it.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::post;
use futures::StreamExt;
use schemas::constants::error_code;
use schemas::ebrim::{RegistryError, RegistryResponse, ResponseStatus, Severity};
use schemas::ihe::{
    RetrieveDocumentSetResponse, read_provide_and_register_document_set_request,
    read_remove_documents_request, read_retrieve_document_set_request,
};
use schemas::mtom::{MtomError, MtomReader, RootPart, SoapContentType};
use schemas::soap::{self, AddressingHeaders, Fault, SoapError, action};
use schemas::xml::XmlError;
use service_kit::soap_http::{fault_response, mtom_response, soap_response};
use tracing::Instrument;

use crate::Repository;
use crate::direct_upload::{DirectParts, DirectUpload};
use crate::provide::{self, Attachments, NoAttachments};
use crate::{remove, retrieve};

/// Path of the SOAP endpoint.
pub const ENDPOINT_PATH: &str = "/xds/repository";

/// The SOAP endpoint as an axum router (the caller adds `/healthz` and `/metrics`).
pub fn router(repository: Arc<Repository>) -> Router {
    Router::new()
        .route(ENDPOINT_PATH, post(endpoint))
        .with_state(repository)
}

async fn endpoint(
    State(repository): State<Arc<Repository>>,
    upload: Option<Extension<DirectUpload>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let max = repository.limits.max_bytes;
    let sender = |reason: String| Fault::new(soap::FaultCode::Sender, reason);
    match SoapContentType::parse(content_type) {
        Ok(SoapContentType::Plain { .. }) => match axum::body::to_bytes(body, max).await {
            Ok(envelope) => handle(&repository, &envelope, &mut NoAttachments, false).await,
            Err(e) => fault_response(&sender(format!("request body refused: {e}")), None),
        },
        Ok(SoapContentType::Mtom(multipart)) => {
            if let Some(Extension(upload)) = upload
                && let Some(direct) = upload.take()
            {
                let reader = MtomReader::new(direct, &multipart);
                let mut parts = DirectParts::new(reader, upload.pool().clone());
                let response = handle_package(&repository, &mut parts).await;
                upload.give_back(parts.into_body());
                return response;
            }
            let stream = body
                .into_data_stream()
                .map(|chunk| chunk.map_err(std::io::Error::other));
            handle_package(&repository, &mut MtomReader::new(stream, &multipart)).await
        }
        Err(e) => fault_response(
            &sender(format!("unsupported Content-Type {content_type:?}: {e}")),
            None,
        ),
    }
}

/// Answers an MTOM request from its root part, then reads what the answer left unread.
async fn handle_package<P: Package>(repository: &Repository, package: &mut P) -> Response {
    let root = match package.root(repository.limits.max_bytes).await {
        Ok(root) => root,
        Err(e) => {
            let reason = format!("MTOM request refused: {e}");
            return fault_response(&Fault::new(soap::FaultCode::Sender, reason), None);
        }
    };
    let response = handle(repository, &root.body, package, true).await;
    drain_unread_parts(package).await;
    response
}

/// An MTOM request: its root part (the envelope, up to a size), then its attachments.
trait Package: Attachments {
    fn root(
        &mut self,
        max_bytes: usize,
    ) -> impl Future<Output = Result<RootPart, MtomError>> + Send;
}

impl<S> Package for MtomReader<S>
where
    S: futures::Stream<Item = Result<Bytes, std::io::Error>> + Unpin + Send,
{
    fn root(
        &mut self,
        max_bytes: usize,
    ) -> impl Future<Output = Result<RootPart, MtomError>> + Send {
        MtomReader::root(self, max_bytes)
    }
}

impl Package for DirectParts {
    fn root(
        &mut self,
        max_bytes: usize,
    ) -> impl Future<Output = Result<RootPart, MtomError>> + Send {
        DirectParts::root(self, max_bytes)
    }
}

/// Most bytes of attachments a refused request may still send after its answer is ready.
const DRAIN_LIMIT_BYTES: usize = 256 * 1024 * 1024;

/// Reads (and drops) what a refused request still sends, so the client reads the answer
/// instead of a connection reset; stops at the first error or after [`DRAIN_LIMIT_BYTES`].
async fn drain_unread_parts<A: Attachments>(reader: &mut A) {
    let mut drained = 0usize;
    loop {
        match reader.read_chunk().await {
            Ok(Some(chunk)) => {
                drained += chunk.len();
                if drained > DRAIN_LIMIT_BYTES {
                    return;
                }
            }
            Ok(None) => match reader.next_part().await {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return,
            },
            Err(_) => return,
        }
    }
}

async fn handle<A: Attachments>(
    repository: &Repository,
    envelope: &Bytes,
    attachments: &mut A,
    mtom: bool,
) -> Response {
    let mut request = match soap::read_envelope(envelope, repository.limits) {
        Ok(request) => request,
        Err(error) => return fault_response(&error.to_fault(), None),
    };
    let headers = request.headers.clone();
    match headers.action.as_str() {
        action::PROVIDE_AND_REGISTER_DOCUMENT_SET_B => {
            let span = tracing::info_span!("ITI-41", message_id = headers.message_id.as_deref());
            let parsed =
                read_provide_and_register_document_set_request(&mut request.reader, &request.body);
            drop(request);
            let answer = match parsed {
                Ok(pnr) => {
                    provide::provide_and_register(repository, pnr, attachments)
                        .instrument(span)
                        .await
                }
                Err(error) => match body_error(&error) {
                    Some(answer) => answer,
                    None => return xml_fault(error, &headers),
                },
            };
            let response_action = action::PROVIDE_AND_REGISTER_DOCUMENT_SET_B_RESPONSE;
            if mtom {
                mtom_response(&headers, response_action, &answer.to_xml(), Vec::new())
            } else {
                soap_response(&headers, response_action, &answer.to_xml())
            }
        }
        action::RETRIEVE_DOCUMENT_SET => {
            let span = tracing::info_span!("ITI-43", message_id = headers.message_id.as_deref());
            let parsed = read_retrieve_document_set_request(&mut request.reader, &request.body);
            drop(request);
            let retrieved = match parsed {
                Ok(retrieve_request) => {
                    retrieve::retrieve(repository, &retrieve_request)
                        .instrument(span)
                        .await
                }
                Err(error) => match body_error(&error) {
                    Some(response) => retrieve::Retrieved {
                        response: RetrieveDocumentSetResponse {
                            response,
                            documents: Vec::new(),
                        },
                        attachments: Vec::new(),
                    },
                    None => return xml_fault(error, &headers),
                },
            };
            mtom_response(
                &headers,
                action::RETRIEVE_DOCUMENT_SET_RESPONSE,
                &retrieved.response.to_xml(),
                retrieved.attachments,
            )
        }
        action::REMOVE_DOCUMENTS => {
            let span = tracing::info_span!("ITI-86", message_id = headers.message_id.as_deref());
            let parsed = read_remove_documents_request(&mut request.reader, &request.body);
            drop(request);
            let answer = match parsed {
                Ok(remove_request) => {
                    remove::remove_documents(repository, &remove_request)
                        .instrument(span)
                        .await
                }
                Err(error) => match body_error(&error) {
                    Some(answer) => answer,
                    None => return xml_fault(error, &headers),
                },
            };
            let response_action = action::REMOVE_DOCUMENTS_RESPONSE;
            if mtom {
                mtom_response(&headers, response_action, &answer.to_xml(), Vec::new())
            } else {
                soap_response(&headers, response_action, &answer.to_xml())
            }
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

/// A body that is well-formed XML but not a valid message of the transaction gets a
/// RegistryResponse with XDSRepositoryMetadataError; XML that is not well-formed, or breaks the
/// size and depth limits, gets a SOAP Fault (`None`).
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

fn xml_fault(error: XmlError, request: &AddressingHeaders) -> Response {
    fault_response(
        &SoapError::Xml(error).to_fault(),
        request.message_id.as_deref(),
    )
}
