//! Every ebRIM 3.0 / ebRS 3.0, XDS.b, XDS-I.b and RMD document of the NIST XDS testkit reads
//! with `schemas`, writes back equal in meaning, and the written document is schema-valid if and
//! only if the original was (test inputs that are deliberately broken stay broken, valid ones
//! stay valid). RegRep 2.1 documents are left to the 2.1 conversion harness.
#![cfg(feature = "peers")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use conformance_tests::round_trip::{RoundTripError, read_and_write};
use conformance_tests::semantic::compare;
use conformance_tests::shared::shared_dir;
use conformance_tests::xmllint::validate_files;
use conformance_tests::xsd::{RootElement, root_element, xsd_for_namespace};

/// Files `schemas` may refuse, with the reason, one per line: `<path under nist-testkit>: <reason>`.
const UNSUPPORTED: &str = include_str!("../nist-unsupported.txt");

/// One selected testkit document.
struct Candidate {
    relative: String,
    path: PathBuf,
    root: RootElement,
    xsd: PathBuf,
    input: String,
}

/// What the walk found.
#[derive(Default)]
struct Survey {
    xml_files: usize,
    candidates: Vec<Candidate>,
    skipped_by_namespace: BTreeMap<String, usize>,
    not_well_formed: Vec<String>,
}

fn xml_files_under(folder: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
                .path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "xml") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn survey(shared: &Path, testkit: &Path) -> Survey {
    let mut survey = Survey::default();
    for path in xml_files_under(testkit) {
        survey.xml_files += 1;
        let relative = path
            .strip_prefix(testkit)
            .unwrap_or(&path)
            .display()
            .to_string();
        let Ok(input) = std::fs::read_to_string(&path) else {
            survey
                .not_well_formed
                .push(format!("{relative}: not UTF-8"));
            continue;
        };
        let root = match root_element(&input) {
            Ok(root) => root,
            Err(error) => {
                survey.not_well_formed.push(format!("{relative}: {error}"));
                continue;
            }
        };
        match xsd_for_namespace(shared, &root.namespace) {
            Some(xsd) => survey.candidates.push(Candidate {
                relative,
                path,
                root,
                xsd,
                input,
            }),
            None => {
                *survey
                    .skipped_by_namespace
                    .entry(root.namespace.clone())
                    .or_default() += 1;
            }
        }
    }
    survey
}

fn unsupported_list() -> BTreeMap<&'static str, &'static str> {
    UNSUPPORTED
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| match line.split_once(": ") {
            Some((path, reason)) if !reason.trim().is_empty() => (path.trim(), reason.trim()),
            _ => panic!("nist-unsupported.txt: line without a reason: {line}"),
        })
        .collect()
}

/// Validates every path against its XSD, one xmllint run per XSD; true when valid.
fn validity(files: &[(PathBuf, PathBuf)]) -> BTreeMap<PathBuf, Result<(), String>> {
    let mut by_xsd: BTreeMap<&PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for (file, xsd) in files {
        by_xsd.entry(xsd).or_default().push(file.clone());
    }
    let mut outcomes = BTreeMap::new();
    for (xsd, files) in by_xsd {
        let results = validate_files(&files, xsd).unwrap_or_else(|e| panic!("{e}"));
        for (file, outcome) in results {
            outcomes.insert(file, outcome.map_err(|e| first_lines(&e.to_string(), 4)));
        }
    }
    outcomes
}

fn first_lines(text: &str, count: usize) -> String {
    text.lines().take(count).collect::<Vec<_>>().join(" | ")
}

#[test]
fn every_ebrim_3_document_of_the_nist_testkit_round_trips() {
    let shared = shared_dir().unwrap_or_else(|e| panic!("{e}"));
    let testkit = shared.join("nist-testkit");
    let survey = survey(&shared, &testkit);
    let unsupported = unsupported_list();
    let written_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));

    let mut failures: Vec<String> = Vec::new();
    let mut refused_as_listed: BTreeSet<&str> = BTreeSet::new();
    let mut to_validate: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut written: Vec<(usize, PathBuf)> = Vec::new();
    // Inputs the reader refused: acceptable only where xmllint refuses them too (the reader then
    // enforces the schema); refusing a schema-valid document is a failure.
    let mut refused: Vec<(usize, String)> = Vec::new();
    for (index, candidate) in survey.candidates.iter().enumerate() {
        to_validate.push((candidate.path.clone(), candidate.xsd.clone()));
        let listed = unsupported.get(candidate.relative.as_str());
        let output = match (read_and_write(&candidate.input), listed) {
            (Err(RoundTripError::Unreadable { .. }), Some(_)) => {
                refused_as_listed.insert(candidate.relative.as_str());
                continue;
            }
            (Err(error), None) => {
                refused.push((index, error.to_string()));
                continue;
            }
            (Err(error), Some(_)) => {
                failures.push(format!("{}: {error}", candidate.relative));
                continue;
            }
            (Ok(_), Some(_)) => {
                failures.push(format!(
                    "{}: listed in nist-unsupported.txt but schemas reads it now: remove the entry",
                    candidate.relative
                ));
                continue;
            }
            (Ok(output), None) => output,
        };
        if let Err(inequality) = compare(&candidate.input, &output) {
            failures.push(format!(
                "{}: written back not equal in meaning: {inequality}",
                candidate.relative
            ));
            continue;
        }
        let out_path = written_dir.path().join(format!("{index}.xml"));
        std::fs::write(&out_path, &output)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", out_path.display()));
        to_validate.push((out_path.clone(), candidate.xsd.clone()));
        written.push((index, out_path));
    }

    let valid = validity(&to_validate);
    let is_valid = |path: &PathBuf| valid.get(path).map(Result::is_ok).unwrap_or(false);
    let mut input_invalid: Vec<&str> = Vec::new();
    let mut passed_by_root: BTreeMap<String, usize> = BTreeMap::new();
    for (index, out_path) in &written {
        let candidate = &survey.candidates[*index];
        let input_valid = is_valid(&candidate.path);
        if !input_valid {
            input_invalid.push(candidate.relative.as_str());
        }
        match (input_valid, is_valid(out_path)) {
            (true, false) => failures.push(format!(
                "{}: valid input written back schema-invalid: {}",
                candidate.relative,
                valid
                    .get(out_path)
                    .and_then(|r| r.as_ref().err())
                    .cloned()
                    .unwrap_or_default()
            )),
            (false, true) => failures.push(format!(
                "{}: schema-invalid input written back valid (something was dropped or changed): input: {}",
                candidate.relative,
                valid
                    .get(&candidate.path)
                    .and_then(|r| r.as_ref().err())
                    .cloned()
                    .unwrap_or_default()
            )),
            _ => {
                *passed_by_root
                    .entry(candidate.root.local.clone())
                    .or_default() += 1;
            }
        }
    }
    let mut refused_invalid: Vec<String> = Vec::new();
    for (index, error) in &refused {
        let candidate = &survey.candidates[*index];
        if is_valid(&candidate.path) {
            failures.push(format!(
                "{}: schema-valid input refused by the reader: {error}",
                candidate.relative
            ));
        } else {
            refused_invalid.push(format!("{}: {error}", candidate.relative));
        }
    }
    for listed in unsupported.keys() {
        if !refused_as_listed.contains(listed) && !failures.iter().any(|f| f.starts_with(listed)) {
            failures.push(format!(
                "{listed}: listed in nist-unsupported.txt but not a selected testkit document"
            ));
        }
    }

    let mut selected_by_root: BTreeMap<String, usize> = BTreeMap::new();
    for candidate in &survey.candidates {
        *selected_by_root
            .entry(format!("{}", candidate.root))
            .or_default() += 1;
    }
    println!(
        "NIST testkit: {} .xml files, {} selected (ebRIM/ebRS 3.0, XDS.b, XDS-I.b, RMD), {} passed, \
         {} failed, {} listed unsupported; {} selected inputs are schema-invalid as they stand",
        survey.xml_files,
        survey.candidates.len(),
        passed_by_root.values().sum::<usize>(),
        failures.len(),
        refused_as_listed.len(),
        input_invalid.len()
    );
    for file in &refused_invalid {
        println!(
            "  schema-invalid as it stands and refused by the reader, as xmllint refuses it: {file}"
        );
    }
    for file in &input_invalid {
        println!("  schema-invalid as it stands (written back invalid too): {file}");
    }
    for (root, count) in &selected_by_root {
        let local = root.rsplit('}').next().unwrap_or(root);
        let passed = passed_by_root.get(local).copied().unwrap_or(0);
        println!("  {root}: {count} selected, {passed} passed");
    }
    println!("skipped (other root namespaces):");
    for (namespace, count) in &survey.skipped_by_namespace {
        let namespace = if namespace.is_empty() {
            "(none)"
        } else {
            namespace
        };
        println!("  {namespace}: {count}");
    }
    println!(
        "skipped (not well-formed XML): {}",
        survey.not_well_formed.len()
    );
    for file in &survey.not_well_formed {
        println!("  {file}");
    }

    assert!(
        !survey.candidates.is_empty(),
        "no ebRIM 3.0 documents found under {}",
        testkit.display()
    );
    assert!(
        failures.is_empty(),
        "{} of {} NIST testkit documents fail:\n{}",
        failures.len(),
        survey.candidates.len(),
        failures.join("\n")
    );
}
