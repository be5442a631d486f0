//! Replaying the NIST XDS Toolkit testkit (`nist-testkit/tests/<id>/`) against our actors.
//!
//! - [`plan`]: reading `testplan.xml`.
//! - [`convert`]: ebXML RegRep 2.1 → 3.0 metadata.
//! - [`metadata`]: symbols, fresh UUIDs, uniqueIds and patient ids, as the toolkit assigns them.
//! - [`xpath`]: the XPath `Assertions` and `Report`s.
//! - [`engine`]: running test sections and carrying ids between steps and tests.
//! - [`runner`]: selection, exclusions, the in-process services (registry, repository, imaging
//!   source) and the summary.
//! - [`wire`]: the SOAP client (plain and MTOM requests, MTOM responses digested as they stream).
//! - [`retrieve`]: checking ITI-43 / RAD-69 responses against the documents and metadata a plan names.
//! - [`junit`]: the JUnit XML report.
//! - [`ids`]: the `ids` plans' fixture: the image set, its publication (RAD-68) by the in-process
//!   Imaging Document Source, the Repository/Registry simulator that records it.
//! - [`kos`], [`kos_metadata`], [`dcm_images`]: the toolkit's `sameKOSDcm`, `sameKOSMetadata`
//!   and `sameDcmImgs` comparisons.

pub mod convert;
pub mod dcm_images;
pub mod engine;
pub mod ids;
pub mod junit;
pub mod kos;
pub mod kos_metadata;
pub mod metadata;
pub mod plan;
pub mod retrieve;
pub mod runner;
pub mod tree;
pub mod wire;
pub mod xpath;
