//! RAD-68 of a study pushed by C-STORE: once the SCP announces it complete, the study is read
//! back from the instance store, its patient resolved by ITI-9 and its manifest registered.

mod support;

use imaging_source::auto_publish::{AutoPublish, AutoPublishError, publish_received_study};
use imaging_source::instance_store::InstanceStore;
use imaging_source::kos::AffinityPatient;
use imaging_source::pix_client::PixClient;
use schemas::constants::status;
use support::pix::fake_pix_manager;
use support::xds::Xds;

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
