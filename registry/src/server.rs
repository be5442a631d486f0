//! Starting the registry: its database, the SOAP endpoint and the MLLP identity feed.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use schemas::xml::Limits;
use service_kit::http;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::code_lists::{CodeListError, CodeLists};
use crate::config::Config;
use crate::identity_feed;
use crate::register::RegisterContext;
use crate::service::{self, RegistryService};
use crate::storage::{Database, StorageError};
use crate::stored_query::QueryOptions;

/// Name of the service in logs and metrics.
pub const SERVICE: &str = "registry";

/// Why the registry could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("registry database: {0}")]
    Database(#[from] StorageError),
    #[error("{0}")]
    Listen(#[from] std::io::Error),
    #[error("{0}")]
    CodeLists(#[from] CodeListError),
}

/// A started registry: where it listens, and its tasks (they end after shutdown).
pub struct Registry {
    pub http_addr: SocketAddr,
    pub mllp_addr: SocketAddr,
    pub tasks: JoinSet<()>,
}

impl Registry {
    /// The SOAP endpoint URL.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}{}", self.http_addr, service::ENDPOINT_PATH)
    }
}

/// The database URL: the configured one, or SQLite in `data_dir`.
pub fn database_url(config: &Config, data_dir: &Path) -> String {
    if config.database_url.is_empty() {
        format!("sqlite://{}", data_dir.join("registry.db").display())
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
) -> Result<Registry, StartError> {
    let bind = config.bind_address.unwrap_or(default_bind);
    let code_lists = match &config.code_lists {
        Some(path) => CodeLists::load(path)?,
        None => CodeLists::imaging_defaults(),
    };
    let db = Database::connect(&database_url(config, data_dir)).await?;
    let http_listener = http::bind(SERVICE, SocketAddr::new(bind, config.http_port)).await?;
    let mllp_listener = http::bind(SERVICE, SocketAddr::new(bind, config.mllp_port)).await?;
    let http_addr = http_listener.local_addr()?;
    let mllp_addr = mllp_listener.local_addr()?;

    let state = Arc::new(RegistryService {
        db: db.clone(),
        affinity_domain: config.affinity_domain.clone(),
        register: RegisterContext::from_config(config, code_lists),
        query: QueryOptions {
            max_results: config.max_query_results,
            home_community_id: config.home_community_id.clone(),
        },
        limits: Limits {
            max_bytes: config.max_request_bytes,
            max_depth: config.max_xml_depth,
        },
    });
    let mut tasks = JoinSet::new();
    let http_shutdown = shutdown.clone();
    tasks.spawn(async move {
        if let Err(error) = http::serve(
            SERVICE,
            http_listener,
            service::router(state),
            http_shutdown,
        )
        .await
        {
            tracing::error!(%error, "registry HTTP server stopped");
        }
    });
    tasks.spawn(identity_feed::serve_mllp(
        mllp_listener,
        Arc::new(db),
        config.affinity_domain.clone(),
        shutdown,
    ));
    Ok(Registry {
        http_addr,
        mllp_addr,
        tasks,
    })
}
