//! Matching accuracy on the shared FEBRL datasets (feature `peers`; needs `$HIE_SHARED_DIR`,
//! default `<workspace root>/../shared`): precision at the auto-link threshold ≥ 0.999, and the
//! recall of `hie mpi link`'s model no lower than last measured.
#![cfg(feature = "peers")]

use pix_manager::matching::dataset::{accuracy, parse_links, parse_records};
use pix_manager::matching::linkage::{cluster_pairs, link_incrementally, population_model};
use pix_manager::matching::{Matcher, Model};
use std::path::PathBuf;

fn mpi_data_dir() -> PathBuf {
    let shared = std::env::var_os("HIE_SHARED_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let dir = shared.join("data/mpi");
    assert!(
        dir.join("febrl1.csv").is_file(),
        "peer missing: {} has no febrl1.csv; set HIE_SHARED_DIR to the shared reference folder",
        dir.display()
    );
    dir
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("peer missing: cannot read {}: {e}", path.display()))
}

#[test]
fn febrl_precision_is_at_least_0_999_and_recall_never_drops() {
    let dir = mpi_data_dir();
    // recall of `hie mpi link`'s model measured when the rules were last changed: it may only rise
    for (name, recall_floor) in [("febrl1", 0.996), ("febrl2", 0.995), ("febrl3", 0.986)] {
        let records = parse_records(&read(dir.join(format!("{name}.csv"))))
            .unwrap_or_else(|e| panic!("{name}.csv: {e}"));
        let truth = parse_links(&read(dir.join(format!("{name}_links.csv"))))
            .unwrap_or_else(|e| panic!("{name}_links.csv: {e}"));
        let demographics: Vec<_> = records.iter().map(|r| r.demographics.clone()).collect();
        // what `hie mpi link` uses: the default with the input's given names and families counted
        let population = population_model(&records);
        for (model_name, model) in [
            ("default", Model::default()),
            ("em", Model::estimate(&demographics)),
            ("population", population),
        ] {
            let persons = link_incrementally(&records, &Matcher::new(model));
            let a = accuracy(&cluster_pairs(&records, &persons), &truth);
            println!(
                "{name} model={model_name}: precision {:.5} recall {:.5} F1 {:.5} (false links {}, missed {})",
                a.precision, a.recall, a.f1, a.false_links, a.missed
            );
            assert!(
                a.precision >= 0.999,
                "{name} model={model_name}: precision {:.5} < 0.999",
                a.precision
            );
            if model_name == "population" {
                assert!(
                    a.recall >= recall_floor,
                    "{name} model={model_name}: recall {:.5} < {recall_floor}",
                    a.recall
                );
            }
        }
    }
}
