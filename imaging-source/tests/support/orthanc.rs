//! A throw-away Orthanc with its DICOMweb plugin, started with `../shared/tools/orthanc_lab.sh`
//! inside a private network namespace (Orthanc cannot bind to loopback only). The test re-runs
//! itself inside that namespace, so the registry, repository and client it starts are in the
//! namespace's loopback too.

use std::path::{Path, PathBuf};
use std::process::Command;

const INSIDE: &str = "HIE_IDS_ORTHANC_NETNS";

/// Runs the test `test_name` of the current test binary inside a fresh network namespace and
/// asserts it passed there; returns `true` when the caller is that inner run (and must do the
/// work), `false` when it is the outer one (whose work is done).
pub fn run_in_lab_netns(test_name: &str) -> bool {
    if std::env::var_os(INSIDE).is_some() {
        return true;
    }
    let ns = format!("hie-ids-{}", std::process::id());
    let add = Command::new("ip").args(["netns", "add", &ns]).status();
    assert!(
        add.is_ok_and(|s| s.success()),
        "`ip netns add` is required (root, iproute2) for the Orthanc tests"
    );
    let exe = std::env::current_exe().unwrap();
    let status = Command::new("ip")
        .args(["netns", "exec", &ns, "sh", "-c"])
        .arg(format!(
            "ip link set lo up && exec env {INSIDE}={ns} \"$0\" --exact {test_name} --nocapture --test-threads 1"
        ))
        .arg(&exe)
        .status();
    let _ = Command::new("ip").args(["netns", "del", &ns]).status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "{test_name} failed inside netns {ns}"
    );
    false
}

/// An Orthanc started by `orthanc_lab.sh`, stopped on drop.
pub struct Orthanc {
    dir: PathBuf,
    pub http_port: u16,
}

impl Orthanc {
    /// Starts Orthanc (inside the current lab namespace) with its DICOMweb plugin.
    pub fn start(dir: &Path) -> Orthanc {
        let ns = std::env::var(INSIDE).expect("Orthanc runs inside the lab namespace");
        let http_port = free_port();
        let dicom_port = free_port();
        let script = super::shared_dir().join("tools/orthanc_lab.sh");
        let out = Command::new("bash")
            .arg(&script)
            .args([
                "start",
                dir.to_str().unwrap(),
                &http_port.to_string(),
                &dicom_port.to_string(),
            ])
            .env("NS", ns)
            .output()
            .unwrap_or_else(|e| panic!("bash {} is required: {e}", script.display()));
        assert!(
            out.status.success(),
            "Orthanc did not start (apt-get install orthanc orthanc-dicomweb, see .ci/run): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Orthanc {
            dir: dir.to_path_buf(),
            http_port,
        }
    }

    pub fn rest_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    pub fn dicomweb_url(&self) -> String {
        format!("http://127.0.0.1:{}/dicom-web", self.http_port)
    }

    /// Uploads every Part-10 file below `folder` through the REST API (`POST /instances`).
    pub async fn upload_folder(&self, folder: &Path) -> usize {
        self.upload_files(&dcm_files(folder)).await
    }

    /// Uploads these Part-10 files through the REST API (`POST /instances`).
    pub async fn upload_files(&self, files: &[PathBuf]) -> usize {
        let client = reqwest::Client::new();
        let mut count = 0;
        for path in files {
            let bytes = std::fs::read(path).unwrap();
            let response = client
                .post(format!("{}/instances", self.rest_url()))
                .body(bytes)
                .send()
                .await
                .unwrap();
            assert!(
                response.status().is_success(),
                "upload of {} failed: {}",
                path.display(),
                response.status()
            );
            count += 1;
        }
        count
    }
}

impl Drop for Orthanc {
    fn drop(&mut self) {
        let script = super::shared_dir().join("tools/orthanc_lab.sh");
        let _ = Command::new("bash")
            .arg(script)
            .args(["stop", self.dir.to_str().unwrap()])
            .status();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `.dcm` files below `dir`, sorted.
pub fn dcm_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "dcm") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
