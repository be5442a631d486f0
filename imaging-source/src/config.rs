//! `[imaging_source]` section of the broker configuration.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// Default repositoryUniqueId of the Imaging Document Source (an IHE Connectathon test OID): the
/// Retrieve Location UID its manifests carry, and the RepositoryUniqueId RAD-69 requests name.
pub const DEFAULT_REPOSITORY_UNIQUE_ID: &str = "1.3.6.1.4.1.21367.13.80.110";
/// Default AE title of the C-STORE SCP and of the manifests' Retrieve AE Title.
pub const DEFAULT_AE_TITLE: &str = "HIE-IDS";

/// Configuration of the Imaging Document Source.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (HTTP and DICOM); `[general] bind_address` when absent.
    pub bind_address: Option<IpAddr>,
    /// HTTP port of `/xdsi` (RAD-69), `/dicomweb` (WADO-RS) and `/wado` (WADO-URI).
    pub http_port: u16,
    /// repositoryUniqueId (OID) of this source: Retrieve Location UID of its manifests.
    pub repository_unique_id: String,
    /// DICOMweb root of the hospital PACS (e.g. `http://pacs:8042/dicom-web`); instances not in
    /// the instance store are fetched from it. None: the instance store only.
    pub pacs_dicomweb_url: Option<String>,
    /// Folder of the instances received by C-STORE or imported; `<data_dir>/instances` when absent.
    pub instance_store_root: Option<PathBuf>,
    /// AE title of the C-STORE SCP.
    pub scp_ae_title: String,
    /// DICOM port of the C-STORE SCP.
    pub scp_port: u16,
    /// A study received by C-STORE is complete after this many seconds without a new instance.
    pub quiet_period_seconds: u64,
    /// Retrieve AE Title written in the manifests (the AE a consumer retrieves from).
    pub retrieve_ae_title: String,
    /// Largest SOAP envelope accepted, in bytes, and deepest XML nesting.
    pub max_envelope_bytes: usize,
    pub max_xml_depth: usize,
    /// `[imaging_source.consumer]`: the Imaging Document Consumer (find, show, retrieve).
    pub consumer: crate::consumer::Config,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind_address: None,
            http_port: 8084,
            repository_unique_id: DEFAULT_REPOSITORY_UNIQUE_ID.to_owned(),
            pacs_dicomweb_url: None,
            instance_store_root: None,
            scp_ae_title: DEFAULT_AE_TITLE.to_owned(),
            scp_port: 11112,
            quiet_period_seconds: 30,
            retrieve_ae_title: DEFAULT_AE_TITLE.to_owned(),
            max_envelope_bytes: 1024 * 1024,
            max_xml_depth: 64,
            consumer: crate::consumer::Config::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use service_kit::config::RawConfig;

    #[test]
    fn absent_section_gives_the_documented_defaults() {
        let config: Config = RawConfig::parse("")
            .unwrap()
            .section("imaging_source")
            .unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.http_port, 8084);
        assert_eq!(config.scp_port, 11112);
    }

    #[test]
    fn unknown_option_is_refused() {
        let raw = RawConfig::parse("[imaging_source]\nhttp_prot = 1\n").unwrap();
        assert!(raw.section::<Config>("imaging_source").is_err());
    }
}
