//! `conformance-tests nist`: replays the NIST XDS Toolkit testkit against the registry, the
//! repository and the imaging document source.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use conformance_tests::nist::engine::{Target, Verdict};
use conformance_tests::nist::ids::ImageSet;
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
    /// Replay NIST testkit tests; prints one line per section, a table per collection and
    /// `N passed, M failed`.
    Nist(NistArgs),
}

#[derive(clap::Args)]
struct NistArgs {
    /// Run the tests of these collections (collections.txt tags), comma-separated, e.g.
    /// `reg,rep`; every collection in scope (reg, reg_mu, reg_rm, rep, rep_rd, ids) by default.
    #[arg(long, value_delimiter = ',')]
    filter: Vec<String>,
    /// Run this test (repeatable).
    #[arg(long = "test")]
    tests: Vec<String>,
    /// Registry SOAP endpoint to test instead of an in-process registry.
    #[arg(long)]
    url: Option<String>,
    /// MLLP address (host:port) of the registry's ITI-8 feed, with --url; ITI-44 otherwise.
    #[arg(long)]
    mllp: Option<std::net::SocketAddr>,
    /// Repository SOAP endpoint (ITI-41/43/86) to test instead of the in-process repository.
    #[arg(long)]
    repository_url: Option<String>,
    /// Imaging Document Source SOAP endpoint (RAD-69) to test instead of the in-process one.
    #[arg(long)]
    imaging_source_url: Option<String>,
    /// Imaging Document Source WADO-URI endpoint (RAD-55) to test instead of the in-process one.
    #[arg(long)]
    imaging_wado_url: Option<String>,
    /// Folder of the unzipped IHE XDS-I 2018 image set (ids_2018.zip): imported into the
    /// in-process Imaging Document Source before the run, as the `ids` plans' setup step asks.
    #[arg(long)]
    ids_image_set: Option<PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long)]
    junit: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let Command::Nist(args) = Cli::parse().command;
    match nist(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("nist: {message}");
            ExitCode::from(2)
        }
    }
}

async fn nist(args: NistArgs) -> Result<bool, String> {
    let tests_dir = shared_dir()
        .map_err(|e| e.to_string())?
        .join("nist-testkit/tests");
    let excluded = runner::parse_excluded(runner::EXCLUDED).map_err(|e| e.to_string())?;
    let collections = if args.filter.is_empty() && args.tests.is_empty() {
        runner::SCOPE.iter().map(|c| (*c).to_owned()).collect()
    } else {
        args.filter
    };
    let selection = runner::Selection {
        collections: collections.clone(),
        tests: args.tests,
    };
    let (selected, left_out) =
        runner::select(&tests_dir, &selection, &excluded).map_err(|e| e.to_string())?;
    if args.url.is_some() && args.ids_image_set.is_some() {
        return Err(
            "--ids-image-set imports into the in-process imaging source; not with --url".to_owned(),
        );
    }
    let data = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut imaging = None;
    let (mut target, in_process) = match args.url {
        Some(registry_url) => (
            Target {
                registry_url,
                registry_mllp: args.mllp,
                affinity_domain: registry::config::DEFAULT_AFFINITY_DOMAIN.to_owned(),
                repository_url: None,
                imaging_source_url: None,
                imaging_wado_url: None,
            },
            None,
        ),
        None => {
            let services = runner::start_services(data.path())
                .await
                .map_err(|e| format!("cannot start the services: {e}"))?;
            if let Some(dir) = &args.ids_image_set {
                let image_set = ImageSet::scan(dir).await?;
                let import = services
                    .import_image_set(&image_set)
                    .await
                    .map_err(|e| format!("image set: {e}"))?;
                eprintln!(
                    "nist: imported {} instance(s) of {} stud(ies) from {}",
                    import.instances,
                    import.studies,
                    dir.display(),
                );
                imaging = Some(
                    services
                        .imaging_fixture(image_set)
                        .await
                        .map_err(|e| format!("cannot start the RAD-68 simulator: {e}"))?,
                );
            }
            (services.target.clone(), Some(services))
        }
    };
    if let Some(url) = args.repository_url {
        target.repository_url = Some(url);
    }
    if let Some(url) = args.imaging_source_url {
        target.imaging_source_url = Some(url);
    }
    if let Some(url) = args.imaging_wado_url {
        target.imaging_wado_url = Some(url);
    }
    let report = runner::run(tests_dir.clone(), target, &selected, left_out, imaging).await;
    if let Some(services) = in_process {
        services.stop().await;
    }
    for line in report.lines() {
        println!("{line}");
    }
    if let Some(path) = args.junit {
        std::fs::write(&path, junit::report(&report.outcomes, &report.excluded))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let table: Vec<String> = if collections.is_empty() {
        runner::SCOPE.iter().map(|c| (*c).to_owned()).collect()
    } else {
        collections
    };
    for line in report.collection_table(&tests_dir, &table) {
        println!("{line}");
    }
    println!("{}", report.summary());
    Ok(report
        .outcomes
        .iter()
        .all(|o| matches!(o.verdict, Verdict::Pass { .. })))
}
