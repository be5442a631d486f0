//! Import of outside studies into the local PACS with IHE Import Reconciliation (RAD IRWF.b):
//! every instance's header is reconciled to the local patient and accession ([`rules`]), its
//! pixel data copied byte for byte ([`part10`]), and the result stored by STOW-RS ([`stow`]).
//! UIDs are kept unless the local PACS already holds the Study Instance UID for another
//! patient (QIDO-RS), in which case the study, its series and instances get new 2.25 UIDs,
//! consistently across the import. Each instance is reported stored or failed. [`entry`]
//! retrieves a study through the Imaging Document Consumer first; [`http`] is its JSON route.

pub mod entry;
pub mod http;
pub mod local_patient;
pub mod part10;
pub mod rules;
pub mod stow;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use tracing::Instrument;

use crate::cd::read_header;
use crate::dicomweb::{DicomWebClient, DicomWebError};
use crate::study::new_uid;
pub use local_patient::{LocalPatientError, OperatorPatient};
use part10::SplitInstance;
pub use rules::{AccessionRule, LocalPatient, Reconciliation};
use stow::{PreparedInstance, StoreOutcome, StowClient};

/// Default prefix of a local accession number made from the original one.
pub const DEFAULT_ACCESSION_PREFIX: &str = "OUT_";

/// How an import reconciles and sends.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// DICOMweb root of the local PACS (QIDO-RS and STOW-RS).
    pub pacs_url: String,
    pub accession: AccessionRule,
    /// Issuer (OID) of the local accession numbers; None: no issuer written.
    pub accession_issuer_oid: Option<String>,
    /// Institution Name written into instances that name none.
    pub outside_institution: String,
    /// Modifying System recorded in Original Attributes Sequence.
    pub modifying_system: String,
    /// Instances per STOW-RS request.
    pub batch_size: usize,
    /// STOW-RS requests in flight.
    pub concurrency: usize,
    /// Timeout of one PACS request.
    pub timeout: Duration,
}

impl ImportOptions {
    /// Defaults for the PACS at `pacs_url`: `OUT_` prefix, batches of 50, 2 in flight.
    pub fn new(pacs_url: impl Into<String>) -> ImportOptions {
        ImportOptions {
            pacs_url: pacs_url.into(),
            accession: AccessionRule::Prefixed(DEFAULT_ACCESSION_PREFIX.to_owned()),
            accession_issuer_oid: None,
            outside_institution: "OUTSIDE INSTITUTION".to_owned(),
            modifying_system: "HIE-IMPORT".to_owned(),
            batch_size: 50,
            concurrency: 2,
            timeout: Duration::from_secs(120),
        }
    }
}

/// Why nothing was imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    LocalPatient(#[from] LocalPatientError),
    /// The local PACS cannot be asked whether the study's UIDs are taken.
    #[error("QIDO-RS of the local PACS for study {study_uid}: {source}")]
    CollisionCheck {
        study_uid: String,
        source: DicomWebError,
    },
    #[error("invalid PACS URL: {0}")]
    Pacs(DicomWebError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// One study of the import: its UID as retrieved and as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportedStudy {
    pub original_study_uid: String,
    pub study_uid: String,
    /// True when the local PACS held this Study Instance UID for another patient.
    pub uids_replaced: bool,
}

/// An instance the local PACS acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredInstance {
    pub path: PathBuf,
    pub original_sop_instance_uid: String,
    pub sop_instance_uid: String,
}

/// An instance that was not stored, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FailedInstance {
    pub path: PathBuf,
    pub sop_instance_uid: Option<String>,
    pub reason: String,
}

/// What an import did, instance by instance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    pub pacs: String,
    pub patient: LocalPatient,
    pub studies: Vec<ImportedStudy>,
    pub stored: Vec<StoredInstance>,
    pub failed: Vec<FailedInstance>,
    /// Bytes sent in STOW-RS parts (reconciled headers + pixel data).
    pub bytes: u64,
}

impl ImportReport {
    /// Every instance stored.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }
}

/// Told as an import goes.
pub trait ImportProgress: Send + Sync {
    /// `total` instances are about to be sent.
    fn planned(&self, total: usize);
    /// `count` more instances have an outcome.
    fn advanced(&self, count: usize);
}

/// No progress display.
pub struct NoProgress;

impl ImportProgress for NoProgress {
    fn planned(&self, _: usize) {}
    fn advanced(&self, _: usize) {}
}

/// An instance file and its UIDs as read.
#[derive(Debug, Clone)]
struct Candidate {
    path: PathBuf,
    study_uid: String,
    series_uid: String,
    sop_uid: String,
}

/// Imports the Part-10 files `paths` into the local PACS as `patient`'s (RAD IRWF.b).
pub async fn import_instances(
    paths: Vec<PathBuf>,
    patient: &LocalPatient,
    options: &ImportOptions,
    progress: &dyn ImportProgress,
) -> Result<ImportReport, ImportError> {
    progress.planned(paths.len());
    import_stream(futures::stream::iter(paths), patient, options, progress).await
}

/// Imports the Part-10 files as they come (e.g. as a retrieval writes them): a study whose UID
/// is free (or the local patient's) is sent batch by batch as its instances arrive; a study
/// whose UID is held for another patient is held back until the input ends, so that its new
/// UIDs are known for every instance and every reference.
pub async fn import_stream(
    paths: impl futures::Stream<Item = PathBuf> + Unpin,
    patient: &LocalPatient,
    options: &ImportOptions,
    progress: &dyn ImportProgress,
) -> Result<ImportReport, ImportError> {
    let span = tracing::info_span!("import-reconciliation", pacs = %options.pacs_url, patient = %patient.id);
    run(paths, patient, options, progress)
        .instrument(span)
        .await
}

/// The batches being sent, at most `concurrency` at once.
struct Sending {
    stow: StowClient,
    concurrency: usize,
    in_flight: VecDeque<tokio::task::JoinHandle<BatchOutcome>>,
    report: ImportReport,
}

impl Sending {
    async fn send(
        &mut self,
        batch: Vec<Candidate>,
        rules: Reconciliation,
        progress: &dyn ImportProgress,
    ) -> Result<(), ImportError> {
        if batch.is_empty() {
            return Ok(());
        }
        while self.in_flight.len() >= self.concurrency {
            self.settle_oldest(progress).await?;
        }
        let stow = self.stow.clone();
        self.in_flight.push_back(tokio::spawn(async move {
            send_batch(batch, &rules, &stow).await
        }));
        Ok(())
    }

    async fn settle_oldest(&mut self, progress: &dyn ImportProgress) -> Result<(), ImportError> {
        if let Some(task) = self.in_flight.pop_front() {
            let outcome = task
                .await
                .map_err(|e| ImportError::Internal(e.to_string()))?;
            progress.advanced(outcome.stored.len() + outcome.failed.len());
            self.report.bytes += outcome.bytes;
            self.report.stored.extend(outcome.stored);
            self.report.failed.extend(outcome.failed);
        }
        Ok(())
    }
}

async fn run(
    mut paths: impl futures::Stream<Item = PathBuf> + Unpin,
    patient: &LocalPatient,
    options: &ImportOptions,
    progress: &dyn ImportProgress,
) -> Result<ImportReport, ImportError> {
    let qido = DicomWebClient::new(&options.pacs_url).map_err(ImportError::Pacs)?;
    let rules = Reconciliation {
        patient: patient.clone(),
        accession: options.accession.clone(),
        accession_issuer_oid: options.accession_issuer_oid.clone(),
        outside_institution: options.outside_institution.clone(),
        modifying_system: options.modifying_system.clone(),
        modified_at: now_dt(),
        uid_map: HashMap::new(),
    };
    let mut sending = Sending {
        stow: StowClient::new(&options.pacs_url, options.timeout),
        concurrency: options.concurrency.max(1),
        in_flight: VecDeque::new(),
        report: ImportReport {
            pacs: options.pacs_url.clone(),
            patient: patient.clone(),
            studies: Vec::new(),
            stored: Vec::new(),
            failed: Vec::new(),
            bytes: 0,
        },
    };
    let mut collides: HashMap<String, bool> = HashMap::new();
    let mut held = Vec::new();
    let mut batch = Vec::new();
    while let Some(path) = paths.next().await {
        let candidate = match tokio::task::spawn_blocking(move || read_candidate(path))
            .await
            .map_err(|e| ImportError::Internal(e.to_string()))?
        {
            Ok(candidate) => candidate,
            Err(failed) => {
                progress.advanced(1);
                sending.report.failed.push(failed);
                continue;
            }
        };
        let study_collides = match collides.get(&candidate.study_uid) {
            Some(known) => *known,
            None => {
                let found = held_for_another_patient(&qido, &candidate.study_uid, patient).await?;
                collides.insert(candidate.study_uid.clone(), found);
                found
            }
        };
        if study_collides {
            held.push(candidate);
            continue;
        }
        batch.push(candidate);
        if batch.len() >= options.batch_size.max(1) {
            sending
                .send(std::mem::take(&mut batch), rules.clone(), progress)
                .await?;
        }
    }
    sending.send(batch, rules.clone(), progress).await?;
    let mut uid_map = HashMap::new();
    for c in &held {
        for uid in [&c.study_uid, &c.series_uid, &c.sop_uid] {
            uid_map.entry(uid.clone()).or_insert_with(new_uid);
        }
    }
    let mut renamed = rules;
    renamed.uid_map = uid_map;
    for chunk in held.chunks(options.batch_size.max(1)) {
        sending
            .send(chunk.to_vec(), renamed.clone(), progress)
            .await?;
    }
    while !sending.in_flight.is_empty() {
        sending.settle_oldest(progress).await?;
    }
    let mut studies: Vec<(String, bool)> = collides.into_iter().collect();
    studies.sort();
    sending.report.studies = studies
        .into_iter()
        .map(|(study_uid, uids_replaced)| ImportedStudy {
            study_uid: renamed
                .uid_map
                .get(&study_uid)
                .cloned()
                .unwrap_or_else(|| study_uid.clone()),
            original_study_uid: study_uid,
            uids_replaced,
        })
        .collect();
    let report = sending.report;
    tracing::info!(
        stored = report.stored.len(),
        failed = report.failed.len(),
        "import done"
    );
    Ok(report)
}

/// Reads a file's UIDs (header only); an unusable file is a failure.
fn read_candidate(path: PathBuf) -> Result<Candidate, FailedInstance> {
    match read_header(&path) {
        Ok(header) => Ok(Candidate {
            path,
            study_uid: header.study.study_instance_uid,
            series_uid: header.series.series_instance_uid,
            sop_uid: header.instance.sop_instance_uid,
        }),
        Err(problem) => Err(FailedInstance {
            path,
            sop_instance_uid: None,
            reason: format!("{:?}: {}", problem.kind, problem.detail),
        }),
    }
}

/// QIDO-RS: does the local PACS hold `study_uid` under a Patient ID other than the local one?
async fn held_for_another_patient(
    qido: &DicomWebClient,
    study_uid: &str,
    patient: &LocalPatient,
) -> Result<bool, ImportError> {
    let found = qido
        .find_studies(&[
            ("StudyInstanceUID", study_uid),
            ("includefield", "00100021"),
        ])
        .await
        .map_err(|source| ImportError::CollisionCheck {
            study_uid: study_uid.to_owned(),
            source,
        })?;
    let text = |study: &serde_json::Value, tag: &str| {
        study
            .pointer(&format!("/{tag}/Value/0"))
            .and_then(|v| v.as_str())
            .map(|s| s.trim().to_owned())
    };
    let local_issuer = patient.issuer.as_deref().or(patient.issuer_oid.as_deref());
    Ok(found.iter().any(|study| {
        let other_id = text(study, "00100020").unwrap_or_default() != patient.id;
        let other_issuer = match (text(study, "00100021"), local_issuer) {
            (Some(held), Some(local)) => held != local,
            _ => false,
        };
        other_id || other_issuer
    }))
}

struct BatchOutcome {
    stored: Vec<StoredInstance>,
    failed: Vec<FailedInstance>,
    bytes: u64,
}

/// Reconciles the instances of one batch (headers in memory, pixel data left on disk) and
/// stores them with one STOW-RS request.
async fn send_batch(
    batch: Vec<Candidate>,
    reconciliation: &Reconciliation,
    stow: &StowClient,
) -> BatchOutcome {
    let rules = reconciliation.clone();
    let paths: Vec<PathBuf> = batch.iter().map(|c| c.path.clone()).collect();
    let (prepared, mut failed) =
        match tokio::task::spawn_blocking(move || prepare(batch, &rules)).await {
            Ok(prepared) => prepared,
            Err(e) => {
                let failed = paths
                    .into_iter()
                    .map(|path| FailedInstance {
                        path,
                        sop_instance_uid: None,
                        reason: format!("reconciliation stopped: {e}"),
                    })
                    .collect();
                return BatchOutcome {
                    stored: Vec::new(),
                    failed,
                    bytes: 0,
                };
            }
        };
    let mut stored = Vec::new();
    let bytes = prepared
        .iter()
        .map(|(_, p)| p.header.len() as u64 + file_len(&p.path).saturating_sub(p.tail_offset))
        .sum();
    let origins: Vec<(Candidate, String)> = prepared
        .iter()
        .map(|(c, p)| (c.clone(), p.sop_instance_uid.clone()))
        .collect();
    let outcomes = if prepared.is_empty() {
        HashMap::new()
    } else {
        stow.store(prepared.into_iter().map(|(_, p)| p).collect())
            .await
    };
    for (candidate, sop) in origins {
        match outcomes.get(&sop) {
            Some(StoreOutcome::Stored) => stored.push(StoredInstance {
                path: candidate.path,
                original_sop_instance_uid: candidate.sop_uid,
                sop_instance_uid: sop,
            }),
            other => failed.push(FailedInstance {
                path: candidate.path,
                sop_instance_uid: Some(sop),
                reason: match other {
                    Some(StoreOutcome::Failed(reason)) => reason.clone(),
                    _ => "no outcome from the PACS".to_owned(),
                },
            }),
        }
    }
    BatchOutcome {
        stored,
        failed,
        bytes,
    }
}

fn file_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

type Prepared = (Vec<(Candidate, PreparedInstance)>, Vec<FailedInstance>);

fn prepare(batch: Vec<Candidate>, rules: &Reconciliation) -> Prepared {
    let mut prepared = Vec::with_capacity(batch.len());
    let mut failed = Vec::new();
    for candidate in batch {
        match reconcile_file(&candidate, rules) {
            Ok(instance) => prepared.push((candidate, instance)),
            Err(reason) => failed.push(FailedInstance {
                path: candidate.path,
                sop_instance_uid: Some(candidate.sop_uid),
                reason,
            }),
        }
    }
    (prepared, failed)
}

fn reconcile_file(
    candidate: &Candidate,
    rules: &Reconciliation,
) -> Result<PreparedInstance, String> {
    let mut split = SplitInstance::read(&candidate.path).map_err(|e| e.to_string())?;
    rules.apply(&mut split.header).map_err(|e| e.to_string())?;
    let header = split.encode_header().map_err(|e| e.to_string())?;
    let sop_instance_uid = rules
        .uid_map
        .get(&candidate.sop_uid)
        .cloned()
        .unwrap_or_else(|| candidate.sop_uid.clone());
    Ok(PreparedInstance {
        sop_instance_uid,
        header,
        path: split.path,
        tail_offset: split.tail_offset,
    })
}

/// Now as a DICOM DT in UTC.
fn now_dt() -> String {
    let format = time::macros::format_description!("[year][month][day][hour][minute][second]");
    let now = time::OffsetDateTime::now_utc();
    format!("{}+0000", now.format(format).unwrap_or_default())
}
