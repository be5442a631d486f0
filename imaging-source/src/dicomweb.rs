//! DICOMweb client of a PACS (DICOM PS3.18): QIDO-RS study search, WADO-RS study metadata (turned
//! into a [`Study`], or into the [`InstanceCatalog`] the serving side looks instances up in) and
//! WADO-RS study, series and instance retrieval read part by part out of the multipart/related
//! answer as it arrives, each part named by the SOP Instance UID of its file meta group.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use futures::StreamExt;
use futures::stream::BoxStream;
use reqwest::Url;
use reqwest::header::ACCEPT;
use schemas::mtom::{MtomError, MtomReader, MultipartType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::study::{InstanceHeader, Study, StudyError, StudySet, is_valid_uid};

/// Why a DICOMweb exchange failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DicomWebError {
    /// The base URL is not an absolute http(s) URL.
    #[error("invalid DICOMweb base URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// A UID given is not a valid DICOM UID.
    #[error("{what} {value:?} is not a valid DICOM UID")]
    InvalidUid { what: &'static str, value: String },
    /// A request that cannot be sent, a broken answer.
    #[error("{url}: {reason}")]
    Http { url: String, reason: String },
    /// The PACS cannot be reached (connection refused, no route).
    #[error("{url}: cannot connect: {reason}")]
    Connect { url: String, reason: String },
    /// The PACS did not accept the connection, or sent nothing, within its [`PacsTimeouts`].
    #[error("{url}: timed out: {reason}")]
    Timeout { url: String, reason: String },
    /// The PACS answered an HTTP error status.
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    /// The study (or instance) does not exist on the PACS.
    #[error("{url}: not found")]
    NotFound { url: String },
    /// The DICOM JSON answer cannot be read.
    #[error("{url}: invalid DICOM JSON: {reason}")]
    Json { url: String, reason: String },
    /// The multipart/related answer cannot be read.
    #[error("{url}: invalid multipart answer: {reason}")]
    Multipart { url: String, reason: String },
    /// An instance's metadata lacks the UIDs that place it in the study.
    #[error("{url}: {source}")]
    Metadata { url: String, source: StudyError },
    /// A part of a retrieve answer does not start with a readable Part-10 file meta group.
    #[error("{url}: part {index} has no readable DICOM file meta group: {reason}")]
    PartHeader {
        url: String,
        index: usize,
        reason: String,
    },
}

impl DicomWebError {
    /// The PACS cannot be reached or stopped answering ([`DicomWebError::Connect`],
    /// [`DicomWebError::Timeout`]): another request at once would only fail the same way.
    pub fn pacs_unreachable(&self) -> bool {
        matches!(
            self,
            DicomWebError::Connect { .. } | DicomWebError::Timeout { .. }
        )
    }
}

/// Media type of a DICOM Part-10 instance in a WADO-RS answer.
const DICOM_MEDIA_TYPE: &str = "application/dicom";
/// Length of the Part-10 preamble, `DICM` and the File Meta Information Group Length element.
const META_LENGTH_END: usize = 128 + 4 + 12;
/// Bound of a file meta group read from a part (real ones are well under 1 KiB).
const MAX_META_BYTES: usize = 64 * 1024;
/// Studies whose instance catalog is kept.
const CATALOG_CACHE_STUDIES: usize = 64;
/// How long a cached catalog is used before the PACS is asked again.
const CATALOG_CACHE_TTL: Duration = Duration::from_secs(300);

/// What a WADO-RS retrieve asks the PACS for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RetrieveScope {
    /// Retrieve Study: every instance of the study.
    Study { study: String },
    /// Retrieve Series: every instance of one series.
    Series { study: String, series: String },
    /// Retrieve Instance.
    Instance {
        study: String,
        series: String,
        sop: String,
    },
}

impl RetrieveScope {
    /// The resource path under the DICOMweb root, once every UID is checked.
    fn path(&self) -> Result<String, DicomWebError> {
        match self {
            RetrieveScope::Study { study } => {
                check_uid("Study Instance UID", study)?;
                Ok(format!("/studies/{study}"))
            }
            RetrieveScope::Series { study, series } => {
                check_uid("Study Instance UID", study)?;
                check_uid("Series Instance UID", series)?;
                Ok(format!("/studies/{study}/series/{series}"))
            }
            RetrieveScope::Instance { study, series, sop } => {
                check_uid("Study Instance UID", study)?;
                check_uid("Series Instance UID", series)?;
                check_uid("SOP Instance UID", sop)?;
                Ok(format!("/studies/{study}/series/{series}/instances/{sop}"))
            }
        }
    }
}

/// The WADO-RS Accept header (PS3.18 8.7.3.5.2): as stored when `transfer_syntaxes` is empty,
/// else one media range per acceptable transfer syntax.
pub fn dicom_accept(transfer_syntaxes: &[String]) -> String {
    if transfer_syntaxes.is_empty() {
        return format!("multipart/related; type=\"{DICOM_MEDIA_TYPE}\"");
    }
    transfer_syntaxes
        .iter()
        .map(|ts| format!("multipart/related; type=\"{DICOM_MEDIA_TYPE}\"; transfer-syntax={ts}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One instance of a PACS catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    pub series_instance_uid: String,
    pub sop_instance_uid: String,
    /// The transfer syntax the PACS stores it in, when its metadata says.
    pub transfer_syntax: Option<String>,
}

/// The SOP instances of one study held by the PACS, in the PACS's order.
#[derive(Debug, Clone, Default)]
pub struct InstanceCatalog {
    entries: Vec<CatalogEntry>,
    by_uid: HashMap<(String, String), usize>,
}

impl InstanceCatalog {
    /// The catalog of the instances of `study`.
    pub fn of(study: &Study) -> Self {
        let entries: Vec<CatalogEntry> = study
            .series
            .iter()
            .flat_map(|series| {
                series.instances.iter().map(|instance| CatalogEntry {
                    series_instance_uid: series.series_instance_uid.clone(),
                    sop_instance_uid: instance.sop_instance_uid.clone(),
                    transfer_syntax: instance.transfer_syntax_uid.clone(),
                })
            })
            .collect();
        let by_uid = entries
            .iter()
            .enumerate()
            .map(|(position, e)| {
                (
                    (e.series_instance_uid.clone(), e.sop_instance_uid.clone()),
                    position,
                )
            })
            .collect();
        InstanceCatalog { entries, by_uid }
    }

    /// Every instance, in the PACS's order.
    pub fn entries(&self) -> &[CatalogEntry] {
        &self.entries
    }

    /// The instance's position in the PACS's order, if the PACS holds it.
    pub fn position(&self, series_uid: &str, sop_uid: &str) -> Option<usize> {
        self.by_uid
            .get(&(series_uid.to_owned(), sop_uid.to_owned()))
            .copied()
    }

    /// The instance, if the PACS holds it.
    pub fn get(&self, series_uid: &str, sop_uid: &str) -> Option<&CatalogEntry> {
        self.position(series_uid, sop_uid)
            .map(|position| &self.entries[position])
    }

    /// How many instances of the study (or of one of its series) the PACS holds.
    pub fn count(&self, series_uid: Option<&str>) -> usize {
        match series_uid {
            None => self.entries.len(),
            Some(series) => self
                .entries
                .iter()
                .filter(|e| e.series_instance_uid == series)
                .count(),
        }
    }
}

/// A catalog and when it was read.
type CachedCatalog = (Instant, Arc<InstanceCatalog>);

/// Recently read catalogs by Study Instance UID, shared by the clones of a client.
#[derive(Debug, Clone, Default)]
struct CatalogCache {
    studies: Arc<Mutex<HashMap<String, CachedCatalog>>>,
}

impl CatalogCache {
    fn get(&self, study_uid: &str) -> Option<Arc<InstanceCatalog>> {
        let studies = self.studies.lock().ok()?;
        studies
            .get(study_uid)
            .filter(|(read, _)| read.elapsed() < CATALOG_CACHE_TTL)
            .map(|(_, catalog)| catalog.clone())
    }

    fn put(&self, study_uid: &str, catalog: Arc<InstanceCatalog>) {
        let Ok(mut studies) = self.studies.lock() else {
            return;
        };
        studies.retain(|_, (read, _)| read.elapsed() < CATALOG_CACHE_TTL);
        if studies.len() >= CATALOG_CACHE_STUDIES
            && let Some(oldest) = studies
                .iter()
                .min_by_key(|(_, (read, _))| *read)
                .map(|(uid, _)| uid.clone())
        {
            studies.remove(&oldest);
        }
        studies.insert(study_uid.to_owned(), (Instant::now(), catalog));
    }
}

/// The body of a PACS answer, as received.
type AnswerBody = BoxStream<'static, Result<Bytes, std::io::Error>>;

/// How long the PACS may keep a request waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacsTimeouts {
    /// To open the TCP connection.
    pub connect: Duration,
    /// With no byte received (the answer's headers, or the next bytes of its body) nor any
    /// accepted: an answer that stalls this long mid-stream ends with [`DicomWebError::Timeout`].
    pub idle: Duration,
}

impl Default for PacsTimeouts {
    /// 10 s to connect, 60 s idle (a PACS may think a while before the first byte of a large
    /// study's metadata, never a minute between two pieces of an answer).
    fn default() -> Self {
        PacsTimeouts {
            connect: Duration::from_secs(10),
            idle: Duration::from_secs(60),
        }
    }
}

/// Bytes asked of the socket at each read of a retrieve answer: the pieces handed on are slices
/// of these reads, so a piece is as large as what the PACS had sent (up to this).
const ANSWER_READ_BYTES: usize = 256 * 1024;
/// Below this much room left in the read buffer, the next read goes into a new one.
const ANSWER_MIN_READ: usize = 16 * 1024;
/// Read buffers of an answer kept once read (their pieces still in flight) to be read into again
/// once those pieces are dropped: a buffer never used before costs a page fault per 4 KiB (the
/// kernel zeroes each page), which was a sixth of the relay's CPU; 20 of them (5 MiB) cover what
/// the relay reads ahead of the consumer (`source::PACS_KIB_AHEAD`) and the writes under way.
const ANSWER_SPENT_BUFFERS: usize = 20;
/// Bound of an answer's status line and headers, and of a chunk-size or trailer line.
const MAX_ANSWER_HEAD: usize = 64 * 1024;
/// Headers of an answer read at most.
const MAX_ANSWER_HEADERS: usize = 100;

/// How the end of an answer's body is known (RFC 9112 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// `Content-Length`: the bytes still to come.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked(ChunkState),
    /// Neither: the body ends with the connection (Orthanc's WADO-RS answers).
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Before a chunk-size line.
    Size,
    /// In a chunk's data: the bytes still to come.
    Data(u64),
    /// Before the CRLF that ends a chunk's data.
    DataEnd,
    /// In the trailer section, after the last chunk.
    Trailer,
    /// After the trailer section.
    Done,
}

/// What [`PacsAnswer::take`] found in the bytes read so far.
enum Taken {
    Piece(Bytes),
    End,
    NeedMore,
}

/// The status and Content-Type of a PACS answer.
struct AnswerHead {
    status: u16,
    content_type: String,
}

/// A WADO-RS retrieve answer read off its own HTTP/1.1 connection (`Connection: close`) by the
/// task that relays it: no connection task of its own, so a piece goes from the socket to the
/// reader without waking another task, and the socket is read [`ANSWER_READ_BYTES`] at a time
/// (hyper's client hands a body of unannounced length, as Orthanc's, out in 8 KiB pieces, each a
/// chunk of our answer and a trip through the multipart reader). Every wait on the PACS is
/// bounded by [`PacsTimeouts`].
pub struct PacsAnswer {
    stream: TcpStream,
    buffer: BytesMut,
    /// Earlier read buffers, oldest first (see [`ANSWER_SPENT_BUFFERS`]).
    spent: VecDeque<BytesMut>,
    framing: Framing,
    idle: Duration,
}

impl PacsAnswer {
    /// Sends `GET url` with `Accept: accept` over a new connection: the answer's status and
    /// Content-Type, and its body.
    async fn get(
        url: &str,
        accept: &str,
        timeouts: PacsTimeouts,
    ) -> Result<(AnswerHead, PacsAnswer), DicomWebError> {
        let http = |reason: String| DicomWebError::Http {
            url: url.to_owned(),
            reason,
        };
        let parsed = Url::parse(url).map_err(|e| http(e.to_string()))?;
        if parsed.scheme() != "http" {
            return Err(http(format!(
                "scheme {:?} is not supported (no TLS)",
                parsed.scheme()
            )));
        }
        let host = parsed
            .host_str()
            .ok_or_else(|| http("no host".to_owned()))?;
        let port = parsed.port_or_known_default().unwrap_or(80);
        let authority = match parsed.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let target = match parsed.query() {
            Some(query) => format!("{}?{query}", parsed.path()),
            None => parsed.path().to_owned(),
        };
        if [target.as_str(), authority.as_str(), accept]
            .iter()
            .any(|value| value.bytes().any(|b| b.is_ascii_control() && b != b'\t'))
        {
            return Err(http("a control character in the request head".to_owned()));
        }
        let head = format!(
            "GET {target} HTTP/1.1\r\nHost: {authority}\r\nAccept: {accept}\r\n\
             Connection: close\r\n\r\n"
        );
        // An IPv6 address is written in brackets in a URL, not in a socket address.
        let address = host.trim_start_matches('[').trim_end_matches(']');
        let stream =
            match tokio::time::timeout(timeouts.connect, TcpStream::connect((address, port))).await
            {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    return Err(DicomWebError::Connect {
                        url: url.to_owned(),
                        reason: e.to_string(),
                    });
                }
                Err(_) => {
                    return Err(DicomWebError::Timeout {
                        url: url.to_owned(),
                        reason: format!("no connection after {:?}", timeouts.connect),
                    });
                }
            };
        stream
            .set_nodelay(true)
            .map_err(|e| http(format!("TCP_NODELAY: {e}")))?;
        let mut answer = PacsAnswer {
            stream,
            buffer: BytesMut::new(),
            spent: VecDeque::with_capacity(ANSWER_SPENT_BUFFERS),
            framing: Framing::Close,
            idle: timeouts.idle,
        };
        let io_error = |e: std::io::Error| answer_io_error(url, e);
        match tokio::time::timeout(timeouts.idle, answer.stream.write_all(head.as_bytes())).await {
            Ok(written) => written.map_err(io_error)?,
            Err(_) => return Err(io_error(idle_error(timeouts.idle))),
        }
        loop {
            let parsed = {
                let mut headers = [httparse::EMPTY_HEADER; MAX_ANSWER_HEADERS];
                let mut response = httparse::Response::new(&mut headers);
                match response.parse(&answer.buffer) {
                    Ok(httparse::Status::Complete(length)) => {
                        let values = |name: &str| {
                            response
                                .headers
                                .iter()
                                .filter(|h| h.name.eq_ignore_ascii_case(name))
                                .map(|h| String::from_utf8_lossy(h.value).trim().to_owned())
                                .collect::<Vec<_>>()
                        };
                        Some((
                            length,
                            response.code.unwrap_or_default(),
                            values("content-type"),
                            values("content-length"),
                            values("transfer-encoding"),
                        ))
                    }
                    Ok(httparse::Status::Partial) => None,
                    Err(e) => return Err(http(format!("invalid answer head: {e}"))),
                }
            };
            let Some((length, status, content_type, content_length, transfer_encoding)) = parsed
            else {
                if answer.buffer.len() > MAX_ANSWER_HEAD {
                    return Err(http(format!(
                        "an answer head longer than {MAX_ANSWER_HEAD} bytes"
                    )));
                }
                if answer.fill().await.map_err(io_error)? == 0 {
                    return Err(http(
                        "the connection ended before the answer's head".to_owned(),
                    ));
                }
                continue;
            };
            answer.buffer.advance(length);
            if (100..200).contains(&status) {
                // An interim answer: the final one follows.
                continue;
            }
            answer.framing = if status == 204 || status == 304 {
                Framing::Length(0)
            } else if let Some(codings) = transfer_encoding.last() {
                let chunked = codings
                    .rsplit(',')
                    .next()
                    .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
                if chunked {
                    Framing::Chunked(ChunkState::Size)
                } else {
                    Framing::Close
                }
            } else if let Some(first) = content_length.first() {
                if content_length.iter().any(|other| other != first) {
                    return Err(http("conflicting Content-Length headers".to_owned()));
                }
                Framing::Length(
                    first
                        .parse()
                        .map_err(|_| http(format!("invalid Content-Length {first:?}")))?,
                )
            } else {
                Framing::Close
            };
            let head = AnswerHead {
                status,
                content_type: content_type.into_iter().next().unwrap_or_default(),
            };
            return Ok((head, answer));
        }
    }

    /// Reads what the socket holds (at most [`ANSWER_READ_BYTES`]) after the bytes not taken
    /// yet; 0 at the end of the connection.
    async fn fill(&mut self) -> std::io::Result<usize> {
        if self.buffer.capacity() - self.buffer.len() < ANSWER_MIN_READ {
            self.renew_buffer();
        }
        match tokio::time::timeout(self.idle, self.stream.read_buf(&mut self.buffer)).await {
            Ok(read) => read,
            Err(_) => Err(idle_error(self.idle)),
        }
    }

    /// Moves the bytes not taken yet (a few: a piece is taken from all the bytes read, but for a
    /// line not whole yet) to a read buffer with room for [`ANSWER_READ_BYTES`]: a spent one
    /// whose pieces have all been dropped, else a new one.
    fn renew_buffer(&mut self) {
        let reusable = self
            .spent
            .iter_mut()
            .position(|spent| spent.try_reclaim(ANSWER_READ_BYTES));
        let mut fresh = match reusable.and_then(|at| self.spent.remove(at)) {
            Some(spent) => spent,
            None => BytesMut::with_capacity(ANSWER_READ_BYTES.max(self.buffer.len())),
        };
        fresh.extend_from_slice(&self.buffer);
        let mut spent = std::mem::replace(&mut self.buffer, fresh);
        spent.clear();
        if self.spent.len() == ANSWER_SPENT_BUFFERS {
            self.spent.pop_front();
        }
        self.spent.push_back(spent);
    }

    /// The next piece of the body, `None` at its end.
    async fn next_piece(&mut self) -> std::io::Result<Option<Bytes>> {
        loop {
            match self.take()? {
                Taken::Piece(piece) => return Ok(Some(piece)),
                Taken::End => return Ok(None),
                Taken::NeedMore => {
                    if self.fill().await? == 0 {
                        return match self.framing {
                            Framing::Close => Ok(None),
                            _ => Err(std::io::Error::new(
                                std::io::ErrorKind::UnexpectedEof,
                                "the connection ended before the end of the answer",
                            )),
                        };
                    }
                }
            }
        }
    }

    /// The next piece of the body out of the bytes read so far (slices of them, not copies).
    fn take(&mut self) -> std::io::Result<Taken> {
        let invalid =
            |reason: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, reason.to_owned());
        loop {
            let state = match &mut self.framing {
                Framing::Close if self.buffer.is_empty() => return Ok(Taken::NeedMore),
                Framing::Close => return Ok(Taken::Piece(self.buffer.split().freeze())),
                Framing::Length(0) => return Ok(Taken::End),
                Framing::Length(_) if self.buffer.is_empty() => return Ok(Taken::NeedMore),
                Framing::Length(remaining) => {
                    let length = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(self.buffer.len());
                    *remaining -= length as u64;
                    return Ok(Taken::Piece(self.buffer.split_to(length).freeze()));
                }
                Framing::Chunked(state) => state,
            };
            match *state {
                ChunkState::Size | ChunkState::Trailer => {
                    let Some(end) = self.buffer.windows(2).position(|w| w == b"\r\n") else {
                        if self.buffer.len() > MAX_ANSWER_HEAD {
                            return Err(invalid("a chunk-size or trailer line too long"));
                        }
                        return Ok(Taken::NeedMore);
                    };
                    if *state == ChunkState::Trailer {
                        if end == 0 {
                            *state = ChunkState::Done;
                        }
                    } else {
                        let line = &self.buffer[..end];
                        let size = line.split(|&b| b == b';').next().unwrap_or_default();
                        let size = std::str::from_utf8(size)
                            .ok()
                            .and_then(|size| u64::from_str_radix(size.trim(), 16).ok())
                            .ok_or_else(|| invalid("an invalid chunk size"))?;
                        *state = if size == 0 {
                            ChunkState::Trailer
                        } else {
                            ChunkState::Data(size)
                        };
                    }
                    self.buffer.advance(end + 2);
                }
                ChunkState::Data(_) if self.buffer.is_empty() => return Ok(Taken::NeedMore),
                ChunkState::Data(remaining) => {
                    let length = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(self.buffer.len());
                    let left = remaining - length as u64;
                    *state = if left == 0 {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(left)
                    };
                    return Ok(Taken::Piece(self.buffer.split_to(length).freeze()));
                }
                ChunkState::DataEnd if self.buffer.len() < 2 => return Ok(Taken::NeedMore),
                ChunkState::DataEnd => {
                    if &self.buffer[..2] != b"\r\n" {
                        return Err(invalid("a chunk's data does not end with CRLF"));
                    }
                    self.buffer.advance(2);
                    *state = ChunkState::Size;
                }
                ChunkState::Done => return Ok(Taken::End),
            }
        }
    }

    /// The body as a stream of pieces.
    fn into_body(self) -> AnswerBody {
        futures::stream::try_unfold(self, |mut answer| async move {
            Ok(answer.next_piece().await?.map(|piece| (piece, answer)))
        })
        .boxed()
    }
}

/// The error of a PACS that sent nothing for `idle`.
fn idle_error(idle: Duration) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("the PACS sent nothing for {idle:?}"),
    )
}

/// An I/O error of the exchange with the PACS at `url`: a timeout is [`DicomWebError::Timeout`].
fn answer_io_error(url: &str, error: std::io::Error) -> DicomWebError {
    if error.kind() == std::io::ErrorKind::TimedOut {
        DicomWebError::Timeout {
            url: url.to_owned(),
            reason: error.to_string(),
        }
    } else {
        DicomWebError::Http {
            url: url.to_owned(),
            reason: error.to_string(),
        }
    }
}

/// A WADO-RS retrieve answer, read one part (instance) at a time. The multipart body is split
/// without copying; a chunk handed out is a slice of a buffer the HTTP client read into.
pub struct PacsParts {
    reader: MtomReader<AnswerBody>,
    url: String,
    index: usize,
}

impl PacsParts {
    /// The URL this answer comes from.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The error of the answer: [`DicomWebError::Timeout`] when the PACS stalled.
    fn multipart_error(&self, error: &MtomError) -> DicomWebError {
        if let MtomError::Body(source) = error
            && let Some(io) = source.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return DicomWebError::Timeout {
                url: self.url.clone(),
                reason: io.to_string(),
            };
        }
        DicomWebError::Multipart {
            url: self.url.clone(),
            reason: error.to_string(),
        }
    }

    /// The next chunk of the current part's body, `None` at its end: a piece of the answer as
    /// received (a slice of one read of the socket, up to [`ANSWER_READ_BYTES`]), handed on as it
    /// is: since the PACS connection is read by the task that writes the answer (see
    /// [`PacsAnswer`]), a piece costs no wake-up of another task.
    async fn read_chunk(&mut self) -> Result<Option<Bytes>, DicomWebError> {
        match self.reader.read_chunk().await {
            Ok(piece) => Ok(piece),
            Err(error) => Err(self.multipart_error(&error)),
        }
    }

    /// The next instance of the answer, its file meta group read (the rest of the previous part,
    /// if not read, is skipped); `None` after the last.
    pub async fn next_part(&mut self) -> Result<Option<PacsPart<'_>>, DicomWebError> {
        match self.reader.next_part().await {
            Ok(Some(_)) => {}
            Ok(None) => return Ok(None),
            Err(error) => return Err(self.multipart_error(&error)),
        }
        let index = self.index;
        self.index += 1;
        let header_error = |url: &str, reason: String| DicomWebError::PartHeader {
            url: url.to_owned(),
            index,
            reason,
        };
        // The chunks read until the meta group is whole, handed out as they are (not copied).
        let mut head: Vec<Bytes> = Vec::new();
        let mut read = 0usize;
        let mut needed = META_LENGTH_END;
        let mut joined = Vec::new();
        while read < needed {
            let Some(chunk) = self.read_chunk().await? else {
                return Err(header_error(
                    &self.url,
                    format!("the part ends after {read} bytes"),
                ));
            };
            read += chunk.len();
            head.push(chunk);
            if needed == META_LENGTH_END && read >= META_LENGTH_END {
                let start = leading(&head, META_LENGTH_END, &mut joined);
                let length_at = META_LENGTH_END - 4;
                let group_length = u32::from_le_bytes([
                    start[length_at],
                    start[length_at + 1],
                    start[length_at + 2],
                    start[length_at + 3],
                ]) as usize;
                needed = META_LENGTH_END.saturating_add(group_length);
                if needed > MAX_META_BYTES {
                    return Err(header_error(
                        &self.url,
                        format!("a file meta group of {group_length} bytes"),
                    ));
                }
            }
        }
        let start = leading(&head, needed, &mut joined);
        let meta = dicom_object::meta::FileMetaTable::from_reader(&start[128..needed])
            .map_err(|e| header_error(&self.url, e.to_string()))?;
        head.reverse();
        Ok(Some(PacsPart {
            sop_instance_uid: meta.media_storage_sop_instance_uid().to_owned(),
            transfer_syntax: meta.transfer_syntax().to_owned(),
            head,
            parts: self,
        }))
    }
}

/// The first `len` bytes of `chunks` (which hold at least that many) in one slice: of the first
/// chunk when it holds them all, else joined in `joined`.
fn leading<'a>(chunks: &'a [Bytes], len: usize, joined: &'a mut Vec<u8>) -> &'a [u8] {
    if let Some(first) = chunks.first().filter(|first| first.len() >= len) {
        return &first[..len];
    }
    joined.clear();
    for chunk in chunks {
        let take = chunk.len().min(len - joined.len());
        joined.extend_from_slice(&chunk[..take]);
    }
    joined
}

/// One instance of a WADO-RS answer: its identity from the file meta group, then its bytes.
pub struct PacsPart<'a> {
    /// Media Storage SOP Instance UID (0002,0003).
    pub sop_instance_uid: String,
    /// Transfer Syntax UID (0002,0010) of the bytes sent.
    pub transfer_syntax: String,
    /// The first chunks, read to find the file meta group, last first: handed out first.
    head: Vec<Bytes>,
    parts: &'a mut PacsParts,
}

impl PacsPart<'_> {
    /// The next chunk of the instance's Part-10 bytes (the meta group read first included).
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, DicomWebError> {
        match self.head.pop() {
            Some(head) => Ok(Some(head)),
            None => self.parts.read_chunk().await,
        }
    }
}

/// A DICOMweb client for one PACS root (e.g. `http://pacs:8042/dicom-web`).
#[derive(Debug, Clone)]
pub struct DicomWebClient {
    base: String,
    http: reqwest::Client,
    timeouts: PacsTimeouts,
    catalogs: CatalogCache,
}

impl DicomWebClient {
    /// A client of the DICOMweb root `base_url`, with the default [`PacsTimeouts`].
    pub fn new(base_url: &str) -> Result<Self, DicomWebError> {
        Self::with_timeouts(base_url, PacsTimeouts::default())
    }

    /// A client of the DICOMweb root `base_url` whose every request (QIDO-RS, WADO-RS metadata
    /// and retrieve) gives up after `timeouts`.
    pub fn with_timeouts(base_url: &str, timeouts: PacsTimeouts) -> Result<Self, DicomWebError> {
        let url = reqwest::Url::parse(base_url).map_err(|e| DicomWebError::InvalidUrl {
            url: base_url.to_owned(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(DicomWebError::InvalidUrl {
                url: base_url.to_owned(),
                reason: "scheme must be http or https".to_owned(),
            });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .read_timeout(timeouts.idle)
            .build()
            .map_err(|e| DicomWebError::Http {
                url: base_url.to_owned(),
                reason: error_chain(&e),
            })?;
        Ok(DicomWebClient {
            base: base_url.trim_end_matches('/').to_owned(),
            http,
            timeouts,
            catalogs: CatalogCache::default(),
        })
    }

    /// QIDO-RS Search for Studies (`GET {root}/studies?…`): the DICOM JSON objects.
    pub async fn find_studies(
        &self,
        query: &[(&str, &str)],
    ) -> Result<Vec<serde_json::Value>, DicomWebError> {
        let url = format!("{}/studies", self.base);
        let response = self
            .http
            .get(&url)
            .query(query)
            .header(ACCEPT, "application/dicom+json")
            .send()
            .await
            .map_err(|e| http_error(&url, &e))?;
        self.json_array(&url, response).await
    }

    /// WADO-RS Retrieve Study Metadata (`GET {root}/studies/{S}/metadata`) as a [`Study`].
    pub async fn study(&self, study_uid: &str) -> Result<Study, DicomWebError> {
        check_uid("Study Instance UID", study_uid)?;
        let url = format!("{}/studies/{study_uid}/metadata", self.base);
        let response = self
            .http
            .get(&url)
            .header(ACCEPT, "application/dicom+json")
            .send()
            .await
            .map_err(|e| http_error(&url, &e))?;
        let instances = self.json_array(&url, response).await?;
        let mut set = StudySet::default();
        for mut value in instances {
            let ts = value
                .pointer("/00020010/Value/0")
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            drop_bulk_data(&mut value);
            let obj: dicom_object::InMemDicomObject =
                dicom_json::from_value(value).map_err(|e| DicomWebError::Json {
                    url: url.clone(),
                    reason: e.to_string(),
                })?;
            let header = InstanceHeader::from_object(&obj, ts.as_deref()).map_err(|source| {
                DicomWebError::Metadata {
                    url: url.clone(),
                    source,
                }
            })?;
            set.add(header);
        }
        set.studies
            .into_iter()
            .find(|s| s.study_instance_uid == study_uid)
            .ok_or(DicomWebError::NotFound { url })
    }

    /// WADO-RS Retrieve Instance: the Part-10 bytes of one instance (as stored), streamed out of
    /// the multipart/related answer as they arrive.
    pub async fn retrieve_instance(
        &self,
        study_uid: &str,
        series_uid: &str,
        sop_uid: &str,
    ) -> Result<BoxStream<'static, Result<Bytes, DicomWebError>>, DicomWebError> {
        let scope = RetrieveScope::Instance {
            study: study_uid.to_owned(),
            series: series_uid.to_owned(),
            sop: sop_uid.to_owned(),
        };
        let mut parts = self.retrieve(&scope, &[]).await?;
        let url = parts.url.clone();
        let Some(part) = parts.next_part().await? else {
            return Err(DicomWebError::Multipart {
                url,
                reason: "no part".to_owned(),
            });
        };
        let mut head = part.head;
        head.reverse();
        let rest = futures::stream::try_unfold(parts, |mut parts| async move {
            Ok(parts.read_chunk().await?.map(|chunk| (chunk, parts)))
        });
        Ok(futures::stream::iter(head.into_iter().map(Ok))
            .chain(rest)
            .boxed())
    }

    /// WADO-RS Retrieve Study, Series or Instance (`multipart/related; type="application/dicom"`)
    /// in one of `transfer_syntaxes` (the PACS chooses; empty: as stored), read part by part as
    /// the answer arrives. A PACS that cannot offer any of them answers an error status (e.g.
    /// Orthanc 406/500), returned here before any part is read.
    ///
    /// The answer comes over a connection of its own (see [`PacsAnswer`]): whoever reads the
    /// parts also drives the connection, so that relaying it costs no hand-off between tasks.
    pub async fn retrieve(
        &self,
        scope: &RetrieveScope,
        transfer_syntaxes: &[String],
    ) -> Result<PacsParts, DicomWebError> {
        let url = format!("{}{}", self.base, scope.path()?);
        let (head, answer) =
            PacsAnswer::get(&url, &dicom_accept(transfer_syntaxes), self.timeouts).await?;
        check_answer_status(&url, head.status)?;
        let multipart_error = |reason: String| DicomWebError::Multipart {
            url: url.clone(),
            reason,
        };
        let content_type = head.content_type;
        let mime: mime::Mime = content_type
            .parse()
            .map_err(|e: mime::FromStrError| multipart_error(e.to_string()))?;
        if mime.type_() != mime::MULTIPART {
            return Err(multipart_error(format!(
                "Content-Type {content_type:?} is not multipart"
            )));
        }
        let boundary = mime
            .get_param(mime::BOUNDARY)
            .ok_or_else(|| multipart_error("no boundary".to_owned()))?
            .as_str()
            .to_owned();
        let multipart = MultipartType {
            boundary,
            type_: DICOM_MEDIA_TYPE.to_owned(),
            start: None,
            start_info: None,
        };
        Ok(PacsParts {
            reader: MtomReader::new(answer.into_body(), &multipart),
            url,
            index: 0,
        })
    }

    /// The SOP instances of a study the PACS holds, in the order of its WADO-RS metadata answer,
    /// from a cache of recent studies when `refresh` is false (a study's metadata costs the PACS
    /// as much as sending the whole study).
    pub async fn instance_catalog(
        &self,
        study_uid: &str,
        refresh: bool,
    ) -> Result<Arc<InstanceCatalog>, DicomWebError> {
        if !refresh && let Some(cached) = self.catalogs.get(study_uid) {
            return Ok(cached);
        }
        let catalog = match self.study(study_uid).await {
            Ok(study) => InstanceCatalog::of(&study),
            Err(DicomWebError::NotFound { .. }) => InstanceCatalog::default(),
            Err(e) => return Err(e),
        };
        let catalog = Arc::new(catalog);
        self.catalogs.put(study_uid, catalog.clone());
        Ok(catalog)
    }

    async fn json_array(
        &self,
        url: &str,
        response: reqwest::Response,
    ) -> Result<Vec<serde_json::Value>, DicomWebError> {
        let response = check_status(url, response)?;
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(Vec::new());
        }
        let body = response.bytes().await.map_err(|e| http_error(url, &e))?;
        if body.is_empty() {
            return Ok(Vec::new());
        }
        serde_json::from_slice(&body).map_err(|e| DicomWebError::Json {
            url: url.to_owned(),
            reason: e.to_string(),
        })
    }
}

fn check_answer_status(url: &str, status: u16) -> Result<(), DicomWebError> {
    if status == 404 {
        Err(DicomWebError::NotFound {
            url: url.to_owned(),
        })
    } else if !(200..300).contains(&status) {
        Err(DicomWebError::Status {
            url: url.to_owned(),
            status,
        })
    } else {
        Ok(())
    }
}

fn check_status(
    url: &str,
    response: reqwest::Response,
) -> Result<reqwest::Response, DicomWebError> {
    check_answer_status(url, response.status().as_u16())?;
    Ok(response)
}

fn check_uid(what: &'static str, value: &str) -> Result<(), DicomWebError> {
    if is_valid_uid(value) {
        Ok(())
    } else {
        Err(DicomWebError::InvalidUid {
            what,
            value: value.to_owned(),
        })
    }
}

/// Removes from a DICOM JSON data set (PS3.18 F.2) the elements sent as a BulkDataURI (pixel
/// data and other large values, which WADO-RS metadata only points at), in nested items too: the
/// headers a manifest needs never include them, and `dicom_json` would log a warning for each
/// one it skips (one per instance of every study read).
fn drop_bulk_data(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(elements) => {
            elements.retain(|_, element| element.get("BulkDataURI").is_none());
            elements.values_mut().for_each(drop_bulk_data);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_bulk_data),
        _ => {}
    }
}

fn http_error(url: &str, error: &reqwest::Error) -> DicomWebError {
    let url = url.to_owned();
    let reason = error_chain(error);
    if error.is_timeout() {
        DicomWebError::Timeout { url, reason }
    } else if error.is_connect() {
        DicomWebError::Connect { url, reason }
    } else {
        DicomWebError::Http { url, reason }
    }
}

/// An error and its sources, `: `-separated.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut reason = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        reason.push_str(": ");
        reason.push_str(&e.to_string());
        source = e.source();
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_data_elements_are_dropped_from_metadata_in_nested_items_too() {
        let mut instance = serde_json::json!({
            "00080018": {"vr": "UI", "Value": ["1.2.3.4"]},
            "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^Jane"}]},
            "7FE00010": {"vr": "OB", "BulkDataURI": "http://pacs/bulk/1"},
            "00081032": {"vr": "SQ", "Value": [{
                "00080100": {"vr": "SH", "Value": ["24627-2"]},
                "00420011": {"vr": "OB", "BulkDataURI": "http://pacs/bulk/2"}
            }]}
        });
        drop_bulk_data(&mut instance);
        assert_eq!(
            instance,
            serde_json::json!({
                "00080018": {"vr": "UI", "Value": ["1.2.3.4"]},
                "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^Jane"}]},
                "00081032": {"vr": "SQ", "Value": [{
                    "00080100": {"vr": "SH", "Value": ["24627-2"]}
                }]}
            })
        );
    }

    #[test]
    fn base_url_must_be_http() {
        assert!(DicomWebClient::new("http://127.0.0.1:8042/dicom-web/").is_ok());
        assert!(matches!(
            DicomWebClient::new("ftp://pacs/dicom-web"),
            Err(DicomWebError::InvalidUrl { .. })
        ));
        assert!(DicomWebClient::new("not a url").is_err());
    }

    #[test]
    fn the_start_of_a_part_split_across_chunks_is_read_whole() {
        let chunks = [Bytes::from_static(b"ab"), Bytes::from_static(b"cdef")];
        let mut joined = Vec::new();
        assert_eq!(leading(&chunks, 5, &mut joined), b"abcde");
        assert_eq!(leading(&chunks[1..], 3, &mut joined), b"cde");
    }

    /// A Part-10 instance: preamble, `DICM`, file meta group, then `payload_len` bytes.
    fn part10(sop_uid: &str, payload_len: usize) -> Vec<u8> {
        let meta = dicom_object::FileMetaTableBuilder::new()
            .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.2")
            .media_storage_sop_instance_uid(sop_uid)
            .transfer_syntax("1.2.840.10008.1.2.1")
            .implementation_class_uid("1.2.3.4.5")
            .build()
            .unwrap();
        let mut bytes = vec![0u8; 128];
        bytes.extend_from_slice(b"DICM");
        meta.write(&mut bytes).unwrap();
        bytes.extend((0..payload_len).map(|i| (i % 251) as u8));
        bytes
    }

    /// A WADO-RS answer holding `instance`: the part's headers received alone, then the rest in
    /// pieces of `piece_len` bytes; and the buffer those pieces are slices of.
    fn answer(instance: &[u8], piece_len: usize) -> (PacsParts, Bytes) {
        let boundary = "b0undary-of-the-answer";
        let head = format!("--{boundary}\r\nContent-Type: {DICOM_MEDIA_TYPE}\r\n\r\n");
        let mut body = instance.to_vec();
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let body = Bytes::from(body);
        let pieces: Vec<Result<Bytes, std::io::Error>> = std::iter::once(Ok(Bytes::from(head)))
            .chain(
                (0..body.len())
                    .step_by(piece_len)
                    .map(|at| Ok(body.slice(at..body.len().min(at + piece_len)))),
            )
            .collect();
        let multipart = MultipartType {
            boundary: boundary.to_owned(),
            type_: DICOM_MEDIA_TYPE.to_owned(),
            start: None,
            start_info: None,
        };
        let parts = PacsParts {
            reader: MtomReader::new(futures::stream::iter(pieces).boxed(), &multipart),
            url: "http://pacs/dicom-web/studies/1.2".to_owned(),
            index: 0,
        };
        (parts, body)
    }

    /// The chunks of the answer's only instance, checked to be that instance.
    async fn relayed(mut parts: PacsParts, instance: &[u8]) -> Vec<Bytes> {
        let mut chunks = Vec::new();
        let mut part = parts.next_part().await.unwrap().unwrap();
        assert_eq!(part.sop_instance_uid, "1.2.3.4.7");
        while let Some(chunk) = part.chunk().await.unwrap() {
            chunks.push(chunk);
        }
        assert_eq!(chunks.concat(), instance);
        assert!(parts.next_part().await.unwrap().is_none());
        chunks
    }

    #[tokio::test]
    async fn pieces_of_an_answer_are_handed_out_as_received_not_copied() {
        let instance = part10("1.2.3.4.7", 100_000);
        let (parts, body) = answer(&instance, 8192);
        let chunks = relayed(parts, &instance).await;
        assert_eq!(chunks.len(), instance.len().div_ceil(8192));
        let received = body.as_ptr_range();
        assert!(
            chunks
                .iter()
                .all(|chunk| received.contains(&chunk.as_ptr())),
            "each chunk is a slice of a received piece"
        );
    }

    #[tokio::test]
    async fn uid_with_path_characters_is_refused_before_any_request() {
        let client = DicomWebClient::new("http://127.0.0.1:1/dicom-web").unwrap();
        assert!(matches!(
            client.study("1.2/../../x").await,
            Err(DicomWebError::InvalidUid { .. })
        ));
    }
}
