//! The body of an HTTP/1.1 request read straight from its connection: the `Content-Length` or
//! `chunked` framing decoded (RFC 9112 §6-7), the decoded bytes either handed out as chunks
//! (a `Stream`, for the MIME headers and the SOAP envelope) or read into the caller's buffer
//! without passing through any other (for documents).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures::Stream;
use tokio::net::TcpStream;
use tokio_util::io::poll_read_buf;

/// Bytes asked of the socket when chunks are handed out (envelope, MIME headers).
const READ_BYTES: usize = 64 * 1024;
/// Bytes asked of the socket for a chunk-size line: few, so that the chunk data after it is read
/// into the caller's buffer rather than copied there.
const LINE_READ_BYTES: usize = 64;
/// Longest chunk-size line (size, extensions, CRLF) accepted.
const MAX_LINE_BYTES: usize = 4096;
/// Most trailer bytes accepted after the last chunk.
const MAX_TRAILER_BYTES: usize = 16 * 1024;

/// How the request body is delimited on the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length`: this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// Where the decoder is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Inside data: this many bytes before the end of the body (length framing) or of the chunk.
    Data { remaining: u64, chunked: bool },
    /// Before a chunk-size line.
    ChunkSize,
    /// After a chunk's data: its CRLF.
    ChunkEnd,
    /// After the last chunk: trailer lines up to an empty one (`trailer` bytes so far).
    Trailers { trailer: usize },
    /// The whole body was read.
    Done,
    /// The framing was broken or the connection closed early: nothing more is read.
    Failed,
}

/// A request body being read from its connection. The connection and the bytes read past the
/// body (a pipelined next request) are given back by [`DirectBody::into_connection`].
pub struct DirectBody {
    stream: TcpStream,
    /// Bytes read from the socket and not decoded yet.
    raw: BytesMut,
    state: State,
    /// Body bytes handed out so far.
    decoded: u64,
}

impl DirectBody {
    /// The body framed by `framing` on `stream`, `raw` holding what was read after the head.
    pub fn new(stream: TcpStream, raw: BytesMut, framing: Framing) -> Self {
        let state = match framing {
            Framing::Length(0) => State::Done,
            Framing::Length(remaining) => State::Data {
                remaining,
                chunked: false,
            },
            Framing::Chunked => State::ChunkSize,
        };
        DirectBody {
            stream,
            raw,
            state,
            decoded: 0,
        }
    }

    /// Whether the whole body was read (the connection can carry a next request).
    pub fn is_finished(&self) -> bool {
        self.state == State::Done
    }

    /// Body bytes read so far.
    pub fn decoded(&self) -> u64 {
        self.decoded
    }

    /// The connection and the bytes read past the body.
    pub fn into_connection(self) -> (TcpStream, BytesMut) {
        (self.stream, self.raw)
    }

    /// The next body bytes (at most [`READ_BYTES`]); `None` at the end of the body.
    pub async fn next_chunk(&mut self) -> io::Result<Option<Bytes>> {
        std::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// Appends up to `room` body bytes to `buffer`: those already read from the socket, else
    /// read straight into `buffer`'s spare capacity. 0 at the end of the body.
    pub async fn read_into(&mut self, buffer: &mut Vec<u8>, room: usize) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_read_into(cx, buffer, room)).await
    }

    fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<u8>,
        room: usize,
    ) -> Poll<io::Result<usize>> {
        let remaining = ready!(self.poll_data(cx))?;
        let want = usize::try_from(remaining).unwrap_or(usize::MAX).min(room);
        if want == 0 {
            return Poll::Ready(Ok(0));
        }
        let n = if self.raw.is_empty() {
            let mut limited = (&mut *buffer).limit(want);
            let n = ready!(poll_read_buf(Pin::new(&mut self.stream), cx, &mut limited))?;
            if n == 0 {
                self.state = State::Failed;
                return Poll::Ready(Err(truncated()));
            }
            n
        } else {
            let n = want.min(self.raw.len());
            buffer.extend_from_slice(&self.raw[..n]);
            self.raw.advance(n);
            n
        };
        self.consumed(n);
        Poll::Ready(Ok(n))
    }

    /// The next body bytes as a chunk (at most [`READ_BYTES`] at a time); `None` at the end.
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Bytes>>> {
        let remaining = ready!(self.poll_data(cx))?;
        if remaining == 0 {
            return Poll::Ready(Ok(None));
        }
        if self.raw.is_empty() {
            self.raw.reserve(READ_BYTES);
            let n = ready!(poll_read_buf(Pin::new(&mut self.stream), cx, &mut self.raw))?;
            if n == 0 {
                self.state = State::Failed;
                return Poll::Ready(Err(truncated()));
            }
        }
        let n = usize::try_from(remaining)
            .unwrap_or(usize::MAX)
            .min(self.raw.len());
        let chunk = self.raw.split_to(n).freeze();
        self.consumed(n);
        Poll::Ready(Ok(Some(chunk)))
    }

    fn consumed(&mut self, n: usize) {
        self.decoded += n as u64;
        if let State::Data { remaining, chunked } = &mut self.state {
            *remaining -= n as u64;
            if *remaining == 0 {
                self.state = if *chunked {
                    State::ChunkEnd
                } else {
                    State::Done
                };
            }
        }
    }

    /// Decodes framing until data is next: the bytes left in the current stretch of data, 0 at
    /// the end of the body.
    fn poll_data(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let decoded = self.poll_framing(cx);
        if let Poll::Ready(Err(_)) = decoded {
            self.state = State::Failed;
        }
        decoded
    }

    fn poll_framing(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        loop {
            match self.state {
                State::Failed => {
                    return Poll::Ready(Err(io::Error::other(
                        "the request body could not be read",
                    )));
                }
                State::Data { remaining, .. } => return Poll::Ready(Ok(remaining)),
                State::Done => return Poll::Ready(Ok(0)),
                State::ChunkSize => {
                    let Some(line) = self.take_line()? else {
                        ready!(self.poll_fill_line(cx))?;
                        continue;
                    };
                    let size = chunk_size(&line)?;
                    self.state = if size == 0 {
                        State::Trailers { trailer: 0 }
                    } else {
                        State::Data {
                            remaining: size,
                            chunked: true,
                        }
                    };
                }
                State::ChunkEnd => {
                    let Some(line) = self.take_line()? else {
                        ready!(self.poll_fill_line(cx))?;
                        continue;
                    };
                    if !line.is_empty() {
                        return Poll::Ready(Err(malformed("chunk data longer than its size")));
                    }
                    self.state = State::ChunkSize;
                }
                State::Trailers { trailer } => {
                    let Some(line) = self.take_line()? else {
                        ready!(self.poll_fill_line(cx))?;
                        continue;
                    };
                    let trailer = trailer + line.len() + 2;
                    if trailer > MAX_TRAILER_BYTES {
                        return Poll::Ready(Err(malformed("trailer section too large")));
                    }
                    self.state = if line.is_empty() {
                        State::Done
                    } else {
                        State::Trailers { trailer }
                    };
                }
            }
        }
    }

    /// One line of `raw` (CRLF or LF ended, without it), when `raw` holds a whole one.
    fn take_line(&mut self) -> io::Result<Option<Bytes>> {
        match memchr::memchr(b'\n', &self.raw) {
            Some(end) => {
                let mut line = self.raw.split_to(end + 1).freeze();
                line.truncate(end);
                if line.last() == Some(&b'\r') {
                    line.truncate(end - 1);
                }
                Ok(Some(line))
            }
            None if self.raw.len() > MAX_LINE_BYTES => Err(malformed("framing line too long")),
            None => Ok(None),
        }
    }

    /// Reads a few more bytes for a framing line.
    fn poll_fill_line(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.raw.reserve(LINE_READ_BYTES);
        let mut limited = (&mut self.raw).limit(LINE_READ_BYTES);
        let n = ready!(poll_read_buf(Pin::new(&mut self.stream), cx, &mut limited))?;
        if n == 0 {
            return Poll::Ready(Err(truncated()));
        }
        Poll::Ready(Ok(()))
    }
}

impl Stream for DirectBody {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx).map(Result::transpose)
    }
}

/// The size of a chunk-size line: hexadecimal digits, optionally followed by extensions.
fn chunk_size(line: &[u8]) -> io::Result<u64> {
    let digits_end = line
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(line.len());
    let rest = &line[digits_end..];
    let digits = &line[..digits_end];
    if digits.is_empty()
        || digits.len() > 15
        || !(rest.is_empty() || rest.starts_with(b";") || rest.starts_with(b" "))
    {
        return Err(malformed("invalid chunk size"));
    }
    let digits = std::str::from_utf8(digits).map_err(|_| malformed("invalid chunk size"))?;
    u64::from_str_radix(digits, 16).map_err(|_| malformed("invalid chunk size"))
}

fn truncated() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the connection closed before the end of the request body",
    )
}

fn malformed(reason: &'static str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("malformed chunked body: {reason}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_size_is_hexadecimal_with_optional_extensions() {
        assert_eq!(chunk_size(b"1a").unwrap(), 26);
        assert_eq!(chunk_size(b"1A;name=value").unwrap(), 26);
        assert_eq!(chunk_size(b"40000 ;x").unwrap(), 0x40000);
        assert_eq!(chunk_size(b"0").unwrap(), 0);
    }

    #[test]
    fn a_chunk_size_that_is_not_hexadecimal_is_refused() {
        for line in [&b""[..], b"g", b"-1", b"1g", b"0x10", b"1234567890abcdef0"] {
            let error = chunk_size(line).expect_err("refused");
            assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{line:?}");
        }
    }
}
