//! What every HTTP service of the broker shares, so each service crate only writes its own
//! transactions: configuration ([`config`]), serving with `/healthz` and `/metrics` ([`http`]),
//! tracing and the Prometheus recorder ([`telemetry`]), clean shutdown ([`shutdown`]), and the
//! MLLP accept loop ([`mllp`]), process memory settings ([`memory`]), SOAP, MTOM and SOAP Fault answers ([`soap_http`]); with the
//! `scratch-database` feature, a fresh database per test on SQLite and PostgreSQL
//! ([`scratch_database`], [`on_both_backends!`]).

pub mod config;
pub mod http;
pub mod memory;
pub mod mllp;
#[cfg(feature = "scratch-database")]
pub mod scratch_database;
pub mod shutdown;
pub mod soap_http;
pub mod telemetry;
