//! The repository's HTTP/1.1 connections, with ITI-41 uploads read straight from the socket.
//!
//! Every connection starts here: the request head is read and parsed (`httparse`). An ITI-41
//! Provide and Register request in MTOM that announces its action in its Content-Type (the
//! `action` parameter, or the one in `start-info`, as SOAP 1.2 MTOM senders write it) and is
//! framed by `Content-Length` or `chunked` is served here: the router's endpoint gets the body as
//! a [`DirectUpload`] in the request's extensions and reads each document straight from the
//! socket into the file store's aligned buffers ([`DirectParts`]), so that the kernel's copy out
//! of the socket is the only copy of the document's bytes on the request task (through hyper
//! they are read into its buffer, then copied into the aligned ones). The answer is written here
//! and the connection goes on with the next request. Any other request, and everything after
//! it on the same connection, is handed to hyper as the bytes arrived (nothing of it consumed),
//! and served by the same router.

mod body;
mod parts;

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::http::{self, HeaderMap, HeaderName, HeaderValue, Method, Request, Version, header};
use axum::response::Response;
use bytes::{Buf, Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use schemas::mtom::MultipartType;
use schemas::soap::action;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

pub use body::DirectBody;
use body::Framing;
pub use parts::DirectParts;

use crate::service::ENDPOINT_PATH;
use crate::storage::{BufferPool, batch_pool};

/// Largest request head read before it is handed to hyper (which refuses it).
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most headers in a request head parsed here.
const MAX_HEADERS: usize = 64;
/// Largest answer frame copied into the bytes of the next write (head, framing); larger ones are
/// written as they are.
const COALESCED_FRAME_BYTES: usize = 16 * 1024;
/// Most body bytes read and dropped after the endpoint answered (an epilogue after the close
/// delimiter); a longer rest closes the connection after the answer.
const MAX_LEFT_OVER_BYTES: u64 = 1024 * 1024;

/// An ITI-41 request body read from its connection, for the endpoint: it takes the body, reads
/// the request from it, and gives it back before answering (the answer is written on the same
/// connection).
#[derive(Clone)]
pub struct DirectUpload {
    body: Arc<Mutex<Option<DirectBody>>>,
    pool: BufferPool,
}

impl DirectUpload {
    /// The body (once).
    pub fn take(&self) -> Option<DirectBody> {
        self.body
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Gives the body back once the request was read.
    pub fn give_back(&self, body: DirectBody) {
        *self.body.lock().unwrap_or_else(PoisonError::into_inner) = Some(body);
    }

    /// The aligned buffers documents are read into.
    pub fn pool(&self) -> &BufferPool {
        &self.pool
    }
}

/// Serves `app` (the endpoint, `/healthz`, `/metrics`) on `listener` until `shutdown` is
/// cancelled, then waits for the requests in flight; idle connections are closed.
pub async fn serve(listener: TcpListener, app: Router, shutdown: CancellationToken) {
    let pool = batch_pool();
    let connections = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        match accepted {
            Ok((stream, _)) => {
                connections.spawn(connection(
                    stream,
                    app.clone(),
                    pool.clone(),
                    shutdown.clone(),
                ));
            }
            Err(error) => {
                // Out of descriptors and the like: let connections end before accepting more.
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

/// One connection: ITI-41 uploads served here one after another, until a request of another kind
/// hands the connection to hyper.
async fn connection(
    mut stream: TcpStream,
    app: Router,
    pool: BufferPool,
    shutdown: CancellationToken,
) {
    // Answers are written whole; do not hold their last segment back (Nagle).
    let _ = stream.set_nodelay(true);
    let mut raw = BytesMut::with_capacity(8 * 1024);
    loop {
        if raw.is_empty() {
            tokio::select! {
                ready = stream.readable() => if ready.is_err() { return },
                () = shutdown.cancelled() => return,
            }
        }
        let head = match read_head(&mut stream, &mut raw).await {
            Ok(Some(head)) => head,
            Ok(None) | Err(_) => return,
        };
        let Some(upload) = head else {
            hand_over(stream, raw, app, shutdown).await;
            return;
        };
        match serve_upload(stream, raw, upload, &app, &pool, &shutdown).await {
            Some((next_stream, next_raw)) => (stream, raw) = (next_stream, next_raw),
            None => return,
        }
    }
}

/// An ITI-41 request this module serves: its head, parsed.
struct UploadHead {
    /// Length of the head in the bytes read.
    len: usize,
    request: http::request::Parts,
    framing: Framing,
    keep_alive: bool,
    expect_continue: bool,
}

/// Reads until `raw` holds a whole request head: `Some(Some(head))` for an upload served here,
/// `Some(None)` for any other request (or bytes that are not one: hyper answers them), `None`
/// when the connection closed between requests.
async fn read_head(
    stream: &mut TcpStream,
    raw: &mut BytesMut,
) -> io::Result<Option<Option<UploadHead>>> {
    loop {
        if !raw.is_empty() {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut request = httparse::Request::new(&mut headers);
            match request.parse(raw) {
                Ok(httparse::Status::Complete(len)) => {
                    return Ok(Some(upload_head(&request, len)));
                }
                Ok(httparse::Status::Partial) if raw.len() <= MAX_HEAD_BYTES => {}
                Ok(httparse::Status::Partial) | Err(_) => return Ok(Some(None)),
            }
        }
        raw.reserve(8 * 1024);
        if stream.read_buf(raw).await? == 0 {
            return Ok(if raw.is_empty() { None } else { Some(None) });
        }
    }
}

/// The head of an ITI-41 MTOM upload that announces its action, on HTTP/1.1, with a body
/// framing this module reads; `None` for anything else.
fn upload_head(request: &httparse::Request<'_, '_>, len: usize) -> Option<UploadHead> {
    if request.method != Some("POST")
        || request.path != Some(ENDPOINT_PATH)
        || request.version != Some(1)
    {
        return None;
    }
    let mut headers = HeaderMap::with_capacity(request.headers.len());
    for h in request.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).ok()?;
        let value = HeaderValue::from_bytes(h.value).ok()?;
        headers.append(name, value);
    }
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    if MultipartType::announced_action(content_type).as_deref()
        != Some(action::PROVIDE_AND_REGISTER_DOCUMENT_SET_B)
        || headers.contains_key(header::UPGRADE)
    {
        return None;
    }
    let framing = framing(&headers)?;
    let expect_continue = match headers.get(header::EXPECT) {
        None => false,
        Some(value) if value.as_bytes().eq_ignore_ascii_case(b"100-continue") => true,
        Some(_) => return None,
    };
    let keep_alive = !headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("close"));
    let (mut parts, ()) = Request::new(()).into_parts();
    parts.method = Method::POST;
    parts.uri = http::Uri::from_static(ENDPOINT_PATH);
    parts.version = Version::HTTP_11;
    parts.headers = headers;
    Some(UploadHead {
        len,
        request: parts,
        framing,
        keep_alive,
        expect_continue,
    })
}

/// `chunked` (alone) or one `Content-Length`; `None` for any other framing (hyper answers it).
fn framing(headers: &HeaderMap) -> Option<Framing> {
    let mut encodings = headers.get_all(header::TRANSFER_ENCODING).iter();
    let mut lengths = headers.get_all(header::CONTENT_LENGTH).iter();
    match (encodings.next(), lengths.next()) {
        (Some(encoding), None) => {
            let chunked = encoding
                .as_bytes()
                .trim_ascii()
                .eq_ignore_ascii_case(b"chunked");
            (chunked && encodings.next().is_none()).then_some(Framing::Chunked)
        }
        (None, Some(length)) => {
            let length = length.to_str().ok()?.trim().parse::<u64>().ok()?;
            lengths.next().is_none().then_some(Framing::Length(length))
        }
        _ => None,
    }
}

/// Serves one upload; the connection for the next request, unless it closes.
async fn serve_upload(
    mut stream: TcpStream,
    mut raw: BytesMut,
    head: UploadHead,
    app: &Router,
    pool: &BufferPool,
    shutdown: &CancellationToken,
) -> Option<(TcpStream, BytesMut)> {
    raw.advance(head.len);
    metrics::counter!("repository_direct_uploads_total").increment(1);
    if head.expect_continue && raw.is_empty() {
        stream
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .ok()?;
    }
    let upload = DirectUpload {
        body: Arc::new(Mutex::new(Some(DirectBody::new(stream, raw, head.framing)))),
        pool: pool.clone(),
    };
    let mut request = Request::from_parts(head.request, Body::empty());
    request.extensions_mut().insert(upload.clone());
    let response = match app.clone().oneshot(request).await {
        Ok(response) => response,
        Err(infallible) => match infallible {},
    };
    // The endpoint gives the body back before answering; without it there is nothing to answer on.
    let mut body = upload.take()?;
    let finished = read_left_over(&mut body).await;
    let (mut stream, raw) = body.into_connection();
    let keep_alive = head.keep_alive && finished && !shutdown.is_cancelled();
    write_response(&mut stream, response, keep_alive)
        .await
        .ok()?;
    if keep_alive {
        Some((stream, raw))
    } else {
        let _ = stream.shutdown().await;
        None
    }
}

/// Reads and drops what is left of the body (up to [`MAX_LEFT_OVER_BYTES`]); whether it ended.
async fn read_left_over(body: &mut DirectBody) -> bool {
    let until = body.decoded() + MAX_LEFT_OVER_BYTES;
    while !body.is_finished() && body.decoded() <= until {
        if !matches!(body.next_chunk().await, Ok(Some(_))) {
            break;
        }
    }
    body.is_finished()
}

/// Writes `response` as HTTP/1.1: with its length when the body knows it, else chunked.
async fn write_response(
    stream: &mut TcpStream,
    response: Response,
    keep_alive: bool,
) -> io::Result<()> {
    let (parts, mut body) = response.into_parts();
    let length = http_body::Body::size_hint(&body).exact();
    let mut head = format!("HTTP/1.1 {}\r\n", parts.status).into_bytes();
    for (name, value) in &parts.headers {
        if name == header::CONTENT_LENGTH
            || name == header::TRANSFER_ENCODING
            || name == header::CONNECTION
        {
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    if !parts.headers.contains_key(header::DATE) {
        head.extend_from_slice(b"date: ");
        head.extend_from_slice(httpdate::fmt_http_date(SystemTime::now()).as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    match length {
        Some(length) => head.extend_from_slice(format!("content-length: {length}\r\n").as_bytes()),
        None => head.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    if !keep_alive {
        head.extend_from_slice(b"connection: close\r\n");
    }
    head.extend_from_slice(b"\r\n");
    // The head and chunk framing are gathered with small frames into one write; a large frame
    // is written from its own bytes rather than copied.
    let mut pending = head;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(io::Error::other)?.into_data() else {
            continue;
        };
        if data.is_empty() {
            continue;
        }
        if length.is_none() {
            pending.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
        }
        if data.len() <= COALESCED_FRAME_BYTES {
            pending.extend_from_slice(&data);
        } else {
            stream.write_all(&pending).await?;
            pending.clear();
            stream.write_all(&data).await?;
        }
        if length.is_none() {
            pending.extend_from_slice(b"\r\n");
        }
        if pending.len() > COALESCED_FRAME_BYTES {
            stream.write_all(&pending).await?;
            pending.clear();
        }
    }
    if length.is_none() {
        pending.extend_from_slice(b"0\r\n\r\n");
    }
    stream.write_all(&pending).await?;
    stream.flush().await
}

/// Hands the connection to hyper, the bytes already read first.
async fn hand_over(stream: TcpStream, read: BytesMut, app: Router, shutdown: CancellationToken) {
    let io = TokioIo::new(Rewind {
        read: read.freeze(),
        stream,
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, TowerToHyperService::new(app))
        .with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        served = connection.as_mut() => {
            if let Err(error) = served {
                tracing::debug!(%error, "connection ended with an error");
            }
            return;
        }
        () = shutdown.cancelled() => connection.as_mut().graceful_shutdown(),
    }
    if let Err(error) = connection.await {
        tracing::debug!(%error, "connection ended with an error");
    }
}

/// A connection whose first bytes were already read.
struct Rewind {
    read: Bytes,
    stream: TcpStream,
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.read.is_empty() {
            return Pin::new(&mut self.stream).poll_read(cx, buf);
        }
        let n = buf.remaining().min(self.read.len());
        buf.put_slice(&self.read[..n]);
        self.read.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
