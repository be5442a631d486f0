//! Import Reconciliation into a real PACS: `make_study.py` studies (native CT and US
//! multi-frame, and RLE-encapsulated) imported by STOW-RS into Orthanc ("hospital B"), queried
//! back by the local patient id over QIDO-RS, and every frame of every stored file compared by
//! hash with the original.
#![cfg(feature = "peers")]

mod support;

use std::collections::HashMap;
use std::path::Path;

use dicom_core::value::Value;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use imaging_source::dicomweb::DicomWebClient;
use imaging_source::import_reconciliation::rules::text;
use imaging_source::import_reconciliation::{
    ImportOptions, LocalPatient, NoProgress, import_instances,
};
use sha1::{Digest, Sha1};
use support::orthanc::{Orthanc, dcm_files};

const LOCAL_OID: &str = "1.2.3.4.5.6.7.9.1";

fn local_patient() -> LocalPatient {
    LocalPatient {
        id: "B-LOCAL-0042".into(),
        issuer: Some("HOSPB".into()),
        issuer_oid: Some(LOCAL_OID.into()),
        name: Some("Doe^Jane^Marie".into()),
        birth_date: Some("19700101".into()),
        sex: Some("F".into()),
    }
}

/// SHA-1 of each frame: each fragment of encapsulated pixel data, or the native pixel data cut
/// into Number of Frames equal parts.
fn frame_hashes(obj: &InMemDicomObject) -> Vec<Vec<u8>> {
    let element = obj.element(tags::PIXEL_DATA).expect("Pixel Data");
    match element.value() {
        Value::PixelSequence(sequence) => sequence
            .fragments()
            .iter()
            .map(|f| Sha1::digest(f).to_vec())
            .collect(),
        _ => {
            let bytes = element.to_bytes().unwrap();
            let frames: usize = text(obj, tags::NUMBER_OF_FRAMES).parse().unwrap_or(1);
            bytes
                .chunks(bytes.len() / frames.max(1))
                .map(|f| Sha1::digest(f).to_vec())
                .collect()
        }
    }
}

/// The file Orthanc stored for a SOP Instance UID (REST `/tools/lookup`, `/instances/{id}/file`).
async fn stored_file(orthanc: &Orthanc, sop: &str) -> Vec<u8> {
    let http = reqwest::Client::new();
    let lookup = http
        .post(format!("{}/tools/lookup", orthanc.rest_url()))
        .body(sop.to_owned())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let found: serde_json::Value = serde_json::from_slice(&lookup).unwrap();
    let id = found[0]["ID"]
        .as_str()
        .unwrap_or_else(|| panic!("{sop} not in Orthanc B"));
    http.get(format!("{}/instances/{id}/file", orthanc.rest_url()))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

async fn import_and_check(orthanc: &Orthanc, study_dir: &Path, accession: &str) {
    let files = dcm_files(study_dir);
    let originals: HashMap<String, InMemDicomObject> = files
        .iter()
        .map(|f| {
            let obj = dicom_object::open_file(f).unwrap().into_inner();
            (text(&obj, tags::SOP_INSTANCE_UID), obj)
        })
        .collect();
    let report = import_instances(
        files.clone(),
        &local_patient(),
        &ImportOptions::new(orthanc.dicomweb_url()),
        &NoProgress,
    )
    .await
    .unwrap();
    assert!(report.is_complete(), "{:?}", report.failed);
    assert_eq!(report.stored.len(), files.len());
    assert!(!report.studies[0].uids_replaced);

    for stored in &report.stored {
        let bytes = stored_file(orthanc, &stored.sop_instance_uid).await;
        let obj = dicom_object::from_reader(&bytes[128..])
            .unwrap()
            .into_inner();
        let original = &originals[&stored.original_sop_instance_uid];
        assert_eq!(
            frame_hashes(&obj),
            frame_hashes(original),
            "frames of {}",
            stored.sop_instance_uid
        );
        assert_eq!(text(&obj, tags::PATIENT_ID), "B-LOCAL-0042");
        assert_eq!(text(&obj, tags::ISSUER_OF_PATIENT_ID), "HOSPB");
        assert_eq!(text(&obj, tags::PATIENT_NAME), "Doe^Jane^Marie");
        assert_eq!(text(&obj, tags::ACCESSION_NUMBER), accession);
        let originals_item = &obj
            .get(tags::ORIGINAL_ATTRIBUTES_SEQUENCE)
            .and_then(|e| e.items())
            .expect("Original Attributes Sequence")[0];
        let modified = &originals_item
            .get(tags::MODIFIED_ATTRIBUTES_SEQUENCE)
            .and_then(|e| e.items())
            .unwrap()[0];
        assert_eq!(
            text(modified, tags::PATIENT_ID),
            text(original, tags::PATIENT_ID)
        );
    }
}

#[test]
fn outside_study_imported_into_orthanc_is_found_by_the_local_id_with_identical_frames() {
    if !support::orthanc::run_in_lab_netns(
        "outside_study_imported_into_orthanc_is_found_by_the_local_id_with_identical_frames",
    ) {
        return;
    }
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let native = dir.path().join("native");
        support::make_study(
            &native,
            &[
                "--series", "CT:4", "--series", "US:1:5", "--rows", "64", "--cols", "64",
            ],
        );
        let rle = dir.path().join("rle");
        support::make_study(
            &rle,
            &[
                "--series",
                "CT:3",
                "--rows",
                "64",
                "--cols",
                "64",
                "--transfer-syntax",
                "rle",
                "--study-uid",
                "2.25.4242",
                "--accession",
                "ACC-RLE",
            ],
        );
        let orthanc_b = Orthanc::start(&dir.path().join("orthanc-b"));
        import_and_check(&orthanc_b, &native, "OUT_ACC-0001").await;
        import_and_check(&orthanc_b, &rle, "OUT_ACC-RLE").await;

        let client = DicomWebClient::new(&orthanc_b.dicomweb_url()).unwrap();
        let found = client
            .find_studies(&[("PatientID", "B-LOCAL-0042")])
            .await
            .unwrap();
        assert_eq!(found.len(), 2, "both studies under the local id: {found:?}");
        let original_id = client
            .find_studies(&[("PatientID", "PAT-0001")])
            .await
            .unwrap();
        assert!(
            original_id.is_empty(),
            "nothing stored under hospital A's id"
        );
    });
}
