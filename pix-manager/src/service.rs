//! The PIX manager's HTTP API under `/pix`: the HL7 v3 SOAP endpoint (`POST /pix`: ITI-44,
//! ITI-45), and in JSON the review queue and the manual identity operations, each notifying
//! subscribers (ITI-10). Handlers are thin: every rule is in [`PixManager`], [`crate::v3`] and
//! the storage layer.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use schemas::soap::{Fault, FaultCode, SOAP12_MEDIA_TYPE};
use serde::{Deserialize, Serialize};

use crate::manager::PixManager;
use crate::storage::{PatientKey, StorageError};
use crate::v3::{self, SoapAnswer};

/// Most review-queue entries one GET returns.
const MAX_REVIEWS: i64 = 500;

/// The `/pix` routes over `manager`.
pub fn router(manager: Arc<PixManager>) -> Router {
    Router::new()
        .route("/pix", post(hl7v3_endpoint))
        .route("/pix/review", get(pending_reviews))
        .route("/pix/review/{id}/accept", post(accept_review))
        .route("/pix/review/{id}/reject", post(reject_review))
        .route("/pix/link", post(link))
        .route("/pix/unlink", post(unlink))
        .route("/pix/history", get(history))
        .with_state(manager)
}

/// An error answer: status and `{"error": reason}`.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Body {
            error: String,
        }
        (self.0, Json(Body { error: self.1 })).into_response()
    }
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        let status = match error {
            StorageError::UnknownRecord { .. }
            | StorageError::MergedRecord { .. }
            | StorageError::UnknownReview { .. } => StatusCode::NOT_FOUND,
            _ => {
                tracing::error!(%error, "PIX manager storage failure");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        ApiError(status, error.to_string())
    }
}

/// POST /pix: ITI-44 Patient Identity Feed HL7 V3 and ITI-45 PIXV3 Query (SOAP 1.2).
async fn hl7v3_endpoint(
    State(manager): State<Arc<PixManager>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let answer = if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with(SOAP12_MEDIA_TYPE)
    {
        let reason =
            format!("unsupported Content-Type {content_type:?}: expected {SOAP12_MEDIA_TYPE}");
        SoapAnswer::fault(&Fault::new(FaultCode::Sender, reason), None)
    } else {
        match axum::body::to_bytes(body, v3::MAX_ENVELOPE_BYTES).await {
            Ok(envelope) => v3::handle_soap(&envelope, &manager).await,
            Err(error) => {
                let reason = format!("request body refused: {error}");
                SoapAnswer::fault(&Fault::new(FaultCode::Sender, reason), None)
            }
        }
    };
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        [(header::CONTENT_TYPE, answer.content_type)],
        answer.envelope,
    )
        .into_response()
}

/// GET /pix/review: pending pairs with both records and the field-by-field comparison.
async fn pending_reviews(State(manager): State<Arc<PixManager>>) -> Result<Response, ApiError> {
    Ok(Json(manager.db.pending_reviews(MAX_REVIEWS).await?).into_response())
}

/// POST /pix/review/{id}/accept: the record joins the candidate's person.
async fn accept_review(
    State(manager): State<Arc<PixManager>>,
    Path(id): Path<i32>,
) -> Result<StatusCode, ApiError> {
    manager.resolve_review(id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// POST /pix/review/{id}/reject: the pair stays apart.
async fn reject_review(
    State(manager): State<Arc<PixManager>>,
    Path(id): Path<i32>,
) -> Result<StatusCode, ApiError> {
    manager.resolve_review(id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of POST /pix/link.
#[derive(Deserialize)]
struct LinkRequest {
    record: PatientKey,
    target: PatientKey,
}

/// Body of POST /pix/unlink.
#[derive(Deserialize)]
struct UnlinkRequest {
    record: PatientKey,
}

/// The affinity-domain id a record ended up with.
#[derive(Serialize)]
struct Linked {
    affinity_id: String,
}

/// POST /pix/link: `record` joins the person of `target`.
async fn link(
    State(manager): State<Arc<PixManager>>,
    Json(request): Json<LinkRequest>,
) -> Result<Json<Linked>, ApiError> {
    let outcome = manager.link(&request.record, &request.target).await?;
    Ok(Json(Linked {
        affinity_id: outcome.affinity_id,
    }))
}

/// POST /pix/unlink: `record` gets a person of its own.
async fn unlink(
    State(manager): State<Arc<PixManager>>,
    Json(request): Json<UnlinkRequest>,
) -> Result<Json<Linked>, ApiError> {
    let outcome = manager.unlink(&request.record).await?;
    Ok(Json(Linked {
        affinity_id: outcome.affinity_id,
    }))
}

/// GET /pix/history?domain=..&local_id=..: the link history of a record.
async fn history(
    State(manager): State<Arc<PixManager>>,
    Query(key): Query<PatientKey>,
) -> Result<Response, ApiError> {
    Ok(Json(manager.db.history(&key).await?).into_response())
}
