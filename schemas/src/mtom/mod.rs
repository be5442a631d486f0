//! MTOM/XOP (`multipart/related; type="application/xop+xml"`) reading and writing, streamed part by
//! part, for the SOAP 1.2 transactions that carry documents: ITI-41 Provide and Register Document
//! Set-b requests, ITI-43 Retrieve Document Set and RAD-69 Retrieve Imaging Document Set responses.
//!
//! - [`MultipartType`] / [`SoapContentType`]: the HTTP `Content-Type` of a SOAP request or response,
//!   telling a plain `application/soap+xml` envelope from an MTOM package.
//! - [`MtomReader`]: splits an HTTP body stream into the root part (the SOAP envelope, collected up
//!   to a limit) and the attachments, each handed out chunk by chunk as the body arrives, so memory
//!   stays bounded whatever the size of a document.
//! - [`MtomWriter`]: builds an MTOM body as a stream from the envelope and attachment streams.
//!
//! Wire rules applied (RFC 2046 §5.1.1, RFC 2387, XOP 1.0, SOAP 1.2 MTOM):
//! - a delimiter is `CRLF--boundary`; the CRLF belongs to the delimiter, not to the preceding part.
//!   The reader also accepts a bare `LF` before the boundary and at the end of header lines
//!   (liberal in what it accepts: hand-written and some scripted clients send LF-only bodies; a
//!   boundary of our peers is a UUID, so a bare-LF match inside binary data does not happen). The
//!   writer always emits CRLF.
//! - the preamble before the first delimiter and the epilogue after the close delimiter are ignored;
//!   transport padding (spaces, tabs) after a boundary is allowed.
//! - parts are read with `Content-Transfer-Encoding` `binary`, `8bit` or `7bit` (or none); MTOM
//!   requires binary parts, so `base64` and `quoted-printable` parts are refused with
//!   [`MtomError::UnsupportedTransferEncoding`] rather than decoded.

mod content_type;
mod reader;
mod writer;

#[cfg(test)]
mod tests;

pub use content_type::{ContentTypeError, MultipartType, SoapContentType};
pub use reader::{MtomReader, PartHeaders, ReaderLimits, RootPart};
pub use writer::{Attachment, BodyStream, MtomWriter, cid_from_href, content_id, xop_include};

/// Media type of the root part of an XOP package.
pub const XOP_MEDIA_TYPE: &str = "application/xop+xml";
/// Media type of a SOAP 1.2 envelope.
pub const SOAP_MEDIA_TYPE: &str = "application/soap+xml";
/// Namespace of the `xop:Include` element.
pub const XOP_NAMESPACE: &str = "http://www.w3.org/2004/08/xop/include";

/// Why an MTOM body could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum MtomError {
    #[error("MTOM body ended after {received} bytes, before the closing boundary delimiter")]
    Truncated { received: u64 },
    #[error("malformed MIME part headers: {0}")]
    MalformedHeaders(String),
    #[error("MIME part header block is larger than the limit of {limit} bytes")]
    HeadersTooLarge { limit: usize },
    #[error("boundary delimiter is followed by {found:?} instead of a line end or \"--\"")]
    MalformedDelimiter { found: String },
    #[error("the root part (SOAP envelope) is larger than the limit of {limit} bytes")]
    RootTooLarge { limit: usize },
    #[error(
        "the root part named by start=<{start}> must be the first MIME part, found Content-ID {found:?}"
    )]
    RootNotFirst {
        start: String,
        found: Option<String>,
    },
    #[error("the root part can only be read before any other part")]
    RootAlreadyRead,
    #[error("the MTOM body contains no MIME part")]
    NoRootPart,
    #[error(
        "part {content_id:?} uses Content-Transfer-Encoding {encoding:?}; MTOM parts must be binary"
    )]
    UnsupportedTransferEncoding {
        content_id: Option<String>,
        encoding: String,
    },
    #[error("reading the HTTP body failed: {0}")]
    Body(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("writing MIME part {content_id:?} to its sink failed: {source}")]
    Sink {
        content_id: Option<String>,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{field} {value:?} cannot be written in a MIME header (control character or angle bracket)"
    )]
    InvalidHeaderValue { field: &'static str, value: String },
}
