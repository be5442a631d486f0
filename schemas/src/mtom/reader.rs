//! Streaming MTOM reader: ITI-41 requests, ITI-43 and RAD-69 responses split part by part.

use bytes::{Buf, Bytes, BytesMut};
use futures::{Stream, StreamExt};
use memchr::memmem::Finder;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::MtomError;
use super::content_type::{MultipartType, strip_angle_brackets};

/// Bounds applied by [`MtomReader`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderLimits {
    /// Largest header block of one MIME part, in bytes.
    pub max_header_bytes: usize,
}

impl Default for ReaderLimits {
    fn default() -> Self {
        ReaderLimits {
            max_header_bytes: 16 * 1024,
        }
    }
}

/// The headers of one MIME part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartHeaders {
    /// `Content-ID`, angle brackets stripped.
    pub content_id: Option<String>,
    /// `Content-Type`, as sent.
    pub content_type: Option<String>,
    /// `Content-Transfer-Encoding`, as sent (only identity encodings get this far).
    pub content_transfer_encoding: Option<String>,
    /// Every header in order, names as sent, folded lines joined.
    pub headers: Vec<(String, String)>,
}

impl PartHeaders {
    /// The first header of that name (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The root part of an MTOM package: the SOAP envelope as an XOP infoset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootPart {
    /// Its MIME headers.
    pub headers: PartHeaders,
    /// The envelope bytes (to be read with `schemas::xml::XmlReader`).
    pub body: Bytes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first delimiter: bytes are discarded.
    Preamble,
    /// Inside the body of the current part.
    Body,
    /// Just after a `--boundary`: the close marker or the next part's headers follow.
    AfterBoundary,
    /// The close delimiter was read; the epilogue is ignored.
    Done,
}

/// Splits an HTTP body stream of `multipart/related` type into MIME parts without buffering parts:
/// chunks are handed out as they arrive (never larger than an incoming chunk plus the delimiter).
pub struct MtomReader<S> {
    stream: S,
    /// `\n--boundary`: the delimiter (its optional leading CR is handled apart).
    delimiter: Finder<'static>,
    start: Option<String>,
    limits: ReaderLimits,
    pending: Bytes,
    state: State,
    parts_started: usize,
    current_content_id: Option<String>,
    received: u64,
    stream_ended: bool,
}

impl<S, E> MtomReader<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    /// A reader over `stream` for the package described by `content_type`.
    pub fn new(stream: S, content_type: &MultipartType) -> Self {
        Self::with_limits(stream, content_type, ReaderLimits::default())
    }

    /// A reader with explicit bounds.
    pub fn with_limits(stream: S, content_type: &MultipartType, limits: ReaderLimits) -> Self {
        let mut delimiter = Vec::with_capacity(content_type.boundary.len() + 3);
        delimiter.extend_from_slice(b"\n--");
        delimiter.extend_from_slice(content_type.boundary.as_bytes());
        MtomReader {
            stream,
            delimiter: Finder::new(&delimiter).into_owned(),
            start: content_type.start.clone(),
            limits,
            // A virtual line end so that a body starting with `--boundary` matches the delimiter.
            pending: Bytes::from_static(b"\n"),
            state: State::Preamble,
            parts_started: 0,
            current_content_id: None,
            received: 0,
            stream_ended: false,
        }
    }

    /// Reads the root part (the SOAP envelope) into memory, up to `max_bytes`.
    ///
    /// The root must be the first part (what every SOAP stack sends); when `start` names another
    /// part the package is refused with [`MtomError::RootNotFirst`].
    pub async fn root(&mut self, max_bytes: usize) -> Result<RootPart, MtomError> {
        if self.parts_started != 0 {
            return Err(MtomError::RootAlreadyRead);
        }
        let headers = self.next_part().await?.ok_or(MtomError::NoRootPart)?;
        if let Some(start) = &self.start
            && headers.content_id.as_deref() != Some(start.as_str())
        {
            return Err(MtomError::RootNotFirst {
                start: start.clone(),
                found: headers.content_id,
            });
        }
        let mut chunks: Vec<Bytes> = Vec::new();
        let mut size = 0usize;
        while let Some(chunk) = self.read_chunk().await? {
            size += chunk.len();
            if size > max_bytes {
                return Err(MtomError::RootTooLarge { limit: max_bytes });
            }
            chunks.push(chunk);
        }
        let body = match chunks.len() {
            0 => Bytes::new(),
            1 => chunks.swap_remove(0),
            _ => Bytes::from(chunks.concat()),
        };
        Ok(RootPart { headers, body })
    }

    /// Moves to the next part, skipping what is left of the current one; `None` after the close
    /// delimiter.
    pub async fn next_part(&mut self) -> Result<Option<PartHeaders>, MtomError> {
        while matches!(self.state, State::Preamble | State::Body) {
            self.scan_body().await?;
        }
        if self.state == State::Done {
            return Ok(None);
        }
        if !self.read_boundary_line_end().await? {
            return Ok(None);
        }
        let headers = self.read_headers().await?;
        self.state = State::Body;
        self.parts_started += 1;
        self.current_content_id.clone_from(&headers.content_id);
        if let Some(encoding) = &headers.content_transfer_encoding {
            let identity = ["binary", "8bit", "7bit"]
                .iter()
                .any(|known| encoding.trim().eq_ignore_ascii_case(known));
            if !identity {
                return Err(MtomError::UnsupportedTransferEncoding {
                    content_id: headers.content_id,
                    encoding: encoding.clone(),
                });
            }
        }
        Ok(Some(headers))
    }

    /// The next chunk of the current part's body, `None` at its end (or before any part).
    pub async fn read_chunk(&mut self) -> Result<Option<Bytes>, MtomError> {
        while self.state == State::Body {
            if let Some(chunk) = self.scan_body().await? {
                return Ok(Some(chunk));
            }
        }
        Ok(None)
    }

    /// `\n--boundary`: what ends a part's body (with the CR before it, when there is one).
    pub fn delimiter(&self) -> &[u8] {
        self.delimiter.needle()
    }

    /// The stream the reader takes its input from, for a caller that moves the rest of the
    /// current part's body itself (see [`MtomReader::take_body_start`]).
    pub fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// The stream, once the reader is done with it (bytes the reader took from it and did not
    /// hand out are dropped).
    pub fn into_stream(self) -> S {
        self.stream
    }

    /// Hands the bytes already read past the current part's headers to a caller that reads the
    /// rest of the body itself, straight from [`MtomReader::stream_mut`], and finds its
    /// delimiter; it gives back what follows the delimiter with
    /// [`MtomReader::resume_after_delimiter`]. `None` outside a part's body.
    pub fn take_body_start(&mut self) -> Option<Bytes> {
        (self.state == State::Body).then(|| std::mem::take(&mut self.pending))
    }

    /// Goes on after a part whose body a caller read itself: `rest` is what followed the
    /// part's delimiter (`--` of the close delimiter, or the line end before the next part's
    /// headers), and `received` the bytes the caller read from the stream.
    pub fn resume_after_delimiter(&mut self, rest: Bytes, received: u64) {
        self.pending = rest;
        self.received += received;
        self.state = State::AfterBoundary;
    }

    /// Streams the rest of the current part into `sink`; returns the bytes written.
    pub async fn copy_part_to<W: AsyncWrite + Unpin>(
        &mut self,
        sink: &mut W,
    ) -> Result<u64, MtomError> {
        let mut written = 0u64;
        while let Some(chunk) = self.read_chunk().await? {
            sink.write_all(&chunk)
                .await
                .map_err(|source| MtomError::Sink {
                    content_id: self.current_content_id.clone(),
                    source,
                })?;
            written += chunk.len() as u64;
        }
        sink.flush().await.map_err(|source| MtomError::Sink {
            content_id: self.current_content_id.clone(),
            source,
        })?;
        Ok(written)
    }

    /// One step in a part body or the preamble: returns body bytes that cannot belong to a
    /// delimiter, or `None` after fetching more input or reaching the delimiter.
    async fn scan_body(&mut self) -> Result<Option<Bytes>, MtomError> {
        let delimiter_len = self.delimiter.needle().len();
        let (emit, next_state) = match self.delimiter.find(&self.pending) {
            Some(at) => {
                let end = if at > 0 && self.pending[at - 1] == b'\r' {
                    at - 1
                } else {
                    at
                };
                (end, Some((at + delimiter_len, State::AfterBoundary)))
            }
            None => (self.safe_prefix_len(), None),
        };
        let chunk = self.pending.split_to(emit);
        if let Some((skip, state)) = next_state {
            self.pending.advance(skip - emit);
            self.state = state;
        } else if chunk.is_empty() && !self.fill().await? {
            return Err(MtomError::Truncated {
                received: self.received,
            });
        }
        if self.state == State::Preamble || chunk.is_empty() {
            return Ok(None);
        }
        Ok(Some(chunk))
    }

    /// Length of the pending prefix that cannot be the start of a delimiter (`\r?\n--boundary`).
    fn safe_prefix_len(&self) -> usize {
        let needle = self.delimiter.needle();
        let len = self.pending.len();
        let tail_from = len.saturating_sub(needle.len() - 1);
        let mut safe = len;
        if let Some(at) = memchr::memrchr(b'\n', &self.pending[tail_from..]) {
            let at = tail_from + at;
            if needle.starts_with(&self.pending[at..]) {
                safe = at;
            }
        }
        if safe > 0 && self.pending[safe - 1] == b'\r' {
            safe -= 1;
        }
        safe
    }

    /// After `--boundary`: consumes `--` (close delimiter, returns false) or transport padding and
    /// the line end (returns true).
    async fn read_boundary_line_end(&mut self) -> Result<bool, MtomError> {
        loop {
            if self.pending.starts_with(b"--") {
                self.state = State::Done;
                return Ok(false);
            }
            if let Some(nl) = memchr::memchr(b'\n', &self.pending) {
                let line = &self.pending[..nl];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if !line.iter().all(|b| *b == b' ' || *b == b'\t') {
                    return Err(MtomError::MalformedDelimiter {
                        found: String::from_utf8_lossy(&line[..line.len().min(64)]).into_owned(),
                    });
                }
                self.pending.advance(nl + 1);
                return Ok(true);
            }
            if self.pending.len() > self.limits.max_header_bytes {
                return Err(MtomError::HeadersTooLarge {
                    limit: self.limits.max_header_bytes,
                });
            }
            if !self.fill().await? {
                return Err(MtomError::Truncated {
                    received: self.received,
                });
            }
        }
    }

    /// Reads header lines up to the empty line that ends them.
    async fn read_headers(&mut self) -> Result<PartHeaders, MtomError> {
        let max = self.limits.max_header_bytes;
        let mut scanned = 0usize;
        let end = loop {
            match memchr::memchr(b'\n', &self.pending[scanned..]) {
                Some(nl) => {
                    let line_start = scanned;
                    scanned += nl + 1;
                    let line = &self.pending[line_start..scanned - 1];
                    if line.is_empty() || line == b"\r" {
                        break scanned;
                    }
                    if scanned > max {
                        return Err(MtomError::HeadersTooLarge { limit: max });
                    }
                }
                None => {
                    if self.pending.len() > max {
                        return Err(MtomError::HeadersTooLarge { limit: max });
                    }
                    if !self.fill().await? {
                        return Err(MtomError::Truncated {
                            received: self.received,
                        });
                    }
                }
            }
        };
        let block = self.pending.split_to(end);
        parse_header_block(&block)
    }

    /// Appends the next non-empty chunk of the body stream to `pending`; false at its end.
    async fn fill(&mut self) -> Result<bool, MtomError> {
        if self.stream_ended {
            return Ok(false);
        }
        loop {
            match self.stream.next().await {
                None => {
                    self.stream_ended = true;
                    return Ok(false);
                }
                Some(Err(error)) => return Err(MtomError::Body(error.into())),
                Some(Ok(chunk)) if chunk.is_empty() => {}
                Some(Ok(chunk)) => {
                    self.received += chunk.len() as u64;
                    if self.pending.is_empty() {
                        self.pending = chunk;
                    } else {
                        let mut joined = BytesMut::with_capacity(self.pending.len() + chunk.len());
                        joined.extend_from_slice(&self.pending);
                        joined.extend_from_slice(&chunk);
                        self.pending = joined.freeze();
                    }
                    return Ok(true);
                }
            }
        }
    }
}

/// Parses `Name: value` lines (LF or CRLF ended, folded continuation lines joined).
fn parse_header_block(block: &[u8]) -> Result<PartHeaders, MtomError> {
    let text = std::str::from_utf8(block)
        .map_err(|_| MtomError::MalformedHeaders("header block is not UTF-8".to_owned()))?;
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            let Some((_, value)) = headers.last_mut() else {
                return Err(MtomError::MalformedHeaders(format!(
                    "continuation line {line:?} before any header"
                )));
            };
            value.push(' ');
            value.push_str(line.trim());
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(MtomError::MalformedHeaders(format!(
                "line {line:?} is not Name: value"
            )));
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(MtomError::MalformedHeaders(format!(
                "invalid header name {name:?}"
            )));
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let mut part = PartHeaders {
        headers,
        ..PartHeaders::default()
    };
    part.content_id = part
        .get("Content-ID")
        .map(|id| strip_angle_brackets(id).to_owned());
    part.content_type = part.get("Content-Type").map(str::to_owned);
    part.content_transfer_encoding = part.get("Content-Transfer-Encoding").map(str::to_owned);
    Ok(part)
}
