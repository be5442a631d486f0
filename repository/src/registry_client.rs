//! ITI-42 Register Document Set-b as the repository sends it to the Document Registry
//! (SOAP 1.2, plain `application/soap+xml`; the answer may be plain or MTOM).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use schemas::constants::error_code;
use schemas::ebrim::{
    NS_RS, RegistryError, RegistryResponse, ResponseStatus, Severity, SubmitObjectsRequest,
    read_registry_response,
};
use schemas::mtom::{MtomReader, SoapContentType};
use schemas::soap::{self, SoapError, action};
use schemas::xml::Limits;

/// Why the registry did not give a RegistryResponse.
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
        let (envelope, _) = soap::write_request_envelope(
            action::REGISTER_DOCUMENT_SET_B,
            &self.url,
            &submit.to_xml(),
        );
        let unavailable = |reason: String| RegisterError::Unavailable {
            url: self.url.clone(),
            reason,
        };
        let response = self
            .http
            .post(&self.url)
            .header(
                reqwest::header::CONTENT_TYPE,
                soap::content_type(action::REGISTER_DOCUMENT_SET_B),
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
        let envelope = self
            .read_envelope(soap_type, response)
            .await
            .map_err(|reason| self.invalid(reason))?;
        self.read_answer(&envelope)
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

    fn read_answer(&self, envelope: &[u8]) -> Result<RegistryResponse, RegisterError> {
        let mut message = match soap::read_response_envelope(envelope, self.limits) {
            Ok(message) => message,
            Err(SoapError::Fault(fault)) => {
                return Err(RegisterError::Fault {
                    url: self.url.clone(),
                    reason: fault.reason.clone(),
                });
            }
            Err(e) => return Err(self.invalid(e.to_string())),
        };
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
