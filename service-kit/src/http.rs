//! Serving a service's router with the endpoints every service has: `/healthz` (liveness) and
//! `/metrics` (Prometheus text format), plus per-request metrics.

use std::net::SocketAddr;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::telemetry::metrics_handle;

/// Binds `addr`, reporting the address in the error (a port in use is the usual cause).
pub async fn bind(service: &'static str, addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        std::io::Error::new(e.kind(), format!("{service}: cannot listen on {addr}: {e}"))
    })
}

/// Serves `router` on `listener` with `/healthz`, `/metrics` and request metrics added, until
/// `shutdown` is cancelled; requests in flight are completed before it returns.
pub async fn serve(
    service: &'static str,
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = with_standard_endpoints(service, router);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

/// `router` plus `/healthz`, `/metrics` and the request-metrics layer (also used by tests that
/// drive a service in-process without a socket).
pub fn with_standard_endpoints(service: &'static str, router: Router) -> Router {
    // Install the recorder before the first request is counted.
    let handle = metrics_handle();
    router
        .route("/healthz", get(move || healthz(service)))
        .route("/metrics", get(move || async move { handle.render() }))
        .layer(middleware::from_fn_with_state(service, record_request))
}

async fn healthz(service: &'static str) -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        format!("{{\"status\":\"ok\",\"service\":\"{service}\"}}"),
    )
}

async fn record_request(
    State(service): State<&'static str>,
    request: Request,
    next: Next,
) -> Response {
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "service" => service, "path" => path.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "service" => service, "path" => path)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The loopback address with this port: every service binds to loopback unless configured
/// otherwise.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn healthz_and_metrics_are_served() {
        let listener = bind("test", loopback(0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let router = Router::new().route("/hello", get(|| async { "hi" }));
        let server = tokio::spawn(serve("test", listener, router, shutdown.clone()));

        let client = reqwest::Client::new();
        let health = client
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
        assert!(health.text().await.unwrap().contains("\"ok\""));
        client
            .get(format!("http://{addr}/hello"))
            .send()
            .await
            .unwrap();
        let metrics = client
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("http_requests_total") && metrics.contains("path=\"/hello\""),
            "{metrics}"
        );

        shutdown.cancel();
        server.await.unwrap().unwrap();
    }
}
