//! XDS Document Repository: ITI-41 Provide and Register Document Set-b (documents streamed from
//! MTOM parts into a document store, metadata registered with ITI-42, all or nothing) and ITI-43
//! Retrieve Document Set (documents streamed from the store into an MTOM answer) and ITI-86
//! Remove Documents; documents a crash left pending are reconciled with the registry.

use std::sync::Arc;

use schemas::xml::Limits;

pub mod config;
pub mod direct_upload;
pub mod provide;
pub mod recovery;
pub mod registry_client;
pub mod remove;
pub mod retrieve;
pub mod server;
pub mod service;
pub mod storage;

use registry_client::RegistryClient;
use storage::{DocumentIndex, DocumentStore};

/// What ITI-41, ITI-43 and ITI-86 work on, shared by all connections.
pub struct Repository {
    /// Where document content lives.
    pub store: Arc<dyn DocumentStore>,
    /// (repositoryUniqueId, uniqueId) → stored content, with the registration state.
    pub index: DocumentIndex,
    /// This repository's repositoryUniqueId (OID).
    pub repository_unique_id: String,
    /// ITI-42 to the Document Registry.
    pub registry: RegistryClient,
    /// Bounds of the SOAP envelopes read (requests and the registry's answers).
    pub limits: Limits,
}
