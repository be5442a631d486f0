//! ITI-86 Remove Documents (RMD, used after the registry's ITI-62 removed the metadata): each
//! document asked for stops being served, then its content and index row are deleted.

use schemas::constants::error_code;
use schemas::ebrim::{RegistryError, RegistryResponse, ResponseStatus, Severity};
use schemas::ihe::{DocumentRequest, RemoveDocumentsRequest};

use crate::Repository;
use crate::storage::StorageError;

/// ITI-86 Remove Documents: Success when every document is removed, PartialSuccess when some
/// are, Failure when none is; one RegistryError per document not removed
/// (XDSUnknownRepositoryId, XDSDocumentUniqueIdError, XDSRepositoryError).
pub async fn remove_documents(
    repository: &Repository,
    request: &RemoveDocumentsRequest,
) -> RegistryResponse {
    let mut errors = Vec::new();
    let mut removed = 0usize;
    for wanted in &request.documents {
        match remove_one(repository, wanted).await {
            Ok(()) => removed += 1,
            Err(error) => errors.push(error),
        }
    }
    let status = if errors.is_empty() {
        ResponseStatus::Success
    } else if removed == 0 {
        ResponseStatus::Failure
    } else {
        ResponseStatus::PartialSuccess
    };
    tracing::info!(removed, refused = errors.len(), "ITI-86 documents removed");
    RegistryResponse {
        status,
        request_id: None,
        response_slots: Vec::new(),
        errors,
    }
}

async fn remove_one(
    repository: &Repository,
    wanted: &DocumentRequest,
) -> Result<(), RegistryError> {
    let uid = &wanted.document_unique_id;
    if wanted.repository_unique_id != repository.repository_unique_id {
        return Err(error(
            error_code::XDS_UNKNOWN_REPOSITORY_ID,
            &wanted.repository_unique_id,
            format!(
                "repositoryUniqueId {:?} is not this repository ({:?})",
                wanted.repository_unique_id, repository.repository_unique_id
            ),
        ));
    }
    let failed = |e: StorageError| {
        tracing::error!(error = %e, document = %uid, "ITI-86 cannot remove a document");
        error(
            error_code::XDS_REPOSITORY_ERROR,
            uid,
            format!("the document with uniqueId {uid:?} cannot be removed: {e}"),
        )
    };
    let keys = repository
        .index
        .registered_keys(&repository.repository_unique_id, uid)
        .await
        .map_err(|e| failed(e.into()))?;
    // Marked `removing` first: from here on the document is not served, and a crash before the
    // end leaves a row the next start sweeps.
    let marked = repository
        .index
        .mark_removing(&keys)
        .await
        .map_err(|e| failed(e.into()))?;
    if keys.is_empty() || marked == 0 {
        return Err(error(
            error_code::XDS_DOCUMENT_UNIQUE_ID_ERROR,
            uid,
            format!("no document with uniqueId {uid:?} in this repository"),
        ));
    }
    for key in &keys {
        repository
            .store
            .remove(key)
            .await
            .map_err(|e| failed(e.into()))?;
    }
    repository
        .index
        .remove(&keys)
        .await
        .map_err(|e| failed(e.into()))?;
    Ok(())
}

fn error(code: &str, location: &str, context: String) -> RegistryError {
    RegistryError {
        error_code: code.to_owned(),
        code_context: context,
        location: Some(location.to_owned()),
        severity: Severity::Error,
        value: None,
    }
}
