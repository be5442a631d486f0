//! In-memory MPI linking of a records CSV, with the same command line as `hie mpi link`:
//! `matching_link mpi link --input records.csv --output links.csv [--model counts|default|tf|em]`
//! (`counts`, as `hie mpi link`: the default with the input's given names counted, so a given
//! name seen once a letter apart from a common one is a typo, not a twin, and its families
//! (`Model::with_families`); `default`:
//! `Model::default()`; `tf`: the default with
//! name frequencies of the input; `em`: `Model::estimate` on the input). It runs the PIX Manager's incremental loop
//! (`matching::linkage`) and writes every pair within each resulting person.
//! Tuning aids: `--explain TRUE_LINKS.csv` prints the decision of every missed true link and
//! false link (with the guard the pair would meet at any score, as the run names a guard only
//! above the auto-link threshold) and a `BLOCKING` line: the true links whose records share no
//! blocking key and those no chain of key-sharing true links joins (never linked); `MATCHING_UPPER` overrides the auto-link threshold; `MATCHING_PRINT_MODEL` prints
//! the estimated m/u next to the defaults.
//! Under `cargo bench` (no `--input`) it links `$HIE_SHARED_DIR/data/mpi/febrl3.csv` (default
//! `<workspace root>/../shared`) with both models and prints the time and accuracy.

use pix_manager::matching::dataset::{accuracy, parse_links, parse_records};
use pix_manager::matching::linkage::{
    SourceRecord, cluster_pairs, link_incrementally, population_model,
};
use pix_manager::matching::{Candidate, Matcher, Model, blocking_keys};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
enum LinkError {
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0}: {1}")]
    Dataset(PathBuf, pix_manager::matching::dataset::DatasetError),
    #[error(
        "usage: matching_link mpi link --input RECORDS.csv --output LINKS.csv [--model em|default]"
    )]
    Usage,
}

fn read(path: &PathBuf) -> Result<String, LinkError> {
    std::fs::read_to_string(path).map_err(|e| LinkError::Io(path.clone(), e))
}

fn model(kind: &str, records: &[SourceRecord]) -> Model {
    let demographics: Vec<_> = records.iter().map(|r| r.demographics.clone()).collect();
    if kind == "default" {
        Model::default()
    } else if kind == "counts" {
        population_model(records)
    } else if kind == "tf" {
        Model::default().with_name_frequencies(&demographics)
    } else {
        let (model, report) = Model::estimate_with_report(&demographics);
        eprintln!(
            "EM: {} candidate pairs, {} random pairs, {} iterations, converged {}, prior {:.4}",
            report.candidate_pairs,
            report.random_pairs,
            report.iterations,
            report.converged,
            model.prior
        );
        if std::env::var_os("MATCHING_PRINT_MODEL").is_some() {
            for (field, defaults) in model.fields.iter().zip(&Model::default().fields) {
                for (o, d) in field.outcomes.iter().zip(&defaults.outcomes) {
                    eprintln!(
                        "{:>14} {:>9}: m {:.4} u {:.6} (default m {:.4} u {:.6})",
                        field.field, o.outcome, o.m, o.u, d.m, d.u
                    );
                }
            }
        }
        model
    }
}

fn link(
    input: &PathBuf,
    output: &PathBuf,
    kind: &str,
    explain: Option<&PathBuf>,
) -> Result<(), LinkError> {
    let records = parse_records(&read(input)?).map_err(|e| LinkError::Dataset(input.clone(), e))?;
    let mut model = model(kind, &records);
    if let Some(upper) = std::env::var("MATCHING_UPPER")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        model.upper_threshold = upper;
    }
    let matcher = Matcher::new(model);
    let persons = link_incrementally(&records, &matcher);
    if let Some(path) = explain {
        let truth = parse_links(&read(path)?).map_err(|e| LinkError::Dataset(path.clone(), e))?;
        explain_missed(&records, &persons, &truth, &matcher);
        explain_blocking(&records, &truth);
    }
    let mut out = String::from("rec_id_1,rec_id_2\n");
    for (a, b) in cluster_pairs(&records, &persons) {
        out.push_str(&format!("{a},{b}\n"));
    }
    std::fs::write(output, out).map_err(|e| LinkError::Io(output.clone(), e))
}

/// Print the decision of every true link the run missed and every false link (tuning aid).
fn explain_missed(
    records: &[SourceRecord],
    persons: &[usize],
    truth: &std::collections::HashSet<(String, String)>,
    matcher: &Matcher,
) {
    let position: std::collections::HashMap<&str, usize> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.rec_id.as_str(), i))
        .collect();
    // the guard a pair would meet at any score (the run's matcher names it only above the
    // auto-link threshold)
    let mut open = matcher.model().clone();
    open.upper_threshold = f64::NEG_INFINITY;
    let open = Matcher::new(open);
    let predicted = cluster_pairs(records, persons);
    let false_links = predicted.iter().filter(|(a, b)| {
        !truth.contains(&(a.clone(), b.clone())) && !truth.contains(&(b.clone(), a.clone()))
    });
    for (a, b) in truth.iter().chain(false_links) {
        let (Some(&i), Some(&j)) = (position.get(a.as_str()), position.get(b.as_str())) else {
            continue;
        };
        let linked = persons[i] == persons[j];
        if linked == (truth.contains(&(a.clone(), b.clone()))) {
            continue;
        }
        let (ra, rb) = (&records[i], &records[j]);
        let blocked = blocking_keys(&ra.demographics)
            .iter()
            .any(|k| blocking_keys(&rb.demographics).contains(k));
        let (ca, cb) = (
            Candidate {
                domain: &ra.domain,
                local_id: &ra.rec_id,
                demographics: &ra.demographics,
            },
            Candidate {
                domain: &rb.domain,
                local_id: &rb.rec_id,
                demographics: &rb.demographics,
            },
        );
        let d = matcher.compare(&ca, &cb);
        let any_score = open.compare(&ca, &cb).guard;
        let fields: Vec<String> = d
            .fields
            .iter()
            .map(|f| format!("{}={}({:.1})", f.field, f.outcome, f.weight))
            .collect();
        println!(
            "{} {a} {b} blocked={blocked} score={:.1} zone={:?} guard={:?} guard_at_any_score={:?} {}",
            if linked { "FALSE" } else { "MISSED" },
            d.score,
            d.zone,
            d.guard.as_deref().map(|g| g.split(':').next()),
            any_score.as_deref().and_then(|g| g.split(':').next()),
            fields.join(" ")
        );
    }
}

/// Print how many true links no blocking can bring about: the pair shares no blocking key, and
/// no chain of true links that do share one joins its records (the incremental loop compares a
/// record only with the records sharing a key, so such a pair is never linked).
fn explain_blocking(records: &[SourceRecord], truth: &std::collections::HashSet<(String, String)>) {
    let position: std::collections::HashMap<&str, usize> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.rec_id.as_str(), i))
        .collect();
    let keys: Vec<Vec<String>> = records
        .iter()
        .map(|r| blocking_keys(&r.demographics))
        .collect();
    let pairs: Vec<(usize, usize)> = truth
        .iter()
        .filter_map(|(a, b)| Some((*position.get(a.as_str())?, *position.get(b.as_str())?)))
        .collect();
    let share = |&(i, j): &(usize, usize)| keys[i].iter().any(|k| keys[j].contains(k));
    let mut root: Vec<usize> = (0..records.len()).collect();
    fn find(root: &mut [usize], mut x: usize) -> usize {
        while root[x] != x {
            root[x] = root[root[x]];
            x = root[x];
        }
        x
    }
    let mut apart = 0;
    for pair in pairs.iter().filter(|p| share(p)) {
        let (ri, rj) = (find(&mut root, pair.0), find(&mut root, pair.1));
        root[ri] = rj;
    }
    for pair in &pairs {
        apart += usize::from(!share(pair));
    }
    let unreachable = pairs
        .iter()
        .filter(|&&(i, j)| find(&mut root, i) != find(&mut root, j))
        .count();
    println!(
        "BLOCKING {} true links: {apart} share no blocking key, {unreachable} joined by no chain of key-sharing true links",
        pairs.len()
    );
}

fn bench() -> Result<(), LinkError> {
    let shared = std::env::var_os("HIE_SHARED_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let dir = shared.join("data/mpi");
    let input = dir.join("febrl3.csv");
    let truth_path = dir.join("febrl3_links.csv");
    let records =
        parse_records(&read(&input)?).map_err(|e| LinkError::Dataset(input.clone(), e))?;
    let truth =
        parse_links(&read(&truth_path)?).map_err(|e| LinkError::Dataset(truth_path.clone(), e))?;
    for kind in ["counts", "default", "em"] {
        let start = Instant::now();
        let matcher = Matcher::new(model(kind, &records));
        let persons = link_incrementally(&records, &matcher);
        let pairs = cluster_pairs(&records, &persons);
        let elapsed = start.elapsed();
        let a = accuracy(&pairs, &truth);
        println!(
            "febrl3 model={kind}: {} records in {:.3} s; precision {:.5} recall {:.5} F1 {:.5}",
            records.len(),
            elapsed.as_secs_f64(),
            a.precision,
            a.recall,
            a.f1
        );
    }
    Ok(())
}

fn run() -> Result<(), LinkError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };
    match (value("--input"), value("--output")) {
        (Some(input), Some(output)) => link(
            &PathBuf::from(input),
            &PathBuf::from(output),
            value("--model").map_or("counts", String::as_str),
            value("--explain").map(PathBuf::from).as_ref(),
        ),
        (None, None) if args.iter().any(|a| a == "--bench") => bench(),
        _ => Err(LinkError::Usage),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
