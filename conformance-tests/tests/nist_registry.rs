//! The NIST XDS Toolkit registry collection (`reg`) replayed against an in-process registry:
//! every section listed in nist-expected-pass.txt still passes (the list only grows), and the
//! RegRep 2.1 submissions of the collection convert to ebRS 3.0 that the official lcm.xsd accepts.
#![cfg(feature = "peers")]

mod support;

use std::path::{Path, PathBuf};

use conformance_tests::nist::convert::is_regrep_21;
use conformance_tests::nist::engine::{collections_of, sections_of};
use conformance_tests::nist::metadata::{Rewrite, prepare_submission};
use conformance_tests::nist::plan::{TestPlan, TransactionKind};
use conformance_tests::nist::tree::Element;
use conformance_tests::shared::shared_dir;
use conformance_tests::xmllint::validate;

fn tests_dir() -> PathBuf {
    shared_dir()
        .expect("shared reference folder")
        .join("nist-testkit/tests")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_passes_of_the_registry_collection_still_pass() {
    support::expected_passes_still_pass("reg").await;
}

fn register_metadata_files(tests: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(tests)
        .expect("tests listed")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|t| collections_of(tests, t).iter().any(|c| c == "reg"))
        .collect();
    names.sort();
    for test in names {
        for section in sections_of(tests, &test) {
            let dir = tests.join(&test).join(&section);
            let Ok(text) = std::fs::read_to_string(dir.join("testplan.xml")) else {
                continue;
            };
            let plan = TestPlan::parse(&text).expect("testplan readable");
            for transaction in plan.steps.iter().filter_map(|s| s.transaction.as_ref()) {
                if transaction.kind == TransactionKind::Register
                    && let Some(file) = &transaction.metadata_file
                {
                    files.push(dir.join(file));
                }
            }
        }
    }
    files
}

#[test]
fn converted_regrep_21_submissions_validate_against_lcm_xsd() {
    let shared = shared_dir().expect("shared reference folder");
    let xsd = shared.join("ihe-schemas/schema/ebRS/lcm.xsd");
    let mut converted = 0;
    for file in register_metadata_files(&tests_dir()) {
        let text = std::fs::read_to_string(&file).expect("metadata readable");
        if !is_regrep_21(&Element::parse(&text).expect("metadata well-formed")) {
            continue;
        }
        let prepared = prepare_submission(
            &text,
            Rewrite {
                assign_uuids: true,
                assign_uids: true,
                keep_unique_ids_of: &[],
                patient_id: Some("P1^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO"),
            },
        )
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if let Err(report) = validate(&prepared.xml, &xsd) {
            panic!("{} converted is not lcm-valid: {report}", file.display());
        }
        converted += 1;
    }
    assert!(
        converted > 10,
        "only {converted} RegRep 2.1 submissions found"
    );
}
