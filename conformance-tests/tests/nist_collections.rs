//! The NIST XDS Toolkit collections beyond `reg` replayed against the in-process registry and
//! repository: metadata update (`reg_mu`, ITI-57), remove metadata (`reg_rm`, ITI-62),
//! repository (`rep`, ITI-41/43), remove documents (`rep_rd`, ITI-86) and imaging document
//! source (`ids`, RAD-55 and RAD-69). Every section of nist-expected-pass.txt in the collection
//! still passes (the list only grows); failing sections not on the list are known gaps.
#![cfg(feature = "peers")]

mod support;

use conformance_tests::nist::ids::ImageSet;
use conformance_tests::nist::runner::start_services;
use conformance_tests::shared::shared_dir;
use support::expected_passes_still_pass;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_passes_of_the_metadata_update_collection_still_pass() {
    expected_passes_still_pass("reg_mu").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_passes_of_the_remove_metadata_collection_still_pass() {
    expected_passes_still_pass("reg_rm").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_passes_of_the_repository_collection_still_pass() {
    expected_passes_still_pass("rep").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_passes_of_the_remove_documents_collection_still_pass() {
    expected_passes_still_pass("rep_rd").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_passes_of_the_imaging_document_source_collection_still_pass() {
    expected_passes_still_pass("ids").await;
}

/// The `ids` plans' setup step: a DICOM instance imported into the in-process Imaging Document
/// Source is served unchanged by RAD-55 WADO-URI (the testkit's own KOS stands in for the image
/// set, which is not shipped).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_image_set_is_served_unchanged_by_the_in_process_imaging_source() {
    let folder = shared_dir()
        .expect("shared reference folder")
        .join("nist-testkit/tests/ids_2018-4801a/ValidateKOS");
    let file = folder.join("kos-evaluate.dcm");
    let header = imaging_source::cd::read_header(&file).expect("kos-evaluate.dcm is DICOM");
    let data = tempfile::tempdir().expect("temp dir");
    let services = start_services(data.path()).await.expect("services start");
    let image_set = ImageSet::scan(&folder).await.expect("folder scanned");
    let import = services
        .import_image_set(&image_set)
        .await
        .expect("folder imported");
    assert_eq!((import.studies, import.instances), (1, 1));
    let wado = services
        .target
        .imaging_wado_url
        .clone()
        .expect("in-process WADO-URI endpoint");
    let response = reqwest::Client::new()
        .get(&wado)
        .query(&[
            ("requestType", "WADO"),
            ("studyUID", header.study.study_instance_uid.as_str()),
            ("seriesUID", header.series.series_instance_uid.as_str()),
            ("objectUID", header.instance.sop_instance_uid.as_str()),
            ("contentType", "application/dicom"),
        ])
        .send()
        .await
        .expect("WADO-URI answers");
    assert_eq!(response.status(), 200);
    let served = response.bytes().await.expect("body");
    services.stop().await;
    assert!(served == std::fs::read(&file).expect("kos-evaluate.dcm readable"));
}
