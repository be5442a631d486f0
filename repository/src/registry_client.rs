//! What the repository asks of the Document Registry (SOAP 1.2, plain `application/soap+xml`;
//! the answer may be plain or MTOM): ITI-42 Register Document Set-b, and ITI-18 GetDocuments to
//! learn whether a document left pending by a crash was registered.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use schemas::constants::error_code;
use schemas::constants::stored_query::GET_DOCUMENTS;
use schemas::ebrim::{
    Identifiable, NS_QUERY, NS_RIM, NS_RS, RegistryError, RegistryResponse, ResponseStatus,
    Severity, SubmitObjectsRequest, read_adhoc_query_response, read_registry_response,
};
use schemas::mtom::{MtomReader, SoapContentType};
use schemas::soap::{self, SoapError, action};
use schemas::xds::DocumentEntry;
use schemas::xml::{self, Limits};

/// Why the registry did not give a usable answer.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// No connection, timeout, or an HTTP answer that is not SOAP (XDSRegistryNotAvailable).
    #[error("registry {url} not available: {reason}")]
    Unavailable { url: String, reason: String },
    /// The registry answered with a SOAP Fault (XDSRegistryError).
    #[error("registry {url} answered with a SOAP Fault: {reason}")]
    Fault { url: String, reason: String },
    /// The registry's answer is not a readable RegistryResponse (XDSRegistryError).
    #[error("registry {url} answered with an unreadable message: {reason}")]
    InvalidAnswer { url: String, reason: String },
}

impl RegisterError {
    /// The RegistryResponse the repository returns to the ITI-41 submitter for this failure.
    pub fn to_registry_response(&self) -> RegistryResponse {
        let code = match self {
            RegisterError::Unavailable { .. } => error_code::XDS_REGISTRY_NOT_AVAILABLE,
            RegisterError::Fault { .. } | RegisterError::InvalidAnswer { .. } => {
                error_code::XDS_REGISTRY_ERROR
            }
        };
        RegistryResponse {
            status: ResponseStatus::Failure,
            request_id: None,
            response_slots: Vec::new(),
            errors: vec![RegistryError {
                error_code: code.to_owned(),
                code_context: self.to_string(),
                location: None,
                severity: Severity::Error,
                value: None,
            }],
        }
    }
}

/// Sends ITI-42 requests to one registry endpoint.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    http: reqwest::Client,
    url: String,
    limits: Limits,
}

impl RegistryClient {
    /// A client for the registry endpoint `url`; answers are read within `limits`.
    pub fn new(url: impl Into<String>, timeout: Duration, limits: Limits) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap_or_default();
        RegistryClient {
            http,
            url: url.into(),
            limits,
        }
    }

    /// The registry endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// ITI-42 Register Document Set-b: the registry's RegistryResponse, or why there is none.
    pub async fn register(
        &self,
        submit: &SubmitObjectsRequest,
    ) -> Result<RegistryResponse, RegisterError> {
        let envelope = self
            .call(action::REGISTER_DOCUMENT_SET_B, &submit.to_xml())
            .await?;
        self.read_answer(&envelope)
    }

    /// ITI-18 GetDocuments by DocumentEntry uniqueId (LeafClass): the DocumentEntries the
    /// registry holds under `unique_id`, whatever their status. The repository asks it of the
    /// documents a previous process stored but did not record as registered.
    pub async fn find_documents(
        &self,
        unique_id: &str,
    ) -> Result<Vec<DocumentEntry>, RegisterError> {
        let query = get_documents_query(unique_id);
        let envelope = self.call(action::REGISTRY_STORED_QUERY, &query).await?;
        let mut message = self.read_message(&envelope)?;
        if !message.body.is(NS_QUERY, "AdhocQueryResponse") {
            return Err(self.invalid(format!(
                "body is <{}> instead of query:AdhocQueryResponse",
                message.body.name.local
            )));
        }
        let answer = read_adhoc_query_response(&mut message.reader, &message.body)
            .map_err(|e| self.invalid(e.to_string()))?;
        if answer.response.status != ResponseStatus::Success {
            let codes: Vec<&str> = answer
                .response
                .errors
                .iter()
                .map(|e| e.error_code.as_str())
                .collect();
            return Err(self.invalid(format!(
                "ITI-18 GetDocuments answered {:?} ({})",
                answer.response.status,
                codes.join(", ")
            )));
        }
        Ok(answer
            .objects
            .objects
            .iter()
            .filter_map(|object| match object {
                Identifiable::ExtrinsicObject(eo) => DocumentEntry::from_rim(eo).ok(),
                _ => None,
            })
            .collect())
    }

    /// Sends one SOAP request; the answer's envelope (plain, or the MTOM root part).
    async fn call(&self, soap_action: &str, body: &str) -> Result<Bytes, RegisterError> {
        let (envelope, _) = soap::write_request_envelope(soap_action, &self.url, body);
        let unavailable = |reason: String| RegisterError::Unavailable {
            url: self.url.clone(),
            reason,
        };
        let response = self
            .http
            .post(&self.url)
            .header(
                reqwest::header::CONTENT_TYPE,
                soap::content_type(soap_action),
            )
            .body(envelope)
            .send()
            .await
            .map_err(|e| unavailable(error_chain(&e)))?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let Ok(soap_type) = SoapContentType::parse(&content_type) else {
            return Err(unavailable(format!(
                "HTTP {status} with Content-Type {content_type:?} instead of a SOAP message"
            )));
        };
        self.read_envelope(soap_type, response)
            .await
            .map_err(|reason| self.invalid(reason))
    }

    async fn read_envelope(
        &self,
        content_type: SoapContentType,
        response: reqwest::Response,
    ) -> Result<Bytes, String> {
        let max = self.limits.max_bytes;
        let mut stream = response.bytes_stream();
        match content_type {
            SoapContentType::Plain { .. } => {
                let mut body = BytesMut::new();
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(|e| error_chain(&e))?;
                    if body.len() + chunk.len() > max {
                        return Err(format!("answer larger than {max} bytes"));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(body.freeze())
            }
            SoapContentType::Mtom(multipart) => {
                let mut reader = MtomReader::new(stream, &multipart);
                let root = reader.root(max).await.map_err(|e| e.to_string())?;
                Ok(root.body)
            }
        }
    }

    fn read_message<'a>(&self, envelope: &'a [u8]) -> Result<soap::SoapRequest<'a>, RegisterError> {
        match soap::read_response_envelope(envelope, self.limits) {
            Ok(message) => Ok(message),
            Err(SoapError::Fault(fault)) => Err(RegisterError::Fault {
                url: self.url.clone(),
                reason: fault.reason.clone(),
            }),
            Err(e) => Err(self.invalid(e.to_string())),
        }
    }

    fn read_answer(&self, envelope: &[u8]) -> Result<RegistryResponse, RegisterError> {
        let mut message = self.read_message(envelope)?;
        if !message.body.is(NS_RS, "RegistryResponse") {
            return Err(self.invalid(format!(
                "body is <{}> instead of rs:RegistryResponse",
                message.body.name.local
            )));
        }
        read_registry_response(&mut message.reader, &message.body)
            .map_err(|e| self.invalid(e.to_string()))
    }

    fn invalid(&self, reason: String) -> RegisterError {
        RegisterError::InvalidAnswer {
            url: self.url.clone(),
            reason,
        }
    }
}

/// The ITI-18 `query:AdhocQueryRequest` of [`RegistryClient::find_documents`]: GetDocuments,
/// LeafClass, `$XDSDocumentEntryUniqueId` = `unique_id`.
pub fn get_documents_query(unique_id: &str) -> String {
    format!(
        r#"<query:AdhocQueryRequest xmlns:query="{NS_QUERY}" xmlns:rim="{NS_RIM}"><query:ResponseOption returnComposedObjects="true" returnType="LeafClass"/><rim:AdhocQuery id="{GET_DOCUMENTS}"><rim:Slot name="$XDSDocumentEntryUniqueId"><rim:ValueList><rim:Value>('{}')</rim:Value></rim:ValueList></rim:Slot></rim:AdhocQuery></query:AdhocQueryRequest>"#,
        xml::escape(&unique_id.replace('\'', "''"))
    )
}

/// An error with its sources ("error sending request: connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}
