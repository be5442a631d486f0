//! `conformance-tests nist`: replays the NIST XDS Toolkit testkit against the registry.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use conformance_tests::nist::engine::Target;
use conformance_tests::nist::{junit, runner};
use conformance_tests::shared::shared_dir;

#[derive(Parser)]
#[command(about = "Black-box conformance tests of the broker")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay NIST testkit tests; prints one line per section and `N passed, M failed`.
    Nist {
        /// Run the tests of this collection (collections.txt), e.g. `reg`.
        #[arg(long)]
        filter: Option<String>,
        /// Run this test (repeatable).
        #[arg(long = "test")]
        tests: Vec<String>,
        /// Registry SOAP endpoint to test instead of an in-process registry.
        #[arg(long)]
        url: Option<String>,
        /// MLLP address (host:port) of the registry's ITI-8 feed, with --url; ITI-44 otherwise.
        #[arg(long)]
        mllp: Option<std::net::SocketAddr>,
        /// Write a JUnit XML report here.
        #[arg(long)]
        junit: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let Command::Nist {
        filter,
        tests,
        url,
        mllp,
        junit,
    } = Cli::parse().command;
    match nist(filter, tests, url, mllp, junit).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("nist: {message}");
            ExitCode::from(2)
        }
    }
}

async fn nist(
    filter: Option<String>,
    tests: Vec<String>,
    url: Option<String>,
    mllp: Option<std::net::SocketAddr>,
    junit_path: Option<PathBuf>,
) -> Result<bool, String> {
    let tests_dir = shared_dir()
        .map_err(|e| e.to_string())?
        .join("nist-testkit/tests");
    let excluded = runner::parse_excluded(runner::EXCLUDED).map_err(|e| e.to_string())?;
    let collection = match (&filter, tests.is_empty()) {
        (None, true) => Some("reg".to_owned()),
        _ => filter,
    };
    let selection = runner::Selection { collection, tests };
    let (selected, left_out) =
        runner::select(&tests_dir, &selection, &excluded).map_err(|e| e.to_string())?;
    let data = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (target, in_process) = match url {
        Some(registry_url) => (
            Target {
                registry_url,
                registry_mllp: mllp,
                affinity_domain: registry::config::DEFAULT_AFFINITY_DOMAIN.to_owned(),
            },
            None,
        ),
        None => {
            let registry = runner::start_registry(data.path())
                .await
                .map_err(|e| format!("cannot start the registry: {e}"))?;
            (registry.target.clone(), Some(registry))
        }
    };
    let report = runner::run(tests_dir, target, &selected, left_out).await;
    if let Some(registry) = in_process {
        registry.stop().await;
    }
    for line in report.lines() {
        println!("{line}");
    }
    if let Some(path) = junit_path {
        std::fs::write(&path, junit::report(&report.outcomes, &report.excluded))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    println!("{}", report.summary());
    Ok(report.outcomes.iter().all(|o| {
        matches!(
            o.verdict,
            conformance_tests::nist::engine::Verdict::Pass { .. }
        )
    }))
}
