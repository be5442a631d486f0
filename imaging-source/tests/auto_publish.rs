//! RAD-68 of a study pushed by C-STORE: once the SCP announces it complete, the study is read
//! back from the instance store, its patient resolved by ITI-9 and its manifest registered, with
//! the report (Encapsulated PDF or textual SR) the study holds.

mod support;

use imaging_source::auto_publish::{AutoPublish, AutoPublishError, publish_received_study};
use imaging_source::config::Config;
use imaging_source::instance_store::InstanceStore;
use imaging_source::kos::AffinityPatient;
use imaging_source::metadata::CodeSpec;
use imaging_source::pix_client::PixClient;
use imaging_source::publish::Published;
use imaging_source::report::ENHANCED_SR_SOP_CLASS;
use schemas::constants::status;
use schemas::xds::DocumentEntry;
use support::pix::fake_pix_manager;
use support::reports;
use support::xds::{Xds, entry_with_unique_id};

const STUDY: &str = "2.25.7001";
const SERIES: &str = "2.25.7001.1";

/// An instance store holding a two-image CT study of local patient PAT-0001.
async fn received_study(root: &std::path::Path) -> InstanceStore {
    let store = InstanceStore::new(root);
    for number in 1..=2 {
        let sop = format!("{SERIES}.{number}");
        let file = root.join("incoming").join(format!("{number}.dcm"));
        support::write_instance(&file, STUDY, SERIES, &sop, "CT", number);
        let reader = tokio::fs::File::open(&file).await.unwrap();
        store.put(STUDY, SERIES, &sop, reader).await.unwrap();
    }
    store
}

#[tokio::test]
async fn a_study_received_by_c_store_is_published_under_its_affinity_domain_patient() {
    let dir = tempfile::tempdir().unwrap();
    let xds = Xds::start().await;
    let affinity = AffinityPatient {
        id: format!("IHE-{}", uuid::Uuid::new_v4().simple()),
        assigning_authority: support::AD_OID.into(),
    };
    let pix = fake_pix_manager(vec![("PAT-0001".into(), affinity.id.clone())]).await;
    let auto = AutoPublish {
        store: received_study(dir.path()).await,
        pix: PixClient::new(pix),
        affinity_domain: support::AD_OID.into(),
        context: xds.context(affinity.clone()),
    };
    let published = publish_received_study(&auto, STUDY).await.unwrap();
    let (entries, _) = xds.find_documents(&affinity, &[status::APPROVED]).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].unique_id.value, published.manifest_unique_id);
}

#[tokio::test]
async fn a_received_study_is_published_as_imaging_source_configuration_says() {
    let dir = tempfile::tempdir().unwrap();
    let xds = Xds::start().await;
    let affinity_id = format!("IHE-{}", uuid::Uuid::new_v4().simple());
    let pix = fake_pix_manager(vec![("PAT-0001".into(), affinity_id.clone())]).await;
    received_study(dir.path()).await;
    let mut config = Config {
        instance_store_root: Some(dir.path().to_path_buf()),
        ..Config::default()
    };
    config.publish.repository_url = xds.repository_url.clone();
    config.consumer.registry_url = xds.registry_url.clone();
    config.consumer.pix_address = pix;
    config.consumer.affinity_domain = support::AD_OID.into();
    let ct_type = CodeSpec::new(
        "18782-3",
        "2.16.840.1.113883.6.1",
        "Radiology Study observation (narrative)",
    );
    config
        .publish
        .codes
        .type_code_by_modality
        .insert("CT".into(), ct_type.clone());
    let auto = AutoPublish::from_config(&config, dir.path(), "http://ids.example/dicomweb".into());
    assert_eq!(
        auto.context.retrieve_url.as_deref(),
        Some("http://ids.example/dicomweb"),
        "the service's own WADO-RS root when none is configured"
    );
    let published = publish_received_study(&auto, STUDY).await.unwrap();
    let affinity = AffinityPatient {
        id: affinity_id,
        assigning_authority: support::AD_OID.into(),
    };
    let (entries, _) = xds.find_documents(&affinity, &[status::APPROVED]).await;
    let manifest = entry_with_unique_id(&entries, Some(&published.manifest_unique_id));
    let type_code = manifest.type_code.as_ref().expect("typeCode");
    assert_eq!(
        (type_code.code.as_str(), type_code.coding_scheme.as_str()),
        (ct_type.code.as_str(), ct_type.coding_scheme.as_str())
    );
}

/// The report instance of the received study in [`publish_with_received_report`].
const REPORT_SERIES: &str = "2.25.7001.9";
const REPORT_SOP: &str = "2.25.7001.9.1";

/// Receives the two-image CT study and the report instance `write_report` writes (given the
/// file and its SOP Instance UID), then publishes it: the publication and the Approved entries.
async fn publish_with_received_report(
    write_report: impl FnOnce(&std::path::Path, &str),
) -> (Published, Vec<DocumentEntry>) {
    let dir = tempfile::tempdir().unwrap();
    let xds = Xds::start().await;
    let affinity = AffinityPatient {
        id: format!("IHE-{}", uuid::Uuid::new_v4().simple()),
        assigning_authority: support::AD_OID.into(),
    };
    let store = received_study(dir.path()).await;
    let file = dir.path().join("incoming").join("report.dcm");
    write_report(&file, REPORT_SOP);
    let reader = tokio::fs::File::open(&file).await.unwrap();
    store
        .put(STUDY, REPORT_SERIES, REPORT_SOP, reader)
        .await
        .unwrap();
    let pix = fake_pix_manager(vec![("PAT-0001".into(), affinity.id.clone())]).await;
    let auto = AutoPublish {
        store,
        pix: PixClient::new(pix),
        affinity_domain: support::AD_OID.into(),
        context: xds.context(affinity.clone()),
    };
    let published = publish_received_study(&auto, STUDY).await.unwrap();
    let (entries, _) = xds.find_documents(&affinity, &[status::APPROVED]).await;
    (published, entries)
}

#[tokio::test]
async fn an_sr_report_received_with_the_study_is_published_as_its_text_rendering() {
    let key_image = format!("{SERIES}.1");
    let (published, entries) = publish_with_received_report(|path, sop| {
        reports::write_sr(
            path,
            ENHANCED_SR_SOP_CLASS,
            STUDY,
            sop,
            &key_image,
            "COMPLETE",
        );
    })
    .await;
    assert_eq!(entries.len(), 2);
    let report = entry_with_unique_id(&entries, published.report_unique_id.as_ref());
    assert_eq!(report.mime_type.as_deref(), Some("text/plain"));
    assert_eq!(
        report.format_code.as_ref().map(|c| c.code.as_str()),
        Some("urn:ihe:rad:TEXT")
    );
    let text = reports::verified_sr_text(ENHANCED_SR_SOP_CLASS, &key_image);
    assert_eq!(
        report.hash.as_deref(),
        Some(reports::sha1_hex(text.as_bytes()).as_str())
    );
}

#[tokio::test]
async fn a_received_encapsulated_pdf_is_published_as_the_report() {
    let (published, entries) = publish_with_received_report(|path, sop| {
        reports::write_encapsulated_pdf(path, STUDY, sop, reports::PDF);
    })
    .await;
    let report = entry_with_unique_id(&entries, published.report_unique_id.as_ref());
    assert_eq!(report.mime_type.as_deref(), Some("application/pdf"));
    assert_eq!(
        report.hash.as_deref(),
        Some(reports::sha1_hex(reports::PDF).as_str())
    );
}

#[tokio::test]
async fn a_received_report_that_cannot_be_rendered_is_left_out_and_the_manifest_published() {
    let (published, entries) = publish_with_received_report(|path, sop| {
        reports::write_empty_sr(path, STUDY, sop);
    })
    .await;
    assert!(published.report_unique_id.is_none());
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].unique_id.value, published.manifest_unique_id);
}

#[tokio::test]
async fn a_received_study_of_a_patient_pix_does_not_know_is_not_published() {
    let dir = tempfile::tempdir().unwrap();
    let xds = Xds::start().await;
    let placeholder = AffinityPatient {
        id: "UNUSED".into(),
        assigning_authority: support::AD_OID.into(),
    };
    let pix = fake_pix_manager(Vec::new()).await;
    let auto = AutoPublish {
        store: received_study(dir.path()).await,
        pix: PixClient::new(pix),
        affinity_domain: support::AD_OID.into(),
        context: xds.context(placeholder),
    };
    let refused = publish_received_study(&auto, STUDY).await;
    assert!(
        matches!(refused, Err(AutoPublishError::Pix { .. })),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_study_the_store_does_not_hold_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let xds = Xds::start().await;
    let patient = AffinityPatient {
        id: "UNUSED".into(),
        assigning_authority: support::AD_OID.into(),
    };
    let auto = AutoPublish {
        store: InstanceStore::new(dir.path()),
        pix: PixClient::new(fake_pix_manager(Vec::new()).await),
        affinity_domain: support::AD_OID.into(),
        context: xds.context(patient),
    };
    let refused = publish_received_study(&auto, "2.25.404").await;
    assert!(
        matches!(
            refused,
            Err(AutoPublishError::NotFound { .. } | AutoPublishError::Scan { .. })
        ),
        "{refused:?}"
    );
}
