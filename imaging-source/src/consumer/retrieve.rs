//! Retrieval of the instances a manifest references (RAD-69 Retrieve Imaging Document Set, or
//! WADO-RS Retrieve Instance) into `DIR/<StudyUID>/<SeriesUID>/<SOPInstanceUID>.dcm`.
//!
//! Each instance is streamed part by part into a temporary file that is renamed once whole and
//! on disk (the instance store's stage and commit), so a file under its final name is always
//! complete and durable: a re-run fetches only the instances without one. The fsyncs of up to
//! [`COMMITS_IN_FLIGHT`] instances run while the next ones arrive (the disk flushes them
//! together instead of one journal commit per file each waited for), and each directory is
//! synced once at the end. Every instance the manifest names is accounted for: present, or
//! listed as missing with the reason.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use dicom_object::meta::FileMetaTable;
use futures::{Stream, StreamExt};
use schemas::ihe::{
    DocumentContent, DocumentRequest, RetrieveImagingDocumentSetRequest, SeriesRequest,
    StudyRequest,
};
use schemas::mtom::{MtomError, MtomReader};
use schemas::soap::action;
use serde::Serialize;
use tokio::task::JoinSet;
use tokio_util::io::StreamReader;
use tracing::Instrument;

use super::config::{ImagingSourceEndpoint, RetrieveProtocol};
use super::manifest::Manifest;
use super::soap_answer::retrieve_documents;
use super::{ConsumerContext, ConsumerError, Progress, fetch_manifest};
use crate::dicomweb::DicomWebClient;
use crate::instance_store::{ABANDONED_AFTER, InstanceStore, InstanceStoreError, Staged, sync_dir};
use crate::publish::AnswerStream;
use crate::study::is_valid_uid;

/// An instance present in the destination folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetrievedInstance {
    pub study_uid: String,
    pub series_uid: String,
    pub sop_instance_uid: String,
    pub path: PathBuf,
}

/// An instance the manifest names that is not in the destination folder, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingInstance {
    pub study_uid: String,
    pub series_uid: String,
    pub sop_instance_uid: String,
    pub reason: String,
}

/// The outcome of a retrieval: every instance of the manifest is in `instances` or `missing`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetrievalReport {
    /// The destination folder.
    pub dir: PathBuf,
    /// Every instance present now (fetched by this run or already there).
    pub instances: Vec<RetrievedInstance>,
    /// Instances fetched by this run.
    pub fetched: usize,
    /// Instances already present, not fetched again.
    pub already_present: usize,
    /// Instances not retrieved, with the reason.
    pub missing: Vec<MissingInstance>,
}

impl RetrievalReport {
    /// Every instance of the manifest is present.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Retrieve: ITI-18 GetDocuments and ITI-43 for the manifest of `entry`, then its instances
/// into `to` (see [`retrieve_manifest`]).
pub async fn retrieve_entry(
    ctx: &ConsumerContext,
    entry: &str,
    to: &Path,
    progress: &dyn Progress,
) -> Result<RetrievalReport, ConsumerError> {
    let (found, manifest) = fetch_manifest(ctx, entry).await?;
    retrieve_manifest(ctx, &found.unique_id, &manifest, to, progress).await
}

/// The instances of `manifest` into `to`: those already present are kept, the others fetched
/// from the imaging source each series' Retrieve Location UID names. A Retrieve Location UID
/// not in the directory is an error before anything is fetched; an instance the source does
/// not deliver (refused, or the source went down) is listed in `missing`.
pub async fn retrieve_manifest(
    ctx: &ConsumerContext,
    entry: &str,
    manifest: &Manifest,
    to: &Path,
    progress: &dyn Progress,
) -> Result<RetrievalReport, ConsumerError> {
    let span = tracing::info_span!("retrieve", manifest = %manifest.sop_instance_uid);
    async move {
        tokio::fs::create_dir_all(to)
            .await
            .map_err(|source| ConsumerError::Io {
                path: to.to_path_buf(),
                source,
            })?;
        if let Err(error) = InstanceStore::new(to)
            .sweep_abandoned(ABANDONED_AFTER)
            .await
        {
            tracing::warn!(%error, "cannot sweep an earlier retrieval's abandoned temporaries");
        }
        let plan = plan(ctx, entry, manifest, to).await?;
        progress.start(
            plan.to_fetch.values().map(|(_, w)| w.len()).sum(),
            plan.present.len(),
        );
        let already_present = plan.present.len();
        let mut report = RetrievalReport {
            dir: to.to_path_buf(),
            instances: plan.present,
            fetched: 0,
            already_present,
            missing: Vec::new(),
        };
        let store = InstanceStore::new(to);
        for (location, (endpoint, wanted)) in plan.to_fetch {
            let first_fetched = report.instances.len();
            let mut fetch = Fetch {
                store: &store,
                progress,
                report: &mut report,
                pending: wanted
                    .into_iter()
                    .map(|w| (w.sop_instance_uid.clone(), w))
                    .collect(),
                committing: JoinSet::new(),
                first_fetched,
            };
            match ctx.config.retrieve_protocol {
                RetrieveProtocol::Rad69 => {
                    let span = tracing::info_span!("RAD-69", source = %endpoint.rad69_url);
                    fetch
                        .rad69(ctx, &location, &endpoint)
                        .instrument(span)
                        .await;
                }
                RetrieveProtocol::WadoRs => {
                    let span = tracing::info_span!("RAD-107", source = ?endpoint.wado_rs_url);
                    fetch.wado_rs(&endpoint).instrument(span).await;
                }
            }
            fetch.settle().await;
        }
        tracing::info!(
            fetched = report.fetched,
            already_present = report.already_present,
            missing = report.missing.len(),
            "retrieval done"
        );
        Ok(report)
    }
    .instrument(span)
    .await
}

/// An instance to fetch.
#[derive(Debug, Clone)]
struct Wanted {
    study_uid: String,
    series_uid: String,
    sop_instance_uid: String,
}

impl Wanted {
    fn missing(self, reason: impl Into<String>) -> MissingInstance {
        MissingInstance {
            study_uid: self.study_uid,
            series_uid: self.series_uid,
            sop_instance_uid: self.sop_instance_uid,
            reason: reason.into(),
        }
    }
}

struct Plan {
    present: Vec<RetrievedInstance>,
    /// Retrieve Location UID → its endpoints and the instances to fetch from it.
    to_fetch: BTreeMap<String, (ImagingSourceEndpoint, Vec<Wanted>)>,
}

/// Checks every series' Retrieve Location UID against the directory and every UID's syntax,
/// and sorts the instances into present and to fetch.
async fn plan(
    ctx: &ConsumerContext,
    entry: &str,
    manifest: &Manifest,
    to: &Path,
) -> Result<Plan, ConsumerError> {
    let store = InstanceStore::new(to);
    let mut plan = Plan {
        present: Vec::new(),
        to_fetch: BTreeMap::new(),
    };
    for series in &manifest.series {
        let location = series.retrieve_location_uid.clone().unwrap_or_default();
        let Some(endpoint) = ctx.config.imaging_sources.get(&location) else {
            return Err(ConsumerError::UnknownRetrieveLocation {
                entry: entry.to_owned(),
                uid: location,
                series_uid: series.series_uid.clone(),
            });
        };
        if ctx.config.retrieve_protocol == RetrieveProtocol::WadoRs
            && endpoint.wado_rs_url.is_none()
        {
            return Err(ConsumerError::NoWadoRsEndpoint { uid: location });
        }
        for instance in &series.instances {
            let path = store
                .path(
                    &series.study_uid,
                    &series.series_uid,
                    &instance.sop_instance_uid,
                )
                .map_err(|e| ConsumerError::UnreadableManifest {
                    entry: entry.to_owned(),
                    reason: e.to_string(),
                })?;
            let present = tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_file());
            if present {
                plan.present.push(RetrievedInstance {
                    study_uid: series.study_uid.clone(),
                    series_uid: series.series_uid.clone(),
                    sop_instance_uid: instance.sop_instance_uid.clone(),
                    path,
                });
            } else {
                plan.to_fetch
                    .entry(location.clone())
                    .or_insert_with(|| (endpoint.clone(), Vec::new()))
                    .1
                    .push(Wanted {
                        study_uid: series.study_uid.clone(),
                        series_uid: series.series_uid.clone(),
                        sop_instance_uid: instance.sop_instance_uid.clone(),
                    });
            }
        }
    }
    Ok(plan)
}

/// Instances whose fsync and rename may be under way at once while the next ones arrive.
const COMMITS_IN_FLIGHT: usize = 8;

/// The transfer from one imaging source; what is left in `pending` at the end is missing.
struct Fetch<'a> {
    store: &'a InstanceStore,
    progress: &'a dyn Progress,
    report: &'a mut RetrievalReport,
    /// SOP Instance UID → instance not yet written.
    pending: HashMap<String, Wanted>,
    /// Instances written and checked, being made durable and given their final name.
    committing: JoinSet<(Wanted, u64, Result<PathBuf, InstanceStoreError>)>,
    /// Index in `report.instances` of the first instance this transfer fetched.
    first_fetched: usize,
}

impl Fetch<'_> {
    /// RAD-69: one request for every pending instance; the MTOM answer written part by part.
    async fn rad69(
        &mut self,
        ctx: &ConsumerContext,
        location: &str,
        endpoint: &ImagingSourceEndpoint,
    ) {
        let url = &endpoint.rad69_url;
        let request = rad69_request(location, self.pending.values());
        let answer = match retrieve_documents(
            &ctx.http,
            "RAD-69",
            url,
            action::RETRIEVE_IMAGING_DOCUMENT_SET,
            &request.to_xml(),
        )
        .await
        {
            Ok(answer) => answer,
            Err(error) => return self.all_missing(&error.to_string()),
        };
        let mut unplaced = Vec::new();
        for error in &answer.response.response.errors {
            let text = format!(
                "{url} answered {}: {}",
                error.error_code, error.code_context
            );
            let refused = error
                .location
                .as_deref()
                .and_then(|sop| self.pending.remove(sop));
            match refused {
                Some(wanted) => self.report.missing.push(wanted.missing(text)),
                None => unplaced.push(text),
            }
        }
        let mut by_content_id = HashMap::new();
        for document in answer.response.documents {
            match document.content {
                DocumentContent::Include { content_id } => {
                    by_content_id.insert(content_id, document.document_unique_id);
                }
                DocumentContent::Inline(_) => {
                    if let Some(wanted) = self.pending.remove(&document.document_unique_id) {
                        self.report.missing.push(wanted.missing(format!(
                            "{url} sent the instance inline instead of as an MTOM attachment"
                        )));
                    }
                }
            }
        }
        if let Some(mut reader) = answer.attachments
            && let Err(error) = self.read_parts(&mut reader, &by_content_id).await
        {
            return self.all_missing(&format!(
                "RAD-69 answer of {url} broke off mid-transfer: {error}"
            ));
        }
        if unplaced.is_empty() {
            self.all_missing(&format!("not in the RAD-69 answer of {url}"));
        } else {
            self.all_missing(&unplaced.join("; "));
        }
    }

    /// Writes each attachment named by a DocumentResponse into the folder.
    async fn read_parts(
        &mut self,
        reader: &mut MtomReader<AnswerStream>,
        by_content_id: &HashMap<String, String>,
    ) -> Result<(), FetchError> {
        while let Some(part) = reader.next_part().await? {
            let Some(sop) = part.content_id.as_ref().and_then(|c| by_content_id.get(c)) else {
                continue;
            };
            let Some(wanted) = self.pending.remove(sop) else {
                continue;
            };
            let chunks = futures::stream::unfold(&mut *reader, |r| async move {
                match r.read_chunk().await {
                    Ok(Some(chunk)) => Some((Ok(chunk), r)),
                    Ok(None) => None,
                    Err(e) => Some((Err(std::io::Error::other(e)), r)),
                }
            });
            match self.write(&wanted, chunks).await {
                Ok(()) => {}
                Err(FetchError::WrongInstance(reason)) => {
                    self.report.missing.push(wanted.missing(reason));
                }
                Err(FetchError::Store(error)) => {
                    self.report.missing.push(wanted.missing(error.to_string()));
                    return Err(FetchError::Store(error));
                }
                Err(error) => {
                    self.pending.insert(wanted.sop_instance_uid.clone(), wanted);
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    /// WADO-RS: one Retrieve Instance per pending instance.
    async fn wado_rs(&mut self, endpoint: &ImagingSourceEndpoint) {
        let root = endpoint.wado_rs_url.as_deref().unwrap_or_default();
        let client = match DicomWebClient::new(root) {
            Ok(client) => client,
            Err(error) => return self.all_missing(&error.to_string()),
        };
        let mut wanted: Vec<Wanted> = self.pending.values().cloned().collect();
        wanted.sort_by(|a, b| a.sop_instance_uid.cmp(&b.sop_instance_uid));
        for instance in wanted {
            let stream = match client
                .retrieve_instance(
                    &instance.study_uid,
                    &instance.series_uid,
                    &instance.sop_instance_uid,
                )
                .await
            {
                Ok(stream) => stream,
                Err(error) => {
                    self.pending.remove(&instance.sop_instance_uid);
                    self.report
                        .missing
                        .push(instance.missing(error.to_string()));
                    continue;
                }
            };
            let chunks = stream.map(|chunk| chunk.map_err(std::io::Error::other));
            self.pending.remove(&instance.sop_instance_uid);
            if let Err(error) = self.write(&instance, chunks).await {
                self.report
                    .missing
                    .push(instance.missing(error.to_string()));
            }
        }
    }

    /// Streams one instance into a temporary file of the folder, checks it is the instance
    /// asked for, and has it committed (fsync, rename) while the next instances arrive.
    async fn write(
        &mut self,
        wanted: &Wanted,
        chunks: impl Stream<Item = std::io::Result<bytes::Bytes>>,
    ) -> Result<(), FetchError> {
        let broke = AtomicBool::new(false);
        let chunks = chunks.inspect(|chunk| {
            if chunk.is_err() {
                broke.store(true, Ordering::Relaxed);
            }
        });
        let reader = StreamReader::new(Box::pin(chunks));
        let staged = self
            .store
            .stage(
                &wanted.study_uid,
                &wanted.series_uid,
                &wanted.sop_instance_uid,
                reader,
            )
            .await
            .map_err(|error| match error {
                // The answer broke off, not the folder.
                InstanceStoreError::Io { source, .. } if broke.load(Ordering::Relaxed) => {
                    FetchError::Transfer(source.to_string())
                }
                other => FetchError::Store(other),
            })?;
        if let Err(reason) = check_instance(&staged.temp, &wanted.sop_instance_uid).await {
            staged.discard().await;
            return Err(FetchError::WrongInstance(reason));
        }
        while self.committing.len() >= COMMITS_IN_FLIGHT {
            self.committed_one().await;
        }
        while let Some(done) = self.committing.try_join_next() {
            self.record(done);
        }
        let wanted = wanted.clone();
        self.committing.spawn(commit(staged, wanted));
        Ok(())
    }

    /// Waits for one commit under way and records it.
    async fn committed_one(&mut self) {
        if let Some(done) = self.committing.join_next().await {
            self.record(done);
        }
    }

    /// An instance committed: present (told to the progress), or missing if its fsync or
    /// rename failed.
    fn record(
        &mut self,
        done: Result<(Wanted, u64, Result<PathBuf, InstanceStoreError>), tokio::task::JoinError>,
    ) {
        match done {
            Ok((wanted, size, Ok(path))) => {
                let instance = RetrievedInstance {
                    study_uid: wanted.study_uid,
                    series_uid: wanted.series_uid,
                    sop_instance_uid: wanted.sop_instance_uid,
                    path,
                };
                self.progress.instance_written(&instance, size);
                self.report.instances.push(instance);
                self.report.fetched += 1;
            }
            Ok((wanted, _, Err(error))) => {
                self.report.missing.push(wanted.missing(error.to_string()));
            }
            Err(error) => tracing::error!(%error, "an instance's commit stopped"),
        }
    }

    /// Waits for every commit under way, then makes the new names durable (one fsync per
    /// directory); an instance whose directory cannot be synced is missing.
    async fn settle(&mut self) {
        while !self.committing.is_empty() {
            self.committed_one().await;
        }
        let fetched = &self.report.instances[self.first_fetched..];
        let dirs: BTreeSet<&Path> = fetched.iter().filter_map(|i| i.path.parent()).collect();
        let mut unsynced = HashMap::new();
        for dir in dirs {
            if let Err(error) = sync_dir(dir).await {
                unsynced.insert(dir.to_path_buf(), error.to_string());
            }
        }
        if unsynced.is_empty() {
            return;
        }
        let (kept, lost): (Vec<_>, Vec<_>) = self
            .report
            .instances
            .drain(self.first_fetched..)
            .partition(|i| {
                i.path
                    .parent()
                    .is_none_or(|dir| !unsynced.contains_key(dir))
            });
        self.report.instances.extend(kept);
        for instance in lost {
            let reason = instance
                .path
                .parent()
                .and_then(|dir| unsynced.get(dir))
                .cloned()
                .unwrap_or_default();
            self.report.fetched -= 1;
            self.report.missing.push(MissingInstance {
                study_uid: instance.study_uid,
                series_uid: instance.series_uid,
                sop_instance_uid: instance.sop_instance_uid,
                reason,
            });
        }
    }

    /// Every instance still pending is missing for `reason`.
    fn all_missing(&mut self, reason: &str) {
        let mut left: Vec<Wanted> = self.pending.drain().map(|(_, w)| w).collect();
        left.sort_by(|a, b| a.sop_instance_uid.cmp(&b.sop_instance_uid));
        self.report
            .missing
            .extend(left.into_iter().map(|w| w.missing(reason)));
    }
}

/// Commits a staged instance (fsync, rename), keeping what the report needs.
async fn commit(
    staged: Staged,
    wanted: Wanted,
) -> (Wanted, u64, Result<PathBuf, InstanceStoreError>) {
    let size = staged.size;
    (wanted, size, staged.commit().await)
}

/// Why an instance was not written.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    /// The answer broke off (the source went down, a malformed MTOM body).
    #[error("{0}")]
    Transfer(String),
    /// The MTOM body cannot be read.
    #[error("{0}")]
    Mtom(#[from] MtomError),
    /// The destination folder cannot be written.
    #[error("{0}")]
    Store(InstanceStoreError),
    /// The bytes received are not the instance asked for.
    #[error("{0}")]
    WrongInstance(String),
}

/// The RAD-69 request for `wanted`, grouped by study and series; every transfer syntax is
/// accepted (the consumer stores what the source holds).
fn rad69_request<'a>(
    location: &str,
    wanted: impl Iterator<Item = &'a Wanted>,
) -> RetrieveImagingDocumentSetRequest {
    let mut studies: BTreeMap<&str, BTreeMap<&str, Vec<DocumentRequest>>> = BTreeMap::new();
    for w in wanted {
        studies
            .entry(&w.study_uid)
            .or_default()
            .entry(&w.series_uid)
            .or_default()
            .push(DocumentRequest {
                home_community_id: None,
                repository_unique_id: location.to_owned(),
                document_unique_id: w.sop_instance_uid.clone(),
            });
    }
    RetrieveImagingDocumentSetRequest {
        studies: studies
            .into_iter()
            .map(|(study, series)| StudyRequest {
                study_instance_uid: study.to_owned(),
                series: series
                    .into_iter()
                    .map(|(series, documents)| SeriesRequest {
                        series_instance_uid: series.to_owned(),
                        documents,
                    })
                    .collect(),
            })
            .collect(),
        transfer_syntax_uids: ACCEPTED_TRANSFER_SYNTAXES
            .iter()
            .map(|ts| (*ts).to_owned())
            .collect(),
    }
}

/// Transfer syntaxes named in RAD-69 requests: the uncompressed ones and the common encapsulated
/// ones (PS3.5 Annex A); the instances are stored as received.
const ACCEPTED_TRANSFER_SYNTAXES: &[&str] = &[
    "1.2.840.10008.1.2.1",     // Explicit VR Little Endian
    "1.2.840.10008.1.2",       // Implicit VR Little Endian
    "1.2.840.10008.1.2.1.99",  // Deflated Explicit VR Little Endian
    "1.2.840.10008.1.2.2",     // Explicit VR Big Endian (retired)
    "1.2.840.10008.1.2.4.50",  // JPEG Baseline
    "1.2.840.10008.1.2.4.51",  // JPEG Extended
    "1.2.840.10008.1.2.4.57",  // JPEG Lossless
    "1.2.840.10008.1.2.4.70",  // JPEG Lossless SV1
    "1.2.840.10008.1.2.4.80",  // JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81",  // JPEG-LS Near-Lossless
    "1.2.840.10008.1.2.4.90",  // JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91",  // JPEG 2000
    "1.2.840.10008.1.2.4.201", // HTJ2K Lossless
    "1.2.840.10008.1.2.4.203", // HTJ2K
    "1.2.840.10008.1.2.5",     // RLE Lossless
    "1.2.840.10008.1.2.4.100", // MPEG2 Main Profile
    "1.2.840.10008.1.2.4.102", // MPEG-4 AVC/H.264
];

/// The file is a Part-10 object whose Media Storage SOP Instance UID is `sop`.
async fn check_instance(path: &Path, sop: &str) -> Result<(), String> {
    let file = path.to_path_buf();
    let head = tokio::task::spawn_blocking(move || {
        let mut head = Vec::with_capacity(16 * 1024);
        std::fs::File::open(&file)
            .and_then(|f| f.take(64 * 1024).read_to_end(&mut head))
            .map(|_| head)
            .map_err(|e| format!("{}: {e}", file.display()))
    })
    .await
    .map_err(|e| e.to_string())??;
    let meta = head
        .get(128..)
        .ok_or_else(|| "received bytes are not a DICOM Part-10 file".to_owned())
        .and_then(|rest| {
            FileMetaTable::from_reader(rest)
                .map_err(|e| format!("received bytes are not a DICOM Part-10 file: {e}"))
        })?;
    let received = meta
        .media_storage_sop_instance_uid()
        .trim_end_matches(['\0', ' ']);
    if received == sop && is_valid_uid(received) {
        Ok(())
    } else {
        Err(format!(
            "received instance {received:?} instead of the one asked for"
        ))
    }
}
