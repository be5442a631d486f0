//! ITI-8 Patient Identity Feed (HL7 v2.3.1 ADT) and ITI-10 PIX Update Notification (HL7 v2.5
//! ADT^A31) as received by the Document Registry (ITI TF-2a 3.8, 3.10).

use schemas::hl7v2::message::{AckCode, ErrDetail, ErrorCode, Hl7Error, Message, Repetition, ack};
use schemas::hl7v2::refusal::{MessageError, ack_unparsable, check_version};
use tracing::Instrument;

use super::{Demographics, FeedError, FeedEvent, PatientStore, affinity_cx, apply, count_message};

/// HL7 versions the feed accepts in MSH-12: 2.3.1 (ITI-8) and 2.5 / 2.5.1 (ITI-10, ITI-30).
pub const SUPPORTED_VERSIONS: &[&str] = &["2.3.1", "2.5", "2.5.1"];

/// Trigger events announcing a patient: admit, register, pre-admit, update (ITI-8) and the
/// PIX update notification A31 (ITI-10).
const REGISTER_EVENTS: &[&str] = &["A01", "A04", "A05", "A08", "A31"];
/// Trigger event of the ITI-8 merge.
const MERGE_EVENT: &str = "A40";

/// ITI-8 / ITI-10: what an ADT message asks of the registry. Only the PID-3 (and for A40 the
/// MRG-1) repetition whose assigning authority universal id (CX.4.2) is `affinity_domain` counts;
/// the others are ignored (ITI TF-2a 3.8.4.1.3). A merge whose surviving or subsumed id lies
/// outside the affinity domain is ignored as a whole.
pub fn interpret_v2(msg: &Message, affinity_domain: &str) -> Result<FeedEvent, FeedError> {
    if msg.message_code() != "ADT" {
        return Err(MessageError::UnsupportedMessageType {
            found: msg.message_code().to_owned(),
            note: ": the identity feed takes ADT",
        }
        .into());
    }
    let event = msg.trigger_event();
    let is_merge = event == MERGE_EVENT;
    if !is_merge && !REGISTER_EVENTS.contains(&event) {
        return Err(MessageError::UnsupportedEvent {
            found: event.to_owned(),
            note: ": the identity feed takes A01, A04, A05, A08, A31 and A40",
        }
        .into());
    }
    check_version(
        msg,
        SUPPORTED_VERSIONS,
        ": the identity feed takes 2.3.1 and 2.5",
    )?;
    let pid = msg
        .segment("PID")
        .ok_or(MessageError::MissingSegment { segment: "PID" })?;
    let patient_ids = identifiers(pid.field(3).map(|f| f.repetitions()));
    if patient_ids.is_empty() {
        return Err(MessageError::MissingIdentifier {
            segment: "PID",
            field: 3,
        }
        .into());
    }
    let patient_id = affinity_id(&patient_ids, affinity_domain);
    if is_merge {
        let mrg = msg
            .segment("MRG")
            .ok_or(MessageError::MissingSegment { segment: "MRG" })?;
        let prior_ids = identifiers(mrg.field(1).map(|f| f.repetitions()));
        if prior_ids.is_empty() {
            return Err(MessageError::MissingIdentifier {
                segment: "MRG",
                field: 1,
            }
            .into());
        }
        return Ok(
            match (patient_id, affinity_id(&prior_ids, affinity_domain)) {
                (Some(surviving), Some(subsumed)) => FeedEvent::Merge {
                    surviving,
                    subsumed,
                },
                (None, _) => ignored("PID-3", affinity_domain),
                (Some(_), None) => ignored("MRG-1", affinity_domain),
            },
        );
    }
    Ok(match patient_id {
        Some(patient_id) => FeedEvent::Register {
            patient_id,
            demographics: demographics(msg),
        },
        None => ignored("PID-3", affinity_domain),
    })
}

fn ignored(field: &str, affinity_domain: &str) -> FeedEvent {
    FeedEvent::Ignored {
        reason: format!("{field} holds no identifier of the affinity domain {affinity_domain}"),
    }
}

/// The CX repetitions of a PID-3 / MRG-1 field that carry an id (CX.1 not empty).
fn identifiers(repetitions: Option<&[Repetition]>) -> Vec<&Repetition> {
    repetitions
        .unwrap_or_default()
        .iter()
        .filter(|cx| !cx.value(1).is_empty())
        .collect()
}

/// The affinity-domain id among `ids` (CX.4.2 = the domain OID, CX.4.3 `ISO` or empty), as the
/// registry stores it.
fn affinity_id(ids: &[&Repetition], affinity_domain: &str) -> Option<String> {
    ids.iter().find_map(|cx| {
        let authority = cx.component(4)?;
        let universal_id_type = authority.subcomponent(3).unwrap_or_default();
        (authority.subcomponent(2) == Some(affinity_domain)
            && (universal_id_type.is_empty() || universal_id_type == "ISO"))
            .then(|| affinity_cx(cx.value(1), affinity_domain))
    })
}

fn demographics(msg: &Message) -> Option<Demographics> {
    let value = |path: &str| msg.get(path).filter(|v| !v.is_empty()).map(str::to_owned);
    Demographics {
        family_name: value("PID-5.1"),
        given_name: value("PID-5.2"),
        birth_date: value("PID-7"),
        sex: value("PID-8"),
    }
    .non_empty()
}

impl FeedError {
    /// MSA-1 of the ACK answering this error: AR for message-level refusals (MSH-9, MSH-12),
    /// AE for content errors.
    pub fn ack_code(&self) -> AckCode {
        match self {
            FeedError::V2(error) => error.ack_code(),
            FeedError::MissingElement { .. } => AckCode::AE,
        }
    }

    /// The ERR segment content: HL7 table 0357 code, location and text.
    pub fn err_detail(&self) -> ErrDetail {
        match self {
            FeedError::V2(error) => error.err_detail(),
            FeedError::MissingElement { .. } => {
                ErrDetail::error(ErrorCode::RequiredFieldMissing, None, self.to_string())
            }
        }
    }
}

/// ITI-8 / ITI-10: answers one HL7 v2 message received by the registry with the encoded ACK
/// (original mode).
///
/// - AA: the message was applied, or holds no affinity-domain id and was ignored.
/// - AE / AR with ERR: see [`FeedError::ack_code`] and [`FeedError::err_detail`]; a store
///   failure is AE 207 (application internal error).
/// - A frame whose MSH cannot be read cannot be echoed: the answer is a minimal ACK (empty
///   MSH-3..6 and MSA-2, version 2.5) with AR and ERR 100 (no MSH segment) or 102 (unreadable
///   MSH-1/MSH-2). A frame with a readable MSH but a malformed later segment is answered AE 102
///   echoing that MSH.
pub async fn handle_v2<S: PatientStore>(frame: &[u8], store: &S, affinity_domain: &str) -> Vec<u8> {
    let msg = match Message::parse(frame) {
        Ok(msg) => msg,
        Err(error) => return answer_unparsable(frame, error),
    };
    let transaction = if msg.trigger_event() == "A31" {
        "ITI-10"
    } else {
        "ITI-8"
    };
    let span = tracing::info_span!(
        "hl7_message",
        transaction,
        control_id = msg.control_id(),
        event = msg.trigger_event()
    );
    let (code, error) = async {
        match interpret_v2(&msg, affinity_domain) {
            Err(error) => {
                tracing::warn!(%error, "identity feed message refused");
                (error.ack_code(), Some(error.err_detail()))
            }
            Ok(event) => match apply(&event, store).await {
                Ok(()) => {
                    tracing::info!(?event, "identity feed message applied");
                    (AckCode::AA, None)
                }
                Err(error) => {
                    tracing::error!(%error, ?event, "patient store failed");
                    (AckCode::AE, Some(internal_error()))
                }
            },
        }
    }
    .instrument(span)
    .await;
    count_message(transaction, code.as_str());
    ack(&msg, code, error.as_ref()).encode().into_bytes()
}

fn internal_error() -> ErrDetail {
    ErrDetail::error(
        ErrorCode::ApplicationInternalError,
        None,
        "the registry could not record the patient identity".into(),
    )
}

/// The answer to a frame that does not parse as a whole (see [`handle_v2`]).
fn answer_unparsable(frame: &[u8], error: Hl7Error) -> Vec<u8> {
    tracing::warn!(transaction = "ITI-8", %error, "unparsable HL7 v2 frame");
    let (code, answer) = ack_unparsable(frame, error);
    count_message("ITI-8", code.as_str());
    answer.encode().into_bytes()
}
