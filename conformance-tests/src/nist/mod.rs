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

pub mod convert;
pub mod engine;
pub mod junit;
pub mod metadata;
pub mod plan;
pub mod retrieve;
pub mod runner;
pub mod tree;
pub mod wire;
pub mod xpath;
