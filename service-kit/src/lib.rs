//! What every HTTP service of the broker shares, so each service crate only writes its own
//! transactions: configuration ([`config`]), serving with `/healthz` and `/metrics` ([`http`]),
//! tracing and the Prometheus recorder ([`telemetry`]), and clean shutdown ([`shutdown`]).

pub mod config;
pub mod http;
pub mod shutdown;
pub mod telemetry;
