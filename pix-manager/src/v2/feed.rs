//! ITI-8 Patient Identity Feed (ADT A01, A04, A05, A08, A40; HL7 v2.3.1 and v2.5) as received by
//! the PIX manager (ITI TF-2a 3.8).

use schemas::hl7v2::message::{AckCode, Message, Repetition, ack};
use schemas::hl7v2::refusal::{MessageError, check_version};

use super::{FEED_VERSIONS, V2Error, demographics_from_pid};
use crate::manager::PixManager;
use crate::matching::Demographics;
use crate::storage::{PatientKey, StorageError};

/// Trigger events that register or update a patient.
const REGISTER_EVENTS: &[&str] = &["A01", "A04", "A05", "A08"];
/// Trigger event of the merge.
const MERGE_EVENT: &str = "A40";

/// What an ITI-8 message asks of the PIX manager.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedRequest {
    /// A01/A04/A05/A08: the record `key` with these demographics.
    Register {
        key: PatientKey,
        demographics: Demographics,
    },
    /// A40: `subsumed` (MRG-1) is merged into `surviving` (PID-3).
    Merge {
        surviving: PatientKey,
        subsumed: PatientKey,
        demographics: Demographics,
    },
}

/// ITI-8: the request an ADT message makes. The identifier is the first PID-3 (MRG-1)
/// repetition carrying an id; its assigning authority (CX.4.2) must be a configured domain.
pub fn interpret_feed(msg: &Message, manager: &PixManager) -> Result<FeedRequest, V2Error> {
    let event = msg.trigger_event();
    let is_merge = event == MERGE_EVENT;
    if !is_merge && !REGISTER_EVENTS.contains(&event) {
        return Err(MessageError::UnsupportedEvent {
            found: event.to_owned(),
            note: " for ADT",
        }
        .into());
    }
    check_version(msg, FEED_VERSIONS, "")?;
    let pid = msg
        .segment("PID")
        .ok_or(MessageError::MissingSegment { segment: "PID" })?;
    let key = identifier(pid.field(3).map(|f| f.repetitions()), "PID", 3, manager)?;
    let demographics = demographics_from_pid(msg);
    if !is_merge {
        return Ok(FeedRequest::Register { key, demographics });
    }
    let mrg = msg
        .segment("MRG")
        .ok_or(MessageError::MissingSegment { segment: "MRG" })?;
    let subsumed = identifier(mrg.field(1).map(|f| f.repetitions()), "MRG", 1, manager)?;
    Ok(FeedRequest::Merge {
        surviving: key,
        subsumed,
        demographics,
    })
}

/// The first CX repetition with an id, as a key of a configured domain.
fn identifier(
    repetitions: Option<&[Repetition]>,
    segment: &'static str,
    field: usize,
    manager: &PixManager,
) -> Result<PatientKey, V2Error> {
    let cx = repetitions
        .unwrap_or_default()
        .iter()
        .find(|cx| !cx.value(1).trim().is_empty())
        .ok_or(MessageError::MissingField { segment, field })?;
    let domain = cx
        .component(4)
        .and_then(|authority| authority.subcomponent(2))
        .unwrap_or_default();
    if !manager.knows_domain(domain) {
        return Err(V2Error::UnknownDomain {
            segment,
            field,
            domain: domain.to_owned(),
        });
    }
    Ok(PatientKey::new(domain, cx.value(1).trim()))
}

/// ITI-8: interprets, applies (one database transaction) and acknowledges an ADT message.
pub(super) async fn handle(msg: &Message, manager: &PixManager) -> Result<Message, V2Error> {
    let outcome = match interpret_feed(msg, manager)? {
        FeedRequest::Register { key, demographics } => manager
            .feed(&key, &demographics)
            .await
            .map_err(|e| storage_error(e, "PID", 3))?,
        FeedRequest::Merge {
            surviving,
            subsumed,
            demographics,
        } => manager
            .merge(&surviving, &subsumed, &demographics)
            .await
            .map_err(|error| {
                if error.is_about(&surviving) {
                    storage_error(error, "PID", 3)
                } else {
                    storage_error(error, "MRG", 1)
                }
            })?,
    };
    tracing::info!(affinity_id = %outcome.affinity_id, "identity feed message applied");
    Ok(ack(msg, AckCode::AA, None))
}

/// An unknown or merged-away identifier is the sender's error (AE 204 at `segment`-`field`);
/// anything else is the manager's (AE 207).
fn storage_error(error: StorageError, segment: &'static str, field: usize) -> V2Error {
    match error {
        StorageError::UnknownRecord { .. } | StorageError::MergedRecord { .. } => {
            V2Error::UnknownIdentifier {
                segment,
                field,
                source: error,
            }
        }
        other => V2Error::Storage(other),
    }
}
