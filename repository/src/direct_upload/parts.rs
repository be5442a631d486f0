//! The MIME parts of an ITI-41 request read from its connection: the SOAP envelope and the part
//! headers through the ordinary [`MtomReader`], each document's body read by this reader itself,
//! straight from the socket into the store's aligned buffers of [`BATCH_BYTES`]. A document
//! reaches the file store as whole aligned buffers that it writes as they are (with direct
//! I/O), so its bytes are copied once, by the kernel, from the socket into the buffer the disk
//! reads them from.

use bytes::{Buf, Bytes, BytesMut};
use memchr::memmem::Finder;
use schemas::mtom::{MtomError, MtomReader, PartHeaders, RootPart};

use super::body::DirectBody;
use crate::provide::Attachments;
use crate::storage::{BATCH_BYTES, BufferPool, aligned_buffer};

/// Where the reader is in the current part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// No part started, or one read by the [`MtomReader`] (the root).
    Ordinary,
    /// A part whose headers were read; its body not touched yet.
    Started,
    /// A part whose body this reader reads.
    Direct,
    /// The end of the part's body was reached.
    Ended,
}

/// The parts of an MTOM request whose document bodies are read into aligned buffers.
pub struct DirectParts {
    reader: MtomReader<DirectBody>,
    pool: BufferPool,
    delimiter: Finder<'static>,
    /// Body bytes read before they were needed (what the MIME reader held at the part's start,
    /// or what was read to see past the end of a full buffer).
    carry: Bytes,
    part: Part,
}

impl DirectParts {
    /// The parts of `reader`, documents read into buffers of `pool` (see
    /// [`crate::storage::batch_pool`]).
    pub fn new(reader: MtomReader<DirectBody>, pool: BufferPool) -> Self {
        let delimiter = Finder::new(reader.delimiter()).into_owned();
        DirectParts {
            reader,
            pool,
            delimiter,
            carry: Bytes::new(),
            part: Part::Ordinary,
        }
    }

    /// The root part (the SOAP envelope), up to `max_bytes`.
    pub async fn root(&mut self, max_bytes: usize) -> Result<RootPart, MtomError> {
        self.reader.root(max_bytes).await
    }

    /// The request body, to give its connection back.
    pub fn into_body(self) -> DirectBody {
        self.reader.into_stream()
    }

    /// The next chunk of a document's body: a whole aligned buffer of [`BATCH_BYTES`], or the
    /// document's last bytes.
    async fn next_buffer(&mut self) -> Result<Option<Bytes>, MtomError> {
        let needle_len = self.delimiter.needle().len();
        let (mut buffer, start) = aligned_buffer(&self.pool);
        let take = self.carry.len().min(BATCH_BYTES);
        buffer.extend_from_slice(&self.carry[..take]);
        self.carry.advance(take);
        let mut searched = start;
        loop {
            let from = searched.saturating_sub(needle_len - 1).max(start);
            if let Some(at) = self.delimiter.find(&buffer[from..]) {
                return Ok(self.end_in(buffer, start, from + at));
            }
            searched = buffer.len();
            if buffer.len() - start == BATCH_BYTES {
                return self.full(buffer, start).await;
            }
            let room = BATCH_BYTES - (buffer.len() - start);
            let n = self
                .reader
                .stream_mut()
                .read_into(&mut buffer, room)
                .await
                .map_err(|e| MtomError::Body(Box::new(e)))?;
            if n == 0 {
                return Err(MtomError::Truncated {
                    received: self.reader.stream_mut().decoded(),
                });
            }
        }
    }

    /// A full buffer: handed out whole, unless a delimiter may start in its last bytes; then
    /// the bytes after it are read first, and the buffer is cut where the delimiter starts.
    async fn full(
        &mut self,
        mut buffer: Vec<u8>,
        start: usize,
    ) -> Result<Option<Bytes>, MtomError> {
        let needle = self.delimiter.needle();
        let safe = start + safe_prefix_len(&buffer[start..], needle);
        if safe == buffer.len() {
            return Ok(Some(self.pool.share_from(buffer, start)));
        }
        let tail_len = buffer.len() - safe;
        while self.carry.len() < needle.len() + 2 {
            match self.reader.stream_mut().next_chunk().await {
                Ok(Some(more)) => {
                    let mut joined = BytesMut::with_capacity(self.carry.len() + more.len());
                    joined.extend_from_slice(&self.carry);
                    joined.extend_from_slice(&more);
                    self.carry = joined.freeze();
                }
                Ok(None) => break,
                Err(e) => return Err(MtomError::Body(Box::new(e))),
            }
        }
        let mut window = Vec::with_capacity(tail_len + self.carry.len());
        window.extend_from_slice(&buffer[safe..]);
        window.extend_from_slice(&self.carry);
        match self.delimiter.find(&window) {
            Some(at) if at <= tail_len => {
                let end = if at > 0 && window[at - 1] == b'\r' {
                    at - 1
                } else {
                    at
                };
                buffer.truncate(safe + end);
                self.carry = Bytes::new();
                self.resume(Bytes::copy_from_slice(&window[at + needle.len()..]));
                Ok(self.nonempty(buffer, start))
            }
            _ => Ok(Some(self.pool.share_from(buffer, start))),
        }
    }

    /// The delimiter starts at `at` in `buffer`: the part's last bytes.
    fn end_in(&mut self, mut buffer: Vec<u8>, start: usize, at: usize) -> Option<Bytes> {
        let end = if at > start && buffer[at - 1] == b'\r' {
            at - 1
        } else {
            at
        };
        let after = at + self.delimiter.needle().len();
        let carry = std::mem::take(&mut self.carry);
        let mut rest = BytesMut::with_capacity(buffer.len() - after + carry.len());
        rest.extend_from_slice(&buffer[after..]);
        rest.extend_from_slice(&carry);
        buffer.truncate(end);
        self.resume(rest.freeze());
        self.nonempty(buffer, start)
    }

    /// The part ended: the MIME reader goes on from `rest`.
    fn resume(&mut self, rest: Bytes) {
        let received = self.reader.stream_mut().decoded();
        self.reader.resume_after_delimiter(rest, received);
        self.part = Part::Ended;
    }

    fn nonempty(&self, buffer: Vec<u8>, start: usize) -> Option<Bytes> {
        (buffer.len() > start).then(|| self.pool.share_from(buffer, start))
    }
}

impl Attachments for DirectParts {
    async fn next_part(&mut self) -> Result<Option<PartHeaders>, MtomError> {
        while self.part == Part::Direct || self.part == Part::Started {
            if self.read_chunk().await?.is_none() {
                break;
            }
        }
        let next = self.reader.next_part().await?;
        self.part = if next.is_some() {
            Part::Started
        } else {
            Part::Ordinary
        };
        Ok(next)
    }

    async fn read_chunk(&mut self) -> Result<Option<Bytes>, MtomError> {
        match self.part {
            Part::Ordinary => self.reader.read_chunk().await,
            Part::Ended => Ok(None),
            Part::Started | Part::Direct => {
                if self.part == Part::Started {
                    self.carry = self.reader.take_body_start().unwrap_or_default();
                    self.part = Part::Direct;
                }
                let chunk = self.next_buffer().await?;
                Ok(chunk)
            }
        }
    }
}

/// Length of the prefix of `bytes` that cannot be the start of a delimiter (`\r?\n--boundary`),
/// as in [`MtomReader`]: the needle holds one line feed, its first byte, so a delimiter cut by
/// the end of `bytes` starts at the last line feed of its last `needle.len() - 1` bytes.
fn safe_prefix_len(bytes: &[u8], needle: &[u8]) -> usize {
    let len = bytes.len();
    let tail_from = len.saturating_sub(needle.len() - 1);
    let mut safe = len;
    if let Some(at) = memchr::memrchr(b'\n', &bytes[tail_from..]) {
        let at = tail_from + at;
        if needle.starts_with(&bytes[at..]) {
            safe = at;
        }
    }
    if safe > 0 && bytes[safe - 1] == b'\r' {
        safe -= 1;
    }
    safe
}
