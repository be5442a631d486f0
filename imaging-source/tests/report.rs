//! The report published with a manifest (RAD-68): a PDF or text file, or the DICOM Encapsulated
//! PDF of the study, each with the imaging report codes the registry's default lists accept.

mod support;

use std::path::Path;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use imaging_source::cd::scan_folder;
use imaging_source::report::{
    ENCAPSULATED_PDF_SOP_CLASS, ReportError, report_from_file, report_in_study,
};

/// An odd-length PDF, so that its DICOM encapsulation gets a padding byte.
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";
const STUDY: &str = "1.2.826.0.1.3680043.8.498.1";

fn el(tag: dicom_core::Tag, vr: VR, value: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

/// Writes an Encapsulated PDF Storage instance of `STUDY` holding `pdf`.
fn write_encapsulated_pdf(path: &Path, pdf: &[u8]) {
    let mut document = pdf.to_vec();
    if document.len() % 2 == 1 {
        document.push(0);
    }
    let obj = InMemDicomObject::from_element_iter([
        el(tags::SOP_CLASS_UID, VR::UI, ENCAPSULATED_PDF_SOP_CLASS),
        el(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            "1.2.826.0.1.3680043.8.498.9",
        ),
        el(tags::STUDY_DATE, VR::DA, "20261101"),
        el(tags::MODALITY, VR::CS, "DOC"),
        el(tags::STUDY_DESCRIPTION, VR::LO, "CT CHEST"),
        el(tags::PATIENT_NAME, VR::PN, "Doe^Jane"),
        el(tags::PATIENT_ID, VR::LO, "PAT-0001"),
        el(tags::STUDY_INSTANCE_UID, VR::UI, STUDY),
        el(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            "1.2.826.0.1.3680043.8.498.8",
        ),
        el(tags::SERIES_NUMBER, VR::IS, "99"),
        el(tags::INSTANCE_NUMBER, VR::IS, "1"),
        el(
            tags::MIME_TYPE_OF_ENCAPSULATED_DOCUMENT,
            VR::LO,
            "application/pdf",
        ),
        DataElement::new(
            tags::ENCAPSULATED_DOCUMENT,
            VR::OB,
            PrimitiveValue::from(document),
        ),
    ]);
    obj.with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .unwrap()
        .write_to_file(path)
        .unwrap();
}

fn write_ct(path: &Path) {
    support::write_instance(
        path,
        STUDY,
        "1.2.826.0.1.3680043.8.498.2",
        "1.2.826.0.1.3680043.8.498.3",
        "CT",
        1,
    );
}

#[test]
fn pdf_file_is_published_as_application_pdf_with_the_pdf_format_code() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.bin");
    std::fs::write(&path, PDF).unwrap();
    let report = report_from_file(&path, Some("CT CHEST report".into())).unwrap();
    assert_eq!(report.mime_type, "application/pdf");
    assert_eq!(report.format_code.code, "urn:ihe:rad:PDF");
    assert_eq!(report.class_code.code, "REPORTS");
    assert_eq!(report.title.as_deref(), Some("CT CHEST report"));
    assert_eq!(&report.content[..], PDF);
}

#[test]
fn text_file_is_published_as_text_plain_with_the_text_format_code() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.txt");
    std::fs::write(&path, "Impression: no acute findings.").unwrap();
    let report = report_from_file(&path, None).unwrap();
    assert_eq!(report.mime_type, "text/plain");
    assert_eq!(report.format_code.code, "urn:ihe:rad:TEXT");
}

#[test]
fn encapsulated_pdf_object_publishes_its_pdf_without_the_padding_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.dcm");
    write_encapsulated_pdf(&path, PDF);
    let report = report_from_file(&path, None).unwrap();
    assert_eq!(report.mime_type, "application/pdf");
    assert_eq!(&report.content[..], PDF);
}

#[test]
fn dicom_object_that_is_not_an_encapsulated_pdf_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ct.dcm");
    write_ct(&path);
    let err = report_from_file(&path, None).unwrap_err();
    assert!(
        matches!(err, ReportError::NotEncapsulatedPdf { .. }),
        "{err}"
    );
}

#[test]
fn binary_file_that_is_neither_pdf_nor_text_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.png");
    std::fs::write(&path, [0x89, b'P', b'N', b'G', 0xff, 0xfe, 0x00]).unwrap();
    let err = report_from_file(&path, None).unwrap_err();
    assert!(
        matches!(err, ReportError::UnsupportedFormat { .. }),
        "{err}"
    );
}

#[test]
fn missing_report_file_is_a_read_error_naming_it() {
    let err = report_from_file(Path::new("/nonexistent/report.pdf"), None).unwrap_err();
    assert!(matches!(err, ReportError::Read { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/report.pdf"));
}

#[test]
fn encapsulated_pdf_found_in_a_cd_study_is_its_report() {
    let dir = tempfile::tempdir().unwrap();
    write_ct(&dir.path().join("ct.dcm"));
    write_encapsulated_pdf(&dir.path().join("report.dcm"), PDF);
    let scan = scan_folder(dir.path()).unwrap();
    assert_eq!(scan.studies.len(), 1, "{:?}", scan.problems);
    let (study, files) = &scan.studies[0];
    let report = report_in_study(study, files).unwrap().unwrap();
    assert_eq!(report.mime_type, "application/pdf");
    assert_eq!(&report.content[..], PDF);
    assert_eq!(report.title.as_deref(), Some("CT CHEST report"));
}

#[test]
fn study_without_an_encapsulated_pdf_has_no_report() {
    let dir = tempfile::tempdir().unwrap();
    write_ct(&dir.path().join("ct.dcm"));
    let scan = scan_folder(dir.path()).unwrap();
    let (study, files) = &scan.studies[0];
    assert!(report_in_study(study, files).unwrap().is_none());
}
