//! ITI-43 Retrieve Document Set as the Imaging Document Consumer: the manifest from the
//! repository its DocumentEntry names (repositoryUniqueId → URL from the directory).

use schemas::ebrim::ResponseStatus;
use schemas::ihe::{DocumentContent, DocumentRequest, RetrieveDocumentSetRequest};
use schemas::soap::action;

use super::registry::FoundManifest;
use super::soap_answer::retrieve_documents;
use super::{ConsumerContext, ConsumerError};
use crate::publish::error_list;

/// Largest manifest read (a KOS of a few thousand instances is well under 1 MiB).
const MAX_MANIFEST_BYTES: usize = 64 * 1024 * 1024;

/// ITI-43: the manifest's bytes.
pub(super) async fn retrieve_manifest(
    ctx: &ConsumerContext,
    entry: &FoundManifest,
) -> Result<Vec<u8>, ConsumerError> {
    let repository_unique_id = entry.repository_unique_id.clone().unwrap_or_default();
    let url = ctx
        .config
        .repositories
        .get(&repository_unique_id)
        .ok_or_else(|| ConsumerError::UnknownRepository {
            entry: entry.unique_id.clone(),
            repository_unique_id: repository_unique_id.clone(),
        })?;
    let request = RetrieveDocumentSetRequest {
        requests: vec![DocumentRequest {
            home_community_id: entry.home_community_id.clone(),
            repository_unique_id,
            document_unique_id: entry.unique_id.clone(),
        }],
    };
    let answer = retrieve_documents(
        &ctx.soap_http,
        "ITI-43",
        url,
        action::RETRIEVE_DOCUMENT_SET,
        &request.to_xml(),
    )
    .await?;
    let invalid = |reason: String| ConsumerError::InvalidAnswer {
        transaction: "ITI-43",
        url: url.clone(),
        reason,
    };
    let document = answer
        .response
        .documents
        .iter()
        .find(|d| d.document_unique_id == entry.unique_id);
    let Some(document) = document else {
        return Err(
            if answer.response.response.status == ResponseStatus::Success {
                invalid(format!("no DocumentResponse for {}", entry.unique_id))
            } else {
                ConsumerError::Refused {
                    transaction: "ITI-43",
                    errors: error_list(&answer.response.response),
                }
            },
        );
    };
    let content_id = match &document.content {
        DocumentContent::Inline(bytes) => return Ok(bytes.clone()),
        DocumentContent::Include { content_id } => content_id.clone(),
    };
    let mut reader = answer
        .attachments
        .ok_or_else(|| invalid(format!("cid:{content_id} in a plain SOAP answer")))?;
    while let Some(part) = reader
        .next_part()
        .await
        .map_err(|e| invalid(e.to_string()))?
    {
        if part.content_id.as_deref() != Some(content_id.as_str()) {
            continue;
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = reader
            .read_chunk()
            .await
            .map_err(|e| invalid(e.to_string()))?
        {
            if bytes.len() + chunk.len() > MAX_MANIFEST_BYTES {
                return Err(invalid(format!(
                    "manifest larger than {MAX_MANIFEST_BYTES} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok(bytes);
    }
    Err(invalid(format!("no MIME part cid:{content_id}")))
}
