//! MLLP, the Minimal Lower Layer Protocol carrying HL7 v2 messages over TCP (ITI-8/9/10/21,
//! ITI TF-2 Appendix C): every message is framed as `0x0B` message `0x1C 0x0D`.
//!
//! [`MllpReader`] yields one frame at a time with a bounded frame size; bytes outside a frame
//! produce [`MllpError::Framing`] and the reader resynchronises on the next start block, so a
//! server can answer and keep the connection open.

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Start block character (VT).
pub const START_BLOCK: u8 = 0x0B;
/// End block character (FS).
pub const END_BLOCK: u8 = 0x1C;
/// Carriage return following the end block.
pub const CARRIAGE_RETURN: u8 = 0x0D;
/// Default largest frame accepted: 1 MiB.
pub const DEFAULT_MAX_FRAME: usize = 1024 * 1024;

const READ_CHUNK: usize = 8 * 1024;

/// Why no frame could be read.
#[derive(Debug, thiserror::Error)]
pub enum MllpError {
    #[error("I/O error on the MLLP connection: {0}")]
    Io(#[from] std::io::Error),
    /// The frame exceeds the limit; the reader discards the rest of it and continues with the
    /// next frame.
    #[error("MLLP frame larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    /// Bytes outside a frame (or an unterminated frame followed by a new start block) were
    /// discarded; the reader is positioned at the next start block.
    #[error("{skipped} bytes outside an MLLP frame were discarded")]
    Framing { skipped: usize },
    /// The peer closed the connection inside a frame.
    #[error("connection closed inside an MLLP frame after {received} bytes")]
    UnexpectedEof { received: usize },
}

/// Reads MLLP frames from a byte stream.
pub struct MllpReader<R> {
    inner: R,
    buf: BytesMut,
    max_frame: usize,
    /// Bytes of the buffered frame already searched for an end block.
    scanned: usize,
    /// Discarding the rest of an oversize frame.
    discarding: bool,
    eof: bool,
}

impl<R: AsyncRead + Unpin> MllpReader<R> {
    /// A reader accepting frames up to [`DEFAULT_MAX_FRAME`].
    pub fn new(inner: R) -> Self {
        Self::with_max_frame(inner, DEFAULT_MAX_FRAME)
    }

    /// A reader accepting frames up to `max_frame` bytes of content.
    pub fn with_max_frame(inner: R, max_frame: usize) -> Self {
        MllpReader {
            inner,
            buf: BytesMut::with_capacity(READ_CHUNK),
            max_frame,
            scanned: 0,
            discarding: false,
            eof: false,
        }
    }

    /// The underlying stream (e.g. to write the answer on the same connection).
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The content of the next frame, or `None` when the peer closed the connection between
    /// frames. CR and LF between frames are tolerated silently.
    pub async fn next_frame(&mut self) -> Result<Option<Vec<u8>>, MllpError> {
        let mut skipped = 0usize;
        loop {
            if self.discarding {
                if let Some(end) = memchr::memchr(END_BLOCK, &self.buf) {
                    self.buf.advance(end + 1);
                    self.discarding = false;
                } else {
                    self.buf.clear();
                }
            }
            if !self.discarding {
                skipped += self.skip_to_start_block();
                if !self.buf.is_empty() {
                    if skipped > 0 {
                        return Err(MllpError::Framing { skipped });
                    }
                    if let Some(result) = self.take_frame() {
                        return result;
                    }
                }
            }
            if self.eof {
                return self.at_eof(skipped);
            }
            self.buf.reserve(READ_CHUNK);
            if self.inner.read_buf(&mut self.buf).await? == 0 {
                self.eof = true;
            }
        }
    }

    /// Drops everything before the next start block; returns how many of the dropped bytes
    /// were not CR/LF.
    fn skip_to_start_block(&mut self) -> usize {
        let start = memchr::memchr(START_BLOCK, &self.buf).unwrap_or(self.buf.len());
        let skipped = self.buf[..start]
            .iter()
            .filter(|&&b| b != b'\r' && b != b'\n')
            .count();
        self.buf.advance(start);
        skipped
    }

    /// With a start block at `buf[0]`: the complete frame, a framing or size error, or `None`
    /// when more bytes are needed.
    fn take_frame(&mut self) -> Option<Result<Option<Vec<u8>>, MllpError>> {
        let from = self.scanned.max(1);
        let Some(offset) = memchr::memchr2(END_BLOCK, START_BLOCK, &self.buf[from..]) else {
            self.scanned = self.buf.len();
            if self.buf.len() - 1 > self.max_frame {
                self.buf.clear();
                self.scanned = 0;
                self.discarding = true;
                return Some(Err(MllpError::TooLarge {
                    limit: self.max_frame,
                }));
            }
            return None;
        };
        let at = from + offset;
        self.scanned = 0;
        if self.buf[at] == START_BLOCK {
            self.buf.advance(at);
            return Some(Err(MllpError::Framing { skipped: at }));
        }
        let frame = self.buf.split_to(at + 1);
        if self.buf.first() == Some(&CARRIAGE_RETURN) {
            self.buf.advance(1);
        }
        if at - 1 > self.max_frame {
            return Some(Err(MllpError::TooLarge {
                limit: self.max_frame,
            }));
        }
        Some(Ok(Some(frame[1..at].to_vec())))
    }

    fn at_eof(&mut self, skipped: usize) -> Result<Option<Vec<u8>>, MllpError> {
        if skipped > 0 {
            return Err(MllpError::Framing { skipped });
        }
        if self.discarding {
            self.discarding = false;
            return Err(MllpError::UnexpectedEof { received: 0 });
        }
        if self.buf.is_empty() {
            return Ok(None);
        }
        let received = self.buf.len() - 1;
        self.buf.clear();
        self.scanned = 0;
        Err(MllpError::UnexpectedEof { received })
    }
}

/// Writes `message` as one MLLP frame and flushes. Refuses a message containing a start or end
/// block byte, which would break the framing.
pub async fn write_frame<W: AsyncWrite + Unpin>(
    writer: &mut W,
    message: &[u8],
) -> std::io::Result<()> {
    if let Some(at) = memchr::memchr2(START_BLOCK, END_BLOCK, message) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("HL7 message contains an MLLP block character at byte {at}"),
        ));
    }
    let mut frame = Vec::with_capacity(message.len() + 3);
    frame.push(START_BLOCK);
    frame.extend_from_slice(message);
    frame.push(END_BLOCK);
    frame.push(CARRIAGE_RETURN);
    writer.write_all(&frame).await?;
    writer.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::ReadBuf;

    /// A stream delivering its bytes in the given reads, then EOF.
    struct Reads(VecDeque<Vec<u8>>);

    impl Reads {
        fn new(reads: &[&[u8]]) -> Self {
            Reads(reads.iter().map(|r| r.to_vec()).collect())
        }

        fn bytewise(bytes: &[u8]) -> Self {
            Reads(bytes.iter().map(|b| vec![*b]).collect())
        }
    }

    impl AsyncRead for Reads {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            if let Some(mut chunk) = self.0.pop_front() {
                let n = chunk.len().min(buf.remaining());
                buf.put_slice(&chunk[..n]);
                if n < chunk.len() {
                    self.0.push_front(chunk.split_off(n));
                }
            }
            Poll::Ready(Ok(()))
        }
    }

    fn frame(content: &[u8]) -> Vec<u8> {
        [&[START_BLOCK][..], content, &[END_BLOCK, CARRIAGE_RETURN]].concat()
    }

    const MSG: &[u8] = b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\rPID|||1\r";

    #[tokio::test]
    async fn frame_split_over_many_reads_is_reassembled() {
        let mut reader = MllpReader::new(Reads::bytewise(&frame(MSG)));
        assert_eq!(reader.next_frame().await.unwrap().as_deref(), Some(MSG));
        assert!(reader.next_frame().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn two_frames_in_one_read_are_both_returned() {
        let both = [frame(b"first"), frame(b"second")].concat();
        let mut reader = MllpReader::new(Reads::new(&[&both]));
        assert_eq!(
            reader.next_frame().await.unwrap().as_deref(),
            Some(&b"first"[..])
        );
        assert_eq!(
            reader.next_frame().await.unwrap().as_deref(),
            Some(&b"second"[..])
        );
        assert!(reader.next_frame().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn garbage_before_a_frame_is_a_framing_error_then_the_frame() {
        let input = [&b"GET / HTTP/1.1"[..], &frame(MSG)].concat();
        let mut reader = MllpReader::new(Reads::new(&[&input[..5], &input[5..]]));
        assert!(matches!(
            reader.next_frame().await,
            Err(MllpError::Framing { skipped: 14 })
        ));
        assert_eq!(reader.next_frame().await.unwrap().as_deref(), Some(MSG));
        assert!(reader.next_frame().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn line_breaks_between_frames_are_tolerated() {
        let input = [frame(b"a"), b"\r\n".to_vec(), frame(b"b"), b"\n".to_vec()].concat();
        let mut reader = MllpReader::new(Reads::new(&[&input]));
        assert_eq!(
            reader.next_frame().await.unwrap().as_deref(),
            Some(&b"a"[..])
        );
        assert_eq!(
            reader.next_frame().await.unwrap().as_deref(),
            Some(&b"b"[..])
        );
        assert!(reader.next_frame().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn oversize_frame_is_too_large_and_the_next_frame_is_read() {
        let big = vec![b'x'; 100];
        let input = [frame(&big), frame(b"small")].concat();
        let mut reader = MllpReader::with_max_frame(Reads::bytewise(&input), 10);
        assert!(matches!(
            reader.next_frame().await,
            Err(MllpError::TooLarge { limit: 10 })
        ));
        assert_eq!(
            reader.next_frame().await.unwrap().as_deref(),
            Some(&b"small"[..])
        );
    }

    #[tokio::test]
    async fn oversize_frame_in_one_read_is_too_large() {
        let input = [frame(&[b'x'; 11]), frame(b"ok")].concat();
        let mut reader = MllpReader::with_max_frame(Reads::new(&[&input]), 10);
        assert!(matches!(
            reader.next_frame().await,
            Err(MllpError::TooLarge { limit: 10 })
        ));
        assert_eq!(
            reader.next_frame().await.unwrap().as_deref(),
            Some(&b"ok"[..])
        );
    }

    #[tokio::test]
    async fn frame_of_exactly_the_limit_is_accepted() {
        let input = frame(&[b'x'; 10]);
        let mut reader = MllpReader::with_max_frame(Reads::bytewise(&input), 10);
        assert_eq!(
            reader.next_frame().await.unwrap().map(|f| f.len()),
            Some(10)
        );
    }

    #[tokio::test]
    async fn eof_mid_frame_is_unexpected_eof() {
        let input = &frame(MSG)[..20];
        let mut reader = MllpReader::new(Reads::new(&[input]));
        assert!(matches!(
            reader.next_frame().await,
            Err(MllpError::UnexpectedEof { received: 19 })
        ));
        assert!(reader.next_frame().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn garbage_at_eof_is_a_framing_error() {
        let mut reader = MllpReader::new(Reads::new(&[b"noise"]));
        assert!(matches!(
            reader.next_frame().await,
            Err(MllpError::Framing { skipped: 5 })
        ));
        assert!(reader.next_frame().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn new_start_block_inside_a_frame_resynchronises() {
        let input = [&[START_BLOCK][..], b"trunc", &frame(b"whole")].concat();
        let mut reader = MllpReader::new(Reads::new(&[&input]));
        assert!(matches!(
            reader.next_frame().await,
            Err(MllpError::Framing { skipped: 6 })
        ));
        assert_eq!(
            reader.next_frame().await.unwrap().as_deref(),
            Some(&b"whole"[..])
        );
    }

    #[tokio::test]
    async fn written_frame_is_read_back() {
        let mut wire = Vec::new();
        write_frame(&mut wire, MSG).await.unwrap();
        assert_eq!(wire, frame(MSG));
        let mut reader = MllpReader::new(Reads::new(&[&wire]));
        assert_eq!(reader.next_frame().await.unwrap().as_deref(), Some(MSG));
    }

    #[tokio::test]
    async fn writing_a_block_character_is_refused() {
        let mut wire = Vec::new();
        let error = write_frame(&mut wire, b"bad\x1cdata").await.unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
        assert!(wire.is_empty());
    }
}
