//! The harness's SOAP client: plain SOAP 1.2 requests, MTOM requests carrying the documents a
//! test plan names (ITI-41), and responses read whether plain or MTOM (ITI-43, RAD-69), each
//! attachment digested (SHA-1, size) as it streams in.

use std::path::PathBuf;

use futures::TryStreamExt;
use schemas::mtom::{Attachment, MtomReader, MtomWriter, SoapContentType};
use schemas::soap;
use sha1::{Digest, Sha1};

/// Why an exchange failed before a SOAP response could be read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error("cannot read or write document {path}: {source}")]
    Document {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("MTOM: {0}")]
    Mtom(#[from] schemas::mtom::MtomError),
    #[error("HTTP {status} MTOM response ({content_type}) unreadable: {source}")]
    MtomResponse {
        status: u16,
        content_type: String,
        source: schemas::mtom::MtomError,
    },
    #[error("response Content-Type {value:?}: {reason}")]
    ContentType { value: String, reason: String },
    #[error("MTOM response root part is not UTF-8")]
    RootNotUtf8,
}

/// An error with every cause in its chain (`a: b: c`), for the section's failure reason.
pub fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A document to send as an MTOM attachment.
#[derive(Debug, Clone)]
pub struct OutgoingDocument {
    pub content_id: String,
    pub mime_type: String,
    pub path: PathBuf,
}

/// An attachment of a response, digested as it streamed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedAttachment {
    pub content_id: String,
    pub content_type: String,
    pub size: u64,
    /// Lower-case hex SHA-1 of the bytes.
    pub sha1: String,
    /// Where the bytes were written, when the caller asked to keep them.
    pub saved: Option<PathBuf>,
}

/// A SOAP response: the envelope text and the attachments that came with it (MTOM).
#[derive(Debug, Clone, Default)]
pub struct SoapReply {
    pub envelope: String,
    pub attachments: Vec<ReceivedAttachment>,
}

/// Lower-case hex of a SHA-1 digest.
pub fn hex_digest(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-1 and size of a file, read in chunks.
pub async fn digest_file(path: &std::path::Path) -> Result<(String, u64), WireError> {
    use tokio::io::AsyncReadExt;
    let error = |source| WireError::Document {
        path: path.to_owned(),
        source,
    };
    let mut file = tokio::fs::File::open(path).await.map_err(error)?;
    let mut hasher = Sha1::new();
    let mut size = 0u64;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = file.read(&mut buffer).await.map_err(error)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        size += read as u64;
    }
    Ok((hex_digest(&hasher.finalize()), size))
}

/// Posts a plain SOAP 1.2 request whose body is `body`.
pub async fn post_plain(
    client: &reqwest::Client,
    url: &str,
    action: &str,
    body: &str,
) -> Result<SoapReply, WireError> {
    post_plain_keeping(client, url, action, body, None).await
}

/// Posts a plain SOAP 1.2 request; each attachment of the answer is also written, as it streams
/// in, to a file of `keep_in` (`1.dcm`, `2.dcm`, ...) when given.
pub async fn post_plain_keeping(
    client: &reqwest::Client,
    url: &str,
    action: &str,
    body: &str,
    keep_in: Option<&std::path::Path>,
) -> Result<SoapReply, WireError> {
    let (envelope, _) = soap::write_request_envelope(action, url, body);
    let response = client
        .post(url)
        .header("content-type", soap::content_type(action))
        .body(envelope)
        .send()
        .await?;
    read_reply(response, keep_in).await
}

/// Posts an MTOM request: the envelope around `body` (whose `xop:Include`s name the documents),
/// then each document streamed from its file.
pub async fn post_mtom(
    client: &reqwest::Client,
    url: &str,
    action: &str,
    body: &str,
    documents: &[OutgoingDocument],
) -> Result<SoapReply, WireError> {
    let (envelope, _) = soap::write_request_envelope(action, url, body);
    let writer = MtomWriter::new().with_action(action)?;
    let content_type = writer.content_type();
    let mut attachments = Vec::with_capacity(documents.len());
    for document in documents {
        let file = tokio::fs::File::open(&document.path)
            .await
            .map_err(|source| WireError::Document {
                path: document.path.clone(),
                source,
            })?;
        attachments.push(Attachment {
            content_id: document.content_id.clone(),
            content_type: document.mime_type.clone(),
            body: Box::pin(tokio_util::io::ReaderStream::new(file)),
        });
    }
    let stream = writer.into_body(envelope, attachments)?;
    let response = client
        .post(url)
        .header("content-type", content_type)
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await?;
    read_reply(response, None).await
}

/// Reads a response: a plain envelope, or an MTOM package whose attachments are digested (and
/// written to `keep_in` when given).
async fn read_reply(
    response: reqwest::Response,
    keep_in: Option<&std::path::Path>,
) -> Result<SoapReply, WireError> {
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let is_multipart = content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/");
    let multipart = match SoapContentType::parse(&content_type) {
        Ok(SoapContentType::Mtom(multipart)) => multipart,
        Err(e) if is_multipart => {
            return Err(WireError::ContentType {
                value: content_type,
                reason: e.to_string(),
            });
        }
        _ => {
            return Ok(SoapReply {
                envelope: response.text().await?,
                attachments: Vec::new(),
            });
        }
    };
    let status = response.status().as_u16();
    let unreadable = |source| WireError::MtomResponse {
        status,
        content_type: content_type.clone(),
        source,
    };
    let stream = response.bytes_stream().map_err(std::io::Error::other);
    let mut reader = MtomReader::new(Box::pin(stream), &multipart);
    let root = reader.root(64 * 1024 * 1024).await.map_err(unreadable)?;
    let envelope = String::from_utf8(root.body.to_vec()).map_err(|_| WireError::RootNotUtf8)?;
    let mut attachments = Vec::new();
    while let Some(headers) = reader.next_part().await.map_err(unreadable)? {
        let mut hasher = Sha1::new();
        let mut size = 0u64;
        let saved = keep_in.map(|dir| dir.join(format!("{}.dcm", attachments.len() + 1)));
        let mut file =
            match &saved {
                Some(path) => Some(tokio::fs::File::create(path).await.map_err(|source| {
                    WireError::Document {
                        path: path.clone(),
                        source,
                    }
                })?),
                None => None,
            };
        while let Some(chunk) = reader.read_chunk().await.map_err(unreadable)? {
            hasher.update(&chunk);
            size += chunk.len() as u64;
            if let (Some(file), Some(path)) = (file.as_mut(), &saved) {
                tokio::io::AsyncWriteExt::write_all(file, &chunk)
                    .await
                    .map_err(|source| WireError::Document {
                        path: path.clone(),
                        source,
                    })?;
            }
        }
        if let (Some(file), Some(path)) = (file.as_mut(), &saved) {
            tokio::io::AsyncWriteExt::flush(file)
                .await
                .map_err(|source| WireError::Document {
                    path: path.clone(),
                    source,
                })?;
        }
        attachments.push(ReceivedAttachment {
            content_id: headers.content_id.unwrap_or_default(),
            content_type: headers.content_type.unwrap_or_default(),
            size,
            sha1: hex_digest(&hasher.finalize()),
            saved,
        });
    }
    Ok(SoapReply {
        envelope,
        attachments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves one HTTP answer with `content_type` and `body` to the first request, whatever it is.
    async fn answer_once(content_type: String, body: Vec<u8>) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/xdsi", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let read = socket.read(&mut buffer).await.unwrap();
                request.extend_from_slice(&buffer[..read]);
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            socket.write_all(head.as_bytes()).await.unwrap();
            socket.write_all(&body).await.unwrap();
        });
        url
    }

    #[tokio::test]
    async fn an_mtom_answer_gives_the_envelope_and_each_attachment_digested() {
        let writer = MtomWriter::new();
        let content_type = writer.content_type();
        let envelope = "<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\"><env:Body/></env:Envelope>";
        let stream = writer
            .into_body(
                envelope.to_owned(),
                vec![Attachment::from_bytes(
                    "doc@x",
                    "application/dicom",
                    bytes::Bytes::from_static(b"abc"),
                )],
            )
            .unwrap();
        let body: Vec<u8> = stream.try_collect::<Vec<_>>().await.unwrap().concat();
        let url = answer_once(content_type, body).await;
        let reply = post_plain(&reqwest::Client::new(), &url, "urn:x", "<x/>")
            .await
            .unwrap();
        assert_eq!(reply.envelope, envelope);
        assert_eq!(
            reply.attachments,
            [ReceivedAttachment {
                content_id: "doc@x".to_owned(),
                content_type: "application/dicom".to_owned(),
                size: 3,
                sha1: "a9993e364706816aba3e25717850c26c9cd0d89d".to_owned(),
                saved: None,
            }]
        );
    }

    #[tokio::test]
    async fn a_plain_answer_is_the_envelope_without_attachments() {
        let url = answer_once(
            "application/soap+xml".to_owned(),
            b"<env:Envelope/>".to_vec(),
        )
        .await;
        let reply = post_plain(&reqwest::Client::new(), &url, "urn:x", "<x/>")
            .await
            .unwrap();
        assert_eq!(reply.envelope, "<env:Envelope/>");
        assert!(reply.attachments.is_empty());
    }

    #[test]
    fn a_digest_is_lower_case_hex() {
        assert_eq!(
            hex_digest(&Sha1::digest(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }
}
