//! Starting the repository: document store and index (sweeping what a previous process left
//! half done), then the SOAP endpoint.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use schemas::xml::Limits;
use service_kit::http;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::Repository;
use crate::config::{Config, StorageKind};
use crate::direct_upload;
use crate::recovery;
use crate::registry_client::RegistryClient;
use crate::service;
use crate::storage::{
    DocumentIndex, DocumentStore, FileStore, IndexError, S3Store, StorageError, StoreError,
    now_millis, sweep_pending,
};

/// Name of the service in logs and metrics.
pub const SERVICE: &str = "repository";

/// Why the repository could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("repository storage: {0}")]
    Storage(#[from] StorageError),
    #[error("{0}")]
    Listen(#[from] std::io::Error),
}

impl From<StoreError> for StartError {
    fn from(e: StoreError) -> Self {
        StartError::Storage(e.into())
    }
}

impl From<IndexError> for StartError {
    fn from(e: IndexError) -> Self {
        StartError::Storage(e.into())
    }
}

/// A started repository: where it listens, its state, and its tasks (they end after shutdown).
pub struct RunningRepository {
    pub http_addr: SocketAddr,
    pub repository: Arc<Repository>,
    pub tasks: JoinSet<()>,
}

impl RunningRepository {
    /// The SOAP endpoint URL (ITI-41, ITI-43).
    pub fn endpoint_url(&self) -> String {
        format!("http://{}{}", self.http_addr, service::ENDPOINT_PATH)
    }
}

/// The folder of the file store: the configured one, or `<data_dir>/documents`.
pub fn storage_root(config: &Config, data_dir: &Path) -> PathBuf {
    config
        .storage_root
        .clone()
        .unwrap_or_else(|| data_dir.join("documents"))
}

/// The index file: the configured one, or `<data_dir>/repository.db`.
pub fn index_path(config: &Config, data_dir: &Path) -> PathBuf {
    config
        .index_path
        .clone()
        .unwrap_or_else(|| data_dir.join("repository.db"))
}

/// Starts the repository on the configured document store (`[repository] storage`).
pub async fn start(
    config: &Config,
    default_bind: IpAddr,
    data_dir: &Path,
    shutdown: CancellationToken,
) -> Result<RunningRepository, StartError> {
    let store: Arc<dyn DocumentStore> = match config.storage {
        StorageKind::File => Arc::new(FileStore::open(storage_root(config, data_dir)).await?),
        StorageKind::S3 => Arc::new(S3Store::open(&config.s3)?),
    };
    start_with_store(config, default_bind, data_dir, store, shutdown).await
}

/// Starts the repository on `store`: opens the index, sweeps what a previous process left half
/// done, binds the port (failing before anything is served when it is taken), serves until
/// `shutdown` is cancelled, and meanwhile asks the registry about the documents a previous
/// process left pending after offering them (see [`recovery`]).
pub async fn start_with_store(
    config: &Config,
    default_bind: IpAddr,
    data_dir: &Path,
    store: Arc<dyn DocumentStore>,
    shutdown: CancellationToken,
) -> Result<RunningRepository, StartError> {
    let started_at = now_millis();
    if let Some(parent) = index_path(config, data_dir).parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    let index = DocumentIndex::open(&index_path(config, data_dir)).await?;
    sweep_pending(store.as_ref(), &index, started_at).await?;
    let bind = config.bind_address.unwrap_or(default_bind);
    let listener = http::bind(SERVICE, SocketAddr::new(bind, config.http_port)).await?;
    let http_addr = listener.local_addr()?;
    let limits = Limits {
        max_bytes: config.max_envelope_bytes,
        max_depth: config.max_xml_depth,
    };
    let repository = Arc::new(Repository {
        store,
        index,
        repository_unique_id: config.repository_unique_id.clone(),
        registry: RegistryClient::new(
            config.registry_url.clone(),
            Duration::from_secs(config.registry_timeout_seconds),
            limits,
        ),
        limits,
    });
    let mut tasks = JoinSet::new();
    let recovering = repository.clone();
    let interval = Duration::from_secs(config.recovery_interval_seconds.max(1));
    let recovery_shutdown = shutdown.clone();
    tasks.spawn(async move {
        recovery::run(&recovering, started_at, interval, recovery_shutdown).await;
    });
    let router = service::router(repository.clone());
    if config.direct_uploads {
        let app = http::with_standard_endpoints(SERVICE, router);
        tasks.spawn(direct_upload::serve(listener, app, shutdown));
    } else {
        tasks.spawn(async move {
            if let Err(error) = http::serve(SERVICE, listener, router, shutdown).await {
                tracing::error!(%error, "repository HTTP server stopped");
            }
        });
    }
    Ok(RunningRepository {
        http_addr,
        repository,
        tasks,
    })
}
