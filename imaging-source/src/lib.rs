//! Imaging Document Source and Consumer (RAD-68, RAD-69, WADO-RS, WADO-URI, import reconciliation).
//!
//! Publish side: `study` (the study model read from DICOM headers), `kos` (the RAD-68 manifest).

pub mod cd;
pub mod dicomweb;
pub mod instance_store;
pub mod kos;
pub mod metadata;
pub mod pix_client;
pub mod publish;
pub mod study;
