//! Starting the PIX manager: its database, the MLLP listener, the HTTP API and the ITI-10
//! notifier.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use service_kit::http;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::manager::PixManager;
use crate::matching::Matcher;
use crate::notify::Notifier;
use crate::storage::{Database, StorageError};
use crate::{service, v2};

/// Name of the service in logs and metrics.
pub const SERVICE: &str = "pix-manager";

/// Why the PIX manager could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("PIX manager database: {0}")]
    Database(#[from] StorageError),
    #[error("{0}")]
    Listen(#[from] std::io::Error),
}

/// A started PIX manager: where it listens, and its tasks (they end after shutdown).
pub struct PixServer {
    pub http_addr: SocketAddr,
    pub mllp_addr: SocketAddr,
    pub manager: Arc<PixManager>,
    pub tasks: JoinSet<()>,
}

impl PixServer {
    /// The base URL of the HTTP API.
    pub fn http_url(&self) -> String {
        format!("http://{}/pix", self.http_addr)
    }
}

/// The database URL: the configured one, or SQLite in `data_dir`.
pub fn database_url(config: &Config, data_dir: &Path) -> String {
    if config.database_url.is_empty() {
        format!("sqlite://{}", data_dir.join("pix-manager.db").display())
    } else {
        config.database_url.clone()
    }
}

/// Connects the database, binds both ports (failing before anything is served when a port is
/// taken), and serves until `shutdown` is cancelled.
pub async fn start(
    config: &Config,
    default_bind: IpAddr,
    data_dir: &Path,
    shutdown: CancellationToken,
) -> Result<PixServer, StartError> {
    let bind = config.bind_address.unwrap_or(default_bind);
    let db = Database::connect(&database_url(config, data_dir)).await?;
    let http_listener = http::bind(SERVICE, SocketAddr::new(bind, config.http_port)).await?;
    let mllp_listener = http::bind(SERVICE, SocketAddr::new(bind, config.mllp_port)).await?;
    let http_addr = http_listener.local_addr()?;
    let mllp_addr = mllp_listener.local_addr()?;

    let mut tasks = JoinSet::new();
    let notifier = Notifier::start(
        &config.subscribers,
        &config.merge_subscribers,
        &shutdown,
        &mut tasks,
    );
    let manager = Arc::new(PixManager::new(db, Matcher::default(), config, notifier));
    let http_shutdown = shutdown.clone();
    let router = service::router(Arc::clone(&manager));
    tasks.spawn(async move {
        if let Err(error) = http::serve(SERVICE, http_listener, router, http_shutdown).await {
            tracing::error!(%error, "PIX manager HTTP server stopped");
        }
    });
    tasks.spawn(v2::serve_mllp(
        mllp_listener,
        Arc::clone(&manager),
        shutdown,
    ));
    Ok(PixServer {
        http_addr,
        mllp_addr,
        manager,
        tasks,
    })
}
