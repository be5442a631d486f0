//! Imaging Document Source and Consumer (RAD-68, RAD-69, WADO-RS, WADO-URI, import reconciliation).
//!
//! Publish side: `study` (the study model read from DICOM headers), `kos` (the RAD-68 manifest),
//! `metadata` (its XDS metadata), `publish` (RAD-68 / ITI-41 with RPLC), `pix_client` (ITI-9),
//! `dicomweb` (QIDO-RS/WADO-RS client of a PACS), `cd` (DICOMDIR / folder import) and
//! `instance_store` (the source's own Part-10 store).

pub mod cd;
pub mod dicomweb;
pub mod instance_store;
pub mod kos;
pub mod metadata;
pub mod pix_client;
pub mod publish;
pub mod study;
