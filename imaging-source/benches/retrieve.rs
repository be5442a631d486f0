//! Whole-study retrieve through the Imaging Document Source vs the PACS itself, in the same run.
//!
//! `cargo bench -p imaging-source --bench retrieve` (root; Orthanc + DICOMweb plugin, pydicom,
//! ../shared/tools): writes a 300-slice CT (~158 MB, make_study.py preset ct300), starts Orthanc
//! in a network namespace and runs itself again inside it, uploads the study, starts the
//! `imaging-source` binary with Orthanc as its PACS, then alternates
//! - Orthanc's own WADO-RS whole-study retrieve (the floor), and
//! - RAD-69 for the 300 instances through `imaging-source` (each streamed from Orthanc),
//!
//! reading each answer to the end. Prints medians, MB/s (10^6 bytes) and their ratio, and the
//! service's peak RSS (VmHWM).

#[path = "../tests/support/orthanc.rs"]
mod orthanc;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use futures::StreamExt;
use orthanc::{ORTHANC_URL_ENV, OrthancLab, STUDY_DIR_ENV, make_study, study_instances, upload};
use schemas::ihe::{
    DocumentRequest, RetrieveImagingDocumentSetRequest, SeriesRequest, StudyRequest,
};
use schemas::soap::{self, action};

const RUNS: usize = 5;
const SERVICE_HTTP_PORT: u16 = 18084;
const REPOSITORY_UID: &str = "1.3.6.1.4.1.21367.13.80.110";

fn main() {
    if let (Ok(url), Ok(study)) = (std::env::var(ORTHANC_URL_ENV), std::env::var(STUDY_DIR_ENV)) {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(inside_the_namespace(url, study.into()));
        return;
    }
    let study = tempfile::tempdir().expect("temp dir");
    println!("writing the ct300 study with make_study.py ...");
    make_study(study.path(), &["--preset", "ct300"]);
    let lab = OrthancLab::start("hie-ids-bench");
    let status = lab
        .command(std::env::current_exe().expect("bench binary"))
        .env(STUDY_DIR_ENV, study.path())
        .status()
        .expect("bench inside the namespace");
    assert!(status.success(), "the bench inside the namespace failed");
}

/// The `imaging-source` binary, killed on drop.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_service(data: &Path, pacs: &str) -> Service {
    let config = data.join("hie.toml");
    std::fs::write(
        &config,
        format!(
            "[general]\ndata_dir = \"{}\"\n[imaging_source]\nhttp_port = {SERVICE_HTTP_PORT}\nscp_port = 0\npacs_dicomweb_url = \"{pacs}/dicom-web\"\n",
            data.display()
        ),
    )
    .expect("config");
    let child = Command::new(env!("CARGO_BIN_EXE_imaging-source"))
        .arg(&config)
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("imaging-source binary");
    Service(child)
}

async fn inside_the_namespace(orthanc: String, study_dir: PathBuf) {
    let instances = study_instances(&study_dir);
    let files: Vec<_> = instances.iter().map(|i| i.3.clone()).collect();
    let study_bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    println!(
        "uploading {} instances ({:.1} MB) to Orthanc ...",
        files.len(),
        study_bytes as f64 / 1e6
    );
    upload(&orthanc, &files).await;
    let data = tempfile::tempdir().expect("data dir");
    let service = start_service(data.path(), &orthanc);
    let base = format!("http://127.0.0.1:{SERVICE_HTTP_PORT}");
    let client = reqwest::Client::new();
    wait_healthy(&client, &base).await;

    let study_uid = instances[0].0.clone();
    let request = rad69_request(&instances);
    let (envelope, _) = soap::write_request_envelope(
        action::RETRIEVE_IMAGING_DOCUMENT_SET,
        &base,
        &request.to_xml(),
    );
    let orthanc_url = format!("{orthanc}/dicom-web/studies/{study_uid}");
    let rad69_url = format!("{base}/xdsi");

    let orthanc_run = || async {
        let started = Instant::now();
        let response = client
            .get(&orthanc_url)
            .header("accept", "multipart/related; type=\"application/dicom\"")
            .send()
            .await
            .expect("Orthanc WADO-RS");
        assert!(response.status().is_success());
        (drain(response).await, started.elapsed())
    };
    let rad69_run = || async {
        let started = Instant::now();
        let response = client
            .post(&rad69_url)
            .header(
                "content-type",
                soap::content_type(action::RETRIEVE_IMAGING_DOCUMENT_SET),
            )
            .body(envelope.clone())
            .send()
            .await
            .expect("RAD-69");
        assert!(response.status().is_success());
        (drain(response).await, started.elapsed())
    };
    // Warm-up: caches, connections.
    let floor_bytes = orthanc_run().await.0;
    let ours_bytes = rad69_run().await.0;
    assert!(
        ours_bytes >= study_bytes,
        "RAD-69 answer of {ours_bytes} bytes is smaller than the study ({study_bytes})"
    );
    let mut floor = Vec::new();
    let mut ours = Vec::new();
    for _ in 0..RUNS {
        floor.push(orthanc_run().await.1);
        ours.push(rad69_run().await.1);
    }
    let floor_median = median(&mut floor);
    let ours_median = median(&mut ours);
    let mbps = |d: Duration| study_bytes as f64 / 1e6 / d.as_secs_f64();
    println!(
        "study: {} instances, {:.1} MB; answers: Orthanc WADO-RS {:.1} MB, RAD-69 {:.1} MB",
        instances.len(),
        study_bytes as f64 / 1e6,
        floor_bytes as f64 / 1e6,
        ours_bytes as f64 / 1e6
    );
    println!(
        "Orthanc WADO-RS whole study (floor): median {:.3} s = {:.0} MB/s   runs {:?}",
        floor_median.as_secs_f64(),
        mbps(floor_median),
        floor
    );
    println!(
        "RAD-69 through imaging-source:       median {:.3} s = {:.0} MB/s   runs {:?}",
        ours_median.as_secs_f64(),
        mbps(ours_median),
        ours
    );
    println!(
        "ratio (ours / floor, MB/s): {:.0} %",
        100.0 * floor_median.as_secs_f64() / ours_median.as_secs_f64()
    );
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", service.0.id())).unwrap_or_default();
    let peak = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("VmHWM: unknown");
    println!(
        "imaging-source peak RSS: {}",
        peak.trim_start_matches("VmHWM:").trim()
    );
}

fn rad69_request(
    instances: &[(String, String, String, PathBuf)],
) -> RetrieveImagingDocumentSetRequest {
    let mut series: Vec<SeriesRequest> = Vec::new();
    for (_, series_uid, sop, _) in instances {
        let document = DocumentRequest {
            home_community_id: None,
            repository_unique_id: REPOSITORY_UID.to_owned(),
            document_unique_id: sop.clone(),
        };
        match series
            .iter_mut()
            .find(|s| s.series_instance_uid == *series_uid)
        {
            Some(found) => found.documents.push(document),
            None => series.push(SeriesRequest {
                series_instance_uid: series_uid.clone(),
                documents: vec![document],
            }),
        }
    }
    RetrieveImagingDocumentSetRequest {
        studies: vec![StudyRequest {
            study_instance_uid: instances[0].0.clone(),
            series,
        }],
        transfer_syntax_uids: vec!["1.2.840.10008.1.2.1".to_owned()],
    }
}

/// Reads an answer to the end: its size.
async fn drain(response: reqwest::Response) -> u64 {
    let mut size = 0u64;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        size += chunk.expect("answer body").len() as u64;
    }
    size
}

fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values[values.len() / 2]
}

async fn wait_healthy(client: &reqwest::Client, base: &str) {
    for _ in 0..100 {
        if let Ok(response) = client.get(format!("{base}/healthz")).send().await
            && response.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("imaging-source did not answer /healthz");
}
