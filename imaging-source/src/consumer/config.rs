//! `[imaging_source.consumer]`: where the Imaging Document Consumer finds the registry, the PIX
//! Manager, and the directories that turn a repositoryUniqueId or a Retrieve Location UID into
//! an endpoint.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Default ITI-18 endpoint of the Document Registry (`hie up`'s registry).
pub const DEFAULT_REGISTRY_URL: &str = "http://127.0.0.1:8081/xds/registry";
/// Default MLLP address of the PIX Manager (ITI-9).
pub const DEFAULT_PIX_ADDRESS: &str = "127.0.0.1:2575";
/// Default affinity domain (assigning authority OID of the registry's patient ids).
pub const DEFAULT_AFFINITY_DOMAIN: &str = "1.3.6.1.4.1.21367.2005.13.20.1000";
/// repositoryUniqueId of `hie up`'s Document Repository.
pub const DEFAULT_REPOSITORY_UNIQUE_ID: &str = "1.3.6.1.4.1.21367.2010.1.2.1125";

/// How instances are fetched from an Imaging Document Source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum RetrieveProtocol {
    /// RAD-69 Retrieve Imaging Document Set (SOAP, MTOM answer).
    #[default]
    Rad69,
    /// WADO-RS Retrieve Instance (RAD-107).
    WadoRs,
}

/// One Imaging Document Source of the directory.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagingSourceEndpoint {
    /// RAD-69 SOAP endpoint.
    pub rad69_url: String,
    /// WADO-RS root (`…/dicomweb`), used when `retrieve_protocol = "wado-rs"`.
    pub wado_rs_url: Option<String>,
}

/// Configuration of the Imaging Document Consumer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// ITI-18 endpoint of the Document Registry.
    pub registry_url: String,
    /// `host:port` of the PIX Manager's MLLP listener (ITI-9).
    pub pix_address: String,
    /// Assigning authority (OID) of the affinity domain's patient ids.
    pub affinity_domain: String,
    /// RAD-69 (default) or WADO-RS.
    pub retrieve_protocol: RetrieveProtocol,
    /// Timeout of each registry and repository request, in seconds (a retrieval's body is not
    /// bounded by it).
    pub timeout_seconds: u64,
    /// Document Repositories: repositoryUniqueId (OID) → ITI-43 endpoint.
    pub repositories: BTreeMap<String, String>,
    /// Imaging Document Sources: Retrieve Location UID (OID) → endpoints.
    pub imaging_sources: BTreeMap<String, ImagingSourceEndpoint>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            registry_url: DEFAULT_REGISTRY_URL.to_owned(),
            pix_address: DEFAULT_PIX_ADDRESS.to_owned(),
            affinity_domain: DEFAULT_AFFINITY_DOMAIN.to_owned(),
            retrieve_protocol: RetrieveProtocol::Rad69,
            timeout_seconds: 60,
            repositories: BTreeMap::from([(
                DEFAULT_REPOSITORY_UNIQUE_ID.to_owned(),
                "http://127.0.0.1:8082/xds/repository".to_owned(),
            )]),
            imaging_sources: BTreeMap::from([(
                crate::config::DEFAULT_REPOSITORY_UNIQUE_ID.to_owned(),
                ImagingSourceEndpoint {
                    rad69_url: "http://127.0.0.1:8084/xdsi".to_owned(),
                    wado_rs_url: Some("http://127.0.0.1:8084/dicomweb".to_owned()),
                },
            )]),
        }
    }
}
