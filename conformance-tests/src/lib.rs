//! Black-box conformance tests of the broker against the official schemas and real peers.
//!
//! The library is compiled in every tier; the tests that need `../shared` (or `$HIE_SHARED_DIR`)
//! and `xmllint` live in `tests/` behind the `peers` feature and fail, never skip, without them.
//!
//! - [`shared`]: locating the read-only reference material (XSDs, IHE samples, NIST testkit).
//! - [`xmllint`]: validating a document against an official XSD with `xmllint --schema`.
//! - [`xsd`]: which official XSD validates which message root element.
//! - [`nist`]: replaying the NIST XDS Toolkit testkit against the registry.
//! - [`round_trip`]: reading a message body with `schemas` and writing it back.
//! - [`semantic`]: comparing two XML documents for equality in meaning.

pub mod nist;
pub mod round_trip;
pub mod semantic;
pub mod shared;
pub mod xmllint;
pub mod xsd;
