//! A small owned XML element tree for rewriting testkit metadata (symbolic ids, uniqueIds,
//! patient ids, RegRep 2.1 → 3.0), read with `roxmltree` and written back as namespaced XML.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One XML element: namespace, local name, unqualified attributes (plus `xml:lang`), children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub namespace: Option<String>,
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Node>,
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
}

/// Why a document could not be read into a tree.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("not well-formed XML: {0}")]
    Parse(#[from] roxmltree::Error),
}

/// XML namespace of `xml:lang`.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

impl Element {
    /// An element with no attributes or children.
    pub fn new(namespace: Option<&str>, name: &str) -> Element {
        Element {
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
            attributes: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Reads a whole document (DTDs refused by `roxmltree`'s defaults).
    pub fn parse(xml: &str) -> Result<Element, TreeError> {
        let document = roxmltree::Document::parse(xml)?;
        Ok(Element::from_node(document.root_element()))
    }

    /// Copies a `roxmltree` element and its descendants.
    pub fn from_node(node: roxmltree::Node<'_, '_>) -> Element {
        let attributes = node
            .attributes()
            .map(|a| {
                let name = match a.namespace() {
                    Some(XML_NS) => format!("xml:{}", a.name()),
                    _ => a.name().to_owned(),
                };
                (name, a.value().to_owned())
            })
            .collect();
        let children = node
            .children()
            .filter_map(|child| {
                if child.is_element() {
                    Some(Node::Element(Element::from_node(child)))
                } else if child.is_text() {
                    child.text().map(|t| Node::Text(t.to_owned()))
                } else {
                    None
                }
            })
            .collect();
        Element {
            namespace: node.tag_name().namespace().map(str::to_owned),
            name: node.tag_name().name().to_owned(),
            attributes,
            children,
        }
    }

    /// The value of an unqualified attribute.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets (or adds) an attribute.
    pub fn set_attribute(&mut self, name: &str, value: &str) {
        match self.attributes.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value.to_owned(),
            None => self.attributes.push((name.to_owned(), value.to_owned())),
        }
    }

    /// The element's own text (its text children, concatenated).
    pub fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|c| match c {
                Node::Text(t) => Some(t.as_str()),
                Node::Element(_) => None,
            })
            .collect()
    }

    /// Child elements.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|c| match c {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// Child elements, mutable.
    pub fn elements_mut(&mut self) -> impl Iterator<Item = &mut Element> {
        self.children.iter_mut().filter_map(|c| match c {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// Visits this element and every descendant element, depth first.
    pub fn walk_mut(&mut self, visit: &mut dyn FnMut(&mut Element)) {
        visit(self);
        for child in self.elements_mut() {
            child.walk_mut(visit);
        }
    }

    /// Visits this element and every descendant element, depth first.
    pub fn walk(&self, visit: &mut dyn FnMut(&Element)) {
        visit(self);
        for child in self.elements() {
            child.walk(visit);
        }
    }

    /// Serialises the element; every namespace in use is declared on it with a conventional prefix.
    pub fn to_xml(&self) -> String {
        let mut prefixes = BTreeMap::new();
        self.collect_namespaces(&mut prefixes);
        let mut out = String::new();
        self.write(&mut out, &prefixes, true);
        out
    }

    fn collect_namespaces(&self, prefixes: &mut BTreeMap<String, String>) {
        if let Some(ns) = &self.namespace
            && !prefixes.contains_key(ns)
        {
            let prefix = conventional_prefix(ns)
                .map_or_else(|| format!("ns{}", prefixes.len()), str::to_owned);
            prefixes.insert(ns.clone(), prefix);
        }
        for child in self.elements() {
            child.collect_namespaces(prefixes);
        }
    }

    fn qualified(&self, prefixes: &BTreeMap<String, String>) -> String {
        match self.namespace.as_ref().and_then(|ns| prefixes.get(ns)) {
            Some(prefix) => format!("{prefix}:{}", self.name),
            None => self.name.clone(),
        }
    }

    fn write(&self, out: &mut String, prefixes: &BTreeMap<String, String>, root: bool) {
        let name = self.qualified(prefixes);
        out.push('<');
        out.push_str(&name);
        if root {
            for (ns, prefix) in prefixes {
                let _ = write!(out, " xmlns:{prefix}=\"{}\"", escape(ns));
            }
        }
        for (attr, value) in &self.attributes {
            let _ = write!(out, " {attr}=\"{}\"", escape(value));
        }
        if self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        for child in &self.children {
            match child {
                Node::Element(e) => e.write(out, prefixes, false),
                Node::Text(t) => out.push_str(&escape(t)),
            }
        }
        let _ = write!(out, "</{name}>");
    }
}

fn conventional_prefix(namespace: &str) -> Option<&'static str> {
    Some(match namespace {
        schemas::ebrim::NS_RIM => "rim",
        schemas::ebrim::NS_LCM => "lcm",
        schemas::ebrim::NS_QUERY => "query",
        schemas::ebrim::NS_RS => "rs",
        crate::nist::convert::NS_RIM_21 => "rim21",
        crate::nist::convert::NS_RS_21 => "rs21",
        _ => return None,
    })
}

/// Escapes text for an attribute value or character data.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_reads_and_writes_back_with_its_namespaces() {
        let xml = r#"<a:x xmlns:a="urn:example" k="v &amp; w"><a:y xml:lang="en">t</a:y></a:x>"#;
        let tree = Element::parse(xml).unwrap();
        assert_eq!(tree.attribute("k"), Some("v & w"));
        let written = tree.to_xml();
        assert_eq!(Element::parse(&written).unwrap(), tree);
        assert!(written.contains("xml:lang=\"en\""), "{written}");
    }

    #[test]
    fn a_doctype_is_refused() {
        let xml = "<!DOCTYPE x [<!ENTITY e \"boom\">]><x>&e;</x>";
        assert!(Element::parse(xml).is_err());
    }
}
