//! ITI-41 Provide and Register Document Set-b: store each document (streamed from its MTOM part
//! or decoded inline), check and complete its DocumentEntry (hash, size, repositoryUniqueId),
//! register the metadata with ITI-42, and keep the documents only when the registry accepted
//! them: all or nothing.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use futures::Stream;
use futures::future::BoxFuture;
use schemas::constants::error_code;
use schemas::ebrim::{Identifiable, RegistryError, RegistryResponse, ResponseStatus, Severity};
use schemas::ihe::{DocumentContent, ProvideAndRegisterDocumentSetRequest};
use schemas::mtom::{MtomError, MtomReader, PartHeaders};
use schemas::xds::DocumentEntry;

use crate::Repository;
use crate::storage::{
    ContentWriter, IndexError, NewDocument, StorageError, StorageKey, StoreError, StoredContent,
};

/// MIME type recorded for a document whose DocumentEntry has none (the registry refuses such
/// a submission, and the document is then removed).
const UNKNOWN_MIME_TYPE: &str = "application/octet-stream";

/// The MIME parts that follow the SOAP envelope of an ITI-41 request.
pub trait Attachments: Send {
    /// Moves to the next part (skipping the rest of the current one); `None` after the last.
    fn next_part(&mut self) -> impl Future<Output = Result<Option<PartHeaders>, MtomError>> + Send;
    /// The next chunk of the current part; `None` at its end.
    fn read_chunk(&mut self) -> impl Future<Output = Result<Option<Bytes>, MtomError>> + Send;
}

impl<S, E> Attachments for MtomReader<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn next_part(&mut self) -> impl Future<Output = Result<Option<PartHeaders>, MtomError>> + Send {
        MtomReader::next_part(self)
    }

    fn read_chunk(&mut self) -> impl Future<Output = Result<Option<Bytes>, MtomError>> + Send {
        MtomReader::read_chunk(self)
    }
}

/// A plain SOAP request: no attachments (every document is inline).
#[derive(Debug, Default)]
pub struct NoAttachments;

impl Attachments for NoAttachments {
    async fn next_part(&mut self) -> Result<Option<PartHeaders>, MtomError> {
        Ok(None)
    }

    async fn read_chunk(&mut self) -> Result<Option<Bytes>, MtomError> {
        Ok(None)
    }
}

/// One document to store: its DocumentEntry (position in the RegistryObjectList) and content.
struct Planned {
    object_position: usize,
    entry: DocumentEntry,
    key: StorageKey,
    content: DocumentContent,
    stored: Option<StoredContent>,
}

/// A stored document on its way to durability: awaited beside its record in the index, before
/// ITI-42.
struct Syncing {
    entry_uuid: String,
    durable: BoxFuture<'static, Result<(), StoreError>>,
}

/// ITI-41 Provide and Register Document Set-b: the answer to return to the Document Source
/// (the registry's RegistryResponse, or the repository's own Failure).
pub async fn provide_and_register<A: Attachments>(
    repository: &Repository,
    mut request: ProvideAndRegisterDocumentSetRequest,
    attachments: &mut A,
) -> RegistryResponse {
    let mut planned = match plan(repository, &mut request) {
        Ok(planned) => planned,
        Err(errors) => return failure(errors),
    };
    let mut written: Vec<StorageKey> = Vec::new();
    let mut syncing: Vec<Syncing> = Vec::new();
    let outcome = store_all(
        repository,
        &mut planned,
        attachments,
        &mut written,
        &mut syncing,
    )
    .await;
    let outcome = match outcome.and_then(|()| complete_entries(repository, &mut planned)) {
        Ok(()) => record_content(repository, &planned, syncing).await,
        Err(errors) => Err(errors),
    };
    if let Err(errors) = outcome {
        discard(repository, &written).await;
        return failure(errors);
    }
    for p in &planned {
        request.submit.objects.objects[p.object_position] =
            Identifiable::ExtrinsicObject(p.entry.to_rim());
    }
    let answer = match repository.registry.register(&request.submit).await {
        Ok(answer) => answer,
        Err(error) => {
            tracing::warn!(%error, "ITI-42 registration failed; stored documents removed");
            discard(repository, &written).await;
            return error.to_registry_response();
        }
    };
    if answer.status != ResponseStatus::Success {
        discard(repository, &written).await;
        return answer;
    }
    if let Err(error) = repository.index.mark_registered(&written).await {
        tracing::error!(%error, "documents registered but their index rows cannot be marked registered");
        return failure(vec![repository_error(
            None,
            format!("documents registered but not recorded as such: {error}"),
        )]);
    }
    tracing::info!(documents = written.len(), "documents stored and registered");
    answer
}

/// Matches documents to DocumentEntries by id and checks what can be checked before any byte is
/// stored. Every error found is reported at once.
fn plan(
    repository: &Repository,
    request: &mut ProvideAndRegisterDocumentSetRequest,
) -> Result<Vec<Planned>, Vec<RegistryError>> {
    let mut errors = Vec::new();
    let mut entries: HashMap<String, (usize, DocumentEntry)> = HashMap::new();
    let mut entry_order = Vec::new();
    for (position, object) in request.submit.objects.objects.iter().enumerate() {
        let Identifiable::ExtrinsicObject(eo) = object else {
            continue;
        };
        match DocumentEntry::from_rim(eo) {
            Ok(entry) => {
                entry_order.push(entry.entry_uuid.clone());
                entries.insert(entry.entry_uuid.clone(), (position, entry));
            }
            Err(e) => errors.push(metadata_error(Some(e.location()), e.to_string())),
        }
    }
    let mut planned = Vec::new();
    let mut documented = HashSet::new();
    let mut content_ids = HashSet::new();
    let mut unique_ids = HashSet::new();
    for document in std::mem::take(&mut request.documents) {
        if !documented.insert(document.id.clone()) {
            errors.push(metadata_error(
                Some(&document.id),
                format!("two Documents carry the id {:?}", document.id),
            ));
            continue;
        }
        let Some((position, entry)) = entries.get(&document.id) else {
            errors.push(registry_error(
                error_code::XDS_MISSING_DOCUMENT_METADATA,
                Some(&document.id),
                format!(
                    "Document {:?} has no DocumentEntry (ExtrinsicObject) with that id",
                    document.id
                ),
            ));
            continue;
        };
        if let DocumentContent::Include { content_id } = &document.content
            && !content_ids.insert(content_id.clone())
        {
            errors.push(metadata_error(
                Some(&document.id),
                format!("the MIME part <{content_id}> is the content of two Documents"),
            ));
        }
        let unique_id = &entry.unique_id.value;
        if !unique_ids.insert(unique_id.clone()) {
            errors.push(registry_error(
                error_code::XDS_REPOSITORY_DUPLICATE_UNIQUE_ID_IN_MESSAGE,
                Some(&document.id),
                format!("DocumentEntry uniqueId {unique_id:?} appears twice in the submission"),
            ));
        }
        if let Some(submitted) = &entry.repository_unique_id
            && submitted != &repository.repository_unique_id
        {
            errors.push(metadata_error(
                Some(&document.id),
                format!(
                    "repositoryUniqueId {submitted:?} is not this repository's ({:?})",
                    repository.repository_unique_id
                ),
            ));
        }
        planned.push(Planned {
            object_position: *position,
            entry: entry.clone(),
            key: StorageKey::generate(),
            content: document.content,
            stored: None,
        });
    }
    for id in entry_order.iter().filter(|id| !documented.contains(*id)) {
        errors.push(registry_error(
            error_code::XDS_MISSING_DOCUMENT,
            Some(id),
            format!("DocumentEntry {id:?} has no Document in the submission"),
        ));
    }
    if errors.is_empty() {
        Ok(planned)
    } else {
        Err(errors)
    }
}

/// Stores inline documents, then streams each MIME part that is a document's content into the
/// store. `written` receives every key given an index row, for cleanup, and `syncing` each
/// stored document's way to durability.
async fn store_all<A: Attachments>(
    repository: &Repository,
    planned: &mut [Planned],
    attachments: &mut A,
    written: &mut Vec<StorageKey>,
    syncing: &mut Vec<Syncing>,
) -> Result<(), Vec<RegistryError>> {
    let store_failed = |p: &Planned, e: StorageError| {
        tracing::error!(error = %e, "document store failure");
        vec![repository_error(
            Some(&p.entry.entry_uuid),
            format!("the document could not be stored: {e}"),
        )]
    };
    for p in planned.iter_mut() {
        if let DocumentContent::Inline(bytes) = &mut p.content {
            let bytes = Bytes::from(std::mem::take(bytes));
            let mut writer = begin(repository, p, written)
                .await
                .map_err(|e| store_failed(p, e))?;
            let placed = match writer.write(bytes).await {
                Ok(()) => writer.place().await,
                Err(e) => Err(e),
            };
            let placed = placed.map_err(|e| store_failed(p, e.into()))?;
            p.stored = Some(placed.content);
            syncing.push(Syncing {
                entry_uuid: p.entry.entry_uuid.clone(),
                durable: placed.durable,
            });
        }
    }
    let by_content_id: HashMap<String, usize> = planned
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match &p.content {
            DocumentContent::Include { content_id } => Some((content_id.clone(), i)),
            DocumentContent::Inline(_) => None,
        })
        .collect();
    let mime_failed = |e: MtomError| {
        vec![registry_error(
            error_code::XDS_REPOSITORY_ERROR,
            None,
            format!("the MTOM request could not be read: {e}"),
        )]
    };
    while let Some(part) = attachments.next_part().await.map_err(mime_failed)? {
        let Some(&i) = part
            .content_id
            .as_ref()
            .and_then(|id| by_content_id.get(id))
        else {
            continue;
        };
        let p = &mut planned[i];
        // The part is streamed into the store while its `pending` row is recorded: the content
        // only reaches its final place (commit) once the row is durable.
        let (recorded, streamed) = tokio::join!(
            record_pending(repository, p),
            stream_part(repository, &p.key, attachments)
        );
        if recorded.is_ok() {
            written.push(p.key.clone());
        }
        let writer = match (recorded, streamed) {
            (Ok(()), Ok(writer)) => writer,
            (Err(e), Ok(writer)) => {
                let _ = writer.abort().await;
                return Err(store_failed(p, e.into()));
            }
            (_, Err(PartFailure::Store(e))) => return Err(store_failed(p, e)),
            (_, Err(PartFailure::Mime(e))) => return Err(mime_failed(e)),
        };
        let placed = writer
            .place()
            .await
            .map_err(|e| store_failed(p, e.into()))?;
        p.stored = Some(placed.content);
        syncing.push(Syncing {
            entry_uuid: p.entry.entry_uuid.clone(),
            durable: placed.durable,
        });
    }
    let missing: Vec<RegistryError> = planned
        .iter()
        .filter(|p| p.stored.is_none())
        .map(|p| {
            let cid = match &p.content {
                DocumentContent::Include { content_id } => content_id.as_str(),
                DocumentContent::Inline(_) => "",
            };
            registry_error(
                error_code::XDS_MISSING_DOCUMENT,
                Some(&p.entry.entry_uuid),
                format!("the MIME part <{cid}> referenced by the Document is not in the message"),
            )
        })
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing)
    }
}

/// Records the document `pending`, then opens its writer.
async fn begin(
    repository: &Repository,
    p: &Planned,
    written: &mut Vec<StorageKey>,
) -> Result<Box<dyn ContentWriter>, StorageError> {
    record_pending(repository, p).await?;
    written.push(p.key.clone());
    Ok(repository.store.begin(&p.key).await?)
}

/// Records the document `pending` (durably: the start sweep finds it from there on).
async fn record_pending(repository: &Repository, p: &Planned) -> Result<(), IndexError> {
    repository
        .index
        .insert_pending(&NewDocument {
            key: p.key.clone(),
            repository_unique_id: repository.repository_unique_id.clone(),
            document_unique_id: p.entry.unique_id.value.clone(),
            mime_type: p
                .entry
                .mime_type
                .clone()
                .unwrap_or_else(|| UNKNOWN_MIME_TYPE.to_owned()),
        })
        .await
}

/// Why a MIME part could not be streamed into the store.
enum PartFailure {
    Store(StorageError),
    Mime(MtomError),
}

/// Streams the rest of the current MIME part into a new, uncommitted write of `key` (aborted
/// on failure).
async fn stream_part<A: Attachments>(
    repository: &Repository,
    key: &StorageKey,
    attachments: &mut A,
) -> Result<Box<dyn ContentWriter>, PartFailure> {
    let mut writer = repository
        .store
        .begin(key)
        .await
        .map_err(|e| PartFailure::Store(e.into()))?;
    loop {
        match attachments.read_chunk().await {
            Ok(Some(chunk)) => {
                if let Err(e) = writer.write(chunk).await {
                    let _ = writer.abort().await;
                    return Err(PartFailure::Store(e.into()));
                }
            }
            Ok(None) => return Ok(writer),
            Err(e) => {
                let _ = writer.abort().await;
                return Err(PartFailure::Mime(e));
            }
        }
    }
}

/// Checks submitted hash and size against the stored content, then fills in hash, size and
/// repositoryUniqueId and records them in the index.
fn complete_entries(
    repository: &Repository,
    planned: &mut [Planned],
) -> Result<(), Vec<RegistryError>> {
    let mut errors = Vec::new();
    for p in planned.iter_mut() {
        let Some(stored) = &p.stored else { continue };
        let id = p.entry.entry_uuid.clone();
        if let Some(hash) = &p.entry.hash
            && !hash.trim().eq_ignore_ascii_case(&stored.sha1)
        {
            errors.push(metadata_error(
                Some(&id),
                format!(
                    "submitted hash {hash:?} differs from the SHA-1 of the document ({})",
                    stored.sha1
                ),
            ));
        }
        if let Some(size) = &p.entry.size
            && size.trim().parse::<u64>().ok() != Some(stored.size)
        {
            errors.push(metadata_error(
                Some(&id),
                format!(
                    "submitted size {size:?} differs from the size of the document ({})",
                    stored.size
                ),
            ));
        }
        p.entry.hash = Some(stored.sha1.clone());
        p.entry.size = Some(stored.size.to_string());
        p.entry.repository_unique_id = Some(repository.repository_unique_id.clone());
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Records the hash and size of each stored document in the index (after the checks, before
/// ITI-42) while the content becomes durable: both are done before the registry is asked.
async fn record_content(
    repository: &Repository,
    planned: &[Planned],
    syncing: Vec<Syncing>,
) -> Result<(), Vec<RegistryError>> {
    let durable = syncing.into_iter().map(|s| async move {
        let Syncing {
            entry_uuid,
            durable,
        } = s;
        durable.await.map_err(|e| (entry_uuid, e))
    });
    let (recorded, synced) = tokio::join!(
        record_in_index(repository, planned),
        futures::future::join_all(durable)
    );
    recorded?;
    match synced.into_iter().find_map(Result::err) {
        Some((id, e)) => {
            tracing::error!(error = %e, "document store failure");
            Err(vec![repository_error(
                Some(&id),
                format!("the document could not be stored: {e}"),
            )])
        }
        None => Ok(()),
    }
}

async fn record_in_index(
    repository: &Repository,
    planned: &[Planned],
) -> Result<(), Vec<RegistryError>> {
    for p in planned {
        let Some(stored) = &p.stored else { continue };
        if let Err(e) = repository
            .index
            .set_content(&stored.key, &stored.sha1, stored.size)
            .await
        {
            return Err(vec![repository_error(
                Some(&p.entry.entry_uuid),
                format!("the document could not be recorded: {e}"),
            )]);
        }
    }
    Ok(())
}

/// Removes the content and index rows of `keys`; a failure leaves `pending` rows that the next
/// start sweeps.
async fn discard(repository: &Repository, keys: &[StorageKey]) {
    for key in keys {
        if let Err(error) = repository.store.remove(key).await {
            tracing::error!(%error, %key, "stored document could not be removed; the next start removes it");
            return;
        }
    }
    if let Err(error) = repository.index.remove(keys).await {
        tracing::error!(%error, "index rows could not be removed; the next start removes them");
    }
}

fn failure(errors: Vec<RegistryError>) -> RegistryResponse {
    RegistryResponse {
        status: ResponseStatus::Failure,
        request_id: None,
        response_slots: Vec::new(),
        errors,
    }
}

fn registry_error(code: &str, location: Option<&str>, context: String) -> RegistryError {
    RegistryError {
        error_code: code.to_owned(),
        code_context: context,
        location: location.map(str::to_owned),
        severity: Severity::Error,
        value: None,
    }
}

fn metadata_error(location: Option<&str>, context: String) -> RegistryError {
    registry_error(error_code::XDS_REPOSITORY_METADATA_ERROR, location, context)
}

fn repository_error(location: Option<&str>, context: String) -> RegistryError {
    registry_error(error_code::XDS_REPOSITORY_ERROR, location, context)
}
