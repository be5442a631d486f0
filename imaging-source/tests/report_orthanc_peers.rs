//! The report of a PACS-held study (RAD-68 via DICOMweb): Orthanc holds a `make_study.py` study
//! with an Encapsulated PDF, or with a Basic Text SR; WADO-RS metadata names the report instance
//! by its SOP Class, only that instance is fetched, and the report (the PDF, or the SR's text
//! rendering) is registered next to the manifest, which still passes `dciodvfy -profile
//! IHEXDSIManifest` with the report instance among its references.
//! Peer tier: `cargo test -p imaging-source --features peers` (root; apt orthanc
//! orthanc-dicomweb dicom3tools; pip pydicom numpy; ../shared/tools). Each test starts Orthanc in
//! its own network namespace (lab `report-…`) and runs itself again inside it.
#![cfg(feature = "peers")]

#[path = "support/orthanc_lab.rs"]
mod orthanc_lab;
mod support;

use std::path::{Path, PathBuf};

use imaging_source::dicomweb::DicomWebClient;
use imaging_source::kos::{AffinityPatient, build_manifest, to_part10};
use imaging_source::publish::publish;
use imaging_source::report::{BASIC_TEXT_SR_SOP_CLASS, report_in_pacs_study};
use orthanc_lab::{in_orthanc_lab, runtime, study_instances, upload};
use schemas::constants::status;
use support::reports::{PDF, sha1_hex, verified_sr_text, write_encapsulated_pdf, write_sr};
use support::xds::{Xds, entry_with_unique_id};

const STUDY_ARGS: [&str; 6] = ["--series", "CT:2", "--rows", "64", "--cols", "64"];
const REPORT_SOP: &str = "2.25.4242424242.1";

#[test]
fn an_encapsulated_pdf_held_by_orthanc_is_published_as_the_report() {
    const NAME: &str = "an_encapsulated_pdf_held_by_orthanc_is_published_as_the_report";
    if let Some((orthanc, study)) = in_orthanc_lab(NAME, "report-pdf", &STUDY_ARGS) {
        runtime().block_on(async {
            let hash = publish_with_report(&orthanc, &study, |path, study_uid, _| {
                write_encapsulated_pdf(path, study_uid, REPORT_SOP, PDF)
            })
            .await;
            assert_eq!(hash, sha1_hex(PDF));
        });
    }
}

#[test]
fn an_sr_held_by_orthanc_is_published_as_its_text_rendering() {
    const NAME: &str = "an_sr_held_by_orthanc_is_published_as_its_text_rendering";
    if let Some((orthanc, study)) = in_orthanc_lab(NAME, "report-sr", &STUDY_ARGS) {
        runtime().block_on(async {
            let mut key_image = String::new();
            let hash = publish_with_report(&orthanc, &study, |path, study_uid, first_image| {
                key_image = first_image.to_owned();
                write_sr(
                    path,
                    BASIC_TEXT_SR_SOP_CLASS,
                    study_uid,
                    REPORT_SOP,
                    first_image,
                    "COMPLETE",
                );
            })
            .await;
            let text = verified_sr_text(BASIC_TEXT_SR_SOP_CLASS, &key_image);
            assert_eq!(hash, sha1_hex(text.as_bytes()));
        });
    }
}

/// Uploads the make_study.py study and the report instance `write_report` writes (given the
/// file, the Study Instance UID and the first image's SOP Instance UID) to Orthanc, publishes
/// the study read back over DICOMweb with the report found in it, checks the manifest with
/// dciodvfy, and returns the registered report's hash.
async fn publish_with_report(
    orthanc: &str,
    study_dir: &Path,
    write_report: impl FnOnce(&Path, &str, &str),
) -> String {
    let instances = study_instances(study_dir);
    let study_uid = instances[0].0.clone();
    let report_file = study_dir.join("report.dcm");
    write_report(&report_file, &study_uid, &instances[0].2);
    let mut files: Vec<PathBuf> = instances.iter().map(|i| i.3.clone()).collect();
    files.push(report_file);
    upload(orthanc, &files).await;

    let client = DicomWebClient::new(&format!("{orthanc}/dicom-web")).unwrap();
    let study = client.study(&study_uid).await.unwrap();
    assert_eq!(study.instance_count(), instances.len() + 1);
    let report = report_in_pacs_study(&client, &study)
        .await
        .unwrap()
        .expect("the report instance is found by its SOP Class");

    let xds = Xds::start().await;
    let patient = AffinityPatient {
        id: format!("IHE-REPORT-{}", uuid::Uuid::new_v4().simple()),
        assigning_authority: support::AD_OID.into(),
    };
    let mut ctx = xds.context(patient.clone());
    ctx.report = Some(report);
    let published = publish(&study, &ctx).await.unwrap();
    let (entries, _) = xds.find_documents(&patient, &[status::APPROVED]).await;
    assert_eq!(entries.len(), 2);
    let registered = entry_with_unique_id(&entries, published.report_unique_id.as_ref());
    assert_eq!(
        registered.class_code.as_ref().map(|c| c.code.as_str()),
        Some("REPORTS")
    );

    dciodvfy_manifest_passes(&study);
    registered.hash.clone().unwrap()
}

/// The manifest of `study` (its report instance among the references) passes `dciodvfy
/// -profile IHEXDSIManifest` without error.
fn dciodvfy_manifest_passes(study: &imaging_source::study::Study) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manifest.dcm");
    let manifest = build_manifest(study, &support::manifest_options()).unwrap();
    std::fs::write(&path, to_part10(&manifest).unwrap()).unwrap();
    let out = support::run_peer(
        "dciodvfy",
        &["-profile", "IHEXDSIManifest", path.to_str().unwrap()],
    );
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        report.contains("KeyObjectSelectionDocumentIHEXDSIManifest"),
        "{report}"
    );
    assert!(!report.lines().any(|l| l.starts_with("Error")), "{report}");
}
