//! `[pix_manager]` section of the broker configuration.

use std::net::IpAddr;

use serde::Deserialize;

/// Default affinity domain: the assigning authority of the persons' ids (the registry's).
pub const DEFAULT_AFFINITY_DOMAIN: &str = "1.3.6.1.4.1.21367.2005.13.20.1000";

/// Configuration of the PIX Manager.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on; `[general] bind_address` when absent.
    pub bind_address: Option<IpAddr>,
    /// MLLP port of ITI-8, ITI-9 and ITI-21.
    pub mllp_port: u16,
    /// HTTP port of `/pix` (ITI-44/45 SOAP, review queue), `/healthz` and `/metrics`.
    pub http_port: u16,
    /// Database URL: `postgres://...`, or `sqlite://FILE`; empty means SQLite in the data folder.
    pub database_url: String,
    /// Assigning authority (OID) of the affinity-domain ids the PIX manager gives persons.
    pub affinity_domain: String,
    /// Patient identifier domains (assigning authority OIDs) accepted in feeds and queries.
    pub domains: Vec<String>,
    /// ITI-10 subscribers: `host:port` of the MLLP listeners to notify (ADT^A31).
    pub subscribers: Vec<String>,
    /// `host:port` of the Document Registries' identity feeds sent an ADT^A40 in the affinity
    /// domain when two persons become one, so they re-point the retired id's entries.
    pub merge_subscribers: Vec<String>,
    /// Most candidates one new record is compared with.
    pub max_candidates: u32,
    /// Most records one ITI-21 query returns.
    pub max_pdq_results: u32,
    /// MSH-3 / MSH-4 of the messages the PIX manager sends.
    pub sending_application: String,
    pub sending_facility: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind_address: None,
            mllp_port: 2575,
            http_port: 8083,
            database_url: String::new(),
            affinity_domain: DEFAULT_AFFINITY_DOMAIN.to_owned(),
            domains: vec![
                "1.3.6.1.4.1.21367.2005.13.20.2000".to_owned(),
                "1.3.6.1.4.1.21367.2005.13.20.3000".to_owned(),
            ],
            subscribers: vec!["127.0.0.1:2576".to_owned()],
            merge_subscribers: vec!["127.0.0.1:2576".to_owned()],
            max_candidates: 200,
            max_pdq_results: 100,
            sending_application: "HIE_PIX".to_owned(),
            sending_facility: "HIE".to_owned(),
        }
    }
}
