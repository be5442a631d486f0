//! `registry`: the XDS Document Registry as its own process (`hie up` runs it in-process).

use std::path::PathBuf;

use registry::config::Config;
use service_kit::config::{General, RawConfig};

/// mimalloc: about a quarter of an ebRIM parse is allocation, and it is faster there than the
/// system allocator (see `cargo bench -p schemas --bench ebrim`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    service_kit::telemetry::init_tracing();
    let config_file = std::env::args_os().nth(1).map(PathBuf::from);
    let raw = RawConfig::load(config_file.as_deref())?;
    let general: General = raw.section("general")?;
    let config: Config = raw.section("registry")?;
    std::fs::create_dir_all(&general.data_dir)?;
    let shutdown = service_kit::shutdown::on_signal();
    let mut running =
        registry::server::start(&config, general.bind_address, &general.data_dir, shutdown).await?;
    println!(
        "registry: SOAP {} ; identity feed MLLP {}",
        running.endpoint_url(),
        running.mllp_addr
    );
    while running.tasks.join_next().await.is_some() {}
    Ok(())
}
