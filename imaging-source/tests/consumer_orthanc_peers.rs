//! The Imaging Document Consumer against a real PACS as hospital A's source: Orthanc (DICOMweb
//! plugin) holds a `make_study.py` study, the Imaging Document Source publishes its manifest and
//! serves it from Orthanc; the consumer finds it, reads the manifest back and retrieves every
//! instance by RAD-69 and by WADO-RS, byte-identical to the files uploaded to Orthanc.
//! Peer tier: `cargo test -p imaging-source --features peers` (root; apt orthanc
//! orthanc-dicomweb; pip pydicom numpy; ../shared/tools). The test starts Orthanc in a network
//! namespace and runs itself again inside it.
#![cfg(feature = "peers")]

#[path = "support/orthanc_lab.rs"]
mod orthanc_lab;
#[path = "support/serve.rs"]
mod serve;
mod support;

use std::collections::BTreeMap;

use imaging_source::consumer::{
    self, ConsumerContext, FindQuery, ImagingSourceEndpoint, NoProgress, RetrieveProtocol,
};
use imaging_source::dicomweb::DicomWebClient;
use imaging_source::kos::AffinityPatient;
use orthanc_lab::{in_orthanc_lab, runtime, study_instances, upload};
use serve::Setup;
use support::xds::{IDS_UID, Xds};

const TEST_NAME: &str = "a_study_held_by_orthanc_is_found_shown_and_retrieved_byte_identical";
/// repositoryUniqueId of the in-process repository (its default).
const REPOSITORY_UNIQUE_ID: &str = "1.3.6.1.4.1.21367.2010.1.2.1125";

#[test]
fn a_study_held_by_orthanc_is_found_shown_and_retrieved_byte_identical() {
    let study_args = [
        "--series", "CT:12", "--series", "MR:4", "--rows", "128", "--cols", "128",
    ];
    if let Some((orthanc, study)) = in_orthanc_lab(TEST_NAME, "hie-consumer-test", &study_args) {
        runtime().block_on(inside_the_namespace(orthanc, study));
    }
}

async fn inside_the_namespace(orthanc: String, study_dir: std::path::PathBuf) {
    let instances = study_instances(&study_dir);
    let files: Vec<_> = instances.iter().map(|i| i.3.clone()).collect();
    upload(&orthanc, &files).await;
    let source = Setup::with_pacs(Some(format!("{orthanc}/dicom-web"))).await;
    let xds = Xds::start().await;
    let study_uid = &instances[0].0;
    let study = DicomWebClient::new(&format!("{orthanc}/dicom-web"))
        .unwrap()
        .study(study_uid)
        .await
        .unwrap();
    let patient = AffinityPatient {
        id: "IHE-ORTHANC-2".into(),
        assigning_authority: support::AD_OID.into(),
    };
    let published = imaging_source::publish::publish(&study, &xds.context(patient.clone()))
        .await
        .unwrap();

    let config = consumer::Config {
        registry_url: xds.registry_url.clone(),
        affinity_domain: support::AD_OID.into(),
        repositories: BTreeMap::from([(
            REPOSITORY_UNIQUE_ID.to_owned(),
            xds.repository_url.clone(),
        )]),
        imaging_sources: BTreeMap::from([(
            IDS_UID.to_owned(),
            ImagingSourceEndpoint {
                rad69_url: source.url(),
                wado_rs_url: Some(source.running.wado_rs_url()),
            },
        )]),
        ..consumer::Config::default()
    };
    let ctx = ConsumerContext::new(config.clone());
    let found = consumer::find(
        &ctx,
        &FindQuery {
            patient: patient.to_cx(),
            modality: Some("CT".into()),
            since: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(found.manifests.len(), 1);
    assert_eq!(found.manifests[0].unique_id, published.manifest_unique_id);
    let view = consumer::show(&ctx, &published.manifest_entry_uuid)
        .await
        .unwrap();
    assert_eq!(view.manifest.image_count, instances.len());
    assert_eq!(view.manifest.series_count, 2);

    for protocol in [RetrieveProtocol::Rad69, RetrieveProtocol::WadoRs] {
        let dir = tempfile::tempdir().unwrap();
        let ctx = ConsumerContext::new(consumer::Config {
            retrieve_protocol: protocol,
            ..config.clone()
        });
        let report =
            consumer::retrieve_entry(&ctx, &published.manifest_unique_id, dir.path(), &NoProgress)
                .await
                .unwrap();
        assert!(report.is_complete(), "{protocol:?}: {:?}", report.missing);
        assert_eq!(report.fetched, instances.len());
        for (study, series, sop, file) in &instances {
            let retrieved = dir
                .path()
                .join(study)
                .join(series)
                .join(format!("{sop}.dcm"));
            assert!(
                std::fs::read(&retrieved).unwrap() == std::fs::read(file).unwrap(),
                "{protocol:?}: {sop} differs from the file uploaded to Orthanc"
            );
        }
    }
}
