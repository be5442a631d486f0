//! RAD-69 Retrieve Imaging Document Set (RAD TF-3 4.69): the requested DICOM instances, each
//! streamed from the instance store or the PACS as an MTOM attachment of the answer.

use std::collections::HashMap;

use schemas::constants::error_code;
use schemas::ebrim::{RegistryError, RegistryResponse, ResponseStatus, Severity};
use schemas::ihe::{
    DocumentContent, DocumentRequest, DocumentResponse, RetrieveDocumentSetResponse,
    RetrieveImagingDocumentSetRequest,
};
use schemas::mtom::{self, Attachment};

use crate::source::{DICOM_MEDIA_TYPE, ImagingSource, InstanceKey, Located};

/// A RAD-69 answer: the response body, whose DocumentResponses reference the attachments by
/// Content-ID, and the attachments, opened and streamed when the answer is written.
pub struct Retrieved {
    pub response: RetrieveDocumentSetResponse,
    pub attachments: Vec<Attachment>,
}

/// RAD-69 Retrieve Imaging Document Set: Success when every instance is returned, PartialSuccess
/// when some are, Failure when none is; one RegistryError (location = SOP Instance UID) per
/// instance not returned: XDSUnknownRepositoryId (not this source), XDSMissingDocument (no such
/// instance), XDSRepositoryError (stored in a transfer syntax the request does not accept, or
/// unreadable).
pub async fn retrieve_imaging_document_set(
    source: &ImagingSource,
    request: &RetrieveImagingDocumentSetRequest,
) -> Retrieved {
    let mut errors = Vec::new();
    let mut documents = Vec::new();
    let mut served: Vec<(String, Located)> = Vec::new();
    let mut catalogs = HashMap::new();
    for study in &request.studies {
        for series in &study.series {
            for wanted in &series.documents {
                let key = InstanceKey {
                    study: study.study_instance_uid.clone(),
                    series: series.series_instance_uid.clone(),
                    sop: wanted.document_unique_id.clone(),
                };
                let located = check(source, wanted, &key, request, &mut catalogs).await;
                match located {
                    Ok(located) => {
                        let content_id = mtom::content_id();
                        documents.push(DocumentResponse {
                            home_community_id: wanted.home_community_id.clone(),
                            repository_unique_id: source.repository_unique_id.clone(),
                            document_unique_id: key.sop.clone(),
                            new_repository_unique_id: None,
                            new_document_unique_id: None,
                            mime_type: DICOM_MEDIA_TYPE.to_owned(),
                            content: DocumentContent::Include {
                                content_id: content_id.clone(),
                            },
                        });
                        served.push((content_id, located));
                    }
                    Err(error) => errors.push(error),
                }
            }
        }
    }
    let located: Vec<Located> = served.iter().map(|(_, l)| l.clone()).collect();
    let attachments = served
        .into_iter()
        .zip(source.open_all(&located))
        .map(|((content_id, _), body)| Attachment {
            content_id,
            content_type: DICOM_MEDIA_TYPE.to_owned(),
            body,
        })
        .collect();
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

/// One DocumentRequest: the instance to serve, or the RegistryError saying why it is not served.
async fn check(
    source: &ImagingSource,
    wanted: &DocumentRequest,
    key: &InstanceKey,
    request: &RetrieveImagingDocumentSetRequest,
    catalogs: &mut HashMap<String, crate::source::PacsCatalog>,
) -> Result<Located, RegistryError> {
    let uid = &key.sop;
    if wanted.repository_unique_id != source.repository_unique_id {
        return Err(error(
            error_code::XDS_UNKNOWN_REPOSITORY_ID,
            uid,
            format!(
                "RepositoryUniqueId {:?} is not this Imaging Document Source ({:?})",
                wanted.repository_unique_id, source.repository_unique_id
            ),
        ));
    }
    let located = match source.locate(key, catalogs).await {
        Ok(Some(located)) => located,
        Ok(None) => {
            return Err(error(
                error_code::XDS_MISSING_DOCUMENT,
                uid,
                format!(
                    "no instance {uid:?} in series {:?} of study {:?}",
                    key.series, key.study
                ),
            ));
        }
        Err(e) => {
            tracing::error!(error = %e, instance = %uid, "RAD-69 cannot locate an instance");
            return Err(error(
                error_code::XDS_REPOSITORY_ERROR,
                uid,
                format!("instance {uid:?} cannot be read: {e}"),
            ));
        }
    };
    match &located.transfer_syntax {
        Some(stored) if !request.transfer_syntax_uids.iter().any(|ts| ts == stored) => Err(error(
            error_code::XDS_REPOSITORY_ERROR,
            uid,
            format!(
                "transfer syntax not supported: instance {uid:?} is available in {stored} \
                     only, not in any of the requested transfer syntaxes {:?}",
                request.transfer_syntax_uids
            ),
        )),
        _ => Ok(located),
    }
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
