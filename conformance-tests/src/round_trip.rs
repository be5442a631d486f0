//! Reading a message body with `schemas` and writing it back, chosen by its root element.

use schemas::ebrim::{
    AdhocQueryRequest, AdhocQueryResponse, RegistryObjectList, RegistryResponse,
    RemoveObjectsRequest, SubmitObjectsRequest,
};
use schemas::ihe::{
    ProvideAndRegisterDocumentSetRequest, RemoveDocumentsRequest, RetrieveDocumentSetRequest,
    RetrieveDocumentSetResponse, RetrieveImagingDocumentSetRequest,
};
use schemas::xml::{Limits, XmlError};

use crate::xsd::{
    NS_LCM, NS_QUERY, NS_RIM, NS_RMD, NS_RS, NS_XDSB, NS_XDSI, RootElement, root_element,
};

/// Why a document could not be read and written back.
#[derive(Debug, thiserror::Error)]
pub enum RoundTripError {
    #[error("not well-formed XML: {0}")]
    NotXml(#[from] roxmltree::Error),
    #[error("schemas writes no message with root element {0}")]
    NoMessageKind(RootElement),
    #[error("schemas cannot read this {root}: {source}")]
    Unreadable { root: RootElement, source: XmlError },
}

/// Root elements of every message body `schemas` reads and writes standalone.
pub const MESSAGE_ROOTS: [(&str, &str); 11] = [
    (NS_LCM, "SubmitObjectsRequest"),
    (NS_LCM, "RemoveObjectsRequest"),
    (NS_RS, "RegistryResponse"),
    (NS_QUERY, "AdhocQueryRequest"),
    (NS_QUERY, "AdhocQueryResponse"),
    (NS_RIM, "RegistryObjectList"),
    (NS_XDSB, "ProvideAndRegisterDocumentSetRequest"),
    (NS_XDSB, "RetrieveDocumentSetRequest"),
    (NS_XDSB, "RetrieveDocumentSetResponse"),
    (NS_XDSI, "RetrieveImagingDocumentSetRequest"),
    (NS_RMD, "RemoveDocumentsRequest"),
];

/// Reads `xml` with the `schemas` type of its root element and writes it back.
pub fn read_and_write(xml: &str) -> Result<String, RoundTripError> {
    let root = root_element(xml)?;
    let input = xml.as_bytes();
    let limits = Limits::default();
    let written = match (root.namespace.as_str(), root.local.as_str()) {
        (NS_LCM, "SubmitObjectsRequest") => {
            SubmitObjectsRequest::from_xml(input, limits).map(|m| m.to_xml())
        }
        (NS_LCM, "RemoveObjectsRequest") => {
            RemoveObjectsRequest::from_xml(input, limits).map(|m| m.to_xml())
        }
        (NS_RS, "RegistryResponse") => {
            RegistryResponse::from_xml(input, limits).map(|m| m.to_xml())
        }
        (NS_QUERY, "AdhocQueryRequest") => {
            AdhocQueryRequest::from_xml(input, limits).map(|m| m.to_xml())
        }
        (NS_QUERY, "AdhocQueryResponse") => {
            AdhocQueryResponse::from_xml(input, limits).map(|m| m.to_xml())
        }
        (NS_RIM, "RegistryObjectList") => {
            RegistryObjectList::from_xml(input, limits).map(|m| m.to_xml())
        }
        (NS_XDSB, "ProvideAndRegisterDocumentSetRequest") => {
            ProvideAndRegisterDocumentSetRequest::from_xml(input, limits).map(|m| m.to_xml())
        }
        (NS_XDSB, "RetrieveDocumentSetRequest") => {
            RetrieveDocumentSetRequest::from_xml(input, limits).map(|m| m.to_xml())
        }
        (NS_XDSB, "RetrieveDocumentSetResponse") => {
            RetrieveDocumentSetResponse::from_xml(input, limits).map(|m| m.to_xml())
        }
        (NS_XDSI, "RetrieveImagingDocumentSetRequest") => {
            RetrieveImagingDocumentSetRequest::from_xml(input, limits).map(|m| m.to_xml())
        }
        (NS_RMD, "RemoveDocumentsRequest") => {
            RemoveDocumentsRequest::from_xml(input, limits).map(|m| m.to_xml())
        }
        _ => return Err(RoundTripError::NoMessageKind(root)),
    };
    written.map_err(|source| RoundTripError::Unreadable { root, source })
}

/// Whether `schemas` has a message type for this root element.
pub fn is_message_root(root: &RootElement) -> bool {
    MESSAGE_ROOTS
        .iter()
        .any(|(ns, local)| root.namespace == *ns && root.local == *local)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantic::compare;

    #[test]
    fn a_registry_response_reads_and_writes_back_equal_in_meaning() {
        let input = r#"<rs:RegistryResponse xmlns:rs="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0" status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"/>"#;
        let written = read_and_write(input).expect("readable");
        assert!(compare(input, &written).is_ok(), "{written}");
    }

    #[test]
    fn an_unknown_root_is_no_message_kind() {
        let input =
            r#"<SubmitObjectsRequest xmlns="urn:oasis:names:tc:ebxml-regrep:registry:xsd:2.1"/>"#;
        assert!(matches!(
            read_and_write(input),
            Err(RoundTripError::NoMessageKind(_))
        ));
    }

    #[test]
    fn every_message_root_has_a_schema() {
        for (namespace, _) in MESSAGE_ROOTS {
            assert!(crate::xsd::relative_xsd_for_namespace(namespace).is_some());
        }
    }
}
