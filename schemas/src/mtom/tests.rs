use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::{Stream, StreamExt, stream};
use sha1::{Digest, Sha1};

use super::*;

/// (Content-ID, payload) of each attachment.
type Payloads = Vec<(String, Vec<u8>)>;
/// The root part and each attachment's headers and body.
type ReadPackage = Result<(RootPart, Vec<(PartHeaders, Vec<u8>)>), MtomError>;

type ChunkStream = stream::Iter<std::vec::IntoIter<Result<Bytes, io::Error>>>;

/// Deterministic pseudo-random bytes (xorshift64*), no external RNG needed.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

fn feed(data: &[u8], sizes: impl IntoIterator<Item = usize>) -> ChunkStream {
    let mut chunks = Vec::new();
    let mut at = 0;
    let mut sizes = sizes.into_iter();
    while at < data.len() {
        let size = sizes.next().unwrap_or(data.len()).clamp(1, data.len() - at);
        chunks.push(Ok(Bytes::copy_from_slice(&data[at..at + size])));
        at += size;
    }
    stream::iter(chunks)
}

fn one_chunk(data: &[u8]) -> ChunkStream {
    feed(data, [data.len()])
}

/// Binary payloads that look like delimiters: CRLF, `--`, a boundary prefix, a lone CR at the end.
fn tricky_payloads(boundary: &str) -> Vec<Vec<u8>> {
    let near_miss = format!("\r\n--{}", &boundary[..boundary.len() - 1]);
    vec![
        b"\r\n--\r\n\r\n----\n--\r\r\n".to_vec(),
        [near_miss.as_bytes(), b"X\r\n-- tail\r"].concat(),
        Xorshift(7).bytes(3000),
        Vec::new(),
        b"\r".to_vec(),
    ]
}

const ENVELOPE: &str =
    "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body/></s:Envelope>";

/// A writer-made body with the tricky payloads as attachments, collected into memory.
fn written_package() -> (MultipartType, Vec<u8>, Payloads) {
    let writer = MtomWriter::new();
    let payloads: Payloads = tricky_payloads(writer.boundary())
        .into_iter()
        .map(|payload| (content_id(), payload))
        .collect();
    let attachments = payloads
        .iter()
        .map(|(id, body)| {
            Attachment::from_bytes(
                id.clone(),
                "application/octet-stream",
                Bytes::from(body.clone()),
            )
        })
        .collect();
    let content_type = MultipartType::parse(&writer.content_type()).unwrap();
    let body = futures::executor::block_on(async {
        let mut out = Vec::new();
        let mut stream = Box::pin(writer.into_body(ENVELOPE.to_owned(), attachments).unwrap());
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        out
    });
    (content_type, body, payloads)
}

async fn read_package<S>(content_type: &MultipartType, stream: S) -> ReadPackage
where
    S: Stream<Item = Result<Bytes, io::Error>> + Unpin,
{
    let mut reader = MtomReader::new(stream, content_type);
    let root = reader.root(1 << 20).await?;
    let mut parts = Vec::new();
    while let Some(headers) = reader.next_part().await? {
        let mut body = Vec::new();
        while let Some(chunk) = reader.read_chunk().await? {
            body.extend_from_slice(&chunk);
        }
        parts.push((headers, body));
    }
    Ok((root, parts))
}

fn assert_round_trip(
    content_type: &MultipartType,
    expected: &[(String, Vec<u8>)],
    result: ReadPackage,
) {
    let (root, parts) = result.unwrap();
    assert_eq!(root.body, ENVELOPE.as_bytes());
    assert_eq!(root.headers.content_id, content_type.start);
    assert_eq!(parts.len(), expected.len());
    for ((headers, body), (id, payload)) in parts.iter().zip(expected) {
        assert_eq!(headers.content_id.as_deref(), Some(id.as_str()));
        assert_eq!(
            headers.content_type.as_deref(),
            Some("application/octet-stream")
        );
        assert_eq!(headers.content_transfer_encoding.as_deref(), Some("binary"));
        assert_eq!(body, payload, "payload of {id}");
    }
}

// ---- Content-Type (RFC 2045 §5.1, RFC 2387) ----

#[test]
fn content_type_reads_quoted_and_unquoted_parameters_with_any_case() {
    let parsed = MultipartType::parse(
        "Multipart/Related; BOUNDARY=MIMEBoundary_abc; Type=\"application/xop+xml\"; \
         start=\"<0.urn:uuid:1@apache.org>\"; START-INFO=\"application/soap+xml; action=\\\"urn:x\\\"\"",
    )
    .unwrap();
    assert_eq!(parsed.boundary, "MIMEBoundary_abc");
    assert_eq!(parsed.type_, "application/xop+xml");
    assert!(parsed.is_xop());
    assert_eq!(parsed.start.as_deref(), Some("0.urn:uuid:1@apache.org"));
    assert_eq!(
        parsed.start_info.as_deref(),
        Some("application/soap+xml; action=\"urn:x\"")
    );
}

#[test]
fn content_type_without_boundary_is_refused() {
    assert_eq!(
        MultipartType::parse("multipart/related; type=\"application/xop+xml\""),
        Err(ContentTypeError::MissingBoundary)
    );
}

#[test]
fn content_type_of_another_media_type_is_refused() {
    assert!(matches!(
        MultipartType::parse("multipart/form-data; boundary=x"),
        Err(ContentTypeError::NotMultipartRelated { found }) if found == "multipart/form-data"
    ));
    assert!(matches!(
        SoapContentType::parse("text/xml; charset=utf-8"),
        Err(ContentTypeError::UnsupportedMediaType { found }) if found == "text/xml"
    ));
}

#[test]
fn content_type_with_unterminated_quote_is_malformed() {
    assert!(matches!(
        MultipartType::parse("multipart/related; boundary=\"abc"),
        Err(ContentTypeError::Malformed { .. })
    ));
}

#[test]
fn content_type_boundary_longer_than_70_characters_is_refused() {
    let value = format!(
        "multipart/related; type=\"application/xop+xml\"; boundary={}",
        "b".repeat(71)
    );
    assert!(matches!(
        MultipartType::parse(&value),
        Err(ContentTypeError::InvalidBoundary(_))
    ));
}

#[test]
fn plain_soap_content_type_is_recognised_with_its_action() {
    assert_eq!(
        SoapContentType::parse(
            "application/soap+xml; charset=UTF-8; action=\"urn:ihe:iti:2007:RegistryStoredQuery\""
        ),
        Ok(SoapContentType::Plain {
            action: Some("urn:ihe:iti:2007:RegistryStoredQuery".to_owned())
        })
    );
    assert!(matches!(
        SoapContentType::parse(&MtomWriter::new().content_type()),
        Ok(SoapContentType::Mtom(m)) if m.is_xop()
    ));
}

#[test]
fn writer_content_type_announces_type_start_and_start_info() {
    let writer = MtomWriter::new()
        .with_action("urn:ihe:iti:2007:RetrieveDocumentSetResponse")
        .unwrap();
    let parsed = MultipartType::parse(&writer.content_type()).unwrap();
    assert_eq!(parsed.boundary, writer.boundary());
    assert_eq!(parsed.type_, XOP_MEDIA_TYPE);
    assert_eq!(parsed.start.as_deref(), Some(writer.root_content_id()));
    assert_eq!(parsed.start_info.as_deref(), Some(SOAP_MEDIA_TYPE));
}

#[test]
fn the_announced_action_is_the_action_parameter_or_the_one_in_start_info() {
    let pnr = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b";
    let own = MtomWriter::new().with_action(pnr).unwrap().content_type();
    assert_eq!(MultipartType::announced_action(&own).as_deref(), Some(pnr));
    let in_start_info = format!(
        "multipart/related; boundary=b1; type=\"application/xop+xml\"; start-info=\"application/soap+xml; action=\\\"{pnr}\\\"\""
    );
    assert_eq!(
        MultipartType::announced_action(&in_start_info).as_deref(),
        Some(pnr)
    );
    assert_eq!(
        MultipartType::announced_action(&MtomWriter::new().content_type()),
        None
    );
    let plain = format!("application/soap+xml; action=\"{pnr}\"");
    assert_eq!(MultipartType::announced_action(&plain), None);
}

#[tokio::test]
async fn a_part_body_read_by_the_caller_resumes_at_the_next_part() {
    let (multipart, body, payloads) = written_package();
    let mut reader = MtomReader::new(one_chunk(&body), &multipart);
    reader.root(1 << 20).await.unwrap();
    reader.next_part().await.unwrap().expect("first attachment");
    // The caller finds the delimiter itself in what the reader had read past the headers.
    let start = reader.take_body_start().expect("inside a part body");
    let delimiter = [b"\r".as_slice(), reader.delimiter()].concat();
    let at = memchr::memmem::find(&start, &delimiter).expect("the delimiter is in the chunk");
    assert_eq!(&start[..at], payloads[0].1.as_slice());
    let rest = start.slice(at + delimiter.len()..);
    reader.resume_after_delimiter(rest, 0);
    let second = reader
        .next_part()
        .await
        .unwrap()
        .expect("second attachment");
    assert_eq!(second.content_id.as_deref(), Some(payloads[1].0.as_str()));
    let mut read = Vec::new();
    while let Some(chunk) = reader.read_chunk().await.unwrap() {
        read.extend_from_slice(&chunk);
    }
    assert_eq!(read, payloads[1].1);
}

// ---- Round trips (writer → reader) ----

#[tokio::test]
async fn round_trip_in_one_chunk_keeps_binary_parts_intact() {
    let (content_type, body, payloads) = written_package();
    let result = read_package(&content_type, one_chunk(&body)).await;
    assert_round_trip(&content_type, &payloads, result);
}

#[tokio::test]
async fn round_trip_in_one_byte_chunks() {
    let (content_type, body, payloads) = written_package();
    let result = read_package(&content_type, feed(&body, std::iter::repeat(1))).await;
    assert_round_trip(&content_type, &payloads, result);
}

#[tokio::test]
async fn round_trip_in_random_chunk_sizes() {
    let (content_type, body, payloads) = written_package();
    for seed in 1..=40u64 {
        let mut rng = Xorshift(seed * 0x9e37_79b9);
        let sizes: Vec<usize> = (0..body.len())
            .map(|_| 1 + (rng.next() % 97) as usize)
            .collect();
        let result = read_package(&content_type, feed(&body, sizes)).await;
        assert_round_trip(&content_type, &payloads, result);
    }
}

#[tokio::test]
async fn round_trip_split_at_every_byte_boundary() {
    let (content_type, body, payloads) = written_package();
    for split in 1..body.len() {
        let result = read_package(&content_type, feed(&body, [split, body.len()])).await;
        assert_round_trip(&content_type, &payloads, result);
    }
}

#[tokio::test]
async fn writer_streams_attachment_bodies_chunk_by_chunk() {
    let writer = MtomWriter::new();
    let content_type = MultipartType::parse(&writer.content_type()).unwrap();
    let id = content_id();
    let chunks: Vec<Result<Bytes, io::Error>> =
        (0..5u8).map(|i| Ok(Bytes::from(vec![i; 10]))).collect();
    let attachment = Attachment {
        content_id: id.clone(),
        content_type: "application/dicom".to_owned(),
        body: Box::pin(stream::iter(chunks)),
    };
    let body: Vec<Bytes> = writer
        .into_body(ENVELOPE.to_owned(), vec![attachment])
        .unwrap()
        .map(Result::unwrap)
        .collect()
        .await;
    assert!(body.iter().filter(|chunk| chunk.len() == 10).count() == 5);
    let mut reader = MtomReader::new(
        stream::iter(body.into_iter().map(Ok::<_, io::Error>)),
        &content_type,
    );
    reader.root(4096).await.unwrap();
    let headers = reader.next_part().await.unwrap().unwrap();
    assert_eq!(headers.content_id, Some(id));
    assert_eq!(headers.content_type.as_deref(), Some("application/dicom"));
    let mut sink = Vec::new();
    assert_eq!(reader.copy_part_to(&mut sink).await.unwrap(), 50);
    assert!(reader.next_part().await.unwrap().is_none());
}

#[test]
fn writer_refuses_header_injection_in_attachment_content_type() {
    let attachment = Attachment::from_bytes(
        content_id(),
        "text/plain\r\nX-Evil: 1",
        Bytes::from_static(b"x"),
    );
    assert!(matches!(
        MtomWriter::new().into_body(String::new(), vec![attachment]),
        Err(MtomError::InvalidHeaderValue {
            field: "Content-Type",
            ..
        })
    ));
}

#[test]
fn writer_refuses_angle_brackets_in_content_id() {
    let attachment = Attachment::from_bytes("a>b", "text/plain", Bytes::from_static(b"x"));
    assert!(matches!(
        MtomWriter::new().into_body(String::new(), vec![attachment]),
        Err(MtomError::InvalidHeaderValue {
            field: "Content-ID",
            ..
        })
    ));
}

// ---- xop:Include and cid: URLs (XOP 1.0 §3, RFC 2392) ----

#[test]
fn xop_include_percent_encodes_the_cid_url() {
    assert_eq!(
        xop_include("a b/c%d@x.org"),
        "<xop:Include xmlns:xop=\"http://www.w3.org/2004/08/xop/include\" href=\"cid:a%20b%2Fc%25d@x.org\"/>"
    );
    assert_eq!(
        cid_from_href("cid:a%20b%2Fc%25d@x.org").as_deref(),
        Some("a b/c%d@x.org")
    );
    let id = content_id();
    assert!(xop_include(&id).contains(&format!("href=\"cid:{id}\"")));
}

#[test]
fn cid_from_href_refuses_other_schemes_and_bad_escapes() {
    assert_eq!(cid_from_href("http://x/y"), None);
    assert_eq!(cid_from_href("cid:%4"), None);
    assert_eq!(cid_from_href("cid:"), None);
}

// ---- Errors ----

#[tokio::test]
async fn truncated_body_is_a_typed_error_wherever_it_is_cut() {
    let (content_type, body, _) = written_package();
    let closing_len = b"--\r\n".len();
    for cut in 0..body.len() - closing_len {
        let result = read_package(&content_type, feed(&body[..cut], std::iter::repeat(64))).await;
        assert!(
            matches!(result, Err(MtomError::Truncated { .. })),
            "cut at {cut}: {result:?}"
        );
    }
}

#[tokio::test]
async fn root_larger_than_the_limit_is_refused() {
    let (content_type, body, _) = written_package();
    let mut reader = MtomReader::new(one_chunk(&body), &content_type);
    assert!(matches!(
        reader.root(ENVELOPE.len() - 1).await,
        Err(MtomError::RootTooLarge { limit }) if limit == ENVELOPE.len() - 1
    ));
    let mut reader = MtomReader::new(one_chunk(&body), &content_type);
    assert_eq!(reader.root(ENVELOPE.len()).await.unwrap().body, ENVELOPE);
}

#[tokio::test]
async fn root_named_by_start_must_be_the_first_part() {
    let (mut content_type, body, payloads) = written_package();
    content_type.start = Some(payloads[0].0.clone());
    let mut reader = MtomReader::new(one_chunk(&body), &content_type);
    assert!(matches!(
        reader.root(1 << 20).await,
        Err(MtomError::RootNotFirst { start, .. }) if start == payloads[0].0
    ));
}

#[tokio::test]
async fn root_without_start_is_the_first_part() {
    let (mut content_type, body, payloads) = written_package();
    content_type.start = None;
    let result = read_package(&content_type, one_chunk(&body)).await;
    let (root, parts) = result.unwrap();
    assert_eq!(root.body, ENVELOPE);
    assert_eq!(parts.len(), payloads.len());
}

#[tokio::test]
async fn root_can_only_be_read_first() {
    let (content_type, body, _) = written_package();
    let mut reader = MtomReader::new(one_chunk(&body), &content_type);
    reader.next_part().await.unwrap();
    assert!(matches!(
        reader.root(1 << 20).await,
        Err(MtomError::RootAlreadyRead)
    ));
}

#[tokio::test]
async fn body_without_any_part_has_no_root() {
    let content_type = MultipartType::parse("multipart/related; boundary=b; type=x").unwrap();
    let mut reader = MtomReader::new(one_chunk(b"preamble\r\n--b--\r\n"), &content_type);
    assert!(matches!(reader.root(100).await, Err(MtomError::NoRootPart)));
}

fn hand_written(boundary: &str, parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (headers, payload) in parts {
        body.extend_from_slice(format!("\r\n--{boundary}\r\n{headers}\r\n\r\n").as_bytes());
        body.extend_from_slice(payload);
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

#[tokio::test]
async fn header_block_larger_than_the_limit_is_refused() {
    let content_type = MultipartType::parse("multipart/related; boundary=b; type=x").unwrap();
    let big = format!("Content-ID: <r>\r\nX-Padding: {}", "p".repeat(20_000));
    let body = hand_written("b", &[(&big, b"x")]);
    let mut reader = MtomReader::new(feed(&body, std::iter::repeat(1000)), &content_type);
    assert!(matches!(
        reader.next_part().await,
        Err(MtomError::HeadersTooLarge { limit: 16384 })
    ));
}

#[tokio::test]
async fn header_line_without_colon_is_malformed() {
    let content_type = MultipartType::parse("multipart/related; boundary=b; type=x").unwrap();
    let body = hand_written("b", &[("Content-ID <r>", b"x")]);
    let mut reader = MtomReader::new(one_chunk(&body), &content_type);
    assert!(matches!(
        reader.next_part().await,
        Err(MtomError::MalformedHeaders(_))
    ));
}

#[tokio::test]
async fn boundary_followed_by_text_is_a_malformed_delimiter() {
    let content_type = MultipartType::parse("multipart/related; boundary=b; type=x").unwrap();
    let mut reader = MtomReader::new(one_chunk(b"--bX\r\n\r\nbody\r\n--b--"), &content_type);
    assert!(matches!(
        reader.next_part().await,
        Err(MtomError::MalformedDelimiter { found }) if found == "X"
    ));
}

#[tokio::test]
async fn base64_transfer_encoding_is_refused() {
    let content_type = MultipartType::parse("multipart/related; boundary=b; type=x").unwrap();
    let body = hand_written(
        "b",
        &[(
            "Content-ID: <doc>\r\nContent-Transfer-Encoding: base64",
            b"eA==",
        )],
    );
    let mut reader = MtomReader::new(one_chunk(&body), &content_type);
    assert!(matches!(
        reader.next_part().await,
        Err(MtomError::UnsupportedTransferEncoding { content_id: Some(id), encoding })
            if id == "doc" && encoding == "base64"
    ));
}

#[tokio::test]
async fn body_stream_error_is_reported() {
    let content_type = MultipartType::parse("multipart/related; boundary=b; type=x").unwrap();
    let chunks = vec![
        Ok(Bytes::from_static(b"--b\r\nContent-ID: <r>\r\n\r\n<a/>")),
        Err(io::Error::new(io::ErrorKind::ConnectionReset, "peer reset")),
    ];
    let mut reader = MtomReader::new(stream::iter(chunks), &content_type);
    assert!(matches!(reader.root(100).await, Err(MtomError::Body(_))));
}

struct FailingSink;

impl tokio::io::AsyncWrite for FailingSink {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(io::Error::other("disk full")))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn sink_error_names_the_part() {
    let (content_type, body, payloads) = written_package();
    let mut reader = MtomReader::new(one_chunk(&body), &content_type);
    reader.root(1 << 20).await.unwrap();
    reader.next_part().await.unwrap();
    assert!(matches!(
        reader.copy_part_to(&mut FailingSink).await,
        Err(MtomError::Sink { content_id: Some(id), .. }) if id == payloads[0].0
    ));
}

#[tokio::test]
async fn next_part_skips_the_unread_rest_of_a_part() {
    let (content_type, body, payloads) = written_package();
    let mut reader = MtomReader::new(feed(&body, std::iter::repeat(7)), &content_type);
    let mut ids = Vec::new();
    while let Some(headers) = reader.next_part().await.unwrap() {
        ids.extend(headers.content_id);
    }
    assert_eq!(ids.len(), payloads.len() + 1);
    assert_eq!(
        &ids[1..],
        payloads
            .iter()
            .map(|(id, _)| id.clone())
            .collect::<Vec<_>>()
    );
}

// ---- What Apache Axis2 / Metro send ----

const AXIS2_BOUNDARY: &str = "MIMEBoundary_4f1a0e5c9d3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b";

fn axis2_body(line_end: &str) -> Vec<u8> {
    let text = format!(
        "This is a MIME preamble that readers ignore.{n}\
         --{b}{n}\
         Content-Type: application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"{n}\
         Content-Transfer-Encoding: binary{n}\
         Content-ID: <0.urn:uuid:8D3C1A2B@apache.org>{n}\
         {n}\
         {env}{n}\
         --{b}  {n}\
         Content-Type: text/xml{n}\
         Content-Transfer-Encoding: binary{n}\
         Content-ID:{n} <1.urn:uuid:8D3C1A2C@apache.org>{n}\
         {n}\
         <ClinicalDocument/>{n}\
         --{b}--{n}\
         epilogue, also ignored{n}",
        n = line_end,
        b = AXIS2_BOUNDARY,
        env = ENVELOPE,
    );
    text.into_bytes()
}

fn axis2_content_type() -> MultipartType {
    MultipartType::parse(&format!(
        "multipart/related; boundary={AXIS2_BOUNDARY}; type=\"application/xop+xml\"; \
         start=\"<0.urn:uuid:8D3C1A2B@apache.org>\"; start-info=\"application/soap+xml\"; \
         action=\"urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b\""
    ))
    .unwrap()
}

async fn assert_axis2_body_is_read(body: &[u8]) {
    let content_type = axis2_content_type();
    for sizes in [vec![body.len()], vec![1], vec![13]] {
        let sizes = sizes.into_iter().cycle();
        let (root, parts) = read_package(&content_type, feed(body, sizes))
            .await
            .unwrap();
        assert_eq!(root.body, ENVELOPE);
        assert_eq!(
            root.headers.content_type.as_deref(),
            Some("application/xop+xml; charset=UTF-8; type=\"application/soap+xml\"")
        );
        assert_eq!(parts.len(), 1);
        let (headers, document) = &parts[0];
        assert_eq!(
            headers.content_id.as_deref(),
            Some("1.urn:uuid:8D3C1A2C@apache.org"),
            "folded Content-ID is joined"
        );
        assert_eq!(headers.get("content-transfer-encoding"), Some("binary"));
        assert_eq!(document, b"<ClinicalDocument/>");
    }
}

#[tokio::test]
async fn axis2_body_with_preamble_padding_folding_and_epilogue_is_read() {
    assert_axis2_body_is_read(&axis2_body("\r\n")).await;
}

#[tokio::test]
async fn lf_only_line_endings_are_tolerated() {
    assert_axis2_body_is_read(&axis2_body("\n")).await;
}

// ---- Bounded memory ----

/// SHA-1 of everything written, and the largest single write (the chunk size handed out).
#[derive(Default)]
struct HashingSink {
    hasher: Sha1,
    written: u64,
    largest_write: usize,
}

impl tokio::io::AsyncWrite for HashingSink {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.hasher.update(buf);
        self.written += buf.len() as u64;
        self.largest_write = self.largest_write.max(buf.len());
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

const CHUNK: usize = 64 * 1024;
const DOCUMENT_CHUNKS: usize = 800; // 50 MiB

fn document_chunks() -> impl Iterator<Item = Bytes> {
    let mut rng = Xorshift(0x5eed);
    (0..DOCUMENT_CHUNKS).map(move |_| Bytes::from(rng.bytes(CHUNK)))
}

#[tokio::test]
async fn fifty_megabyte_part_is_streamed_in_bounded_chunks() {
    let expected = document_chunks()
        .fold(Sha1::new(), |hasher, chunk| hasher.chain_update(&chunk))
        .finalize();
    let writer = MtomWriter::new();
    let content_type = MultipartType::parse(&writer.content_type()).unwrap();
    let attachment = Attachment {
        content_id: content_id(),
        content_type: "application/dicom".to_owned(),
        body: Box::pin(stream::iter(document_chunks().map(Ok))),
    };
    let body = Box::pin(
        writer
            .into_body(ENVELOPE.to_owned(), vec![attachment])
            .unwrap(),
    );
    let mut reader = MtomReader::new(body, &content_type);
    reader.root(4096).await.unwrap();
    reader.next_part().await.unwrap();
    let mut sink = HashingSink::default();
    let copied = reader.copy_part_to(&mut sink).await.unwrap();
    assert_eq!(copied, (CHUNK * DOCUMENT_CHUNKS) as u64);
    assert_eq!(sink.written, copied);
    assert_eq!(sink.hasher.finalize(), expected);
    let delimiter_len = "\r\n--".len() + content_type.boundary.len();
    assert!(
        sink.largest_write <= CHUNK + delimiter_len,
        "largest chunk handed out: {}",
        sink.largest_write
    );
    assert!(reader.next_part().await.unwrap().is_none());
}
