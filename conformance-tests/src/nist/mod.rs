//! Replaying the NIST XDS Toolkit testkit (`nist-testkit/tests/<id>/`) against our actors.
//!
//! - [`plan`]: reading `testplan.xml`.
//! - [`convert`]: ebXML RegRep 2.1 → 3.0 metadata.
//! - [`metadata`]: symbols, fresh UUIDs, uniqueIds and patient ids, as the toolkit assigns them.
//! - [`xpath`]: the XPath `Assertions` and `Report`s.
//! - [`engine`]: running test sections and carrying ids between steps and tests.
//! - [`runner`]: selection, exclusions, the in-process registry and the summary.
//! - [`junit`]: the JUnit XML report.

pub mod convert;
pub mod engine;
pub mod junit;
pub mod metadata;
pub mod plan;
pub mod runner;
pub mod tree;
pub mod xpath;
