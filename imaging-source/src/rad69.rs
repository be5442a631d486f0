//! RAD-69 Retrieve Imaging Document Set (RAD TF-3 4.69): the requested DICOM instances, each
//! streamed from the instance store or the PACS as an MTOM attachment of the answer; a PACS
//! instance held in a transfer syntax not requested is asked of the PACS in a requested one.

use schemas::constants::error_code;
use schemas::ebrim::{RegistryError, RegistryResponse, ResponseStatus, Severity};
use schemas::ihe::{
    DocumentContent, DocumentRequest, DocumentResponse, RetrieveDocumentSetResponse,
    RetrieveImagingDocumentSetRequest,
};
use schemas::mtom::{self, Attachment, BodyStream};

use crate::source::{
    DICOM_MEDIA_TYPE, ImagingSource, InstanceKey, Located, Origin, PacsCatalogs, SourceError,
};

/// A RAD-69 answer: the response body, whose DocumentResponses reference the attachments by
/// Content-ID, and the attachments, opened and streamed when the answer is written.
pub struct Retrieved {
    pub response: RetrieveDocumentSetResponse,
    pub attachments: Vec<Attachment>,
}

/// RAD-69 Retrieve Imaging Document Set: Success when every instance is returned, PartialSuccess
/// when some are, Failure when none is; one RegistryError (location = SOP Instance UID) per
/// instance not returned: XDSUnknownRepositoryId (not this source), XDSMissingDocument (no such
/// instance), XDSRepositoryError (in a transfer syntax the request does not accept and that
/// neither the store nor the PACS can change, or unreadable, or the PACS cannot be reached or
/// stopped answering within its timeouts). DocumentResponses follow the
/// request's order; the attachments follow the order they are best sent in (the PACS's order
/// for its instances), each named by the Content-ID of its DocumentResponse.
pub async fn retrieve_imaging_document_set(
    source: &ImagingSource,
    request: &RetrieveImagingDocumentSetRequest,
) -> Retrieved {
    let mut outcomes: Vec<(&DocumentRequest, Result<Located, RegistryError>)> = Vec::new();
    let mut catalogs = PacsCatalogs::default();
    for study in &request.studies {
        for series in &study.series {
            for wanted in &series.documents {
                let key = InstanceKey {
                    study: study.study_instance_uid.clone(),
                    series: series.series_instance_uid.clone(),
                    sop: wanted.document_unique_id.clone(),
                };
                let located = check(source, wanted, &key, request, &mut catalogs).await;
                outcomes.push((wanted, located));
            }
        }
    }
    let served: Vec<Located> = outcomes
        .iter()
        .filter_map(|(_, outcome)| outcome.as_ref().ok().cloned())
        .collect();
    let mut bodies: Vec<Option<Result<BodyStream, SourceError>>> =
        std::iter::repeat_with(|| None).take(served.len()).collect();
    let mut sending_order = Vec::with_capacity(served.len());
    for (index, body) in source
        .open_all(&served, &request.transfer_syntax_uids, &catalogs)
        .await
    {
        sending_order.push(index);
        bodies[index] = Some(body);
    }
    let mut errors = Vec::new();
    let mut documents = Vec::new();
    let mut attachments: Vec<Option<Attachment>> =
        std::iter::repeat_with(|| None).take(served.len()).collect();
    let mut served_index = 0;
    for (wanted, outcome) in outcomes {
        let located = match outcome {
            Ok(located) => located,
            Err(error) => {
                errors.push(error);
                continue;
            }
        };
        let index = served_index;
        served_index += 1;
        match bodies[index].take() {
            Some(Ok(body)) => {
                let content_id = mtom::content_id();
                documents.push(DocumentResponse {
                    home_community_id: wanted.home_community_id.clone(),
                    repository_unique_id: source.repository_unique_id.clone(),
                    document_unique_id: located.key.sop.clone(),
                    new_repository_unique_id: None,
                    new_document_unique_id: None,
                    mime_type: DICOM_MEDIA_TYPE.to_owned(),
                    content: DocumentContent::Include {
                        content_id: content_id.clone(),
                    },
                });
                attachments[index] = Some(Attachment {
                    content_id,
                    content_type: DICOM_MEDIA_TYPE.to_owned(),
                    body,
                });
            }
            Some(Err(refused @ SourceError::NotOffered { .. })) => {
                errors.push(not_offered(&located, request, &refused));
            }
            Some(Err(failed)) => {
                tracing::error!(error = %failed, instance = %located.key.sop, "RAD-69 cannot open an instance");
                errors.push(error(
                    error_code::XDS_REPOSITORY_ERROR,
                    &located.key.sop,
                    format!("instance {:?} cannot be read: {failed}", located.key.sop),
                ));
            }
            None => errors.push(error(
                error_code::XDS_REPOSITORY_ERROR,
                &located.key.sop,
                format!("instance {:?} could not be opened", located.key.sop),
            )),
        }
    }
    let attachments = sending_order
        .into_iter()
        .filter_map(|index| attachments[index].take())
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
/// A PACS instance held in a transfer syntax not requested passes (the PACS is asked for one
/// requested); a stored one does not (this source does not transcode).
async fn check(
    source: &ImagingSource,
    wanted: &DocumentRequest,
    key: &InstanceKey,
    request: &RetrieveImagingDocumentSetRequest,
    catalogs: &mut PacsCatalogs,
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
    match (&located.origin, &located.transfer_syntax) {
        (Origin::Store(_), Some(stored))
            if !request.transfer_syntax_uids.iter().any(|ts| ts == stored) =>
        {
            Err(error(
                error_code::XDS_REPOSITORY_ERROR,
                uid,
                format!(
                    "transfer syntax not supported: instance {uid:?} is stored in {stored} only, \
                     not in any of the requested transfer syntaxes {:?}",
                    request.transfer_syntax_uids
                ),
            ))
        }
        _ => Ok(located),
    }
}

/// The XDSRepositoryError of a PACS instance the PACS would not send in a requested syntax.
fn not_offered(
    located: &Located,
    request: &RetrieveImagingDocumentSetRequest,
    refused: &SourceError,
) -> RegistryError {
    let uid = &located.key.sop;
    tracing::warn!(error = %refused, instance = %uid, "RAD-69 transfer syntax not offered");
    error(
        error_code::XDS_REPOSITORY_ERROR,
        uid,
        format!(
            "transfer syntax not supported: instance {uid:?} is held in {} and {refused} \
             (requested: {:?})",
            located
                .transfer_syntax
                .as_deref()
                .unwrap_or("an unknown syntax"),
            request.transfer_syntax_uids
        ),
    )
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
