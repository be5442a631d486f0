//! Shared test fixtures of the registry crate.
// Each test crate uses a different subset of these fixtures.
#![allow(dead_code)]

pub mod database;
pub mod metadata;
