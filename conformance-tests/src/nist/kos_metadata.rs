//! `sameKOSMetadata`: the metadata of a RAD-68 submission against the test's "gold standard"
//! `metadata-evaluate.xml`, by the rules of the NIST toolkit's `DetailXmlKOSMetadataContent`:
//! SubmissionSet.patientId and the manifest DocumentEntry's mimeType the same, its formatCode
//! the same code (nodeRepresentation and codingScheme), its uniqueId the SOP Instance UID of the
//! submitted KOS.

use schemas::constants::identification_scheme;

use super::tree::Element;

/// objectType of a stable DocumentEntry.
const STABLE_DOCUMENT_ENTRY: &str = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1";
/// classificationScheme of DocumentEntry.formatCode.
const FORMAT_CODE_SCHEME: &str = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d";

/// The `RegistryObjectList` of a ProvideAndRegisterDocumentSetRequest (or of a bare
/// SubmitObjectsRequest).
fn object_list(request: &Element) -> Option<&Element> {
    find(request, "RegistryObjectList")
}

fn find<'a>(element: &'a Element, name: &str) -> Option<&'a Element> {
    if element.name == name {
        return Some(element);
    }
    element.elements().find_map(|child| find(child, name))
}

fn external_identifier<'a>(object: &'a Element, scheme: &str) -> Option<&'a str> {
    object
        .elements()
        .find(|e| {
            e.name == "ExternalIdentifier" && e.attribute("identificationScheme") == Some(scheme)
        })
        .and_then(|e| e.attribute("value"))
}

/// The first stable DocumentEntry (the toolkit's `ExtrinsicObject[@objectType=...]`).
fn document_entry(list: &Element) -> Option<&Element> {
    list.elements().find(|e| {
        e.name == "ExtrinsicObject" && e.attribute("objectType") == Some(STABLE_DOCUMENT_ENTRY)
    })
}

/// SubmissionSet.patientId of a submission: the first RegistryPackage's patientId identifier.
pub fn submission_set_patient_id(request: &Element) -> String {
    object_list(request)
        .map(list_patient_id)
        .unwrap_or_default()
}

fn list_patient_id(list: &Element) -> String {
    list.elements()
        .filter(|e| e.name == "RegistryPackage")
        .find_map(|p| external_identifier(p, identification_scheme::SUBMISSION_SET_PATIENT_ID))
        .unwrap_or_default()
        .to_owned()
}

/// formatCode as (nodeRepresentation, codingScheme) of any ExtrinsicObject.
fn format_code(list: &Element) -> Option<(String, String)> {
    let classification = list
        .elements()
        .filter(|e| e.name == "ExtrinsicObject")
        .flat_map(Element::elements)
        .find(|c| {
            c.name == "Classification"
                && c.attribute("classificationScheme") == Some(FORMAT_CODE_SCHEME)
        })?;
    let scheme = classification
        .elements()
        .find(|s| s.name == "Slot" && s.attribute("name") == Some("codingScheme"))
        .and_then(|slot| find(slot, "Value"))
        .map(|v| v.text().trim().to_owned())
        .unwrap_or_default();
    Some((
        classification
            .attribute("nodeRepresentation")
            .unwrap_or_default()
            .to_owned(),
        scheme,
    ))
}

/// `sameKOSMetadata`: every rule the submitted metadata breaks; `kos_sop_instance_uid` is the
/// SOP Instance UID of the submitted manifest (reported by the `sameKOSDcm` step as `siuid`).
pub fn same_kos_metadata(
    test: &Element,
    standard: &Element,
    kos_sop_instance_uid: &str,
) -> Vec<String> {
    let (Some(test), Some(standard)) = (object_list(test), object_list(standard)) else {
        return vec!["no RegistryObjectList in the submission or the standard".to_owned()];
    };
    let mut failures = Vec::new();
    let (found, expected) = (list_patient_id(test), list_patient_id(standard));
    if found != expected {
        failures.push(format!(
            "SubmissionSet.patientId: [{found}], expected [{expected}]"
        ));
    }
    let mime = |list| {
        document_entry(list)
            .and_then(|e| e.attribute("mimeType"))
            .unwrap_or_default()
            .to_owned()
    };
    let (found, expected) = (mime(test), mime(standard));
    if found != expected {
        failures.push(format!(
            "DocumentEntry.mimeType: [{found}], expected [{expected}]"
        ));
    }
    match (format_code(test), format_code(standard)) {
        (Some(found), Some(expected)) if found == expected => {}
        (found, expected) => {
            let show = |c: Option<(String, String)>| {
                c.map_or_else(
                    || "absent".to_owned(),
                    |(code, scheme)| format!("{code} ({scheme})"),
                )
            };
            failures.push(format!(
                "DocumentEntry.formatCode: [{}], expected [{}]",
                show(found),
                show(expected)
            ));
        }
    }
    let unique_id = test
        .elements()
        .filter(|e| e.name == "ExtrinsicObject")
        .find_map(|e| external_identifier(e, identification_scheme::DOCUMENT_ENTRY_UNIQUE_ID))
        .unwrap_or_default();
    if unique_id != kos_sop_instance_uid {
        failures.push(format!(
            "DocumentEntry.uniqueId: [{unique_id}], expected the KOS SOP Instance UID [{kos_sop_instance_uid}]"
        ));
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(patient: &str, mime: &str, format: (&str, &str), unique_id: &str) -> Element {
        Element::parse(&format!(
            r#"<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007"><lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"><rim:RegistryObjectList xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">
              <rim:ExtrinsicObject id="d" mimeType="{mime}" objectType="{STABLE_DOCUMENT_ENTRY}">
                <rim:Classification classificationScheme="{FORMAT_CODE_SCHEME}" classifiedObject="d" nodeRepresentation="{}">
                  <rim:Slot name="codingScheme"><rim:ValueList><rim:Value> {} </rim:Value></rim:ValueList></rim:Slot></rim:Classification>
                <rim:ExternalIdentifier identificationScheme="{}" value="{unique_id}"/>
              </rim:ExtrinsicObject>
              <rim:RegistryPackage id="ss"><rim:ExternalIdentifier identificationScheme="{}" value="{patient}"/></rim:RegistryPackage>
            </rim:RegistryObjectList></lcm:SubmitObjectsRequest></xdsb:ProvideAndRegisterDocumentSetRequest>"#,
            format.0,
            format.1,
            identification_scheme::DOCUMENT_ENTRY_UNIQUE_ID,
            identification_scheme::SUBMISSION_SET_PATIENT_ID,
            patient = super::super::tree::escape(patient),
        ))
        .unwrap()
    }

    const PATIENT: &str = "IDS_2018-4801a^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO";
    const KOS: (&str, &str) = ("1.2.840.10008.5.1.4.1.1.88.59", "1.2.840.10008.2.6.1");

    fn standard() -> Element {
        request(PATIENT, "application/dicom", KOS, "1.42.20161103091815.2")
    }

    #[test]
    fn metadata_that_agrees_with_the_standard_and_the_kos_passes() {
        let submitted = request(PATIENT, "application/dicom", KOS, "2.25.7");
        assert_eq!(
            same_kos_metadata(&submitted, &standard(), "2.25.7"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_submission_set_patient_id_must_be_the_mapped_affinity_domain_id() {
        let submitted = request("C3L-00277^^^&1.2.3&ISO", "application/dicom", KOS, "2.25.7");
        assert_eq!(
            same_kos_metadata(&submitted, &standard(), "2.25.7"),
            [format!(
                "SubmissionSet.patientId: [C3L-00277^^^&1.2.3&ISO], expected [{PATIENT}]"
            )]
        );
    }

    #[test]
    fn the_mime_type_must_be_application_dicom() {
        let submitted = request(PATIENT, "application/octet-stream", KOS, "2.25.7");
        assert_eq!(
            same_kos_metadata(&submitted, &standard(), "2.25.7"),
            ["DocumentEntry.mimeType: [application/octet-stream], expected [application/dicom]"]
        );
    }

    #[test]
    fn the_format_code_must_have_the_same_code_and_coding_scheme() {
        for format in [("1.2.840.10008.5.1.4.1.1.88.59", "DCM"), ("urn:x", KOS.1)] {
            let submitted = request(PATIENT, "application/dicom", format, "2.25.7");
            let failures = same_kos_metadata(&submitted, &standard(), "2.25.7");
            assert_eq!(failures.len(), 1, "{failures:?}");
            assert!(
                failures[0].starts_with("DocumentEntry.formatCode"),
                "{failures:?}"
            );
        }
    }

    #[test]
    fn the_unique_id_must_be_the_kos_sop_instance_uid() {
        let submitted = request(PATIENT, "application/dicom", KOS, "2.25.7");
        assert_eq!(
            same_kos_metadata(&submitted, &standard(), "2.25.8"),
            ["DocumentEntry.uniqueId: [2.25.7], expected the KOS SOP Instance UID [2.25.8]"]
        );
    }
}
