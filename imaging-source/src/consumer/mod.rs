//! XDS-I.b Imaging Document Consumer: find the imaging manifests of a patient (ITI-18, the local
//! id translated by PIX, ITI-9), read one back (ITI-18 GetDocuments + ITI-43 + the KOS), and
//! retrieve the instances it names (RAD-69 or WADO-RS) into a folder, resumably.
//!
//! - `config`: `[imaging_source.consumer]` (registry, PIX, repository and imaging source
//!   directories).
//! - `registry`: ITI-18 FindDocuments / GetDocuments (LeafClass).
//! - `repository`: ITI-43 of the manifest from the repository its entry names.
//! - `manifest`: the KOS read back (study, series, instances, Retrieve Location UIDs).
//! - `retrieve`: RAD-69 / WADO-RS into `DIR/<study>/<series>/<sop>.dcm`, verified and resumable.
//! - `http`: the same operations as a JSON API for the console.

pub mod config;
pub mod http;
pub mod manifest;
pub mod registry;
pub mod repository;
pub mod retrieve;
mod soap_answer;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use tracing::Instrument;

use crate::pix_client::{PixClient, PixError};
use crate::publish::PublishError;

pub use config::{Config, ImagingSourceEndpoint, RetrieveProtocol};
pub use manifest::Manifest;
pub use registry::{FindQuery, Found, FoundManifest};
pub use retrieve::{MissingInstance, RetrievalReport, RetrievedInstance, retrieve_entry};

/// What every consumer operation needs: the configuration, the PIX client and an HTTP client.
#[derive(Debug, Clone)]
pub struct ConsumerContext {
    /// Registry URL, directories, protocol.
    pub config: Config,
    /// ITI-9 client of the PIX Manager.
    pub pix: PixClient,
    /// Client of the registry and repositories (`timeout_seconds` per exchange).
    pub(crate) soap_http: reqwest::Client,
    /// Client of the imaging sources (a study's retrieval may take long: no overall timeout, but
    /// a source silent for `timeout_seconds` is given up on).
    pub(crate) http: reqwest::Client,
}

impl ConsumerContext {
    /// A context for `config`.
    pub fn new(config: Config) -> Self {
        let pix = PixClient::new(config.pix_address.clone());
        let timeout = Duration::from_secs(config.timeout_seconds);
        let soap_http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap_or_default();
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            .read_timeout(timeout)
            .build()
            .unwrap_or_default();
        ConsumerContext {
            config,
            pix,
            soap_http,
            http,
        }
    }
}

/// Progress of a retrieval, shown by the command line as a progress bar.
pub trait Progress: Send + Sync {
    /// The retrieval starts: `to_fetch` instances to fetch, `already_present` kept from before.
    fn start(&self, to_fetch: usize, already_present: usize);
    /// One instance was written (`bytes` long).
    fn instance_written(&self, instance: &RetrievedInstance, bytes: u64);
}

/// A [`Progress`] that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _to_fetch: usize, _already_present: usize) {}
    fn instance_written(&self, _instance: &RetrievedInstance, _bytes: u64) {}
}

/// Why a consumer operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    /// The patient is not a CX `id^^^&oid&ISO`.
    #[error("patient {patient:?} is not an identifier of the form ID^^^&OID&ISO: {reason}")]
    InvalidPatient { patient: String, reason: String },
    /// A query parameter is malformed.
    #[error("{parameter} {value:?} is invalid: {reason}")]
    InvalidParameter {
        parameter: &'static str,
        value: String,
        reason: String,
    },
    /// ITI-9 gave no affinity-domain identifier.
    #[error("ITI-9: {0}")]
    Pix(#[from] PixError),
    /// A peer cannot be reached or answered something that is not SOAP.
    #[error("{transaction} to {url}: {reason}")]
    Unavailable {
        transaction: &'static str,
        url: String,
        reason: String,
    },
    /// A peer answered with a SOAP Fault or an unreadable message.
    #[error("{transaction} to {url}: invalid answer: {reason}")]
    InvalidAnswer {
        transaction: &'static str,
        url: String,
        reason: String,
    },
    /// The registry or repository answered Failure.
    #[error("{transaction} refused: {errors}")]
    Refused {
        transaction: &'static str,
        errors: String,
    },
    /// The registry holds no DocumentEntry with this uniqueId or entryUUID.
    #[error("no DocumentEntry {entry} in the registry")]
    UnknownEntry { entry: String },
    /// The entry is not an imaging manifest (KOS, application/dicom).
    #[error("DocumentEntry {entry} is not an imaging manifest: {reason}")]
    NotAManifest { entry: String, reason: String },
    /// The entry's repositoryUniqueId is not in the repository directory.
    #[error(
        "repositoryUniqueId {repository_unique_id} of DocumentEntry {entry} is not in the \
         repository directory ([imaging_source.consumer.repositories])"
    )]
    UnknownRepository {
        entry: String,
        repository_unique_id: String,
    },
    /// The manifest cannot be read as a KOS.
    #[error("manifest {entry} cannot be read: {reason}")]
    UnreadableManifest { entry: String, reason: String },
    /// A Retrieve Location UID of the manifest is not in the imaging source directory.
    #[error(
        "manifest {entry} names Retrieve Location UID {uid} (series {series_uid}), which is not \
         in the imaging source directory ([imaging_source.consumer.imaging_sources])"
    )]
    UnknownRetrieveLocation {
        entry: String,
        uid: String,
        series_uid: String,
    },
    /// WADO-RS is configured but the imaging source has no WADO-RS root.
    #[error(
        "retrieve_protocol is wado-rs but imaging source {uid} has no wado_rs_url in the \
         directory ([imaging_source.consumer.imaging_sources])"
    )]
    NoWadoRsEndpoint { uid: String },
    /// The destination folder cannot be written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<PublishError> for ConsumerError {
    fn from(error: PublishError) -> Self {
        match error {
            PublishError::Unavailable {
                transaction,
                url,
                reason,
            } => ConsumerError::Unavailable {
                transaction,
                url,
                reason,
            },
            PublishError::InvalidAnswer {
                transaction,
                url,
                reason,
            } => ConsumerError::InvalidAnswer {
                transaction,
                url,
                reason,
            },
            PublishError::QueryFailed { errors } => ConsumerError::Refused {
                transaction: "ITI-18",
                errors,
            },
            PublishError::Refused { errors, .. } => ConsumerError::Refused {
                transaction: "ITI-41",
                errors,
            },
            PublishError::Manifest(error) => ConsumerError::UnreadableManifest {
                entry: String::new(),
                reason: error.to_string(),
            },
        }
    }
}

/// What `show` reports of one manifest.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestView {
    /// The registry's DocumentEntry.
    pub entry: FoundManifest,
    /// The KOS read back.
    pub manifest: manifest::ManifestSummary,
}

/// ITI-18 FindDocuments: the Approved imaging manifests of a patient given by a local id
/// (translated by ITI-9) or an affinity-domain id.
pub async fn find(ctx: &ConsumerContext, query: &FindQuery) -> Result<Found, ConsumerError> {
    let span = tracing::info_span!("ITI-18", patient = %query.patient);
    registry::find_manifests(ctx, query).instrument(span).await
}

/// ITI-18 GetDocuments + ITI-43: the entry and its manifest read back.
pub async fn show(ctx: &ConsumerContext, entry: &str) -> Result<ManifestView, ConsumerError> {
    let span = tracing::info_span!("ITI-43", entry);
    async move {
        let (found, manifest) = fetch_manifest(ctx, entry).await?;
        Ok(ManifestView {
            entry: found,
            manifest: manifest.summary(),
        })
    }
    .instrument(span)
    .await
}

/// The entry (ITI-18 GetDocuments) and its manifest (ITI-43 from the repository it names).
pub async fn fetch_manifest(
    ctx: &ConsumerContext,
    entry: &str,
) -> Result<(FoundManifest, Manifest), ConsumerError> {
    let found = registry::get_manifest_entry(ctx, entry).await?;
    let bytes = repository::retrieve_manifest(ctx, &found).await?;
    let manifest = Manifest::read(&bytes).map_err(|reason| ConsumerError::UnreadableManifest {
        entry: entry.to_owned(),
        reason,
    })?;
    Ok((found, manifest))
}
