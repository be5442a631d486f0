//! `hie find`, `hie show` and `hie retrieve`: the Imaging Document Consumer's command-line side
//! (ITI-18 on imaging manifests with PIX translation, ITI-43 + KOS read back, RAD-69 / WADO-RS
//! retrieval into a folder), talking to the running services named in
//! `[imaging_source.consumer]`.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use imaging_source::consumer::{
    self, ConsumerContext, FindQuery, Progress, RetrieveProtocol, RetrievedInstance,
};
use indicatif::{ProgressBar, ProgressStyle};

use crate::imaging_cli::spinner;

/// `hie find --patient CX [--modality M] [--since YYYYMMDD]`.
pub async fn find(ctx: &ConsumerContext, query: FindQuery) -> anyhow::Result<()> {
    let spinner = spinner(format!("ITI-18 FindDocuments for {}", query.patient));
    let found = consumer::find(ctx, &query)
        .await
        .context("cannot find the patient's imaging manifests")?;
    spinner.finish_and_clear();
    println!(
        "{} imaging manifest(s) for {} (affinity domain {})",
        found.manifests.len(),
        query.patient,
        found.affinity_patient
    );
    for m in &found.manifests {
        println!(
            "  {}  {}  {:<6} {}",
            m.service_start_time.as_deref().unwrap_or("-"),
            m.unique_id,
            m.modalities.join(","),
            m.title.as_deref().unwrap_or("")
        );
        println!("      entryUUID {}", m.entry_uuid);
    }
    Ok(())
}

/// `hie show ENTRY`.
pub async fn show(ctx: &ConsumerContext, entry: &str) -> anyhow::Result<()> {
    let spinner = spinner(format!("ITI-18 + ITI-43 manifest {entry}"));
    let view = consumer::show(ctx, entry)
        .await
        .with_context(|| format!("cannot read manifest {entry}"))?;
    spinner.finish_and_clear();
    let m = &view.manifest;
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    println!(
        "manifest {} ({})",
        view.entry.unique_id, view.entry.entry_uuid
    );
    println!("  patient           {}", or_dash(&view.entry.patient_id));
    println!("  study             {}", m.study_instance_uid);
    println!(
        "  date              {} {}",
        or_dash(&m.study_date),
        m.study_time.as_deref().unwrap_or("")
    );
    println!("  description       {}", or_dash(&m.description));
    println!("  accession         {}", or_dash(&m.accession_number));
    println!("  modalities        {}", view.entry.modalities.join(", "));
    println!("  institution       {}", or_dash(&m.institution_name));
    println!("  series / images   {} / {}", m.series_count, m.image_count);
    println!(
        "  retrieve location {}",
        m.retrieve_location_uids.join(", ")
    );
    for s in &m.series {
        println!(
            "    series {}  {} image(s)  at {}",
            s.series_instance_uid,
            s.image_count,
            s.retrieve_location_uid.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

/// `hie retrieve ENTRY --to DIR [--wado-rs]`.
pub async fn retrieve(
    mut ctx: ConsumerContext,
    entry: &str,
    to: &Path,
    wado_rs: bool,
) -> anyhow::Result<()> {
    if wado_rs {
        ctx.config.retrieve_protocol = RetrieveProtocol::WadoRs;
    }
    let started = Instant::now();
    let progress = BarProgress::new();
    let report = consumer::retrieve_entry(&ctx, entry, to, &progress)
        .await
        .with_context(|| format!("cannot retrieve manifest {entry}"))?;
    progress.bar.finish_and_clear();
    let bytes = progress.bytes.load(Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "summary: {} instance(s) in {}: {} fetched ({:.1} MB, {:.1} MB/s), {} already present, {} missing, in {:.2} s",
        report.instances.len(),
        report.dir.display(),
        report.fetched,
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / seconds.max(1e-3),
        report.already_present,
        report.missing.len(),
        seconds
    );
    for missing in &report.missing {
        println!(
            "  missing {} (series {}): {}",
            missing.sop_instance_uid, missing.series_uid, missing.reason
        );
    }
    if !report.is_complete() {
        bail!(
            "{} of {} instance(s) missing; the others are kept: run the same command again to \
             fetch only the missing ones",
            report.missing.len(),
            report.missing.len() + report.instances.len()
        );
    }
    Ok(())
}

/// A progress bar counting instances written.
struct BarProgress {
    bar: ProgressBar,
    bytes: AtomicU64,
}

impl BarProgress {
    fn new() -> Self {
        let bar = ProgressBar::new(0).with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} instances, {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        BarProgress {
            bar,
            bytes: AtomicU64::new(0),
        }
    }
}

impl Progress for BarProgress {
    fn start(&self, to_fetch: usize, already_present: usize) {
        self.bar.set_length(to_fetch as u64);
        self.bar.set_message(if already_present > 0 {
            format!("retrieving ({already_present} already present)")
        } else {
            "retrieving".to_owned()
        });
    }

    fn instance_written(&self, _instance: &RetrievedInstance, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.bar.inc(1);
    }
}
