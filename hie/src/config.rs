//! The configuration `hie up` reads: the `[general]` section and one section per service.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// The documented default configuration, printed by `hie config`.
pub const EXAMPLE: &str = include_str!("../../hie.example.toml");

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HieConfig {
    pub general: General,
}

/// `[general]`: what every service shares.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct General {
    /// Folder of the embedded SQLite databases and the file store.
    pub data_dir: PathBuf,
    /// Address the services listen on unless their own section names another.
    pub bind_address: IpAddr,
}

impl Default for General {
    fn default() -> Self {
        General {
            data_dir: PathBuf::from("./hie-data"),
            bind_address: IpAddr::from([127, 0, 0, 1]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use service_kit::config::RawConfig;

    #[test]
    fn example_file_documents_exactly_the_defaults() {
        let raw = RawConfig::parse(EXAMPLE).expect("example parses");
        let typed: HieConfig = raw.typed().expect("example has only known options");
        assert_eq!(typed, HieConfig::default());
    }
}
