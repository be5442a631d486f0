//! RAD-69 and WADO-RS through the Imaging Document Source for instances only the PACS (a real
//! Orthanc with the DICOMweb plugin) holds: streamed from it byte-identical.
//! Peer tier: `cargo test -p imaging-source --features peers` (root; apt orthanc orthanc-dicomweb;
//! pip pydicom numpy; ../shared/tools). The test starts Orthanc in a network namespace and runs
//! itself again inside it.
#![cfg(feature = "peers")]

#[path = "support/orthanc_lab.rs"]
mod orthanc;
#[path = "support/serve.rs"]
mod serve;

use orthanc::{in_orthanc_lab, runtime, study_instances, upload};
use schemas::ebrim::ResponseStatus;
use serve::{EXPLICIT_LE, REPOSITORY_UID, Setup, document_bytes, rad69, request};

const TEST_NAME: &str = "rad69_streams_instances_held_only_by_orthanc_byte_identical";

#[test]
fn rad69_streams_instances_held_only_by_orthanc_byte_identical() {
    let study_args = [
        "--series", "CT:5", "--series", "MR:3", "--rows", "128", "--cols", "128",
    ];
    if let Some((orthanc, study)) = in_orthanc_lab(TEST_NAME, "hie-ids-test", &study_args) {
        runtime().block_on(inside_the_namespace(orthanc, study));
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
        assert!(
            document_bytes(&answer, &parts, sop) == std::fs::read(file).unwrap().as_slice(),
            "instance {sop} differs from the file uploaded to Orthanc"
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
