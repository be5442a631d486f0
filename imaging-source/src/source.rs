//! Where the Imaging Document Source finds the instances it serves: the local instance store
//! (C-STORE, CD imports) first, then the hospital PACS over DICOMweb. Instances are located
//! before an answer is written (so each outcome is known) and opened lazily while the answer is
//! streamed, in chunks: no instance, let alone a study, is ever held whole in memory.

use std::collections::HashMap;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt, stream};
use schemas::mtom::BodyStream;
use schemas::xml::Limits;
use tokio_util::io::ReaderStream;

use crate::dicomweb::{DicomWebClient, DicomWebError};
use crate::instance_store::{InstanceStore, InstanceStoreError};

/// Media type of a DICOM Part-10 instance.
pub const DICOM_MEDIA_TYPE: &str = "application/dicom";
/// Size of the chunks read from the instance store.
const CHUNK_BYTES: usize = 256 * 1024;
/// PACS instances fetched ahead of the one being sent (hides the PACS's per-request latency).
const PACS_PREFETCH: usize = 8;
/// Chunks buffered per prefetched PACS instance: what bounds the memory of a prefetch.
const PACS_CHUNKS_AHEAD: usize = 8;
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
    /// WADO-RS from the PACS.
    Pacs,
}

/// An instance this source can serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub key: InstanceKey,
    pub origin: Origin,
    /// Transfer syntax of the bytes that will be served, when known (always for the store; for
    /// the PACS when its metadata gives it).
    pub transfer_syntax: Option<String>,
}

/// The PACS instances of one study: (series, SOP) → transfer syntax when known.
pub type PacsCatalog = HashMap<(String, String), Option<String>>;

impl ImagingSource {
    /// The store's instance, if stored, with its transfer syntax read from the file meta group.
    pub async fn stored(&self, key: &InstanceKey) -> Result<Option<Located>, SourceError> {
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

    /// The instances of a study the PACS holds (empty without a PACS, or when the PACS does not
    /// know the study).
    pub async fn pacs_catalog(&self, study_uid: &str) -> Result<PacsCatalog, SourceError> {
        let Some(pacs) = &self.pacs else {
            return Ok(PacsCatalog::new());
        };
        match pacs.study(study_uid).await {
            Ok(study) => Ok(study
                .series
                .into_iter()
                .flat_map(|series| {
                    let series_uid = series.series_instance_uid;
                    series.instances.into_iter().map(move |instance| {
                        (
                            (series_uid.clone(), instance.sop_instance_uid),
                            instance.transfer_syntax_uid,
                        )
                    })
                })
                .collect()),
            Err(DicomWebError::Status { status: 404, .. }) => Ok(PacsCatalog::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// Locates one instance: the store first, then the PACS catalog of its study (fetched once
    /// per study into `catalogs`).
    pub async fn locate(
        &self,
        key: &InstanceKey,
        catalogs: &mut HashMap<String, PacsCatalog>,
    ) -> Result<Option<Located>, SourceError> {
        if let Some(stored) = self.stored(key).await? {
            return Ok(Some(stored));
        }
        if self.pacs.is_none() {
            return Ok(None);
        }
        if !catalogs.contains_key(&key.study) {
            let catalog = self.pacs_catalog(&key.study).await?;
            catalogs.insert(key.study.clone(), catalog);
        }
        Ok(catalogs
            .get(&key.study)
            .and_then(|catalog| catalog.get(&(key.series.clone(), key.sop.clone())))
            .map(|transfer_syntax| Located {
                key: key.clone(),
                origin: Origin::Pacs,
                transfer_syntax: transfer_syntax.clone(),
            }))
    }

    /// Every instance of a study (or of one of its series): the stored ones, then those only the
    /// PACS has, sorted by series and SOP Instance UID.
    pub async fn study_instances(
        &self,
        study_uid: &str,
        series_uid: Option<&str>,
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
        let mut from_pacs: Vec<Located> = self
            .pacs_catalog(study_uid)
            .await?
            .into_iter()
            .filter(|((series, _), _)| series_uid.is_none_or(|wanted| wanted == series))
            .map(|((series, sop), transfer_syntax)| Located {
                key: InstanceKey {
                    study: study_uid.to_owned(),
                    series,
                    sop,
                },
                origin: Origin::Pacs,
                transfer_syntax,
            })
            .filter(|pacs| !found.iter().any(|stored| stored.key == pacs.key))
            .collect();
        found.append(&mut from_pacs);
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }

    /// The Part-10 bytes of each instance, in order, for an answer that sends them one after
    /// the other: stored instances are opened when first polled; PACS instances are fetched
    /// [`PACS_PREFETCH`] at a time ahead of the one being sent, each through a channel of
    /// [`PACS_CHUNKS_AHEAD`] chunks (so memory stays bounded whatever the study size). The
    /// prefetch stops when the answer is dropped.
    pub fn open_all(&self, located: &[Located]) -> Vec<BodyStream> {
        let mut bodies = Vec::with_capacity(located.len());
        let mut fetches = Vec::new();
        for instance in located {
            match (&instance.origin, &self.pacs) {
                (Origin::Pacs, Some(pacs)) => {
                    let (sender, receiver) = tokio::sync::mpsc::channel(PACS_CHUNKS_AHEAD);
                    fetches.push((pacs.clone(), instance.key.clone(), sender));
                    bodies.push(tokio_stream_from(receiver));
                }
                _ => bodies.push(self.open(instance)),
            }
        }
        if !fetches.is_empty() {
            tokio::spawn(
                stream::iter(fetches)
                    .map(|(pacs, key, sender)| forward_from_pacs(pacs, key, sender))
                    .buffer_unordered(PACS_PREFETCH)
                    .for_each(|()| async {}),
            );
        }
        bodies
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
            Origin::Pacs => match &self.pacs {
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

type ChunkSender = tokio::sync::mpsc::Sender<Result<bytes::Bytes, std::io::Error>>;

/// Copies one PACS instance into its channel; gives up when the receiving answer is gone.
async fn forward_from_pacs(pacs: Arc<DicomWebClient>, key: InstanceKey, sender: ChunkSender) {
    let mut body = match pacs
        .retrieve_instance(&key.study, &key.series, &key.sop)
        .await
    {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%error, instance = %key.sop, "PACS retrieve failed mid-answer");
            let _ = sender.send(Err(std::io::Error::other(error))).await;
            return;
        }
    };
    while let Some(chunk) = body.next().await {
        let failed = chunk.is_err();
        if sender
            .send(chunk.map_err(std::io::Error::other))
            .await
            .is_err()
            || failed
        {
            return;
        }
    }
}

/// A channel receiver as a body stream.
fn tokio_stream_from(
    mut receiver: tokio::sync::mpsc::Receiver<Result<bytes::Bytes, std::io::Error>>,
) -> BodyStream {
    stream::poll_fn(move |cx| receiver.poll_recv(cx)).boxed()
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
