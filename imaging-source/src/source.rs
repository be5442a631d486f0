//! Where the Imaging Document Source finds the instances it serves: the local instance store
//! (C-STORE, CD imports) first, then the hospital PACS over DICOMweb. Instances are located
//! before an answer is written (so each outcome is known) and opened lazily while the answer is
//! streamed, in chunks: no instance, let alone a study, is ever held whole in memory. A study or
//! series asked for (mostly) whole comes from the PACS in one WADO-RS Retrieve Study/Series
//! answer, re-framed part by part as it arrives.

use std::collections::HashMap;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::Context;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt, stream};
use schemas::mtom::BodyStream;
use schemas::xml::Limits;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::io::ReaderStream;

use crate::dicomweb::{
    DicomWebClient, DicomWebError, InstanceCatalog, PacsPart, PacsParts, RetrieveScope,
};
use crate::instance_store::{InstanceStore, InstanceStoreError};

/// Media type of a DICOM Part-10 instance.
pub const DICOM_MEDIA_TYPE: &str = "application/dicom";
/// Size of the chunks read from the instance store.
const CHUNK_BYTES: usize = 256 * 1024;
/// PACS requests sent ahead of the one being read (hides the PACS's per-request latency).
const PACS_PREFETCH: usize = 8;
/// KiB of a PACS answer read ahead of the instance being sent, per PACS request (each its own
/// budget: a request never waits for room another holds, so none can stall the answer): with
/// [`PACS_PREFETCH`] requests, what bounds the memory of the prefetch.
const PACS_KIB_AHEAD: u32 = 4 * 1024;
/// Chunks one relayed instance's channel holds (the byte budget above is the real bound).
const PACS_CHUNKS_AHEAD: usize = 1024;
/// Length of the Part-10 preamble before the `DICM` magic code.
const PREAMBLE_BYTES: u64 = 128;

/// What the RAD-69, WADO-RS and WADO-URI endpoints serve from, shared by all connections.
pub struct ImagingSource {
    /// repositoryUniqueId (OID) of this source: the Retrieve Location UID of its manifests.
    pub repository_unique_id: String,
    /// Instances received by C-STORE or imported, looked up first.
    pub store: Arc<InstanceStore>,
    /// The hospital PACS, for the instances not in the store.
    pub pacs: Option<Arc<DicomWebClient>>,
    /// Bounds of the SOAP envelopes read.
    pub limits: Limits,
}

/// Why an instance cannot be located or read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}")]
    Store(#[from] InstanceStoreError),
    #[error("PACS: {0}")]
    Pacs(#[from] DicomWebError),
    #[error("stored instance {path} cannot be read: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    /// The PACS refused to send the instance in any of the transfer syntaxes asked for.
    #[error("the PACS does not offer it in any of {transfer_syntaxes:?}: {reason}")]
    NotOffered {
        transfer_syntaxes: Vec<String>,
        reason: String,
    },
}

/// One SOP instance by its study, series and SOP Instance UIDs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceKey {
    pub study: String,
    pub series: String,
    pub sop: String,
}

/// Where a located instance will be read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A Part-10 file of the instance store.
    Store(PathBuf),
    /// WADO-RS from the PACS; `position` is the instance's place in the PACS's order of its study.
    Pacs { position: usize },
}

/// An instance this source can serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub key: InstanceKey,
    pub origin: Origin,
    /// Transfer syntax of the bytes as held, when known (always for the store; for the PACS when
    /// its metadata gives it).
    pub transfer_syntax: Option<String>,
}

/// What was looked up while answering one request, by Study Instance UID: the PACS catalogs,
/// each read at most twice (from the client's cache, then once more from the PACS if an instance
/// asked for is not in the cached one), whether the instance store has a folder for the study
/// (looked at once: a study it has none for has no stored instance to look for), and the PACS's
/// failure to give a catalog (not asked again in the same request: every instance of the study
/// gets that error at once rather than after a timeout of its own).
#[derive(Debug, Default)]
pub struct PacsCatalogs {
    studies: HashMap<String, (Arc<InstanceCatalog>, bool)>,
    stored_studies: HashMap<String, bool>,
    failed: HashMap<String, DicomWebError>,
}

impl PacsCatalogs {
    fn get(&self, study_uid: &str) -> Option<&InstanceCatalog> {
        self.studies.get(study_uid).map(|(catalog, _)| &**catalog)
    }
}

/// One instance of an answer, opened: its index in the list given to
/// [`ImagingSource::open_all`] and its bytes, or why the PACS cannot send it.
pub type Opened = (usize, Result<BodyStream, SourceError>);

impl ImagingSource {
    /// The store's instance, if stored, with its transfer syntax read from the file meta group.
    pub async fn stored(&self, key: &InstanceKey) -> Result<Option<Located>, SourceError> {
        self.stored_in(key, None).await
    }

    /// [`Self::stored`], the store's folder of the study looked at once per request.
    async fn stored_in(
        &self,
        key: &InstanceKey,
        catalogs: Option<&mut PacsCatalogs>,
    ) -> Result<Option<Located>, SourceError> {
        if let Some(catalogs) = catalogs {
            let has_folder = match catalogs.stored_studies.get(&key.study) {
                Some(&has_folder) => has_folder,
                None => {
                    let has_folder = match self.store.study_dir(&key.study) {
                        Ok(dir) => tokio::fs::try_exists(dir).await.unwrap_or(true),
                        Err(_) => false,
                    };
                    catalogs
                        .stored_studies
                        .insert(key.study.clone(), has_folder);
                    has_folder
                }
            };
            if !has_folder {
                return Ok(None);
            }
        }
        let path = match self.store.path(&key.study, &key.series, &key.sop) {
            Ok(path) => path,
            // A value that is not a UID names no instance of this source.
            Err(InstanceStoreError::InvalidUid { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Ok(None);
        }
        let transfer_syntax = read_transfer_syntax(path.clone()).await?;
        Ok(Some(Located {
            key: key.clone(),
            origin: Origin::Store(path),
            transfer_syntax: Some(transfer_syntax),
        }))
    }

    /// The catalog of a study's instances the PACS holds (empty without a PACS, or when the PACS
    /// does not know the study), read once per request and refreshed from the PACS at most once.
    async fn pacs_catalog<'c>(
        &self,
        study_uid: &str,
        refresh: bool,
        catalogs: &'c mut PacsCatalogs,
    ) -> Result<&'c InstanceCatalog, SourceError> {
        if let Some(failure) = catalogs.failed.get(study_uid) {
            return Err(failure.clone().into());
        }
        let known = catalogs.studies.get(study_uid).map(|(_, fresh)| *fresh);
        let asked = match (known, &self.pacs) {
            (_, None) => Ok(Some(Arc::new(InstanceCatalog::default()))),
            (None, Some(pacs)) => pacs.instance_catalog(study_uid, false).await.map(Some),
            (Some(false), Some(pacs)) if refresh => {
                pacs.instance_catalog(study_uid, true).await.map(Some)
            }
            (Some(_), Some(_)) => Ok(None),
        };
        let read = match asked {
            Ok(read) => read,
            Err(failure) => {
                catalogs
                    .failed
                    .insert(study_uid.to_owned(), failure.clone());
                return Err(failure.into());
            }
        };
        if let Some(catalog) = read {
            let fresh = refresh || self.pacs.is_none();
            catalogs
                .studies
                .insert(study_uid.to_owned(), (catalog, fresh));
        }
        Ok(catalogs
            .get(study_uid)
            .expect("the study's catalog was just read"))
    }

    /// Locates one instance: the store first, then the PACS catalog of its study.
    pub async fn locate(
        &self,
        key: &InstanceKey,
        catalogs: &mut PacsCatalogs,
    ) -> Result<Option<Located>, SourceError> {
        if let Some(stored) = self.stored_in(key, Some(catalogs)).await? {
            return Ok(Some(stored));
        }
        if self.pacs.is_none() {
            return Ok(None);
        }
        for refresh in [false, true] {
            let catalog = self.pacs_catalog(&key.study, refresh, catalogs).await?;
            if let Some(position) = catalog.position(&key.series, &key.sop) {
                return Ok(Some(Located {
                    key: key.clone(),
                    origin: Origin::Pacs { position },
                    transfer_syntax: catalog.entries()[position].transfer_syntax.clone(),
                }));
            }
        }
        Ok(None)
    }

    /// Every instance of a study (or of one of its series): the stored ones, sorted by series
    /// and SOP Instance UID, then those only the PACS has, in the PACS's order.
    pub async fn study_instances(
        &self,
        study_uid: &str,
        series_uid: Option<&str>,
        catalogs: &mut PacsCatalogs,
    ) -> Result<Vec<Located>, SourceError> {
        let mut found: Vec<Located> = Vec::new();
        if let Ok(dir) = self.store.study_dir(study_uid) {
            for key in list_stored(dir, study_uid.to_owned(), series_uid.map(str::to_owned)).await?
            {
                if let Some(located) = self.stored(&key).await? {
                    found.push(located);
                }
            }
        }
        found.sort_by(|a, b| a.key.cmp(&b.key));
        let catalog = self.pacs_catalog(study_uid, false, catalogs).await?;
        let from_pacs: Vec<Located> = catalog
            .entries()
            .iter()
            .enumerate()
            .filter(|(_, entry)| {
                series_uid.is_none_or(|wanted| wanted == entry.series_instance_uid)
            })
            .map(|(position, entry)| Located {
                key: InstanceKey {
                    study: study_uid.to_owned(),
                    series: entry.series_instance_uid.clone(),
                    sop: entry.sop_instance_uid.clone(),
                },
                origin: Origin::Pacs { position },
                transfer_syntax: entry.transfer_syntax.clone(),
            })
            .filter(|pacs| !found.iter().any(|stored| stored.key == pacs.key))
            .collect();
        found.extend(from_pacs);
        Ok(found)
    }

    /// Opens every instance of an answer that sends them one after the other, in the order they
    /// are best sent in (returned with their index in `located`): stored instances first, each
    /// read from its file when reached; then the PACS's, in the PACS's order, fetched with as few
    /// WADO-RS requests as fit (see [`pacs_plan`]) whose multipart answers are re-framed part by
    /// part as they arrive, at most [`PACS_PREFETCH`] requests ahead of the instance being sent,
    /// each reading at most [`PACS_KIB_AHEAD`] KiB ahead of what is sent: memory stays bounded
    /// whatever the study size.
    ///
    /// An instance the PACS holds in a transfer syntax not in `accepted` (when not empty), or in
    /// one its metadata does not tell (Orthanc's never does), is asked for in the `accepted`
    /// ones, one at a time; when the PACS refuses them all, its entry is the error.
    pub async fn open_all(
        &self,
        located: &[Located],
        accepted: &[String],
        catalogs: &PacsCatalogs,
    ) -> Vec<Opened> {
        let mut opened: Vec<Opened> = Vec::with_capacity(located.len());
        let mut from_pacs: Vec<usize> = Vec::new();
        for (index, instance) in located.iter().enumerate() {
            match (&instance.origin, &self.pacs) {
                (Origin::Pacs { .. }, Some(_)) => from_pacs.push(index),
                _ => opened.push((index, Ok(self.open(instance)))),
            }
        }
        let Some(pacs) = &self.pacs else {
            return opened;
        };
        from_pacs.sort_by_key(|&index| {
            let instance = &located[index];
            let position = match instance.origin {
                Origin::Pacs { position } => position,
                Origin::Store(_) => 0,
            };
            (instance.key.study.clone(), position)
        });
        let mut jobs = Vec::new();
        let mut receivers = Vec::new();
        for mut request in pacs_plan(located, &from_pacs, accepted, catalogs) {
            let mut slots = Vec::with_capacity(request.slots.len());
            let mut bodies = Vec::with_capacity(request.slots.len());
            for index in &request.slots {
                let (sender, receiver) = tokio::sync::mpsc::channel(PACS_CHUNKS_AHEAD);
                slots.push((located[*index].key.clone(), sender));
                bodies.push((*index, receiver));
            }
            // A transcoding request is sent now, so that a refusal is known before the answer.
            let answer = match request.transfer_syntaxes.split_first() {
                None => None,
                Some((first, others)) => {
                    match ask_in_one_of(pacs, &request.scope, first, others).await {
                        Ok((syntax, parts)) => {
                            request.transfer_syntaxes = vec![syntax];
                            Some(parts)
                        }
                        Err(refused) => {
                            let reason = refused.to_string();
                            opened.extend(request.slots.iter().map(|&index| {
                                let error = if refused.pacs_unreachable() {
                                    SourceError::Pacs(refused.clone())
                                } else {
                                    SourceError::NotOffered {
                                        transfer_syntaxes: request.transfer_syntaxes.clone(),
                                        reason: reason.clone(),
                                    }
                                };
                                (index, Err(error))
                            }));
                            continue;
                        }
                    }
                }
            };
            receivers.extend(bodies);
            let budget = Arc::new(Semaphore::new(PACS_KIB_AHEAD as usize));
            jobs.push(relay(pacs.clone(), request, answer, slots, budget));
        }
        let relays = SharedRelays::new(
            stream::iter(jobs)
                .buffer_unordered(PACS_PREFETCH)
                .for_each(|()| async {})
                .boxed(),
        );
        opened.extend(
            receivers
                .into_iter()
                .map(|(index, receiver)| (index, Ok(relays.body(receiver)))),
        );
        opened
    }

    /// The instance's Part-10 bytes, opened when the stream is first polled and read in chunks.
    pub fn open(&self, located: &Located) -> BodyStream {
        match &located.origin {
            Origin::Store(path) => {
                let path = path.clone();
                stream::once(async move { tokio::fs::File::open(path).await })
                    .map_ok(|file| ReaderStream::with_capacity(file, CHUNK_BYTES))
                    .try_flatten()
                    .boxed()
            }
            Origin::Pacs { .. } => match &self.pacs {
                Some(pacs) => {
                    let pacs = pacs.clone();
                    let key = located.key.clone();
                    stream::once(async move {
                        pacs.retrieve_instance(&key.study, &key.series, &key.sop)
                            .await
                            .map_err(std::io::Error::other)
                    })
                    .map_ok(|body| body.map_err(std::io::Error::other))
                    .try_flatten()
                    .boxed()
                }
                None => stream::once(async { Err(std::io::Error::other("no PACS is configured")) })
                    .boxed(),
            },
        }
    }
}

/// One WADO-RS request to the PACS and the instances of the answer it feeds, in the PACS's order.
struct PacsRequest {
    scope: RetrieveScope,
    /// Empty: as stored.
    transfer_syntaxes: Vec<String>,
    /// Indexes (into the located instances) of the instances wanted from this answer.
    slots: Vec<usize>,
}

/// The WADO-RS requests that fetch the PACS instances `from_pacs` (indexes into `located`,
/// sorted by study and PACS order): grouped by study and by the transfer syntaxes to ask for,
/// one Retrieve Study when the group is at least half of the study, else one Retrieve Series per
/// series of which it is at least half, else one Retrieve Instance per instance (the instances
/// of a study or series answer that were not asked for are skipped, so this bounds the waste).
fn pacs_plan(
    located: &[Located],
    from_pacs: &[usize],
    accepted: &[String],
    catalogs: &PacsCatalogs,
) -> Vec<PacsRequest> {
    let asked_for = |instance: &Located| match &instance.transfer_syntax {
        Some(held) if accepted.contains(held) => Vec::new(),
        _ => accepted.to_vec(),
    };
    let mut groups: Vec<(String, Vec<String>, Vec<usize>)> = Vec::new();
    for &index in from_pacs {
        let instance = &located[index];
        let transfer_syntaxes = asked_for(instance);
        match groups
            .iter_mut()
            .find(|(study, ts, _)| *study == instance.key.study && *ts == transfer_syntaxes)
        {
            Some((_, _, slots)) => slots.push(index),
            None => groups.push((instance.key.study.clone(), transfer_syntaxes, vec![index])),
        }
    }
    let mut requests = Vec::new();
    for (study, transfer_syntaxes, slots) in groups {
        let held = |series: Option<&str>| {
            catalogs
                .get(&study)
                .map_or(usize::MAX, |catalog| catalog.count(series))
        };
        let worth_it = |wanted: usize, series: Option<&str>| {
            wanted >= 2 && wanted.saturating_mul(2) >= held(series)
        };
        if worth_it(slots.len(), None) {
            requests.push(PacsRequest {
                scope: RetrieveScope::Study {
                    study: study.clone(),
                },
                transfer_syntaxes,
                slots,
            });
            continue;
        }
        let mut series_slots: Vec<(String, Vec<usize>)> = Vec::new();
        for index in slots {
            let series = &located[index].key.series;
            match series_slots.iter_mut().find(|(uid, _)| uid == series) {
                Some((_, indexes)) => indexes.push(index),
                None => series_slots.push((series.clone(), vec![index])),
            }
        }
        for (series, indexes) in series_slots {
            if worth_it(indexes.len(), Some(&series)) {
                requests.push(PacsRequest {
                    scope: RetrieveScope::Series {
                        study: study.clone(),
                        series,
                    },
                    transfer_syntaxes: transfer_syntaxes.clone(),
                    slots: indexes,
                });
                continue;
            }
            for index in indexes {
                let key = &located[index].key;
                requests.push(PacsRequest {
                    scope: RetrieveScope::Instance {
                        study: key.study.clone(),
                        series: key.series.clone(),
                        sop: key.sop.clone(),
                    },
                    transfer_syntaxes: transfer_syntaxes.clone(),
                    slots: vec![index],
                });
            }
        }
    }
    requests
}

/// A relayed chunk with its share of the request's read-ahead budget (given back once sent on).
type BudgetedChunk = Result<(bytes::Bytes, OwnedSemaphorePermit), std::io::Error>;
type ChunkSender = tokio::sync::mpsc::Sender<BudgetedChunk>;
type ChunkReceiver = tokio::sync::mpsc::Receiver<BudgetedChunk>;

/// The answer is gone (its receiver dropped): stop fetching for it.
struct AnswerGone;

/// What became of an instance that was to be sent, when its answer is not gone: `Some` with the
/// error that ended it when the PACS cannot be reached or stopped answering
/// ([`DicomWebError::pacs_unreachable`]), else `None` (sent, or ended by another error).
type Outcome = Result<Option<DicomWebError>, AnswerGone>;

/// Asks the PACS for `scope` in each of `transfer_syntaxes` in turn (the requester's order of
/// preference), one syntax per request: a PACS may refuse an Accept of several media ranges
/// (Orthanc answers 500) although it can make one of them. The first syntax it answers in, with
/// its answer; else the last refusal, or the error of a PACS that cannot be reached or stopped
/// answering (not asked again).
async fn ask_in_one_of(
    pacs: &DicomWebClient,
    scope: &RetrieveScope,
    first: &String,
    others: &[String],
) -> Result<(String, PacsParts), DicomWebError> {
    let mut refusal = match pacs.retrieve(scope, std::slice::from_ref(first)).await {
        Ok(parts) => return Ok((first.clone(), parts)),
        Err(error) => error,
    };
    for syntax in others {
        if refusal.pacs_unreachable() {
            break;
        }
        match pacs.retrieve(scope, std::slice::from_ref(syntax)).await {
            Ok(parts) => return Ok((syntax.clone(), parts)),
            Err(error) => refusal = error,
        }
    }
    Err(refusal)
}

/// Feeds the instances of one PACS request to their channels: the parts of the WADO-RS answer
/// (`answer`, or sent now) are matched to the instances by the SOP Instance UID of their file
/// meta group; a part that is not the next instance expected is skipped, and every instance the
/// answer did not deliver in order is then fetched alone. Stops when the answer is gone.
async fn relay(
    pacs: Arc<DicomWebClient>,
    request: PacsRequest,
    answer: Option<PacsParts>,
    slots: Vec<(InstanceKey, ChunkSender)>,
    budget: Arc<Semaphore>,
) {
    let answer = match answer {
        Some(answer) => Ok(answer),
        None => {
            pacs.retrieve(&request.scope, &request.transfer_syntaxes)
                .await
        }
    };
    // Each instance's sender is dropped once its bytes are sent: that ends its body.
    let mut slots: Vec<Option<(InstanceKey, ChunkSender)>> = slots.into_iter().map(Some).collect();
    // Set when the PACS cannot be reached or stopped answering: the instances not sent yet end
    // with that error rather than each waiting as long again for a request of its own.
    let mut unreachable = None;
    match answer {
        Ok(mut parts) => {
            let mut next = 0;
            while next < slots.len() {
                let part = match parts.next_part().await {
                    Ok(Some(part)) => part,
                    Ok(None) => break,
                    Err(error) if error.pacs_unreachable() => {
                        unreachable = Some(error);
                        break;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "PACS answer broken: fetching the rest alone");
                        break;
                    }
                };
                let Some((_, sender)) =
                    slots[next].take_if(|(key, _)| key.sop == part.sop_instance_uid)
                else {
                    tracing::debug!(instance = %part.sop_instance_uid, "PACS part skipped");
                    continue;
                };
                next += 1;
                match forward(part, &request.transfer_syntaxes, &sender, &budget).await {
                    Err(AnswerGone) => return,
                    Ok(Some(error)) => {
                        unreachable = Some(error);
                        break;
                    }
                    Ok(None) => {}
                }
            }
        }
        Err(error) if error.pacs_unreachable() => unreachable = Some(error),
        Err(error) => {
            tracing::warn!(%error, "PACS retrieve failed: fetching each instance alone");
        }
    }
    for (key, sender) in slots.into_iter().flatten() {
        let outcome = match &unreachable {
            Some(error) => broken(&sender, &key.sop, error).await,
            None => fetch_alone(&pacs, &key, &request.transfer_syntaxes, &sender, &budget).await,
        };
        match outcome {
            Err(AnswerGone) => return,
            Ok(Some(error)) => unreachable = Some(error),
            Ok(None) => {}
        }
    }
}

/// Fetches one instance with Retrieve Instance into its channel.
async fn fetch_alone(
    pacs: &DicomWebClient,
    key: &InstanceKey,
    transfer_syntaxes: &[String],
    sender: &ChunkSender,
    budget: &Arc<Semaphore>,
) -> Outcome {
    let scope = RetrieveScope::Instance {
        study: key.study.clone(),
        series: key.series.clone(),
        sop: key.sop.clone(),
    };
    let mut parts = match pacs.retrieve(&scope, transfer_syntaxes).await {
        Ok(parts) => parts,
        Err(error) => return broken(sender, &key.sop, &error).await,
    };
    let url = parts.url().to_owned();
    let part = parts.next_part().await.and_then(|part| {
        part.ok_or(DicomWebError::Multipart {
            url,
            reason: "no part".to_owned(),
        })
    });
    match part {
        Ok(part) if part.sop_instance_uid == key.sop => {
            forward(part, transfer_syntaxes, sender, budget).await
        }
        Ok(part) => fail(
            sender,
            format!(
                "the PACS answered instance {} for instance {}",
                part.sop_instance_uid, key.sop
            ),
        )
        .await
        .map(|()| None),
        Err(error) => broken(sender, &key.sop, &error).await,
    }
}

/// Ends an instance's body with the error of the PACS retrieve that was to send it.
async fn broken(sender: &ChunkSender, sop: &str, error: &DicomWebError) -> Outcome {
    tracing::error!(%error, instance = %sop, "PACS retrieve failed mid-answer");
    fail(sender, error.to_string()).await?;
    Ok(error.pacs_unreachable().then(|| error.clone()))
}

/// Copies one part into its channel, each chunk once its bytes fit in the read-ahead `budget`,
/// checking that a transcoded part is in a syntax asked for.
async fn forward(
    mut part: PacsPart<'_>,
    transfer_syntaxes: &[String],
    sender: &ChunkSender,
    budget: &Arc<Semaphore>,
) -> Outcome {
    if !transfer_syntaxes.is_empty() && !transfer_syntaxes.contains(&part.transfer_syntax) {
        return fail(
            sender,
            format!(
                "the PACS sent instance {} in {}, not in any of {transfer_syntaxes:?}",
                part.sop_instance_uid, part.transfer_syntax
            ),
        )
        .await
        .map(|()| None);
    }
    loop {
        match part.chunk().await {
            Ok(Some(chunk)) => {
                let kib = u32::try_from(chunk.len().div_ceil(1024))
                    .unwrap_or(u32::MAX)
                    .clamp(1, PACS_KIB_AHEAD);
                let share = Arc::clone(budget)
                    .acquire_many_owned(kib)
                    .await
                    .map_err(|_| AnswerGone)?;
                sender
                    .send(Ok((chunk, share)))
                    .await
                    .map_err(|_| AnswerGone)?;
            }
            Ok(None) => return Ok(None),
            Err(error) => return broken(sender, &part.sop_instance_uid, &error).await,
        }
    }
}

/// Ends an instance's body with an error (which aborts the answer being written).
async fn fail(sender: &ChunkSender, reason: String) -> Result<(), AnswerGone> {
    sender
        .send(Err(std::io::Error::other(reason)))
        .await
        .map_err(|_| AnswerGone)
}

/// The PACS requests of one answer (their [`relay`]s), run by the bodies of the answer's
/// instances rather than by a task of their own: each body, when polled, first lets them run,
/// then takes its next chunk. The answer's writer (the HTTP connection's task) thus reads the
/// PACS answers itself, and a chunk goes from the PACS connection to the consumer's with no
/// wake-up of another task (let alone of another thread). They stop when the last body is
/// dropped (the answer is gone).
#[derive(Clone)]
struct SharedRelays {
    /// `None` once every relay has ended.
    relays: Arc<std::sync::Mutex<Option<BoxFuture<'static, ()>>>>,
}

impl SharedRelays {
    fn new(relays: BoxFuture<'static, ()>) -> Self {
        SharedRelays {
            relays: Arc::new(std::sync::Mutex::new(Some(relays))),
        }
    }

    /// Lets the relays run until they wait (for the PACS, or for room in their budget).
    fn run(&self, cx: &mut Context<'_>) {
        // Only the bodies of one answer share the lock, and that answer polls one at a time.
        let Ok(mut relays) = self.relays.lock() else {
            return;
        };
        if let Some(running) = relays.as_mut()
            && running.as_mut().poll(cx).is_ready()
        {
            *relays = None;
        }
    }

    /// An instance's body: its channel, the relays run before each chunk is taken; a chunk's
    /// budget share is given back as it is taken.
    fn body(&self, mut receiver: ChunkReceiver) -> BodyStream {
        let relays = self.clone();
        stream::poll_fn(move |cx| {
            relays.run(cx);
            receiver
                .poll_recv(cx)
                .map(|item| item.map(|chunk| chunk.map(|(bytes, _share)| bytes)))
        })
        .boxed()
    }
}

/// The transfer syntax UID in a Part-10 file's meta group (read without the data set).
async fn read_transfer_syntax(path: PathBuf) -> Result<String, SourceError> {
    let unreadable = |path: &Path, reason: String| SourceError::Unreadable {
        path: path.to_path_buf(),
        reason,
    };
    let task_path = path.clone();
    tokio::task::spawn_blocking(move || {
        let file =
            std::fs::File::open(&task_path).map_err(|e| unreadable(&task_path, e.to_string()))?;
        let mut reader = BufReader::new(file);
        std::io::copy(
            &mut (&mut reader).take(PREAMBLE_BYTES),
            &mut std::io::sink(),
        )
        .map_err(|e| unreadable(&task_path, e.to_string()))?;
        let meta = dicom_object::meta::FileMetaTable::from_reader(reader)
            .map_err(|e| unreadable(&task_path, e.to_string()))?;
        Ok(meta.transfer_syntax().to_owned())
    })
    .await
    .map_err(|e| unreadable(&path, e.to_string()))?
}

/// The stored instances under a study folder (`{series}/{sop}.dcm`), of one series if given.
async fn list_stored(
    dir: PathBuf,
    study: String,
    series_filter: Option<String>,
) -> Result<Vec<InstanceKey>, SourceError> {
    let unreadable = |path: &Path, e: std::io::Error| SourceError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut keys = Vec::new();
    let mut series_dirs = match tokio::fs::read_dir(&dir).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(keys),
        Err(e) => return Err(unreadable(&dir, e)),
    };
    while let Some(series) = series_dirs
        .next_entry()
        .await
        .map_err(|e| unreadable(&dir, e))?
    {
        let Some(series_uid) = series.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if series_filter
            .as_ref()
            .is_some_and(|wanted| *wanted != series_uid)
        {
            continue;
        }
        let series_path = series.path();
        if !series_path.is_dir() {
            continue;
        }
        let mut files = tokio::fs::read_dir(&series_path)
            .await
            .map_err(|e| unreadable(&series_path, e))?;
        while let Some(file) = files
            .next_entry()
            .await
            .map_err(|e| unreadable(&series_path, e))?
        {
            let name = file.file_name();
            let Some(sop) = name.to_str().and_then(|n| n.strip_suffix(".dcm")) else {
                continue;
            };
            keys.push(InstanceKey {
                study: study.clone(),
                series: series_uid.clone(),
                sop: sop.to_owned(),
            });
        }
    }
    Ok(keys)
}
