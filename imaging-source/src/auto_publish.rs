//! RAD-68 for studies pushed by C-STORE: a study the SCP announces complete (after its quiet
//! period) is read back from the instance store, its patient resolved to the affinity domain by
//! ITI-9, and its manifest published with the report the study holds, an Encapsulated PDF or a
//! textual SR (a republished study replaces its earlier manifest and report); a report that
//! cannot be read is logged and left out, the manifest is still published (no operator is there
//! to fix it, and the images are shared meanwhile).

use std::path::Path;

use tokio::sync::mpsc;

use crate::cd::{CdError, scan_folder};
use crate::config::Config;
use crate::instance_store::{InstanceStore, InstanceStoreError};
use crate::kos::AffinityPatient;
use crate::pix_client::{PixClient, PixError};
use crate::publish::{PublishContext, PublishError, Published, publish};
use crate::report::report_in_study;

/// Where and as whom the studies received by C-STORE are published.
#[derive(Debug, Clone)]
pub struct AutoPublish {
    /// The instance store the C-STORE SCP writes into.
    pub store: InstanceStore,
    /// The PIX Manager asked for the affinity-domain patient (ITI-9).
    pub pix: PixClient,
    /// Assigning authority (OID) of the affinity domain.
    pub affinity_domain: String,
    /// Repository, registry and codes of the publication; its patient is replaced per study.
    pub context: PublishContext,
}

impl AutoPublish {
    /// Publication as `[imaging_source]` configures it: the instance store under `data_dir`,
    /// the PIX Manager and affinity domain of `consumer`, repository and codes of `publish`;
    /// `own_wado_rs_url` (this service's `/dicomweb`) is the Retrieve URL unless
    /// `publish.retrieve_url` names another.
    pub fn from_config(config: &Config, data_dir: &Path, own_wado_rs_url: String) -> Self {
        let affinity_domain = config.consumer.affinity_domain.clone();
        let placeholder = AffinityPatient {
            id: String::new(),
            assigning_authority: affinity_domain.clone(),
        };
        let retrieve_url = config
            .publish
            .retrieve_url
            .clone()
            .or(Some(own_wado_rs_url));
        AutoPublish {
            store: InstanceStore::new(crate::server::instance_store_root(config, data_dir)),
            pix: PixClient::new(config.consumer.pix_address.clone()),
            affinity_domain,
            context: PublishContext::from_config(config, placeholder, retrieve_url),
        }
    }
}

/// Why a received study was not published.
#[derive(Debug, thiserror::Error)]
pub enum AutoPublishError {
    /// The study's folder cannot be named.
    #[error("study {study}: {source}")]
    Store {
        study: String,
        source: InstanceStoreError,
    },
    /// The study's folder cannot be read.
    #[error("study {study}: {source}")]
    Scan { study: String, source: CdError },
    /// The scanning task panicked or was cancelled.
    #[error("study {study}: the scan of its folder was aborted")]
    ScanAborted { study: String },
    /// The folder holds no readable instance of the study.
    #[error("study {study}: no readable instance in the instance store")]
    NotFound { study: String },
    /// The PIX Manager does not know the patient: nothing is published.
    #[error("study {study}: {source}")]
    Pix { study: String, source: PixError },
    /// RAD-68 / ITI-41 failed.
    #[error("study {study}: {source}")]
    Publish { study: String, source: PublishError },
}

/// RAD-68 of one study held by the instance store.
pub async fn publish_received_study(
    auto: &AutoPublish,
    study_uid: &str,
) -> Result<Published, AutoPublishError> {
    let study_name = || study_uid.to_owned();
    let dir = auto
        .store
        .study_dir(study_uid)
        .map_err(|source| AutoPublishError::Store {
            study: study_name(),
            source,
        })?;
    let scan = tokio::task::spawn_blocking(move || scan_folder(&dir))
        .await
        .map_err(|_| AutoPublishError::ScanAborted {
            study: study_name(),
        })?
        .map_err(|source| AutoPublishError::Scan {
            study: study_name(),
            source,
        })?;
    for problem in &scan.problems {
        tracing::warn!(
            study = study_uid,
            ?problem,
            "received file left out of the manifest"
        );
    }
    let (study, files) = scan
        .studies
        .into_iter()
        .find(|(study, _)| study.study_instance_uid == study_uid)
        .ok_or_else(|| AutoPublishError::NotFound {
            study: study_name(),
        })?;
    let report = match &auto.context.report {
        Some(report) => Some(report.clone()),
        None => {
            let (study, files) = (study.clone(), files);
            tokio::task::spawn_blocking(move || report_in_study(&study, &files))
                .await
                .map_err(|_| AutoPublishError::ScanAborted {
                    study: study_name(),
                })?
                .unwrap_or_else(|error| {
                    tracing::warn!(study = study_uid, %error, "report left out of the publication");
                    None
                })
        }
    };
    let issuer = study.patient.issuer.as_deref().unwrap_or_default();
    let affinity_patient = auto
        .pix
        .affinity_id(&study.patient.id, issuer, &auto.affinity_domain)
        .await
        .map_err(|source| AutoPublishError::Pix {
            study: study_name(),
            source,
        })?;
    let context = PublishContext {
        affinity_patient,
        report,
        ..auto.context.clone()
    };
    publish(&study, &context)
        .await
        .map_err(|source| AutoPublishError::Publish {
            study: study_name(),
            source,
        })
}

/// Publishes every study announced on `complete` until the channel closes; a study that cannot
/// be published is logged and stays in the instance store (served, not indexed).
pub async fn run(auto: AutoPublish, mut complete: mpsc::UnboundedReceiver<String>) {
    while let Some(study_uid) = complete.recv().await {
        match publish_received_study(&auto, &study_uid).await {
            Ok(published) => tracing::info!(
                study = %study_uid,
                manifest = %published.manifest_unique_id,
                "RAD-68 manifest of a received study published"
            ),
            Err(error) => tracing::warn!(%error, "received study not published"),
        }
    }
}
