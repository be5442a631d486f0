//! Why an HL7 v2 receiver refuses a message for its header (MSH-9, MSH-12) or its structure, and
//! how that is acknowledged: each [`MessageError`] maps to an MSA-1 code and an ERR segment
//! (HL7 table 0357 code, ERR-2 location, text). The registry's identity feed and the PIX manager
//! both wrap it in their own error type, next to the refusals only they make (an unknown domain,
//! a failing store). [`ack_unparsable`] answers a frame that does not parse at all.

use super::message::{
    AckCode, Delimiters, ErrDetail, ErrorCode, ErrorLocation, Hl7Error, Hl7ErrorReason, Message,
    ack,
};

/// A refusal of a message for its header (AR) or its structure (AE).
///
/// The text of a header refusal ends with `note`, the receiver's word on what it takes, appended
/// as is: `": the identity feed takes ADT"`, `" for QBP"`, or empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// MSH-9.1 is not a message type the receiver takes (AR, 200 at MSH-9.1).
    #[error("unsupported message type {found:?} in MSH-9{note}")]
    UnsupportedMessageType { found: String, note: &'static str },
    /// MSH-9.2 is not a trigger event of the transaction (AR, 201 at MSH-9.2).
    #[error("unsupported trigger event {found:?} in MSH-9{note}")]
    UnsupportedEvent { found: String, note: &'static str },
    /// MSH-12 is not a version the transaction speaks (AR, 203 at MSH-12).
    #[error("unsupported HL7 version {found:?} in MSH-12{note}")]
    UnsupportedVersion { found: String, note: &'static str },
    /// A segment the message structure requires is absent (AE, 100).
    #[error("required segment {segment} is missing")]
    MissingSegment { segment: &'static str },
    /// A required field is empty (AE, 101 at the field).
    #[error("required field {segment}-{field} is empty")]
    MissingField { segment: &'static str, field: usize },
    /// A required identifier field (e.g. PID-3, MRG-1) has no repetition carrying an id (AE, 101
    /// at the field).
    #[error("required field {segment}-{field} carries no identifier")]
    MissingIdentifier { segment: &'static str, field: usize },
    /// The message could not be parsed (AE, 102 at the field the parser names).
    #[error("malformed HL7 v2 message: {0}")]
    Malformed(#[from] Hl7Error),
}

impl MessageError {
    /// MSA-1: AR for the header refusals (MSH-9, MSH-12), AE for the structural errors.
    pub fn ack_code(&self) -> AckCode {
        match self {
            MessageError::UnsupportedMessageType { .. }
            | MessageError::UnsupportedEvent { .. }
            | MessageError::UnsupportedVersion { .. } => AckCode::AR,
            _ => AckCode::AE,
        }
    }

    /// The ERR segment content: table 0357 code, location and this error's text.
    pub fn err_detail(&self) -> ErrDetail {
        let (code, location) = match self {
            MessageError::UnsupportedMessageType { .. } => (
                ErrorCode::UnsupportedMessageType,
                Some(ErrorLocation::component("MSH", 9, 1)),
            ),
            MessageError::UnsupportedEvent { .. } => (
                ErrorCode::UnsupportedEventCode,
                Some(ErrorLocation::component("MSH", 9, 2)),
            ),
            MessageError::UnsupportedVersion { .. } => (
                ErrorCode::UnsupportedVersionId,
                Some(ErrorLocation::field("MSH", 12)),
            ),
            MessageError::MissingSegment { .. } => (ErrorCode::SegmentSequenceError, None),
            MessageError::MissingField { segment, field }
            | MessageError::MissingIdentifier { segment, field } => (
                ErrorCode::RequiredFieldMissing,
                Some(ErrorLocation::field(segment, *field)),
            ),
            MessageError::Malformed(error) => (ErrorCode::DataTypeError, parse_location(error)),
        };
        ErrDetail::error(code, location, self.to_string())
    }
}

/// Checks MSH-12 of `msg` against `versions`; `note` ends the refusal's text.
pub fn check_version(
    msg: &Message,
    versions: &[&str],
    note: &'static str,
) -> Result<(), MessageError> {
    if versions.contains(&msg.version()) {
        Ok(())
    } else {
        Err(MessageError::UnsupportedVersion {
            found: msg.version().to_owned(),
            note,
        })
    }
}

/// The acknowledgment of a frame that does not parse as a whole, and its MSA-1 code.
///
/// A frame whose MSH reads but whose later segment is malformed is answered AE 102 echoing that
/// MSH. A frame whose MSH cannot be read cannot be echoed: the answer is a minimal ACK (empty
/// MSH-3..6 and MSA-2, processing id P, version 2.5) with AR and ERR 100 (no MSH segment) or 102
/// at MSH-2 (unreadable MSH-1/MSH-2).
pub fn ack_unparsable(frame: &[u8], error: Hl7Error) -> (AckCode, Message) {
    let (original, code, detail) = match first_segment(frame).map(Message::parse) {
        Some(Ok(header)) => (header, AckCode::AE, MessageError::from(error).err_detail()),
        _ => {
            let (code, location) = match error.reason {
                Hl7ErrorReason::MissingMsh => (ErrorCode::SegmentSequenceError, None),
                _ => (
                    ErrorCode::DataTypeError,
                    Some(ErrorLocation::field("MSH", 2)),
                ),
            };
            let text = format!("not an HL7 v2 message: {error}");
            (
                minimal_header(),
                AckCode::AR,
                ErrDetail::error(code, location, text),
            )
        }
    };
    (code, ack(&original, code, Some(&detail)))
}

/// The ERR-2 location of a parse error, when it names a real segment and field.
fn parse_location(error: &Hl7Error) -> Option<ErrorLocation> {
    let named = error.reason != Hl7ErrorReason::BadSegmentName
        && error.segment.len() == 3
        && error.field > 0;
    named.then(|| ErrorLocation::field(&error.segment, error.field))
}

/// The first segment of `frame` (after leading line breaks).
fn first_segment(frame: &[u8]) -> Option<&[u8]> {
    let start = frame.iter().position(|b| !matches!(b, b'\r' | b'\n'))?;
    let rest = &frame[start..];
    let end = rest
        .iter()
        .position(|b| matches!(b, b'\r' | b'\n'))
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Stands in for an unreadable MSH: processing id P, version 2.5.
fn minimal_header() -> Message {
    Message::builder()
        .field(11, "P")
        .field(12, "2.5")
        .build()
        .unwrap_or_else(|_| Message::new(Delimiters::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADT_A01_V25: &str =
        "MSH|^~\\&|ADT1|HOSP|PIX|IHE|20240115083000||ADT^A01^ADT_A01|MSG00001|P|2.5\r";

    /// Asserts the MSA-1 code and the v2.5 ERR segment of the ACK answering `error`.
    fn assert_acknowledged(error: MessageError, code: AckCode, err: &str) {
        assert_eq!(error.ack_code(), code);
        let original = Message::parse(ADT_A01_V25.as_bytes()).unwrap();
        let encoded = ack(&original, error.ack_code(), Some(&error.err_detail())).encode();
        let segment = encoded.split('\r').find(|s| s.starts_with("ERR"));
        assert_eq!(segment, Some(err));
    }

    fn malformed(segment: &str, field: usize, reason: Hl7ErrorReason) -> MessageError {
        MessageError::Malformed(Hl7Error {
            segment: segment.into(),
            field,
            reason,
        })
    }

    #[test]
    fn unsupported_message_type_is_ar_200_at_msh_9_1() {
        assert_acknowledged(
            MessageError::UnsupportedMessageType {
                found: "ORU".into(),
                note: ": the feed takes ADT",
            },
            AckCode::AR,
            "ERR||MSH^1^9^1^1|200^Unsupported message type^HL70357|E||||\
             unsupported message type \"ORU\" in MSH-9: the feed takes ADT",
        );
    }

    #[test]
    fn unsupported_event_is_ar_201_at_msh_9_2() {
        assert_acknowledged(
            MessageError::UnsupportedEvent {
                found: "A99".into(),
                note: " for ADT",
            },
            AckCode::AR,
            "ERR||MSH^1^9^1^2|201^Unsupported event code^HL70357|E||||\
             unsupported trigger event \"A99\" in MSH-9 for ADT",
        );
    }

    #[test]
    fn unsupported_version_is_ar_203_at_msh_12() {
        let msg = Message::parse(ADT_A01_V25.replace("|2.5\r", "|2.7\r").as_bytes()).unwrap();
        assert_acknowledged(
            check_version(&msg, &["2.3.1", "2.5"], "").unwrap_err(),
            AckCode::AR,
            "ERR||MSH^1^12|203^Unsupported version id^HL70357|E||||\
             unsupported HL7 version \"2.7\" in MSH-12",
        );
    }

    #[test]
    fn supported_version_passes() {
        let msg = Message::parse(ADT_A01_V25.as_bytes()).unwrap();
        assert_eq!(check_version(&msg, &["2.3.1", "2.5"], ""), Ok(()));
    }

    #[test]
    fn missing_segment_is_ae_100_without_location() {
        assert_acknowledged(
            MessageError::MissingSegment { segment: "PID" },
            AckCode::AE,
            "ERR|||100^Segment sequence error^HL70357|E||||required segment PID is missing",
        );
    }

    #[test]
    fn missing_field_is_ae_101_at_the_field() {
        assert_acknowledged(
            MessageError::MissingField {
                segment: "QPD",
                field: 3,
            },
            AckCode::AE,
            "ERR||QPD^1^3|101^Required field missing^HL70357|E||||required field QPD-3 is empty",
        );
    }

    #[test]
    fn missing_identifier_is_ae_101_at_the_field() {
        assert_acknowledged(
            MessageError::MissingIdentifier {
                segment: "MRG",
                field: 1,
            },
            AckCode::AE,
            "ERR||MRG^1^1|101^Required field missing^HL70357|E||||\
             required field MRG-1 carries no identifier",
        );
    }

    #[test]
    fn malformed_message_is_ae_102_at_the_field_the_parser_names() {
        let error = malformed("MSH", 2, Hl7ErrorReason::BadEncodingCharacters("^~".into()));
        assert_eq!(error.ack_code(), AckCode::AE);
        let detail = error.err_detail();
        assert_eq!(detail.code, ErrorCode::DataTypeError);
        assert_eq!(detail.location, Some(ErrorLocation::field("MSH", 2)));
        assert_eq!(
            detail.text,
            "malformed HL7 v2 message: HL7 v2 MSH-2: invalid encoding characters \"^~\""
        );
    }

    #[test]
    fn malformed_message_without_a_named_field_has_no_location() {
        for error in [
            malformed("pid", 0, Hl7ErrorReason::BadSegmentName),
            malformed("PID", 0, Hl7ErrorReason::SegmentNotFound),
            malformed("PIDX", 3, Hl7ErrorReason::BadSegmentName),
        ] {
            assert_eq!(error.err_detail().code, ErrorCode::DataTypeError);
            assert_eq!(error.err_detail().location, None, "{error}");
        }
    }

    /// The answer to `frame`, which does not parse.
    fn answer_unparsable(frame: &[u8]) -> (AckCode, Message) {
        ack_unparsable(frame, Message::parse(frame).unwrap_err())
    }

    #[test]
    fn frame_without_msh_is_ar_100_with_a_minimal_header() {
        let (code, answer) = answer_unparsable(b"PID|||1^^^&1.2&ISO\r");
        assert_eq!(code, AckCode::AR);
        let encoded = answer.encode();
        let segments: Vec<&str> = encoded.split('\r').collect();
        assert!(segments[0].starts_with("MSH|^~\\&|||||"), "{}", segments[0]);
        assert!(segments[0].ends_with("|P|2.5"), "{}", segments[0]);
        assert_eq!(segments[1], "MSA|AR|");
        let err = "ERR|||100^Segment sequence error^HL70357|E||||not an HL7 v2 message: ";
        assert!(segments[2].starts_with(err), "{}", segments[2]);
    }

    #[test]
    fn frame_with_unreadable_delimiters_is_ar_102_at_msh_2() {
        let (code, answer) = answer_unparsable(b"MSH|^|APP|FAC\r");
        assert_eq!(code, AckCode::AR);
        assert_eq!(answer.get("ERR-2"), Some("MSH"));
        assert_eq!(answer.get("ERR-2.3"), Some("2"));
        assert_eq!(answer.get("ERR-3"), Some("102"));
        let text = answer.get("ERR-8").unwrap_or_default();
        assert!(text.starts_with("not an HL7 v2 message: "), "{text}");
    }

    #[test]
    fn frame_with_readable_msh_and_malformed_segment_is_ae_102_echoing_the_msh() {
        let frame = format!("\n{ADT_A01_V25}pid|||1\r");
        let (code, answer) = answer_unparsable(frame.as_bytes());
        assert_eq!(code, AckCode::AE);
        assert_eq!(answer.get("MSA-1"), Some("AE"));
        assert_eq!(answer.get("MSA-2"), Some("MSG00001"));
        assert_eq!(answer.get("MSH-5"), Some("ADT1"));
        assert_eq!(answer.get("ERR-3"), Some("102"));
        let text = answer.get("ERR-8").unwrap_or_default();
        assert!(text.starts_with("malformed HL7 v2 message: "), "{text}");
    }
}
