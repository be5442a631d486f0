//! RAD-69 and WADO-RS through the Imaging Document Source for instances only the PACS (a real
//! Orthanc with the DICOMweb plugin) holds: streamed from it byte-identical, or in a requested
//! transfer syntax Orthanc makes.
//! Peer tier: `cargo test -p imaging-source --features peers` (root; apt orthanc orthanc-dicomweb;
//! pip pydicom numpy; ../shared/tools). The test starts Orthanc in a network namespace and runs
//! itself again inside it.
#![cfg(feature = "peers")]

#[path = "support/orthanc_lab.rs"]
mod orthanc;
#[path = "support/serve.rs"]
mod serve;

use orthanc::{in_orthanc_lab, runtime, study_instances, upload};
use schemas::constants::error_code;
use schemas::ebrim::ResponseStatus;
use serve::{EXPLICIT_LE, IMPLICIT_LE, REPOSITORY_UID, Setup, document_bytes, rad69, request};

const STUDY_ARGS: [&str; 8] = [
    "--series", "CT:5", "--series", "MR:3", "--rows", "128", "--cols", "128",
];

#[test]
fn rad69_streams_instances_held_only_by_orthanc_byte_identical() {
    let test = "rad69_streams_instances_held_only_by_orthanc_byte_identical";
    if let Some((orthanc, study)) = in_orthanc_lab(test, "hie-rad69-as-held", &STUDY_ARGS) {
        runtime().block_on(inside_the_namespace(orthanc, study));
    }
}

#[test]
fn rad69_asks_orthanc_for_a_requested_transfer_syntax_or_reports_it_not_supported() {
    let test = "rad69_asks_orthanc_for_a_requested_transfer_syntax_or_reports_it_not_supported";
    if let Some((orthanc, study)) = in_orthanc_lab(test, "hie-rad69-transcode", &STUDY_ARGS) {
        runtime().block_on(transcoded_by_orthanc(orthanc, study));
    }
}

/// The study (held in Explicit VR LE) asked for in Implicit VR LE only comes back in it, same
/// pixels; asked for in JPEG Baseline only (which Orthanc 1.10 cannot make) every instance is an
/// XDSRepositoryError "transfer syntax not supported".
async fn transcoded_by_orthanc(orthanc: String, study_dir: std::path::PathBuf) {
    const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";
    let instances = study_instances(&study_dir);
    let files: Vec<_> = instances.iter().map(|i| i.3.clone()).collect();
    upload(&orthanc, &files).await;
    let setup = Setup::with_pacs(Some(format!("{orthanc}/dicom-web"))).await;
    let wanted: Vec<(&str, &str, &str)> = instances
        .iter()
        .map(|(st, se, sop, _)| (st.as_str(), se.as_str(), sop.as_str()))
        .collect();

    let (answer, parts) = rad69(
        &setup.url(),
        &request(REPOSITORY_UID, &wanted, &[IMPLICIT_LE]),
    )
    .await;
    assert_eq!(
        answer.response.status,
        ResponseStatus::Success,
        "{:?}",
        answer.response.errors
    );
    assert_eq!(parts.len(), instances.len());
    let pixels = |bytes: &[u8]| {
        let file = dicom_object::from_reader(&bytes[128..]).unwrap();
        let data = file
            .element(dicom_dictionary_std::tags::PIXEL_DATA)
            .unwrap()
            .to_bytes()
            .unwrap()
            .to_vec();
        (file.meta().transfer_syntax().to_owned(), data)
    };
    for (_, _, sop, file) in &instances {
        let (syntax, served) = pixels(document_bytes(&answer, &parts, sop));
        assert_eq!(syntax, IMPLICIT_LE, "instance {sop}");
        assert!(
            served == pixels(&std::fs::read(file).unwrap()).1,
            "instance {sop}: pixel data changed"
        );
    }

    let (answer, parts) = rad69(
        &setup.url(),
        &request(REPOSITORY_UID, &wanted, &[JPEG_BASELINE]),
    )
    .await;
    assert_eq!(answer.response.status, ResponseStatus::Failure);
    assert!(parts.is_empty());
    assert_eq!(answer.response.errors.len(), instances.len());
    for error in &answer.response.errors {
        assert_eq!(error.error_code, error_code::XDS_REPOSITORY_ERROR);
        assert!(
            error.code_context.contains("transfer syntax not supported"),
            "{}",
            error.code_context
        );
    }
}

async fn inside_the_namespace(orthanc: String, study_dir: std::path::PathBuf) {
    let instances = study_instances(&study_dir);
    let files: Vec<_> = instances.iter().map(|i| i.3.clone()).collect();
    upload(&orthanc, &files).await;
    let setup = Setup::with_pacs(Some(format!("{orthanc}/dicom-web"))).await;

    let wanted: Vec<(&str, &str, &str)> = instances
        .iter()
        .map(|(st, se, sop, _)| (st.as_str(), se.as_str(), sop.as_str()))
        .collect();
    let (answer, parts) = rad69(
        &setup.url(),
        &request(REPOSITORY_UID, &wanted, &[EXPLICIT_LE]),
    )
    .await;
    assert_eq!(
        answer.response.status,
        ResponseStatus::Success,
        "{:?}",
        answer.response.errors
    );
    assert_eq!(parts.len(), instances.len());
    for (_, _, sop, file) in &instances {
        let served = document_bytes(&answer, &parts, sop);
        let uploaded = std::fs::read(file).unwrap();
        assert!(
            served == uploaded.as_slice(),
            "instance {sop} differs from the file uploaded to Orthanc ({} bytes served, {} \
             uploaded, first difference at {:?})",
            served.len(),
            uploaded.len(),
            served.iter().zip(&uploaded).position(|(a, b)| a != b)
        );
    }

    let study = &instances[0].0;
    let response = reqwest::get(format!("{}/dicomweb/studies/{study}", setup.base()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.unwrap();
    for (_, _, sop, file) in &instances {
        let original = std::fs::read(file).unwrap();
        assert!(
            body.windows(original.len())
                .any(|w| w == original.as_slice()),
            "WADO-RS study answer lacks {sop}"
        );
    }
}
