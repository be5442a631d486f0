#![cfg(feature = "peers")]
//! Interop: the PIX manager answers an independent HL7 v3 client written on the Python standard
//! library alone (`conformance-tests/interop/pixv3_urllib.py`: urllib, ElementTree) over real
//! HTTP: ITI-44 Record Added in two domains, ITI-45 found and unknown domain.
//!
//! Needs `python3` (no packages); fails, never skips, without it.

mod support;

use std::path::PathBuf;
use std::process::Stdio;

use pix_manager::config::DEFAULT_AFFINITY_DOMAIN;
use serde::Deserialize;
use support::{BLUE, GREEN, start_pix};

#[derive(Debug, Deserialize)]
struct QuerySummary {
    ack: String,
    status: String,
    ids: Vec<(String, String)>,
    details: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Summary {
    feed: Vec<String>,
    pix: QuerySummary,
    pix_unknown_domain: QuerySummary,
}

/// A stdlib Python client feeds a patient in two domains over ITI-44, then queries it by ITI-45.
#[tokio::test]
async fn python_urllib_client_feeds_and_queries_over_soap() {
    let dir = tempfile::tempdir().unwrap();
    let pix = start_pix(dir.path()).await;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../conformance-tests/interop/pixv3_urllib.py");
    let output = tokio::process::Command::new("python3")
        .arg("-B")
        .arg(&script)
        .args(["--url", &pix.http_url()])
        .args(["--domain-a", GREEN, "--domain-b", BLUE])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}): install Python 3"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "pixv3_urllib.py failed ({}): {stderr}",
        output.status
    );
    let summary: Summary = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "pixv3_urllib.py printed no JSON summary ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    assert_eq!(summary.feed, ["AA", "AA"]);
    assert_eq!(summary.pix.ack, "AA");
    assert_eq!(summary.pix.status, "OK");
    assert_eq!(summary.pix.ids[0], (BLUE.to_owned(), "HB1".to_owned()));
    assert_eq!(summary.pix.ids[1].0, DEFAULT_AFFINITY_DOMAIN);
    assert!(summary.pix.details.is_empty());
    assert_eq!(summary.pix_unknown_domain.ack, "AE");
    assert_eq!(summary.pix_unknown_domain.status, "AE");
    assert!(summary.pix_unknown_domain.ids.is_empty());
    assert_eq!(summary.pix_unknown_domain.details, ["204"]);
}
