//! The load clients' SOAP over HTTP: each request a full SOAP 1.2 envelope with a fresh
//! wsa:MessageID, each answer read whole and refused unless it is HTTP 200 with a Success
//! RegistryResponse / AdhocQueryResponse status.
//!
//! Two clients: `lean` (the default), one HTTP/1.1 connection per load client task, opened
//! before the measured window and kept alive, with the request's Content-Type and Host prepared
//! once per scenario, as `wrk` drives a server; and `reqwest`, the pooled client an EMR would
//! use (it costs about 20 us of CPU per request more, see the bench's header).

use std::net::SocketAddr;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use schemas::constants::status;
use schemas::soap;
use tokio::net::TcpStream;
use tokio::runtime::Handle;
use tokio::sync::Mutex;

use crate::BenchError;

/// Which HTTP client the load clients use.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    Lean,
    Reqwest,
}

impl ClientKind {
    pub fn parse(text: &str) -> Result<ClientKind, BenchError> {
        match text {
            "lean" => Ok(ClientKind::Lean),
            "reqwest" => Ok(ClientKind::Reqwest),
            other => Err(BenchError::Usage(format!(
                "--http-client is lean or reqwest, not {other:?}"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Lean => "lean (one hyper HTTP/1.1 connection per client)",
            ClientKind::Reqwest => "reqwest",
        }
    }
}

/// A SOAP action with its Content-Type header prepared once.
pub struct Action {
    name: &'static str,
    content_type: HeaderValue,
}

impl Action {
    pub fn new(name: &'static str) -> Result<Action, BenchError> {
        let content_type = HeaderValue::from_str(&soap::content_type(name))
            .map_err(|e| BenchError::Answer(format!("Content-Type of {name}: {e}")))?;
        Ok(Action { name, content_type })
    }
}

enum Transport {
    Lean {
        /// One connection per load client, indexed by the client's number.
        connections: Vec<Mutex<SendRequest<Full<Bytes>>>>,
        path: String,
        host: HeaderValue,
    },
    Reqwest(reqwest::Client),
}

/// The registry's SOAP endpoint as the load clients reach it.
pub struct SoapClient {
    endpoint: String,
    transport: Transport,
}

impl SoapClient {
    /// A client for `clients` concurrent load clients; the lean one connects them all now, with
    /// each connection driven by a task on `runtime`.
    pub async fn connect(
        kind: ClientKind,
        runtime: &Handle,
        addr: SocketAddr,
        path: &str,
        clients: u32,
    ) -> Result<SoapClient, BenchError> {
        let endpoint = format!("http://{addr}{path}");
        let transport = match kind {
            ClientKind::Reqwest => Transport::Reqwest(
                reqwest::Client::builder()
                    .pool_max_idle_per_host(clients as usize)
                    .tcp_nodelay(true)
                    .build()?,
            ),
            ClientKind::Lean => {
                let mut connections = Vec::with_capacity(clients as usize);
                for _ in 0..clients {
                    let stream = TcpStream::connect(addr)
                        .await
                        .map_err(|e| BenchError::Io(endpoint.clone().into(), e))?;
                    stream
                        .set_nodelay(true)
                        .map_err(|e| BenchError::Io(endpoint.clone().into(), e))?;
                    let (sender, connection) =
                        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
                    runtime.spawn(async move {
                        if let Err(error) = connection.await {
                            eprintln!("registry_load: load client connection: {error}");
                        }
                    });
                    connections.push(Mutex::new(sender));
                }
                Transport::Lean {
                    connections,
                    path: path.to_owned(),
                    host: HeaderValue::from_str(&addr.to_string())
                        .map_err(|e| BenchError::Answer(format!("Host {addr}: {e}")))?,
                }
            }
        };
        Ok(SoapClient {
            endpoint,
            transport,
        })
    }

    /// Sends `body` as `action` from load client `client` and returns the answer, refusing
    /// anything but an HTTP 200 whose response status is Success.
    pub async fn call(
        &self,
        client: u32,
        action: &Action,
        body: &str,
    ) -> Result<Bytes, BenchError> {
        let (envelope, _) = soap::write_request_envelope(action.name, &self.endpoint, body);
        let (http_status, answer) = match &self.transport {
            Transport::Reqwest(http) => {
                let response = http
                    .post(&self.endpoint)
                    .header(CONTENT_TYPE, action.content_type.clone())
                    .body(envelope)
                    .send()
                    .await?;
                let http_status = response.status();
                (http_status, response.bytes().await?)
            }
            Transport::Lean {
                connections,
                path,
                host,
            } => {
                let connection = connections.get(client as usize).ok_or_else(|| {
                    BenchError::Answer(format!("no connection for load client {client}"))
                })?;
                let request = Request::post(path.as_str())
                    .header(HOST, host.clone())
                    .header(CONTENT_TYPE, action.content_type.clone())
                    .body(Full::new(Bytes::from(envelope)))?;
                let mut sender = connection.lock().await;
                sender.ready().await?;
                let response = sender.send_request(request).await?;
                let http_status = response.status();
                (
                    http_status,
                    response.into_body().collect().await?.to_bytes(),
                )
            }
        };
        // The status attribute comes in the first bytes of the response element.
        let head = &answer[..answer.len().min(2048)];
        let success = head
            .windows(status::RESPONSE_SUCCESS.len())
            .any(|w| w == status::RESPONSE_SUCCESS.as_bytes());
        if http_status != StatusCode::OK || !success {
            return Err(BenchError::Answer(format!(
                "HTTP {http_status}: {}",
                String::from_utf8_lossy(head)
            )));
        }
        Ok(answer)
    }
}
