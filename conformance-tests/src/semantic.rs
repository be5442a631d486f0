//! Equality in meaning of two XML documents, and a normalised tree to compare and re-serialise.
//!
//! Both documents are parsed into a normalised tree:
//! - elements and attributes are named by namespace URI + local name; prefixes and where the
//!   namespace declarations sit are ignored (namespace declarations are not attributes);
//! - attributes form a map, so their order is ignored;
//! - children keep their order (ebRIM sequences are ordered; slots, values and classifications
//!   keep the order the sender chose);
//! - comments and processing instructions are dropped; adjacent text (CDATA included) is merged;
//!   text made only of whitespace is dropped; any other text is compared exactly.
//!
//! Allowed differences ("equal in meaning"), each applied before comparing:
//! 1. [`XSD_ATTRIBUTE_DEFAULTS`]: an attribute the official XSD declares with a `default` is
//!    treated as present with that default when it is absent. Reason: a schema-aware reader
//!    (and the post-schema-validation infoset) sees the two forms as the same value, and the ebRS
//!    model stores some of them as plain values (`returnComposedObjects`, `federated`,
//!    `startIndex`) that a writer cannot tell apart from "absent".
//!
//! 2. [`IGNORED_ATTRIBUTES`]: `xsi:schemaLocation` and `xsi:noNamespaceSchemaLocation` are
//!    dropped. Reason: XML Schema Part 1 §4.3.2 defines them as hints where a validator may look
//!    for a schema; they carry no content (`xsi:type` and `xsi:nil` do, and are compared).
//!
//! Nothing else is allowed: a changed, missing or extra element, attribute or text is reported
//! with the path of the first difference.

use std::collections::BTreeMap;
use std::fmt;

const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";
const NS_XOP: &str = "http://www.w3.org/2004/08/xop/include";
const NS_RIM: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0";
const NS_RS: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0";
const NS_LCM: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0";
const NS_QUERY: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0";

/// One attribute default declared in the official ebRIM/ebRS 3.0 XSDs, for an element XDS uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeDefault {
    /// Namespace of the element that carries the attribute.
    pub element_namespace: &'static str,
    /// Local name of the element.
    pub element: &'static str,
    /// Namespace of the attribute (`""` when unqualified, as all ebRIM attributes are).
    pub attribute_namespace: &'static str,
    /// Local name of the attribute.
    pub attribute: &'static str,
    /// The `default` the XSD declares.
    pub default: &'static str,
    /// Where the XSD declares it.
    pub declared_in: &'static str,
}

const fn default_of(
    element_namespace: &'static str,
    element: &'static str,
    attribute: &'static str,
    default: &'static str,
    declared_in: &'static str,
) -> AttributeDefault {
    AttributeDefault {
        element_namespace,
        element,
        attribute_namespace: "",
        attribute,
        default,
        declared_in,
    }
}

/// Allowance 1: attribute defaults of the official XSDs (`ihe-schemas/schema/ebRS/*.xsd`).
pub const XSD_ATTRIBUTE_DEFAULTS: [AttributeDefault; 14] = [
    default_of(
        NS_QUERY,
        "ResponseOption",
        "returnType",
        "RegistryObject",
        "query.xsd ResponseOptionType",
    ),
    default_of(
        NS_QUERY,
        "ResponseOption",
        "returnComposedObjects",
        "false",
        "query.xsd ResponseOptionType",
    ),
    default_of(
        NS_QUERY,
        "AdhocQueryRequest",
        "federated",
        "false",
        "query.xsd AdhocQueryRequest",
    ),
    default_of(
        NS_QUERY,
        "AdhocQueryRequest",
        "startIndex",
        "0",
        "query.xsd AdhocQueryRequest",
    ),
    default_of(
        NS_QUERY,
        "AdhocQueryRequest",
        "maxResults",
        "-1",
        "query.xsd AdhocQueryRequest",
    ),
    default_of(
        NS_QUERY,
        "AdhocQueryResponse",
        "startIndex",
        "0",
        "query.xsd AdhocQueryResponse",
    ),
    default_of(
        NS_LCM,
        "RemoveObjectsRequest",
        "deletionScope",
        "urn:oasis:names:tc:ebxml-regrep:DeletionScopeType:DeleteAll",
        "lcm.xsd RemoveObjectsRequest",
    ),
    default_of(
        NS_RS,
        "RegistryError",
        "severity",
        "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error",
        "rs.xsd RegistryError",
    ),
    AttributeDefault {
        element_namespace: NS_RIM,
        element: "LocalizedString",
        attribute_namespace: NS_XML,
        attribute: "lang",
        default: "en-US",
        declared_in: "rim.xsd LocalizedStringType",
    },
    default_of(
        NS_RIM,
        "LocalizedString",
        "charset",
        "UTF-8",
        "rim.xsd LocalizedStringType",
    ),
    default_of(
        NS_RIM,
        "ObjectRef",
        "createReplica",
        "false",
        "rim.xsd ObjectRefType",
    ),
    default_of(
        NS_RIM,
        "ExtrinsicObject",
        "mimeType",
        "application/octet-stream",
        "rim.xsd ExtrinsicObjectType",
    ),
    default_of(
        NS_RIM,
        "ExtrinsicObject",
        "isOpaque",
        "false",
        "rim.xsd ExtrinsicObjectType",
    ),
    default_of(
        NS_RIM,
        "VersionInfo",
        "versionName",
        "1.1",
        "rim.xsd VersionInfoType",
    ),
];

const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Allowance 2: attributes that are schema-location hints, not content (namespace, local name).
pub const IGNORED_ATTRIBUTES: [(&str, &str); 2] = [
    (NS_XSI, "schemaLocation"),
    (NS_XSI, "noNamespaceSchemaLocation"),
];

/// `rim:ContentVersionInfo` is also a `VersionInfoType`.
const CONTENT_VERSION_INFO_DEFAULT: AttributeDefault = default_of(
    NS_RIM,
    "ContentVersionInfo",
    "versionName",
    "1.1",
    "rim.xsd VersionInfoType",
);

/// A namespace-qualified name (`namespace` is `""` for no namespace).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QName {
    pub namespace: String,
    pub local: String,
}

impl QName {
    fn new(namespace: Option<&str>, local: &str) -> Self {
        QName {
            namespace: namespace.unwrap_or_default().to_owned(),
            local: local.to_owned(),
        }
    }

    /// Whether this is `local` in `namespace`.
    pub fn is(&self, namespace: &str, local: &str) -> bool {
        self.namespace == namespace && self.local == local
    }
}

impl fmt::Display for QName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = match self.namespace.as_str() {
            "" => return f.write_str(&self.local),
            NS_RIM => "rim",
            NS_RS => "rs",
            NS_LCM => "lcm",
            NS_QUERY => "query",
            NS_XML => "xml",
            NS_XOP => "xop",
            "urn:ihe:iti:xds-b:2007" => "xdsb",
            "urn:ihe:rad:xdsi-b:2009" => "xdsi",
            "urn:ihe:iti:rmd:2017" => "rmd",
            "http://www.w3.org/2003/05/soap-envelope" => "soap",
            other => return write!(f, "{{{other}}}{}", self.local),
        };
        write!(f, "{prefix}:{}", self.local)
    }
}

/// A child of a normalised element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    /// Text that is not only whitespace, adjacent pieces merged.
    Text(String),
}

/// A normalised element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub name: QName,
    pub attributes: BTreeMap<QName, String>,
    pub children: Vec<Node>,
}

/// Why a document could not be normalised.
#[derive(Debug, thiserror::Error)]
#[error("not well-formed XML: {0}")]
pub struct ParseError(#[from] roxmltree::Error);

/// Why two documents are not equal in meaning.
#[derive(Debug, thiserror::Error)]
pub enum Inequality {
    #[error("the expected document cannot be read: {0}")]
    ExpectedUnreadable(ParseError),
    #[error("the actual document cannot be read: {0}")]
    ActualUnreadable(ParseError),
    #[error("{0}")]
    Differs(Difference),
}

/// The first difference found, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// Path of the element, e.g. `/lcm:SubmitObjectsRequest/rim:RegistryObjectList/rim:ExtrinsicObject[1][@id='Document01']`.
    pub path: String,
    pub kind: DifferenceKind,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {}: {}", self.path, self.kind)
    }
}

/// What differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DifferenceKind {
    ElementName {
        expected: String,
        actual: String,
    },
    AttributeMissing {
        attribute: String,
        expected: String,
    },
    AttributeExtra {
        attribute: String,
        actual: String,
    },
    AttributeValue {
        attribute: String,
        expected: String,
        actual: String,
    },
    Text {
        expected: String,
        actual: String,
    },
    TextMissing {
        expected: String,
    },
    TextExtra {
        actual: String,
    },
    ElementMissing {
        expected: String,
    },
    ElementExtra {
        actual: String,
    },
}

impl fmt::Display for DifferenceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DifferenceKind::ElementName { expected, actual } => {
                write!(f, "expected element <{expected}>, found <{actual}>")
            }
            DifferenceKind::AttributeMissing {
                attribute,
                expected,
            } => write!(f, "attribute {attribute}={expected:?} is missing"),
            DifferenceKind::AttributeExtra { attribute, actual } => {
                write!(f, "unexpected attribute {attribute}={actual:?}")
            }
            DifferenceKind::AttributeValue {
                attribute,
                expected,
                actual,
            } => write!(
                f,
                "attribute {attribute} is {actual:?}, expected {expected:?}"
            ),
            DifferenceKind::Text { expected, actual } => {
                write!(f, "text is {actual:?}, expected {expected:?}")
            }
            DifferenceKind::TextMissing { expected } => write!(f, "text {expected:?} is missing"),
            DifferenceKind::TextExtra { actual } => write!(f, "unexpected text {actual:?}"),
            DifferenceKind::ElementMissing { expected } => {
                write!(f, "child <{expected}> is missing")
            }
            DifferenceKind::ElementExtra { actual } => write!(f, "unexpected child <{actual}>"),
        }
    }
}

/// Parses `xml` into its normalised tree, with the XSD attribute defaults filled in.
pub fn normalise(xml: &str) -> Result<Element, ParseError> {
    let document = roxmltree::Document::parse(xml)?;
    Ok(Element::from_node(document.root_element()))
}

/// `Ok` when `actual` is equal in meaning to `expected`; otherwise the first difference.
pub fn compare(expected: &str, actual: &str) -> Result<(), Inequality> {
    let expected = normalise(expected).map_err(Inequality::ExpectedUnreadable)?;
    let actual = normalise(actual).map_err(Inequality::ActualUnreadable)?;
    match first_difference(&expected, &actual) {
        Some(difference) => Err(Inequality::Differs(difference)),
        None => Ok(()),
    }
}

/// The first difference between two normalised trees, in document order.
pub fn first_difference(expected: &Element, actual: &Element) -> Option<Difference> {
    let mut path = String::new();
    push_step(&mut path, expected, 1);
    if expected.name != actual.name {
        return Some(Difference {
            path: String::from("/"),
            kind: DifferenceKind::ElementName {
                expected: expected.name.to_string(),
                actual: actual.name.to_string(),
            },
        });
    }
    diff_element(&mut path, expected, actual)
}

fn diff_element(path: &mut String, expected: &Element, actual: &Element) -> Option<Difference> {
    for (name, expected_value) in &expected.attributes {
        match actual.attributes.get(name) {
            None => {
                return at(
                    path,
                    DifferenceKind::AttributeMissing {
                        attribute: name.to_string(),
                        expected: expected_value.clone(),
                    },
                );
            }
            Some(actual_value) if actual_value != expected_value => {
                return at(
                    path,
                    DifferenceKind::AttributeValue {
                        attribute: name.to_string(),
                        expected: expected_value.clone(),
                        actual: actual_value.clone(),
                    },
                );
            }
            Some(_) => {}
        }
    }
    if let Some((name, value)) = actual
        .attributes
        .iter()
        .find(|(name, _)| !expected.attributes.contains_key(*name))
    {
        return at(
            path,
            DifferenceKind::AttributeExtra {
                attribute: name.to_string(),
                actual: value.clone(),
            },
        );
    }
    let mut seen: BTreeMap<&QName, usize> = BTreeMap::new();
    for (index, expected_child) in expected.children.iter().enumerate() {
        let actual_child = actual.children.get(index);
        match (expected_child, actual_child) {
            (Node::Text(e), Some(Node::Text(a))) if e == a => {}
            (Node::Text(e), Some(Node::Text(a))) => {
                return at(
                    path,
                    DifferenceKind::Text {
                        expected: e.clone(),
                        actual: a.clone(),
                    },
                );
            }
            (Node::Text(e), _) => {
                return at(
                    path,
                    DifferenceKind::TextMissing {
                        expected: e.clone(),
                    },
                );
            }
            (Node::Element(e), Some(Node::Element(a))) => {
                let position = seen.entry(&e.name).or_insert(0);
                *position += 1;
                if e.name != a.name {
                    return at(
                        path,
                        DifferenceKind::ElementName {
                            expected: e.name.to_string(),
                            actual: a.name.to_string(),
                        },
                    );
                }
                let length = path.len();
                push_step(path, e, *position);
                if let Some(difference) = diff_element(path, e, a) {
                    return Some(difference);
                }
                path.truncate(length);
            }
            (Node::Element(e), _) => {
                return at(
                    path,
                    DifferenceKind::ElementMissing {
                        expected: e.name.to_string(),
                    },
                );
            }
        }
    }
    match actual.children.get(expected.children.len()) {
        Some(Node::Element(a)) => at(
            path,
            DifferenceKind::ElementExtra {
                actual: a.name.to_string(),
            },
        ),
        Some(Node::Text(a)) => at(path, DifferenceKind::TextExtra { actual: a.clone() }),
        None => None,
    }
}

fn at(path: &str, kind: DifferenceKind) -> Option<Difference> {
    Some(Difference {
        path: path.to_owned(),
        kind,
    })
}

/// Appends `/name[position]`, with the `id` or `name` attribute as a hint when there is one.
fn push_step(path: &mut String, element: &Element, position: usize) {
    use fmt::Write;
    let _ = write!(path, "/{}[{position}]", element.name);
    for hint in ["id", "name"] {
        if let Some(value) = element.attributes.get(&QName::new(None, hint)) {
            let _ = write!(path, "[@{hint}='{value}']");
            break;
        }
    }
}

impl Element {
    fn from_node(node: roxmltree::Node<'_, '_>) -> Self {
        let tag = node.tag_name();
        let name = QName::new(tag.namespace(), tag.name());
        let mut attributes: BTreeMap<QName, String> = node
            .attributes()
            .filter(|a| {
                !IGNORED_ATTRIBUTES
                    .iter()
                    .any(|(ns, local)| a.namespace() == Some(*ns) && a.name() == *local)
            })
            .map(|a| (QName::new(a.namespace(), a.name()), a.value().to_owned()))
            .collect();
        for default in XSD_ATTRIBUTE_DEFAULTS
            .iter()
            .chain([&CONTENT_VERSION_INFO_DEFAULT])
            .filter(|d| name.is(d.element_namespace, d.element))
        {
            attributes
                .entry(QName::new(
                    Some(default.attribute_namespace),
                    default.attribute,
                ))
                .or_insert_with(|| default.default.to_owned());
        }
        let mut children = Vec::new();
        let mut text = String::new();
        for child in node.children() {
            if child.is_element() {
                flush_text(&mut text, &mut children);
                children.push(Node::Element(Element::from_node(child)));
            } else if child.is_text() {
                text.push_str(child.text().unwrap_or_default());
            }
        }
        flush_text(&mut text, &mut children);
        Element {
            name,
            attributes,
            children,
        }
    }

    /// The element children.
    pub fn child_elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|c| match c {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The text content (empty when there is none).
    pub fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|c| match c {
                Node::Text(t) => Some(t.as_str()),
                Node::Element(_) => None,
            })
            .collect()
    }

    /// The value of an unqualified attribute.
    pub fn attribute(&self, local: &str) -> Option<&str> {
        self.attributes
            .get(&QName::new(None, local))
            .map(String::as_str)
    }

    /// Every descendant element (this one excluded), in document order.
    pub fn descendants(&self) -> Vec<&Element> {
        let mut found = Vec::new();
        let mut stack: Vec<&Element> = self.child_elements().collect();
        stack.reverse();
        while let Some(element) = stack.pop() {
            found.push(element);
            let start = stack.len();
            stack.extend(element.child_elements());
            stack[start..].reverse();
        }
        found
    }

    /// XOP decoding (XOP 1.0 §3.2): every `xop:Include href="cid:ID"` is replaced by the base64
    /// text of the part `resolve(ID)` returns. Returns how many were replaced, or the first
    /// content id that `resolve` does not know.
    pub fn resolve_xop_includes(
        &mut self,
        resolve: &dyn Fn(&str) -> Option<Vec<u8>>,
    ) -> Result<usize, String> {
        use base64::Engine;
        let mut replaced = 0;
        for child in &mut self.children {
            let Node::Element(element) = child else {
                continue;
            };
            if element.name.is(NS_XOP, "Include") {
                let href = element.attribute("href").unwrap_or_default();
                let content_id = href.strip_prefix("cid:").unwrap_or(href);
                let bytes = resolve(content_id).ok_or_else(|| href.to_owned())?;
                *child = Node::Text(base64::engine::general_purpose::STANDARD.encode(bytes));
                replaced += 1;
            } else {
                replaced += element.resolve_xop_includes(resolve)?;
            }
        }
        Ok(replaced)
    }

    /// This tree as a standalone XML document; each namespace gets a generated prefix declared
    /// on the root element.
    pub fn to_xml(&self) -> String {
        let mut namespaces: Vec<&str> = Vec::new();
        self.collect_namespaces(&mut namespaces);
        let mut out = String::new();
        self.write(&mut out, &namespaces, true);
        out
    }

    fn collect_namespaces<'a>(&'a self, namespaces: &mut Vec<&'a str>) {
        let names = std::iter::once(&self.name).chain(self.attributes.keys());
        for name in names {
            let ns = name.namespace.as_str();
            if !ns.is_empty() && ns != NS_XML && !namespaces.contains(&ns) {
                namespaces.push(ns);
            }
        }
        for child in self.child_elements() {
            child.collect_namespaces(namespaces);
        }
    }

    fn write(&self, out: &mut String, namespaces: &[&str], root: bool) {
        let tag = qualified(&self.name, namespaces);
        out.push('<');
        out.push_str(&tag);
        if root {
            for (index, ns) in namespaces.iter().enumerate() {
                out.push_str(&format!(" xmlns:ns{index}=\"{}\"", escape(ns)));
            }
        }
        for (name, value) in &self.attributes {
            out.push_str(&format!(
                " {}=\"{}\"",
                qualified(name, namespaces),
                escape(value)
            ));
        }
        if self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        for child in &self.children {
            match child {
                Node::Element(element) => element.write(out, namespaces, false),
                Node::Text(text) => out.push_str(&escape(text)),
            }
        }
        out.push_str("</");
        out.push_str(&tag);
        out.push('>');
    }
}

fn qualified(name: &QName, namespaces: &[&str]) -> String {
    if name.namespace == NS_XML {
        return format!("xml:{}", name.local);
    }
    match namespaces.iter().position(|ns| *ns == name.namespace) {
        Some(index) => format!("ns{index}:{}", name.local),
        None => name.local.clone(),
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

fn flush_text(text: &mut String, children: &mut Vec<Node>) {
    if !text.trim_matches(is_xml_whitespace).is_empty() {
        children.push(Node::Text(std::mem::take(text)));
    }
    text.clear();
}

/// XML 1.0 `S`: space, tab, carriage return, line feed.
fn is_xml_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

#[cfg(test)]
mod tests;
