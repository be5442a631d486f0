//! Bench of the publish side on a 300-image CT (~158 MB, `make_study.py --preset ct300`):
//! RAD-68 publish from Orthanc over DICOMweb (goal < 1 s), CD import from a DICOMDIR folder into
//! the instance store + publish (goal < 5 s), and the process's peak RSS (goal < 128 MB).
//!
//!     cargo bench -p imaging-source --features peers --bench publish_ct300
//!
//! Needs what the peer tests need (python3 + pydicom, Orthanc + DICOMweb plugin, root for the
//! network namespace); it re-runs itself inside a private namespace like the Orthanc tests.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use imaging_source::cd::scan_folder;
use imaging_source::dicomweb::DicomWebClient;
use imaging_source::instance_store::InstanceStore;
use imaging_source::kos::AffinityPatient;
use imaging_source::publish::publish;

const RUNS: usize = 5;

fn main() {
    if std::env::var_os("HIE_IDS_ORTHANC_NETNS").is_none() {
        let ns = format!("hie-ids-bench-{}", std::process::id());
        let ok = std::process::Command::new("ip")
            .args(["netns", "add", &ns])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "`ip netns add` is required (root)");
        let status = std::process::Command::new("ip")
            .args(["netns", "exec", &ns, "sh", "-c"])
            .arg(format!(
                "ip link set lo up && exec env HIE_IDS_ORTHANC_NETNS={ns} \"$0\""
            ))
            .arg(std::env::current_exe().unwrap())
            .status();
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &ns])
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "bench failed inside the namespace"
        );
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let disc = dir.path().join("ct300");
    let t = Instant::now();
    support::make_study(&disc, &["--preset", "ct300", "--dicomdir"]);
    println!(
        "make_study.py ct300 --dicomdir: {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let xds = support::xds::Xds::start().await;
    let patient = AffinityPatient {
        id: "IHE-BENCH-1".into(),
        assigning_authority: support::AD_OID.into(),
    };

    // CD import: DICOMDIR scan (headers only), copy into the instance store, publish.
    let mut cd_times = Vec::new();
    for run in 0..RUNS {
        let store = InstanceStore::new(dir.path().join(format!("store-{run}")));
        let t = Instant::now();
        let scan = scan_folder(&disc).unwrap();
        assert!(scan.from_dicomdir && scan.problems.is_empty());
        let (study, files) = &scan.studies[0];
        assert_eq!(study.instance_count(), 300);
        let scanned = t.elapsed();
        store.import_study(study, files, |_| {}).await.unwrap();
        let copied = t.elapsed();
        publish(study, &xds.context(patient.clone())).await.unwrap();
        let total = t.elapsed();
        println!(
            "cd import run {run}: scan {:.3} s, +copy {:.3} s, +publish {:.3} s = {:.3} s",
            scanned.as_secs_f64(),
            (copied - scanned).as_secs_f64(),
            (total - copied).as_secs_f64(),
            total.as_secs_f64()
        );
        cd_times.push(total);
        std::fs::remove_dir_all(store.root()).unwrap();
    }

    // Publish from a PACS: WADO-RS metadata → Study → KOS → ITI-41.
    let orthanc = support::orthanc::Orthanc::start(&dir.path().join("orthanc"));
    let t = Instant::now();
    let scan = scan_folder(&disc).unwrap();
    assert_eq!(orthanc.upload_files(&scan.studies[0].1).await, 300);
    println!(
        "Orthanc REST upload of 300 files: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let client = DicomWebClient::new(&orthanc.dicomweb_url()).unwrap();
    let found = client
        .find_studies(&[("PatientID", "PAT-0001")])
        .await
        .unwrap();
    let study_uid = found[0]
        .pointer("/0020000D/Value/0")
        .and_then(|v| v.as_str())
        .unwrap()
        .to_owned();
    let mut pacs_times = Vec::new();
    for run in 0..RUNS {
        let t = Instant::now();
        let study = client.study(&study_uid).await.unwrap();
        let fetched = t.elapsed();
        let published = publish(&study, &xds.context(patient.clone()))
            .await
            .unwrap();
        let total = t.elapsed();
        println!(
            "pacs publish run {run}: WADO-RS metadata {:.3} s, +publish {:.3} s = {:.3} s (manifest {} bytes)",
            fetched.as_secs_f64(),
            (total - fetched).as_secs_f64(),
            total.as_secs_f64(),
            published.manifest_size
        );
        pacs_times.push(total);
    }
    println!(
        "median publish from Orthanc (goal < 1 s): {:.3} s",
        median(&mut pacs_times).as_secs_f64()
    );
    println!(
        "median CD import + publish (goal < 5 s): {:.3} s",
        median(&mut cd_times).as_secs_f64()
    );
    println!("peak RSS (goal < 128 MB): {}", peak_rss());
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l["VmHWM:".len()..].trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}
