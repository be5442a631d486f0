//! `hie publish` and `hie import-cd`: the Imaging Document Source's command-line side (RAD-68
//! from a PACS over DICOMweb, or from a CD/DVD folder copied into the instance store).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use imaging_source::cd::{FolderScan, describe, scan_folder};
use imaging_source::config::Config;
use imaging_source::dicomweb::DicomWebClient;
use imaging_source::instance_store::InstanceStore;
use imaging_source::kos::AffinityPatient;
use imaging_source::metadata::source_patient_id;
use imaging_source::pix_client::PixClient;
use imaging_source::publish::{PublishContext, Published, ReportDocument, publish};
use imaging_source::report::{report_from_file, report_in_pacs_study, report_in_study};
use imaging_source::study::Study;
use indicatif::{ProgressBar, ProgressStyle};

/// Where and as whom to publish: each option left out is taken from `[imaging_source]` of the
/// configuration (`--config`, `HIE_CONFIG` or `./hie.toml`; the documented defaults otherwise).
#[derive(Args, Debug)]
pub struct PublishArgs {
    /// Affinity-domain patient id (CX `id^^^&oid&ISO`); without it the PIX Manager is asked.
    #[arg(long)]
    patient: Option<String>,
    /// PIX Manager (ITI-9, MLLP `host:port`) to ask for the affinity-domain id [default:
    /// `[imaging_source.consumer] pix_address`; `hie import-cd` asks it only when given].
    #[arg(long)]
    pix: Option<String>,
    /// Assigning authority (OID) of the affinity domain, for the PIX query [default:
    /// `[imaging_source.consumer] affinity_domain`].
    #[arg(long)]
    affinity_domain: Option<String>,
    /// ITI-41 endpoint of the Document Repository [default: `[imaging_source.publish]
    /// repository_url`].
    #[arg(long)]
    repository: Option<String>,
    /// ITI-18 endpoint of the Document Registry (finds the manifest a republication replaces)
    /// [default: `[imaging_source.consumer] registry_url`].
    #[arg(long)]
    registry: Option<String>,
    /// repositoryUniqueId of this Imaging Document Source (KOS Retrieve Location UID) [default:
    /// `[imaging_source] repository_unique_id`].
    #[arg(long)]
    imaging_source_uid: Option<String>,
    /// SubmissionSet.sourceId (OID of this source) [default: `[imaging_source.publish]
    /// source_id`].
    #[arg(long)]
    source_id: Option<String>,
    /// Retrieve AE Title written in the manifest [default: `[imaging_source]
    /// retrieve_ae_title`].
    #[arg(long)]
    retrieve_ae_title: Option<String>,
    /// WADO-RS root of this Imaging Document Source written as Retrieve URL per series [default:
    /// `[imaging_source.publish] retrieve_url`; left out: consumers map the Retrieve AE Title /
    /// Retrieve Location UID].
    #[arg(long)]
    retrieve_url: Option<String>,
    /// HTTP timeout in seconds [default: `[imaging_source.publish] timeout_seconds`].
    #[arg(long)]
    timeout: Option<u64>,
    /// A radiology report published in the same submission set: a PDF, UTF-8 text, a DICOM
    /// Encapsulated PDF or a DICOM Basic Text / Enhanced / Comprehensive SR (published as text).
    /// Without it, the Encapsulated PDF (else the SR) the study holds is published.
    #[arg(long)]
    report: Option<PathBuf>,
}

impl PublishArgs {
    /// `config` with the options given on the command line applied over it.
    pub fn applied_to(&self, config: &Config) -> Config {
        let mut config = config.clone();
        let set = |target: &mut String, option: &Option<String>| {
            if let Some(value) = option {
                target.clone_from(value);
            }
        };
        set(&mut config.consumer.affinity_domain, &self.affinity_domain);
        set(&mut config.publish.repository_url, &self.repository);
        set(&mut config.consumer.registry_url, &self.registry);
        set(&mut config.repository_unique_id, &self.imaging_source_uid);
        set(&mut config.retrieve_ae_title, &self.retrieve_ae_title);
        if let Some(pix) = &self.pix {
            config.consumer.pix_address.clone_from(pix);
        }
        if self.source_id.is_some() {
            config.publish.source_id.clone_from(&self.source_id);
        }
        if self.retrieve_url.is_some() {
            config.publish.retrieve_url.clone_from(&self.retrieve_url);
        }
        if let Some(seconds) = self.timeout {
            config.publish.timeout_seconds = seconds;
        }
        config
    }
}

/// `hie publish --pacs URL --study UID`.
pub async fn publish_from_pacs(
    pacs: &str,
    study_uid: &str,
    args: &PublishArgs,
    config: &Config,
) -> anyhow::Result<()> {
    let config = args.applied_to(config);
    let started = Instant::now();
    let timeouts = config.pacs_timeouts().context(
        "[imaging_source] pacs_connect_timeout_seconds and pacs_idle_timeout_seconds must be > 0",
    )?;
    let client = DicomWebClient::with_timeouts(pacs, timeouts)?;
    let spinner = spinner(format!("WADO-RS metadata of {study_uid}"));
    let study = client
        .study(study_uid)
        .await
        .with_context(|| format!("cannot read study {study_uid} from {pacs}"))?;
    spinner.finish_and_clear();
    println!("{}", describe(&study));
    let report = match &args.report {
        Some(path) => Some(report_from_file(path, None)?),
        None => report_in_pacs_study(&client, &study).await?,
    };
    let patient = affinity_patient(&study, args, &config).await?;
    let published = publish_one(&study, &context(&config, patient, report)).await?;
    print_summary(&[published], study.instance_count(), 0, started.elapsed());
    Ok(())
}

/// `hie import-cd DIR [--patient CX]`: without `--patient`, list the disc and the identity it
/// would use (asking the PIX Manager when `--pix` is given) and publish nothing; with it, copy
/// into the instance store and publish.
pub async fn import_cd(
    dir: PathBuf,
    store: PathBuf,
    pdq: bool,
    args: &PublishArgs,
    config: &Config,
) -> anyhow::Result<()> {
    let config = args.applied_to(config);
    let started = Instant::now();
    let spinner = spinner(format!("reading {}", dir.display()));
    let scan_dir = dir.clone();
    let scan: FolderScan = tokio::task::spawn_blocking(move || scan_folder(&scan_dir))
        .await
        .context("folder scan stopped")??;
    spinner.finish_and_clear();
    println!(
        "{}: {} stud{} ({}), {} problem file(s)",
        dir.display(),
        scan.studies.len(),
        if scan.studies.len() == 1 { "y" } else { "ies" },
        if scan.from_dicomdir {
            "from DICOMDIR"
        } else {
            "file scan"
        },
        scan.problems.len()
    );
    for problem in &scan.problems {
        println!(
            "  problem: {} ({:?}): {}",
            problem.path.display(),
            problem.kind,
            problem.detail
        );
    }
    let mut pdq_failures = 0;
    for (study, _) in &scan.studies {
        println!("  {}", describe(study));
        match source_patient_id(study) {
            Some(cx) => println!("    local identity: {cx}"),
            None => println!(
                "    local identity: {} (issuer {:?} is not an OID)",
                study.patient.id, study.patient.issuer
            ),
        }
        if let Some(patient) = &args.patient {
            println!("    would publish as: {patient}");
        } else if let Some(pix) = &args.pix {
            match affinity_patient(study, args, &config).await {
                Ok(p) => println!("    affinity-domain identity (PIX): {}", p.to_cx()),
                Err(e) => println!("    affinity-domain identity (PIX): none: {e:#}"),
            }
            if pdq && let Err(e) = list_pdq_matches(pix, study).await {
                println!("    PDQ: {e:#}");
                pdq_failures += 1;
            }
        }
    }
    if args.patient.is_none() {
        println!("nothing published (give --patient CX to import and publish)");
        if pdq_failures > 0 {
            bail!(
                "the PDQ search (ITI-21) failed for {pdq_failures} of {} stud{}",
                scan.studies.len(),
                if scan.studies.len() == 1 { "y" } else { "ies" }
            );
        }
        return Ok(());
    }
    if scan.studies.is_empty() {
        bail!("no study to import in {}", dir.display());
    }
    let mut reports = Vec::with_capacity(scan.studies.len());
    for (study, files) in &scan.studies {
        reports.push(match &args.report {
            Some(path) => Some(report_from_file(path, None)?),
            None => report_in_study(study, files)?,
        });
    }
    let store = InstanceStore::new(store);
    let total_files: usize = scan.studies.iter().map(|(_, f)| f.len()).sum();
    let bar = ProgressBar::new(total_files as u64).with_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} files, {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("copying into the instance store");
    let mut bytes = 0;
    for (study, files) in &scan.studies {
        bytes += store
            .import_study(study, files, |_| bar.inc(1))
            .await
            .with_context(|| format!("cannot copy study {}", study.study_instance_uid))?;
    }
    bar.finish_and_clear();
    let mut published = Vec::new();
    let mut instances = 0;
    for ((study, _), report) in scan.studies.iter().zip(reports) {
        let patient = affinity_patient(study, args, &config).await?;
        published.push(publish_one(study, &context(&config, patient, report)).await?);
        instances += study.instance_count();
    }
    print_summary(&published, instances, bytes, started.elapsed());
    Ok(())
}

/// ITI-21 by the disc's patient name and birth date: the records the PIX Manager knows, for the
/// operator to choose one with `--patient` (nothing is chosen automatically). Fails when the
/// PIX Manager cannot be asked or refuses the query.
async fn list_pdq_matches(pix: &str, study: &Study) -> anyhow::Result<()> {
    let name = study.patient.name.as_deref().unwrap_or_default();
    let mut parts = name.split('^');
    let family = parts.next().unwrap_or_default();
    let given = parts.next().filter(|g| !g.is_empty());
    if family.is_empty() {
        println!("    PDQ: the disc names no patient family name to search by");
        return Ok(());
    }
    let matches = PixClient::new(pix)
        .search_demographics(family, given, study.patient.birth_date.as_deref())
        .await
        .with_context(|| format!("cannot search the PIX Manager at {pix} for {name}"))?;
    if matches.is_empty() {
        println!("    PDQ: no record matches {name}");
    }
    for found in matches {
        let ids: Vec<String> = found
            .identifiers
            .iter()
            .map(|(id, oid)| format!("{id}^^^&{oid}&ISO"))
            .collect();
        println!(
            "    PDQ: {} {} {} {}",
            ids.join(" "),
            found.record.name.unwrap_or_default(),
            found.record.birth_date.unwrap_or_default(),
            found.record.sex.unwrap_or_default()
        );
    }
    Ok(())
}

async fn publish_one(study: &Study, ctx: &PublishContext) -> anyhow::Result<Published> {
    let spinner = spinner(format!(
        "RAD-68 manifest of {} ({} instances)",
        study.study_instance_uid,
        study.instance_count()
    ));
    let published = publish(study, ctx)
        .await
        .with_context(|| format!("cannot publish study {}", study.study_instance_uid))?;
    spinner.finish_and_clear();
    println!("DocumentEntry uniqueId {}", published.manifest_unique_id);
    Ok(published)
}

/// The affinity-domain patient: `--patient`, else ITI-9 from the PIX Manager (`--pix` or the
/// configured one).
async fn affinity_patient(
    study: &Study,
    args: &PublishArgs,
    config: &Config,
) -> anyhow::Result<AffinityPatient> {
    if let Some(cx) = &args.patient {
        return AffinityPatient::parse_cx(cx).with_context(|| format!("--patient {cx:?}"));
    }
    let pix = &config.consumer.pix_address;
    let issuer = study.patient.issuer.as_deref().unwrap_or_default();
    PixClient::new(pix)
        .affinity_id(&study.patient.id, issuer, &config.consumer.affinity_domain)
        .await
        .with_context(|| format!("ITI-9 PIX query to {pix}: nothing published"))
}

fn context(
    config: &Config,
    patient: AffinityPatient,
    report: Option<ReportDocument>,
) -> PublishContext {
    PublishContext {
        report,
        ..PublishContext::from_config(config, patient, config.publish.retrieve_url.clone())
    }
}

pub(crate) fn spinner(message: String) -> ProgressBar {
    let spinner = ProgressBar::new_spinner().with_message(message);
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}

fn print_summary(published: &[Published], instances: usize, bytes: u64, elapsed: Duration) {
    println!(
        "summary: {} manifest(s) published for {} instance(s){}, {} replaced, {} report(s) ({} replaced), in {:.2} s",
        published.len(),
        instances,
        if bytes > 0 {
            format!(" ({:.1} MB copied)", bytes as f64 / 1e6)
        } else {
            String::new()
        },
        published
            .iter()
            .filter(|p| p.replaced_entry_uuid.is_some())
            .count(),
        published
            .iter()
            .filter(|p| p.report_unique_id.is_some())
            .count(),
        published
            .iter()
            .filter(|p| p.replaced_report_entry_uuid.is_some())
            .count(),
        elapsed.as_secs_f64()
    );
}
