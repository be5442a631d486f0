//! Every sample in `ihe-samples/minimal` is schema-valid, reads with `schemas`, and writes back
//! to a schema-valid document equal in meaning.
#![cfg(feature = "peers")]

use std::path::PathBuf;

use conformance_tests::round_trip::read_and_write;
use conformance_tests::semantic::compare;
use conformance_tests::shared::shared_dir;
use conformance_tests::xmllint::validate;
use conformance_tests::xsd::{root_element, xsd_for_namespace};

fn samples() -> (PathBuf, Vec<PathBuf>) {
    let shared = shared_dir().unwrap_or_else(|e| panic!("{e}"));
    let folder = shared.join("ihe-samples").join("minimal");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", folder.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "xml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no samples in {}", folder.display());
    (shared, files)
}

fn check_sample(shared: &std::path::Path, file: &std::path::Path) -> Result<(), String> {
    let input = std::fs::read_to_string(file).map_err(|e| format!("unreadable: {e}"))?;
    let root = root_element(&input).map_err(|e| format!("not XML: {e}"))?;
    let xsd = xsd_for_namespace(shared, &root.namespace)
        .ok_or_else(|| format!("no XSD for root {root}"))?;
    validate(&input, &xsd).map_err(|e| format!("input: {e}"))?;
    let output = read_and_write(&input).map_err(|e| e.to_string())?;
    validate(&output, &xsd).map_err(|e| format!("written back: {e}\n{output}"))?;
    compare(&input, &output).map_err(|e| format!("written back differs {e}\n{output}"))
}

#[test]
fn every_minimal_sample_round_trips_schema_valid_and_equal_in_meaning() {
    let (shared, files) = samples();
    let failures: Vec<String> = files
        .iter()
        .filter_map(|file| {
            check_sample(&shared, file)
                .err()
                .map(|reason| format!("{}: {reason}", file.display()))
        })
        .collect();
    println!(
        "ihe-samples/minimal: {} files, {} passed",
        files.len(),
        files.len() - failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
