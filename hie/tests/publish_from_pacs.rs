//! `hie publish --pacs URL --study UID` asks the PACS within the configured
//! `[imaging_source] pacs_*_timeout_seconds`: a PACS that never answers ends the command with
//! an error naming the timeout, instead of keeping the operator waiting for the defaults.

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

/// A PACS on a free loopback port that accepts every connection and never answers; its
/// DICOMweb root URL.
fn silent_pacs() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("its address");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for connection in listener.incoming().flatten() {
            held.push(connection);
        }
    });
    format!("http://{addr}/dicom-web")
}

#[test]
fn publish_gives_up_on_a_silent_pacs_after_the_configured_idle_timeout() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let config = dir.path().join("hie.toml");
    std::fs::write(
        &config,
        "[imaging_source]\npacs_connect_timeout_seconds = 1\npacs_idle_timeout_seconds = 1\n",
    )
    .expect("write the configuration");
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_hie"))
        .arg("--config")
        .arg(&config)
        .args(["publish", "--pacs", &silent_pacs(), "--study", "2.25.7001"])
        .output()
        .expect("run hie");
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("2.25.7001"), "{stderr}");
    assert!(stderr.contains("timed out"), "{stderr}");
    assert!(
        elapsed < Duration::from_secs(30),
        "gave up after {elapsed:?}, not after the configured second"
    );
}
