//! A throw-away Orthanc with the DICOMweb plugin (`../shared/tools/orthanc_lab.sh`) in a private
//! network namespace, synthetic studies from `../shared/tools/make_study.py`, and re-running the
//! current test or bench binary inside that namespace (where Orthanc is reachable on loopback).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Set in the re-run process: the Orthanc REST root reachable from it.
pub const ORTHANC_URL_ENV: &str = "HIE_IDS_ORTHANC_URL";
/// Set in the re-run process: the folder of the generated study.
pub const STUDY_DIR_ENV: &str = "HIE_IDS_STUDY_DIR";
const HTTP_PORT: u16 = 8042;
const DICOM_PORT: u16 = 4242;

/// `../shared` (or `$HIE_SHARED_DIR`), with the tools the peer tier needs.
pub fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("HIE_SHARED_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    for tool in ["tools/orthanc_lab.sh", "tools/make_study.py"] {
        assert!(
            dir.join(tool).is_file(),
            "{} is missing: set HIE_SHARED_DIR to the shared folder (with tools/orthanc_lab.sh and \
             tools/make_study.py)",
            dir.join(tool).display()
        );
    }
    dir
}

/// Writes a study with make_study.py (pydicom) into `out`.
pub fn make_study(out: &Path, args: &[&str]) {
    let script = shared_dir().join("tools/make_study.py");
    let output = Command::new("python3")
        .arg(script)
        .args(args)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .output()
        .expect("python3 is required by the peer tier");
    assert!(
        output.status.success(),
        "make_study.py failed (needs pip install pydicom numpy): {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// An Orthanc running in its own network namespace; stopped (and the namespace removed) on drop.
pub struct OrthancLab {
    pub dir: tempfile::TempDir,
    pub namespace: String,
}

impl OrthancLab {
    /// Starts Orthanc + DICOMweb in a fresh namespace.
    pub fn start(name: &str) -> OrthancLab {
        assert!(
            Path::new("/usr/sbin/Orthanc").exists() || Path::new("/usr/bin/Orthanc").exists(),
            "Orthanc is missing: apt-get install orthanc orthanc-dicomweb"
        );
        let dir = tempfile::tempdir().unwrap();
        let namespace = format!("{name}-{}", std::process::id());
        let output = Command::new("bash")
            .arg(shared_dir().join("tools/orthanc_lab.sh"))
            .args(["start"])
            .arg(dir.path())
            .args([HTTP_PORT.to_string(), DICOM_PORT.to_string()])
            .env("NS", &namespace)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "Orthanc did not start (needs root, apt orthanc orthanc-dicomweb): {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        OrthancLab { dir, namespace }
    }

    /// The Orthanc REST root, as seen inside the namespace.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{HTTP_PORT}")
    }

    /// A command run inside the namespace.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.namespace])
            .arg(program);
        command.env(ORTHANC_URL_ENV, self.url());
        command
    }
}

impl Drop for OrthancLab {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(shared_dir().join("tools/orthanc_lab.sh"))
            .arg("stop")
            .arg(self.dir.path())
            .env("NS", &self.namespace)
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.namespace])
            .output();
    }
}

/// Runs the test `test_name` of this test binary again inside a fresh Orthanc lab namespace,
/// with a make_study.py study made from `study_args`, and asserts it passed there. Returns
/// `(Orthanc REST root, study folder)` when the caller is that inner run (and must do the work),
/// `None` when it is the outer one (whose work is done).
pub fn in_orthanc_lab(
    test_name: &str,
    lab_name: &str,
    study_args: &[&str],
) -> Option<(String, PathBuf)> {
    if let (Ok(url), Ok(study)) = (std::env::var(ORTHANC_URL_ENV), std::env::var(STUDY_DIR_ENV)) {
        return Some((url, study.into()));
    }
    let study = tempfile::tempdir().unwrap();
    make_study(study.path(), study_args);
    let lab = OrthancLab::start(lab_name);
    let status = lab
        .command(std::env::current_exe().unwrap())
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(STUDY_DIR_ENV, study.path())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the test inside the Orthanc namespace failed"
    );
    None
}

/// A two-worker runtime for the inner run.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The instances of a make_study.py study: (study, series, sop, file).
pub fn study_instances(dir: &Path) -> Vec<(String, String, String, PathBuf)> {
    let text = std::fs::read_to_string(dir.join("study.json")).unwrap();
    let study: serde_json::Value = serde_json::from_str(&text).unwrap();
    let study_uid = study["StudyInstanceUID"].as_str().unwrap().to_owned();
    let mut out = Vec::new();
    for series in study["series"].as_array().unwrap() {
        let series_uid = series["SeriesInstanceUID"].as_str().unwrap();
        for instance in series["instances"].as_array().unwrap() {
            out.push((
                study_uid.clone(),
                series_uid.to_owned(),
                instance["SOPInstanceUID"].as_str().unwrap().to_owned(),
                dir.join(instance["file"].as_str().unwrap()),
            ));
        }
    }
    out
}

/// Uploads every file of a study to Orthanc (REST `POST /instances`).
pub async fn upload(orthanc: &str, files: &[PathBuf]) {
    let client = reqwest::Client::new();
    for file in files {
        let response = client
            .post(format!("{orthanc}/instances"))
            .body(std::fs::read(file).unwrap())
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "upload of {}",
            file.display()
        );
    }
}
