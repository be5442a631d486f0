//! Hardened XML reading shared by every message parser of this crate.
//!
//! Rules (the quality bar of the broker):
//! - a `<!DOCTYPE ...>` is refused outright, so no DTD, internal or external entity is ever expanded
//!   (this is what defeats billion-laughs and XXE payloads);
//! - only the five predefined entities and character references are accepted;
//! - the input size, the element nesting depth and the namespace bindings in scope are bounded;
//! - every violation is an [`XmlError`], never a panic.
//!
//! The reader borrows from the input: element names, attribute values without references and
//! text without references are handed out as slices of the document, so reading allocates only
//! where unescaping forces a copy (and one vector per element that has attributes).
//!
//! The document is checked as UTF-8 once, then tokenized here directly on the `&str` with
//! `memchr` (a tag, a comment, a CDATA section or a processing instruction is found by its
//! delimiters); end tags are checked against their start tags and namespace prefixes resolved
//! here. quick-xml is only used to normalize the rare attribute value that needs it.

use quick_xml::events::attributes::Attribute;
use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

/// The namespace the `xml` prefix is bound to by definition (Namespaces in XML 1.0 §3).
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace the `xmlns` prefix is bound to by definition (Namespaces in XML 1.0 §3).
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";
/// Most namespace declarations in scope at once (bounds the cost of resolving a prefix).
const MAX_NAMESPACE_BINDINGS: usize = 128;

/// Bounds applied to every XML document the broker reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest document accepted, in bytes.
    pub max_bytes: usize,
    /// Deepest element nesting accepted (the root element is depth 1).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 64 * 1024 * 1024,
            max_depth: 64,
        }
    }
}

/// Why an XML document was refused.
#[derive(Debug, thiserror::Error)]
pub enum XmlError {
    #[error("XML document is {size} bytes, larger than the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("XML nesting deeper than the limit of {limit} levels at <{element}>")]
    TooDeep { limit: usize, element: String },
    #[error("DOCTYPE declarations are not accepted (DTDs and entities are never resolved)")]
    DtdForbidden,
    #[error("unknown entity reference &{0};: only the predefined XML entities are accepted")]
    UnknownEntity(String),
    #[error("malformed XML at byte {position}: {message}")]
    Malformed { position: u64, message: String },
    #[error("XML document ended before <{0}> was closed")]
    UnexpectedEof(String),
    #[error("expected <{expected}>, found <{found}>")]
    UnexpectedElement { expected: String, found: String },
    #[error("element <{element}> lacks the required attribute {attribute}")]
    MissingAttribute { element: String, attribute: String },
    #[error("element <{element}> lacks the required child <{child}>")]
    MissingElement { element: String, child: String },
    #[error("invalid value {value:?} in {context}")]
    InvalidValue { context: String, value: String },
    #[error("element <{0}> is not supported here")]
    Unsupported(String),
}

/// A namespace-qualified element name, owned (kept in errors and faults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QName {
    /// Namespace URI, empty when the element is in no namespace.
    pub ns: String,
    /// Local name without prefix.
    pub local: String,
}

impl fmt::Display for QName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_qualified(f, &self.ns, &self.local)
    }
}

fn write_qualified(f: &mut fmt::Formatter<'_>, ns: &str, local: &str) -> fmt::Result {
    if ns.is_empty() {
        f.write_str(local)
    } else {
        write!(f, "{{{ns}}}{local}")
    }
}

/// A namespace URI or a local name borrowed from the document. It reads as a `&str` (through
/// `Deref`, [`NameStr::as_str`] and comparisons with `str`, `&str` and `String`); `to_string()`
/// or `String::from` make an owned copy.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct NameStr<'a>(&'a str);

impl<'a> NameStr<'a> {
    /// The borrowed text, with the lifetime of the document.
    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

impl Deref for NameStr<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        self.0
    }
}

impl AsRef<str> for NameStr<'_> {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl fmt::Display for NameStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for NameStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl From<NameStr<'_>> for String {
    fn from(name: NameStr<'_>) -> String {
        name.0.to_owned()
    }
}

impl PartialEq<str> for NameStr<'_> {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for NameStr<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for NameStr<'_> {
    fn eq(&self, other: &String) -> bool {
        self.0 == other.as_str()
    }
}

impl PartialEq<NameStr<'_>> for str {
    fn eq(&self, other: &NameStr<'_>) -> bool {
        self == other.0
    }
}

impl PartialEq<NameStr<'_>> for &str {
    fn eq(&self, other: &NameStr<'_>) -> bool {
        *self == other.0
    }
}

impl PartialEq<NameStr<'_>> for String {
    fn eq(&self, other: &NameStr<'_>) -> bool {
        self.as_str() == other.0
    }
}

/// A namespace-qualified element name borrowed from the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Name<'a> {
    /// Namespace URI, empty when the element is in no namespace.
    pub ns: NameStr<'a>,
    /// Local name without prefix.
    pub local: NameStr<'a>,
}

impl Name<'_> {
    /// An owned copy of this name.
    pub fn to_qname(&self) -> QName {
        QName {
            ns: self.ns.0.to_owned(),
            local: self.local.0.to_owned(),
        }
    }
}

impl From<Name<'_>> for QName {
    fn from(name: Name<'_>) -> QName {
        name.to_qname()
    }
}

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_qualified(f, self.ns.0, self.local.0)
    }
}

/// One start tag as seen by a parser: its name, its attributes (local name, unescaped value) and
/// whether it was self-closing (`<a/>`), in which case no end event follows. Names and values
/// without references are borrowed from the document.
#[derive(Debug, Clone)]
pub struct Element<'a> {
    pub name: Name<'a>,
    /// Attributes in document order, namespace declarations excluded. The key is the local name,
    /// except for `xml:*` attributes, which keep their prefix (`xml:lang`).
    pub attributes: Vec<(&'a str, Cow<'a, str>)>,
    pub empty: bool,
}

impl<'a> Element<'a> {
    /// Value of the attribute with this local name (namespaced attributes such as `xml:lang`
    /// are stored under their qualified name).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_ref())
    }

    /// Value of a required attribute, or [`XmlError::MissingAttribute`].
    pub fn required_attr(&self, name: &str) -> Result<&str, XmlError> {
        self.attr(name).ok_or_else(|| XmlError::MissingAttribute {
            element: self.name.local.to_string(),
            attribute: name.to_owned(),
        })
    }

    /// Moves the value of an attribute out of the element (the first one of that name), leaving
    /// an empty value behind; a value borrowed from the document is copied once here.
    pub fn take_attr(&mut self, name: &str) -> Option<String> {
        self.attributes
            .iter_mut()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| std::mem::take(v).into_owned())
    }

    /// True when the element has this namespace and local name.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.name.local.0 == local && self.name.ns.0 == ns
    }
}

/// What the pull parser yields: element starts, element ends and text (already unescaped,
/// borrowed from the document unless it held a reference or a CR LF to normalize).
#[derive(Debug, Clone)]
pub enum Node<'a> {
    Start(Element<'a>),
    End(Name<'a>),
    Text(Cow<'a, str>),
}

/// An element whose end tag has not been read yet.
#[derive(Debug)]
struct Open<'a> {
    name: Name<'a>,
    /// The name as written in the start tag, which the end tag must repeat.
    qualified: &'a str,
    /// Number of namespace bindings in scope before this element's own declarations.
    bindings: usize,
}

/// A namespace declaration in scope (`prefix` empty for the default namespace, `uri` empty when
/// the declaration undeclares it).
#[derive(Debug)]
struct Binding<'a> {
    prefix: &'a str,
    uri: &'a str,
}

/// A pull parser over an in-memory document that enforces [`Limits`] and the entity rules.
pub struct XmlReader<'a> {
    input: &'a str,
    /// Byte offset of the next token in `input`.
    pos: usize,
    limits: Limits,
    open: Vec<Open<'a>>,
    bindings: Vec<Binding<'a>>,
    /// Qualified attribute names of the tag being read (duplicate check), kept to reuse its
    /// allocation.
    seen_keys: Vec<&'a str>,
    pending_text: Option<Cow<'a, str>>,
    peeked: Option<Node<'a>>,
}

impl<'a> XmlReader<'a> {
    /// Starts reading `input`, refusing it at once when it exceeds `limits.max_bytes` or is not
    /// UTF-8.
    pub fn new(input: &'a [u8], limits: Limits) -> Result<Self, XmlError> {
        if input.len() > limits.max_bytes {
            return Err(XmlError::TooLarge {
                size: input.len(),
                limit: limits.max_bytes,
            });
        }
        let input = std::str::from_utf8(input).map_err(|e| XmlError::Malformed {
            position: e.valid_up_to() as u64,
            message: format!("the document is not UTF-8: {e}"),
        })?;
        // A UTF-8 byte order mark is not part of the document.
        let pos = if input.starts_with('\u{feff}') {
            '\u{feff}'.len_utf8()
        } else {
            0
        };
        Ok(XmlReader {
            input,
            pos,
            limits,
            open: Vec::new(),
            bindings: Vec::new(),
            seen_keys: Vec::new(),
            pending_text: None,
            peeked: None,
        })
    }

    /// Current element nesting depth (0 outside the root element).
    pub fn depth(&self) -> usize {
        self.open.len()
    }

    /// Byte offset of the parser in the input.
    pub fn position(&self) -> u64 {
        self.pos as u64
    }

    /// The next node, or `None` at the end of the document. Adjacent text and entity
    /// references are merged into one [`Node::Text`].
    pub fn next_node(&mut self) -> Result<Option<Node<'a>>, XmlError> {
        self.read(true)
    }

    /// The next element start or end, skipping text (whitespace between elements).
    pub fn next_tag(&mut self) -> Result<Option<Node<'a>>, XmlError> {
        self.read(false)
    }

    /// The next node; text is handed out when `keep_text`, otherwise only checked (references
    /// must still be known entities) and dropped without being copied.
    fn read(&mut self, keep_text: bool) -> Result<Option<Node<'a>>, XmlError> {
        if let Some(node) = self.peeked.take() {
            return Ok(Some(node));
        }
        loop {
            let position = self.pos;
            let rest = self.input.get(position..).unwrap_or_default();
            let node = match rest.as_bytes() {
                [] => {
                    if let Some(open) = self.open.last() {
                        return Err(XmlError::UnexpectedEof(open.name.local.to_string()));
                    }
                    return Ok(self.pending_text.take().map(Node::Text));
                }
                [b'<', b'/', ..] => Node::End(self.end(position, rest)?),
                [b'<', b'?', ..] => {
                    self.pos += markup_len(position, rest, "?>", "processing instruction")?;
                    continue;
                }
                [b'<', b'!', ..] => {
                    self.markup(position, rest, keep_text)?;
                    continue;
                }
                [b'<', ..] => Node::Start(self.start(position, rest)?),
                _ => {
                    let len = memchr::memchr(b'<', rest.as_bytes()).unwrap_or(rest.len());
                    let raw = rest.get(..len).unwrap_or_default();
                    self.pos += len;
                    if keep_text {
                        let text = text_content(position, raw)?;
                        self.push_text(text);
                    } else {
                        check_references(position, raw)?;
                    }
                    continue;
                }
            };
            if let Some(text) = self.pending_text.take() {
                self.peeked = Some(node);
                return Ok(Some(Node::Text(text)));
            }
            return Ok(Some(node));
        }
    }

    /// Reads a `<!` markup at the start of `rest`: a comment (skipped), a CDATA section (text)
    /// or a DOCTYPE declaration (refused).
    fn markup(&mut self, position: usize, rest: &'a str, keep_text: bool) -> Result<(), XmlError> {
        if rest.starts_with("<!--") {
            self.pos += markup_len(position, rest, "-->", "comment")?;
        } else if let Some(section) = rest.strip_prefix("<![CDATA[") {
            let len = memchr::memmem::find(section.as_bytes(), b"]]>").ok_or_else(|| {
                XmlError::Malformed {
                    position: position as u64,
                    message: "CDATA section not closed".to_owned(),
                }
            })?;
            self.pos += "<![CDATA[".len() + len + "]]>".len();
            if keep_text {
                self.push_text(normalize_line_ends(section.get(..len).unwrap_or_default()));
            }
        } else if rest
            .get(2..9)
            .is_some_and(|keyword| keyword.eq_ignore_ascii_case("DOCTYPE"))
        {
            return Err(XmlError::DtdForbidden);
        } else {
            return Err(XmlError::Malformed {
                position: position as u64,
                message: "markup starting with <! is neither a comment nor a CDATA section"
                    .to_owned(),
            });
        }
        Ok(())
    }

    /// Reads the end tag at the start of `rest`, which must close the innermost open element.
    fn end(&mut self, position: usize, rest: &'a str) -> Result<Name<'a>, XmlError> {
        let malformed = |message: String| XmlError::Malformed {
            position: position as u64,
            message,
        };
        let len = memchr::memchr(b'>', rest.as_bytes())
            .ok_or_else(|| malformed("end tag not closed".to_owned()))?;
        let written = rest.get(2..len).unwrap_or_default();
        let written = written.trim_end_matches([' ', '\t', '\n', '\r']);
        let open = self
            .open
            .pop()
            .ok_or_else(|| malformed(format!("end tag </{written}> without a start tag")))?;
        if open.qualified != written {
            return Err(malformed(format!(
                "expected </{}>, found </{written}>",
                open.qualified
            )));
        }
        self.pos += len + 1;
        self.bindings.truncate(open.bindings);
        Ok(open.name)
    }

    /// The root element of the document.
    pub fn root(&mut self) -> Result<Element<'a>, XmlError> {
        match self.next_tag()? {
            Some(Node::Start(e)) => Ok(e),
            Some(Node::End(n)) => Err(XmlError::Malformed {
                position: self.position(),
                message: format!("unexpected end tag </{}>", n.local),
            }),
            Some(Node::Text(_)) | None => Err(XmlError::UnexpectedEof("root".into())),
        }
    }

    /// The next child start of the element being read, or `None` when that element ends.
    /// Text between children is skipped.
    pub fn next_child(&mut self) -> Result<Option<Element<'a>>, XmlError> {
        match self.next_tag()? {
            Some(Node::Start(e)) => Ok(Some(e)),
            Some(Node::End(_)) => Ok(None),
            Some(Node::Text(_)) => Ok(None),
            None => Err(XmlError::UnexpectedEof("document".into())),
        }
    }

    /// The text content of `element` (which was just returned as a start), consuming its end.
    /// Child elements are refused.
    pub fn text_of(&mut self, element: &Element<'_>) -> Result<String, XmlError> {
        self.text(element).map(Cow::into_owned)
    }

    /// Like [`XmlReader::text_of`], but the text is borrowed from the document when it holds no
    /// reference (no copy at all).
    pub fn text(&mut self, element: &Element<'_>) -> Result<Cow<'a, str>, XmlError> {
        if element.empty {
            return Ok(Cow::Borrowed(""));
        }
        let mut out: Option<Cow<'a, str>> = None;
        loop {
            match self.next_node()? {
                Some(Node::Text(t)) => match &mut out {
                    None => out = Some(t),
                    Some(out) => out.to_mut().push_str(&t),
                },
                Some(Node::End(_)) => return Ok(out.unwrap_or(Cow::Borrowed(""))),
                Some(Node::Start(child)) => {
                    return Err(XmlError::UnexpectedElement {
                        expected: format!("text in <{}>", element.name.local),
                        found: child.name.local.to_string(),
                    });
                }
                None => return Err(XmlError::UnexpectedEof(element.name.local.to_string())),
            }
        }
    }

    /// Skips the rest of `element` (just returned as a start), including all its descendants.
    pub fn skip(&mut self, element: &Element<'_>) -> Result<(), XmlError> {
        if element.empty {
            return Ok(());
        }
        // Count the nodes handed out rather than the reader's depth: an end tag read while text
        // was pending may still be waiting to be handed out.
        let mut open = 1usize;
        while open > 0 {
            match self.next_tag()? {
                Some(Node::Start(e)) if !e.empty => open += 1,
                Some(Node::End(_)) => open -= 1,
                Some(_) => {}
                None => return Err(XmlError::UnexpectedEof(element.name.local.to_string())),
            }
        }
        Ok(())
    }

    fn push_text(&mut self, text: Cow<'a, str>) {
        match &mut self.pending_text {
            None => self.pending_text = Some(text),
            Some(pending) => pending.to_mut().push_str(&text),
        }
    }

    /// Turns the start tag at the start of `rest` into an [`Element`]: declares its namespace
    /// bindings, resolves its name, unescapes its attributes and, unless it is self-closing,
    /// opens it.
    fn start(&mut self, position: usize, rest: &'a str) -> Result<Element<'a>, XmlError> {
        let malformed = |message: String| XmlError::Malformed {
            position: position as u64,
            message,
        };
        let len = tag_len(rest.as_bytes()).ok_or_else(|| malformed("tag not closed".to_owned()))?;
        let inside = rest.get(1..len).unwrap_or_default();
        let (content, empty) = match inside.strip_suffix('/') {
            Some(content) => (content, true),
            None => (inside, false),
        };
        let name_len = content
            .bytes()
            .position(is_xml_space_byte)
            .unwrap_or(content.len());
        let qualified = content.get(..name_len).unwrap_or_default();
        if qualified.is_empty() {
            return Err(malformed("start tag without a name".to_owned()));
        }
        let (prefix, local) = match qualified.split_once(':') {
            Some((prefix, local)) => (Some(prefix), local),
            None => (None, qualified),
        };
        if self.open.len() + 1 > self.limits.max_depth {
            return Err(XmlError::TooDeep {
                limit: self.limits.max_depth,
                element: local.to_owned(),
            });
        }
        let bindings = self.bindings.len();
        let attributes = self.attributes(position as u64, content, name_len)?;
        let ns = self.resolve(prefix).ok_or_else(|| {
            malformed(format!(
                "undeclared namespace prefix {}",
                prefix.unwrap_or_default()
            ))
        })?;
        let name = Name {
            ns: NameStr(ns),
            local: NameStr(local),
        };
        self.pos += len + 1;
        if empty {
            self.bindings.truncate(bindings);
        } else {
            self.open.push(Open {
                name,
                qualified,
                bindings,
            });
        }
        Ok(Element {
            name,
            attributes,
            empty,
        })
    }

    /// The attributes of the tag `content` (name included, attributes from `name_len`), with
    /// its namespace declarations added to the bindings in scope instead.
    ///
    /// The tag is split here rather than by quick-xml's attribute iterator: one pass over the
    /// bytes with `memchr` for the closing quote, and a value is only handed to quick-xml's
    /// normalization when it holds a reference or a tab, CR or LF to replace.
    fn attributes(
        &mut self,
        position: u64,
        content: &'a str,
        name_len: usize,
    ) -> Result<Vec<(&'a str, Cow<'a, str>)>, XmlError> {
        let malformed = |message: String| XmlError::Malformed { position, message };
        let mut attributes = Vec::new();
        self.seen_keys.clear();
        let mut rest = content
            .get(name_len..)
            .ok_or_else(|| malformed("start tag name out of bounds".to_owned()))?;
        loop {
            rest = skip_xml_space(rest);
            if rest.is_empty() {
                return Ok(attributes);
            }
            let key_len = rest
                .bytes()
                .position(|b| b == b'=' || is_xml_space_byte(b))
                .unwrap_or(rest.len());
            let (key, after_key) = rest.split_at(key_len);
            let Some(after_eq) = skip_xml_space(after_key).strip_prefix('=') else {
                return Err(malformed(format!("attribute {key} has no value")));
            };
            if key.is_empty() {
                return Err(malformed("attribute value without a name".to_owned()));
            }
            let quoted = skip_xml_space(after_eq);
            let quote = match quoted.as_bytes().first() {
                Some(&q @ (b'"' | b'\'')) => q,
                _ => return Err(malformed(format!("value of attribute {key} is not quoted"))),
            };
            let quoted = quoted.get(1..).unwrap_or_default();
            let end = memchr::memchr(quote, quoted.as_bytes())
                .ok_or_else(|| malformed(format!("value of attribute {key} is not closed")))?;
            let (raw, closing) = quoted.split_at(end);
            rest = closing.get(1..).unwrap_or_default();
            if self.seen_keys.contains(&key) {
                return Err(malformed(format!("duplicated attribute {key}")));
            }
            self.seen_keys.push(key);
            let declared = if key == "xmlns" {
                Some("")
            } else {
                key.strip_prefix("xmlns:")
            };
            if let Some(prefix) = declared {
                // Like quick-xml's resolver, the namespace is the attribute's literal value.
                self.bind(prefix, raw).map_err(malformed)?;
                continue;
            }
            let name = match key.split_once(':') {
                Some(("xml", _)) | None => key,
                Some((_, local)) => local,
            };
            attributes.push((
                name,
                attribute_value(key, raw).map_err(|e| match e {
                    quick_xml::Error::Escape(
                        quick_xml::escape::EscapeError::UnrecognizedEntity(_, name),
                    ) => XmlError::UnknownEntity(name),
                    other => malformed(other.to_string()),
                })?,
            ));
        }
    }

    /// Declares `prefix` (empty: the default namespace) as bound to `uri` for the element being
    /// read, with the reserved-prefix rules of Namespaces in XML 1.0 §3.
    fn bind(&mut self, prefix: &'a str, uri: &'a str) -> Result<(), String> {
        match prefix {
            "xml" if uri == XML_NS => return Ok(()),
            "xml" => return Err(format!("the prefix xml cannot be bound to {uri}")),
            "xmlns" => return Err("the prefix xmlns cannot be declared".to_owned()),
            _ if !prefix.is_empty() && (uri == XML_NS || uri == XMLNS_NS) => {
                return Err(format!("the prefix {prefix} cannot be bound to {uri}"));
            }
            _ => {}
        }
        if self.bindings.len() >= MAX_NAMESPACE_BINDINGS {
            return Err(format!(
                "more than {MAX_NAMESPACE_BINDINGS} namespace declarations in scope"
            ));
        }
        self.bindings.push(Binding { prefix, uri });
        Ok(())
    }

    /// The namespace of an element name with this prefix, `None` for an undeclared prefix.
    fn resolve(&self, prefix: Option<&str>) -> Option<&'a str> {
        let mut in_scope = self.bindings.iter().rev();
        match prefix {
            None => Some(in_scope.find(|b| b.prefix.is_empty()).map_or("", |b| b.uri)),
            Some("xml") => Some(XML_NS),
            Some("xmlns") => Some(XMLNS_NS),
            Some(prefix) => in_scope
                .find(|b| b.prefix == prefix)
                .map(|b| b.uri)
                .filter(|uri| !uri.is_empty()),
        }
    }
}

/// `text` without its leading white space (XML 1.0 production `S`).
fn skip_xml_space(text: &str) -> &str {
    let skipped = text
        .bytes()
        .position(|b| !is_xml_space_byte(b))
        .unwrap_or(text.len());
    text.get(skipped..).unwrap_or_default()
}

/// White space between the parts of a tag (XML 1.0 production `S`).
fn is_xml_space_byte(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The normalized value of attribute `key` written as `raw` (XML 1.0 §3.3.3): borrowed when it
/// holds no reference and no white space other than spaces, otherwise normalized by quick-xml.
fn attribute_value<'a>(key: &'a str, raw: &'a str) -> Result<Cow<'a, str>, quick_xml::Error> {
    let bytes = raw.as_bytes();
    if memchr::memchr3(b'&', b'\n', b'\r', bytes).is_none()
        && memchr::memchr(b'\t', bytes).is_none()
    {
        return Ok(Cow::Borrowed(raw));
    }
    Attribute {
        key: quick_xml::name::QName(key),
        value: Cow::Borrowed(raw),
    }
    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
}

/// Length of the tag at the start of `tag` up to its closing `>` (excluded), skipping a `>`
/// inside a quoted attribute value; `None` when the tag is not closed.
fn tag_len(tag: &[u8]) -> Option<usize> {
    let mut at = 1;
    loop {
        let found = at + memchr::memchr3(b'>', b'"', b'\'', tag.get(at..)?)?;
        match tag.get(found)? {
            b'>' => return Some(found),
            &quote => at = found + 1 + memchr::memchr(quote, tag.get(found + 1..)?)? + 1,
        }
    }
}

/// Length of the markup at the start of `rest` up to and including `close`.
fn markup_len(position: usize, rest: &str, close: &str, what: &str) -> Result<usize, XmlError> {
    memchr::memmem::find(
        rest.as_bytes().get(2..).unwrap_or_default(),
        close.as_bytes(),
    )
    .map(|len| 2 + len + close.len())
    .ok_or_else(|| XmlError::Malformed {
        position: position as u64,
        message: format!("{what} not closed"),
    })
}

/// Character data `raw` with its references resolved and its line ends normalized (XML 1.0
/// §4.6, §2.11); borrowed when there is nothing to replace.
fn text_content(position: usize, raw: &str) -> Result<Cow<'_, str>, XmlError> {
    if memchr::memchr2(b'&', b'\r', raw.as_bytes()).is_none() {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = memchr::memchr2(b'&', b'\r', rest.as_bytes()) {
        out.push_str(rest.get(..at).unwrap_or_default());
        let after = rest.get(at + 1..).unwrap_or_default();
        if rest.as_bytes().get(at) == Some(&b'\r') {
            out.push('\n');
            rest = after.strip_prefix('\n').unwrap_or(after);
        } else {
            let (name, after) = reference(position, after)?;
            out.push_str(&resolve_entity(name)?);
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

/// Checks that every reference in the character data `raw` is known, without copying it.
fn check_references(position: usize, raw: &str) -> Result<(), XmlError> {
    let mut rest = raw;
    while let Some(at) = memchr::memchr(b'&', rest.as_bytes()) {
        let (name, after) = reference(position, rest.get(at + 1..).unwrap_or_default())?;
        resolve_entity(name)?;
        rest = after;
    }
    Ok(())
}

/// The name of the reference that `after` (the text after a `&`) starts with, and the text
/// after its `;`.
fn reference(position: usize, after: &str) -> Result<(&str, &str), XmlError> {
    after.split_once(';').ok_or_else(|| XmlError::Malformed {
        position: position as u64,
        message: "reference without a closing ;".to_owned(),
    })
}

/// CDATA content with CR LF and lone CR turned into LF (XML 1.0 §2.11).
fn normalize_line_ends(raw: &str) -> Cow<'_, str> {
    if memchr::memchr(b'\r', raw.as_bytes()).is_none() {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(raw.replace("\r\n", "\n").replace('\r', "\n"))
}

fn resolve_entity(name: &str) -> Result<Cow<'static, str>, XmlError> {
    Ok(Cow::Borrowed(match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => {
            let code = if let Some(hex) = name.strip_prefix("#x") {
                u32::from_str_radix(hex, 16).ok()
            } else if let Some(dec) = name.strip_prefix('#') {
                dec.parse::<u32>().ok()
            } else {
                return Err(XmlError::UnknownEntity(name.to_owned()));
            };
            let c = code
                .and_then(char::from_u32)
                .ok_or_else(|| XmlError::UnknownEntity(name.to_owned()))?;
            return Ok(Cow::Owned(c.to_string()));
        }
    }))
}

/// Escapes text for element content or a double-quoted attribute value.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &str, limits: Limits) -> Result<Vec<Node<'_>>, XmlError> {
        let mut reader = XmlReader::new(input.as_bytes(), limits)?;
        let mut nodes = Vec::new();
        while let Some(n) = reader.next_node()? {
            nodes.push(n);
        }
        Ok(nodes)
    }

    /// Truncations and byte mutations of a real message: the tokenizer answers Ok or an
    /// `XmlError`, never a panic (bad input gets an error, not a crashed worker).
    #[test]
    fn mutated_input_never_panics() {
        let sample = br#"<?xml version="1.0"?><!-- c --><s:Envelope xmlns:s="urn:s" xmlns:r="urn:r"><s:Body><r:A id="x" v='a&amp;b'>t &lt; u<![CDATA[<z>]]><?pi x?><r:B/></r:A></s:Body></s:Envelope>"#;
        let specials = [
            b'<', b'>', b'&', b'"', b'\'', b'/', b'!', b'?', b'[', b']', b';', 0xC3, b'\r',
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for cut in 0..=sample.len() {
            let _ = XmlReader::new(&sample[..cut], Limits::default())
                .and_then(|mut r| while_nodes(&mut r));
        }
        for _ in 0..20_000 {
            let mut input = sample.to_vec();
            for _ in 0..=(next() % 4) {
                let at = (next() % input.len() as u64) as usize;
                match next() % 3 {
                    0 => input[at] = specials[(next() % specials.len() as u64) as usize],
                    1 => {
                        input.remove(at);
                    }
                    _ => input.insert(at, specials[(next() % specials.len() as u64) as usize]),
                }
            }
            let _ = XmlReader::new(&input, Limits::default()).and_then(|mut r| while_nodes(&mut r));
        }
    }

    fn while_nodes(reader: &mut XmlReader<'_>) -> Result<(), XmlError> {
        while reader.next_node()?.is_some() {}
        Ok(())
    }

    #[test]
    fn billion_laughs_is_refused_as_dtd() {
        let payload = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>"#;
        assert!(matches!(
            read_all(payload, Limits::default()),
            Err(XmlError::DtdForbidden)
        ));
    }

    #[test]
    fn external_entity_is_refused_as_dtd() {
        let payload = r#"<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><foo>&xxe;</foo>"#;
        assert!(matches!(
            read_all(payload, Limits::default()),
            Err(XmlError::DtdForbidden)
        ));
    }

    #[test]
    fn undeclared_entity_is_refused() {
        assert!(matches!(
            read_all("<a>&xxe;</a>", Limits::default()),
            Err(XmlError::UnknownEntity(name)) if name == "xxe"
        ));
        assert!(matches!(
            read_all("<a b=\"&xxe;\"/>", Limits::default()),
            Err(XmlError::UnknownEntity(name)) if name == "xxe"
        ));
    }

    #[test]
    fn predefined_and_character_entities_are_resolved() {
        let nodes = read_all("<a>x &amp; &lt;&#65;&#x42;</a>", Limits::default()).unwrap();
        assert!(matches!(&nodes[1], Node::Text(t) if t == "x & <AB"));
    }

    #[test]
    fn nesting_beyond_the_limit_is_refused() {
        let limits = Limits {
            max_depth: 5,
            ..Limits::default()
        };
        let deep = format!("{}{}", "<a>".repeat(15), "</a>".repeat(15));
        assert!(matches!(
            read_all(&deep, limits),
            Err(XmlError::TooDeep { limit: 5, .. })
        ));
        let empty_too_deep = format!("{}<b/>{}", "<a>".repeat(5), "</a>".repeat(5));
        assert!(matches!(
            read_all(&empty_too_deep, limits),
            Err(XmlError::TooDeep { .. })
        ));
    }

    #[test]
    fn oversized_document_is_refused_before_parsing() {
        let limits = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(
            read_all("<a>0123456789</a>", limits),
            Err(XmlError::TooLarge {
                size: 17,
                limit: 10
            })
        ));
    }

    #[test]
    fn truncated_document_is_an_error() {
        assert!(matches!(
            read_all("<a><b>text</b>", Limits::default()),
            Err(XmlError::UnexpectedEof(_))
        ));
    }

    #[test]
    fn skip_of_an_element_ending_in_text_leaves_the_next_sibling() {
        let mut r = XmlReader::new(b"<h><a>text<x/>more</a><b/></h>", Limits::default()).unwrap();
        r.root().unwrap();
        let a = r.next_child().unwrap().unwrap();
        r.skip(&a).unwrap();
        let b = r.next_child().unwrap().unwrap();
        assert_eq!(b.name.local, "b");
        assert!(r.next_child().unwrap().is_none());
    }

    #[test]
    fn namespaces_are_resolved_whatever_the_prefix() {
        let mut r = XmlReader::new(
            br#"<x:a xmlns:x="urn:one" xml:lang="en" y="1"><b/></x:a>"#,
            Limits::default(),
        )
        .unwrap();
        let root = r.root().unwrap();
        assert!(root.is("urn:one", "a"));
        assert_eq!(root.attr("xml:lang"), Some("en"));
        assert_eq!(root.attr("y"), Some("1"));
        let child = r.next_child().unwrap().unwrap();
        assert!(child.is("", "b") && child.empty);
        assert!(r.next_child().unwrap().is_none());
    }
    #[test]
    fn mismatched_end_tag_is_malformed() {
        assert!(matches!(
            read_all("<a><b></a></b>", Limits::default()),
            Err(XmlError::Malformed { message, .. }) if message.contains('b')
        ));
        assert!(matches!(
            read_all("<a></a></b>", Limits::default()),
            Err(XmlError::Malformed { .. })
        ));
    }

    #[test]
    fn end_node_names_the_element_it_closes() {
        let nodes = read_all(r#"<p:a xmlns:p="urn:p"><b/></p:a>"#, Limits::default()).unwrap();
        assert!(
            matches!(nodes.last(), Some(Node::End(name)) if name.ns == "urn:p" && name.local == "a")
        );
    }

    #[test]
    fn undeclared_element_prefix_is_malformed() {
        assert!(matches!(
            read_all("<p:a/>", Limits::default()),
            Err(XmlError::Malformed { message, .. }) if message.contains("undeclared namespace prefix p")
        ));
        assert!(matches!(
            read_all(
                r#"<a xmlns:p="urn:p"><p:b xmlns:p=""/></a>"#,
                Limits::default()
            ),
            Err(XmlError::Malformed { .. })
        ));
    }

    #[test]
    fn namespace_declarations_end_with_their_element() {
        let mut r = XmlReader::new(
            br#"<a xmlns="urn:outer"><b xmlns="urn:inner" xmlns:q="urn:q" q:x="1"/><c/></a>"#,
            Limits::default(),
        )
        .unwrap();
        assert!(r.root().unwrap().is("urn:outer", "a"));
        let b = r.next_child().unwrap().unwrap();
        assert!(b.is("urn:inner", "b"));
        assert_eq!(b.attr("x"), Some("1"));
        assert_eq!(b.attributes.len(), 1);
        assert!(r.next_child().unwrap().unwrap().is("urn:outer", "c"));
    }

    #[test]
    fn reserved_prefixes_cannot_be_rebound() {
        for doc in [
            r#"<a xmlns:xml="urn:not-xml"/>"#,
            r#"<a xmlns:xmlns="urn:x"/>"#,
            r#"<a xmlns:p="http://www.w3.org/XML/1998/namespace"/>"#,
        ] {
            assert!(
                matches!(
                    read_all(doc, Limits::default()),
                    Err(XmlError::Malformed { .. })
                ),
                "{doc}"
            );
        }
        let nodes = read_all(
            r#"<xml:a xmlns:xml="http://www.w3.org/XML/1998/namespace"/>"#,
            Limits::default(),
        )
        .unwrap();
        assert!(matches!(&nodes[0], Node::Start(e) if e.is(XML_NS, "a")));
    }

    #[test]
    fn namespace_declarations_beyond_the_bound_are_malformed() {
        let declarations: String = (0..=MAX_NAMESPACE_BINDINGS)
            .map(|i| format!(r#" xmlns:p{i}="urn:{i}""#))
            .collect();
        assert!(matches!(
            read_all(&format!("<a{declarations}/>"), Limits::default()),
            Err(XmlError::Malformed { message, .. }) if message.contains("namespace declarations")
        ));
    }

    #[test]
    fn duplicated_attribute_is_malformed() {
        assert!(matches!(
            read_all(r#"<a x="1" x="2"/>"#, Limits::default()),
            Err(XmlError::Malformed { message, .. }) if message.contains("duplicated attribute x")
        ));
    }

    #[test]
    fn document_that_is_not_utf8_is_malformed() {
        assert!(matches!(
            XmlReader::new(b"<a>\xff</a>", Limits::default()),
            Err(XmlError::Malformed { position: 3, .. })
        ));
    }

    #[test]
    fn text_and_values_without_references_are_borrowed_from_the_input() {
        let mut r =
            XmlReader::new(br#"<a v="plain" w="a&amp;b">text</a>"#, Limits::default()).unwrap();
        let a = r.root().unwrap();
        assert!(matches!(a.attributes[0].1, Cow::Borrowed("plain")));
        assert!(matches!(&a.attributes[1].1, Cow::Owned(v) if v == "a&b"));
        assert!(matches!(r.text(&a).unwrap(), Cow::Borrowed("text")));
    }

    #[test]
    fn text_with_references_is_merged_into_one_node() {
        let mut r = XmlReader::new(b"<a>x&amp;y<![CDATA[<z>]]></a>", Limits::default()).unwrap();
        let a = r.root().unwrap();
        assert_eq!(r.text_of(&a).unwrap(), "x&y<z>");
        assert!(r.next_node().unwrap().is_none());
    }

    #[test]
    fn next_tag_still_refuses_unknown_entities_in_skipped_text() {
        let mut r = XmlReader::new(b"<a>&xxe;<b/></a>", Limits::default()).unwrap();
        r.root().unwrap();
        assert!(matches!(r.next_child(), Err(XmlError::UnknownEntity(name)) if name == "xxe"));
    }
    #[test]
    fn comments_declarations_and_processing_instructions_are_skipped() {
        let nodes = read_all(
            "<?xml version=\"1.0\"?><!-- a > b --><a><?pi x?>t<!--c-->u</a>",
            Limits::default(),
        )
        .unwrap();
        assert!(matches!(&nodes[1], Node::Text(t) if t == "tu"));
        assert_eq!(nodes.len(), 3);
    }

    #[test]
    fn lowercase_doctype_is_refused_as_dtd() {
        assert!(matches!(
            read_all("<!doctype a><a/>", Limits::default()),
            Err(XmlError::DtdForbidden)
        ));
    }

    #[test]
    fn unclosed_markup_is_malformed() {
        for doc in [
            "<a><!-- x</a>",
            "<a><![CDATA[x</a>",
            "<a><?pi</a>",
            "<a b=\"1\"",
            "<a></a",
            "<a><!ELEMENT a ANY></a>",
            "<a>x &amp y</a>",
        ] {
            assert!(
                matches!(
                    read_all(doc, Limits::default()),
                    Err(XmlError::Malformed { .. })
                ),
                "{doc}"
            );
        }
    }

    #[test]
    fn attribute_without_quoted_value_is_malformed() {
        for doc in ["<a b/>", "<a b=1/>", "<a =\"1\"/>", "<a b=\"1/>"] {
            assert!(
                matches!(
                    read_all(doc, Limits::default()),
                    Err(XmlError::Malformed { .. })
                ),
                "{doc}"
            );
        }
    }

    #[test]
    fn attribute_values_are_normalized_and_may_hold_a_greater_than() {
        let mut r = XmlReader::new(
            b"<a x = 'q\"t' y=\"1>2\" z=\"a\tb\r\nc&#10;\"/>",
            Limits::default(),
        )
        .unwrap();
        let a = r.root().unwrap();
        assert!(a.empty);
        assert_eq!(a.attr("x"), Some("q\"t"));
        assert_eq!(a.attr("y"), Some("1>2"));
        assert_eq!(a.attr("z"), Some("a b c\n"));
    }

    #[test]
    fn line_ends_in_text_and_cdata_are_normalized() {
        let mut r = XmlReader::new(b"<a>x\r\ny\rz<![CDATA[\r\n]]></a>", Limits::default()).unwrap();
        let a = r.root().unwrap();
        assert_eq!(r.text_of(&a).unwrap(), "x\ny\nz\n");
    }

    #[test]
    fn end_tag_may_end_with_white_space() {
        let nodes = read_all("<p:a xmlns:p=\"urn:p\"></p:a >", Limits::default()).unwrap();
        assert!(matches!(nodes.last(), Some(Node::End(name)) if name.local == "a"));
    }

    #[test]
    fn utf8_byte_order_mark_is_accepted() {
        let mut r = XmlReader::new(b"\xEF\xBB\xBF<a/>", Limits::default()).unwrap();
        assert!(r.root().unwrap().is("", "a"));
    }
}
