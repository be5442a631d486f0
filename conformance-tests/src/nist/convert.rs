//! ebXML RegRep 2.1 → 3.0 conversion of testkit metadata: many core NIST Register and
//! Provide-and-Register files are `rs:SubmitObjectsRequest` 2.1 documents, which an XDS.b actor
//! (ITI-42, ITI-41) only accepts as `lcm:SubmitObjectsRequest` 3.0.
//!
//! Rules (ebRIM 2.1 → ebRIM 3.0, ITI TF-3 4.2.3):
//! - `rs:SubmitObjectsRequest` → `lcm:SubmitObjectsRequest`; `rim:LeafRegistryObjectList` →
//!   `rim:RegistryObjectList`.
//! - 2.1 `ObjectRef`s are dropped: they declared the classification schemes a 2.1 registry had
//!   to know; in 3.0 a reference to a known object needs no ObjectRef.
//! - Every registry object gets an `id` (3.0 requires it): a symbolic `ID_<n>` when absent.
//! - Children are put in 3.0 order: Slot, Name, Description, Classification, ExternalIdentifier.
//! - A nested Classification gets `classifiedObject`, a nested ExternalIdentifier gets
//!   `registryObject` (required in 3.0): the enclosing object's id.
//! - `associationType` and `status` short names become their 3.0 URNs.
//! - Attributes 3.0 does not define on these elements are dropped.

use schemas::constants::{association_type, status};
use schemas::ebrim::{NS_LCM, NS_RIM};

use super::tree::{Element, Node};

/// ebRIM 2.1 namespace.
pub const NS_RIM_21: &str = "urn:oasis:names:tc:ebxml-regrep:rim:xsd:2.1";
/// ebRS 2.1 namespace (SubmitObjectsRequest).
pub const NS_RS_21: &str = "urn:oasis:names:tc:ebxml-regrep:registry:xsd:2.1";

/// Why a 2.1 document could not be converted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConvertError {
    #[error("{namespace}:{name} is not a RegRep 2.1 SubmitObjectsRequest")]
    NotSubmitObjectsRequest { namespace: String, name: String },
    #[error("rim 2.1 element {0} has no rim 3.0 counterpart in an XDS submission")]
    UnsupportedElement(String),
}

/// Registry object elements whose children are reordered and whose ids are required.
const REGISTRY_OBJECTS: [&str; 5] = [
    "ExtrinsicObject",
    "RegistryPackage",
    "Classification",
    "ExternalIdentifier",
    "Association",
];

/// Attributes ebRIM 3.0 defines on the registry objects of an XDS submission.
const RIM_30_ATTRIBUTES: [&str; 17] = [
    "id",
    "lid",
    "home",
    "objectType",
    "status",
    "mimeType",
    "isOpaque",
    "classificationScheme",
    "classifiedObject",
    "classificationNode",
    "nodeRepresentation",
    "registryObject",
    "identificationScheme",
    "value",
    "associationType",
    "sourceObject",
    "targetObject",
];

/// True when `document` is a RegRep 2.1 message (its root is in an ebXML 2.1 namespace).
pub fn is_regrep_21(document: &Element) -> bool {
    matches!(document.namespace.as_deref(), Some(NS_RS_21 | NS_RIM_21))
}

/// Converts an `rs:SubmitObjectsRequest` 2.1 into an `lcm:SubmitObjectsRequest` 3.0.
pub fn submit_objects_request_21_to_30(document: &Element) -> Result<Element, ConvertError> {
    if document.namespace.as_deref() != Some(NS_RS_21) || document.name != "SubmitObjectsRequest" {
        return Err(ConvertError::NotSubmitObjectsRequest {
            namespace: document.namespace.clone().unwrap_or_default(),
            name: document.name.clone(),
        });
    }
    let mut ids = IdAllocator::default();
    let mut list = Element::new(Some(NS_RIM), "RegistryObjectList");
    for child in document.elements() {
        if child.name != "LeafRegistryObjectList" {
            return Err(ConvertError::UnsupportedElement(child.name.clone()));
        }
        for object in child.elements() {
            if object.name == "ObjectRef" {
                continue;
            }
            let mut lifted = Vec::new();
            let converted = convert_object(object, None, &mut ids, &mut lifted)?;
            list.children.push(Node::Element(converted));
            list.children.extend(lifted.into_iter().map(Node::Element));
        }
    }
    let mut request = Element::new(Some(NS_LCM), "SubmitObjectsRequest");
    request.children.push(Node::Element(list));
    Ok(request)
}

/// Symbolic ids for registry objects that have none.
#[derive(Default)]
struct IdAllocator {
    next: usize,
}

impl IdAllocator {
    fn allocate(&mut self) -> String {
        self.next += 1;
        format!("ID_{}", self.next)
    }
}

/// Converts one rim 2.1 registry object; Associations nested in it go to `lifted` (3.0 allows
/// them only in the object list).
fn convert_object(
    object: &Element,
    parent_id: Option<&str>,
    ids: &mut IdAllocator,
    lifted: &mut Vec<Element>,
) -> Result<Element, ConvertError> {
    if !REGISTRY_OBJECTS.contains(&object.name.as_str()) {
        return Err(ConvertError::UnsupportedElement(object.name.clone()));
    }
    let mut out = Element::new(Some(NS_RIM), &object.name);
    for (name, value) in &object.attributes {
        if !RIM_30_ATTRIBUTES.contains(&name.as_str()) {
            continue;
        }
        let value = match name.as_str() {
            "associationType" => association_type_30(value),
            "status" => status_30(value),
            _ => value.clone(),
        };
        out.attributes.push((name.clone(), value));
    }
    let id = match object.attribute("id") {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => {
            let id = ids.allocate();
            out.set_attribute("id", &id);
            id
        }
    };
    if let Some(parent) = parent_id {
        match object.name.as_str() {
            "Classification" if object.attribute("classifiedObject").is_none() => {
                out.set_attribute("classifiedObject", parent);
            }
            "ExternalIdentifier" if object.attribute("registryObject").is_none() => {
                out.set_attribute("registryObject", parent);
            }
            _ => {}
        }
    }
    let mut slots = Vec::new();
    let mut name = Vec::new();
    let mut description = Vec::new();
    let mut classifications = Vec::new();
    let mut identifiers = Vec::new();
    for child in object.elements() {
        match child.name.as_str() {
            "Slot" => slots.push(rename_rim(child)),
            "Name" => name.push(rename_rim(child)),
            "Description" => description.push(rename_rim(child)),
            "Classification" => {
                classifications.push(convert_object(child, Some(&id), ids, lifted)?)
            }
            "ExternalIdentifier" => {
                identifiers.push(convert_object(child, Some(&id), ids, lifted)?)
            }
            "Association" => {
                let association = convert_object(child, None, ids, lifted)?;
                lifted.push(association);
            }
            other => return Err(ConvertError::UnsupportedElement(other.to_owned())),
        }
    }
    out.children = slots
        .into_iter()
        .chain(name)
        .chain(description)
        .chain(classifications)
        .chain(identifiers)
        .map(Node::Element)
        .collect();
    Ok(out)
}

/// Moves an element and its descendants from rim 2.1 to rim 3.0 (Slot, Name, LocalizedString...).
fn rename_rim(element: &Element) -> Element {
    let mut out = element.clone();
    out.walk_mut(&mut |e| {
        if e.namespace.as_deref() == Some(NS_RIM_21) {
            e.namespace = Some(NS_RIM.to_owned());
        }
    });
    out
}

/// ebRIM 3.0 / ITI TF-3 4.2.2 association type URN of a 2.1 short name.
fn association_type_30(value: &str) -> String {
    match value {
        "HasMember" => association_type::HAS_MEMBER,
        "RPLC" => association_type::RPLC,
        "XFRM" => association_type::XFRM,
        "APND" => association_type::APND,
        "XFRM_RPLC" => association_type::XFRM_RPLC,
        "signs" => association_type::SIGNS,
        other => other,
    }
    .to_owned()
}

/// ebRIM 3.0 status URN of a 2.1 status name.
fn status_30(value: &str) -> String {
    match value {
        "Approved" => status::APPROVED,
        "Deprecated" => status::DEPRECATED,
        other => other,
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(list: &str) -> Element {
        let xml = format!(
            r#"<rs:SubmitObjectsRequest xmlns:rs="{NS_RS_21}"><rim:LeafRegistryObjectList xmlns:rim="{NS_RIM_21}">{list}</rim:LeafRegistryObjectList></rs:SubmitObjectsRequest>"#
        );
        submit_objects_request_21_to_30(&Element::parse(&xml).unwrap()).unwrap()
    }

    fn objects(converted: &Element) -> Vec<&Element> {
        converted
            .elements()
            .next()
            .map(|list| list.elements().collect())
            .unwrap_or_default()
    }

    #[test]
    fn submit_objects_request_becomes_lcm_with_a_registry_object_list() {
        let converted = convert("");
        assert_eq!(converted.namespace.as_deref(), Some(NS_LCM));
        assert_eq!(converted.name, "SubmitObjectsRequest");
        let list = converted.elements().next().unwrap();
        assert_eq!(list.namespace.as_deref(), Some(NS_RIM));
        assert_eq!(list.name, "RegistryObjectList");
    }

    #[test]
    fn object_refs_are_dropped() {
        let converted =
            convert(r#"<rim:ObjectRef id="urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"/>"#);
        assert!(objects(&converted).is_empty());
    }

    #[test]
    fn slots_come_before_name_and_description() {
        let converted = convert(
            r#"<rim:ExtrinsicObject id="Document01" mimeType="text/xml" objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1">
                 <rim:Name><rim:LocalizedString value="DocA"/></rim:Name><rim:Description/>
                 <rim:Slot name="creationTime"><rim:ValueList><rim:Value>20061224</rim:Value></rim:ValueList></rim:Slot>
               </rim:ExtrinsicObject>"#,
        );
        let document = objects(&converted)[0];
        let order: Vec<&str> = document.elements().map(|e| e.name.as_str()).collect();
        assert_eq!(order, ["Slot", "Name", "Description"]);
        assert!(
            document
                .elements()
                .all(|e| e.namespace.as_deref() == Some(NS_RIM))
        );
        let value = document
            .elements()
            .next()
            .unwrap()
            .elements()
            .next()
            .unwrap();
        assert_eq!(
            value.elements().next().unwrap().namespace.as_deref(),
            Some(NS_RIM)
        );
    }

    #[test]
    fn nested_external_identifier_gets_registry_object_and_an_id() {
        let converted = convert(
            r#"<rim:RegistryPackage id="SubmissionSet01"><rim:ExternalIdentifier value="1.2.3" identificationScheme="urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"/></rim:RegistryPackage>"#,
        );
        let identifier = objects(&converted)[0].elements().next().unwrap();
        assert_eq!(
            identifier.attribute("registryObject"),
            Some("SubmissionSet01")
        );
        assert_eq!(identifier.attribute("id"), Some("ID_1"));
    }

    #[test]
    fn nested_classification_gets_classified_object() {
        let converted = convert(
            r#"<rim:ExtrinsicObject id="Document01"><rim:Classification classificationScheme="urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a" nodeRepresentation="X"/></rim:ExtrinsicObject>"#,
        );
        let classification = objects(&converted)[0].elements().next().unwrap();
        assert_eq!(
            classification.attribute("classifiedObject"),
            Some("Document01")
        );
        assert!(classification.attribute("id").is_some());
    }

    #[test]
    fn association_type_short_name_becomes_urn() {
        for (short, urn) in [
            ("HasMember", association_type::HAS_MEMBER),
            ("RPLC", association_type::RPLC),
            ("XFRM", association_type::XFRM),
            ("APND", association_type::APND),
            ("XFRM_RPLC", association_type::XFRM_RPLC),
            ("signs", association_type::SIGNS),
        ] {
            let converted = convert(&format!(
                r#"<rim:Association associationType="{short}" sourceObject="a" targetObject="b"/>"#
            ));
            assert_eq!(
                objects(&converted)[0].attribute("associationType"),
                Some(urn)
            );
        }
    }

    #[test]
    fn status_name_becomes_urn() {
        let converted = convert(r#"<rim:ExtrinsicObject id="d" status="Approved"/>"#);
        assert_eq!(
            objects(&converted)[0].attribute("status"),
            Some(status::APPROVED)
        );
    }

    #[test]
    fn attributes_unknown_to_rim_30_are_dropped() {
        let converted =
            convert(r#"<rim:ExtrinsicObject id="d" majorVersion="1" mimeType="text/plain"/>"#);
        let document = objects(&converted)[0];
        assert_eq!(document.attribute("majorVersion"), None);
        assert_eq!(document.attribute("mimeType"), Some("text/plain"));
    }

    #[test]
    fn nested_association_is_lifted_into_the_list() {
        let converted = convert(
            r#"<rim:RegistryPackage id="ss"><rim:Association associationType="HasMember" sourceObject="ss" targetObject="d"/></rim:RegistryPackage>"#,
        );
        let names: Vec<&str> = objects(&converted)
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(names, ["RegistryPackage", "Association"]);
    }

    #[test]
    fn a_3_0_request_is_not_converted() {
        let xml = format!(r#"<lcm:SubmitObjectsRequest xmlns:lcm="{NS_LCM}"/>"#);
        let document = Element::parse(&xml).unwrap();
        assert!(!is_regrep_21(&document));
        assert!(matches!(
            submit_objects_request_21_to_30(&document),
            Err(ConvertError::NotSubmitObjectsRequest { .. })
        ));
    }

    #[test]
    fn an_element_without_3_0_counterpart_is_refused() {
        let xml = format!(
            r#"<rs:SubmitObjectsRequest xmlns:rs="{NS_RS_21}"><rim:LeafRegistryObjectList xmlns:rim="{NS_RIM_21}"><rim:Service id="s"/></rim:LeafRegistryObjectList></rs:SubmitObjectsRequest>"#
        );
        assert_eq!(
            submit_objects_request_21_to_30(&Element::parse(&xml).unwrap()),
            Err(ConvertError::UnsupportedElement("Service".to_owned()))
        );
    }
}
