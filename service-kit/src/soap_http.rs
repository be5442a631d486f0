//! SOAP 1.2 answers over HTTP, as the SOAP services (registry, repository, imaging source)
//! send them: a plain envelope, an MTOM/XOP package whose attachments stream as the body is sent,
//! or a SOAP Fault with the HTTP status SOAP 1.2 gives its code.

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use schemas::mtom::{Attachment, MtomWriter};
use schemas::soap::{self, AddressingHeaders, Fault, ResponseHeaders};

/// The answer to `request`: `body` in a SOAP envelope with WS-Addressing `response_action`.
pub fn soap_response(request: &AddressingHeaders, response_action: &str, body: &str) -> Response {
    let headers = ResponseHeaders::answering(request, response_action);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, soap::content_type(response_action))],
        soap::write_envelope(&headers, body),
    )
        .into_response()
}

/// The MTOM answer to `request`: the envelope, then `attachments` streamed as the response body
/// is sent. A package that cannot be written is a Receiver fault.
pub fn mtom_response(
    request: &AddressingHeaders,
    response_action: &str,
    body: &str,
    attachments: Vec<Attachment>,
) -> Response {
    let headers = ResponseHeaders::answering(request, response_action);
    let envelope = soap::write_envelope(&headers, body);
    let written = MtomWriter::new()
        .with_action(response_action)
        .and_then(|writer| {
            let content_type = writer.content_type();
            writer
                .into_body(envelope, attachments)
                .map(|stream| (content_type, stream))
        });
    match written {
        Ok((content_type, stream)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, content_type)],
            Body::from_stream(stream),
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "MTOM answer cannot be written");
            fault_response(
                &Fault::new(
                    soap::FaultCode::Receiver,
                    format!("the answer cannot be written: {error}"),
                ),
                request.message_id.as_deref(),
            )
        }
    }
}

/// `fault` as a SOAP 1.2 Fault envelope relating to the request's MessageID, with its HTTP
/// status (400 for a Sender fault, 500 for a Receiver fault).
pub fn fault_response(fault: &Fault, relates_to: Option<&str>) -> Response {
    let status = StatusCode::from_u16(fault.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        [(header::CONTENT_TYPE, soap::content_type(fault.action()))],
        fault.to_envelope(relates_to),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;
    use schemas::soap::{FaultCode, SoapError, read_response_envelope};
    use schemas::xml::Limits;

    const ACTION: &str = "urn:ihe:iti:2007:RetrieveDocumentSetResponse";

    fn request() -> AddressingHeaders {
        AddressingHeaders {
            action: "urn:ihe:iti:2007:RetrieveDocumentSet".into(),
            message_id: Some("urn:uuid:request-1".into()),
            ..AddressingHeaders::default()
        }
    }

    async fn read(response: Response) -> (StatusCode, String, Vec<u8>) {
        let status = response.status();
        let content_type = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, content_type, body.to_vec())
    }

    #[tokio::test]
    async fn soap_answer_relates_to_the_request_and_names_its_action() {
        let (status, content_type, body) =
            read(soap_response(&request(), ACTION, "<answer/>")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("application/soap+xml"));
        assert!(content_type.contains(ACTION));
        let answer = read_response_envelope(&body, Limits::default()).unwrap();
        assert_eq!(
            answer.headers.relates_to.as_deref(),
            Some("urn:uuid:request-1")
        );
        assert_eq!(answer.headers.action, ACTION);
    }

    #[tokio::test]
    async fn mtom_answer_carries_the_envelope_and_streams_each_attachment() {
        let attachment = Attachment::from_bytes(
            "doc-1@hie",
            "application/dicom",
            axum::body::Bytes::from_static(b"DICM bytes"),
        );
        let response = mtom_response(&request(), ACTION, "<answer/>", vec![attachment]);
        let (status, content_type, body) = read(response).await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("multipart/related"));
        assert!(content_type.contains("application/xop+xml"));
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("<answer/>"));
        assert!(text.contains("Content-ID: <doc-1@hie>"));
        assert!(text.contains("DICM bytes"));
    }

    #[tokio::test]
    async fn sender_fault_is_http_400_and_receiver_fault_http_500() {
        for (code, expected) in [
            (FaultCode::Sender, StatusCode::BAD_REQUEST),
            (FaultCode::Receiver, StatusCode::INTERNAL_SERVER_ERROR),
        ] {
            let fault = Fault::new(code, "refused");
            let (status, content_type, body) =
                read(fault_response(&fault, Some("urn:uuid:request-1"))).await;
            assert_eq!(status, expected);
            assert!(content_type.starts_with("application/soap+xml"));
            let Err(SoapError::Fault(received)) = read_response_envelope(&body, Limits::default())
            else {
                panic!("expected a SOAP Fault");
            };
            assert_eq!(received.code, code);
        }
    }
}
