//! `repository`: the XDS Document Repository as its own process (`hie up` can run it in-process).

use std::path::PathBuf;

use repository::config::Config;
use service_kit::config::{General, RawConfig};

/// mimalloc: about a quarter of an ebRIM parse is allocation, and it is faster there than the
/// system allocator (see `cargo bench -p schemas --bench ebrim`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    service_kit::memory::disable_transparent_huge_pages("repository");
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve())
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    service_kit::telemetry::init_tracing();
    let config_file = std::env::args_os().nth(1).map(PathBuf::from);
    let raw = RawConfig::load(config_file.as_deref())?;
    let general: General = raw.section("general")?;
    let config: Config = raw.section("repository")?;
    std::fs::create_dir_all(&general.data_dir)?;
    let shutdown = service_kit::shutdown::on_signal();
    let mut running =
        repository::server::start(&config, general.bind_address, &general.data_dir, shutdown)
            .await?;
    println!(
        "repository: SOAP {} (repositoryUniqueId {}) ; registry {}",
        running.endpoint_url(),
        config.repository_unique_id,
        config.registry_url
    );
    while running.tasks.join_next().await.is_some() {}
    Ok(())
}
