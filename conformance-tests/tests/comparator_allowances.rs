//! The attribute defaults the semantic comparator accepts are the ones the official XSDs declare.
#![cfg(feature = "peers")]

use conformance_tests::semantic::XSD_ATTRIBUTE_DEFAULTS;
use conformance_tests::shared::shared_dir;

const NS_XSD: &str = "http://www.w3.org/2001/XMLSchema";

#[test]
fn every_allowed_attribute_default_is_declared_in_the_official_xsd() {
    let shared = shared_dir().unwrap_or_else(|e| panic!("{e}"));
    let mut missing = Vec::new();
    for allowed in XSD_ATTRIBUTE_DEFAULTS {
        let file = allowed.declared_in.split(' ').next().unwrap_or_default();
        let path = shared.join("ihe-schemas/schema/ebRS").join(file);
        let xsd = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let document =
            roxmltree::Document::parse(&xsd).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let reference = format!("xml:{}", allowed.attribute);
        let declared = document.descendants().any(|node| {
            node.tag_name().namespace() == Some(NS_XSD)
                && node.tag_name().name() == "attribute"
                && (node.attribute("name") == Some(allowed.attribute)
                    || node.attribute("ref") == Some(reference.as_str()))
                && node.attribute("default") == Some(allowed.default)
        });
        if !declared {
            missing.push(format!(
                "{}/@{} default {:?} not declared in {}",
                allowed.element, allowed.attribute, allowed.default, allowed.declared_in
            ));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
