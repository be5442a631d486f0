//! Streaming MTOM writer: ITI-41 requests, ITI-43 and RAD-69 responses built part by part.

use std::fmt::Write as _;
use std::io;
use std::pin::Pin;

use bytes::Bytes;
use futures::{Stream, StreamExt, stream};

use super::{MtomError, SOAP_MEDIA_TYPE, XOP_MEDIA_TYPE, XOP_NAMESPACE};

/// The body of one attachment: any stream of bytes (a file, a PACS response, memory).
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, io::Error>> + Send>>;

/// One attachment of an MTOM package (a document referenced by `xop:Include`).
pub struct Attachment {
    /// Content-ID without angle brackets, as referenced by `xop_include`.
    pub content_id: String,
    /// MIME type of the document (its XDS `mimeType`).
    pub content_type: String,
    /// The document bytes, streamed.
    pub body: BodyStream,
}

impl Attachment {
    /// An attachment held in memory.
    pub fn from_bytes(
        content_id: impl Into<String>,
        content_type: impl Into<String>,
        body: Bytes,
    ) -> Self {
        Attachment {
            content_id: content_id.into(),
            content_type: content_type.into(),
            body: Box::pin(stream::once(async move { Ok(body) })),
        }
    }
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("content_id", &self.content_id)
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

/// Writes an MTOM package: a fresh boundary and root Content-ID, the HTTP Content-Type to send,
/// and the body as a stream.
#[derive(Debug, Clone)]
pub struct MtomWriter {
    boundary: String,
    root_content_id: String,
    action: Option<String>,
}

impl Default for MtomWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl MtomWriter {
    /// A writer with a UUID boundary and root Content-ID.
    pub fn new() -> Self {
        MtomWriter {
            boundary: format!("MIMEBoundary_{}", uuid::Uuid::new_v4().simple()),
            root_content_id: format!("root.{}", content_id()),
            action: None,
        }
    }

    /// Adds the SOAP 1.2 `action` parameter (e.g. `urn:ihe:iti:2007:RetrieveDocumentSetResponse`)
    /// to the HTTP Content-Type and to the root part's `type`.
    pub fn with_action(mut self, action: impl Into<String>) -> Result<Self, MtomError> {
        let action = action.into();
        if action.is_empty() || !action.bytes().all(is_quotable) {
            return Err(MtomError::InvalidHeaderValue {
                field: "action",
                value: action,
            });
        }
        self.action = Some(action);
        Ok(self)
    }

    /// The boundary of this package.
    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// The Content-ID of the root part (without angle brackets).
    pub fn root_content_id(&self) -> &str {
        &self.root_content_id
    }

    /// The HTTP `Content-Type` header value announcing this package.
    pub fn content_type(&self) -> String {
        let mut value = format!(
            "multipart/related; boundary=\"{}\"; type=\"{XOP_MEDIA_TYPE}\"; start=\"<{}>\"; start-info=\"{SOAP_MEDIA_TYPE}\"",
            self.boundary, self.root_content_id
        );
        if let Some(action) = &self.action {
            let _ = write!(value, "; action=\"{action}\"");
        }
        value
    }

    /// The body: the root part holding `root_xml` (the SOAP envelope, whose `xop:Include`s name
    /// the attachments), then each attachment streamed as it is polled, then the close delimiter.
    pub fn into_body(
        self,
        root_xml: String,
        attachments: Vec<Attachment>,
    ) -> Result<impl Stream<Item = Result<Bytes, io::Error>> + Send + 'static, MtomError> {
        let mut root_type = format!("{XOP_MEDIA_TYPE}; charset=UTF-8; type=\"{SOAP_MEDIA_TYPE}");
        if let Some(action) = &self.action {
            let _ = write!(root_type, "; action=\\\"{action}\\\"");
        }
        root_type.push('"');
        let root_head = self.part_head("", &self.root_content_id, &root_type);
        let mut segments: Vec<BodyStream> = Vec::with_capacity(2 * attachments.len() + 2);
        segments.push(Box::pin(stream::iter([
            Ok(Bytes::from(root_head)),
            Ok(Bytes::from(root_xml)),
        ])));
        for attachment in attachments {
            check_header_value("Content-ID", &attachment.content_id, true)?;
            check_header_value("Content-Type", &attachment.content_type, false)?;
            let head = self.part_head("\r\n", &attachment.content_id, &attachment.content_type);
            segments.push(Box::pin(stream::iter([Ok(Bytes::from(head))])));
            segments.push(attachment.body);
        }
        let close = format!("\r\n--{}--\r\n", self.boundary);
        segments.push(Box::pin(stream::iter([Ok(Bytes::from(close))])));
        Ok(stream::iter(segments).flatten())
    }

    fn part_head(&self, lead: &str, content_id: &str, content_type: &str) -> String {
        format!(
            "{lead}--{}\r\nContent-Type: {content_type}\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <{content_id}>\r\n\r\n",
            self.boundary
        )
    }
}

/// Mints a Content-ID (RFC 2392 `addr-spec` form, without angle brackets) for an attachment.
pub fn content_id() -> String {
    format!("{}@xds-i.hie", uuid::Uuid::new_v4())
}

/// The `xop:Include` element that references the attachment `content_id` (RFC 2392 `cid:` URL,
/// characters outside the URL-safe set percent-encoded).
pub fn xop_include(content_id: &str) -> String {
    let mut href = String::with_capacity(content_id.len() + 4);
    for byte in content_id.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$*+,;=:@".contains(&byte) {
            href.push(char::from(byte));
        } else {
            let _ = write!(href, "%{byte:02X}");
        }
    }
    format!("<xop:Include xmlns:xop=\"{XOP_NAMESPACE}\" href=\"cid:{href}\"/>")
}

/// The Content-ID named by an `xop:Include` `href` (`cid:` URL, percent-decoded); `None` when the
/// href is not a well-formed `cid:` URL.
pub fn cid_from_href(href: &str) -> Option<String> {
    let scheme = href.get(..4)?;
    if !scheme.eq_ignore_ascii_case("cid:") {
        return None;
    }
    let encoded = &href.as_bytes()[4..];
    let mut decoded = Vec::with_capacity(encoded.len());
    let mut at = 0;
    while at < encoded.len() {
        if encoded[at] == b'%' {
            let hex = std::str::from_utf8(encoded.get(at + 1..at + 3)?).ok()?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else {
            decoded.push(encoded[at]);
            at += 1;
        }
    }
    String::from_utf8(decoded).ok().filter(|id| !id.is_empty())
}

fn is_quotable(byte: u8) -> bool {
    (byte.is_ascii_graphic() || byte == b' ') && byte != b'"' && byte != b'\\'
}

/// Refuses values that would break out of a MIME header line (CR, LF, other controls).
fn check_header_value(field: &'static str, value: &str, is_id: bool) -> Result<(), MtomError> {
    let valid = !value.is_empty()
        && value.bytes().all(|b| {
            (b.is_ascii_graphic() || b == b' ') && !(is_id && (b == b'<' || b == b'>' || b == b' '))
        });
    if valid {
        Ok(())
    } else {
        Err(MtomError::InvalidHeaderValue {
            field,
            value: value.to_owned(),
        })
    }
}
