//! C-STORE SCP against dcmtk (`storescu`, `echoscu`): instances pushed by a real SCU are stored
//! with their data set unchanged, C-ECHO is answered, and StudyComplete fires once per study.
//! Peer tier: `cargo test -p imaging-source --features peers` (apt `dcmtk`).
#![cfg(feature = "peers")]

#[path = "support/serve.rs"]
mod serve;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use imaging_source::config::Config;
use serve::{EXPLICIT_LE, SERIES_A, SERIES_B, STUDY, Setup, dicom_instance};

const STORESCU: &str = "/usr/bin/storescu";
const ECHOSCU: &str = "/usr/bin/echoscu";

fn dcmtk(tool: &str) -> Command {
    assert!(
        Path::new(tool).exists(),
        "{tool} is missing: install dcmtk (apt-get install dcmtk) to run the peer tier"
    );
    let mut command = Command::new(tool);
    command.env("TCP_NODELAY", "1");
    command
}

/// The data set of a Part-10 file: the bytes after the preamble, magic and file meta group.
fn data_set(file: &[u8]) -> &[u8] {
    assert_eq!(&file[128..132], b"DICM");
    let group_length = u32::from_le_bytes(file[140..144].try_into().unwrap()) as usize;
    &file[144 + group_length..]
}

async fn quick_setup() -> Setup {
    Setup::with_config(Config {
        quiet_period_seconds: 1,
        ..Config::default()
    })
    .await
}

#[tokio::test]
async fn c_echo_is_answered() {
    let setup = quick_setup().await;
    let port = setup.running.scp_addr.port().to_string();
    let status = tokio::task::spawn_blocking(move || {
        dcmtk(ECHOSCU)
            .args(["-aec", "HIE-IDS", "127.0.0.1", &port])
            .status()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(status.success(), "echoscu failed: {status}");
}

#[tokio::test]
async fn instances_pushed_by_storescu_are_stored_with_their_data_set_unchanged_and_study_complete_fires_once()
 {
    let mut setup = quick_setup().await;
    let dir = tempfile::tempdir().unwrap();
    let instances = [
        (SERIES_A, "1.2.826.0.1.3680043.8.498.1.1.11", 70_000),
        (SERIES_A, "1.2.826.0.1.3680043.8.498.1.1.12", 600_000),
        (SERIES_B, "1.2.826.0.1.3680043.8.498.1.2.11", 10),
    ];
    let mut files = Vec::new();
    for (series, sop, size) in instances {
        let bytes = dicom_instance(STUDY, series, sop, EXPLICIT_LE, size);
        let path = dir.path().join(format!("{sop}.dcm"));
        std::fs::write(&path, &bytes).unwrap();
        files.push((series, sop, bytes, path));
    }
    let port = setup.running.scp_addr.port().to_string();
    let paths: Vec<_> = files.iter().map(|f| f.3.clone()).collect();
    let output = tokio::task::spawn_blocking(move || {
        dcmtk(STORESCU)
            .args(["-aec", "HIE-IDS", "-xe", "127.0.0.1", &port])
            .args(&paths)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "storescu failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    for (series, sop, original, _) in &files {
        let stored = std::fs::read(setup.stored_path(STUDY, series, sop)).unwrap();
        assert!(data_set(&stored) == data_set(original), "{sop} differs");
        let meta = dicom_object::OpenFileOptions::new()
            .read_until(dicom_dictionary_std::tags::PIXEL_DATA)
            .open_file(setup.stored_path(STUDY, series, sop))
            .unwrap();
        assert_eq!(meta.meta().transfer_syntax(), EXPLICIT_LE);
        assert_eq!(meta.meta().media_storage_sop_instance_uid(), *sop);
    }
    let complete =
        tokio::time::timeout(Duration::from_secs(10), setup.running.study_complete.recv())
            .await
            .expect("StudyComplete within 10 s")
            .unwrap();
    assert_eq!(complete, STUDY);
    let again =
        tokio::time::timeout(Duration::from_secs(3), setup.running.study_complete.recv()).await;
    assert!(again.is_err(), "StudyComplete fired twice: {again:?}");
}
