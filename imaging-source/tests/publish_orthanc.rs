//! RAD-68 from a real PACS: Orthanc with its DICOMweb plugin holds a `make_study.py` study;
//! QIDO-RS finds it, WADO-RS metadata builds the Study, WADO-RS streams an instance, and the
//! manifest is published to an in-process registry and repository.
#![cfg(feature = "peers")]

mod support;

use futures::StreamExt;
use imaging_source::dicomweb::{DicomWebClient, DicomWebError};
use imaging_source::kos::AffinityPatient;
use imaging_source::publish::publish;
use schemas::constants::status;
use support::orthanc::Orthanc;
use support::xds::Xds;

#[test]
fn orthanc_study_is_read_over_dicomweb_and_published() {
    if !support::orthanc::run_in_lab_netns("orthanc_study_is_read_over_dicomweb_and_published") {
        return;
    }
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let study_dir = dir.path().join("mixed");
        support::make_study(&study_dir, &["--preset", "mr3"]);
        let fixture: serde_json::Value =
            serde_json::from_slice(&std::fs::read(study_dir.join("study.json")).unwrap()).unwrap();
        let orthanc = Orthanc::start(&dir.path().join("orthanc"));
        assert_eq!(orthanc.upload_folder(&study_dir).await, 34);
        let client = DicomWebClient::new(&orthanc.dicomweb_url()).unwrap();

        let found = client
            .find_studies(&[("PatientID", "PAT-0001")])
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        let study_uid = found[0]
            .pointer("/0020000D/Value/0")
            .and_then(|v| v.as_str())
            .unwrap()
            .to_owned();
        assert_eq!(
            fixture["StudyInstanceUID"].as_str(),
            Some(study_uid.as_str()),
            "{fixture}"
        );

        let study = client.study(&study_uid).await.unwrap();
        assert_eq!(study.series.len(), 3);
        assert_eq!(study.instance_count(), 34);
        assert_eq!(study.accession_number.as_deref(), Some("ACC-0001"));
        assert_eq!(study.accession_issuer.as_deref(), Some("1.2.3.4.5.6.7.8.2"));
        assert_eq!(study.patient.issuer.as_deref(), Some("1.2.3.4.5.6.7.8.1"));

        let series = &study.series[0];
        let instance = &series.instances[0];
        let mut stream = client
            .retrieve_instance(
                &study_uid,
                &series.series_instance_uid,
                &instance.sop_instance_uid,
            )
            .await
            .unwrap();
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            bytes.extend_from_slice(&chunk.unwrap());
        }
        let object = dicom_object::from_reader(&bytes[128..]).unwrap();
        assert_eq!(
            object
                .element(dicom_dictionary_std::tags::SOP_INSTANCE_UID)
                .unwrap()
                .to_str()
                .unwrap()
                .trim_end_matches('\0'),
            instance.sop_instance_uid
        );
        assert!(matches!(
            client.study("2.25.1").await,
            Err(DicomWebError::NotFound { .. })
        ));

        let xds = Xds::start().await;
        let patient = AffinityPatient {
            id: "IHE-ORTHANC-1".into(),
            assigning_authority: support::AD_OID.into(),
        };
        let mut ctx = xds.context(patient.clone());
        ctx.retrieve_url = Some(orthanc.dicomweb_url());
        let published = publish(&study, &ctx).await.unwrap();
        let (entries, _) = xds.find_documents(&patient, &[status::APPROVED]).await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].unique_id.value, published.manifest_unique_id);
        let events: Vec<&str> = entries[0]
            .event_codes
            .iter()
            .map(|c| c.code.as_str())
            .collect();
        assert_eq!(events, ["MR", "69536005"]);
    });
}
