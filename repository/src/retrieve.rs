//! ITI-43 Retrieve Document Set: the registered documents asked for, each streamed from the store
//! as an MTOM attachment of the answer.

use schemas::constants::error_code;
use schemas::ebrim::{RegistryError, RegistryResponse, ResponseStatus, Severity};
use schemas::ihe::{
    DocumentContent, DocumentRequest, DocumentResponse, RetrieveDocumentSetRequest,
    RetrieveDocumentSetResponse,
};
use schemas::mtom::{self, Attachment};

use crate::Repository;

/// An ITI-43 answer: the response body, whose DocumentResponses reference the attachments by
/// Content-ID, and the attachments, streamed from the store when the answer is written.
pub struct Retrieved {
    pub response: RetrieveDocumentSetResponse,
    pub attachments: Vec<Attachment>,
}

/// ITI-43 Retrieve Document Set: Success when every document is returned, PartialSuccess when
/// some are, Failure when none is; one RegistryError per document not returned
/// (XDSUnknownRepositoryId, XDSMissingDocument, XDSRepositoryError).
pub async fn retrieve(repository: &Repository, request: &RetrieveDocumentSetRequest) -> Retrieved {
    let mut errors = Vec::new();
    let mut documents = Vec::new();
    let mut attachments = Vec::new();
    for wanted in &request.requests {
        match open(repository, wanted).await {
            Ok((document, attachment)) => {
                documents.push(document);
                attachments.push(attachment);
            }
            Err(error) => errors.push(error),
        }
    }
    let status = if errors.is_empty() {
        ResponseStatus::Success
    } else if documents.is_empty() {
        ResponseStatus::Failure
    } else {
        ResponseStatus::PartialSuccess
    };
    Retrieved {
        response: RetrieveDocumentSetResponse {
            response: RegistryResponse {
                status,
                request_id: None,
                response_slots: Vec::new(),
                errors,
            },
            documents,
        },
        attachments,
    }
}

async fn open(
    repository: &Repository,
    wanted: &DocumentRequest,
) -> Result<(DocumentResponse, Attachment), RegistryError> {
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
    let missing = || {
        error(
            error_code::XDS_MISSING_DOCUMENT,
            uid,
            format!("no document with uniqueId {uid:?} in this repository"),
        )
    };
    let repository_failed = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, document = %uid, "ITI-43 cannot read a registered document");
        error(
            error_code::XDS_REPOSITORY_ERROR,
            uid,
            format!("the document with uniqueId {uid:?} cannot be read: {e}"),
        )
    };
    let found = repository
        .index
        .find_registered(&repository.repository_unique_id, uid)
        .await
        .map_err(|e| repository_failed(&e))?
        .ok_or_else(missing)?;
    // Content missing for a registered row is a repository fault (lost data), not a
    // document the consumer got wrong: reported as XDSRepositoryError, and logged.
    let body = repository
        .store
        .open(&found.key)
        .await
        .map_err(|e| repository_failed(&e))?;
    let content_id = mtom::content_id();
    let document = DocumentResponse {
        home_community_id: wanted.home_community_id.clone(),
        repository_unique_id: repository.repository_unique_id.clone(),
        document_unique_id: uid.clone(),
        new_repository_unique_id: None,
        new_document_unique_id: None,
        mime_type: found.mime_type.clone(),
        content: DocumentContent::Include {
            content_id: content_id.clone(),
        },
    };
    let attachment = Attachment {
        content_id,
        content_type: found.mime_type,
        body,
    };
    Ok((document, attachment))
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
