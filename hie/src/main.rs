//! `hie`: the broker's launcher and command-line client.

mod config;
mod consumer_cli;
mod imaging_cli;
mod import_cli;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use imaging_source::auto_publish::AutoPublish;
use service_kit::config::RawConfig;

use crate::config::HieConfig;

#[derive(Parser)]
#[command(
    name = "hie",
    version,
    about = "IHE XDS-I.b health-information-exchange broker"
)]
struct Cli {
    /// Configuration file (default: $HIE_CONFIG, else ./hie.toml if present, else built-in defaults).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start every service in this process on the embedded defaults; stop with Ctrl-C.
    Up,
    /// Print the documented default configuration.
    Config,
    /// RAD-68: publish a study held by a PACS (DICOMweb) as an XDS-I.b manifest.
    Publish {
        /// DICOMweb root of the PACS (e.g. http://pacs:8042/dicom-web).
        #[arg(long)]
        pacs: String,
        /// Study Instance UID.
        #[arg(long)]
        study: String,
        #[command(flatten)]
        publish: imaging_cli::PublishArgs,
    },
    /// Import a CD/DVD folder: list it, or with --patient copy it into the instance store and
    /// publish its manifest (RAD-68).
    ImportCd {
        /// The disc's folder (with or without DICOMDIR).
        dir: PathBuf,
        /// Instance store of the imaging source [default: the configured one, the folder `hie
        /// up`'s imaging source serves: `[imaging_source] instance_store_root`, else
        /// `<data_dir>/instances`].
        #[arg(long)]
        store: Option<PathBuf>,
        /// Without --patient: also search the PIX Manager (--pix) by the disc's patient name and
        /// birth date (ITI-21) and list the records found, for the operator to name one; exits
        /// with an error after the listing when a search fails.
        #[arg(long, requires = "pix", conflicts_with = "patient")]
        pdq: bool,
        #[command(flatten)]
        publish: imaging_cli::PublishArgs,
    },
    /// ITI-18: the imaging manifests of a patient (a local id is translated by PIX, ITI-9).
    Find {
        /// The patient, CX `ID^^^&OID&ISO` (local or affinity-domain id).
        #[arg(long)]
        patient: String,
        /// Acquisition modality (eventCodeList), e.g. CT.
        #[arg(long)]
        modality: Option<String>,
        /// Studies on or after this date, YYYYMMDD (serviceStartTime).
        #[arg(long)]
        since: Option<String>,
    },
    /// ITI-43: the manifest of ENTRY read back (study, series and image counts, institution).
    Show {
        /// DocumentEntry uniqueId or entryUUID (urn:uuid:…).
        entry: String,
    },
    /// RAD-69 (or WADO-RS): the instances of ENTRY's manifest into DIR/<study>/<series>/<sop>.dcm;
    /// a re-run fetches only what is missing.
    Retrieve {
        /// DocumentEntry uniqueId or entryUUID (urn:uuid:…).
        entry: String,
        /// Destination folder.
        #[arg(long)]
        to: PathBuf,
        /// Fetch by WADO-RS instead of RAD-69.
        #[arg(long)]
        wado_rs: bool,
    },
    /// Retrieve ENTRY's study and import it into the local PACS (STOW-RS) under the local
    /// patient id and accession number (IHE Import Reconciliation).
    Import(import_cli::ImportArgs),
    /// Master patient index tools.
    #[command(subcommand)]
    Mpi(MpiCommand),
}

#[derive(Subcommand)]
enum MpiCommand {
    /// Record linkage of a CSV file through the PIX manager (each row an ITI-8 ADT^A04 into a
    /// fresh temporary MPI); writes every pair of rows linked to one person.
    Link {
        /// Input CSV: rec_id required; domain and the demographic columns by header name.
        #[arg(long)]
        input: PathBuf,
        /// Output CSV: `rec_id_1,rec_id_2`, one linked pair per line.
        #[arg(long)]
        output: PathBuf,
    },
}

/// mimalloc: about a quarter of an ebRIM parse is allocation, and it is faster there than the
/// system allocator (see `cargo bench -p schemas --bench ebrim`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    service_kit::memory::disable_transparent_huge_pages("hie");
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Config => {
            print!("{}", config::EXAMPLE);
            Ok(())
        }
        Command::Publish {
            pacs,
            study,
            publish,
        } => {
            let config = load(cli.config.as_deref())?;
            imaging_cli::publish_from_pacs(&pacs, &study, &publish, &config.imaging_source).await
        }
        Command::ImportCd {
            dir,
            store,
            pdq,
            publish,
        } => {
            let config = load(cli.config.as_deref())?;
            let store = store.unwrap_or_else(|| {
                imaging_source::server::instance_store_root(
                    &config.imaging_source,
                    &config.general.data_dir,
                )
            });
            imaging_cli::import_cd(dir, store, pdq, &publish, &config.imaging_source).await
        }
        Command::Find {
            patient,
            modality,
            since,
        } => {
            let ctx = consumer_context(cli.config.as_deref())?;
            let query = imaging_source::consumer::FindQuery {
                patient,
                modality,
                since,
            };
            consumer_cli::find(&ctx, query).await
        }
        Command::Show { entry } => {
            consumer_cli::show(&consumer_context(cli.config.as_deref())?, &entry).await
        }
        Command::Retrieve { entry, to, wado_rs } => {
            let ctx = consumer_context(cli.config.as_deref())?;
            consumer_cli::retrieve(ctx, &entry, &to, wado_rs).await
        }
        Command::Import(args) => {
            import_cli::import(consumer_context(cli.config.as_deref())?, args).await
        }
        Command::Mpi(MpiCommand::Link { input, output }) => {
            let summary = pix_manager::batch::link_csv(&input, &output).await?;
            eprintln!(
                "hie mpi link: {} records, {} persons, {} pairs written to {}",
                summary.records,
                summary.persons,
                summary.pairs,
                output.display()
            );
            Ok(())
        }
        Command::Up => {
            service_kit::telemetry::init_tracing();
            up(load(cli.config.as_deref())?).await
        }
    }
}

/// The configuration: `path`, else `HIE_CONFIG`, else `./hie.toml`, else the defaults.
fn load(path: Option<&std::path::Path>) -> anyhow::Result<HieConfig> {
    Ok(RawConfig::load(path)?.typed()?)
}

/// The Imaging Document Consumer of `[imaging_source.consumer]`.
fn consumer_context(
    path: Option<&std::path::Path>,
) -> anyhow::Result<imaging_source::consumer::ConsumerContext> {
    let config = load(path)?;
    Ok(imaging_source::consumer::ConsumerContext::new(
        config.imaging_source.consumer,
    ))
}

/// `hie up`: prepare the data folder, start the services, print their endpoints, wait for
/// Ctrl-C, stop them.
async fn up(config: HieConfig) -> anyhow::Result<()> {
    let general = &config.general;
    std::fs::create_dir_all(&general.data_dir).with_context(|| {
        format!(
            "cannot create the data folder {}",
            general.data_dir.display()
        )
    })?;
    let shutdown = service_kit::shutdown::on_signal();
    let mut registry = registry::server::start(
        &config.registry,
        general.bind_address,
        &general.data_dir,
        shutdown.clone(),
    )
    .await
    .context("cannot start the document registry")?;
    // In one process the repository registers with the registry started above.
    let repository_config = repository::config::Config {
        registry_url: registry.endpoint_url(),
        ..config.repository.clone()
    };
    let mut repository = repository::server::start(
        &repository_config,
        general.bind_address,
        &general.data_dir,
        shutdown.clone(),
    )
    .await
    .context("cannot start the document repository")?;

    let mut pix_manager = pix_manager::server::start(
        &config.pix_manager,
        general.bind_address,
        &general.data_dir,
        shutdown.clone(),
    )
    .await
    .context("cannot start the PIX manager")?;

    // The consumer side asks the registry, repository and PIX manager started above.
    let mut imaging_source_config = config.imaging_source.clone();
    let consumer = &mut imaging_source_config.consumer;
    consumer.registry_url = registry.endpoint_url();
    consumer.pix_address = pix_manager.mllp_addr.to_string();
    consumer.affinity_domain = config.pix_manager.affinity_domain.clone();
    consumer.repositories.insert(
        repository_config.repository_unique_id.clone(),
        repository.endpoint_url(),
    );
    imaging_source_config.publish.repository_url = repository.endpoint_url();
    let mut imaging_source = imaging_source::server::start(
        &imaging_source_config,
        general.bind_address,
        &general.data_dir,
        shutdown.clone(),
    )
    .await
    .context("cannot start the imaging document source")?;

    // RAD-68 of studies pushed by C-STORE, once complete: patient by ITI-9 from the PIX manager,
    // manifest by ITI-41 to the repository.
    if imaging_source_config.publish.received_studies {
        let auto = AutoPublish::from_config(
            &imaging_source_config,
            &general.data_dir,
            imaging_source.wado_rs_url(),
        );
        imaging_source.publish_received_studies(auto);
    }

    println!("hie: data in {}", general.data_dir.display());
    println!(
        "  {:<34} {}",
        "Document Registry (SOAP)",
        registry.endpoint_url()
    );
    println!(
        "  {:<34} mllp://{}",
        "Document Registry identity feed", registry.mllp_addr
    );
    println!(
        "  {:<34} {}",
        "Document Repository (SOAP+MTOM)",
        repository.endpoint_url()
    );
    println!(
        "  {:<34} {}",
        "Imaging Document Source (RAD-69)",
        imaging_source.endpoint_url()
    );
    println!(
        "  {:<34} {}",
        "Imaging Document Source (WADO-RS)",
        imaging_source.wado_rs_url()
    );
    println!(
        "  {:<34} http://{}/consumer",
        "Imaging Document Consumer (JSON)", imaging_source.http_addr
    );
    println!(
        "  {:<34} {} on {}",
        "Imaging Document Source (C-STORE)",
        config.imaging_source.scp_ae_title,
        imaging_source.scp_addr
    );
    println!(
        "  {:<34} mllp://{}",
        "PIX Manager (ITI-8/9/21)", pix_manager.mllp_addr
    );
    println!(
        "  {:<34} {}",
        "PIX Manager review queue (JSON)",
        pix_manager.http_url()
    );
    println!(
        "  {:<34} /healthz and /metrics on each HTTP port",
        "health, metrics"
    );
    println!("Press Ctrl-C to stop.");

    while registry.tasks.join_next().await.is_some() {}
    while repository.tasks.join_next().await.is_some() {}
    while imaging_source.tasks.join_next().await.is_some() {}
    while pix_manager.tasks.join_next().await.is_some() {}
    println!("hie: stopped");
    Ok(())
}
