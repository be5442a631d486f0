//! ITI-41 crash recovery: a document a previous process stored and offered to the registry
//! (ITI-42) but never recorded as registered (killed, crashed, or the registry's answer lost)
//! may or may not be in the registry. Deleting it could lose a registered document; serving it
//! could serve one the registry never accepted. So it stays `pending` (never served) until the
//! registry says, through ITI-18 GetDocuments by uniqueId, whether it holds it: registered →
//! kept and served; not registered → removed; no answer → asked again later.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::Repository;
use crate::registry_client::RegisterError;
use crate::storage::{IndexedDocument, StorageError};

/// What one reconciliation pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Documents the registry holds: now `registered` and served.
    pub registered: usize,
    /// Documents the registry does not hold: content and index row removed.
    pub removed: usize,
    /// Documents left `pending` because the registry did not answer; asked again later.
    pub unresolved: usize,
}

/// What the registry says of one pending document.
enum Verdict {
    Registered,
    NotRegistered,
}

/// One pass over the documents left `pending` by processes started before `cutoff_millis`
/// (the documents of submissions in progress in this process are never touched).
pub async fn reconcile_pending(
    repository: &Repository,
    cutoff_millis: i64,
) -> Result<Reconciled, StorageError> {
    let pending = repository
        .index
        .pending_offered_before(cutoff_millis)
        .await?;
    let mut outcome = Reconciled::default();
    for (n, document) in pending.iter().enumerate() {
        match ask_registry(repository, document).await {
            Ok(Verdict::Registered) => {
                repository
                    .index
                    .mark_registered(std::slice::from_ref(&document.key))
                    .await?;
                tracing::info!(document = %document.document_unique_id, "pending document found registered: kept");
                outcome.registered += 1;
            }
            Ok(Verdict::NotRegistered) => {
                repository.store.remove(&document.key).await?;
                repository
                    .index
                    .remove(std::slice::from_ref(&document.key))
                    .await?;
                tracing::info!(document = %document.document_unique_id, "pending document not registered: removed");
                outcome.removed += 1;
            }
            Err(error @ RegisterError::Unavailable { .. }) => {
                tracing::warn!(%error, "registry not available: pending documents kept, asked again later");
                outcome.unresolved += pending.len() - n;
                break;
            }
            Err(error) => {
                tracing::warn!(%error, document = %document.document_unique_id, "registry gave no usable answer: document kept pending");
                outcome.unresolved += 1;
            }
        }
    }
    Ok(outcome)
}

/// ITI-18 GetDocuments by uniqueId: registered when the registry holds a DocumentEntry with this
/// uniqueId in this repository with the same hash (another repository's document under the
/// same uniqueId is not this one).
async fn ask_registry(
    repository: &Repository,
    document: &IndexedDocument,
) -> Result<Verdict, RegisterError> {
    let entries = repository
        .registry
        .find_documents(&document.document_unique_id)
        .await?;
    let ours = entries.iter().any(|entry| {
        entry.unique_id.value == document.document_unique_id
            && entry.repository_unique_id.as_deref() == Some(&repository.repository_unique_id)
            && match (&entry.hash, &document.hash) {
                (Some(registered), Some(stored)) => registered.trim().eq_ignore_ascii_case(stored),
                _ => false,
            }
    });
    Ok(if ours {
        Verdict::Registered
    } else {
        Verdict::NotRegistered
    })
}

/// Reconciles at once, then every `interval` until nothing is left unresolved or `shutdown`.
pub async fn run(
    repository: &Repository,
    cutoff_millis: i64,
    interval: Duration,
    shutdown: CancellationToken,
) {
    loop {
        match reconcile_pending(repository, cutoff_millis).await {
            Ok(outcome) if outcome.unresolved == 0 => {
                if outcome != Reconciled::default() {
                    tracing::info!(?outcome, "pending documents reconciled with the registry");
                }
                return;
            }
            Ok(outcome) => tracing::info!(?outcome, "pending documents left to reconcile"),
            Err(error) => tracing::error!(%error, "pending documents cannot be reconciled"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}
