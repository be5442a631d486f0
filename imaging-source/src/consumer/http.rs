//! The Imaging Document Consumer as a JSON API for the console (thin handlers over
//! [`super::find`], [`super::show`] and [`super::retrieve_entry`]):
//! `GET /consumer/find?patient=&modality=&since=`, `GET /consumer/entries/{entry}`,
//! `POST /consumer/entries/{entry}/retrieve` with `{"to": DIR}`.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::{ConsumerContext, ConsumerError, FindQuery, NoProgress};
use crate::pix_client::PixError;

/// Routes under `/consumer`.
pub fn router(ctx: Arc<ConsumerContext>) -> Router {
    Router::new()
        .route("/consumer/find", get(find))
        .route("/consumer/entries/{entry}", get(show))
        .route("/consumer/entries/{entry}/retrieve", post(retrieve))
        .with_state(ctx)
}

/// Body of a retrieve request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrieveBody {
    /// Destination folder.
    pub to: PathBuf,
}

async fn find(
    State(ctx): State<Arc<ConsumerContext>>,
    query: Result<Query<FindQuery>, QueryRejection>,
) -> Response {
    let Query(query) = match query {
        Ok(query) => query,
        Err(rejection) => return bad_request(rejection.body_text()),
    };
    match super::find(&ctx, &query).await {
        Ok(found) => Json(found).into_response(),
        Err(error) => error_response(&error),
    }
}

async fn show(State(ctx): State<Arc<ConsumerContext>>, Path(entry): Path<String>) -> Response {
    match super::show(&ctx, &entry).await {
        Ok(view) => Json(view).into_response(),
        Err(error) => error_response(&error),
    }
}

async fn retrieve(
    State(ctx): State<Arc<ConsumerContext>>,
    Path(entry): Path<String>,
    body: Result<Json<RetrieveBody>, JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(body) => body,
        Err(rejection) => return bad_request(rejection.body_text()),
    };
    if !body.to.is_absolute() {
        return bad_request(format!(
            "\"to\" must be an absolute folder path, not {:?}",
            body.to
        ));
    }
    match super::retrieve_entry(&ctx, &entry, &body.to, &NoProgress).await {
        Ok(report) if report.is_complete() => Json(report).into_response(),
        // Partial success: what arrived is kept and listed, what is missing is named.
        Ok(report) => (StatusCode::BAD_GATEWAY, Json(report)).into_response(),
        Err(error) => error_response(&error),
    }
}

fn bad_request(reason: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({ "error": reason })),
    )
        .into_response()
}

/// 400 bad input, 404 unknown patient or entry, 422 an entry or manifest the consumer cannot
/// use, 502 a peer that failed, 500 the local folder.
fn error_response(error: &ConsumerError) -> Response {
    let status = match error {
        ConsumerError::InvalidPatient { .. } | ConsumerError::InvalidParameter { .. } => {
            StatusCode::BAD_REQUEST
        }
        ConsumerError::UnknownEntry { .. }
        | ConsumerError::Pix(PixError::UnknownPatient { .. } | PixError::NotInDomain { .. }) => {
            StatusCode::NOT_FOUND
        }
        ConsumerError::Pix(PixError::InvalidQuery { .. }) => StatusCode::BAD_REQUEST,
        ConsumerError::NotAManifest { .. }
        | ConsumerError::UnknownRepository { .. }
        | ConsumerError::UnreadableManifest { .. }
        | ConsumerError::UnknownRetrieveLocation { .. }
        | ConsumerError::NoWadoRsEndpoint { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        ConsumerError::Pix(_)
        | ConsumerError::Unavailable { .. }
        | ConsumerError::InvalidAnswer { .. }
        | ConsumerError::Refused { .. } => StatusCode::BAD_GATEWAY,
        ConsumerError::Io { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (
        status,
        Json(serde_json::json!({ "error": error.to_string() })),
    )
        .into_response()
}
