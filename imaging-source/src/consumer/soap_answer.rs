//! A SOAP exchange whose answer carries documents (ITI-43, RAD-69): the envelope read as a
//! RetrieveDocumentSetResponse, the attachments left on the wire to be streamed part by part.

use schemas::ihe::{RetrieveDocumentSetResponse, read_retrieve_document_set_response};
use schemas::mtom::MtomReader;
use schemas::soap;

use super::ConsumerError;
use crate::publish::{AnswerStream, read_envelope, soap_exchange};

/// An ITI-43 / RAD-69 answer: its RetrieveDocumentSetResponse and, for MTOM, the reader
/// positioned after the root part.
pub(crate) struct DocumentAnswer {
    pub response: RetrieveDocumentSetResponse,
    pub attachments: Option<MtomReader<AnswerStream>>,
}

/// POSTs `body` (the request element) with `action`; reads the answer's envelope as a
/// RetrieveDocumentSetResponse.
pub(crate) async fn retrieve_documents(
    http: &reqwest::Client,
    transaction: &'static str,
    url: &str,
    action: &str,
    body: &str,
) -> Result<DocumentAnswer, ConsumerError> {
    let (envelope, _) = soap::write_request_envelope(action, url, body);
    let answer = soap_exchange(
        http,
        transaction,
        url,
        action,
        soap::content_type(action),
        reqwest::Body::from(envelope),
    )
    .await?;
    let invalid = |reason: String| ConsumerError::InvalidAnswer {
        transaction,
        url: url.to_owned(),
        reason,
    };
    let mut message = read_envelope(&answer.envelope).map_err(invalid)?;
    let response = read_retrieve_document_set_response(&mut message.reader, &message.body)
        .map_err(|e| invalid(e.to_string()))?;
    Ok(DocumentAnswer {
        response,
        attachments: answer.attachments,
    })
}
