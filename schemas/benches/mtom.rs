//! ITI-41 Provide and Register body split by `schemas::mtom::MtomReader`: throughput and peak memory.
//!
//! Input: a small SOAP root and one 150 MiB attachment of pseudo-random bytes, built in memory once
//! and fed as 64 KiB `Bytes` chunks. Measured: the split with the document streamed into a no-op
//! sink and into a SHA-1 hasher, `multer` on the same body for comparison, and the floor
//! (`memmem::find_iter` of the delimiter over the same bytes). Before criterion runs, the peak
//! resident-memory growth of a split (VmHWM after `clear_refs`, Linux) is printed for several
//! part sizes, the input buffer excluded.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group};
use futures::{StreamExt, executor::block_on, stream};
use schemas::mtom::{Attachment, MtomReader, MtomWriter, MultipartType, content_id};
use sha1::{Digest, Sha1};

const CHUNK: usize = 64 * 1024;
const DOCUMENT_BYTES: usize = 150 * 1024 * 1024;
const ENVELOPE: &str = "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body><lcm:SubmitObjectsRequest xmlns:lcm=\"urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0\"/></s:Body></s:Envelope>";

struct Xorshift(u64);

impl Xorshift {
    fn fill(&mut self, out: &mut [u8]) {
        for word in out.chunks_mut(8) {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let value = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            word.copy_from_slice(&value[..word.len()]);
        }
    }
}

fn document_chunk(rng: &mut Xorshift, len: usize) -> Bytes {
    let mut chunk = vec![0u8; len];
    rng.fill(&mut chunk);
    Bytes::from(chunk)
}

/// An MTOM body whose attachment is `document_bytes` pseudo-random bytes, streamed as generated.
fn generated_body(
    document_bytes: usize,
) -> (
    MultipartType,
    impl futures::Stream<Item = Result<Bytes, io::Error>> + Send + Unpin,
) {
    let writer = MtomWriter::new();
    let content_type = MultipartType::parse(&writer.content_type()).expect("writer content type");
    let mut rng = Xorshift(0x1711_4141);
    let mut left = document_bytes;
    let document = stream::iter(std::iter::from_fn(move || {
        (left > 0).then(|| {
            let len = left.min(CHUNK);
            left -= len;
            Ok(document_chunk(&mut rng, len))
        })
    }));
    let attachment = Attachment {
        content_id: content_id(),
        content_type: "application/dicom".to_owned(),
        body: Box::pin(document),
    };
    let body = writer
        .into_body(ENVELOPE.to_owned(), vec![attachment])
        .expect("valid attachment");
    (content_type, Box::pin(body))
}

/// The whole body in one buffer, and its 64 KiB chunks (slices of that buffer).
fn body_in_memory() -> (MultipartType, Bytes, Vec<Bytes>) {
    let (content_type, body) = generated_body(DOCUMENT_BYTES);
    let parts: Vec<Bytes> = block_on(body.map(|chunk| chunk.expect("generated")).collect());
    let body = Bytes::from(parts.concat());
    let chunks = (0..body.len())
        .step_by(CHUNK)
        .map(|at| body.slice(at..(at + CHUNK).min(body.len())))
        .collect();
    (content_type, body, chunks)
}

#[derive(Default)]
struct HashingSink(Sha1);

impl tokio::io::AsyncWrite for HashingSink {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0.update(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Splits the body, streaming the document into `sink`; returns the document length.
async fn split<S, W>(content_type: &MultipartType, body: S, sink: &mut W) -> u64
where
    S: futures::Stream<Item = Result<Bytes, io::Error>> + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut reader = MtomReader::new(body, content_type);
    reader.root(1 << 20).await.expect("root");
    reader.next_part().await.expect("document part");
    let copied = reader.copy_part_to(sink).await.expect("document");
    assert!(reader.next_part().await.expect("close").is_none());
    copied
}

fn chunk_stream(
    chunks: Vec<Bytes>,
) -> impl futures::Stream<Item = Result<Bytes, io::Error>> + Unpin {
    stream::iter(chunks.into_iter().map(Ok))
}

fn bench_split(c: &mut Criterion) {
    let (content_type, body, chunks) = body_in_memory();
    let mut group = c.benchmark_group("mtom_iti41_150MiB");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(10));
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("split_into_noop_sink", |b| {
        b.iter(|| {
            block_on(split(
                &content_type,
                chunk_stream(chunks.clone()),
                &mut tokio::io::sink(),
            ))
        })
    });
    group.bench_function("split_into_sha1", |b| {
        b.iter(|| {
            let mut sink = HashingSink::default();
            block_on(split(
                &content_type,
                chunk_stream(chunks.clone()),
                &mut sink,
            ));
            sink.0.finalize()
        })
    });
    group.bench_function("sha1_only", |b| b.iter(|| Sha1::digest(&body)));
    group.bench_function("multer_noop", |b| {
        b.iter(|| {
            block_on(async {
                let mut multipart = multer::Multipart::new(
                    chunk_stream(chunks.clone()),
                    content_type.boundary.clone(),
                );
                let mut total = 0usize;
                while let Some(mut field) = multipart.next_field().await.expect("multer field") {
                    while let Some(chunk) = field.chunk().await.expect("multer chunk") {
                        total += chunk.len();
                    }
                }
                total
            })
        })
    });
    let delimiter = format!("\r\n--{}", content_type.boundary);
    let finder = memchr::memmem::Finder::new(delimiter.as_bytes());
    group.bench_function("floor_memmem_find_iter", |b| {
        b.iter(|| finder.find_iter(&body).count())
    });
    group.finish();
}

/// Peak resident memory (VmHWM) minus current resident memory, after resetting the peak.
struct PeakRss {
    baseline_kib: u64,
}

impl PeakRss {
    fn start() -> Option<Self> {
        std::fs::write("/proc/self/clear_refs", "5").ok()?;
        Some(PeakRss {
            baseline_kib: status_kib("VmHWM:")?,
        })
    }

    fn growth_mib(&self) -> Option<f64> {
        Some(status_kib("VmHWM:")?.saturating_sub(self.baseline_kib) as f64 / 1024.0)
    }
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn report_peak_memory() {
    println!("peak memory growth during the split (VmHWM delta, input buffer excluded):");
    if let Some(peak) = PeakRss::start() {
        let probe = std::hint::black_box(vec![1u8; 8 << 20]);
        println!(
            "  calibration, an 8 MiB buffer touched in the window: +{:.2} MiB",
            peak.growth_mib().unwrap_or(f64::NAN)
        );
        drop(probe);
    }
    let (content_type, body, chunks) = body_in_memory();
    if let Some(peak) = PeakRss::start() {
        let mut sink = HashingSink::default();
        let copied = block_on(split(
            &content_type,
            chunk_stream(chunks.clone()),
            &mut sink,
        ));
        println!(
            "  150 MiB part from a 64 KiB-chunked buffer of {} bytes, into SHA-1: {copied} bytes, +{:.2} MiB",
            body.len(),
            peak.growth_mib().unwrap_or(f64::NAN)
        );
    }
    drop((body, chunks));
    for document_bytes in [16usize << 20, 150 << 20, 1 << 30] {
        let (content_type, generated) = generated_body(document_bytes);
        if let Some(peak) = PeakRss::start() {
            let copied = block_on(split(&content_type, generated, &mut tokio::io::sink()));
            println!(
                "  {} MiB part generated on the fly, into a no-op sink: {copied} bytes, +{:.2} MiB",
                document_bytes >> 20,
                peak.growth_mib().unwrap_or(f64::NAN)
            );
        }
    }
}

criterion_group!(benches, bench_split);

fn main() {
    report_peak_memory();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
