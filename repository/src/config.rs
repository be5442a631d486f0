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
    /// How often documents a crash left pending are asked about again while the registry does
    /// not answer (ITI-18), in seconds.
    pub recovery_interval_seconds: u64,
    /// Where document content lives: the local file store or an S3-compatible object store.
    pub storage: StorageKind,
    /// Folder of the stored documents (file store); `<data_dir>/documents` when absent.
    pub storage_root: Option<PathBuf>,
    /// The S3-compatible object store (`storage = "s3"`).
    pub s3: S3Config,
    /// SQLite file of the document index; `<data_dir>/repository.db` when absent.
    pub index_path: Option<PathBuf>,
    /// Read ITI-41 uploads that announce their action in their Content-Type straight from the
    /// socket into the store's buffers (see `direct_upload`); `false` serves every request
    /// through hyper.
    pub direct_uploads: bool,
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
            recovery_interval_seconds: 30,
            storage: StorageKind::File,
            storage_root: None,
            s3: S3Config::default(),
            index_path: None,
            direct_uploads: true,
        }
    }
}

/// Which document store the repository uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageKind {
    /// One file per document under `storage_root`.
    #[default]
    File,
    /// One object per document in an S3-compatible bucket (`[repository.s3]`).
    S3,
}

/// `[repository.s3]`: the bucket of an S3-compatible object store.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    /// Bucket holding the documents (it must exist).
    pub bucket: String,
    /// Region of the bucket.
    pub region: String,
    /// Endpoint of an S3-compatible server (MinIO, Ceph, ...); AWS S3 when absent.
    pub endpoint: Option<String>,
    /// Access key; the `AWS_ACCESS_KEY_ID` environment variable when absent.
    pub access_key_id: Option<String>,
    /// Secret key; the `AWS_SECRET_ACCESS_KEY` environment variable when absent.
    pub secret_access_key: Option<String>,
    /// Allows a plain `http://` endpoint (a server on loopback); refused otherwise.
    pub allow_http: bool,
    /// Size of the parts of a multipart upload, in bytes (at least 5 MiB): the memory one upload
    /// holds.
    pub part_size_bytes: usize,
}

impl Default for S3Config {
    fn default() -> Self {
        S3Config {
            bucket: "hie-documents".to_owned(),
            region: "us-east-1".to_owned(),
            endpoint: None,
            access_key_id: None,
            secret_access_key: None,
            allow_http: false,
            part_size_bytes: 5 * 1024 * 1024,
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
    fn s3_storage_is_chosen_with_its_bucket() {
        let raw = RawConfig::parse(
            "[repository]\nstorage = \"s3\"\n[repository.s3]\nbucket = \"docs\"\nendpoint = \"http://127.0.0.1:9000\"\nallow_http = true\n",
        )
        .unwrap();
        let config: Config = raw.section("repository").unwrap();
        assert_eq!(config.storage, StorageKind::S3);
        assert_eq!(config.s3.bucket, "docs");
        assert_eq!(config.s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(config.s3.allow_http);
        assert_eq!(config.s3.region, "us-east-1");
    }

    #[test]
    fn unknown_option_is_refused() {
        let raw = RawConfig::parse("[repository]\nhttp_prot = 1\n").unwrap();
        assert!(raw.section::<Config>("repository").is_err());
    }
}
