//! RAD-68 Provide and Register Imaging Document Set – MTOM/XOP (ITI-41 with the imaging
//! constraints): the KOS manifest of a study, its metadata and an optional report in one
//! submission set; a republished study replaces its earlier manifest (RPLC), found with ITI-18
//! FindDocumentsByReferenceId on the Study Instance UID, and a republished report replaces the
//! report this source registered earlier for the study (its SubmissionSet, from ITI-18
//! GetSubmissionSets, has this source's sourceId).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use schemas::constants::{association_type, status, stored_query};
use schemas::ebrim::{
    AdhocQueryRequest, RegistryObject, RegistryResponse, ResponseStatus, ReturnType, Slot,
    SubmitObjectsRequest, read_adhoc_query_response, read_registry_response,
};
use schemas::ihe::{Document, DocumentContent, ProvideAndRegisterDocumentSetRequest};
use schemas::mtom::{Attachment, MtomReader, MtomWriter, SoapContentType};
use schemas::soap::{self, SoapError, action};
use schemas::xds::{
    Association, AssociationType, Code, DocumentEntry, MetadataObjects, Submission,
};
use schemas::xml::Limits;
use tracing::Instrument;

use crate::config::Config;
use crate::kos::{AffinityPatient, KOS_SOP_CLASS_UID, KosError, ManifestOptions};
use crate::metadata::{
    CodeMappings, CodeSpec, ManifestIdentity, manifest_document_entry, manifest_submission_set,
    study_reference_id,
};
use crate::study::{Study, new_uid};

/// Everything a publication needs besides the study.
#[derive(Debug, Clone)]
pub struct PublishContext {
    /// The affinity-domain patient (from PIX, ITI-9, or given).
    pub affinity_patient: AffinityPatient,
    /// sourcePatientId to use instead of the one derived from the images (CX `id^^^&oid&ISO`).
    pub source_patient_id: Option<String>,
    /// ITI-41 endpoint of the Document Repository.
    pub repository_url: String,
    /// ITI-18 endpoint of the Document Registry, to find the manifest a republication replaces;
    /// `None`: never replace.
    pub registry_url: Option<String>,
    /// repositoryUniqueId of this Imaging Document Source (KOS Retrieve Location UID).
    pub imaging_source_unique_id: String,
    /// SubmissionSet.sourceId (OID of this source).
    pub source_id: String,
    /// Retrieve AE Title written in the manifest.
    pub retrieve_ae_title: String,
    /// WADO-RS root written as Retrieve URL per series, if any.
    pub retrieve_url: Option<String>,
    /// Affinity-domain codes.
    pub codes: CodeMappings,
    /// A report published in the same submission set.
    pub report: Option<ReportDocument>,
    /// HTTP timeout of each request.
    pub timeout: Duration,
}

impl PublishContext {
    /// The publication `[imaging_source]` describes, for `affinity_patient`: repository, codes
    /// and sourceId of `publish`, registry of `consumer`, and `retrieve_url` as Retrieve URL.
    pub fn from_config(
        config: &Config,
        affinity_patient: AffinityPatient,
        retrieve_url: Option<String>,
    ) -> Self {
        PublishContext {
            affinity_patient,
            source_patient_id: None,
            repository_url: config.publish.repository_url.clone(),
            registry_url: Some(config.consumer.registry_url.clone()),
            imaging_source_unique_id: config.repository_unique_id.clone(),
            source_id: config.source_id().to_owned(),
            retrieve_ae_title: config.retrieve_ae_title.clone(),
            retrieve_url,
            codes: config.publish.codes.clone(),
            report: None,
            timeout: Duration::from_secs(config.publish.timeout_seconds),
        }
    }
}

/// A report document published next to the manifest.
#[derive(Debug, Clone)]
pub struct ReportDocument {
    /// The document bytes.
    pub content: Bytes,
    /// Its MIME type (`application/pdf`, `text/plain`, ...).
    pub mime_type: String,
    /// Its formatCode.
    pub format_code: CodeSpec,
    /// Its typeCode.
    pub type_code: CodeSpec,
    /// Its classCode.
    pub class_code: CodeSpec,
    /// Its title.
    pub title: Option<String>,
}

/// What the repository accepted.
#[derive(Debug, Clone)]
pub struct Published {
    /// DocumentEntry.uniqueId of the manifest (= KOS SOP Instance UID).
    pub manifest_unique_id: String,
    /// entryUUID of the manifest's DocumentEntry as submitted.
    pub manifest_entry_uuid: String,
    /// DocumentEntry.uniqueId of the report, when one was published.
    pub report_unique_id: Option<String>,
    /// SubmissionSet.uniqueId.
    pub submission_set_unique_id: String,
    /// entryUUID of the earlier manifest this one replaces (RPLC).
    pub replaced_entry_uuid: Option<String>,
    /// entryUUID of the earlier report this publication's report replaces (RPLC).
    pub replaced_report_entry_uuid: Option<String>,
    /// Size of the manifest in bytes.
    pub manifest_size: usize,
    /// The repository's RegistryResponse (Success or PartialSuccess).
    pub response: RegistryResponse,
}

/// Why nothing (or not everything) was published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The manifest cannot be built.
    #[error("manifest: {0}")]
    Manifest(#[from] KosError),
    /// An HTTP exchange failed or answered something that is not SOAP.
    #[error("{transaction} to {url}: {reason}")]
    Unavailable {
        transaction: &'static str,
        url: String,
        reason: String,
    },
    /// The peer answered with a SOAP Fault or an unreadable message.
    #[error("{transaction} to {url}: invalid answer: {reason}")]
    InvalidAnswer {
        transaction: &'static str,
        url: String,
        reason: String,
    },
    /// ITI-18 answered Failure.
    #[error("ITI-18 lookup of the earlier manifest failed: {errors}")]
    QueryFailed { errors: String },
    /// The repository answered Failure: nothing was published.
    #[error("ITI-41 refused: {errors}")]
    Refused {
        errors: String,
        response: RegistryResponse,
    },
}

/// RAD-68: builds the manifest and its metadata and provides them to the repository.
pub async fn publish(study: &Study, ctx: &PublishContext) -> Result<Published, PublishError> {
    let span = tracing::info_span!("RAD-68", study = %study.study_instance_uid);
    async move {
        let http = reqwest::Client::builder()
            .timeout(ctx.timeout)
            .build()
            .unwrap_or_default();
        let replaced = match &ctx.registry_url {
            Some(url) => {
                find_current_publication(
                    &http,
                    url,
                    &ctx.affinity_patient,
                    &study.study_instance_uid,
                    ctx.report.as_ref().map(|_| ctx.source_id.as_str()),
                )
                .await?
            }
            None => None,
        };
        let created = time::OffsetDateTime::now_utc();
        let manifest_uid = new_uid();
        let manifest = crate::kos::build_manifest(
            study,
            &ManifestOptions {
                affinity_patient: ctx.affinity_patient.clone(),
                retrieve_ae_title: ctx.retrieve_ae_title.clone(),
                retrieve_location_uid: ctx.imaging_source_unique_id.clone(),
                retrieve_url: ctx.retrieve_url.clone(),
                sop_instance_uid: manifest_uid.clone(),
                series_instance_uid: new_uid(),
                created,
            },
        )?;
        let manifest_bytes = Bytes::from(crate::kos::to_part10(&manifest)?);
        let submission = build_submission(study, ctx, &manifest_uid, created, replaced.as_ref());
        let mut documents = vec![(
            submission.manifest_entry_uuid.clone(),
            crate::metadata::MANIFEST_MIME_TYPE.to_owned(),
            manifest_bytes.clone(),
        )];
        if let (Some(report), Some(entry_uuid)) = (&ctx.report, &submission.report_entry_uuid) {
            documents.push((
                entry_uuid.clone(),
                report.mime_type.clone(),
                report.content.clone(),
            ));
        }
        let response =
            provide_and_register(&http, &ctx.repository_url, submission.request, documents).await?;
        if response.status == ResponseStatus::Failure {
            return Err(PublishError::Refused {
                errors: error_list(&response),
                response,
            });
        }
        tracing::info!(manifest = %manifest_uid, replaced = ?replaced, "manifest published");
        let replaced_report_entry_uuid = submission
            .report_entry_uuid
            .as_ref()
            .and(replaced.as_ref())
            .and_then(|r| r.report.clone());
        Ok(Published {
            manifest_unique_id: manifest_uid,
            manifest_entry_uuid: submission.manifest_entry_uuid,
            report_unique_id: submission.report_unique_id,
            submission_set_unique_id: submission.submission_set_unique_id,
            replaced_entry_uuid: replaced.map(|r| r.manifest),
            replaced_report_entry_uuid,
            manifest_size: manifest_bytes.len(),
            response,
        })
    }
    .instrument(span)
    .await
}

/// The submission of one publication and the ids it gave its objects.
#[derive(Debug, Clone)]
pub struct BuiltSubmission {
    /// The SubmitObjectsRequest.
    pub request: SubmitObjectsRequest,
    /// entryUUID (symbolic) of the manifest's DocumentEntry.
    pub manifest_entry_uuid: String,
    /// entryUUID of the report's DocumentEntry.
    pub report_entry_uuid: Option<String>,
    /// uniqueId of the report.
    pub report_unique_id: Option<String>,
    /// SubmissionSet.uniqueId.
    pub submission_set_unique_id: String,
}

/// The documents of a study's current publication that its republication replaces (RPLC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    /// entryUUID of the Approved manifest.
    pub manifest: String,
    /// entryUUID of the most recent Approved report this source registered for the study, if any.
    pub report: Option<String>,
}

/// The RAD-68 metadata of a publication: SubmissionSet, manifest DocumentEntry (+ RPLC of the
/// earlier manifest), optional report DocumentEntry (+ RPLC of the earlier report), HasMember
/// associations.
pub fn build_submission(
    study: &Study,
    ctx: &PublishContext,
    manifest_uid: &str,
    created: time::OffsetDateTime,
    replaces: Option<&Replaced>,
) -> BuiltSubmission {
    let identity = ManifestIdentity {
        affinity_patient: &ctx.affinity_patient,
        manifest_uid,
        created,
    };
    let manifest_entry_uuid = urn_uuid();
    let mut manifest = manifest_document_entry(study, &identity, &ctx.codes, &manifest_entry_uuid);
    if let Some(source) = &ctx.source_patient_id {
        manifest.source_patient_id = Some(source.clone());
        if let Some(pid3) = manifest
            .source_patient_info
            .iter_mut()
            .find(|v| v.starts_with("PID-3|"))
        {
            *pid3 = format!("PID-3|{source}");
        } else {
            manifest
                .source_patient_info
                .insert(0, format!("PID-3|{source}"));
        }
    }
    let submission_set_entry_uuid = urn_uuid();
    let submission_set_unique_id = new_uid();
    let submission_set = manifest_submission_set(
        study,
        &identity,
        &ctx.codes,
        &ctx.source_id,
        &submission_set_entry_uuid,
        &submission_set_unique_id,
    );
    let mut entries = vec![manifest.clone()];
    let (report_entry_uuid, report_unique_id) = match &ctx.report {
        Some(report) => {
            let entry = report_entry(&manifest, report);
            let ids = (entry.entry_uuid.clone(), entry.unique_id.value.clone());
            entries.push(entry);
            (Some(ids.0), Some(ids.1))
        }
        None => (None, None),
    };
    let mut associations: Vec<Association> = entries
        .iter()
        .map(|e| {
            let mut a = Association::new(
                urn_uuid(),
                AssociationType::HasMember,
                &submission_set_entry_uuid,
                &e.entry_uuid,
            );
            a.submission_set_status = Some("Original".to_owned());
            a
        })
        .collect();
    let rplc = |new: &str, previous: &str| {
        Association::new(
            urn_uuid(),
            AssociationType::from_urn(association_type::RPLC),
            new,
            previous,
        )
    };
    if let Some(previous) = replaces {
        associations.push(rplc(&manifest_entry_uuid, &previous.manifest));
        if let (Some(new), Some(old)) = (&report_entry_uuid, &previous.report) {
            associations.push(rplc(new, old));
        }
    }
    let submission = Submission {
        submission_set,
        document_entries: entries,
        folders: Vec::new(),
        associations,
        other_objects: Vec::new(),
        layout: Vec::new(),
    };
    BuiltSubmission {
        request: SubmitObjectsRequest {
            objects: submission.to_object_list(),
            ..SubmitObjectsRequest::default()
        },
        manifest_entry_uuid,
        report_entry_uuid,
        report_unique_id,
        submission_set_unique_id,
    }
}

/// The report's DocumentEntry: the manifest's patient, times, events and references, its own
/// codes, MIME type and uniqueId.
fn report_entry(manifest: &DocumentEntry, report: &ReportDocument) -> DocumentEntry {
    let code = |c: &CodeSpec| Code::new(&c.code, &c.coding_scheme, &c.display_name);
    let mut entry = manifest.clone();
    entry.entry_uuid = urn_uuid();
    entry.mime_type = Some(report.mime_type.clone());
    entry.format_code = Some(code(&report.format_code));
    entry.type_code = Some(code(&report.type_code));
    entry.class_code = Some(code(&report.class_code));
    entry.title = report
        .title
        .as_deref()
        .map(schemas::ebrim::InternationalString::plain);
    entry.unique_id = schemas::xds::ExternalId::new(new_uid(), "XDSDocumentEntry.uniqueId");
    entry
}

/// ITI-18 FindDocumentsByReferenceId: the Approved manifest of this study for this patient (the
/// most recent one if several) and, when `report_source` is given, the most recent Approved
/// report of the study that this source registered (ITI-18 GetSubmissionSets on the study's
/// other documents, kept when their SubmissionSet.sourceId is `report_source`: a report another
/// system registered for the study is never replaced).
pub async fn find_current_publication(
    http: &reqwest::Client,
    registry_url: &str,
    patient: &AffinityPatient,
    study_uid: &str,
    report_source: Option<&str>,
) -> Result<Option<Replaced>, PublishError> {
    let slots = vec![
        Slot::new("$XDSDocumentEntryPatientId", [quote(&patient.to_cx())]),
        Slot::new(
            "$XDSDocumentEntryStatus",
            [format!("({})", quote(status::APPROVED))],
        ),
        Slot::new(
            "$XDSDocumentEntryReferenceIdList",
            [format!("({})", quote(&study_reference_id(study_uid)))],
        ),
    ];
    let objects = registry_stored_query(
        http,
        registry_url,
        stored_query::FIND_DOCUMENTS_BY_REFERENCE_ID,
        slots,
    )
    .await?;
    let (manifests, others): (Vec<DocumentEntry>, Vec<DocumentEntry>) =
        objects.document_entries.into_iter().partition(|e| {
            e.format_code
                .as_ref()
                .is_some_and(|c| c.code == KOS_SOP_CLASS_UID)
        });
    let Some(manifest) = latest(manifests) else {
        return Ok(None);
    };
    let report = match report_source {
        Some(source_id) if !others.is_empty() => {
            own_documents(http, registry_url, source_id, others)
                .await
                .map(latest)?
        }
        _ => None,
    };
    Ok(Some(Replaced { manifest, report }))
}

/// The entryUUID of the most recent of `entries` (by creationTime).
fn latest(entries: Vec<DocumentEntry>) -> Option<String> {
    entries
        .into_iter()
        .max_by(|a, b| a.creation_time.cmp(&b.creation_time))
        .map(|e| e.entry_uuid)
}

/// ITI-18 GetSubmissionSets: those of `entries` registered in a SubmissionSet of `source_id`.
async fn own_documents(
    http: &reqwest::Client,
    registry_url: &str,
    source_id: &str,
    entries: Vec<DocumentEntry>,
) -> Result<Vec<DocumentEntry>, PublishError> {
    let uuids: Vec<String> = entries.iter().map(|e| quote(&e.entry_uuid)).collect();
    let sets = registry_stored_query(
        http,
        registry_url,
        stored_query::GET_SUBMISSION_SETS,
        vec![Slot::new("$uuid", [format!("({})", uuids.join(","))])],
    )
    .await?;
    let own_sets: Vec<&str> = sets
        .submission_sets
        .iter()
        .filter(|set| {
            set.source_id
                .as_ref()
                .is_some_and(|id| id.value == source_id)
        })
        .map(|set| set.entry_uuid.as_str())
        .collect();
    let own_members: Vec<&str> = sets
        .associations
        .iter()
        .filter(|a| {
            a.association_type == AssociationType::HasMember
                && own_sets.contains(&a.source.as_str())
        })
        .map(|a| a.target.as_str())
        .collect();
    Ok(entries
        .into_iter()
        .filter(|e| own_members.contains(&e.entry_uuid.as_str()))
        .collect())
}

/// A stored query parameter value: quoted, inner quotes doubled.
fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// ITI-18 Registry Stored Query `query_id` with `slots`, LeafClass: the objects answered.
pub(crate) async fn registry_stored_query(
    http: &reqwest::Client,
    registry_url: &str,
    query_id: &str,
    slots: Vec<Slot>,
) -> Result<MetadataObjects, PublishError> {
    let request = AdhocQueryRequest {
        id: None,
        comment: None,
        request_slots: Vec::new(),
        return_type: ReturnType::LeafClass,
        return_composed_objects: true,
        federated: false,
        federation: None,
        start_index: 0,
        max_results: None,
        query: RegistryObject {
            id: query_id.to_owned(),
            slots,
            ..RegistryObject::default()
        },
    };
    let envelope = soap_call(
        http,
        "ITI-18",
        registry_url,
        action::REGISTRY_STORED_QUERY,
        soap::content_type(action::REGISTRY_STORED_QUERY),
        reqwest::Body::from(
            soap::write_request_envelope(
                action::REGISTRY_STORED_QUERY,
                registry_url,
                &request.to_xml(),
            )
            .0,
        ),
    )
    .await?;
    let invalid = |reason: String| PublishError::InvalidAnswer {
        transaction: "ITI-18",
        url: registry_url.to_owned(),
        reason,
    };
    let mut message = read_envelope(&envelope).map_err(invalid)?;
    let answer = read_adhoc_query_response(&mut message.reader, &message.body)
        .map_err(|e| invalid(e.to_string()))?;
    if answer.response.status == ResponseStatus::Failure {
        return Err(PublishError::QueryFailed {
            errors: error_list(&answer.response),
        });
    }
    MetadataObjects::from_object_list(&answer.objects).map_err(|e| invalid(e.to_string()))
}

/// ITI-41 over MTOM: each document (entryUUID, MIME type, bytes) is one XOP part.
async fn provide_and_register(
    http: &reqwest::Client,
    url: &str,
    submit: SubmitObjectsRequest,
    documents: Vec<(String, String, Bytes)>,
) -> Result<RegistryResponse, PublishError> {
    let mut attachments = Vec::new();
    let mut docs = Vec::new();
    for (id, mime_type, bytes) in documents {
        let content_id = schemas::mtom::content_id();
        attachments.push(Attachment {
            content_id: content_id.clone(),
            content_type: mime_type,
            body: Box::pin(futures::stream::once(futures::future::ready(Ok(bytes)))),
        });
        docs.push(Document {
            id,
            content: DocumentContent::Include { content_id },
        });
    }
    let request = ProvideAndRegisterDocumentSetRequest {
        submit,
        documents: docs,
    };
    let (envelope, _) = soap::write_request_envelope(
        action::PROVIDE_AND_REGISTER_DOCUMENT_SET_B,
        url,
        &request.to_xml(),
    );
    let invalid = |reason: String| PublishError::InvalidAnswer {
        transaction: "ITI-41",
        url: url.to_owned(),
        reason,
    };
    let writer = MtomWriter::new()
        .with_action(action::PROVIDE_AND_REGISTER_DOCUMENT_SET_B)
        .map_err(|e| invalid(e.to_string()))?;
    let content_type = writer.content_type();
    let body = writer
        .into_body(envelope, attachments)
        .map_err(|e| invalid(e.to_string()))?;
    let answer = soap_call(
        http,
        "ITI-41",
        url,
        action::PROVIDE_AND_REGISTER_DOCUMENT_SET_B,
        content_type,
        reqwest::Body::wrap_stream(body),
    )
    .await?;
    let mut message = read_envelope(&answer).map_err(invalid)?;
    read_registry_response(&mut message.reader, &message.body).map_err(|e| invalid(e.to_string()))
}

/// Limits on the answers read (the registry's LeafClass answer for one study is small).
const ANSWER_LIMITS: Limits = Limits {
    max_bytes: 16 * 1024 * 1024,
    max_depth: 64,
};

/// POSTs a SOAP request; the answer's envelope (plain or the MTOM root part).
pub(crate) async fn soap_call(
    http: &reqwest::Client,
    transaction: &'static str,
    url: &str,
    soap_action: &str,
    content_type: String,
    body: reqwest::Body,
) -> Result<Bytes, PublishError> {
    let answer = soap_exchange(http, transaction, url, soap_action, content_type, body).await?;
    Ok(answer.envelope)
}

/// The HTTP body of a SOAP answer.
pub(crate) type AnswerStream = futures::stream::BoxStream<'static, reqwest::Result<Bytes>>;

/// A SOAP answer: its envelope, and for MTOM the reader positioned after the root part (the
/// attachments are left on the wire, to be streamed part by part).
pub(crate) struct SoapAnswer {
    pub envelope: Bytes,
    pub attachments: Option<MtomReader<AnswerStream>>,
}

/// POSTs a SOAP request; the answer's envelope read into memory (bounded), its attachments not.
pub(crate) async fn soap_exchange(
    http: &reqwest::Client,
    transaction: &'static str,
    url: &str,
    soap_action: &str,
    content_type: String,
    body: reqwest::Body,
) -> Result<SoapAnswer, PublishError> {
    let unavailable = |reason: String| PublishError::Unavailable {
        transaction,
        url: url.to_owned(),
        reason,
    };
    tracing::debug!(transaction, url, action = soap_action, "SOAP request");
    let response = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .map_err(|e| unavailable(error_chain(&e)))?;
    let status = response.status();
    let answer_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let Ok(soap_type) = SoapContentType::parse(&answer_type) else {
        return Err(unavailable(format!(
            "HTTP {status} with Content-Type {answer_type:?} instead of a SOAP message"
        )));
    };
    let max = ANSWER_LIMITS.max_bytes;
    let mut stream: AnswerStream = response.bytes_stream().boxed();
    match soap_type {
        SoapContentType::Plain { .. } => {
            let mut body = BytesMut::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| unavailable(error_chain(&e)))?;
                if body.len() + chunk.len() > max {
                    return Err(unavailable(format!("answer larger than {max} bytes")));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(SoapAnswer {
                envelope: body.freeze(),
                attachments: None,
            })
        }
        SoapContentType::Mtom(multipart) => {
            let mut reader = MtomReader::new(stream, &multipart);
            let root = reader
                .root(max)
                .await
                .map_err(|e| unavailable(e.to_string()))?;
            Ok(SoapAnswer {
                envelope: root.body,
                attachments: Some(reader),
            })
        }
    }
}

pub(crate) fn read_envelope(envelope: &[u8]) -> Result<soap::SoapRequest<'_>, String> {
    match soap::read_response_envelope(envelope, ANSWER_LIMITS) {
        Ok(message) => Ok(message),
        Err(SoapError::Fault(fault)) => Err(format!("SOAP Fault: {}", fault.reason)),
        Err(e) => Err(e.to_string()),
    }
}

pub(crate) fn error_list(response: &RegistryResponse) -> String {
    response
        .errors
        .iter()
        .map(|e| format!("{} ({})", e.error_code, e.code_context))
        .collect::<Vec<_>>()
        .join("; ")
}

fn urn_uuid() -> String {
    format!("urn:uuid:{}", uuid::Uuid::new_v4())
}

/// An error with its sources.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}
