//! STOW-RS Store Instances (DICOM PS3.18 10.5) client of the local PACS: one
//! `multipart/related; type="application/dicom"` request per batch, each part the reconciled
//! header followed by the original file's bytes from Pixel Data on, streamed from disk; the
//! answer's Referenced SOP Sequence and Failed SOP Sequence say what was stored.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use reqwest::header::{ACCEPT, CONTENT_TYPE};

/// One reconciled instance ready to be sent.
#[derive(Debug)]
pub struct PreparedInstance {
    /// SOP Instance UID after reconciliation.
    pub sop_instance_uid: String,
    /// Preamble, file meta group and reconciled header data set.
    pub header: Vec<u8>,
    /// The original file and the offset of its Pixel Data element.
    pub path: PathBuf,
    pub tail_offset: u64,
}

/// What the PACS said about one instance of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreOutcome {
    Stored,
    Failed(String),
}

const DICOM: &str = "application/dicom";

/// A STOW-RS client of one DICOMweb root.
#[derive(Debug, Clone)]
pub struct StowClient {
    url: String,
    http: reqwest::Client,
}

impl StowClient {
    /// A client of `{root}/studies`.
    pub fn new(root: &str, timeout: Duration) -> StowClient {
        StowClient {
            url: format!("{}/studies", root.trim_end_matches('/')),
            http: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .unwrap_or_default(),
        }
    }

    /// Sends `batch` in one request; the outcome of each instance, by SOP Instance UID. A
    /// request that fails as a whole fails every instance with its reason.
    pub async fn store(&self, batch: Vec<PreparedInstance>) -> HashMap<String, StoreOutcome> {
        let uids: Vec<String> = batch.iter().map(|i| i.sop_instance_uid.clone()).collect();
        let boundary = format!("StowBoundary_{}", uuid::Uuid::new_v4().simple());
        let content_type = format!("multipart/related; type=\"{DICOM}\"; boundary={boundary}");
        let body = reqwest::Body::wrap_stream(multipart_body(batch, boundary));
        let answer = self
            .http
            .post(&self.url)
            .header(CONTENT_TYPE, content_type)
            .header(ACCEPT, "application/dicom+json")
            .body(body)
            .send()
            .await;
        let everything_failed = |reason: String| {
            uids.iter()
                .map(|uid| (uid.clone(), StoreOutcome::Failed(reason.clone())))
                .collect()
        };
        let response = match answer {
            Ok(response) => response,
            Err(e) => return everything_failed(format!("STOW-RS {}: {}", self.url, chain(&e))),
        };
        let status = response.status();
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => return everything_failed(format!("STOW-RS {}: {}", self.url, chain(&e))),
        };
        let parsed: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
        let Some(answer) = parsed.filter(|v| v.is_object()) else {
            let reason = if status.is_success() {
                format!(
                    "STOW-RS {}: HTTP {status} without a DICOM JSON answer",
                    self.url
                )
            } else {
                format!(
                    "STOW-RS {}: HTTP {status}: {}",
                    self.url,
                    String::from_utf8_lossy(&body[..body.len().min(300)]).trim()
                )
            };
            return everything_failed(reason);
        };
        outcomes(&answer, &uids, status)
    }
}

/// Per-instance outcomes from a STOW-RS answer (PS3.18 Table 10.5.3-1): listed in Referenced
/// SOP Sequence → stored; in Failed SOP Sequence → failed with its Failure Reason; in neither →
/// failed (never assumed stored).
fn outcomes(
    answer: &serde_json::Value,
    uids: &[String],
    status: reqwest::StatusCode,
) -> HashMap<String, StoreOutcome> {
    let items = |tag: &str| {
        answer
            .pointer(&format!("/{tag}/Value"))
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default()
    };
    let sop = |item: &serde_json::Value| {
        item.pointer("/00081155/Value/0")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let mut out: HashMap<String, StoreOutcome> = HashMap::new();
    for item in items("00081198") {
        if let Some(uid) = sop(&item) {
            let reason = item
                .pointer("/00081197/Value/0")
                .map(|r| format!("Failure Reason {r}"))
                .unwrap_or_else(|| "listed in Failed SOP Sequence".to_owned());
            out.insert(uid, StoreOutcome::Failed(reason));
        }
    }
    for item in items("00081199") {
        if let Some(uid) = sop(&item) {
            out.entry(uid).or_insert(StoreOutcome::Stored);
        }
    }
    uids.iter()
        .map(|uid| {
            let outcome = out.remove(uid).unwrap_or_else(|| {
                StoreOutcome::Failed(format!("not acknowledged by the PACS (HTTP {status})"))
            });
            (uid.clone(), outcome)
        })
        .collect()
}

/// The request body: for each instance a part header, its reconciled header bytes, then its
/// file from the Pixel Data offset, read chunk by chunk when reached.
fn multipart_body(
    batch: Vec<PreparedInstance>,
    boundary: String,
) -> BoxStream<'static, std::io::Result<Bytes>> {
    let closing = Bytes::from(format!("\r\n--{boundary}--\r\n"));
    let parts = stream::iter(batch.into_iter().enumerate()).flat_map(move |(index, instance)| {
        let lead = if index == 0 { "" } else { "\r\n" };
        let part_head = format!("{lead}--{boundary}\r\nContent-Type: {DICOM}\r\n\r\n");
        let head = stream::iter([Ok(Bytes::from(part_head)), Ok(Bytes::from(instance.header))]);
        head.chain(file_tail(instance.path, instance.tail_offset))
    });
    parts
        .chain(stream::once(async move { Ok(closing) }))
        .boxed()
}

/// Bytes of a file read by each blocking-pool task of [`file_tail`] (one hand-over per piece,
/// not one per small read).
const READ_PIECE: u64 = 4 << 20;

/// The bytes of `path` from `offset` to its end, opened when first polled and read in pieces
/// of [`READ_PIECE`] bytes. Each piece's buffer is allocated here, not in the blocking-pool
/// thread that fills it, so that freeing it after sending returns it to a long-lived thread's
/// heap (buffers allocated across many pool threads kept the import's RSS at ~220 MB).
fn file_tail(path: PathBuf, offset: u64) -> BoxStream<'static, std::io::Result<Bytes>> {
    let opened = async move {
        tokio::task::spawn_blocking(move || {
            let mut file = std::fs::File::open(&path)?;
            let left = file.metadata()?.len().saturating_sub(offset);
            file.seek(SeekFrom::Start(offset))?;
            Ok::<_, std::io::Error>((file, left))
        })
        .await
        .map_err(std::io::Error::other)?
    };
    stream::once(opened)
        .flat_map(|opened| match opened {
            Ok(start) => stream::try_unfold(start, |(file, left)| async move {
                if left == 0 {
                    return Ok(None);
                }
                let mut piece = Vec::with_capacity(left.min(READ_PIECE) as usize);
                let (piece, file) = tokio::task::spawn_blocking(move || {
                    (&file).take(READ_PIECE).read_to_end(&mut piece)?;
                    Ok::<_, std::io::Error>((piece, file))
                })
                .await
                .map_err(std::io::Error::other)??;
                if piece.is_empty() {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the file became shorter while being sent",
                    ));
                }
                let left = left.saturating_sub(piece.len() as u64);
                Ok(Some((Bytes::from(piece), (file, left))))
            })
            .boxed(),
            Err(e) => stream::once(async move { Err(e) }).boxed(),
        })
        .boxed()
}

/// The error and its sources, `: `-separated.
fn chain(error: &reqwest::Error) -> String {
    std::iter::successors(Some(error as &dyn std::error::Error), |e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn instance_absent_from_both_sequences_is_failed_not_stored() {
        let answer = json!({
            "00081199": {"vr": "SQ", "Value": [{"00081155": {"vr": "UI", "Value": ["1.1"]}}]},
            "00081198": {"vr": "SQ", "Value": [{
                "00081155": {"vr": "UI", "Value": ["1.2"]},
                "00081197": {"vr": "US", "Value": [272]}
            }]}
        });
        let uids = ["1.1".to_owned(), "1.2".to_owned(), "1.3".to_owned()];
        let out = outcomes(&answer, &uids, reqwest::StatusCode::ACCEPTED);
        assert_eq!(out["1.1"], StoreOutcome::Stored);
        assert_eq!(
            out["1.2"],
            StoreOutcome::Failed("Failure Reason 272".into())
        );
        assert!(matches!(&out["1.3"], StoreOutcome::Failed(r) if r.contains("not acknowledged")));
    }
}
