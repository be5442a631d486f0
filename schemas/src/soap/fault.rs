//! SOAP 1.2 Faults (SOAP 1.2 Part 1 §5.4) and the WS-Addressing 1.0 fault subcodes.

use super::{
    ResponseHeaders, SOAP_FAULT_ACTION, SOAP12_NS, SoapError, WSA_FAULT_ACTION, WSA_NS,
    envelope_prefix_with, new_message_id,
};
use crate::xml::{QName, escape};

/// The SOAP 1.2 fault code values (SOAP 1.2 Part 1 §5.4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultCode {
    /// The envelope is not in the SOAP 1.2 namespace.
    VersionMismatch,
    /// A header block with `mustUnderstand="true"` was not understood.
    MustUnderstand,
    /// A header or body uses an unsupported data encoding.
    DataEncodingUnknown,
    /// The message was malformed or lacked information: resending it unchanged will fail again.
    Sender,
    /// The message could not be processed for a reason not due to its contents.
    Receiver,
}

impl FaultCode {
    /// Local name of the code in the SOAP envelope namespace.
    pub fn local_name(self) -> &'static str {
        match self {
            FaultCode::VersionMismatch => "VersionMismatch",
            FaultCode::MustUnderstand => "MustUnderstand",
            FaultCode::DataEncodingUnknown => "DataEncodingUnknown",
            FaultCode::Sender => "Sender",
            FaultCode::Receiver => "Receiver",
        }
    }

    /// The code with this local name (the prefix of a `prefix:Sender` value is ignored).
    pub fn from_local_name(value: &str) -> Option<FaultCode> {
        let local = value.rsplit(':').next().unwrap_or(value).trim();
        match local {
            "VersionMismatch" => Some(FaultCode::VersionMismatch),
            "MustUnderstand" => Some(FaultCode::MustUnderstand),
            "DataEncodingUnknown" => Some(FaultCode::DataEncodingUnknown),
            "Sender" => Some(FaultCode::Sender),
            "Receiver" => Some(FaultCode::Receiver),
            _ => None,
        }
    }
}

/// WS-Addressing 1.0 SOAP binding §6.4: the message lacks a required addressing header.
pub const WSA_MESSAGE_ADDRESSING_HEADER_REQUIRED: &str = "MessageAddressingHeaderRequired";
/// WS-Addressing 1.0 SOAP binding §6.4: an addressing header is invalid (e.g. repeated).
pub const WSA_INVALID_ADDRESSING_HEADER: &str = "InvalidAddressingHeader";
/// WS-Addressing 1.0 SOAP binding §6.4: the wsa:Action is not supported by the endpoint.
pub const WSA_ACTION_NOT_SUPPORTED: &str = "ActionNotSupported";

/// A SOAP 1.2 Fault, as sent by the broker or received from a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: FaultCode,
    /// First-level subcode as (namespace, local name). When read from a peer the namespace of
    /// the subcode's QName value cannot be resolved and is left empty.
    pub subcode: Option<(String, String)>,
    /// Human-readable reason (`env:Reason/env:Text`, xml:lang="en").
    pub reason: String,
    /// Text carried in `env:Detail`, if any.
    pub detail: Option<String>,
    /// The header block that was not understood (written as `env:NotUnderstood`).
    pub not_understood: Option<QName>,
}

impl Fault {
    /// A fault with this code and reason, no subcode and no detail.
    pub fn new(code: FaultCode, reason: impl Into<String>) -> Fault {
        Fault {
            code,
            subcode: None,
            reason: reason.into(),
            detail: None,
            not_understood: None,
        }
    }

    /// A `Sender` fault with a WS-Addressing subcode (`wsa:ActionNotSupported`, ...).
    pub fn addressing(subcode: &str, reason: impl Into<String>, detail: Option<String>) -> Fault {
        Fault {
            code: FaultCode::Sender,
            subcode: Some((WSA_NS.to_owned(), subcode.to_owned())),
            reason: reason.into(),
            detail,
            not_understood: None,
        }
    }

    /// The wsa:Action of the fault message: the WS-Addressing fault action for WS-Addressing
    /// subcodes, the SOAP fault action otherwise.
    pub fn action(&self) -> &'static str {
        match &self.subcode {
            Some((ns, _)) if ns == WSA_NS => WSA_FAULT_ACTION,
            _ => SOAP_FAULT_ACTION,
        }
    }

    /// HTTP status of the fault per the SOAP 1.2 HTTP binding (Part 2 §7.5.1.2):
    /// 400 for Sender, 500 otherwise.
    pub fn http_status(&self) -> u16 {
        match self.code {
            FaultCode::Sender => 400,
            _ => 500,
        }
    }

    /// The fault as a complete SOAP 1.2 envelope answering the request with MessageID
    /// `relates_to`.
    pub fn to_envelope(&self, relates_to: Option<&str>) -> String {
        let headers = ResponseHeaders {
            action: self.action().to_owned(),
            relates_to: relates_to.map(str::to_owned),
            message_id: new_message_id(),
            to: None,
        };
        let mut extra = String::new();
        if let Some(header) = &self.not_understood {
            extra.push_str(&format!(
                "<env:NotUnderstood xmlns:nu=\"{}\" qname=\"nu:{}\"/>",
                escape(&header.ns),
                escape(&header.local)
            ));
        }
        if self.code == FaultCode::VersionMismatch {
            extra.push_str(&format!(
                "<env:Upgrade><env:SupportedEnvelope xmlns:up=\"{SOAP12_NS}\" qname=\"up:Envelope\"/></env:Upgrade>"
            ));
        }
        let mut out = envelope_prefix_with(&headers, &extra);
        out.push_str("<env:Fault><env:Code><env:Value>env:");
        out.push_str(self.code.local_name());
        out.push_str("</env:Value>");
        if let Some((ns, local)) = &self.subcode {
            out.push_str(&format!(
                "<env:Subcode><env:Value xmlns:sc=\"{}\">sc:{}</env:Value></env:Subcode>",
                escape(ns),
                escape(local)
            ));
        }
        out.push_str("</env:Code><env:Reason><env:Text xml:lang=\"en\">");
        out.push_str(&escape(&self.reason));
        out.push_str("</env:Text></env:Reason>");
        if let Some(detail) = &self.detail {
            out.push_str("<env:Detail>");
            out.push_str(&escape(detail));
            out.push_str("</env:Detail>");
        }
        out.push_str("</env:Fault>");
        out.push_str(super::ENVELOPE_SUFFIX);
        out
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SOAP fault {}", self.code.local_name())?;
        if let Some((_, local)) = &self.subcode {
            write!(f, "/{local}")?;
        }
        write!(f, ": {}", self.reason)?;
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

impl From<&SoapError> for Fault {
    fn from(error: &SoapError) -> Fault {
        let reason = error.to_string();
        match error {
            SoapError::Fault(fault) => (**fault).clone(),
            SoapError::VersionMismatch { .. } => Fault::new(FaultCode::VersionMismatch, reason),
            SoapError::MustUnderstand { header } => Fault {
                not_understood: Some(header.clone()),
                ..Fault::new(FaultCode::MustUnderstand, reason)
            },
            SoapError::MissingAction => Fault::addressing(
                WSA_MESSAGE_ADDRESSING_HEADER_REQUIRED,
                reason,
                Some("wsa:Action".to_owned()),
            ),
            SoapError::DuplicateHeader { header } => {
                Fault::addressing(WSA_INVALID_ADDRESSING_HEADER, reason, Some(header.clone()))
            }
            SoapError::ActionNotSupported { action } => {
                Fault::addressing(WSA_ACTION_NOT_SUPPORTED, reason, Some(action.clone()))
            }
            SoapError::Xml(_)
            | SoapError::NotAnEnvelope { .. }
            | SoapError::UnexpectedElement { .. }
            | SoapError::MissingBody
            | SoapError::EmptyBody => Fault::new(FaultCode::Sender, reason),
        }
    }
}
