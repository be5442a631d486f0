//! `POST /consumer/entries/{entry}/import`: retrieve an outside study and import it into the
//! local PACS with reconciliation, as JSON for the console. The body names the PACS and the
//! local patient (`{"pacs": URL, "patient": CX, "name"?, "birth_date"?, "sex"?, "pdq"?,
//! "accession"?, "accession_prefix"?, "work_dir"?}`); `pdq: true` reads the local record from
//! the PIX Manager (ITI-21). 200 with the report when every instance is stored, 502 with the
//! report when some are missing or failed (the work folder is kept to resume), 4xx/502 with
//! `{"error"}` when nothing was imported.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use super::entry::{EntryImportError, import_entry};
use super::{AccessionRule, ImportOptions, LocalPatientError, NoProgress, OperatorPatient};
use crate::consumer::{self, ConsumerContext, ConsumerError};
use crate::pix_client::PixError;

/// Body of an import request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportBody {
    /// DICOMweb root of the local PACS.
    pub pacs: String,
    /// Local patient id, CX `ID^^^NAMESPACE&OID&ISO`.
    pub patient: String,
    /// Local demographics (override the PIX Manager's record when `pdq`).
    pub name: Option<String>,
    pub birth_date: Option<String>,
    pub sex: Option<String>,
    /// Read the local record from the PIX Manager (ITI-21).
    #[serde(default)]
    pub pdq: bool,
    /// The local accession number; absent: the original prefixed.
    pub accession: Option<String>,
    /// Prefix of the original accession number (default `OUT_`).
    pub accession_prefix: Option<String>,
    /// Absolute work folder of the retrieval (kept to resume); absent: a temporary one.
    pub work_dir: Option<PathBuf>,
}

/// The import route (merged into the service's router).
pub fn router(ctx: Arc<ConsumerContext>) -> Router {
    Router::new()
        .route("/consumer/entries/{entry}/import", post(import))
        .with_state(ctx)
}

async fn import(
    State(ctx): State<Arc<ConsumerContext>>,
    Path(entry): Path<String>,
    body: Result<Json<ImportBody>, JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(body) => body,
        Err(rejection) => return error(StatusCode::BAD_REQUEST, rejection.body_text()),
    };
    let operator = OperatorPatient {
        patient: body.patient,
        name: body.name,
        birth_date: body.birth_date,
        sex: body.sex,
    };
    let patient = if body.pdq {
        operator.resolve_with_pdq(&ctx.pix).await
    } else {
        operator.local_patient()
    };
    let patient = match patient {
        Ok(patient) => patient,
        Err(e) => return error(local_patient_status(&e), e.to_string()),
    };
    let mut options = ImportOptions::new(body.pacs.clone());
    if let Some(accession) = body.accession {
        options.accession = AccessionRule::Given(accession);
    } else if let Some(prefix) = body.accession_prefix {
        options.accession = AccessionRule::Prefixed(prefix);
    }
    let (work_dir, temporary) = match body.work_dir {
        Some(dir) if dir.is_absolute() => (dir, false),
        Some(dir) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("\"work_dir\" must be an absolute folder path, not {dir:?}"),
            );
        }
        None => (
            std::env::temp_dir().join(format!("hie-import-{}", uuid::Uuid::new_v4().simple())),
            true,
        ),
    };
    let done = import_entry(
        &ctx,
        &entry,
        &work_dir,
        &patient,
        &options,
        &consumer::NoProgress,
        &NoProgress,
    )
    .await;
    match done {
        Ok(report) if report.is_complete() => {
            if temporary {
                let _ = tokio::fs::remove_dir_all(&work_dir).await;
            }
            Json(report).into_response()
        }
        // Partial success: stored and failed instances are both listed.
        Ok(report) => (StatusCode::BAD_GATEWAY, Json(report)).into_response(),
        Err(e) => error(entry_error_status(&e), e.to_string()),
    }
}

fn local_patient_status(error: &LocalPatientError) -> StatusCode {
    match error {
        LocalPatientError::Invalid { .. }
        | LocalPatientError::Pdq(PixError::InvalidQuery { .. }) => StatusCode::BAD_REQUEST,
        LocalPatientError::Pdq(PixError::UnknownPatient { .. } | PixError::NotInDomain { .. }) => {
            StatusCode::NOT_FOUND
        }
        LocalPatientError::Pdq(_) => StatusCode::BAD_GATEWAY,
    }
}

fn entry_error_status(error: &EntryImportError) -> StatusCode {
    match error {
        EntryImportError::Retrieve(ConsumerError::UnknownEntry { .. }) => StatusCode::NOT_FOUND,
        EntryImportError::Retrieve(ConsumerError::Io { .. }) => StatusCode::INTERNAL_SERVER_ERROR,
        EntryImportError::Retrieve(
            ConsumerError::NotAManifest { .. }
            | ConsumerError::UnknownRepository { .. }
            | ConsumerError::UnreadableManifest { .. }
            | ConsumerError::UnknownRetrieveLocation { .. }
            | ConsumerError::NoWadoRsEndpoint { .. },
        ) => StatusCode::UNPROCESSABLE_ENTITY,
        EntryImportError::Import(super::ImportError::Pacs(_)) => StatusCode::BAD_REQUEST,
        _ => StatusCode::BAD_GATEWAY,
    }
}

fn error(status: StatusCode, reason: String) -> Response {
    (status, Json(serde_json::json!({ "error": reason }))).into_response()
}
