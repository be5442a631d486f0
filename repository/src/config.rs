//! `[repository]` section of the broker configuration.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// Default repositoryUniqueId (an IHE Connectathon test repository OID).
pub const DEFAULT_REPOSITORY_UNIQUE_ID: &str = "1.3.6.1.4.1.21367.2010.1.2.1125";
/// Default ITI-42 endpoint: the registry of the same deployment.
pub const DEFAULT_REGISTRY_URL: &str = "http://127.0.0.1:8081/xds/registry";

/// Configuration of the Document Repository.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on; `[general] bind_address` when absent.
    pub bind_address: Option<IpAddr>,
    /// HTTP port of the SOAP endpoint `/xds/repository` (ITI-41, ITI-43).
    pub http_port: u16,
    /// This repository's repositoryUniqueId (OID), written on every DocumentEntry it stores.
    pub repository_unique_id: String,
    /// ITI-42 Register Document Set-b endpoint of the Document Registry.
    pub registry_url: String,
    /// How long to wait for the registry's ITI-42 answer, in seconds.
    pub registry_timeout_seconds: u64,
    /// Largest SOAP envelope (MTOM root part, or a whole plain SOAP request, inline documents
    /// included) accepted, in bytes. Attachments are streamed and not bounded by it.
    pub max_envelope_bytes: usize,
    /// Deepest XML nesting accepted.
    pub max_xml_depth: usize,
    /// Folder of the stored documents; `<data_dir>/documents` when absent.
    pub storage_root: Option<PathBuf>,
    /// SQLite file of the document index; `<data_dir>/repository.db` when absent.
    pub index_path: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind_address: None,
            http_port: 8082,
            repository_unique_id: DEFAULT_REPOSITORY_UNIQUE_ID.to_owned(),
            registry_url: DEFAULT_REGISTRY_URL.to_owned(),
            registry_timeout_seconds: 60,
            max_envelope_bytes: 64 * 1024 * 1024,
            max_xml_depth: 64,
            storage_root: None,
            index_path: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use service_kit::config::RawConfig;

    #[test]
    fn absent_section_gives_the_documented_defaults() {
        let config: Config = RawConfig::parse("").unwrap().section("repository").unwrap();
        assert_eq!(config.http_port, 8082);
        assert_eq!(config.registry_url, DEFAULT_REGISTRY_URL);
        assert_eq!(config.repository_unique_id, DEFAULT_REPOSITORY_UNIQUE_ID);
    }

    #[test]
    fn unknown_option_is_refused() {
        let raw = RawConfig::parse("[repository]\nhttp_prot = 1\n").unwrap();
        assert!(raw.section::<Config>("repository").is_err());
    }
}
