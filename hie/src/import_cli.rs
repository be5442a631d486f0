//! `hie import ENTRY --pacs DICOMWEB-URL --patient LOCAL-CX [--accession NEW]`: the Imaging
//! Document Consumer retrieves the study ENTRY's manifest names into a work folder, then every
//! instance is reconciled to the local patient (IHE Import Reconciliation) and stored in the local
//! PACS by STOW-RS; one progress bar over both phases and a summary.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use imaging_source::consumer::{ConsumerContext, Progress, RetrievedInstance};
use imaging_source::import_reconciliation::entry::import_entry;
use imaging_source::import_reconciliation::{
    AccessionRule, DEFAULT_ACCESSION_PREFIX, ImportOptions, ImportProgress, OperatorPatient,
};
use indicatif::{ProgressBar, ProgressStyle};

/// Where to import and as whom.
#[derive(Args, Debug, Clone)]
pub struct ImportArgs {
    /// DocumentEntry uniqueId or entryUUID (urn:uuid:…) of the study's manifest.
    entry: String,
    /// DICOMweb root of the local PACS (QIDO-RS, STOW-RS).
    #[arg(long)]
    pacs: String,
    /// Local patient id, CX `ID^^^NAMESPACE&OID&ISO`.
    #[arg(long)]
    patient: String,
    /// Local Patient's Name (DICOM PN `Family^Given`).
    #[arg(long)]
    name: Option<String>,
    /// Local birth date, YYYYMMDD.
    #[arg(long)]
    birth_date: Option<String>,
    /// Local sex (M, F, O).
    #[arg(long)]
    sex: Option<String>,
    /// Read the local record from the PIX Manager by ITI-21 (the options above override it).
    #[arg(long)]
    pdq: bool,
    /// Local accession number; without it the original is prefixed.
    #[arg(long)]
    accession: Option<String>,
    /// Prefix of the original accession number.
    #[arg(long, default_value = DEFAULT_ACCESSION_PREFIX)]
    accession_prefix: String,
    /// Work folder of the retrieval (kept; a re-run fetches only what is missing).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Instances per STOW-RS request.
    #[arg(long, default_value_t = 50)]
    batch_size: usize,
}

/// `hie import`.
pub async fn import(ctx: ConsumerContext, args: ImportArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let operator = OperatorPatient {
        patient: args.patient.clone(),
        name: args.name.clone(),
        birth_date: args.birth_date.clone(),
        sex: args.sex.clone(),
    };
    let patient = if args.pdq {
        operator.resolve_with_pdq(&ctx.pix).await
    } else {
        operator.local_patient()
    }
    .context("nothing imported: the local patient is not usable")?;
    let mut options = ImportOptions::new(args.pacs.clone());
    options.batch_size = args.batch_size;
    options.accession = match &args.accession {
        Some(accession) => AccessionRule::Given(accession.clone()),
        None => AccessionRule::Prefixed(args.accession_prefix.clone()),
    };
    let work_dir = args.work_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "hie-import-{}",
            args.entry.replace([':', '/'], "_")
        ))
    });
    let bar = PhaseBar::new();
    let report = import_entry(&ctx, &args.entry, &work_dir, &patient, &options, &bar, &bar)
        .await
        .with_context(|| format!("cannot import {}", args.entry))?;
    bar.bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let (retrieval, import) = (&report.retrieval, &report.import);
    println!(
        "summary: {} instance(s) retrieved into {} ({} fetched, {} already present, {} missing); \
         {} stored in {} as {} ({:.1} MB), {} failed; {:.2} s",
        retrieval.instances.len(),
        retrieval.dir.display(),
        retrieval.fetched,
        retrieval.already_present,
        retrieval.missing.len(),
        import.stored.len(),
        import.pacs,
        patient.id,
        import.bytes as f64 / 1e6,
        import.failed.len(),
        seconds
    );
    for study in &import.studies {
        let note = if study.uids_replaced {
            " (UID held for another patient: new UIDs)"
        } else {
            ""
        };
        println!(
            "  study {} -> {}{note}",
            study.original_study_uid, study.study_uid
        );
    }
    for missing in &retrieval.missing {
        println!("  missing {}: {}", missing.sop_instance_uid, missing.reason);
    }
    for failed in &import.failed {
        println!("  failed {}: {}", failed.path.display(), failed.reason);
    }
    if !report.is_complete() {
        bail!(
            "{} missing and {} failed instance(s); the rest is stored: run the same command again \
             (--work-dir {}) to retry",
            retrieval.missing.len(),
            import.failed.len(),
            work_dir.display()
        );
    }
    Ok(())
}

/// One bar over both overlapping phases: each instance counts once retrieved (or found
/// already present) and once stored or failed.
struct PhaseBar {
    bar: ProgressBar,
}

impl PhaseBar {
    fn new() -> Self {
        let bar = ProgressBar::new(0).with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} steps, {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message("retrieving (RAD-69) and importing (STOW-RS)");
        PhaseBar { bar }
    }
}

impl Progress for PhaseBar {
    fn start(&self, to_fetch: usize, already_present: usize) {
        self.bar
            .set_length((2 * (to_fetch + already_present)) as u64);
        self.bar.set_position(already_present as u64);
    }

    fn instance_written(&self, _instance: &RetrievedInstance, _bytes: u64) {
        self.bar.inc(1);
    }
}

impl ImportProgress for PhaseBar {
    fn planned(&self, _total: usize) {}

    fn advanced(&self, count: usize) {
        self.bar.inc(count as u64);
    }
}
