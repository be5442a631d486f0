//! Shared test fixtures of the registry crate.

pub mod metadata;
