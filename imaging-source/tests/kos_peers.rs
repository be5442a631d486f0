//! RAD-68 manifest validated by dicom3tools' `dciodvfy` (plain KOS IOD and the IHE XDS-I.b
//! manifest profile): no error allowed.
#![cfg(feature = "peers")]

mod support;

use imaging_source::kos::{build_manifest, to_part10};

fn dciodvfy(profile: Option<&str>, retrieve_url: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manifest.dcm");
    let mut options = support::manifest_options();
    if retrieve_url {
        options.retrieve_url = Some("http://127.0.0.1:8042/dicom-web".into());
    }
    let bytes = to_part10(&build_manifest(&support::study(), &options).unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let path = path.to_str().unwrap();
    let mut args = Vec::new();
    if let Some(p) = profile {
        args.extend(["-profile", p]);
    }
    args.push(path);
    let out = support::run_peer("dciodvfy", &args);
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn errors(report: &str) -> Vec<&str> {
    report.lines().filter(|l| l.starts_with("Error")).collect()
}

#[test]
fn manifest_passes_dciodvfy_key_object_selection_iod() {
    let report = dciodvfy(None, false);
    assert!(report.contains("KeyObjectSelectionDocument"), "{report}");
    assert!(errors(&report).is_empty(), "{report}");
    assert!(!report.contains("Warning"), "{report}");
}

#[test]
fn manifest_passes_dciodvfy_ihe_xdsi_manifest_profile() {
    let report = dciodvfy(Some("IHEXDSIManifest"), false);
    assert!(
        report.contains("KeyObjectSelectionDocumentIHEXDSIManifest"),
        "{report}"
    );
    assert!(errors(&report).is_empty(), "{report}");
    assert!(!report.contains("Warning"), "{report}");
}

#[test]
fn manifest_with_retrieve_url_has_no_dciodvfy_error() {
    let report = dciodvfy(Some("IHEXDSIManifest"), true);
    assert!(errors(&report).is_empty(), "{report}");
}
