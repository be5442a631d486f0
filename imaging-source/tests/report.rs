//! The report published with a manifest (RAD-68): a PDF or text file, the DICOM Encapsulated
//! PDF of the study, or its Basic Text / Enhanced / Comprehensive SR rendered as text (XDS-I.b
//! shares reports as text or PDF), each with the imaging report codes the registry's default
//! lists accept.

#[path = "support/serve.rs"]
mod serve;
mod support;

use std::path::Path;

use dicom_dictionary_std::uids;
use imaging_source::cd::scan_folder;
use imaging_source::dicomweb::DicomWebClient;
use imaging_source::report::{
    BASIC_TEXT_SR_SOP_CLASS, COMPREHENSIVE_SR_SOP_CLASS, ENHANCED_SR_SOP_CLASS, ReportError,
    SrTextError, report_from_file, report_in_pacs_study, report_in_study,
};
use support::reports::{PDF, sr_body, verified_sr_text, write_encapsulated_pdf, write_sr};

const STUDY: &str = "1.2.826.0.1.3680043.8.498.1";
const CT: &str = "1.2.826.0.1.3680043.8.498.3";
const REPORT_SOP: &str = "1.2.826.0.1.3680043.8.498.9";
const SR_SOP: &str = "1.2.826.0.1.3680043.8.498.10";

fn write_ct(path: &Path) {
    support::write_instance(path, STUDY, "1.2.826.0.1.3680043.8.498.2", CT, "CT", 1);
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
    write_encapsulated_pdf(&path, STUDY, REPORT_SOP, PDF);
    let report = report_from_file(&path, None).unwrap();
    assert_eq!(report.mime_type, "application/pdf");
    assert_eq!(&report.content[..], PDF);
}

#[test]
fn sr_report_is_published_as_its_text_rendering_with_the_text_report_codes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sr.dcm");
    write_sr(
        &path,
        COMPREHENSIVE_SR_SOP_CLASS,
        STUDY,
        SR_SOP,
        CT,
        "COMPLETE",
    );
    let report = report_from_file(&path, None).unwrap();
    assert_eq!(report.mime_type, "text/plain");
    assert_eq!(report.format_code.code, "urn:ihe:rad:TEXT");
    assert_eq!(report.format_code.coding_scheme, "1.3.6.1.4.1.19376.1.2.3");
    assert_eq!(report.type_code.code, "18782-3");
    assert_eq!(report.class_code.code, "REPORTS");
    assert_eq!(report.title.as_deref(), Some("Imaging Report"));
    assert_eq!(
        std::str::from_utf8(&report.content).unwrap(),
        verified_sr_text(COMPREHENSIVE_SR_SOP_CLASS, CT)
    );
}

#[test]
fn basic_text_enhanced_and_comprehensive_sr_are_all_rendered() {
    let dir = tempfile::tempdir().unwrap();
    for class in [
        BASIC_TEXT_SR_SOP_CLASS,
        ENHANCED_SR_SOP_CLASS,
        COMPREHENSIVE_SR_SOP_CLASS,
    ] {
        let path = dir.path().join(format!("{class}.dcm"));
        write_sr(&path, class, STUDY, SR_SOP, CT, "COMPLETE");
        let report = report_from_file(&path, Some("CT CHEST report".into())).unwrap();
        assert_eq!(
            std::str::from_utf8(&report.content).unwrap(),
            verified_sr_text(class, CT),
            "{class}"
        );
        assert_eq!(report.title.as_deref(), Some("CT CHEST report"));
    }
}

#[test]
fn unverified_sr_says_so_in_its_rendering() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sr.dcm");
    write_sr(&path, BASIC_TEXT_SR_SOP_CLASS, STUDY, SR_SOP, CT, "PARTIAL");
    let report = report_from_file(&path, None).unwrap();
    let text = std::str::from_utf8(&report.content).unwrap();
    assert!(
        text.contains("Status: completion PARTIAL, verification UNVERIFIED\n"),
        "{text}"
    );
    assert!(!text.contains("Verified by"), "{text}");
}

#[test]
fn sr_text_in_a_latin1_character_set_is_published_as_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1-sr.dcm");
    support::reports::write_latin1_sr(&path, STUDY, SR_SOP, "Kein Lungenödem.");
    let file = std::fs::read(&path).unwrap();
    assert!(
        file.windows(b"Lungen\xf6dem".len())
            .any(|w| w == b"Lungen\xf6dem"),
        "the fixture is encoded in Latin-1"
    );
    let report = report_from_file(&path, None).unwrap();
    let text = std::str::from_utf8(&report.content).unwrap();
    assert!(
        text.ends_with("Findings:\n  Finding: Kein Lungenödem.\n"),
        "{text}"
    );
}

#[test]
fn sr_without_a_text_value_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty-sr.dcm");
    support::reports::write_empty_sr(&path, STUDY, SR_SOP);
    let err = report_from_file(&path, None).unwrap_err();
    assert!(
        matches!(
            err,
            ReportError::Sr {
                source: SrTextError::Empty,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn dicom_object_that_is_neither_an_encapsulated_pdf_nor_a_textual_sr_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ct.dcm");
    write_ct(&path);
    let err = report_from_file(&path, None).unwrap_err();
    assert!(
        matches!(&err, ReportError::NotAReport { sop_class, .. } if sop_class == uids::CT_IMAGE_STORAGE),
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
    write_encapsulated_pdf(&dir.path().join("report.dcm"), STUDY, REPORT_SOP, PDF);
    let scan = scan_folder(dir.path()).unwrap();
    assert_eq!(scan.studies.len(), 1, "{:?}", scan.problems);
    let (study, files) = &scan.studies[0];
    let report = report_in_study(study, files).unwrap().unwrap();
    assert_eq!(report.mime_type, "application/pdf");
    assert_eq!(&report.content[..], PDF);
    assert_eq!(report.title.as_deref(), Some("CT CHEST report"));
}

#[test]
fn sr_found_in_a_cd_study_is_its_report() {
    let dir = tempfile::tempdir().unwrap();
    write_ct(&dir.path().join("ct.dcm"));
    write_sr(
        &dir.path().join("sr.dcm"),
        ENHANCED_SR_SOP_CLASS,
        STUDY,
        SR_SOP,
        CT,
        "COMPLETE",
    );
    let scan = scan_folder(dir.path()).unwrap();
    let (study, files) = &scan.studies[0];
    let report = report_in_study(study, files).unwrap().unwrap();
    assert_eq!(report.mime_type, "text/plain");
    assert!(
        std::str::from_utf8(&report.content)
            .unwrap()
            .ends_with(&sr_body(ENHANCED_SR_SOP_CLASS, CT))
    );
    assert_eq!(report.title.as_deref(), Some("CT CHEST report"));
}

#[test]
fn a_study_holding_an_encapsulated_pdf_and_an_sr_publishes_the_pdf() {
    let dir = tempfile::tempdir().unwrap();
    write_ct(&dir.path().join("a-ct.dcm"));
    write_sr(
        &dir.path().join("b-sr.dcm"),
        BASIC_TEXT_SR_SOP_CLASS,
        STUDY,
        SR_SOP,
        CT,
        "COMPLETE",
    );
    write_encapsulated_pdf(&dir.path().join("c-report.dcm"), STUDY, REPORT_SOP, PDF);
    let scan = scan_folder(dir.path()).unwrap();
    let (study, files) = &scan.studies[0];
    let report = report_in_study(study, files).unwrap().unwrap();
    assert_eq!(report.mime_type, "application/pdf");
}

#[test]
fn study_without_a_report_instance_has_no_report() {
    let dir = tempfile::tempdir().unwrap();
    write_ct(&dir.path().join("ct.dcm"));
    let scan = scan_folder(dir.path()).unwrap();
    let (study, files) = &scan.studies[0];
    assert!(report_in_study(study, files).unwrap().is_none());
}

/// A fake PACS holding a CT image and the report instance written by `write_report` into a
/// file; the study read from its WADO-RS metadata.
async fn pacs_study(
    write_report: impl FnOnce(&Path),
) -> (
    serve::FakePacs,
    DicomWebClient,
    imaging_source::study::Study,
) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.dcm");
    write_report(&file);
    let series = "1.2.826.0.1.3680043.8.498.2";
    let ct = serve::dicom_instance(STUDY, series, CT, serve::EXPLICIT_LE, 512);
    let report_series = format!("{STUDY}.97");
    let report = (
        STUDY.to_owned(),
        report_series,
        REPORT_SOP.to_owned(),
        serve::EXPLICIT_LE.to_owned(),
        std::fs::read(&file).unwrap(),
    );
    let pacs = serve::fake_pacs_logged(vec![
        (
            STUDY.to_owned(),
            series.to_owned(),
            CT.to_owned(),
            serve::EXPLICIT_LE.to_owned(),
            ct,
        ),
        report,
    ])
    .await;
    let client = DicomWebClient::new(&pacs.url).unwrap();
    let study = client.study(STUDY).await.unwrap();
    (pacs, client, study)
}

#[tokio::test]
async fn an_sr_held_by_the_pacs_is_found_by_its_metadata_and_only_it_is_fetched() {
    let (pacs, client, study) = pacs_study(|path| {
        write_sr(
            path,
            BASIC_TEXT_SR_SOP_CLASS,
            STUDY,
            REPORT_SOP,
            CT,
            "COMPLETE",
        );
    })
    .await;
    let report = report_in_pacs_study(&client, &study)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.mime_type, "text/plain");
    assert_eq!(
        std::str::from_utf8(&report.content).unwrap(),
        verified_sr_text(BASIC_TEXT_SR_SOP_CLASS, CT)
    );
    assert_eq!(
        pacs.retrieves(),
        [format!(
            "/dicom-web/studies/{STUDY}/series/{STUDY}.97/instances/{REPORT_SOP}"
        )]
    );
}

#[tokio::test]
async fn an_encapsulated_pdf_held_by_the_pacs_is_its_report() {
    let (pacs, client, study) =
        pacs_study(|path| write_encapsulated_pdf(path, STUDY, REPORT_SOP, PDF)).await;
    let report = report_in_pacs_study(&client, &study)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.mime_type, "application/pdf");
    assert_eq!(&report.content[..], PDF);
    assert_eq!(pacs.retrieves().len(), 1);
}

#[tokio::test]
async fn a_pacs_study_without_a_report_instance_fetches_nothing() {
    let (pacs, client, study) = pacs_study(write_ct).await;
    assert!(
        report_in_pacs_study(&client, &study)
            .await
            .unwrap()
            .is_none()
    );
    assert!(pacs.retrieves().is_empty());
}
