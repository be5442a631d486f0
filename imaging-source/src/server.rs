//! Starting the Imaging Document Source: the instance store, the PACS client, the HTTP endpoints
//! (RAD-69, WADO-RS, WADO-URI) and the C-STORE SCP.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use schemas::xml::Limits;
use service_kit::http;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::consumer::ConsumerContext;
use crate::dicomweb::{DicomWebClient, DicomWebError};
use crate::instance_store::{ABANDONED_AFTER, InstanceStore};
use crate::service;
use crate::source::ImagingSource;
use crate::store_scp;

/// Name of the service in logs and metrics.
pub const SERVICE: &str = "imaging-source";

/// Why the Imaging Document Source could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("PACS DICOMweb client: {0}")]
    Pacs(#[from] DicomWebError),
    #[error("pacs_connect_timeout_seconds and pacs_idle_timeout_seconds must be > 0")]
    PacsTimeouts,
    #[error("{0}")]
    Listen(#[from] std::io::Error),
}

/// A started Imaging Document Source: where it listens, its state, and its tasks (they end after
/// shutdown).
pub struct RunningImagingSource {
    pub http_addr: SocketAddr,
    /// Where the C-STORE SCP listens.
    pub scp_addr: SocketAddr,
    /// StudyComplete: the Study Instance UID of each study received by C-STORE, once a quiet
    /// period has passed without a new instance of it.
    pub study_complete: mpsc::UnboundedReceiver<String>,
    pub source: Arc<ImagingSource>,
    pub tasks: JoinSet<()>,
}

impl RunningImagingSource {
    /// The RAD-69 SOAP endpoint URL.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}{}", self.http_addr, service::ENDPOINT_PATH)
    }

    /// The WADO-RS root URL.
    pub fn wado_rs_url(&self) -> String {
        format!("http://{}{}", self.http_addr, crate::wado::WADO_RS_ROOT)
    }

    /// Publishes each study received by C-STORE, once complete, with `auto` (RAD-68) among its
    /// tasks; `study_complete` is left closed.
    pub fn publish_received_studies(&mut self, auto: crate::auto_publish::AutoPublish) {
        let complete = std::mem::replace(&mut self.study_complete, mpsc::unbounded_channel().1);
        self.tasks.spawn(crate::auto_publish::run(auto, complete));
    }
}

/// The folder of the instance store: the configured one, or `<data_dir>/instances`.
pub fn instance_store_root(config: &Config, data_dir: &Path) -> PathBuf {
    config
        .instance_store_root
        .clone()
        .unwrap_or_else(|| data_dir.join("instances"))
}

/// Binds the HTTP and DICOM ports (failing before anything is served when one is taken) and
/// serves until `shutdown` is cancelled.
pub async fn start(
    config: &Config,
    default_bind: IpAddr,
    data_dir: &Path,
    shutdown: CancellationToken,
) -> Result<RunningImagingSource, StartError> {
    let timeouts = config.pacs_timeouts().ok_or(StartError::PacsTimeouts)?;
    let pacs = match &config.pacs_dicomweb_url {
        Some(url) if !url.is_empty() => {
            Some(Arc::new(DicomWebClient::with_timeouts(url, timeouts)?))
        }
        _ => None,
    };
    let root = instance_store_root(config, data_dir);
    tokio::fs::create_dir_all(&root).await?;
    let store = Arc::new(InstanceStore::new(root.clone()));
    if let Err(error) = store.sweep_abandoned(ABANDONED_AFTER).await {
        tracing::warn!(%error, "cannot sweep the instance store's abandoned temporaries");
    }
    let source = Arc::new(ImagingSource {
        repository_unique_id: config.repository_unique_id.clone(),
        store: store.clone(),
        pacs,
        limits: Limits {
            max_bytes: config.max_envelope_bytes,
            max_depth: config.max_xml_depth,
        },
    });
    let bind = config.bind_address.unwrap_or(default_bind);
    let listener = http::bind(SERVICE, SocketAddr::new(bind, config.http_port)).await?;
    let http_addr = listener.local_addr()?;
    let scp_listener = tokio::net::TcpListener::bind(SocketAddr::new(bind, config.scp_port))
        .await
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "{SERVICE}: C-STORE SCP cannot listen on {bind}:{}: {e}",
                    config.scp_port
                ),
            )
        })?;
    let scp_addr = scp_listener.local_addr()?;
    let (scp, study_complete) = store_scp::new(
        config.scp_ae_title.clone(),
        store,
        root.join(".incoming"),
        Duration::from_secs(config.quiet_period_seconds),
        shutdown.clone(),
    );
    let mut tasks = JoinSet::new();
    tasks.spawn(store_scp::serve(scp, scp_listener, shutdown.clone()));
    let consumer = Arc::new(ConsumerContext::new(config.consumer.clone()));
    let app = http::with_standard_endpoints(SERVICE, service::router(source.clone(), consumer));
    // TCP_NODELAY on each connection: an answer relayed from the PACS is written as its pieces
    // arrive, and Nagle's algorithm would hold back every write of less than a segment (64 KiB
    // on loopback) until the consumer acknowledges the previous one.
    let listener = listener.tap_io(|connection| {
        if let Err(error) = connection.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY on a connection");
        }
    });
    tasks.spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "imaging source HTTP server stopped");
        }
    });
    Ok(RunningImagingSource {
        http_addr,
        scp_addr,
        study_complete,
        source,
        tasks,
    })
}
