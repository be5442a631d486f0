//! IHE message bodies around ebRIM: XDS.b (ITI-41 Provide and Register, ITI-43 Retrieve),
//! XDS-I.b (RAD-69 Retrieve Imaging Document Set) and RMD (ITI-86 Remove Documents).
//!
//! Same pattern as [`crate::ebrim`]: `read_*(r, start)` readers that take the hardened
//! [`XmlReader`] just after the start tag, `from_xml` for standalone documents, and
//! `write_xml`/`to_xml` writers whose message elements declare the namespaces they use.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::ebrim::{
    NS_LCM, NS_RS, RegistryResponse, SubmitObjectsRequest, expect_root, for_each_child,
    missing_child, read_registry_response, read_submit_objects_request, read_text, take_required,
    unexpected, write_attr, write_escaped, write_ns,
};
use crate::xml::{Element, Limits, Node, XmlError, XmlReader};

/// Namespace of the XDS.b repository messages (`xdsb:`).
pub const NS_XDSB: &str = "urn:ihe:iti:xds-b:2007";
/// Namespace of the XDS-I.b imaging document source messages (`xdsi:`).
pub const NS_XDSI: &str = "urn:ihe:rad:xdsi-b:2009";
/// Namespace of the Remove Metadata and Documents messages (`rmd:`).
pub const NS_RMD: &str = "urn:ihe:iti:rmd:2017";
/// Namespace of the XOP `Include` element that points at an MTOM attachment.
pub const NS_XOP: &str = "http://www.w3.org/2004/08/xop/include";

/// The bytes of a document: a reference to an MTOM part, or inline base64 content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentContent {
    /// `<xop:Include href="cid:..."/>`: the Content-ID of the MIME part (without `cid:`,
    /// percent-decoded).
    Include { content_id: String },
    /// base64 text content, decoded.
    Inline(Vec<u8>),
}

/// `xdsb:Document` of ITI-41: the content of the ExtrinsicObject with this id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub id: String,
    pub content: DocumentContent,
}

/// `xdsb:ProvideAndRegisterDocumentSetRequest` (ITI-41 Provide and Register Document Set-b).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProvideAndRegisterDocumentSetRequest {
    pub submit: SubmitObjectsRequest,
    pub documents: Vec<Document>,
}

/// `xdsb:DocumentRequest` (ITI-43, RAD-69, ITI-86): which document of which repository.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocumentRequest {
    pub home_community_id: Option<String>,
    pub repository_unique_id: String,
    pub document_unique_id: String,
}

/// `xdsb:RetrieveDocumentSetRequest` (ITI-43 Retrieve Document Set).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RetrieveDocumentSetRequest {
    pub requests: Vec<DocumentRequest>,
}

/// `xdsb:DocumentResponse` (ITI-43, RAD-69): one retrieved document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentResponse {
    pub home_community_id: Option<String>,
    pub repository_unique_id: String,
    pub document_unique_id: String,
    pub new_repository_unique_id: Option<String>,
    pub new_document_unique_id: Option<String>,
    pub mime_type: String,
    pub content: DocumentContent,
}

/// `xdsb:RetrieveDocumentSetResponse` (ITI-43 and RAD-69 answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrieveDocumentSetResponse {
    pub response: RegistryResponse,
    pub documents: Vec<DocumentResponse>,
}

/// `xdsi:SeriesRequest` (RAD-69): the instances wanted from one series.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeriesRequest {
    pub series_instance_uid: String,
    pub documents: Vec<DocumentRequest>,
}

/// `xdsi:StudyRequest` (RAD-69): the series wanted from one study.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StudyRequest {
    pub study_instance_uid: String,
    pub series: Vec<SeriesRequest>,
}

/// `xdsi:RetrieveImagingDocumentSetRequest` (RAD-69 Retrieve Imaging Document Set).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RetrieveImagingDocumentSetRequest {
    pub studies: Vec<StudyRequest>,
    pub transfer_syntax_uids: Vec<String>,
}

/// `rmd:RemoveDocumentsRequest` (ITI-86 Remove Documents; the answer is a `rs:RegistryResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemoveDocumentsRequest {
    pub documents: Vec<DocumentRequest>,
}

// ----------------------------------------------------------------------------------------------
// Reading
// ----------------------------------------------------------------------------------------------

/// ITI-41 `xdsb:ProvideAndRegisterDocumentSetRequest`.
pub fn read_provide_and_register_document_set_request(
    r: &mut XmlReader<'_>,
    start: &Element,
) -> Result<ProvideAndRegisterDocumentSetRequest, XmlError> {
    let mut submit = None;
    let mut documents = Vec::new();
    for_each_child(r, start, |r, mut child| {
        if child.is(NS_LCM, "SubmitObjectsRequest") {
            submit = Some(read_submit_objects_request(r, &child)?);
        } else if child.is(NS_XDSB, "Document") {
            let id = take_required(&mut child, "id")?;
            let content = read_document_content(r, &child)?;
            documents.push(Document { id, content });
        } else {
            return Err(unexpected(start, &child));
        }
        Ok(())
    })?;
    let submit = submit.ok_or_else(|| missing_child(start, "lcm:SubmitObjectsRequest"))?;
    Ok(ProvideAndRegisterDocumentSetRequest { submit, documents })
}

/// ITI-43 `xdsb:RetrieveDocumentSetRequest` (at least one DocumentRequest).
pub fn read_retrieve_document_set_request(
    r: &mut XmlReader<'_>,
    start: &Element,
) -> Result<RetrieveDocumentSetRequest, XmlError> {
    Ok(RetrieveDocumentSetRequest {
        requests: read_document_requests(r, start)?,
    })
}

/// ITI-43 / RAD-69 `xdsb:RetrieveDocumentSetResponse`.
pub fn read_retrieve_document_set_response(
    r: &mut XmlReader<'_>,
    start: &Element,
) -> Result<RetrieveDocumentSetResponse, XmlError> {
    let mut response = None;
    let mut documents = Vec::new();
    for_each_child(r, start, |r, child| {
        if child.is(NS_RS, "RegistryResponse") {
            response = Some(read_registry_response(r, &child)?);
        } else if child.is(NS_XDSB, "DocumentResponse") {
            documents.push(read_document_response(r, &child)?);
        } else {
            return Err(unexpected(start, &child));
        }
        Ok(())
    })?;
    let response = response.ok_or_else(|| missing_child(start, "rs:RegistryResponse"))?;
    Ok(RetrieveDocumentSetResponse {
        response,
        documents,
    })
}

/// RAD-69 `xdsi:RetrieveImagingDocumentSetRequest`.
pub fn read_retrieve_imaging_document_set_request(
    r: &mut XmlReader<'_>,
    start: &Element,
) -> Result<RetrieveImagingDocumentSetRequest, XmlError> {
    let mut studies = Vec::new();
    let mut transfer_syntax_uids = None;
    for_each_child(r, start, |r, mut child| {
        if child.is(NS_XDSI, "StudyRequest") {
            let study_instance_uid = take_required(&mut child, "studyInstanceUID")?;
            let mut series = Vec::new();
            for_each_child(r, &child, |r, mut grandchild| {
                if !grandchild.is(NS_XDSI, "SeriesRequest") {
                    return Err(unexpected(&child, &grandchild));
                }
                series.push(SeriesRequest {
                    series_instance_uid: take_required(&mut grandchild, "seriesInstanceUID")?,
                    documents: read_document_requests(r, &grandchild)?,
                });
                Ok(())
            })?;
            if series.is_empty() {
                return Err(missing_child(&child, "xdsi:SeriesRequest"));
            }
            studies.push(StudyRequest {
                study_instance_uid,
                series,
            });
        } else if child.is(NS_XDSI, "TransferSyntaxUIDList") {
            let mut uids = Vec::new();
            for_each_child(r, &child, |r, uid| {
                if uid.is(NS_XDSI, "TransferSyntaxUID") {
                    uids.push(trimmed_text(r, &uid)?);
                    Ok(())
                } else {
                    Err(unexpected(&child, &uid))
                }
            })?;
            if uids.is_empty() {
                return Err(missing_child(&child, "xdsi:TransferSyntaxUID"));
            }
            transfer_syntax_uids = Some(uids);
        } else {
            return Err(unexpected(start, &child));
        }
        Ok(())
    })?;
    if studies.is_empty() {
        return Err(missing_child(start, "xdsi:StudyRequest"));
    }
    let transfer_syntax_uids =
        transfer_syntax_uids.ok_or_else(|| missing_child(start, "xdsi:TransferSyntaxUIDList"))?;
    Ok(RetrieveImagingDocumentSetRequest {
        studies,
        transfer_syntax_uids,
    })
}

/// ITI-86 `rmd:RemoveDocumentsRequest` (at least one DocumentRequest).
pub fn read_remove_documents_request(
    r: &mut XmlReader<'_>,
    start: &Element,
) -> Result<RemoveDocumentsRequest, XmlError> {
    Ok(RemoveDocumentsRequest {
        documents: read_document_requests(r, start)?,
    })
}

macro_rules! from_xml {
    ($ty:ty, $ns:expr, $local:literal, $read:ident, $doc:literal) => {
        impl $ty {
            #[doc = $doc]
            pub fn from_xml(input: &[u8], limits: Limits) -> Result<Self, XmlError> {
                let mut r = XmlReader::new(input, limits)?;
                let root = r.root()?;
                expect_root(&root, $ns, $local)?;
                $read(&mut r, &root)
            }
        }
    };
}

from_xml!(
    ProvideAndRegisterDocumentSetRequest,
    NS_XDSB,
    "ProvideAndRegisterDocumentSetRequest",
    read_provide_and_register_document_set_request,
    "Reads a standalone ITI-41 `xdsb:ProvideAndRegisterDocumentSetRequest` document."
);
from_xml!(
    RetrieveDocumentSetRequest,
    NS_XDSB,
    "RetrieveDocumentSetRequest",
    read_retrieve_document_set_request,
    "Reads a standalone ITI-43 `xdsb:RetrieveDocumentSetRequest` document."
);
from_xml!(
    RetrieveDocumentSetResponse,
    NS_XDSB,
    "RetrieveDocumentSetResponse",
    read_retrieve_document_set_response,
    "Reads a standalone ITI-43 / RAD-69 `xdsb:RetrieveDocumentSetResponse` document."
);
from_xml!(
    RetrieveImagingDocumentSetRequest,
    NS_XDSI,
    "RetrieveImagingDocumentSetRequest",
    read_retrieve_imaging_document_set_request,
    "Reads a standalone RAD-69 `xdsi:RetrieveImagingDocumentSetRequest` document."
);
from_xml!(
    RemoveDocumentsRequest,
    NS_RMD,
    "RemoveDocumentsRequest",
    read_remove_documents_request,
    "Reads a standalone ITI-86 `rmd:RemoveDocumentsRequest` document."
);

/// The `xdsb:DocumentRequest` children of `parent` (one at least).
fn read_document_requests(
    r: &mut XmlReader<'_>,
    parent: &Element,
) -> Result<Vec<DocumentRequest>, XmlError> {
    let mut requests = Vec::new();
    for_each_child(r, parent, |r, child| {
        if child.is(NS_XDSB, "DocumentRequest") {
            requests.push(read_document_request(r, &child)?);
            Ok(())
        } else {
            Err(unexpected(parent, &child))
        }
    })?;
    if requests.is_empty() {
        return Err(missing_child(parent, "xdsb:DocumentRequest"));
    }
    Ok(requests)
}

fn read_document_request(r: &mut XmlReader<'_>, el: &Element) -> Result<DocumentRequest, XmlError> {
    let mut home = None;
    let mut repository = None;
    let mut document = None;
    for_each_child(r, el, |r, child| {
        let slot = match (child.name.ns == NS_XDSB, child.name.local.as_str()) {
            (true, "HomeCommunityId") => &mut home,
            (true, "RepositoryUniqueId") => &mut repository,
            (true, "DocumentUniqueId") => &mut document,
            _ => return Err(unexpected(el, &child)),
        };
        *slot = Some(trimmed_text(r, &child)?);
        Ok(())
    })?;
    Ok(DocumentRequest {
        home_community_id: home,
        repository_unique_id: repository
            .ok_or_else(|| missing_child(el, "xdsb:RepositoryUniqueId"))?,
        document_unique_id: document.ok_or_else(|| missing_child(el, "xdsb:DocumentUniqueId"))?,
    })
}

fn read_document_response(
    r: &mut XmlReader<'_>,
    el: &Element,
) -> Result<DocumentResponse, XmlError> {
    let mut home = None;
    let mut repository = None;
    let mut document = None;
    let mut new_repository = None;
    let mut new_document = None;
    let mut mime_type = None;
    let mut content = None;
    for_each_child(r, el, |r, child| {
        if child.name.ns != NS_XDSB {
            return Err(unexpected(el, &child));
        }
        let slot = match child.name.local.as_str() {
            "HomeCommunityId" => &mut home,
            "RepositoryUniqueId" => &mut repository,
            "DocumentUniqueId" => &mut document,
            "NewRepositoryUniqueId" => &mut new_repository,
            "NewDocumentUniqueId" => &mut new_document,
            "mimeType" => &mut mime_type,
            "Document" => {
                content = Some(read_document_content(r, &child)?);
                return Ok(());
            }
            _ => return Err(unexpected(el, &child)),
        };
        *slot = Some(trimmed_text(r, &child)?);
        Ok(())
    })?;
    Ok(DocumentResponse {
        home_community_id: home,
        repository_unique_id: repository
            .ok_or_else(|| missing_child(el, "xdsb:RepositoryUniqueId"))?,
        document_unique_id: document.ok_or_else(|| missing_child(el, "xdsb:DocumentUniqueId"))?,
        new_repository_unique_id: new_repository,
        new_document_unique_id: new_document,
        mime_type: mime_type.ok_or_else(|| missing_child(el, "xdsb:mimeType"))?,
        content: content.ok_or_else(|| missing_child(el, "xdsb:Document"))?,
    })
}

/// Text content without surrounding whitespace (identifiers, UIDs, MIME types).
fn trimmed_text(r: &mut XmlReader<'_>, el: &Element) -> Result<String, XmlError> {
    let text = read_text(r, el)?;
    let trimmed = text.trim();
    Ok(if trimmed.len() == text.len() {
        text
    } else {
        trimmed.to_owned()
    })
}

/// The content of an `xdsb:Document`: exactly one of an `xop:Include` child or base64 text.
fn read_document_content(r: &mut XmlReader<'_>, el: &Element) -> Result<DocumentContent, XmlError> {
    let mut text = String::new();
    let mut include = None;
    if !el.empty {
        loop {
            match r.next_node()? {
                Some(Node::Text(t)) => {
                    if text.is_empty() {
                        text = t.into_owned();
                    } else {
                        text.push_str(&t);
                    }
                }
                Some(Node::Start(child)) => {
                    if !child.is(NS_XOP, "Include") || include.is_some() {
                        return Err(unexpected(el, &child));
                    }
                    include = Some(content_id_of_href(child.required_attr("href")?)?);
                    r.skip(&child)?;
                }
                Some(Node::End(_)) => break,
                None => return Err(XmlError::UnexpectedEof(el.name.local.to_string())),
            }
        }
    }
    let has_text = text.bytes().any(|b| !b.is_ascii_whitespace());
    match (include, has_text) {
        (Some(content_id), false) => Ok(DocumentContent::Include { content_id }),
        (None, true) => Ok(DocumentContent::Inline(decode_base64(&text)?)),
        (Some(_), true) => Err(XmlError::InvalidValue {
            context: format!(
                "<{}>: both an xop:Include and inline base64 content",
                el.name.local
            ),
            value: text,
        }),
        (None, false) => Err(missing_child(el, "xop:Include or base64 content")),
    }
}

fn decode_base64(text: &str) -> Result<Vec<u8>, XmlError> {
    let invalid = |e: base64::DecodeError| XmlError::InvalidValue {
        context: format!("base64 document content ({e})"),
        value: text.chars().take(64).collect(),
    };
    if text.bytes().any(|b| b.is_ascii_whitespace()) {
        let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        BASE64.decode(compact).map_err(invalid)
    } else {
        BASE64.decode(text).map_err(invalid)
    }
}

/// The Content-ID named by a `cid:` URL (RFC 2392): prefix removed, percent-decoded.
fn content_id_of_href(href: &str) -> Result<String, XmlError> {
    let invalid = || XmlError::InvalidValue {
        context: "xop:Include href (expected a cid: URL)".into(),
        value: href.to_owned(),
    };
    let href = href.trim();
    let encoded = match href.get(..4) {
        Some(scheme) if scheme.eq_ignore_ascii_case("cid:") => &href[4..],
        _ => return Err(invalid()),
    };
    let bytes = encoded.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or_else(invalid)?;
            let hex = std::str::from_utf8(hex).map_err(|_| invalid())?;
            decoded.push(u8::from_str_radix(hex, 16).map_err(|_| invalid())?);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    let content_id = String::from_utf8(decoded).map_err(|_| invalid())?;
    if content_id.is_empty() {
        return Err(invalid());
    }
    Ok(content_id)
}

// ----------------------------------------------------------------------------------------------
// Writing
// ----------------------------------------------------------------------------------------------

macro_rules! to_xml {
    ($ty:ty, $doc:literal, |$s:ident| $capacity:expr) => {
        impl $ty {
            #[doc = $doc]
            pub fn to_xml(&self) -> String {
                let $s = self;
                let mut out = String::with_capacity($capacity);
                self.write_xml(&mut out);
                out
            }
        }
    };
}

impl ProvideAndRegisterDocumentSetRequest {
    /// Appends this ITI-41 `xdsb:ProvideAndRegisterDocumentSetRequest`.
    pub fn write_xml(&self, out: &mut String) {
        out.push_str("<xdsb:ProvideAndRegisterDocumentSetRequest");
        write_ns(out, "xdsb", NS_XDSB);
        out.push('>');
        self.submit.write_xml(out);
        for document in &self.documents {
            out.push_str("<xdsb:Document");
            write_attr(out, "id", &document.id);
            out.push('>');
            write_content(out, &document.content);
            out.push_str("</xdsb:Document>");
        }
        out.push_str("</xdsb:ProvideAndRegisterDocumentSetRequest>");
    }
}
to_xml!(
    ProvideAndRegisterDocumentSetRequest,
    "This ITI-41 request as a standalone document.",
    |s| 8 * 1024 + s.documents.iter().map(content_len).sum::<usize>()
);

impl RetrieveDocumentSetRequest {
    /// Appends this ITI-43 `xdsb:RetrieveDocumentSetRequest`.
    pub fn write_xml(&self, out: &mut String) {
        out.push_str("<xdsb:RetrieveDocumentSetRequest");
        write_ns(out, "xdsb", NS_XDSB);
        out.push('>');
        for request in &self.requests {
            write_document_request(out, request);
        }
        out.push_str("</xdsb:RetrieveDocumentSetRequest>");
    }
}
to_xml!(
    RetrieveDocumentSetRequest,
    "This ITI-43 request as a standalone document.",
    |s| 128 + 256 * s.requests.len()
);

impl RetrieveDocumentSetResponse {
    /// Appends this ITI-43 / RAD-69 `xdsb:RetrieveDocumentSetResponse`.
    pub fn write_xml(&self, out: &mut String) {
        out.push_str("<xdsb:RetrieveDocumentSetResponse");
        write_ns(out, "xdsb", NS_XDSB);
        out.push('>');
        self.response.write_xml(out);
        for d in &self.documents {
            out.push_str("<xdsb:DocumentResponse>");
            write_text_element(out, "xdsb:HomeCommunityId", d.home_community_id.as_deref());
            write_text_element(
                out,
                "xdsb:RepositoryUniqueId",
                Some(&d.repository_unique_id),
            );
            write_text_element(out, "xdsb:DocumentUniqueId", Some(&d.document_unique_id));
            write_text_element(
                out,
                "xdsb:NewRepositoryUniqueId",
                d.new_repository_unique_id.as_deref(),
            );
            write_text_element(
                out,
                "xdsb:NewDocumentUniqueId",
                d.new_document_unique_id.as_deref(),
            );
            write_text_element(out, "xdsb:mimeType", Some(&d.mime_type));
            out.push_str("<xdsb:Document>");
            write_content(out, &d.content);
            out.push_str("</xdsb:Document></xdsb:DocumentResponse>");
        }
        out.push_str("</xdsb:RetrieveDocumentSetResponse>");
    }
}
to_xml!(
    RetrieveDocumentSetResponse,
    "This ITI-43 / RAD-69 response as a standalone document.",
    |s| 1024
        + s.documents
            .iter()
            .map(|d| 512 + content_len_of(&d.content))
            .sum::<usize>()
);

impl RetrieveImagingDocumentSetRequest {
    /// Appends this RAD-69 `xdsi:RetrieveImagingDocumentSetRequest`.
    pub fn write_xml(&self, out: &mut String) {
        out.push_str("<xdsi:RetrieveImagingDocumentSetRequest");
        write_ns(out, "xdsi", NS_XDSI);
        write_ns(out, "xdsb", NS_XDSB);
        out.push('>');
        for study in &self.studies {
            out.push_str("<xdsi:StudyRequest");
            write_attr(out, "studyInstanceUID", &study.study_instance_uid);
            out.push('>');
            for series in &study.series {
                out.push_str("<xdsi:SeriesRequest");
                write_attr(out, "seriesInstanceUID", &series.series_instance_uid);
                out.push('>');
                for request in &series.documents {
                    write_document_request(out, request);
                }
                out.push_str("</xdsi:SeriesRequest>");
            }
            out.push_str("</xdsi:StudyRequest>");
        }
        out.push_str("<xdsi:TransferSyntaxUIDList>");
        for uid in &self.transfer_syntax_uids {
            write_text_element(out, "xdsi:TransferSyntaxUID", Some(uid));
        }
        out.push_str("</xdsi:TransferSyntaxUIDList></xdsi:RetrieveImagingDocumentSetRequest>");
    }
}
to_xml!(
    RetrieveImagingDocumentSetRequest,
    "This RAD-69 request as a standalone document.",
    |s| 512 + 512 * s.studies.len()
);

impl RemoveDocumentsRequest {
    /// Appends this ITI-86 `rmd:RemoveDocumentsRequest`.
    pub fn write_xml(&self, out: &mut String) {
        out.push_str("<rmd:RemoveDocumentsRequest");
        write_ns(out, "rmd", NS_RMD);
        write_ns(out, "xdsb", NS_XDSB);
        out.push('>');
        for request in &self.documents {
            write_document_request(out, request);
        }
        out.push_str("</rmd:RemoveDocumentsRequest>");
    }
}
to_xml!(
    RemoveDocumentsRequest,
    "This ITI-86 request as a standalone document.",
    |s| 128 + 256 * s.documents.len()
);

fn content_len(document: &Document) -> usize {
    content_len_of(&document.content)
}

fn content_len_of(content: &DocumentContent) -> usize {
    match content {
        DocumentContent::Include { content_id } => 128 + content_id.len(),
        DocumentContent::Inline(bytes) => bytes.len().div_ceil(3) * 4,
    }
}

fn write_document_request(out: &mut String, request: &DocumentRequest) {
    out.push_str("<xdsb:DocumentRequest>");
    write_text_element(
        out,
        "xdsb:HomeCommunityId",
        request.home_community_id.as_deref(),
    );
    write_text_element(
        out,
        "xdsb:RepositoryUniqueId",
        Some(&request.repository_unique_id),
    );
    write_text_element(
        out,
        "xdsb:DocumentUniqueId",
        Some(&request.document_unique_id),
    );
    out.push_str("</xdsb:DocumentRequest>");
}

fn write_text_element(out: &mut String, tag: &str, text: Option<&str>) {
    if let Some(text) = text {
        out.push('<');
        out.push_str(tag);
        out.push('>');
        write_escaped(out, text);
        out.push_str("</");
        out.push_str(tag);
        out.push('>');
    }
}

/// Writes the content of an `xdsb:Document`: an `xop:Include` or base64 text.
fn write_content(out: &mut String, content: &DocumentContent) {
    match content {
        DocumentContent::Include { content_id } => {
            out.push_str("<xop:Include");
            write_ns(out, "xop", NS_XOP);
            out.push_str(" href=\"cid:");
            write_escaped(out, &percent_encode_content_id(content_id));
            out.push_str("\"/>");
        }
        DocumentContent::Inline(bytes) => BASE64.encode_string(bytes, out),
    }
}

/// Percent-encodes the characters of a Content-ID that a `cid:` URL may not carry (RFC 2392).
fn percent_encode_content_id(content_id: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut encoded = String::with_capacity(content_id.len());
    for &b in content_id.as_bytes() {
        let safe = b.is_ascii_alphanumeric() || b"-._~@!$&'()*+,;=:".contains(&b);
        if safe {
            encoded.push(char::from(b));
        } else {
            encoded.push('%');
            encoded.push(char::from(HEX[usize::from(b >> 4)]));
            encoded.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ebrim::{
        ExtrinsicObject, Identifiable, NS_RIM, RegistryError, RegistryObject, RegistryObjectList,
        ResponseStatus, Severity,
    };

    fn limits() -> Limits {
        Limits::default()
    }

    fn document_request(n: u32) -> DocumentRequest {
        DocumentRequest {
            home_community_id: n.is_multiple_of(2).then(|| "urn:oid:1.2.3".to_owned()),
            repository_unique_id: "1.3.6.1.4.1.21367.2010.1.2.1125".into(),
            document_unique_id: format!("2.25.{n}"),
        }
    }

    fn pnr(documents: Vec<Document>) -> ProvideAndRegisterDocumentSetRequest {
        ProvideAndRegisterDocumentSetRequest {
            submit: SubmitObjectsRequest {
                objects: RegistryObjectList {
                    objects: vec![Identifiable::ExtrinsicObject(ExtrinsicObject {
                        object: RegistryObject {
                            id: "Document01".into(),
                            ..RegistryObject::default()
                        },
                        mime_type: Some("application/dicom".into()),
                        ..ExtrinsicObject::default()
                    })],
                },
                ..SubmitObjectsRequest::default()
            },
            documents,
        }
    }

    fn pnr_with_document(document: &str) -> Result<ProvideAndRegisterDocumentSetRequest, XmlError> {
        let xml = format!(
            r#"<p:ProvideAndRegisterDocumentSetRequest xmlns:p="{NS_XDSB}" xmlns:l="{NS_LCM}" xmlns:r="{NS_RIM}" xmlns:inc="{NS_XOP}"><l:SubmitObjectsRequest><r:RegistryObjectList/></l:SubmitObjectsRequest>{document}</p:ProvideAndRegisterDocumentSetRequest>"#
        );
        ProvideAndRegisterDocumentSetRequest::from_xml(xml.as_bytes(), limits())
    }

    #[test]
    fn provide_and_register_round_trips() {
        let request = pnr(vec![
            Document {
                id: "Document01".into(),
                content: DocumentContent::Inline(b"\x00\x01binary & <text>".to_vec()),
            },
            Document {
                id: "Document02".into(),
                content: DocumentContent::Include {
                    content_id: "1.urn:uuid:abc@example.org".into(),
                },
            },
            Document {
                id: "Document03".into(),
                content: DocumentContent::Include {
                    content_id: "part <3> with spaces/% & \"quotes\"".into(),
                },
            },
        ]);
        let xml = request.to_xml();
        assert_eq!(
            ProvideAndRegisterDocumentSetRequest::from_xml(xml.as_bytes(), limits()).unwrap(),
            request
        );
    }

    #[test]
    fn inline_base64_document_is_decoded() {
        let request =
            pnr_with_document("<p:Document id=\"Document01\">aGVs\n  bG8=\n</p:Document>").unwrap();
        assert_eq!(
            request.documents[0].content,
            DocumentContent::Inline(b"hello".to_vec())
        );
    }

    #[test]
    fn xop_include_gives_the_percent_decoded_content_id() {
        let request = pnr_with_document(
            r#"<p:Document id="Document01">
                 <inc:Include href="cid:1.urn%3Auuid%3Aabc%40example.org"/>
               </p:Document>"#,
        )
        .unwrap();
        assert_eq!(
            request.documents[0].content,
            DocumentContent::Include {
                content_id: "1.urn:uuid:abc@example.org".into()
            }
        );
    }

    #[test]
    fn xop_include_without_cid_scheme_is_invalid_value() {
        assert!(matches!(
            pnr_with_document(
                r#"<p:Document id="d"><inc:Include href="http://x/y"/></p:Document>"#
            ),
            Err(XmlError::InvalidValue { .. })
        ));
    }

    #[test]
    fn document_with_both_include_and_text_is_invalid_value() {
        assert!(matches!(
            pnr_with_document(
                r#"<p:Document id="d">aGVsbG8=<inc:Include href="cid:a"/></p:Document>"#
            ),
            Err(XmlError::InvalidValue { .. })
        ));
    }

    #[test]
    fn document_with_neither_include_nor_text_is_missing_element() {
        assert!(matches!(
            pnr_with_document(r#"<p:Document id="d"> </p:Document>"#),
            Err(XmlError::MissingElement { .. })
        ));
        assert!(matches!(
            pnr_with_document(r#"<p:Document id="d"/>"#),
            Err(XmlError::MissingElement { .. })
        ));
    }

    #[test]
    fn invalid_base64_is_invalid_value() {
        assert!(matches!(
            pnr_with_document(r#"<p:Document id="d">not base64!</p:Document>"#),
            Err(XmlError::InvalidValue { .. })
        ));
    }

    #[test]
    fn document_without_id_is_missing_attribute() {
        assert!(matches!(
            pnr_with_document(r#"<p:Document>aGVsbG8=</p:Document>"#),
            Err(XmlError::MissingAttribute { attribute, .. }) if attribute == "id"
        ));
    }

    #[test]
    fn retrieve_document_set_request_round_trips() {
        let request = RetrieveDocumentSetRequest {
            requests: vec![document_request(1), document_request(2)],
        };
        let xml = request.to_xml();
        assert_eq!(
            RetrieveDocumentSetRequest::from_xml(xml.as_bytes(), limits()).unwrap(),
            request
        );
    }

    #[test]
    fn document_request_without_repository_unique_id_is_missing_element() {
        let xml = format!(
            r#"<RetrieveDocumentSetRequest xmlns="{NS_XDSB}"><DocumentRequest><DocumentUniqueId>1.2</DocumentUniqueId></DocumentRequest></RetrieveDocumentSetRequest>"#
        );
        assert!(matches!(
            RetrieveDocumentSetRequest::from_xml(xml.as_bytes(), limits()),
            Err(XmlError::MissingElement { child, .. }) if child == "xdsb:RepositoryUniqueId"
        ));
    }

    #[test]
    fn retrieve_document_set_request_without_document_request_is_missing_element() {
        let xml = format!(r#"<x:RetrieveDocumentSetRequest xmlns:x="{NS_XDSB}"/>"#);
        assert!(matches!(
            RetrieveDocumentSetRequest::from_xml(xml.as_bytes(), limits()),
            Err(XmlError::MissingElement { .. })
        ));
    }

    #[test]
    fn retrieve_document_set_response_round_trips() {
        let response = RetrieveDocumentSetResponse {
            response: RegistryResponse {
                status: ResponseStatus::PartialSuccess,
                request_id: None,
                response_slots: vec![],
                errors: vec![RegistryError {
                    error_code: "XDSDocumentUniqueIdError".into(),
                    code_context: "unknown 2.25.3".into(),
                    location: Some("2.25.3".into()),
                    severity: Severity::Error,
                    value: None,
                }],
            },
            documents: vec![
                DocumentResponse {
                    home_community_id: Some("urn:oid:1.2.3".into()),
                    repository_unique_id: "1.2".into(),
                    document_unique_id: "2.25.1".into(),
                    new_repository_unique_id: Some("1.3".into()),
                    new_document_unique_id: Some("2.25.9".into()),
                    mime_type: "application/dicom".into(),
                    content: DocumentContent::Include {
                        content_id: "doc1@broker".into(),
                    },
                },
                DocumentResponse {
                    home_community_id: None,
                    repository_unique_id: "1.2".into(),
                    document_unique_id: "2.25.2".into(),
                    new_repository_unique_id: None,
                    new_document_unique_id: None,
                    mime_type: "text/xml".into(),
                    content: DocumentContent::Inline(b"<ClinicalDocument/>".to_vec()),
                },
            ],
        };
        let xml = response.to_xml();
        assert_eq!(
            RetrieveDocumentSetResponse::from_xml(xml.as_bytes(), limits()).unwrap(),
            response
        );
    }

    #[test]
    fn document_response_without_mime_type_is_missing_element() {
        let xml = format!(
            r#"<x:RetrieveDocumentSetResponse xmlns:x="{NS_XDSB}" xmlns:s="{NS_RS}"><s:RegistryResponse status="{}"/><x:DocumentResponse><x:RepositoryUniqueId>1</x:RepositoryUniqueId><x:DocumentUniqueId>2</x:DocumentUniqueId><x:Document>aGVsbG8=</x:Document></x:DocumentResponse></x:RetrieveDocumentSetResponse>"#,
            ResponseStatus::SUCCESS_URN
        );
        assert!(matches!(
            RetrieveDocumentSetResponse::from_xml(xml.as_bytes(), limits()),
            Err(XmlError::MissingElement { child, .. }) if child == "xdsb:mimeType"
        ));
    }

    #[test]
    fn retrieve_imaging_document_set_request_round_trips() {
        let request = RetrieveImagingDocumentSetRequest {
            studies: vec![StudyRequest {
                study_instance_uid: "1.2.3".into(),
                series: vec![
                    SeriesRequest {
                        series_instance_uid: "1.2.3.4".into(),
                        documents: vec![document_request(1), document_request(2)],
                    },
                    SeriesRequest {
                        series_instance_uid: "1.2.3.5".into(),
                        documents: vec![document_request(3)],
                    },
                ],
            }],
            transfer_syntax_uids: vec![
                "1.2.840.10008.1.2.1".into(),
                "1.2.840.10008.1.2.4.50".into(),
            ],
        };
        let xml = request.to_xml();
        assert_eq!(
            RetrieveImagingDocumentSetRequest::from_xml(xml.as_bytes(), limits()).unwrap(),
            request
        );
    }

    #[test]
    fn imaging_request_reads_with_any_prefixes() {
        let xml = format!(
            r#"<a:RetrieveImagingDocumentSetRequest xmlns:a="{NS_XDSI}" xmlns:b="{NS_XDSB}"><a:StudyRequest studyInstanceUID="1.2.3"><a:SeriesRequest seriesInstanceUID="1.2.3.4"><b:DocumentRequest><b:RepositoryUniqueId> 1.2.3 </b:RepositoryUniqueId><b:DocumentUniqueId>1.2.3.4.5</b:DocumentUniqueId></b:DocumentRequest></a:SeriesRequest></a:StudyRequest><a:TransferSyntaxUIDList><a:TransferSyntaxUID>1.2.840.10008.1.2.1</a:TransferSyntaxUID></a:TransferSyntaxUIDList></a:RetrieveImagingDocumentSetRequest>"#
        );
        let request =
            RetrieveImagingDocumentSetRequest::from_xml(xml.as_bytes(), limits()).unwrap();
        let document = &request.studies[0].series[0].documents[0];
        assert_eq!(document.repository_unique_id, "1.2.3");
        assert_eq!(request.transfer_syntax_uids, ["1.2.840.10008.1.2.1"]);
    }

    #[test]
    fn study_request_without_study_instance_uid_is_missing_attribute() {
        let xml = format!(
            r#"<a:RetrieveImagingDocumentSetRequest xmlns:a="{NS_XDSI}"><a:StudyRequest/></a:RetrieveImagingDocumentSetRequest>"#
        );
        assert!(matches!(
            RetrieveImagingDocumentSetRequest::from_xml(xml.as_bytes(), limits()),
            Err(XmlError::MissingAttribute { attribute, .. }) if attribute == "studyInstanceUID"
        ));
    }

    #[test]
    fn imaging_request_without_transfer_syntax_list_is_missing_element() {
        let xml = format!(
            r#"<a:RetrieveImagingDocumentSetRequest xmlns:a="{NS_XDSI}" xmlns:b="{NS_XDSB}"><a:StudyRequest studyInstanceUID="1"><a:SeriesRequest seriesInstanceUID="2"><b:DocumentRequest><b:RepositoryUniqueId>3</b:RepositoryUniqueId><b:DocumentUniqueId>4</b:DocumentUniqueId></b:DocumentRequest></a:SeriesRequest></a:StudyRequest></a:RetrieveImagingDocumentSetRequest>"#
        );
        assert!(matches!(
            RetrieveImagingDocumentSetRequest::from_xml(xml.as_bytes(), limits()),
            Err(XmlError::MissingElement { child, .. }) if child == "xdsi:TransferSyntaxUIDList"
        ));
    }

    #[test]
    fn remove_documents_request_round_trips() {
        let request = RemoveDocumentsRequest {
            documents: vec![document_request(1), document_request(2)],
        };
        let xml = request.to_xml();
        assert_eq!(
            RemoveDocumentsRequest::from_xml(xml.as_bytes(), limits()).unwrap(),
            request
        );
    }
}
