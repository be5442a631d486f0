//! The HL7 v3 transactions of the PIX manager over SOAP 1.2 with WS-Addressing (ITI TF-2
//! Appendix V): ITI-44 Patient Identity Feed HL7 V3 (Record Added, Record Revised, Duplicates
//! Resolved → `MCCI_IN000002UV01`) and ITI-45 PIXV3 Query (`PRPA_IN201309UV02` →
//! `PRPA_IN201310UV02`). [`handle_soap`] answers one envelope; the HTTP route is in
//! [`crate::service`]. Both go through the same [`PixManager`] operations as HL7 v2 (ITI-8 /
//! ITI-9), so matching, the review queue and ITI-10 apply alike.

mod feed;
mod query;

use schemas::hl7v3::{AcknowledgementDetail, HL7V3_NS, Hl7v3Error};
use schemas::soap::{self, Fault, FaultCode, ResponseHeaders, SoapError, action};
use schemas::xml::Limits;
use tracing::Instrument;

use crate::manager::PixManager;
use crate::storage::StorageError;

pub use feed::interpret_feed;
pub use query::{answer_query, cross_references};

/// Largest SOAP envelope accepted: HL7 v3 PIX messages are a few kilobytes.
pub const MAX_ENVELOPE_BYTES: usize = 1024 * 1024;

/// XML limits of the envelopes read.
const LIMITS: Limits = Limits {
    max_bytes: MAX_ENVELOPE_BYTES,
    max_depth: 64,
};

/// HL7 v2 table 0357 codes used in `acknowledgementDetail/code`.
const REQUIRED_FIELD_MISSING: &str = "101";
const UNKNOWN_KEY_IDENTIFIER: &str = "204";
const APPLICATION_INTERNAL_ERROR: &str = "207";

/// Why an HL7 v3 message was refused; each maps to `acknowledgementDetail`s naming the problem
/// and the XPath of the offending element.
#[derive(Debug, thiserror::Error)]
pub enum V3Error {
    /// The message body could not be read (malformed XML, limits).
    #[error("unreadable HL7 v3 message: {0}")]
    Malformed(#[from] Hl7v3Error),
    /// A required element is absent or null (101).
    #[error("required element {location} is missing")]
    MissingElement { location: String },
    /// ITI-45 takes exactly one `patientIdentifier` value.
    #[error("{count} patientIdentifier values: ITI-45 takes exactly one")]
    RepeatedPatientIdentifier { count: usize },
    /// The root of an identifier is not a domain the manager knows (204).
    #[error("{location}: unknown identifier domain {domain:?}")]
    UnknownDomain { location: String, domain: String },
    /// Data sources (ITI-45 "what domains returned") the manager does not know (204 each).
    #[error("unknown data source domains {}", domains(.sources))]
    UnknownDataSources {
        sources: Vec<schemas::hl7v3::DataSource>,
    },
    /// An identifier the message relies on is not known (204).
    #[error("{location}: {source}")]
    UnknownIdentifier {
        location: String,
        #[source]
        source: StorageError,
    },
    /// The database failed (207).
    #[error("the PIX manager could not complete the transaction: {0}")]
    Storage(StorageError),
}

fn domains(sources: &[schemas::hl7v3::DataSource]) -> String {
    let names: Vec<&str> = sources.iter().map(|s| s.domain.as_str()).collect();
    names.join(", ")
}

impl V3Error {
    /// The `acknowledgementDetail`s: one per unknown data source, one otherwise.
    pub fn details(&self) -> Vec<AcknowledgementDetail> {
        let detail = |code: Option<&str>, location: Option<&str>| AcknowledgementDetail {
            code: code.map(str::to_owned),
            text: self.to_string(),
            location: location.map(str::to_owned),
        };
        match self {
            V3Error::Malformed(_) | V3Error::RepeatedPatientIdentifier { .. } => {
                vec![detail(None, None)]
            }
            V3Error::MissingElement { location } => {
                vec![detail(Some(REQUIRED_FIELD_MISSING), Some(location))]
            }
            V3Error::UnknownDomain { location, .. }
            | V3Error::UnknownIdentifier { location, .. } => {
                vec![detail(Some(UNKNOWN_KEY_IDENTIFIER), Some(location))]
            }
            V3Error::UnknownDataSources { sources } => sources
                .iter()
                .map(|source| AcknowledgementDetail {
                    code: Some(UNKNOWN_KEY_IDENTIFIER.to_owned()),
                    text: format!("unknown data source domain {:?}", source.domain),
                    location: Some(source.location()),
                })
                .collect(),
            V3Error::Storage(_) => vec![detail(Some(APPLICATION_INTERNAL_ERROR), None)],
        }
    }

    /// An unknown or merged-away identifier is the sender's error (204 at `location`); anything
    /// else is the manager's (207).
    fn from_storage(error: StorageError, location: String) -> V3Error {
        match error {
            StorageError::UnknownRecord { .. } | StorageError::MergedRecord { .. } => {
                V3Error::UnknownIdentifier {
                    location,
                    source: error,
                }
            }
            other => V3Error::Storage(other),
        }
    }
}

/// A SOAP answer: HTTP status, Content-Type and envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapAnswer {
    pub status: u16,
    pub content_type: String,
    pub envelope: String,
}

impl SoapAnswer {
    /// The SOAP Fault answering the request with MessageID `relates_to`.
    pub fn fault(fault: &Fault, relates_to: Option<&str>) -> SoapAnswer {
        SoapAnswer {
            status: fault.http_status(),
            content_type: soap::content_type(fault.action()),
            envelope: fault.to_envelope(relates_to),
        }
    }

    fn response(request: &soap::AddressingHeaders, response_action: &str, body: &str) -> Self {
        let headers = ResponseHeaders::answering(request, response_action);
        SoapAnswer {
            status: 200,
            content_type: soap::content_type(response_action),
            envelope: soap::write_envelope(&headers, body),
        }
    }
}

/// ITI-44 / ITI-45: answers one SOAP 1.2 envelope. A broken envelope, an unknown wsa:Action or
/// a Body that is not the interaction the action names gets a SOAP Fault; a readable envelope
/// gets the transaction's HL7 v3 answer (AE with acknowledgementDetail for a bad message).
pub async fn handle_soap(envelope: &[u8], manager: &PixManager) -> SoapAnswer {
    let mut request = match soap::read_envelope(envelope, LIMITS) {
        Ok(request) => request,
        Err(error) => {
            tracing::warn!(%error, "SOAP envelope refused");
            return SoapAnswer::fault(&error.to_fault(), None);
        }
    };
    let headers = request.headers.clone();
    let relates_to = headers.message_id.as_deref();
    let (transaction, response_action) = match headers.action.as_str() {
        action::PATIENT_REGISTRY_RECORD_ADDED
        | action::PATIENT_REGISTRY_RECORD_REVISED
        | action::PATIENT_REGISTRY_DUPLICATES_RESOLVED => ("ITI-44", action::MCCI_ACKNOWLEDGEMENT),
        action::PATIENT_REGISTRY_GET_IDENTIFIERS_QUERY => (
            "ITI-45",
            action::PATIENT_REGISTRY_GET_IDENTIFIERS_QUERY_RESPONSE,
        ),
        other => {
            let error = SoapError::ActionNotSupported {
                action: other.to_owned(),
            };
            tracing::warn!(%error, "SOAP request refused");
            return SoapAnswer::fault(&error.to_fault(), relates_to);
        }
    };
    let announced = headers.action.trim_start_matches("urn:hl7-org:v3:");
    if !request.body.is(HL7V3_NS, announced) {
        let fault = Fault::new(
            FaultCode::Sender,
            format!(
                "the SOAP Body holds <{}>, not the {announced} that wsa:Action announces",
                request.body.name
            ),
        );
        return SoapAnswer::fault(&fault, relates_to);
    }
    let span = tracing::info_span!("hl7v3_message", transaction, interaction = announced);
    let (body, code) = async {
        if transaction == "ITI-44" {
            let ack = feed::handle(&mut request.reader, &request.body, manager).await;
            (ack.to_xml(), ack.type_code.code())
        } else {
            let response = query::handle(&mut request.reader, &request.body, manager).await;
            (response.to_xml(), response.acknowledgement.type_code.code())
        }
    }
    .instrument(span)
    .await;
    metrics::counter!("hl7_messages_total", "transaction" => transaction, "ack_code" => code)
        .increment(1);
    SoapAnswer::response(&headers, response_action, &body)
}
