//! `[imaging_source]` section of the broker configuration.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::metadata::CodeMappings;

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
    /// Seconds to wait for a connection to the PACS (QIDO-RS, WADO-RS); > 0.
    pub pacs_connect_timeout_seconds: u64,
    /// Seconds the PACS may stay silent (before its answer, or in the middle of it) before the
    /// request is given up: a RAD-69 or WADO-RS answer relaying it then ends with an error; > 0.
    pub pacs_idle_timeout_seconds: u64,
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
    /// `[imaging_source.publish]`: where RAD-68 provides the manifests, with which codes.
    pub publish: PublishConfig,
    /// `[imaging_source.consumer]`: the Imaging Document Consumer (find, show, retrieve); its
    /// registry, PIX Manager and affinity domain are also those of publication.
    pub consumer: crate::consumer::Config,
}

/// Default ITI-41 endpoint of the Document Repository (`hie up`'s repository).
pub const DEFAULT_REPOSITORY_URL: &str = "http://127.0.0.1:8082/xds/repository";

/// RAD-68 publication: of the studies received by C-STORE (by the service) and of `hie publish` /
/// `hie import-cd`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublishConfig {
    /// ITI-41 endpoint of the Document Repository the manifests are provided to.
    pub repository_url: String,
    /// SubmissionSet.sourceId (OID); the source's repositoryUniqueId when absent.
    pub source_id: Option<String>,
    /// WADO-RS root written as Retrieve URL of each series; when absent the service writes its
    /// own `/dicomweb` root and `hie publish` / `hie import-cd` write none.
    pub retrieve_url: Option<String>,
    /// Publish each study received by C-STORE once complete (`quiet_period_seconds`).
    pub received_studies: bool,
    /// Timeout of each repository, registry and PIX request, in seconds.
    pub timeout_seconds: u64,
    /// The affinity domain's codes of the manifests (`[imaging_source.publish.codes]`).
    pub codes: CodeMappings,
}

impl Default for PublishConfig {
    fn default() -> Self {
        PublishConfig {
            repository_url: DEFAULT_REPOSITORY_URL.to_owned(),
            source_id: None,
            retrieve_url: None,
            received_studies: true,
            timeout_seconds: 60,
            codes: CodeMappings::default(),
        }
    }
}

impl Config {
    /// The timeouts of the requests to the PACS; `None` when one of them is zero.
    pub fn pacs_timeouts(&self) -> Option<crate::dicomweb::PacsTimeouts> {
        let seconds = |value: u64| (value > 0).then(|| std::time::Duration::from_secs(value));
        Some(crate::dicomweb::PacsTimeouts {
            connect: seconds(self.pacs_connect_timeout_seconds)?,
            idle: seconds(self.pacs_idle_timeout_seconds)?,
        })
    }

    /// SubmissionSet.sourceId of the manifests.
    pub fn source_id(&self) -> &str {
        self.publish
            .source_id
            .as_deref()
            .unwrap_or(&self.repository_unique_id)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind_address: None,
            http_port: 8084,
            repository_unique_id: DEFAULT_REPOSITORY_UNIQUE_ID.to_owned(),
            pacs_dicomweb_url: None,
            pacs_connect_timeout_seconds: 10,
            pacs_idle_timeout_seconds: 60,
            instance_store_root: None,
            scp_ae_title: DEFAULT_AE_TITLE.to_owned(),
            scp_port: 11112,
            quiet_period_seconds: 30,
            retrieve_ae_title: DEFAULT_AE_TITLE.to_owned(),
            max_envelope_bytes: 1024 * 1024,
            max_xml_depth: 64,
            publish: PublishConfig::default(),
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
    fn publish_codes_are_configured_in_their_own_table() {
        let raw = RawConfig::parse(
            "[imaging_source.publish]\nsource_id = \"1.2.3\"\n\
             [imaging_source.publish.codes.class_code]\n\
             code = \"DICOM\"\ncoding_scheme = \"1.2.4\"\ndisplay_name = \"DICOM study\"\n\
             [imaging_source.publish.codes.type_code_by_modality.CT]\n\
             code = \"24627-2\"\ncoding_scheme = \"2.16.840.1.113883.6.1\"\ndisplay_name = \"CT Chest\"\n",
        )
        .unwrap();
        let config: Config = raw.section("imaging_source").unwrap();
        assert_eq!(config.source_id(), "1.2.3");
        let codes = &config.publish.codes;
        assert_eq!(codes.class_code.code, "DICOM");
        assert_eq!(codes.type_code_by_modality["CT"].display_name, "CT Chest");
        assert_eq!(
            codes.practice_setting_code,
            CodeMappings::default().practice_setting_code,
            "codes left out keep their defaults"
        );
    }

    #[test]
    fn pacs_timeouts_are_configured_in_seconds_and_zero_is_refused() {
        use std::time::Duration;
        assert_eq!(
            Config::default().pacs_timeouts(),
            Some(crate::dicomweb::PacsTimeouts::default())
        );
        let raw = RawConfig::parse(
            "[imaging_source]\npacs_connect_timeout_seconds = 3\npacs_idle_timeout_seconds = 7\n",
        )
        .unwrap();
        let config: Config = raw.section("imaging_source").unwrap();
        let timeouts = config.pacs_timeouts().unwrap();
        assert_eq!(timeouts.connect, Duration::from_secs(3));
        assert_eq!(timeouts.idle, Duration::from_secs(7));
        let zero = Config {
            pacs_idle_timeout_seconds: 0,
            ..Config::default()
        };
        assert_eq!(zero.pacs_timeouts(), None);
    }

    #[test]
    fn source_id_defaults_to_the_repository_unique_id() {
        let config = Config::default();
        assert_eq!(config.source_id(), DEFAULT_REPOSITORY_UNIQUE_ID);
    }

    #[test]
    fn unknown_option_is_refused() {
        let raw = RawConfig::parse("[imaging_source]\nhttp_prot = 1\n").unwrap();
        assert!(raw.section::<Config>("imaging_source").is_err());
    }
}
