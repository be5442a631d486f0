//! Hardened XML reading shared by every message parser of this crate.
//!
//! Rules (the quality bar of the broker):
//! - a `<!DOCTYPE ...>` is refused outright, so no DTD, internal or external entity is ever expanded
//!   (this is what defeats billion-laughs and XXE payloads);
//! - only the five predefined entities and character references are accepted;
//! - the input size and the element nesting depth are bounded by [`Limits`];
//! - every violation is an [`XmlError`], never a panic.

use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

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

/// A namespace-qualified element name, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QName {
    /// Namespace URI, empty when the element is in no namespace.
    pub ns: String,
    /// Local name without prefix.
    pub local: String,
}

impl std::fmt::Display for QName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.ns.is_empty() {
            f.write_str(&self.local)
        } else {
            write!(f, "{{{}}}{}", self.ns, self.local)
        }
    }
}

/// One start tag as seen by a parser: its name, its attributes (local name, unescaped value) and
/// whether it was self-closing (`<a/>`), in which case no end event follows.
#[derive(Debug, Clone)]
pub struct Element {
    pub name: QName,
    pub attributes: Vec<(String, String)>,
    pub empty: bool,
}

impl Element {
    /// Value of the attribute with this local name (namespaced attributes such as `xml:lang`
    /// are stored under their qualified name).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Value of a required attribute, or [`XmlError::MissingAttribute`].
    pub fn required_attr(&self, name: &str) -> Result<&str, XmlError> {
        self.attr(name).ok_or_else(|| XmlError::MissingAttribute {
            element: self.name.local.clone(),
            attribute: name.to_owned(),
        })
    }

    /// True when the element has this namespace and local name.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.name.ns == ns && self.name.local == local
    }
}

/// What the pull parser yields: element starts, element ends and text (already unescaped).
#[derive(Debug, Clone)]
pub enum Node {
    Start(Element),
    End(QName),
    Text(String),
}

/// A pull parser over an in-memory document that enforces [`Limits`] and the entity rules.
pub struct XmlReader<'a> {
    inner: NsReader<&'a [u8]>,
    limits: Limits,
    depth: usize,
    stack: Vec<QName>,
    buffered_text: Option<String>,
    peeked: Option<Node>,
}

impl<'a> XmlReader<'a> {
    /// Starts reading `input`, refusing it at once when it exceeds `limits.max_bytes`.
    pub fn new(input: &'a [u8], limits: Limits) -> Result<Self, XmlError> {
        if input.len() > limits.max_bytes {
            return Err(XmlError::TooLarge {
                size: input.len(),
                limit: limits.max_bytes,
            });
        }
        let mut inner = NsReader::from_reader(input);
        inner.config_mut().trim_text(false);
        inner.config_mut().expand_empty_elements = false;
        Ok(XmlReader {
            inner,
            limits,
            depth: 0,
            stack: Vec::new(),
            buffered_text: None,
            peeked: None,
        })
    }

    /// Current element nesting depth (0 outside the root element).
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Byte offset of the parser in the input.
    pub fn position(&self) -> u64 {
        self.inner.buffer_position()
    }

    /// The next node, or `None` at the end of the document. Adjacent text and entity
    /// references are merged into one [`Node::Text`].
    pub fn next_node(&mut self) -> Result<Option<Node>, XmlError> {
        if let Some(node) = self.peeked.take() {
            return Ok(Some(node));
        }
        loop {
            let position = self.inner.buffer_position();
            let (resolve, event) =
                self.inner
                    .read_resolved_event()
                    .map_err(|e| XmlError::Malformed {
                        position,
                        message: e.to_string(),
                    })?;
            let node = match event {
                Event::Text(t) => {
                    let text = t.xml10_content();
                    self.buffered_text
                        .get_or_insert_with(String::new)
                        .push_str(&text);
                    continue;
                }
                Event::CData(c) => {
                    let text = c.xml10_content();
                    self.buffered_text
                        .get_or_insert_with(String::new)
                        .push_str(&text);
                    continue;
                }
                Event::GeneralRef(r) => {
                    let resolved = resolve_entity(&r)?;
                    self.buffered_text
                        .get_or_insert_with(String::new)
                        .push(resolved);
                    continue;
                }
                Event::DocType(_) => return Err(XmlError::DtdForbidden),
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => continue,
                Event::Start(s) => {
                    let element = element(position, resolve, &s, false)?;
                    self.enter(&element)?;
                    Node::Start(element)
                }
                Event::Empty(s) => {
                    let element = element(position, resolve, &s, true)?;
                    if self.depth + 1 > self.limits.max_depth {
                        return Err(XmlError::TooDeep {
                            limit: self.limits.max_depth,
                            element: element.name.local,
                        });
                    }
                    Node::Start(element)
                }
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    let name = self.stack.pop().unwrap_or(QName {
                        ns: String::new(),
                        local: String::new(),
                    });
                    Node::End(name)
                }
                Event::Eof => {
                    if let Some(open) = self.stack.last() {
                        return Err(XmlError::UnexpectedEof(open.local.clone()));
                    }
                    if let Some(text) = self.buffered_text.take() {
                        return Ok(Some(Node::Text(text)));
                    }
                    return Ok(None);
                }
            };
            if let Some(text) = self.buffered_text.take() {
                self.peeked = Some(node);
                return Ok(Some(Node::Text(text)));
            }
            return Ok(Some(node));
        }
    }

    /// The next element start or end, skipping text (whitespace between elements).
    pub fn next_tag(&mut self) -> Result<Option<Node>, XmlError> {
        loop {
            match self.next_node()? {
                Some(Node::Text(_)) => continue,
                other => return Ok(other),
            }
        }
    }

    /// The root element of the document.
    pub fn root(&mut self) -> Result<Element, XmlError> {
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
    pub fn next_child(&mut self) -> Result<Option<Element>, XmlError> {
        match self.next_tag()? {
            Some(Node::Start(e)) => Ok(Some(e)),
            Some(Node::End(_)) => Ok(None),
            Some(Node::Text(_)) => Ok(None),
            None => Err(XmlError::UnexpectedEof("document".into())),
        }
    }

    /// The text content of `element` (which was just returned as a start), consuming its end.
    /// Child elements are refused.
    pub fn text_of(&mut self, element: &Element) -> Result<String, XmlError> {
        if element.empty {
            return Ok(String::new());
        }
        let mut out = String::new();
        loop {
            match self.next_node()? {
                Some(Node::Text(t)) => out.push_str(&t),
                Some(Node::End(_)) => return Ok(out),
                Some(Node::Start(child)) => {
                    return Err(XmlError::UnexpectedElement {
                        expected: format!("text in <{}>", element.name.local),
                        found: child.name.local,
                    });
                }
                None => return Err(XmlError::UnexpectedEof(element.name.local.clone())),
            }
        }
    }

    /// Skips the rest of `element` (just returned as a start), including all its descendants.
    pub fn skip(&mut self, element: &Element) -> Result<(), XmlError> {
        if element.empty {
            return Ok(());
        }
        // Count the nodes handed out rather than the reader's depth: an end tag read while text
        // was pending is handed out after that text.
        let mut open = 1usize;
        while open > 0 {
            match self.next_node()? {
                Some(Node::Start(e)) if !e.empty => open += 1,
                Some(Node::End(_)) => open -= 1,
                Some(_) => {}
                None => return Err(XmlError::UnexpectedEof(element.name.local.clone())),
            }
        }
        Ok(())
    }

    fn enter(&mut self, element: &Element) -> Result<(), XmlError> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(XmlError::TooDeep {
                limit: self.limits.max_depth,
                element: element.name.local.clone(),
            });
        }
        self.stack.push(element.name.clone());
        Ok(())
    }
}

fn element(
    position: u64,
    resolve: ResolveResult<'_>,
    start: &BytesStart<'_>,
    empty: bool,
) -> Result<Element, XmlError> {
    let malformed = |message: String| XmlError::Malformed { position, message };
    let ns = match resolve {
        ResolveResult::Bound(ns) => ns.as_ref().to_owned(),
        ResolveResult::Unbound => String::new(),
        ResolveResult::Unknown(prefix) => {
            return Err(malformed(format!("undeclared namespace prefix {prefix}")));
        }
    };
    let local = start.local_name().as_ref().to_owned();
    let mut attributes = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| malformed(e.to_string()))?;
        let key: &str = attr.key.as_ref();
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        let key = match key.split_once(':') {
            Some(("xml", _)) => key.to_owned(),
            Some((_, local)) => local.to_owned(),
            None => key.to_owned(),
        };
        let value =
            attr.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| match e {
                    quick_xml::Error::Escape(
                        quick_xml::escape::EscapeError::UnrecognizedEntity(_, name),
                    ) => XmlError::UnknownEntity(name),
                    other => malformed(other.to_string()),
                })?
                .into_owned();
        attributes.push((key, value));
    }
    Ok(Element {
        name: QName { ns, local },
        attributes,
        empty,
    })
}

fn resolve_entity(name: &str) -> Result<char, XmlError> {
    match name {
        "amp" => Ok('&'),
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "quot" => Ok('"'),
        "apos" => Ok('\''),
        _ => {
            let code = if let Some(hex) = name.strip_prefix("#x") {
                u32::from_str_radix(hex, 16).ok()
            } else if let Some(dec) = name.strip_prefix('#') {
                dec.parse::<u32>().ok()
            } else {
                return Err(XmlError::UnknownEntity(name.to_owned()));
            };
            code.and_then(char::from_u32)
                .ok_or_else(|| XmlError::UnknownEntity(name.to_owned()))
        }
    }
}

/// Escapes text for element content or a double-quoted attribute value.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &str, limits: Limits) -> Result<Vec<Node>, XmlError> {
        let mut reader = XmlReader::new(input.as_bytes(), limits)?;
        let mut nodes = Vec::new();
        while let Some(n) = reader.next_node()? {
            nodes.push(n);
        }
        Ok(nodes)
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
}
