//! What the conformance test binaries share: the registry and a repository started in-process on
//! loopback, a SOAP call that returns the content of the answer's Body, validation against the
//! official XSDs, and the zeep interop runner.
// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use conformance_tests::nist::runner::{
    EXCLUDED, EXPECTED_PASS, Selection, expected_among, parse_excluded, parse_expected_pass, run,
    select, start_services,
};
use conformance_tests::semantic::normalise;
use conformance_tests::shared::shared_dir;
use conformance_tests::xmllint::validate;
use conformance_tests::xsd::{root_element, xsd_for_namespace};
use schemas::mtom::{MtomReader, SoapContentType};
use schemas::soap;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const ZEEP_INSTALL: &str = "pip install zeep==4.3.3";

/// `path` under the shared folder; it must be a file.
pub fn shared_file(path: &str) -> PathBuf {
    let shared = shared_dir().unwrap_or_else(|e| panic!("{e}"));
    let file = shared.join(path);
    assert!(file.is_file(), "shared file missing: {}", file.display());
    file
}

/// A registry (accepting unknown patients) and a repository registering with it, in-process on
/// loopback with ports chosen by the system, their data in a temporary folder; stopped when
/// dropped.
pub struct Peers {
    pub registry: registry::server::Registry,
    pub repository: repository::server::RunningRepository,
    pub repository_unique_id: String,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Peers {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Starts [`Peers`].
pub async fn registry_and_repository() -> Peers {
    let dir = tempfile::tempdir().expect("temp dir");
    let shutdown = CancellationToken::new();
    let registry_config = registry::config::Config {
        http_port: 0,
        mllp_port: 0,
        accept_unknown_patients: true,
        ..registry::config::Config::default()
    };
    let registry_dir = dir.path().join("registry");
    std::fs::create_dir_all(&registry_dir).expect("registry folder");
    let registry = registry::server::start(
        &registry_config,
        [127, 0, 0, 1].into(),
        &registry_dir,
        shutdown.clone(),
    )
    .await
    .expect("registry starts");
    let config = repository::config::Config {
        http_port: 0,
        registry_url: registry.endpoint_url(),
        ..repository::config::Config::default()
    };
    let repository_dir = dir.path().join("repository");
    std::fs::create_dir_all(&repository_dir).expect("repository folder");
    let repository = repository::server::start(
        &config,
        [127, 0, 0, 1].into(),
        &repository_dir,
        shutdown.clone(),
    )
    .await
    .expect("repository starts");
    Peers {
        registry,
        repository,
        repository_unique_id: config.repository_unique_id,
        shutdown,
        _dir: dir,
    }
}

/// The SOAP Body's first child of the answer to `body` sent to `url` with `request_action`, every
/// xop:Include of an MTOM answer replaced by its MIME part.
pub async fn call(url: &str, request_action: &str, body: &str) -> String {
    let (envelope, _) = soap::write_request_envelope(request_action, url, body);
    let answer = reqwest::Client::new()
        .post(url)
        .header("content-type", soap::content_type(request_action))
        .body(envelope)
        .send()
        .await
        .expect("the service answers");
    let content_type = answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (root, parts) = match SoapContentType::parse(&content_type).expect("SOAP answer") {
        SoapContentType::Plain { .. } => (answer.bytes().await.expect("body"), HashMap::new()),
        SoapContentType::Mtom(multipart) => {
            let mut reader = MtomReader::new(Box::pin(answer.bytes_stream()), &multipart);
            let root = reader.root(1 << 20).await.expect("MTOM root part");
            let mut parts = HashMap::new();
            while let Some(headers) = reader.next_part().await.expect("MIME part") {
                let mut bytes = Vec::new();
                while let Some(chunk) = reader.read_chunk().await.expect("part chunk") {
                    bytes.extend_from_slice(&chunk);
                }
                parts.insert(headers.content_id.unwrap_or_default(), bytes);
            }
            (root.body, parts)
        }
    };
    let text = String::from_utf8(root.to_vec()).expect("UTF-8 envelope");
    let mut envelope = normalise(&text).unwrap_or_else(|e| panic!("answer is not XML: {e}"));
    envelope
        .resolve_xop_includes(&|cid| parts.get(cid).cloned())
        .unwrap_or_else(|cid| panic!("xop:Include of an absent part {cid}"));
    let body = envelope
        .child_elements()
        .find(|e| e.name.is(SOAP12, "Body"))
        .unwrap_or_else(|| panic!("no SOAP Body in {text}"));
    body.child_elements()
        .next()
        .unwrap_or_else(|| panic!("empty SOAP Body in {text}"))
        .to_xml()
}

/// Fails unless `xml` is valid against the official XSD of its root element's namespace.
pub fn assert_schema_valid(xml: &str) {
    let shared = shared_dir().unwrap_or_else(|e| panic!("{e}"));
    let root = root_element(xml).expect("message parses");
    let xsd = xsd_for_namespace(&shared, &root.namespace)
        .unwrap_or_else(|| panic!("no XSD for {}", root.namespace));
    if let Err(report) = validate(xml, &xsd) {
        panic!("message is not schema-valid: {report}\n{xml}");
    }
}

/// Runs the zeep client `interop/{script}` (built from `wsdl`) against `endpoint` with the mode
/// arguments `mode`; the JSON summary it prints. Fails, never skips, without python3 or zeep.
pub async fn zeep<T: DeserializeOwned>(
    script: &str,
    wsdl: &Path,
    endpoint: &str,
    mode: &[&str],
) -> T {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("interop")
        .join(script);
    // -B: no __pycache__ written into the source tree.
    let output = tokio::process::Command::new("python3")
        .arg("-B")
        .arg(&path)
        .arg("--wsdl")
        .arg(wsdl)
        .args(["--endpoint", endpoint])
        .args(mode)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}): install Python 3, then {ZEEP_INSTALL}")
        });
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => {}
        Some(3) => panic!("zeep is not installed for python3: {stderr}"),
        _ => panic!("{script} {mode:?} failed ({}): {stderr}", output.status),
    }
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON summary ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Replays the NIST testkit `collection` against in-process services and fails if a section
/// listed in nist-expected-pass.txt no longer passes (the list only grows).
pub async fn expected_passes_still_pass(collection: &str) {
    let tests = shared_dir()
        .expect("shared reference folder")
        .join("nist-testkit/tests");
    let excluded = parse_excluded(EXCLUDED).expect("nist-excluded.txt is well-formed");
    let selection = Selection {
        collections: vec![collection.to_owned()],
        tests: Vec::new(),
    };
    let (selected, left_out) = select(&tests, &selection, &excluded).expect("testkit listed");
    assert!(
        !selected.is_empty(),
        "no test tagged {collection} under {}",
        tests.display()
    );
    let data = tempfile::tempdir().expect("temp dir");
    let services = start_services(data.path()).await.expect("services start");
    let report = run(tests, services.target.clone(), &selected, left_out, None).await;
    services.stop().await;
    let mut tests_run = selected.clone();
    tests_run.extend(report.outcomes.iter().map(|o| o.test.clone()));
    let regressions = report.regressions(&expected_among(
        &parse_expected_pass(EXPECTED_PASS),
        &tests_run,
    ));
    assert!(
        regressions.is_empty(),
        "{collection}: expected passes that now fail:\n{}\n\nfull run:\n{}\n{}",
        regressions.join("\n"),
        report.lines().join("\n"),
        report.summary()
    );
}
