//! Imaging Document Source and Consumer (RAD-68, RAD-69, WADO-RS, WADO-URI, import reconciliation).
//!
//! Publish side: `study` (the study model read from DICOM headers), `kos` (the RAD-68 manifest).

pub mod kos;
pub mod study;
