//! `[registry]` section of the broker configuration.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// Default affinity-domain assigning authority (the IHE Connectathon domain).
pub const DEFAULT_AFFINITY_DOMAIN: &str = "1.3.6.1.4.1.21367.2005.13.20.1000";

/// Configuration of the Document Registry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on; `[general] bind_address` when absent.
    pub bind_address: Option<IpAddr>,
    /// HTTP port of the SOAP endpoint `/xds/registry` (ITI-18, ITI-42, ITI-57, ITI-62, ITI-44).
    pub http_port: u16,
    /// MLLP port of the HL7 v2 patient identity feed (ITI-8, and ITI-10 from the PIX manager).
    pub mllp_port: u16,
    /// Database URL: `postgres://...`, or `sqlite://FILE`; empty means SQLite in the data folder.
    pub database_url: String,
    /// Assigning authority (OID) of the affinity domain's patient ids.
    pub affinity_domain: String,
    /// Code-list file (TOML); empty means the built-in imaging defaults.
    pub code_lists: Option<PathBuf>,
    /// homeCommunityId (`urn:oid:...`) written on ObjectRef answers; none for a registry that is
    /// not part of a cross-community (XCA) setup.
    pub home_community_id: Option<String>,
    /// Largest number of objects one stored query may return before XDSTooManyResults.
    pub max_query_results: usize,
    /// Largest SOAP request accepted, in bytes.
    pub max_request_bytes: usize,
    /// Deepest XML nesting accepted.
    pub max_xml_depth: usize,
    /// Accept registrations for patient ids the identity feed has not announced (test setups only).
    pub accept_unknown_patients: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind_address: None,
            http_port: 8081,
            mllp_port: 2576,
            database_url: String::new(),
            affinity_domain: DEFAULT_AFFINITY_DOMAIN.to_owned(),
            code_lists: None,
            home_community_id: None,
            max_query_results: 5000,
            max_request_bytes: 64 * 1024 * 1024,
            max_xml_depth: 64,
            accept_unknown_patients: false,
        }
    }
}
