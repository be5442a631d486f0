#![cfg(feature = "peers")]
//! Interop: the PIX manager answers an independent HL7 v2 client, hl7apy
//! (`conformance-tests/interop/hl7apy_pix.py`), over real MLLP: ITI-8 feed, ITI-9 PIX query
//! (found and unknown domain) and ITI-21 PDQ.
//!
//! Needs `python3` with hl7apy (`pip install hl7apy==1.3.5`); fails, never skips, without it.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::Stdio;

use pix_manager::config::Config;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

const HL7APY_INSTALL: &str = "pip install hl7apy==1.3.5";
const GREEN: &str = "1.3.6.1.4.1.21367.2005.13.20.2000";
const BLUE: &str = "1.3.6.1.4.1.21367.2005.13.20.3000";

#[derive(Debug, Deserialize)]
struct QuerySummary {
    ack: String,
    status: String,
    ids: Vec<(String, String)>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Summary {
    feed: Vec<String>,
    pix: QuerySummary,
    pix_unknown_domain: QuerySummary,
    pdq: QuerySummary,
}

/// hl7apy feeds a patient in two domains, then queries it by PIX and PDQ.
#[tokio::test]
async fn hl7apy_feeds_and_queries_over_mllp() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        mllp_port: 0,
        http_port: 0,
        subscribers: Vec::new(),
        merge_subscribers: Vec::new(),
        ..Config::default()
    };
    let pix = pix_manager::server::start(
        &config,
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        dir.path(),
        CancellationToken::new(),
    )
    .await
    .expect("PIX manager starts");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../conformance-tests/interop/hl7apy_pix.py");
    let output = tokio::process::Command::new("python3")
        .arg("-B")
        .arg(&script)
        .args(["--port", &pix.mllp_addr.port().to_string()])
        .args(["--domain-a", GREEN, "--domain-b", BLUE])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}): install Python 3, then {HL7APY_INSTALL}")
        });
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => {}
        Some(3) => panic!("hl7apy is not installed for python3 ({HL7APY_INSTALL}): {stderr}"),
        _ => panic!("hl7apy_pix.py failed ({}): {stderr}", output.status),
    }
    let summary: Summary = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "hl7apy_pix.py printed no JSON summary ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    assert_eq!(summary.feed, ["AA", "AA"]);
    assert_eq!(summary.pix.ack, "AA");
    assert_eq!(summary.pix.status, "OK");
    assert_eq!(summary.pix.ids[0], ("HB1".to_owned(), BLUE.to_owned()));
    assert_eq!(summary.pix.ids[1].1, config.affinity_domain);
    assert_eq!(summary.pix_unknown_domain.ack, "AE");
    assert_eq!(summary.pix_unknown_domain.status, "AE");
    assert_eq!(summary.pix_unknown_domain.error.as_deref(), Some("204"));
    assert_eq!(summary.pdq.ack, "AA");
    assert_eq!(summary.pdq.status, "OK");
    assert_eq!(
        summary.pdq.ids,
        [
            ("HA1".to_owned(), GREEN.to_owned()),
            ("HB1".to_owned(), BLUE.to_owned())
        ]
    );
}
