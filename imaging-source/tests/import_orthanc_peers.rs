//! Import Reconciliation into real PACS (Orthanc in the lab network namespace), every frame of
//! every stored file compared by hash with the original:
//! - `make_study.py` studies (native CT and US multi-frame, and RLE-encapsulated) imported by
//!   STOW-RS into Orthanc ("hospital B") and queried back by the local patient id (QIDO-RS);
//! - hospital A to hospital B through the exchange with two PACS: a study held by Orthanc A is
//!   published (RAD-68) by A's Imaging Document Source, which serves it from Orthanc A; B finds
//!   it by its own patient id (ITI-18 after PIX), and `POST /consumer/entries/{entry}/import` on
//!   B's service retrieves it (RAD-69) and imports it into Orthanc B (STOW-RS).
#![cfg(feature = "peers")]

#[path = "support/serve.rs"]
mod serve;
mod support;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use dicom_core::value::Value;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use imaging_source::consumer::{self, ConsumerContext, FindQuery, ImagingSourceEndpoint};
use imaging_source::dicomweb::DicomWebClient;
use imaging_source::import_reconciliation::rules::text;
use imaging_source::import_reconciliation::{
    ImportOptions, LocalPatient, NoProgress, import_instances,
};
use imaging_source::kos::AffinityPatient;
use imaging_source::publish::publish;
use serve::Setup;
use sha1::{Digest, Sha1};
use support::orthanc::{Orthanc, dcm_files};
use support::xds::{IDS_UID, Xds};

const LOCAL_OID: &str = "1.2.3.4.5.6.7.9.1";
const B_PATIENT: &str = "B-LOCAL-0042";
/// repositoryUniqueId of the in-process repository (its default).
const REPOSITORY_UNIQUE_ID: &str = "1.3.6.1.4.1.21367.2010.1.2.1125";

fn local_patient() -> LocalPatient {
    LocalPatient {
        id: B_PATIENT.into(),
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

async fn rest(request: reqwest::RequestBuilder) -> bytes::Bytes {
    request.send().await.unwrap().bytes().await.unwrap()
}

/// Orthanc's id of the resource with this DICOM UID (REST `/tools/lookup`).
async fn orthanc_id(orthanc: &Orthanc, uid: &str) -> String {
    let http = reqwest::Client::new();
    let lookup = rest(
        http.post(format!("{}/tools/lookup", orthanc.rest_url()))
            .body(uid.to_owned()),
    )
    .await;
    let found: serde_json::Value = serde_json::from_slice(&lookup).unwrap();
    found[0]["ID"]
        .as_str()
        .unwrap_or_else(|| panic!("{uid} not in Orthanc"))
        .to_owned()
}

/// The file Orthanc stored for the instance of Orthanc id `id`.
async fn stored_file(orthanc: &Orthanc, id: &str) -> Vec<u8> {
    let url = format!("{}/instances/{id}/file", orthanc.rest_url());
    rest(reqwest::Client::new().get(url)).await.to_vec()
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
        let id = orthanc_id(orthanc, &stored.sop_instance_uid).await;
        let bytes = stored_file(orthanc, &id).await;
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

/// make_study.py studies imported straight into Orthanc B, found by the local patient id.
async fn outside_study_imported_into_orthanc_is_found_by_the_local_id_with_identical_frames() {
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
}

/// Every instance Orthanc holds for `study_uid`, as stored.
async fn orthanc_instances(orthanc: &Orthanc, study_uid: &str) -> Vec<InMemDicomObject> {
    let study_id = orthanc_id(orthanc, study_uid).await;
    let url = format!("{}/studies/{study_id}/instances", orthanc.rest_url());
    let list: serde_json::Value =
        serde_json::from_slice(&rest(reqwest::Client::new().get(url)).await).unwrap();
    let mut out = Vec::new();
    for instance in list.as_array().unwrap() {
        let file = stored_file(orthanc, instance["ID"].as_str().unwrap()).await;
        out.push(
            dicom_object::from_reader(&file[128..])
                .unwrap()
                .into_inner(),
        );
    }
    out
}

/// Hospital A's study through the exchange into Orthanc B, reconciled.
async fn study_published_at_a_is_found_retrieved_and_imported_into_b_reconciled() {
    let dir = tempfile::tempdir().unwrap();
    let study_dir = dir.path().join("study");
    support::make_study(
        &study_dir,
        &[
            "--series", "CT:6", "--series", "US:1:4", "--rows", "64", "--cols", "64",
        ],
    );
    let originals: HashMap<String, InMemDicomObject> = dcm_files(&study_dir)
        .iter()
        .map(|f| {
            let obj = dicom_object::open_file(f).unwrap().into_inner();
            (text(&obj, tags::SOP_INSTANCE_UID), obj)
        })
        .collect();
    let orthanc_a = Orthanc::start(&dir.path().join("orthanc-a"));
    let orthanc_b = Orthanc::start(&dir.path().join("orthanc-b"));
    assert_eq!(orthanc_a.upload_folder(&study_dir).await, originals.len());

    // Hospital A publishes the study its PACS holds; its source serves it from Orthanc A.
    let xds = Xds::start().await;
    let source_a = Setup::with_pacs(Some(orthanc_a.dicomweb_url())).await;
    let pacs_a = DicomWebClient::new(&orthanc_a.dicomweb_url()).unwrap();
    let found = pacs_a
        .find_studies(&[("PatientID", "PAT-0001")])
        .await
        .unwrap();
    let study_uid = found[0]["0020000D"]["Value"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let study = pacs_a.study(&study_uid).await.unwrap();
    let affinity = AffinityPatient {
        id: format!("IHE-{}", uuid::Uuid::new_v4().simple()),
        assigning_authority: support::AD_OID.into(),
    };
    publish(&study, &xds.context(affinity.clone()))
        .await
        .unwrap();

    // Hospital B: its PIX knows its patient; its service's consumer reaches A's exchange.
    let pix = support::pix::fake_pix_manager(vec![(B_PATIENT.into(), affinity.id.clone())]).await;
    let consumer_config = consumer::Config {
        registry_url: xds.registry_url.clone(),
        pix_address: pix,
        affinity_domain: support::AD_OID.into(),
        timeout_seconds: 30,
        repositories: BTreeMap::from([(
            REPOSITORY_UNIQUE_ID.to_owned(),
            xds.repository_url.clone(),
        )]),
        imaging_sources: BTreeMap::from([(
            IDS_UID.to_owned(),
            ImagingSourceEndpoint {
                rad69_url: source_a.url(),
                wado_rs_url: None,
            },
        )]),
        ..consumer::Config::default()
    };
    let b_cx = format!("{B_PATIENT}^^^HOSPB&{LOCAL_OID}&ISO");
    let found = consumer::find(
        &ConsumerContext::new(consumer_config.clone()),
        &FindQuery {
            patient: format!("{B_PATIENT}^^^&{LOCAL_OID}&ISO"),
            modality: None,
            since: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(found.manifests.len(), 1);
    let entry = found.manifests[0].unique_id.clone();
    let service_b = Setup::with_config(imaging_source::config::Config {
        consumer: consumer_config,
        ..imaging_source::config::Config::default()
    })
    .await;
    let response = reqwest::Client::new()
        .post(format!(
            "{}/consumer/entries/{entry}/import",
            service_b.base()
        ))
        .header("content-type", "application/json")
        .body(
            serde_json::json!({
                "pacs": orthanc_b.dicomweb_url(),
                "patient": b_cx,
                "name": "Doe^Jane^Marie",
                "birth_date": "19700101",
                "sex": "F",
                "accession": "B-2026-0042",
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let status = response.status();
    let report: serde_json::Value =
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report["import"]["stored"].as_array().unwrap().len(),
        originals.len()
    );

    // Orthanc B holds the study under B's patient id, frames identical, originals kept.
    let pacs_b = DicomWebClient::new(&orthanc_b.dicomweb_url()).unwrap();
    let by_local_id = pacs_b
        .find_studies(&[("PatientID", B_PATIENT)])
        .await
        .unwrap();
    assert_eq!(by_local_id.len(), 1, "{by_local_id:?}");
    assert_eq!(
        by_local_id[0]["0020000D"]["Value"][0].as_str(),
        Some(study_uid.as_str())
    );
    let stored = orthanc_instances(&orthanc_b, &study_uid).await;
    assert_eq!(stored.len(), originals.len());
    for obj in &stored {
        let sop = text(obj, tags::SOP_INSTANCE_UID);
        let original = &originals[&sop];
        assert_eq!(frame_hashes(obj), frame_hashes(original), "frames of {sop}");
        assert_eq!(text(obj, tags::PATIENT_ID), B_PATIENT);
        assert_eq!(text(obj, tags::ISSUER_OF_PATIENT_ID), "HOSPB");
        assert_eq!(text(obj, tags::PATIENT_NAME), "Doe^Jane^Marie");
        assert_eq!(text(obj, tags::ACCESSION_NUMBER), "B-2026-0042");
        assert_eq!(
            text(obj, tags::INSTITUTION_NAME),
            text(original, tags::INSTITUTION_NAME)
        );
        let other_ids = obj
            .get(tags::OTHER_PATIENT_I_DS_SEQUENCE)
            .and_then(|e| e.items())
            .unwrap();
        assert!(
            other_ids
                .iter()
                .any(|i| text(i, tags::PATIENT_ID) == "PAT-0001")
        );
        let modified = &obj
            .get(tags::ORIGINAL_ATTRIBUTES_SEQUENCE)
            .and_then(|e| e.items())
            .unwrap()[0]
            .get(tags::MODIFIED_ATTRIBUTES_SEQUENCE)
            .and_then(|e| e.items())
            .unwrap()[0];
        assert_eq!(
            text(modified, tags::ACCESSION_NUMBER),
            text(original, tags::ACCESSION_NUMBER)
        );
    }
}

/// Both scenarios in one lab namespace (one test: the namespace is named after the process).
#[test]
fn outside_studies_are_imported_into_orthanc_reconciled_with_identical_frames() {
    if !support::orthanc::run_in_lab_netns(
        "outside_studies_are_imported_into_orthanc_reconciled_with_identical_frames",
    ) {
        return;
    }
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        outside_study_imported_into_orthanc_is_found_by_the_local_id_with_identical_frames().await;
        study_published_at_a_is_found_retrieved_and_imported_into_b_reconciled().await;
    });
}
