//! `imaging-source`: the Imaging Document Source as its own process (`hie up` runs it in-process).

use std::path::PathBuf;

use imaging_source::auto_publish::AutoPublish;
use imaging_source::config::Config;
use service_kit::config::{General, RawConfig};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    service_kit::memory::disable_transparent_huge_pages("imaging-source");
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
    let config: Config = raw.section("imaging_source")?;
    std::fs::create_dir_all(&general.data_dir)?;
    let shutdown = service_kit::shutdown::on_signal();
    let mut running =
        imaging_source::server::start(&config, general.bind_address, &general.data_dir, shutdown)
            .await?;
    println!(
        "imaging-source: RAD-69 {} ; WADO-RS {} (repositoryUniqueId {})",
        running.endpoint_url(),
        running.wado_rs_url(),
        config.repository_unique_id,
    );
    if config.publish.received_studies {
        // RAD-68 of studies pushed by C-STORE, once complete: patient by ITI-9, manifest by
        // ITI-41 to the configured repository.
        let auto = AutoPublish::from_config(&config, &general.data_dir, running.wado_rs_url());
        running.publish_received_studies(auto);
    }
    while running.tasks.join_next().await.is_some() {}
    Ok(())
}
