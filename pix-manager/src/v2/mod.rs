//! The HL7 v2 transactions of the PIX manager over MLLP: ITI-8 Patient Identity Feed (ADT),
//! ITI-9 PIX Query (QBP^Q23 → RSP^K23) and ITI-21 Patient Demographics Query (QBP^Q22 →
//! RSP^K22). [`handle_v2`] answers one frame; [`serve_mllp`] is the listener.

mod feed;
mod mllp;
mod query;

use schemas::hl7v2::message::{
    AckCode, Delimiters, ErrDetail, ErrorCode, ErrorLocation, Hl7Error, Message, ack,
};
use schemas::hl7v2::refusal::{MessageError, ack_unparsable};
use tracing::Instrument;

use crate::manager::PixManager;
use crate::matching::Demographics;
use crate::storage::StorageError;

pub use feed::{FeedRequest, interpret_feed};
pub use mllp::serve_mllp;

/// HL7 versions of ITI-8 (2.3.1, 2.5) and of the queries (2.5).
const FEED_VERSIONS: &[&str] = &["2.3.1", "2.5", "2.5.1"];
const QUERY_VERSIONS: &[&str] = &["2.5", "2.5.1"];

/// Why a message was refused; each maps to an ACK code and an HL7 table 0357 error with the
/// location of the offending field.
#[derive(Debug, thiserror::Error)]
pub enum V2Error {
    /// The header (MSH-9, MSH-12: AR) or the structure (AE 100, 101, 102) of the message.
    #[error(transparent)]
    Message(#[from] MessageError),
    /// The assigning authority of an identifier is not a configured domain (AE, 204).
    #[error("{segment}-{field}: unknown identifier domain {domain:?}")]
    UnknownDomain {
        segment: &'static str,
        field: usize,
        domain: String,
    },
    /// An identifier the message relies on is not known (AE, 204).
    #[error("{segment}-{field}: {source}")]
    UnknownIdentifier {
        segment: &'static str,
        field: usize,
        #[source]
        source: StorageError,
    },
    /// A query parameter the manager does not support (AE, 102).
    #[error("{segment}-{field}: unsupported query parameter {parameter:?}")]
    UnsupportedParameter {
        segment: &'static str,
        field: usize,
        parameter: String,
    },
    /// The database failed (AE, 207).
    #[error("the PIX manager could not complete the transaction: {0}")]
    Storage(StorageError),
}

/// A message that does not parse, or a path that does not fit it, is malformed (AE, 102).
impl From<Hl7Error> for V2Error {
    fn from(error: Hl7Error) -> V2Error {
        V2Error::Message(MessageError::Malformed(error))
    }
}

impl V2Error {
    /// MSA-1: AR for message-level refusals (MSH-9, MSH-12), AE otherwise.
    pub fn ack_code(&self) -> AckCode {
        match self {
            V2Error::Message(error) => error.ack_code(),
            _ => AckCode::AE,
        }
    }

    /// The ERR segment content: table 0357 code, location and text.
    pub fn err_detail(&self) -> ErrDetail {
        let (code, location) = match self {
            V2Error::Message(error) => return error.err_detail(),
            V2Error::UnknownDomain { segment, field, .. } => (
                ErrorCode::UnknownKeyIdentifier,
                Some(ErrorLocation::component(segment, *field, 4)),
            ),
            V2Error::UnknownIdentifier { segment, field, .. } => (
                ErrorCode::UnknownKeyIdentifier,
                Some(ErrorLocation::component(segment, *field, 1)),
            ),
            V2Error::UnsupportedParameter { segment, field, .. } => (
                ErrorCode::DataTypeError,
                Some(ErrorLocation::field(segment, *field)),
            ),
            V2Error::Storage(_) => (ErrorCode::ApplicationInternalError, None),
        };
        ErrDetail::error(code, location, self.to_string())
    }
}

/// The IHE transaction a message belongs to, by MSH-9.
fn transaction_of(msg: &Message) -> &'static str {
    match (msg.message_code(), msg.trigger_event()) {
        ("QBP", "Q23") => "ITI-9",
        ("QBP", "Q22") => "ITI-21",
        _ => "ITI-8",
    }
}

/// ITI-8 / ITI-9 / ITI-21: answers one HL7 v2 frame with the encoded ACK or query response.
///
/// A frame whose MSH cannot be read is answered with a minimal ACK (AR, ERR 100 or 102); a
/// readable MSH with a malformed later segment is answered AE 102 echoing that MSH.
pub async fn handle_v2(frame: &[u8], manager: &PixManager) -> Vec<u8> {
    let msg = match Message::parse(frame) {
        Ok(msg) => msg,
        Err(error) => return answer_unparsable(frame, error),
    };
    let transaction = transaction_of(&msg);
    let span = tracing::info_span!(
        "hl7_message",
        transaction,
        control_id = msg.control_id(),
        event = msg.trigger_event()
    );
    let answer = async {
        match msg.message_code() {
            "ADT" => feed::handle(&msg, manager).await,
            "QBP" => query::handle(&msg, manager).await,
            other => Err(MessageError::UnsupportedMessageType {
                found: other.to_owned(),
                note: ": the PIX manager takes ADT and QBP",
            }
            .into()),
        }
    }
    .instrument(span.clone())
    .await;
    let _entered = span.enter();
    let answer = answer.unwrap_or_else(|error| {
        tracing::warn!(%error, "message refused");
        if matches!(error, V2Error::Storage(_)) {
            tracing::error!(%error, "storage failure");
        }
        ack(&msg, error.ack_code(), Some(&error.err_detail()))
    });
    let code = answer.get("MSA-1").unwrap_or_default().to_owned();
    metrics::counter!("hl7_messages_total", "transaction" => transaction, "ack_code" => code)
        .increment(1);
    answer.encode().into_bytes()
}

/// The answer to a frame that does not parse as a whole.
fn answer_unparsable(frame: &[u8], error: Hl7Error) -> Vec<u8> {
    tracing::warn!(%error, "unparsable HL7 v2 frame");
    let (code, answer) = ack_unparsable(frame, error);
    metrics::counter!("hl7_messages_total", "transaction" => "unknown", "ack_code" => code.as_str())
        .increment(1);
    answer.encode().into_bytes()
}

/// The demographics a PID segment carries (PID-5 name, PID-7 birth date, PID-8 sex, PID-11
/// address, PID-13 phone, PID-19 SSN); the occurrence is `pid` (e.g. `PID`).
pub fn demographics_from_pid(msg: &Message) -> Demographics {
    let value = |path: &str| {
        msg.get(path)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    Demographics {
        surname: value("PID-5.1"),
        given_name: value("PID-5.2"),
        date_of_birth: value("PID-7").map(|d| d.chars().take(8).collect()),
        sex: value("PID-8"),
        address_1: value("PID-11.1.1"),
        street_number: value("PID-11.1.3"),
        address_2: value("PID-11.2"),
        suburb: value("PID-11.3"),
        state: value("PID-11.4"),
        postcode: value("PID-11.5"),
        phone_number: value("PID-13.1"),
        soc_sec_id: value("PID-19"),
    }
}

/// A PID segment in ER7 (default delimiters, no trailing CR): PID-3 = `ids` as (id, domain OID)
/// CX repetitions, then the demographics in the fields [`demographics_from_pid`] reads.
pub fn pid_segment_er7(d: &Delimiters, ids: &[(String, String)], demo: &Demographics) -> String {
    let e = |v: &Option<String>| v.as_deref().map(|v| d.escape(v)).unwrap_or_default();
    let cx: Vec<String> = ids
        .iter()
        .map(|(id, domain)| format!("{}^^^&{}&ISO", d.escape(id), d.escape(domain)))
        .collect();
    let address = format!(
        "{}&&{}^{}^{}^{}^{}",
        e(&demo.address_1),
        e(&demo.street_number),
        e(&demo.address_2),
        e(&demo.suburb),
        e(&demo.state),
        e(&demo.postcode)
    );
    let address = if address == "&&^^^^" {
        String::new()
    } else {
        address
    };
    format!(
        "PID|||{}||{}^{}||{}|{}|||{}||{}||||||{}",
        cx.join("~"),
        e(&demo.surname),
        e(&demo.given_name),
        e(&demo.date_of_birth),
        e(&demo.sex),
        address,
        e(&demo.phone_number),
        e(&demo.soc_sec_id),
    )
}
