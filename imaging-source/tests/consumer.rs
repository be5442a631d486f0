//! Imaging Document Consumer (XDS-I.b): ITI-18 FindDocuments on imaging manifests with the local
//! patient id translated by PIX (ITI-9), the manifest read back by ITI-43, and its instances
//! retrieved by RAD-69 or WADO-RS into a folder, verified and resumable. A registry, a
//! repository, an Imaging Document Source and a PIX Manager stand-in run in-process.

#[path = "support/serve.rs"]
mod serve;
mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use imaging_source::consumer::{
    self, ConsumerContext, ConsumerError, FindQuery, ImagingSourceEndpoint, NoProgress,
    RetrieveProtocol,
};
use imaging_source::kos::AffinityPatient;
use imaging_source::study::{Series, Study};
use serve::{EXPLICIT_LE, Setup, dicom_instance};
use support::xds::{IDS_UID, Xds};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LOCAL_PATIENT: &str = "PAT-0001";
/// repositoryUniqueId of the in-process repository (its default).
const REPOSITORY_UNIQUE_ID: &str = "1.3.6.1.4.1.21367.2010.1.2.1125";
const OLD_STUDY: &str = "2.25.2002";
const OLD_SERIES: &str = "2.25.2002.1";
/// Pixel data bytes per generated instance (large enough that a transfer can be cut mid-way).
const PIXEL_BYTES: usize = 64 * 1024;

/// Hospital A: registry, repository, imaging source with two published studies of one patient
/// (a CT + MR study of 2026 and an MR study of 2020), and a PIX Manager knowing the patient.
struct HospitalA {
    xds: Xds,
    source: Setup,
    pix_address: String,
    affinity: AffinityPatient,
    /// The CT + MR study (support::study()) and its manifest's uniqueId and entryUUID.
    study: Study,
    manifest_uid: String,
    manifest_entry_uuid: String,
    /// Part-10 bytes of every instance of `study`, by SOP Instance UID.
    instances: BTreeMap<String, Vec<u8>>,
}

impl HospitalA {
    async fn start() -> HospitalA {
        let xds = Xds::start().await;
        let source = Setup::new().await;
        let affinity = AffinityPatient {
            id: format!("IHE-{}", uuid::Uuid::new_v4().simple()),
            assigning_authority: support::AD_OID.into(),
        };
        let pix_address =
            support::pix::fake_pix_manager(vec![(LOCAL_PATIENT.into(), affinity.id.clone())]).await;
        let study = support::study();
        let instances = store_study(&source, &study).await;
        let published = imaging_source::publish::publish(&study, &xds.context(affinity.clone()))
            .await
            .expect("the CT study is published");
        let old = old_mr_study();
        store_study(&source, &old).await;
        imaging_source::publish::publish(&old, &xds.context(affinity.clone()))
            .await
            .expect("the MR study is published");
        HospitalA {
            xds,
            source,
            pix_address,
            affinity,
            study,
            manifest_uid: published.manifest_unique_id,
            manifest_entry_uuid: published.manifest_entry_uuid,
            instances,
        }
    }

    /// The consumer's configuration: this hospital's registry, PIX, repository and source.
    fn consumer_config(&self) -> consumer::Config {
        consumer::Config {
            registry_url: self.xds.registry_url.clone(),
            pix_address: self.pix_address.clone(),
            affinity_domain: support::AD_OID.into(),
            retrieve_protocol: RetrieveProtocol::Rad69,
            timeout_seconds: 20,
            repositories: BTreeMap::from([(
                REPOSITORY_UNIQUE_ID.to_owned(),
                self.xds.repository_url.clone(),
            )]),
            imaging_sources: BTreeMap::from([(
                IDS_UID.to_owned(),
                ImagingSourceEndpoint {
                    rad69_url: self.source.url(),
                    wado_rs_url: Some(self.source.running.wado_rs_url()),
                },
            )]),
        }
    }

    fn consumer(&self) -> ConsumerContext {
        ConsumerContext::new(self.consumer_config())
    }

    /// Hospital B's imaging source, whose consumer API is configured to reach this hospital.
    async fn consumer_api(&self) -> Setup {
        Setup::with_config(imaging_source::config::Config {
            consumer: self.consumer_config(),
            ..imaging_source::config::Config::default()
        })
        .await
    }

    fn local_patient(&self) -> String {
        format!("{LOCAL_PATIENT}^^^&{}&ISO", support::LOCAL_OID)
    }
}

/// Generates every instance of `study`, puts it in the source's instance store, returns the
/// bytes by SOP Instance UID.
async fn store_study(source: &Setup, study: &Study) -> BTreeMap<String, Vec<u8>> {
    let mut stored = BTreeMap::new();
    for series in &study.series {
        for instance in &series.instances {
            let bytes = dicom_instance(
                &study.study_instance_uid,
                &series.series_instance_uid,
                &instance.sop_instance_uid,
                EXPLICIT_LE,
                PIXEL_BYTES,
            );
            source
                .put(
                    &study.study_instance_uid,
                    &series.series_instance_uid,
                    &instance.sop_instance_uid,
                    &bytes,
                )
                .await;
            stored.insert(instance.sop_instance_uid.clone(), bytes);
        }
    }
    stored
}

/// An MR study of 2020 of the same patient.
fn old_mr_study() -> Study {
    let mut study = support::study();
    study.study_instance_uid = OLD_STUDY.into();
    study.study_date = Some("20200315".into());
    study.description = Some("MR HEAD".into());
    study.series = vec![Series {
        series_instance_uid: OLD_SERIES.into(),
        modality: "MR".into(),
        body_part: Some("HEAD".into()),
        description: None,
        number: Some(1),
        instances: vec![support::instance(
            dicom_dictionary_std::uids::MR_IMAGE_STORAGE,
            "2.25.2002.1.1",
            1,
        )],
    }];
    study
}

/// Asserts `dir` holds every instance of `hospital.study`, byte-identical to the source.
fn assert_identical(hospital: &HospitalA, dir: &Path) {
    for series in &hospital.study.series {
        for instance in &series.instances {
            let path = dir
                .join(&hospital.study.study_instance_uid)
                .join(&series.series_instance_uid)
                .join(format!("{}.dcm", instance.sop_instance_uid));
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("{} not retrieved: {e}", path.display()));
            assert!(
                bytes == hospital.instances[&instance.sop_instance_uid],
                "{} differs from the source's instance",
                path.display()
            );
        }
    }
}

fn query(patient: &str, modality: Option<&str>, since: Option<&str>) -> FindQuery {
    FindQuery {
        patient: patient.to_owned(),
        modality: modality.map(str::to_owned),
        since: since.map(str::to_owned),
    }
}

#[tokio::test]
async fn find_documents_translates_the_local_patient_id_by_pix() {
    let a = HospitalA::start().await;
    let found = consumer::find(&a.consumer(), &query(&a.local_patient(), None, None))
        .await
        .unwrap();
    assert_eq!(found.affinity_patient, a.affinity.to_cx());
    assert_eq!(found.manifests.len(), 2, "{found:?}");
    assert_eq!(found.manifests[0].unique_id, a.manifest_uid, "newest first");
    assert_eq!(found.manifests[0].modalities, ["CT", "MR"]);
    assert_eq!(
        found.manifests[0].study_instance_uids,
        [a.study.study_instance_uid.as_str()]
    );
}

#[tokio::test]
async fn find_documents_filters_on_the_modality_event_code() {
    let a = HospitalA::start().await;
    let ctx = a.consumer();
    let ct = consumer::find(&ctx, &query(&a.local_patient(), Some("CT"), None))
        .await
        .unwrap();
    assert_eq!(ct.manifests.len(), 1);
    assert_eq!(ct.manifests[0].unique_id, a.manifest_uid);
    let mr = consumer::find(&ctx, &query(&a.local_patient(), Some("mr"), None))
        .await
        .unwrap();
    assert_eq!(mr.manifests.len(), 2);
}

#[tokio::test]
async fn find_documents_filters_on_service_start_time_from() {
    let a = HospitalA::start().await;
    let recent = consumer::find(
        &a.consumer(),
        &query(&a.local_patient(), None, Some("20250101")),
    )
    .await
    .unwrap();
    assert_eq!(recent.manifests.len(), 1);
    assert_eq!(recent.manifests[0].unique_id, a.manifest_uid);
}

#[tokio::test]
async fn find_documents_refuses_a_malformed_patient_or_date_before_asking_anyone() {
    let a = HospitalA::start().await;
    let ctx = a.consumer();
    let patient = consumer::find(&ctx, &query("PAT-0001", None, None)).await;
    assert!(
        matches!(patient, Err(ConsumerError::InvalidPatient { .. })),
        "{patient:?}"
    );
    let since = consumer::find(&ctx, &query(&a.local_patient(), None, Some("2025-01-01"))).await;
    assert!(
        matches!(
            since,
            Err(ConsumerError::InvalidParameter {
                parameter: "since",
                ..
            })
        ),
        "{since:?}"
    );
}

#[tokio::test]
async fn find_documents_of_a_patient_pix_does_not_know_is_an_unknown_patient_error() {
    let a = HospitalA::start().await;
    let unknown = format!("NOBODY^^^&{}&ISO", support::LOCAL_OID);
    let found = consumer::find(&a.consumer(), &query(&unknown, None, None)).await;
    assert!(matches!(found, Err(ConsumerError::Pix(_))), "{found:?}");
}

#[tokio::test]
async fn show_reads_the_manifest_back_by_unique_id_and_by_entry_uuid() {
    let a = HospitalA::start().await;
    let ctx = a.consumer();
    for entry in [&a.manifest_uid, &a.manifest_entry_uuid] {
        let view = consumer::show(&ctx, entry).await.unwrap();
        assert_eq!(view.entry.unique_id, a.manifest_uid);
        let m = &view.manifest;
        assert_eq!(m.study_instance_uid, a.study.study_instance_uid);
        assert_eq!(m.study_date.as_deref(), Some("20261101"));
        assert_eq!(m.description.as_deref(), Some("CT CHEST"));
        assert_eq!(m.institution_name.as_deref(), Some("General Hospital"));
        assert_eq!(m.series_count, 2);
        assert_eq!(m.image_count, 3);
        assert_eq!(m.retrieve_location_uids, [IDS_UID]);
        assert_eq!(view.entry.modalities, ["CT", "MR"]);
    }
}

#[tokio::test]
async fn an_unknown_entry_is_a_clear_error() {
    let a = HospitalA::start().await;
    let ctx = a.consumer();
    let dir = tempfile::tempdir().unwrap();
    let shown = consumer::show(&ctx, "2.25.404404").await;
    assert!(
        matches!(&shown, Err(ConsumerError::UnknownEntry { entry }) if entry == "2.25.404404"),
        "{shown:?}"
    );
    let retrieved = consumer::retrieve_entry(
        &ctx,
        "urn:uuid:00000000-0000-4000-8000-000000000404",
        dir.path(),
        &NoProgress,
    )
    .await;
    assert!(
        matches!(retrieved, Err(ConsumerError::UnknownEntry { .. })),
        "{retrieved:?}"
    );
}

#[tokio::test]
async fn retrieve_by_rad69_writes_every_instance_byte_identical() {
    let a = HospitalA::start().await;
    let dir = tempfile::tempdir().unwrap();
    let report = consumer::retrieve_entry(&a.consumer(), &a.manifest_uid, dir.path(), &NoProgress)
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.fetched, 3);
    assert_eq!(report.already_present, 0);
    assert_eq!(report.instances.len(), 3);
    assert_identical(&a, dir.path());
}

#[tokio::test]
async fn retrieve_by_wado_rs_writes_every_instance_byte_identical() {
    let a = HospitalA::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = a.consumer_config();
    config.retrieve_protocol = RetrieveProtocol::WadoRs;
    let report = consumer::retrieve_entry(
        &ConsumerContext::new(config),
        &a.manifest_uid,
        dir.path(),
        &NoProgress,
    )
    .await
    .unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.fetched, 3);
    assert_identical(&a, dir.path());
}

#[tokio::test]
async fn an_instance_the_source_does_not_hold_is_listed_missing_and_the_rest_kept() {
    let a = HospitalA::start().await;
    let series = &a.study.series[0];
    let lost = &series.instances[1].sop_instance_uid;
    std::fs::remove_file(a.source.stored_path(
        &a.study.study_instance_uid,
        &series.series_instance_uid,
        lost,
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let report = consumer::retrieve_entry(&a.consumer(), &a.manifest_uid, dir.path(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(report.fetched, 2);
    assert_eq!(report.missing.len(), 1, "{report:?}");
    assert_eq!(&report.missing[0].sop_instance_uid, lost);
    assert!(
        report.missing[0].reason.contains("XDSMissingDocument"),
        "{}",
        report.missing[0].reason
    );
    assert_eq!(walk(dir.path()).len(), 2, "the other instances are kept");
}

#[tokio::test]
async fn a_rerun_fetches_only_the_missing_instances() {
    let a = HospitalA::start().await;
    let ctx = a.consumer();
    let dir = tempfile::tempdir().unwrap();
    let first = consumer::retrieve_entry(&ctx, &a.manifest_uid, dir.path(), &NoProgress)
        .await
        .unwrap();
    let removed = &first.instances[1];
    std::fs::remove_file(&removed.path).unwrap();
    let second = consumer::retrieve_entry(&ctx, &a.manifest_uid, dir.path(), &NoProgress)
        .await
        .unwrap();
    assert!(second.is_complete(), "{second:?}");
    assert_eq!(second.fetched, 1);
    assert_eq!(second.already_present, 2);
    assert_eq!(second.instances.len(), 3);
    assert!(
        second
            .instances
            .iter()
            .any(|i| i.sop_instance_uid == removed.sop_instance_uid)
    );
    assert_identical(&a, dir.path());
}

#[tokio::test]
async fn an_imaging_source_down_mid_transfer_lists_what_is_missing_and_a_rerun_completes() {
    let a = HospitalA::start().await;
    let proxy = CuttingProxy::start(a.source.running.http_addr).await;
    let mut config = a.consumer_config();
    config.imaging_sources.insert(
        IDS_UID.to_owned(),
        ImagingSourceEndpoint {
            rad69_url: format!("http://{}/xdsi", proxy.address),
            wado_rs_url: None,
        },
    );
    let ctx = ConsumerContext::new(config);
    // The answer holds three instances of ~64 KiB; the source goes away after ~100 KiB.
    proxy.limit.store(100 * 1024, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let partial = consumer::retrieve_entry(&ctx, &a.manifest_uid, dir.path(), &NoProgress)
        .await
        .unwrap();
    assert!(!partial.is_complete());
    assert_eq!(partial.fetched, 1, "{partial:?}");
    assert_eq!(partial.missing.len(), 2, "{partial:?}");
    for missing in &partial.missing {
        assert!(
            missing.reason.contains("mid-transfer") && missing.reason.contains(&proxy.address),
            "reason names the source and the break: {}",
            missing.reason
        );
    }
    let kept = &partial.instances[0];
    assert_eq!(
        std::fs::read(&kept.path).unwrap(),
        a.instances[&kept.sop_instance_uid],
        "what arrived is kept whole"
    );
    let leftovers: Vec<_> = walk(dir.path())
        .into_iter()
        .filter(|p| p.extension().is_none_or(|e| e != "dcm"))
        .collect();
    assert!(leftovers.is_empty(), "no partial file left: {leftovers:?}");

    proxy.limit.store(u64::MAX, Ordering::SeqCst);
    let resumed = consumer::retrieve_entry(&ctx, &a.manifest_uid, dir.path(), &NoProgress)
        .await
        .unwrap();
    assert!(resumed.is_complete(), "{resumed:?}");
    assert_eq!(resumed.fetched, 2);
    assert_eq!(resumed.already_present, 1);
    assert_identical(&a, dir.path());
}

#[tokio::test]
async fn a_manifest_naming_an_unknown_retrieve_location_uid_is_a_clear_error() {
    let a = HospitalA::start().await;
    let mut config = a.consumer_config();
    config.imaging_sources.clear();
    let dir = tempfile::tempdir().unwrap();
    let refused = consumer::retrieve_entry(
        &ConsumerContext::new(config),
        &a.manifest_uid,
        dir.path(),
        &NoProgress,
    )
    .await;
    match refused {
        Err(ConsumerError::UnknownRetrieveLocation { uid, .. }) => assert_eq!(uid, IDS_UID),
        other => panic!("expected UnknownRetrieveLocation, got {other:?}"),
    }
    assert!(walk(dir.path()).is_empty(), "nothing fetched");
}

#[tokio::test]
async fn the_json_api_finds_shows_and_retrieves() {
    let a = HospitalA::start().await;
    let b = a.consumer_api().await;
    let http = reqwest::Client::new();
    let base = b.base();
    let found = json(
        http.get(format!("{base}/consumer/find"))
            .query(&[("patient", a.local_patient().as_str()), ("modality", "CT")]),
    )
    .await;
    assert_eq!(found["manifests"][0]["unique_id"], a.manifest_uid.as_str());
    let shown = json(http.get(format!("{base}/consumer/entries/{}", a.manifest_entry_uuid))).await;
    assert_eq!(shown["manifest"]["image_count"], 3);
    let dir = tempfile::tempdir().unwrap();
    let report = json(
        http.post(format!(
            "{base}/consumer/entries/{}/retrieve",
            a.manifest_uid
        ))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "to": dir.path() }).to_string()),
    )
    .await;
    assert_eq!(report["fetched"], 3);
    assert_identical(&a, dir.path());
}

#[tokio::test]
async fn the_json_api_answers_bad_input_with_a_4xx_and_a_reason() {
    let a = HospitalA::start().await;
    let b = a.consumer_api().await;
    let http = reqwest::Client::new();
    let base = b.base();
    let cases = [
        http.get(format!("{base}/consumer/find")),
        http.get(format!("{base}/consumer/find?patient=x&since=yesterday")),
        http.get(format!("{base}/consumer/entries/2.25.404404")),
        http.post(format!(
            "{base}/consumer/entries/{}/retrieve",
            a.manifest_uid
        ))
        .header("content-type", "application/json")
        .body(r#"{"to": "relative/dir"}"#),
        http.post(format!(
            "{base}/consumer/entries/{}/retrieve",
            a.manifest_uid
        ))
        .body("not json"),
    ];
    let expected = [400, 400, 404, 400, 400];
    for (request, status) in cases.into_iter().zip(expected) {
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status(), status);
        let body = answer.text().await.unwrap();
        assert!(!body.is_empty(), "a reason is given");
    }
}

/// Sends `request`; its 200 answer as JSON.
async fn json(request: reqwest::RequestBuilder) -> serde_json::Value {
    let answer = request.send().await.unwrap();
    let status = answer.status();
    let body = answer.bytes().await.unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// A TCP proxy in front of the imaging source that closes each connection once `limit` answer
/// bytes have passed: the source going down mid-transfer, as the consumer sees it.
struct CuttingProxy {
    address: String,
    limit: Arc<AtomicU64>,
}

impl CuttingProxy {
    async fn start(upstream: std::net::SocketAddr) -> CuttingProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let limit = Arc::new(AtomicU64::new(u64::MAX));
        let shared = limit.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let limit = shared.load(Ordering::SeqCst);
                tokio::spawn(async move {
                    let server = tokio::net::TcpStream::connect(upstream).await.unwrap();
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    let requests = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                    });
                    let mut passed = 0u64;
                    let mut buffer = vec![0u8; 8192];
                    while let Ok(n) = server_read.read(&mut buffer).await {
                        if n == 0 {
                            break;
                        }
                        let allowed = (limit - passed).min(n as u64) as usize;
                        if client_write.write_all(&buffer[..allowed]).await.is_err() {
                            break;
                        }
                        passed += allowed as u64;
                        if passed >= limit {
                            break;
                        }
                    }
                    requests.abort();
                });
            }
        });
        CuttingProxy { address, limit }
    }
}
