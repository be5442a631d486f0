//! `hie`: the broker's launcher and command-line client.

mod config;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use service_kit::config::RawConfig;

use crate::config::HieConfig;

#[derive(Parser)]
#[command(
    name = "hie",
    version,
    about = "IHE XDS-I.b health-information-exchange broker"
)]
struct Cli {
    /// Configuration file (default: $HIE_CONFIG, else ./hie.toml if present, else built-in defaults).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start every service in this process on the embedded defaults; stop with Ctrl-C.
    Up,
    /// Print the documented default configuration.
    Config,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Config => {
            print!("{}", config::EXAMPLE);
            Ok(())
        }
        Command::Up => {
            service_kit::telemetry::init_tracing();
            let raw = RawConfig::load(cli.config.as_deref())?;
            let config: HieConfig = raw.typed()?;
            up(config).await
        }
    }
}

/// `hie up`: prepare the data folder, start the services, wait for Ctrl-C, stop them.
async fn up(config: HieConfig) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.general.data_dir).with_context(|| {
        format!(
            "cannot create the data folder {}",
            config.general.data_dir.display()
        )
    })?;
    let shutdown = service_kit::shutdown::on_signal();
    println!(
        "hie: data in {}; no service is built yet. Press Ctrl-C to stop.",
        config.general.data_dir.display()
    );
    shutdown.cancelled().await;
    println!("hie: stopped");
    Ok(())
}
