//! Report instances written in the test with dicom-object: an Encapsulated PDF and a textual SR
//! (Basic Text, Enhanced or Comprehensive; TID 2000 headings) of a study of patient PAT-0001.

use std::path::Path;

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;
use imaging_source::report::{BASIC_TEXT_SR_SOP_CLASS, ENCAPSULATED_PDF_SOP_CLASS};

use super::{instance_attributes, write_part10};

/// An odd-length PDF, so that its DICOM encapsulation gets a padding byte.
pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";

/// The header lines of the text rendering of a verified [`write_sr`] report.
pub const VERIFIED_HEADER: &str = "Imaging Report\n\
    Patient: Jane Doe (ID PAT-0001)\n\
    Study: CT CHEST, 2026-11-01, accession ACC-0001\n\
    Status: completion COMPLETE, verification VERIFIED\n\
    Verified by: Marcus Welby on 2026-11-01 12:00:00\n\n";

/// The text rendering of a verified [`write_sr`] report: header and content.
pub fn verified_sr_text(sop_class: &str, key_image: &str) -> String {
    format!("{VERIFIED_HEADER}{}", sr_body(sop_class, key_image))
}

/// The SHA-1 (lowercase hex, as DocumentEntry.hash) of `content`.
pub fn sha1_hex(content: &[u8]) -> String {
    use sha1::Digest;
    sha1::Sha1::digest(content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The text rendering of [`write_sr`]'s content (`Diameter` only for Enhanced and Comprehensive
/// SR: NUM is not a Basic Text SR value type), after the header lines.
pub fn sr_body(sop_class: &str, key_image: &str) -> String {
    let diameter = if sop_class == BASIC_TEXT_SR_SOP_CLASS {
        ""
    } else {
        "  Diameter: 8 mm\n"
    };
    format!(
        "Language of Content Item and Descendants: English\n\
         Findings:\n\
         \x20 Finding: Nodule in the right upper lobe.\n\
         \x20   No effusion.\n\
         {diameter}\
         Impressions:\n\
         \x20 Impression: Small pulmonary nodule; follow-up CT in 12 months.\n\
         \x20 Key image: image {key_image}\n"
    )
}

fn el(tag: dicom_core::Tag, vr: VR, value: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

fn sequence(tag: dicom_core::Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

fn code(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        el(tags::CODE_VALUE, VR::SH, value),
        el(tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme),
        el(tags::CODE_MEANING, VR::LO, meaning),
    ])
}

/// A content item: relationship, value type, concept name and its value elements.
fn item(
    relationship: &str,
    value_type: &str,
    name: InMemDicomObject,
    value: Vec<DataElement<InMemDicomObject>>,
) -> InMemDicomObject {
    let mut obj = InMemDicomObject::from_element_iter([
        el(tags::RELATIONSHIP_TYPE, VR::CS, relationship),
        el(tags::VALUE_TYPE, VR::CS, value_type),
        sequence(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![name]),
    ]);
    for element in value {
        obj.put(element);
    }
    obj
}

/// A CONTAINS CONTAINER item with these children (none: no Content Sequence).
fn container(name: InMemDicomObject, children: Vec<InMemDicomObject>) -> InMemDicomObject {
    let mut value = vec![el(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE")];
    if !children.is_empty() {
        value.push(sequence(tags::CONTENT_SEQUENCE, children));
    }
    item("CONTAINS", "CONTAINER", name, value)
}

/// Writes an Encapsulated PDF Storage instance of `study_uid` holding `pdf`.
pub fn write_encapsulated_pdf(path: &Path, study_uid: &str, sop_uid: &str, pdf: &[u8]) {
    let mut document = pdf.to_vec();
    if document.len() % 2 == 1 {
        document.push(0);
    }
    let mut obj = instance_attributes(
        ENCAPSULATED_PDF_SOP_CLASS,
        study_uid,
        &format!("{study_uid}.99"),
        sop_uid,
        "DOC",
        1,
    );
    obj.put(el(
        tags::MIME_TYPE_OF_ENCAPSULATED_DOCUMENT,
        VR::LO,
        "application/pdf",
    ));
    obj.put(DataElement::new(
        tags::ENCAPSULATED_DOCUMENT,
        VR::OB,
        PrimitiveValue::from(document),
    ));
    write_part10(obj, path);
}

/// Writes an SR instance of class `sop_class` of `study_uid`: a verified "Imaging Report" with
/// Findings and Impressions containers (see [`sr_body`]), `completion` its Completion Flag
/// (`COMPLETE`: verified by Marcus Welby; `PARTIAL`: unverified).
pub fn write_sr(
    path: &Path,
    sop_class: &str,
    study_uid: &str,
    sop_uid: &str,
    key_image: &str,
    completion: &str,
) {
    let mut findings = vec![item(
        "CONTAINS",
        "TEXT",
        code("121071", "DCM", "Finding"),
        vec![el(
            tags::TEXT_VALUE,
            VR::UT,
            "Nodule in the right upper lobe.\r\nNo effusion.",
        )],
    )];
    if sop_class != BASIC_TEXT_SR_SOP_CLASS {
        let measured = InMemDicomObject::from_element_iter([
            el(tags::NUMERIC_VALUE, VR::DS, "8"),
            sequence(
                tags::MEASUREMENT_UNITS_CODE_SEQUENCE,
                vec![code("mm", "UCUM", "millimeter")],
            ),
        ]);
        findings.push(item(
            "CONTAINS",
            "NUM",
            code("81827009", "SCT", "Diameter"),
            vec![sequence(tags::MEASURED_VALUE_SEQUENCE, vec![measured])],
        ));
    }
    let key = InMemDicomObject::from_element_iter([
        el(
            tags::REFERENCED_SOP_CLASS_UID,
            VR::UI,
            uids::CT_IMAGE_STORAGE,
        ),
        el(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, key_image),
    ]);
    let impressions = vec![
        item(
            "CONTAINS",
            "TEXT",
            code("121073", "DCM", "Impression"),
            vec![el(
                tags::TEXT_VALUE,
                VR::UT,
                "Small pulmonary nodule; follow-up CT in 12 months.",
            )],
        ),
        item(
            "CONTAINS",
            "IMAGE",
            code("113000", "DCM", "Key image"),
            vec![sequence(tags::REFERENCED_SOP_SEQUENCE, vec![key])],
        ),
    ];
    let content = vec![
        item(
            "HAS CONCEPT MOD",
            "CODE",
            code("121049", "DCM", "Language of Content Item and Descendants"),
            vec![sequence(
                tags::CONCEPT_CODE_SEQUENCE,
                vec![code("eng", "RFC5646", "English")],
            )],
        ),
        container(code("121070", "DCM", "Findings"), findings),
        container(code("121072", "DCM", "Impressions"), impressions),
    ];
    let verifier = InMemDicomObject::from_element_iter([
        el(tags::VERIFYING_OBSERVER_NAME, VR::PN, "Welby^Marcus"),
        el(tags::VERIFYING_ORGANIZATION, VR::LO, "General Hospital"),
        el(tags::VERIFICATION_DATE_TIME, VR::DT, "20261101120000"),
    ]);
    let mut obj = sr_document(sop_class, study_uid, sop_uid, completion, content);
    if completion == "COMPLETE" {
        obj.put(el(tags::VERIFICATION_FLAG, VR::CS, "VERIFIED"));
        obj.put(sequence(tags::VERIFYING_OBSERVER_SEQUENCE, vec![verifier]));
    } else {
        obj.put(el(tags::VERIFICATION_FLAG, VR::CS, "UNVERIFIED"));
    }
    write_part10(obj, path);
}

/// An "Imaging Report" SR document of class `sop_class` with this root content (verification
/// left to the caller).
fn sr_document(
    sop_class: &str,
    study_uid: &str,
    sop_uid: &str,
    completion: &str,
    content: Vec<InMemDicomObject>,
) -> InMemDicomObject {
    let mut obj = instance_attributes(
        sop_class,
        study_uid,
        &format!("{study_uid}.98"),
        sop_uid,
        "SR",
        1,
    );
    for element in [
        el(tags::CONTENT_DATE, VR::DA, "20261101"),
        el(tags::CONTENT_TIME, VR::TM, "120000"),
        el(tags::VALUE_TYPE, VR::CS, "CONTAINER"),
        sequence(
            tags::CONCEPT_NAME_CODE_SEQUENCE,
            vec![code("18748-4", "LN", "Imaging Report")],
        ),
        el(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE"),
        el(tags::COMPLETION_FLAG, VR::CS, completion),
        sequence(tags::CONTENT_SEQUENCE, content),
    ] {
        obj.put(element);
    }
    obj
}

/// Writes a Basic Text SR of `study_uid` whose only container holds no content item.
pub fn write_empty_sr(path: &Path, study_uid: &str, sop_uid: &str) {
    let findings = container(code("121070", "DCM", "Findings"), Vec::new());
    let mut obj = sr_document(
        BASIC_TEXT_SR_SOP_CLASS,
        study_uid,
        sop_uid,
        "PARTIAL",
        vec![findings],
    );
    obj.put(el(tags::VERIFICATION_FLAG, VR::CS, "UNVERIFIED"));
    write_part10(obj, path);
}

/// Writes a Basic Text SR of `study_uid` in ISO_IR 100 (Latin-1) whose one finding is `text`.
pub fn write_latin1_sr(path: &Path, study_uid: &str, sop_uid: &str, text: &str) {
    let finding = item(
        "CONTAINS",
        "TEXT",
        code("121071", "DCM", "Finding"),
        vec![el(tags::TEXT_VALUE, VR::UT, text)],
    );
    let mut obj = sr_document(
        BASIC_TEXT_SR_SOP_CLASS,
        study_uid,
        sop_uid,
        "PARTIAL",
        vec![container(code("121070", "DCM", "Findings"), vec![finding])],
    );
    obj.put(el(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100"));
    obj.put(el(tags::VERIFICATION_FLAG, VR::CS, "UNVERIFIED"));
    write_part10(obj, path);
}
