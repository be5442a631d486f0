//! XDS-I.b Imaging Document Source and Consumer (RAD-68, RAD-69, WADO-RS, WADO-URI).
//!
//! Publish side: `study` (the study model read from DICOM headers), `kos` (the RAD-68 manifest),
//! `metadata` (its XDS metadata), `publish` (RAD-68 / ITI-41 with RPLC), `pix_client` (ITI-9),
//! `dicomweb` (QIDO-RS/WADO-RS client of a PACS), `cd` (DICOMDIR / folder import) and
//! `instance_store` (the source's own Part-10 store), `auto_publish` (RAD-68 of studies received
//! by C-STORE once complete).
//! Consumer side: `import_reconciliation` (retrieved studies reconciled to the local patient and
//! stored in the local PACS by STOW-RS, IHE Import Reconciliation).
//! Serving side: `rad69` (RAD-69 Retrieve Imaging Document Set, instances streamed from the
//! instance store or the PACS into an MTOM answer), `wado` (WADO-RS, WADO-URI), `store_scp`
//! (C-STORE SCP feeding the instance store), `source` (where an instance is found), `service`,
//! `server`, `config`.
//! Consumer side: `consumer` (ITI-18 find, ITI-43 manifest, RAD-69 / WADO-RS retrieval into a
//! folder, resumable; a JSON API under `/consumer`).

pub mod auto_publish;
pub mod cd;
pub mod config;
pub mod consumer;
pub mod dicomweb;
pub mod import_reconciliation;
pub mod instance_store;
pub mod kos;
pub mod metadata;
pub mod pix_client;
pub mod publish;
pub mod rad69;
pub mod report;
pub mod server;
pub mod service;
pub mod source;
pub mod store_scp;
pub mod study;
pub mod wado;
