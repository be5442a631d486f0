//! `pix-manager`: the PIX Manager as its own process (`hie up` runs it in-process).

use std::path::PathBuf;

use pix_manager::config::Config;
use service_kit::config::{General, RawConfig};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    service_kit::telemetry::init_tracing();
    let config_file = std::env::args_os().nth(1).map(PathBuf::from);
    let raw = RawConfig::load(config_file.as_deref())?;
    let general: General = raw.section("general")?;
    let config: Config = raw.section("pix_manager")?;
    std::fs::create_dir_all(&general.data_dir)?;
    let shutdown = service_kit::shutdown::on_signal();
    let mut running =
        pix_manager::server::start(&config, general.bind_address, &general.data_dir, shutdown)
            .await?;
    println!(
        "pix-manager: MLLP {} ; HTTP {}",
        running.mllp_addr,
        running.http_url()
    );
    while running.tasks.join_next().await.is_some() {}
    Ok(())
}
