//! Which official XSD (in `ihe-schemas/schema/`) validates which message root element.

use std::path::{Path, PathBuf};

/// ebRIM 3.0 (`rim:`).
pub const NS_RIM: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0";
/// ebRS 3.0 (`rs:`).
pub const NS_RS: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0";
/// ebRS 3.0 life-cycle manager (`lcm:`).
pub const NS_LCM: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0";
/// ebRS 3.0 query manager (`query:`).
pub const NS_QUERY: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0";
/// XDS.b repository messages (ITI-41, ITI-43).
pub const NS_XDSB: &str = "urn:ihe:iti:xds-b:2007";
/// XDS-I.b imaging document source messages (RAD-69).
pub const NS_XDSI: &str = "urn:ihe:rad:xdsi-b:2009";
/// Remove Metadata and Documents messages (ITI-86).
pub const NS_RMD: &str = "urn:ihe:iti:rmd:2017";

/// The XSD (relative to `ihe-schemas/schema/`) whose target namespace is `namespace`, for the
/// message root elements XDS and XDS-I.b exchange; `None` for any other namespace.
///
/// Per `ihe-schemas/README.md`: query.xsd for AdhocQueryRequest/Response, lcm.xsd for
/// SubmitObjectsRequest and RemoveObjectsRequest, rs.xsd for RegistryResponse, rim.xsd for a
/// standalone RegistryObjectList, and the IHE schemas for the XDS.b, XDS-I.b and RMD bodies.
pub fn relative_xsd_for_namespace(namespace: &str) -> Option<&'static str> {
    match namespace {
        NS_RIM => Some("ebRS/rim.xsd"),
        NS_RS => Some("ebRS/rs.xsd"),
        NS_LCM => Some("ebRS/lcm.xsd"),
        NS_QUERY => Some("ebRS/query.xsd"),
        NS_XDSB => Some("IHE/XDS.b_DocumentRepository.xsd"),
        NS_XDSI => Some("IHE/XDSI.b_ImagingDocumentSource.xsd"),
        NS_RMD => Some("IHE/RMD.xsd"),
        _ => None,
    }
}

/// The XSD file in the shared folder that validates a root element of this namespace.
pub fn xsd_for_namespace(shared: &Path, namespace: &str) -> Option<PathBuf> {
    relative_xsd_for_namespace(namespace)
        .map(|relative| shared.join("ihe-schemas").join("schema").join(relative))
}

/// Namespace URI and local name of a document's root element.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RootElement {
    pub namespace: String,
    pub local: String,
}

impl std::fmt::Display for RootElement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{{{}}}{}", self.namespace, self.local)
    }
}

/// The root element of `xml` (which must be well-formed XML without a DTD).
pub fn root_element(xml: &str) -> Result<RootElement, roxmltree::Error> {
    let document = roxmltree::Document::parse(xml)?;
    let root = document.root_element();
    Ok(RootElement {
        namespace: root.tag_name().namespace().unwrap_or_default().to_owned(),
        local: root.tag_name().name().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_xds_body_namespace_has_its_schema() {
        let cases = [
            (NS_QUERY, "ebRS/query.xsd"),
            (NS_LCM, "ebRS/lcm.xsd"),
            (NS_RS, "ebRS/rs.xsd"),
            (NS_RIM, "ebRS/rim.xsd"),
            (NS_XDSB, "IHE/XDS.b_DocumentRepository.xsd"),
            (NS_XDSI, "IHE/XDSI.b_ImagingDocumentSource.xsd"),
            (NS_RMD, "IHE/RMD.xsd"),
        ];
        for (namespace, xsd) in cases {
            assert_eq!(relative_xsd_for_namespace(namespace), Some(xsd));
        }
    }

    #[test]
    fn regrep_2_1_has_no_schema_here() {
        assert_eq!(
            relative_xsd_for_namespace("urn:oasis:names:tc:ebxml-regrep:registry:xsd:2.1"),
            None
        );
    }

    #[test]
    fn root_element_ignores_the_prefix() {
        let root = root_element(
            r#"<q:AdhocQueryRequest xmlns:q="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"/>"#,
        )
        .expect("well-formed");
        assert_eq!(root.namespace, NS_QUERY);
        assert_eq!(root.local, "AdhocQueryRequest");
    }
}
