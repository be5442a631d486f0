//! ITI-41 uploads read straight from the socket (`repository::direct_upload`): each document
//! stored byte for byte whatever the framing and wherever the MIME delimiter falls against the
//! store's 1 MiB buffers, connections kept alive across uploads and handed to hyper for other
//! requests, `Expect: 100-continue` answered, and a body cut short or malformed leaving nothing.

mod support;

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use repository::storage::BATCH_BYTES;
use schemas::ebrim::{RegistryResponse, ResponseStatus, read_registry_response};
use schemas::ihe::{Document, DocumentContent, ProvideAndRegisterDocumentSetRequest};
use schemas::mtom::{Attachment, MtomReader, MtomWriter, SoapContentType};
use schemas::soap::{self, action};
use schemas::xml::Limits;
use support::{REPOSITORY_UID, Setup, document_entry, new_unique_id, retrieve, sha1_hex, submit};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How the raw client frames a request body.
#[derive(Clone, Copy)]
enum Framing {
    Length,
    /// Chunks of this size, each with a chunk extension, and a trailer at the end.
    Chunked(usize),
}

/// An ITI-41 MTOM request for `documents`: its Content-Type (announcing the action unless
/// `announce` is false), its body, and the documents' uniqueIds.
async fn upload_request(url: &str, documents: &[Vec<u8>], announce: bool) -> Request {
    let writer = MtomWriter::new();
    let writer = if announce {
        writer
            .with_action(action::PROVIDE_AND_REGISTER_DOCUMENT_SET_B)
            .unwrap()
    } else {
        writer
    };
    let boundary = writer.boundary().to_owned();
    let mut entries = Vec::new();
    let mut members = Vec::new();
    let mut docs = Vec::new();
    let mut attachments = Vec::new();
    let mut unique_ids = Vec::new();
    for (n, bytes) in documents.iter().enumerate() {
        let id = format!("Document{n:02}");
        let unique_id = new_unique_id();
        entries.push(document_entry(&id, &unique_id));
        members.push(id.clone());
        unique_ids.push(unique_id);
        let content_id = schemas::mtom::content_id();
        attachments.push(Attachment::from_bytes(
            content_id.clone(),
            "text/plain",
            Bytes::from(bytes.clone()),
        ));
        docs.push(Document {
            id,
            content: DocumentContent::Include { content_id },
        });
    }
    let members: Vec<&str> = members.iter().map(String::as_str).collect();
    let request = ProvideAndRegisterDocumentSetRequest {
        submit: submit(&entries, &members),
        documents: docs,
    };
    let (envelope, _) = soap::write_request_envelope(
        action::PROVIDE_AND_REGISTER_DOCUMENT_SET_B,
        url,
        &request.to_xml(),
    );
    let content_type = writer.content_type();
    let mut stream = writer.into_body(envelope, attachments).unwrap();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        body.extend_from_slice(&chunk.unwrap());
    }
    Request {
        content_type,
        body,
        boundary,
        unique_ids,
    }
}

struct Request {
    content_type: String,
    body: Vec<u8>,
    boundary: String,
    unique_ids: Vec<String>,
}

/// The head and framed body of `request` as HTTP/1.1, with `extra` header lines.
fn http_bytes(request: &Request, framing: Framing, extra: &str) -> (Vec<u8>, Vec<u8>) {
    let framing_header = match framing {
        Framing::Length => format!("content-length: {}\r\n", request.body.len()),
        Framing::Chunked(_) => "transfer-encoding: chunked\r\n".to_owned(),
    };
    let head = format!(
        "POST /xds/repository HTTP/1.1\r\nhost: repository\r\ncontent-type: {}\r\n{framing_header}{extra}\r\n",
        request.content_type
    );
    let body = match framing {
        Framing::Length => request.body.clone(),
        Framing::Chunked(size) => {
            let mut body = Vec::new();
            for chunk in request.body.chunks(size) {
                body.extend_from_slice(format!("{:x};piece=1\r\n", chunk.len()).as_bytes());
                body.extend_from_slice(chunk);
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(b"0\r\nx-trailer: yes\r\n\r\n");
            body
        }
    };
    (head.into_bytes(), body)
}

/// An HTTP/1.1 answer: status, headers (lowercased names) and body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The RegistryResponse of an ITI-41 answer (MTOM or plain).
    async fn registry_response(&self) -> RegistryResponse {
        let content_type = self.header("content-type").unwrap_or_default();
        let envelope = match SoapContentType::parse(content_type).unwrap() {
            SoapContentType::Plain { .. } => Bytes::from(self.body.clone()),
            SoapContentType::Mtom(multipart) => {
                let body = Bytes::from(self.body.clone());
                let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(body) });
                let mut reader = MtomReader::new(Box::pin(stream), &multipart);
                reader.root(1 << 20).await.unwrap().body
            }
        };
        let mut message = soap::read_response_envelope(&envelope, Limits::default()).unwrap();
        read_registry_response(&mut message.reader, &message.body).unwrap()
    }
}

/// Reads one answer (a `100 Continue` is returned as such).
async fn read_answer(stream: &mut TcpStream, leftover: &mut Vec<u8>) -> Answer {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(len) = response.parse(leftover).unwrap() {
            let status = response.code.unwrap();
            let headers: Vec<(String, String)> = response
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_ascii_lowercase(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect();
            leftover.drain(..len);
            let mut answer = Answer {
                status,
                headers,
                body: Vec::new(),
            };
            if status == 100 {
                return answer;
            }
            if let Some(length) = answer.header("content-length") {
                let length: usize = length.parse().unwrap();
                while leftover.len() < length {
                    read_more(stream, leftover).await;
                }
                answer.body = leftover.drain(..length).collect();
            } else {
                assert_eq!(answer.header("transfer-encoding"), Some("chunked"));
                loop {
                    while !leftover.windows(2).any(|w| w == b"\r\n") {
                        read_more(stream, leftover).await;
                    }
                    let line_end = leftover.windows(2).position(|w| w == b"\r\n").unwrap();
                    let size = usize::from_str_radix(
                        std::str::from_utf8(&leftover[..line_end]).unwrap(),
                        16,
                    )
                    .unwrap();
                    while leftover.len() < line_end + 2 + size + 2 {
                        read_more(stream, leftover).await;
                    }
                    answer
                        .body
                        .extend_from_slice(&leftover[line_end + 2..line_end + 2 + size]);
                    leftover.drain(..line_end + 2 + size + 2);
                    if size == 0 {
                        break;
                    }
                }
            }
            return answer;
        }
        read_more(stream, leftover).await;
    }
}

async fn read_more(stream: &mut TcpStream, into: &mut Vec<u8>) {
    let mut buffer = [0u8; 64 * 1024];
    let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buffer))
        .await
        .expect("an answer within 30 s")
        .unwrap();
    assert!(n > 0, "the connection closed before the answer was whole");
    into.extend_from_slice(&buffer[..n]);
}

async fn connect(setup: &Setup) -> TcpStream {
    TcpStream::connect(setup.repository.http_addr)
        .await
        .unwrap()
}

/// Sends `request` on `stream` and reads its answer.
async fn upload(
    stream: &mut TcpStream,
    leftover: &mut Vec<u8>,
    request: &Request,
    framing: Framing,
) -> Answer {
    let (head, body) = http_bytes(request, framing, "");
    stream.write_all(&head).await.unwrap();
    stream.write_all(&body).await.unwrap();
    read_answer(stream, leftover).await
}

/// Retrieves each uniqueId with ITI-43 and compares it with the document sent.
async fn assert_stored(setup: &Setup, request: &Request, documents: &[Vec<u8>]) {
    for (unique_id, bytes) in request.unique_ids.iter().zip(documents) {
        let (answer, parts) = retrieve(&setup.url(), &[(REPOSITORY_UID, unique_id)]).await;
        assert_eq!(answer.response.status, ResponseStatus::Success);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].size, bytes.len() as u64, "size of {unique_id}");
        assert_eq!(parts[0].sha1, sha1_hex(bytes), "content of {unique_id}");
    }
}

/// `len` bytes of a pattern that holds every byte value, CR and LF included.
fn document(len: usize, seed: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 7 + seed * 13) % 256) as u8)
        .collect()
}

#[tokio::test]
async fn documents_around_the_buffer_size_are_stored_byte_for_byte_with_content_length() {
    let setup = Setup::new().await;
    let mut stream = connect(&setup).await;
    let mut leftover = Vec::new();
    for (n, len) in [
        1,
        BATCH_BYTES - 1,
        BATCH_BYTES,
        BATCH_BYTES + 1,
        3 * BATCH_BYTES + 12_345,
    ]
    .into_iter()
    .enumerate()
    {
        let documents = vec![document(len, n)];
        let request = upload_request(&setup.url(), &documents, true).await;
        let answer = upload(&mut stream, &mut leftover, &request, Framing::Length).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("connection"), None, "kept alive");
        let response = answer.registry_response().await;
        assert_eq!(response.status, ResponseStatus::Success, "{response:?}");
        assert_stored(&setup, &request, &documents).await;
    }
}

#[tokio::test]
async fn a_chunked_upload_with_extensions_and_trailers_is_stored_byte_for_byte() {
    let setup = Setup::new().await;
    let mut stream = connect(&setup).await;
    let mut leftover = Vec::new();
    let documents = vec![document(2 * BATCH_BYTES + 777, 1), document(5_000, 2)];
    let request = upload_request(&setup.url(), &documents, true).await;
    let answer = upload(
        &mut stream,
        &mut leftover,
        &request,
        Framing::Chunked(100_003),
    )
    .await;
    assert_eq!(answer.status, 200);
    let response = answer.registry_response().await;
    assert_eq!(response.status, ResponseStatus::Success, "{response:?}");
    assert_stored(&setup, &request, &documents).await;
}

#[tokio::test]
async fn a_delimiter_cut_by_the_end_of_a_buffer_ends_the_document_where_it_starts() {
    let setup = Setup::new().await;
    let probe = upload_request(&setup.url(), &[Vec::new()], true).await;
    let delimiter_len = "\r\n--".len() + probe.boundary.len();
    // Each document ends `k` bytes before a buffer ends, so that its delimiter (CR LF -- and
    // the boundary) is cut after `k` bytes; each part's body starts a buffer of its own.
    let documents: Vec<Vec<u8>> = [0, 1, 2, 3, 5, delimiter_len - 1, delimiter_len]
        .into_iter()
        .map(|k| document(BATCH_BYTES - k, k))
        .collect();
    let request = upload_request(&setup.url(), &documents, true).await;
    assert_eq!(request.boundary.len(), probe.boundary.len());
    let mut stream = connect(&setup).await;
    let answer = upload(
        &mut stream,
        &mut Vec::new(),
        &request,
        Framing::Chunked(65_536),
    )
    .await;
    let response = answer.registry_response().await;
    assert_eq!(response.status, ResponseStatus::Success, "{response:?}");
    assert_stored(&setup, &request, &documents).await;
}

#[tokio::test]
async fn bytes_that_only_begin_like_a_delimiter_at_the_end_of_a_buffer_stay_in_the_document() {
    let setup = Setup::new().await;
    let mut documents = Vec::new();
    // Every boundary MtomWriter draws starts with this; "zz" cannot follow it in one.
    let fake = b"\r\n--MIMEBoundary_";
    for (n, tail_len) in [1usize, 2, 5, fake.len()].into_iter().enumerate() {
        // The first buffer ends with CR, CR LF, CR LF -- M, or the whole common start of a
        // delimiter; the next bytes are not the rest of one.
        let mut bytes = document(BATCH_BYTES + 10_000, n);
        bytes[BATCH_BYTES - tail_len..BATCH_BYTES].copy_from_slice(&fake[..tail_len]);
        bytes[BATCH_BYTES..BATCH_BYTES + 2].copy_from_slice(b"zz");
        documents.push(bytes);
    }
    let request = upload_request(&setup.url(), &documents, true).await;
    let mut stream = connect(&setup).await;
    let answer = upload(&mut stream, &mut Vec::new(), &request, Framing::Length).await;
    let response = answer.registry_response().await;
    assert_eq!(response.status, ResponseStatus::Success, "{response:?}");
    assert_stored(&setup, &request, &documents).await;
}

#[tokio::test]
async fn after_an_upload_the_connection_serves_other_requests_through_hyper() {
    let setup = Setup::new().await;
    let documents = vec![document(BATCH_BYTES + 3, 7)];
    let request = upload_request(&setup.url(), &documents, true).await;
    let mut stream = connect(&setup).await;
    let mut leftover = Vec::new();
    let answer = upload(&mut stream, &mut leftover, &request, Framing::Length).await;
    assert_eq!(
        answer.registry_response().await.status,
        ResponseStatus::Success
    );
    // Then /healthz, pipelined with a second upload, on the same connection: hyper takes over.
    let second = upload_request(&setup.url(), &[document(10, 8)], true).await;
    let (head, body) = http_bytes(&second, Framing::Length, "");
    let mut pipelined = b"GET /healthz HTTP/1.1\r\nhost: repository\r\n\r\n".to_vec();
    pipelined.extend_from_slice(&head);
    pipelined.extend_from_slice(&body);
    stream.write_all(&pipelined).await.unwrap();
    let health = read_answer(&mut stream, &mut leftover).await;
    assert_eq!(health.status, 200);
    assert!(String::from_utf8_lossy(&health.body).contains("\"ok\""));
    let answer = read_answer(&mut stream, &mut leftover).await;
    assert_eq!(
        answer.registry_response().await.status,
        ResponseStatus::Success
    );
    assert_stored(&setup, &second, &[document(10, 8)]).await;
}

#[tokio::test]
async fn expect_100_continue_is_answered_before_the_body_is_sent() {
    let setup = Setup::new().await;
    let documents = vec![document(50_000, 3)];
    let request = upload_request(&setup.url(), &documents, true).await;
    let (head, body) = http_bytes(&request, Framing::Length, "expect: 100-continue\r\n");
    let mut stream = connect(&setup).await;
    let mut leftover = Vec::new();
    stream.write_all(&head).await.unwrap();
    let interim = read_answer(&mut stream, &mut leftover).await;
    assert_eq!(interim.status, 100);
    stream.write_all(&body).await.unwrap();
    let answer = read_answer(&mut stream, &mut leftover).await;
    assert_eq!(
        answer.registry_response().await.status,
        ResponseStatus::Success
    );
    assert_stored(&setup, &request, &documents).await;
}

/// Waits until the repository holds no document (file or index row), or fails.
async fn assert_nothing_stored(setup: &Setup) {
    for _ in 0..100 {
        if setup.stored_files().is_empty() && setup.index_rows().await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "left behind: {:?} and {:?}",
        setup.stored_files(),
        setup.index_rows().await
    );
}

#[tokio::test]
async fn a_body_cut_short_by_the_client_leaves_nothing_stored() {
    let setup = Setup::new().await;
    let request = upload_request(&setup.url(), &[document(3 * BATCH_BYTES, 5)], true).await;
    let (head, body) = http_bytes(&request, Framing::Length, "");
    let mut stream = connect(&setup).await;
    stream.write_all(&head).await.unwrap();
    stream.write_all(&body[..body.len() / 2]).await.unwrap();
    drop(stream);
    assert_nothing_stored(&setup).await;
}

#[tokio::test]
async fn a_malformed_chunk_size_is_refused_and_leaves_nothing_stored() {
    let setup = Setup::new().await;
    let request = upload_request(&setup.url(), &[document(2 * BATCH_BYTES, 6)], true).await;
    let (head, body) = http_bytes(&request, Framing::Chunked(BATCH_BYTES / 2), "");
    // The third chunk's size line is replaced by one that is not hexadecimal.
    let chunk = BATCH_BYTES / 2;
    let first_line = format!("{chunk:x};piece=1\r\n").len();
    let third_line_at = 2 * (first_line + chunk + 2);
    let mut broken = body[..third_line_at].to_vec();
    broken.extend_from_slice(b"zz\r\n");
    broken.extend_from_slice(&body[third_line_at + first_line..]);
    let mut stream = connect(&setup).await;
    let mut leftover = Vec::new();
    stream.write_all(&head).await.unwrap();
    stream.write_all(&broken).await.unwrap();
    let answer = read_answer(&mut stream, &mut leftover).await;
    assert_eq!(answer.header("connection"), Some("close"));
    let response = answer.registry_response().await;
    assert_eq!(response.status, ResponseStatus::Failure);
    assert_nothing_stored(&setup).await;
}

#[tokio::test]
async fn an_upload_announced_as_iti41_but_carrying_a_retrieve_gets_the_streamed_retrieve_answer() {
    let setup = Setup::new().await;
    let documents = vec![document(3 * BATCH_BYTES + 17, 9)];
    let stored = upload_request(&setup.url(), &documents, true).await;
    let mut stream = connect(&setup).await;
    let mut leftover = Vec::new();
    let answer = upload(&mut stream, &mut leftover, &stored, Framing::Length).await;
    assert_eq!(
        answer.registry_response().await.status,
        ResponseStatus::Success
    );
    // The Content-Type announces ITI-41 (so this module serves it); the envelope is ITI-43.
    let retrieve_request = schemas::ihe::RetrieveDocumentSetRequest {
        requests: vec![schemas::ihe::DocumentRequest {
            home_community_id: None,
            repository_unique_id: REPOSITORY_UID.to_owned(),
            document_unique_id: stored.unique_ids[0].clone(),
        }],
    };
    let (envelope, _) = soap::write_request_envelope(
        action::RETRIEVE_DOCUMENT_SET,
        &setup.url(),
        &retrieve_request.to_xml(),
    );
    let writer = MtomWriter::new()
        .with_action(action::PROVIDE_AND_REGISTER_DOCUMENT_SET_B)
        .unwrap();
    let content_type = writer.content_type();
    let mut body_stream = writer.into_body(envelope, Vec::new()).unwrap();
    let mut body = Vec::new();
    while let Some(chunk) = body_stream.next().await {
        body.extend_from_slice(&chunk.unwrap());
    }
    let request = Request {
        content_type,
        body,
        boundary: String::new(),
        unique_ids: Vec::new(),
    };
    let answer = upload(&mut stream, &mut leftover, &request, Framing::Length).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("transfer-encoding"), Some("chunked"));
    let SoapContentType::Mtom(multipart) =
        SoapContentType::parse(answer.header("content-type").unwrap()).unwrap()
    else {
        panic!("an MTOM answer");
    };
    let answer_body = Bytes::from(answer.body);
    let parts = futures::stream::once(async move { Ok::<_, std::io::Error>(answer_body) });
    let mut reader = MtomReader::new(Box::pin(parts), &multipart);
    reader.root(1 << 20).await.unwrap();
    reader
        .next_part()
        .await
        .unwrap()
        .expect("the document's part");
    let mut retrieved = Vec::new();
    while let Some(chunk) = reader.read_chunk().await.unwrap() {
        retrieved.extend_from_slice(&chunk);
    }
    assert_eq!(sha1_hex(&retrieved), sha1_hex(&documents[0]));
}
