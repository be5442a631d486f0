//! Tracing subscriber and the process-wide Prometheus metrics recorder.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Installs the `tracing` subscriber (filter from `RUST_LOG`, default `info`). Calling it again
/// is harmless.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second call (tests, several services in one process) finds a subscriber already set.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

/// The process-wide Prometheus recorder, installed on first use. All services of one process
/// (`hie up`) share it; their series are told apart by the `service` label.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only when another recorder was installed first (by a test harness, say);
            // the handle then renders our own empty registry, which is still valid output.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}
