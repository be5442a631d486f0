//! Crash safety of ITI-41, proven on the repository binary: it is killed (SIGKILL) while a
//! document is stored and offered to the registry, restarted on the same data folder, and a
//! document is served afterwards only if the registry holds it.

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use repository::storage::{DocumentIndex, DocumentState, IndexedDocument};
use schemas::constants::error_code;
use schemas::ebrim::ResponseStatus;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use support::*;

const TEXT: &[u8] = b"Report: no acute findings.\n";

/// What the registry stand-in does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Takes the request and never answers (the repository waits for ITI-42).
    Stall,
    /// Passes the request to the real registry, then withholds its answer.
    ForwardThenStall,
    /// Passes the request to the real registry and returns its answer.
    Forward,
    /// Answers HTTP 503 (a registry that is down).
    Down,
}

struct StandIn {
    mode: Mutex<Mode>,
    registry_url: String,
    /// SOAP actions received, in order.
    received: mpsc::UnboundedSender<String>,
}

/// A registry stand-in on loopback in front of the real registry at `registry_url`.
async fn start_stand_in(
    registry_url: String,
    mode: Mode,
    shutdown: &CancellationToken,
) -> (String, Arc<StandIn>, mpsc::UnboundedReceiver<String>) {
    let (sender, receiver) = mpsc::unbounded_channel();
    let stand_in = Arc::new(StandIn {
        mode: Mutex::new(mode),
        registry_url,
        received: sender,
    });
    let router = axum::Router::new()
        .route("/xds/registry", axum::routing::post(stand_in_endpoint))
        .with_state(stand_in.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/xds/registry", listener.local_addr().unwrap());
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
            .unwrap();
    });
    (url, stand_in, receiver)
}

async fn stand_in_endpoint(
    State(stand_in): State<Arc<StandIn>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let action = content_type
        .split("action=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned();
    let mode = *stand_in.mode.lock().unwrap();
    if mode == Mode::Down {
        let _ = stand_in.received.send(action);
        return (StatusCode::SERVICE_UNAVAILABLE, "registry down").into_response();
    }
    let forwarded = if mode == Mode::Stall {
        None
    } else {
        let answer = reqwest::Client::new()
            .post(&stand_in.registry_url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let content_type = answer
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Some((content_type, answer.bytes().await.unwrap()))
    };
    let _ = stand_in.received.send(action);
    match (mode, forwarded) {
        (Mode::Forward, Some((content_type, bytes))) => {
            (StatusCode::OK, [("content-type", content_type)], bytes).into_response()
        }
        _ => std::future::pending().await,
    }
}

/// The repository binary on `data_dir`, registering with `registry_url`; killed when dropped.
struct RepositoryProcess {
    child: Child,
    url: String,
}

impl RepositoryProcess {
    async fn start(data_dir: &Path, registry_url: &str) -> Self {
        let config = data_dir.join("hie.toml");
        std::fs::write(
            &config,
            format!(
                "[general]\ndata_dir = {:?}\n\n[repository]\nhttp_port = 0\nregistry_url = {registry_url:?}\nregistry_timeout_seconds = 120\nrecovery_interval_seconds = 1\n",
                data_dir.display().to_string()
            ),
        )
        .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_repository"))
            .arg(&config)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the repository binary starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        // Log lines may come first; the endpoint line starts with "repository: SOAP ".
        let url = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(rest) = line.strip_prefix("repository: SOAP ") {
                    return rest.split(' ').next().unwrap_or_default().to_owned();
                }
            }
            panic!("the repository stopped without printing its endpoint");
        })
        .await
        .expect("the repository prints its endpoint within 60 s");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        RepositoryProcess { child, url }
    }

    /// SIGKILL: no cleanup of any kind runs.
    async fn kill_9(mut self) {
        self.child.kill().await.unwrap();
    }
}

fn index_path(data_dir: &Path) -> PathBuf {
    data_dir.join("repository.db")
}

async fn rows(data_dir: &Path) -> Vec<IndexedDocument> {
    DocumentIndex::open(&index_path(data_dir))
        .await
        .unwrap()
        .all()
        .await
        .unwrap()
}

/// Waits (at most 60 s) until `done` holds for the index rows.
async fn wait_for_rows(data_dir: &Path, what: &str, done: impl Fn(&[IndexedDocument]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let current = rows(data_dir).await;
        if done(&current) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: rows are {current:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Stored document files (committed or not).
fn document_files(data_dir: &Path) -> Vec<PathBuf> {
    files_under(&data_dir.join("documents"))
}

struct Crashed {
    dir: tempfile::TempDir,
    unique_id: String,
    shutdown: CancellationToken,
    registry: registry::server::Registry,
    stand_in: Arc<StandIn>,
    stand_in_url: String,
    received: mpsc::UnboundedReceiver<String>,
}

/// Sends an ITI-41 to the repository binary, waits until the stand-in holds its ITI-42 (the
/// document is then stored, its row `pending`), and kills the repository with SIGKILL.
async fn crash_while_registering(mode: Mode) -> Crashed {
    let dir = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    let registry = start_registry(&dir.path().join("registry"), &shutdown).await;
    let (stand_in_url, stand_in, mut received) =
        start_stand_in(registry.endpoint_url(), mode, &shutdown).await;
    let data_dir = dir.path().join("repository");
    std::fs::create_dir_all(&data_dir).unwrap();
    let process = RepositoryProcess::start(&data_dir, &stand_in_url).await;
    let unique_id = new_unique_id();
    let url = process.url.clone();
    let submitted = unique_id.clone();
    let submission = tokio::spawn(async move {
        let _ = send_provide_and_register(
            &url,
            one_document_submission(&submitted),
            vec![("Document01", Content::bytes(TEXT))],
        )
        .await;
    });
    let action = tokio::time::timeout(Duration::from_secs(60), received.recv())
        .await
        .expect("the repository sends ITI-42 within 60 s")
        .unwrap();
    assert_eq!(action, schemas::soap::action::REGISTER_DOCUMENT_SET_B);
    let stored = rows(&data_dir).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].state, DocumentState::Pending);
    assert_eq!(stored[0].document_unique_id, unique_id);
    assert_eq!(document_files(&data_dir).len(), 1);

    process.kill_9().await;
    submission.abort();
    Crashed {
        dir,
        unique_id,
        shutdown,
        registry,
        stand_in,
        stand_in_url,
        received,
    }
}

impl Crashed {
    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("repository")
    }

    /// ITI-43 of the crashed submission's document from the restarted repository.
    async fn retrieve(
        &self,
        process: &RepositoryProcess,
    ) -> (ResponseStatus, Vec<String>, Vec<u8>) {
        let (answer, parts) = retrieve(&process.url, &[(REPOSITORY_UID, &self.unique_id)]).await;
        let codes = error_codes(&answer.response)
            .into_iter()
            .map(str::to_owned)
            .collect();
        let bytes = parts
            .into_iter()
            .next()
            .map(|p| p.bytes)
            .unwrap_or_default();
        (answer.response.status, codes, bytes)
    }
}

impl Drop for Crashed {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_stored_but_never_registered_when_killed_is_never_served_and_is_swept() {
    let crashed = crash_while_registering(Mode::Stall).await;
    let data_dir = crashed.data_dir();

    let process = RepositoryProcess::start(&data_dir, &crashed.registry.endpoint_url()).await;

    let (status, codes, _) = crashed.retrieve(&process).await;
    assert_eq!(status, ResponseStatus::Failure);
    assert_eq!(codes, [error_code::XDS_MISSING_DOCUMENT]);
    wait_for_rows(&data_dir, "the pending row is swept", <[_]>::is_empty).await;
    assert_eq!(document_files(&data_dir), Vec::<PathBuf>::new());
    let (_, codes, _) = crashed.retrieve(&process).await;
    assert_eq!(codes, [error_code::XDS_MISSING_DOCUMENT]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_the_registry_accepted_before_the_kill_is_kept_and_served_after_restart() {
    let crashed = crash_while_registering(Mode::ForwardThenStall).await;
    let data_dir = crashed.data_dir();

    let process = RepositoryProcess::start(&data_dir, &crashed.registry.endpoint_url()).await;

    wait_for_rows(&data_dir, "the row becomes registered", |rows| {
        rows.len() == 1 && rows[0].state == DocumentState::Registered
    })
    .await;
    let (status, codes, bytes) = crashed.retrieve(&process).await;
    assert_eq!(status, ResponseStatus::Success, "{codes:?}");
    assert_eq!(bytes, TEXT);
    assert_eq!(document_files(&data_dir).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_unreachable_at_restart_keeps_the_document_pending_unserved_and_asks_again() {
    let mut crashed = crash_while_registering(Mode::ForwardThenStall).await;
    let data_dir = crashed.data_dir();
    *crashed.stand_in.mode.lock().unwrap() = Mode::Down;

    let process = RepositoryProcess::start(&data_dir, &crashed.stand_in_url).await;

    for _ in 0..2 {
        let asked = tokio::time::timeout(Duration::from_secs(60), crashed.received.recv())
            .await
            .expect("the repository asks the registry again within 60 s")
            .unwrap();
        assert_eq!(asked, schemas::soap::action::REGISTRY_STORED_QUERY);
    }
    let current = rows(&data_dir).await;
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].state, DocumentState::Pending);
    assert_eq!(document_files(&data_dir).len(), 1);
    let (_, codes, _) = crashed.retrieve(&process).await;
    assert_eq!(codes, [error_code::XDS_MISSING_DOCUMENT]);

    *crashed.stand_in.mode.lock().unwrap() = Mode::Forward;

    wait_for_rows(&data_dir, "the row becomes registered", |rows| {
        rows.len() == 1 && rows[0].state == DocumentState::Registered
    })
    .await;
    let (status, _, bytes) = crashed.retrieve(&process).await;
    assert_eq!(status, ResponseStatus::Success);
    assert_eq!(bytes, TEXT);
}
