//! SOAP 1.2 envelopes with WS-Addressing 1.0 headers, as profiled by IHE ITI TF-2 Appendix V.
//!
//! - [`read_envelope`] (services) and [`read_response_envelope`] (clients) check the envelope,
//!   read the addressing headers, enforce `mustUnderstand` and leave the [`XmlReader`] positioned
//!   right after the start of the first Body child, so body parsers continue with the same reader
//!   (and therefore see namespace prefixes declared on the Envelope).
//! - [`write_envelope`], [`envelope_prefix`] / [`ENVELOPE_SUFFIX`] and [`write_request_envelope`]
//!   write envelopes; bodies are written by the caller and must declare their own namespaces
//!   (only `env` and `wsa` are declared by the envelope).
//! - [`Fault`] is a SOAP 1.2 Fault; every [`SoapError`] maps to one.
//! - [`action`] lists the action URIs of the IHE transactions.

pub mod action;
mod fault;

pub use fault::{
    Fault, FaultCode, WSA_ACTION_NOT_SUPPORTED, WSA_INVALID_ADDRESSING_HEADER,
    WSA_MESSAGE_ADDRESSING_HEADER_REQUIRED,
};

use crate::xml::{Element, Limits, Node, QName, XmlError, XmlReader, escape};

/// SOAP 1.2 envelope namespace.
pub const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
/// SOAP 1.1 envelope namespace (refused with a VersionMismatch fault).
pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// WS-Addressing 1.0 namespace.
pub const WSA_NS: &str = "http://www.w3.org/2005/08/addressing";
/// WS-Addressing anonymous address: "reply on the HTTP back-channel".
pub const WSA_ANONYMOUS: &str = "http://www.w3.org/2005/08/addressing/anonymous";
/// wsa:Action of faults caused by WS-Addressing errors (WS-Addressing 1.0 SOAP binding §6).
pub const WSA_FAULT_ACTION: &str = "http://www.w3.org/2005/08/addressing/fault";
/// wsa:Action of other SOAP faults (WS-Addressing 1.0 SOAP binding §6).
pub const SOAP_FAULT_ACTION: &str = "http://www.w3.org/2005/08/addressing/soap/fault";
/// Media type of SOAP 1.2 messages (RFC 3902).
pub const SOAP12_MEDIA_TYPE: &str = "application/soap+xml";
/// Closing tags matching [`envelope_prefix`].
pub const ENVELOPE_SUFFIX: &str = "</env:Body></env:Envelope>";

const ROLE_NEXT: &str = "http://www.w3.org/2003/05/soap-envelope/role/next";
const ROLE_ULTIMATE_RECEIVER: &str =
    "http://www.w3.org/2003/05/soap-envelope/role/ultimateReceiver";

/// Why a SOAP message was refused; [`Fault::from`] turns each into the fault to answer.
#[derive(Debug, thiserror::Error)]
pub enum SoapError {
    #[error("malformed SOAP message: {0}")]
    Xml(#[from] XmlError),
    #[error("SOAP version mismatch: envelope in namespace {found:?}, only SOAP 1.2 is supported")]
    VersionMismatch { found: String },
    #[error("not a SOAP envelope: root element is <{found}>")]
    NotAnEnvelope { found: QName },
    #[error("unexpected <{found}> in the SOAP envelope")]
    UnexpectedElement { found: QName },
    #[error("the SOAP envelope has no Body")]
    MissingBody,
    #[error("the SOAP Body is empty")]
    EmptyBody,
    #[error("header block {header} is marked mustUnderstand and is not understood")]
    MustUnderstand { header: QName },
    #[error("the required WS-Addressing header wsa:Action is missing")]
    MissingAction,
    #[error("the WS-Addressing header wsa:{header} appears more than once")]
    DuplicateHeader { header: String },
    #[error("the action {action:?} is not supported by this endpoint")]
    ActionNotSupported { action: String },
    #[error("{0}")]
    Fault(Box<Fault>),
}

impl SoapError {
    /// The SOAP Fault answering this error.
    pub fn to_fault(&self) -> Fault {
        Fault::from(self)
    }
}

/// The WS-Addressing 1.0 message addressing properties of a received message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressingHeaders {
    /// wsa:Action (required by IHE).
    pub action: String,
    /// wsa:MessageID.
    pub message_id: Option<String>,
    /// wsa:To.
    pub to: Option<String>,
    /// wsa:ReplyTo/wsa:Address.
    pub reply_to: Option<String>,
    /// wsa:RelatesTo (the MessageID of the request a response answers).
    pub relates_to: Option<String>,
    /// wsa:From/wsa:Address.
    pub from: Option<String>,
    /// wsa:FaultTo/wsa:Address.
    pub fault_to: Option<String>,
}

/// A received SOAP message: its addressing headers and the reader positioned inside the Body.
pub struct SoapRequest<'a> {
    pub headers: AddressingHeaders,
    /// Positioned right after the start tag of [`SoapRequest::body`].
    pub reader: XmlReader<'a>,
    /// Start element of the first child of `env:Body`.
    pub body: Element<'a>,
}

/// Reads a SOAP 1.2 request envelope: ITI TF-2 Appendix V rules (wsa:Action required,
/// mustUnderstand enforced, SOAP 1.1 refused).
pub fn read_envelope<'a>(input: &'a [u8], limits: Limits) -> Result<SoapRequest<'a>, SoapError> {
    let (headers, reader, body) = read_parts(input, limits)?;
    let headers = headers.require_action()?;
    Ok(SoapRequest {
        headers,
        reader,
        body,
    })
}

/// Reads a SOAP 1.2 response envelope (client side); a `env:Fault` body is returned as
/// [`SoapError::Fault`].
pub fn read_response_envelope<'a>(
    input: &'a [u8],
    limits: Limits,
) -> Result<SoapRequest<'a>, SoapError> {
    let (headers, mut reader, body) = read_parts(input, limits)?;
    if body.is(SOAP12_NS, "Fault") {
        return Err(SoapError::Fault(Box::new(read_fault(&mut reader, &body)?)));
    }
    let headers = headers.require_action()?;
    Ok(SoapRequest {
        headers,
        reader,
        body,
    })
}

/// HTTP Content-Type of a SOAP 1.2 message with this action (RFC 3902 `action` parameter).
pub fn content_type(action: &str) -> String {
    format!("{SOAP12_MEDIA_TYPE}; charset=UTF-8; action=\"{action}\"")
}

/// A fresh WS-Addressing MessageID (`urn:uuid:` + random UUID).
pub fn new_message_id() -> String {
    format!("urn:uuid:{}", uuid::Uuid::new_v4())
}

/// Addressing headers of a response written by the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHeaders {
    /// wsa:Action of the response (see [`action`]).
    pub action: String,
    /// wsa:RelatesTo: the MessageID of the request.
    pub relates_to: Option<String>,
    /// wsa:MessageID of the response.
    pub message_id: String,
    /// wsa:To, omitted when `None`.
    pub to: Option<String>,
}

impl ResponseHeaders {
    /// Headers answering `request` with `action`: fresh MessageID, RelatesTo the request
    /// MessageID, To the request's ReplyTo unless it is the anonymous address.
    pub fn answering(request: &AddressingHeaders, action: &str) -> ResponseHeaders {
        ResponseHeaders {
            action: action.to_owned(),
            relates_to: request.message_id.clone(),
            message_id: new_message_id(),
            to: request
                .reply_to
                .clone()
                .filter(|address| address != WSA_ANONYMOUS),
        }
    }
}

/// A complete response envelope around `body` (an XML fragment declaring its own namespaces).
pub fn write_envelope(headers: &ResponseHeaders, body: &str) -> String {
    let mut out = envelope_prefix(headers);
    out.reserve(body.len() + ENVELOPE_SUFFIX.len());
    out.push_str(body);
    out.push_str(ENVELOPE_SUFFIX);
    out
}

/// Everything of a response envelope up to and including `<env:Body>`, so that a large body
/// can be streamed after it, followed by [`ENVELOPE_SUFFIX`].
pub fn envelope_prefix(headers: &ResponseHeaders) -> String {
    envelope_prefix_with(headers, "")
}

/// A request envelope as IHE ITI TF-2 Appendix V requires it (wsa:Action and wsa:To with
/// `mustUnderstand`, a fresh wsa:MessageID, wsa:ReplyTo anonymous). Returns the envelope and
/// its MessageID.
pub fn write_request_envelope(action: &str, to: &str, body: &str) -> (String, String) {
    let (mut out, message_id) = request_envelope_prefix(action, to);
    out.push_str(body);
    out.push_str(ENVELOPE_SUFFIX);
    (out, message_id)
}

/// The request envelope of [`write_request_envelope`] up to and including `<env:Body>`, for
/// streamed (e.g. MTOM) requests; close it with [`ENVELOPE_SUFFIX`]. Returns it and the MessageID.
pub fn request_envelope_prefix(action: &str, to: &str) -> (String, String) {
    let message_id = new_message_id();
    let mut out = String::with_capacity(512);
    out.push_str(&format!(
        "<env:Envelope xmlns:env=\"{SOAP12_NS}\" xmlns:wsa=\"{WSA_NS}\"><env:Header>"
    ));
    push_header(&mut out, "Action", action, true);
    push_header(&mut out, "MessageID", &message_id, false);
    out.push_str("<wsa:ReplyTo><wsa:Address>");
    out.push_str(WSA_ANONYMOUS);
    out.push_str("</wsa:Address></wsa:ReplyTo>");
    push_header(&mut out, "To", to, true);
    out.push_str("</env:Header><env:Body>");
    (out, message_id)
}

fn envelope_prefix_with(headers: &ResponseHeaders, extra_headers: &str) -> String {
    let mut out = String::with_capacity(512);
    out.push_str(&format!(
        "<env:Envelope xmlns:env=\"{SOAP12_NS}\" xmlns:wsa=\"{WSA_NS}\"><env:Header>"
    ));
    out.push_str(extra_headers);
    push_header(&mut out, "Action", &headers.action, true);
    push_header(&mut out, "MessageID", &headers.message_id, false);
    if let Some(relates_to) = &headers.relates_to {
        push_header(&mut out, "RelatesTo", relates_to, false);
    }
    if let Some(to) = &headers.to {
        push_header(&mut out, "To", to, false);
    }
    out.push_str("</env:Header><env:Body>");
    out
}

fn push_header(out: &mut String, name: &str, value: &str, must_understand: bool) {
    out.push_str("<wsa:");
    out.push_str(name);
    if must_understand {
        out.push_str(" env:mustUnderstand=\"true\"");
    }
    out.push('>');
    out.push_str(&escape(value));
    out.push_str("</wsa:");
    out.push_str(name);
    out.push('>');
}

/// Addressing headers as read, before the wsa:Action requirement is checked.
struct ReadHeaders {
    action: Option<String>,
    rest: AddressingHeaders,
}

impl ReadHeaders {
    fn require_action(self) -> Result<AddressingHeaders, SoapError> {
        let action = self
            .action
            .filter(|a| !a.is_empty())
            .ok_or(SoapError::MissingAction)?;
        Ok(AddressingHeaders {
            action,
            ..self.rest
        })
    }
}

fn read_parts(
    input: &[u8],
    limits: Limits,
) -> Result<(ReadHeaders, XmlReader<'_>, Element<'_>), SoapError> {
    let mut reader = XmlReader::new(input, limits)?;
    let root = reader.root()?;
    if root.name.local == "Envelope" && root.name.ns != SOAP12_NS {
        return Err(SoapError::VersionMismatch {
            found: root.name.ns.to_string(),
        });
    }
    if !root.is(SOAP12_NS, "Envelope") {
        return Err(SoapError::NotAnEnvelope {
            found: root.name.to_qname(),
        });
    }
    if root.empty {
        return Err(SoapError::MissingBody);
    }
    let mut headers = ReadHeaders {
        action: None,
        rest: AddressingHeaders::default(),
    };
    let mut child = reader.next_child()?.ok_or(SoapError::MissingBody)?;
    if child.is(SOAP12_NS, "Header") {
        read_header_blocks(&mut reader, &child, &mut headers)?;
        child = reader.next_child()?.ok_or(SoapError::MissingBody)?;
    }
    if !child.is(SOAP12_NS, "Body") {
        return Err(SoapError::UnexpectedElement {
            found: child.name.to_qname(),
        });
    }
    if child.empty {
        return Err(SoapError::EmptyBody);
    }
    let body = reader.next_child()?.ok_or(SoapError::EmptyBody)?;
    Ok((headers, reader, body))
}

fn read_header_blocks(
    reader: &mut XmlReader<'_>,
    header: &Element,
    headers: &mut ReadHeaders,
) -> Result<(), SoapError> {
    if header.empty {
        return Ok(());
    }
    while let Some(block) = reader.next_child()? {
        if block.name.ns == WSA_NS {
            let rest = &mut headers.rest;
            let (slot, name) = match block.name.local.as_str() {
                "Action" => (&mut headers.action, "Action"),
                "MessageID" => (&mut rest.message_id, "MessageID"),
                "To" => (&mut rest.to, "To"),
                "RelatesTo" => (&mut rest.relates_to, "RelatesTo"),
                "ReplyTo" => (&mut rest.reply_to, "ReplyTo"),
                "From" => (&mut rest.from, "From"),
                "FaultTo" => (&mut rest.fault_to, "FaultTo"),
                _ => {
                    not_understood(&block)?;
                    skip_element(reader, &block)?;
                    continue;
                }
            };
            if slot.is_some() {
                return Err(SoapError::DuplicateHeader {
                    header: name.to_owned(),
                });
            }
            let value = match name {
                "ReplyTo" | "From" | "FaultTo" => endpoint_address(reader, &block)?,
                _ => reader.text_of(&block)?,
            };
            *slot = Some(value.trim().to_owned());
        } else {
            not_understood(&block)?;
            skip_element(reader, &block)?;
        }
    }
    Ok(())
}

/// Fails when a header block targeted at this node is marked mustUnderstand (SOAP 1.2 Part 1
/// §5.2.3); blocks for other roles (or role "none") are ignored.
fn not_understood(block: &Element) -> Result<(), SoapError> {
    let must_understand = matches!(
        block.attr("mustUnderstand").map(str::trim),
        Some("true" | "1")
    );
    let targeted = matches!(
        block.attr("role").map(str::trim),
        None | Some(ROLE_NEXT | ROLE_ULTIMATE_RECEIVER)
    );
    if must_understand && targeted {
        return Err(SoapError::MustUnderstand {
            header: block.name.to_qname(),
        });
    }
    Ok(())
}

/// The wsa:Address of an endpoint reference (ReferenceParameters and Metadata are skipped).
fn endpoint_address(reader: &mut XmlReader<'_>, epr: &Element) -> Result<String, SoapError> {
    let mut address = String::new();
    if epr.empty {
        return Ok(address);
    }
    while let Some(child) = reader.next_child()? {
        if child.is(WSA_NS, "Address") {
            address = reader.text_of(&child)?;
        } else {
            skip_element(reader, &child)?;
        }
    }
    Ok(address)
}

fn read_fault(reader: &mut XmlReader<'_>, fault: &Element) -> Result<Fault, SoapError> {
    let mut out = Fault::new(FaultCode::Receiver, String::new());
    if fault.empty {
        return Ok(out);
    }
    while let Some(child) = reader.next_child()? {
        match child.name.local.as_str() {
            "Code" if child.name.ns == SOAP12_NS => read_fault_code(reader, &child, &mut out)?,
            "Reason" if child.name.ns == SOAP12_NS => {
                while let Some(text) = reader.next_child()? {
                    let value = all_text(reader, &text)?;
                    if out.reason.is_empty() {
                        out.reason = value.trim().to_owned();
                    }
                }
            }
            "Detail" if child.name.ns == SOAP12_NS => {
                let detail = all_text(reader, &child)?;
                let detail = detail.trim();
                if !detail.is_empty() {
                    out.detail = Some(detail.to_owned());
                }
            }
            _ => skip_element(reader, &child)?,
        }
    }
    Ok(out)
}

fn read_fault_code(
    reader: &mut XmlReader<'_>,
    code: &Element,
    out: &mut Fault,
) -> Result<(), SoapError> {
    if code.empty {
        return Ok(());
    }
    while let Some(child) = reader.next_child()? {
        if child.is(SOAP12_NS, "Value") {
            let value = reader.text_of(&child)?;
            out.code =
                FaultCode::from_local_name(&value).ok_or_else(|| XmlError::InvalidValue {
                    context: "env:Fault/env:Code/env:Value".into(),
                    value: value.clone(),
                })?;
        } else if child.is(SOAP12_NS, "Subcode") {
            while let Some(sub) = reader.next_child()? {
                if sub.is(SOAP12_NS, "Value") && out.subcode.is_none() {
                    let value = reader.text_of(&sub)?;
                    let local = value.trim().rsplit(':').next().unwrap_or_default();
                    out.subcode = Some((String::new(), local.to_owned()));
                } else {
                    skip_element(reader, &sub)?;
                }
            }
        } else {
            skip_element(reader, &child)?;
        }
    }
    Ok(())
}

/// All the text inside `element` (just returned as a start) and its descendants, consuming its
/// end.
fn all_text(reader: &mut XmlReader<'_>, element: &Element) -> Result<String, SoapError> {
    let mut out = String::new();
    walk_element(reader, element, |text| out.push_str(text))?;
    Ok(out)
}

/// Skips `element` (just returned as a start) and its descendants, consuming its end.
fn skip_element(reader: &mut XmlReader<'_>, element: &Element) -> Result<(), SoapError> {
    Ok(reader.skip(element)?)
}

/// Reads through `element` by counting start and end nodes, handing every text to `on_text`.
fn walk_element(
    reader: &mut XmlReader<'_>,
    element: &Element,
    mut on_text: impl FnMut(&str),
) -> Result<(), SoapError> {
    if element.empty {
        return Ok(());
    }
    let mut open = 1usize;
    while open > 0 {
        match reader.next_node()? {
            Some(Node::Start(child)) if !child.empty => open += 1,
            Some(Node::Start(_)) => {}
            Some(Node::End(_)) => open -= 1,
            Some(Node::Text(text)) => on_text(&text),
            None => return Err(XmlError::UnexpectedEof(element.name.local.to_string()).into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
