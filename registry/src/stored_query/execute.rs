//! ITI-18 Registry Stored Query execution: each of the 14 queries mapped to storage look-ups
//! (ITI TF-2a 3.18.4.1.2.3.7.1-14) and the answer served from the stored LeafClass fragments.
//!
//! Matching rules applied:
//! - status values OR-ed; code values OR-ed within one slot, slots AND-ed (storage `CodeGroup`s);
//! - time ranges: `From` inclusive, `To` exclusive; a DTM of lower precision stands for the
//!   earliest instant it covers (`2004` = `20040101000000`), see [`shortest_dtm`];
//! - authorPerson values are SQL LIKE patterns (`%`, `_`), OR-ed;
//! - `$XDSDocumentEntryType` absent selects stable DocumentEntries only.

use std::collections::HashSet;

use schemas::constants::{association_type, classification_scheme as scheme, error_code};
use schemas::ebrim::{
    AdhocQueryRequest, AdhocQueryResponse, Identifiable, ObjectRef, RegistryError,
    RegistryObjectList, RegistryResponse, ResponseStatus, Severity,
};
use tracing::Instrument;

use super::params::*;
use super::{QueryReturnType, StoredQuery, parse};
use crate::storage::{
    self as store, CodeGroup, CodeValue, Database, ObjectFilter, ObjectKind, StorageError,
    StoredAssociation, StoredObject,
};

/// Prefix of the ebRIM availability status URNs written on served objects.
const STATUS_URN_PREFIX: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:";

/// How the registry answers ITI-18 requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryOptions {
    /// Most objects (Associations included) one response may carry; a query matching more is
    /// refused with XDSTooManyResults.
    pub max_results: usize,
    /// homeCommunityId of this registry (`urn:oid:...`), written as `home` on ObjectRefs.
    pub home_community_id: Option<String>,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            max_results: 1000,
            home_community_id: None,
        }
    }
}

/// Why a valid ITI-18 request could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// The registry database failed.
    #[error("registry storage failed: {0}")]
    Storage(#[from] StorageError),
    /// More objects match than [`QueryOptions::max_results`] allows.
    #[error("the query matches more than {limit} objects")]
    TooManyResults {
        /// The configured cap.
        limit: usize,
    },
    /// A LeafClass answer would disclose the metadata of more than one patient
    /// (ITI TF-2a 3.18.4.1.3; ObjectRef answers are not restricted).
    #[error("the LeafClass result holds objects of {count} patients")]
    ResultNotSinglePatient {
        /// How many distinct patient ids the result holds.
        count: usize,
    },
    /// A stored fragment does not start with an element, so no status can be written on it.
    #[error("stored fragment of {entry_uuid} is not an XML element")]
    CorruptFragment {
        /// The object whose fragment is unusable.
        entry_uuid: String,
    },
}

impl ExecuteError {
    /// The `rs:RegistryError` reporting this failure (ITI TF-3 Table 4.2.4.1-2 codes).
    pub fn to_registry_error(&self) -> RegistryError {
        let code = match self {
            ExecuteError::TooManyResults { .. } => error_code::XDS_TOO_MANY_RESULTS,
            ExecuteError::ResultNotSinglePatient { .. } => {
                error_code::XDS_RESULT_NOT_SINGLE_PATIENT
            }
            ExecuteError::Storage(_) | ExecuteError::CorruptFragment { .. } => {
                error_code::XDS_REGISTRY_ERROR
            }
        };
        RegistryError {
            error_code: code.to_owned(),
            code_context: self.to_string(),
            location: None,
            severity: Severity::Error,
            value: None,
        }
    }
}

/// What a query found: registry objects and Associations, in answer order.
#[derive(Debug, Default)]
struct Found {
    objects: Vec<StoredObject>,
    associations: Vec<StoredAssociation>,
}

impl Found {
    fn len(&self) -> usize {
        self.objects.len() + self.associations.len()
    }
}

/// ITI-18 Registry Stored Query: validates `request`, runs the stored query on `db` and builds
/// the AdhocQueryResponse (Failure with the XDS error code when refused).
pub async fn execute(
    db: &Database,
    options: &QueryOptions,
    request: &AdhocQueryRequest,
) -> AdhocQueryResponse {
    let span = tracing::info_span!("ITI-18", query_id = %request.query.id);
    async move {
        let parsed = match parse(request) {
            Ok(parsed) => parsed,
            Err(refused) => {
                tracing::info!(error_code = refused.code, %refused, "stored query refused");
                return failure(refused.to_registry_error());
            }
        };
        let answer = match run(db, options, &parsed.query).await {
            Ok(found) => respond(found, parsed.return_type, options),
            Err(e) => Err(e),
        };
        match answer {
            Ok(response) => {
                tracing::debug!(
                    results = response.objects.objects.len(),
                    "stored query answered"
                );
                response
            }
            Err(e) => {
                tracing::warn!(error = %e, "stored query failed");
                failure(e.to_registry_error())
            }
        }
    }
    .instrument(span)
    .await
}

/// A Failure response carrying one error.
fn failure(error: RegistryError) -> AdhocQueryResponse {
    AdhocQueryResponse {
        response: RegistryResponse {
            status: ResponseStatus::Failure,
            request_id: None,
            response_slots: Vec::new(),
            errors: vec![error],
        },
        start_index: None,
        total_result_count: None,
        objects: RegistryObjectList::default(),
    }
}

/// The Success response: LeafClass serves each stored fragment with its current status (refused
/// with XDSResultNotSinglePatient when the objects belong to several patients), ObjectRef only
/// the ids.
fn respond(
    found: Found,
    return_type: QueryReturnType,
    options: &QueryOptions,
) -> Result<AdhocQueryResponse, ExecuteError> {
    let mut objects = Vec::with_capacity(found.len());
    match return_type {
        QueryReturnType::LeafClass => {
            let patients: HashSet<&str> = found
                .objects
                .iter()
                .map(|o| o.patient_id.as_str())
                .collect();
            if patients.len() > 1 {
                return Err(ExecuteError::ResultNotSinglePatient {
                    count: patients.len(),
                });
            }
            for object in &found.objects {
                objects.push(leaf_class(
                    &object.fragment,
                    object.status,
                    &object.entry_uuid,
                )?);
            }
            for association in &found.associations {
                objects.push(leaf_class(
                    &association.fragment,
                    association.status,
                    &association.entry_uuid,
                )?);
            }
        }
        QueryReturnType::ObjectRef => {
            let ids = found
                .objects
                .into_iter()
                .map(|o| o.entry_uuid)
                .chain(found.associations.into_iter().map(|a| a.entry_uuid));
            objects.extend(ids.map(|id| {
                Identifiable::ObjectRef(ObjectRef {
                    id,
                    home: options.home_community_id.clone(),
                    ..ObjectRef::default()
                })
            }));
        }
    }
    Ok(AdhocQueryResponse {
        response: RegistryResponse {
            status: ResponseStatus::Success,
            request_id: None,
            response_slots: Vec::new(),
            errors: Vec::new(),
        },
        start_index: None,
        total_result_count: None,
        objects: RegistryObjectList { objects },
    })
}

/// A stored fragment (`<rim:ExtrinsicObject id=...>...`, written without `status`) with
/// ` status="urn:...:StatusType:<status>"` inserted right after the element name.
fn leaf_class(
    fragment: &str,
    status: store::AvailabilityStatus,
    entry_uuid: &str,
) -> Result<Identifiable, ExecuteError> {
    let corrupt = || ExecuteError::CorruptFragment {
        entry_uuid: entry_uuid.to_owned(),
    };
    let fragment = fragment.trim_start();
    let name_len = fragment
        .strip_prefix('<')
        .and_then(|body| body.find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/'))
        .filter(|len| *len > 0)
        .ok_or_else(corrupt)?;
    let (open, rest) = fragment.split_at(1 + name_len);
    let status = status.as_str();
    let mut xml = String::with_capacity(fragment.len() + STATUS_URN_PREFIX.len() + 24);
    xml.push_str(open);
    xml.push_str(" status=\"");
    xml.push_str(STATUS_URN_PREFIX);
    xml.push_str(status);
    xml.push('"');
    xml.push_str(rest);
    Ok(Identifiable::Raw(xml))
}

/// Runs one stored query and enforces the result cap.
async fn run(
    db: &Database,
    options: &QueryOptions,
    query: &StoredQuery,
) -> Result<Found, ExecuteError> {
    let cap = options.max_results;
    // The Find queries ask storage for one row more than the cap: enough to tell "too many".
    let limit = Some(i64::try_from(cap.saturating_add(1)).unwrap_or(i64::MAX));
    let found = match query {
        StoredQuery::FindDocuments(q) => Found {
            objects: db.find_documents(&document_filter(q, limit)).await?,
            ..Found::default()
        },
        StoredQuery::FindDocumentsByReferenceId(q) => {
            let mut filter = document_filter(&q.find, limit);
            filter.reference_ids = q.reference_ids.clone();
            Found {
                objects: db.find_documents(&filter).await?,
                ..Found::default()
            }
        }
        StoredQuery::FindSubmissionSets(q) => Found {
            objects: db
                .find_submission_sets(&submission_set_filter(q, limit))
                .await?,
            ..Found::default()
        },
        StoredQuery::FindFolders(q) => Found {
            objects: db.find_folders(&folder_filter(q, limit)).await?,
            ..Found::default()
        },
        StoredQuery::GetAll(q) => get_all(db, q, limit, cap).await?,
        StoredQuery::GetDocuments(q) => Found {
            objects: objects_by_ref(db, &q.documents, ObjectKind::DocumentEntry).await?,
            ..Found::default()
        },
        StoredQuery::GetFolders(q) => Found {
            objects: objects_by_ref(db, &q.folders, ObjectKind::Folder).await?,
            ..Found::default()
        },
        StoredQuery::GetAssociations(q) => Found {
            associations: db.associations_of(&entry_uuids(&q.uuids)).await?,
            ..Found::default()
        },
        StoredQuery::GetDocumentsAndAssociations(q) => {
            let objects = objects_by_ref(db, &q.documents, ObjectKind::DocumentEntry).await?;
            let uuids: Vec<String> = objects.iter().map(|o| o.entry_uuid.clone()).collect();
            let associations = if uuids.is_empty() {
                Vec::new()
            } else {
                db.associations_of(&uuids).await?
            };
            Found {
                objects,
                associations,
            }
        }
        StoredQuery::GetSubmissionSets(q) => get_submission_sets(db, q).await?,
        StoredQuery::GetSubmissionSetAndContents(q) => {
            get_submission_set_and_contents(db, q).await?
        }
        StoredQuery::GetFolderAndContents(q) => get_folder_and_contents(db, q).await?,
        StoredQuery::GetFoldersForDocument(q) => get_folders_for_document(db, q).await?,
        StoredQuery::GetRelatedDocuments(q) => get_related_documents(db, q).await?,
    };
    if found.len() > cap {
        return Err(ExecuteError::TooManyResults { limit: cap });
    }
    Ok(found)
}

/// The shortest DTM naming the same earliest instant: trailing fields holding their first value
/// (month and day `01`, hour, minute and second `00`) are dropped.
///
/// A DTM of lower precision stands for the earliest instant it covers. Compared as text with
/// `>=` / `<`, a bound in this form gives the same answer for stored values of any precision as
/// comparing both sides padded to seconds: a stored value that is a proper prefix of the bound
/// is earlier (the bound's extra fields are not all at their first value), and a longer stored
/// value beginning with the bound is at or after it.
pub fn shortest_dtm(dtm: &str) -> &str {
    let mut text = dtm;
    loop {
        let first_value = match text.len() {
            10 | 12 | 14 => "00",
            6 | 8 => "01",
            _ => return text,
        };
        match text.strip_suffix(first_value) {
            Some(shorter) => text = shorter,
            None => return text,
        }
    }
}

fn storage_time_range(range: &TimeRange) -> store::TimeRange {
    store::TimeRange {
        from: range
            .from
            .as_ref()
            .map(|t| shortest_dtm(t.as_str()).to_owned()),
        to: range
            .to
            .as_ref()
            .map(|t| shortest_dtm(t.as_str()).to_owned()),
    }
}

fn storage_statuses(statuses: &[AvailabilityStatus]) -> Vec<store::AvailabilityStatus> {
    statuses
        .iter()
        .map(|status| match status {
            AvailabilityStatus::Approved => store::AvailabilityStatus::Approved,
            AvailabilityStatus::Deprecated => store::AvailabilityStatus::Deprecated,
        })
        .collect()
}

/// `$XDSDocumentEntryType` as storage object types; absent means stable DocumentEntries only.
fn storage_entry_types(types: Option<&Vec<DocumentEntryType>>) -> Vec<store::DocumentEntryType> {
    match types {
        None => vec![store::DocumentEntryType::Stable],
        Some(types) => types
            .iter()
            .map(|t| match t {
                DocumentEntryType::Stable => store::DocumentEntryType::Stable,
                DocumentEntryType::OnDemand => store::DocumentEntryType::OnDemand,
            })
            .collect(),
    }
}

fn code_group(scheme: &str, codes: &[Code]) -> CodeGroup {
    CodeGroup {
        scheme: scheme.to_owned(),
        codes: codes
            .iter()
            .map(|c| CodeValue::new(c.code.clone(), c.scheme.clone()))
            .collect(),
    }
}

/// A single-slot code parameter: one OR group when given.
fn push_codes(groups: &mut Vec<CodeGroup>, scheme: &str, codes: Option<&Vec<Code>>) {
    if let Some(codes) = codes {
        groups.push(code_group(scheme, codes));
    }
}

/// An AND/OR code parameter: one OR group per slot.
fn push_and_or(groups: &mut Vec<CodeGroup>, scheme: &str, slots: &[Vec<Code>]) {
    groups.extend(slots.iter().map(|codes| code_group(scheme, codes)));
}

/// The DocumentEntry filters GetAll and the *AndContents queries share.
fn content_codes(
    format_codes: Option<&Vec<Code>>,
    confidentiality: &[Vec<Code>],
) -> Vec<CodeGroup> {
    let mut groups = Vec::new();
    push_codes(
        &mut groups,
        scheme::DOCUMENT_ENTRY_FORMAT_CODE,
        format_codes,
    );
    push_and_or(
        &mut groups,
        scheme::DOCUMENT_ENTRY_CONFIDENTIALITY_CODE,
        confidentiality,
    );
    groups
}

/// ITI-18 FindDocuments (ITI TF-2a 3.18.4.1.2.3.7.1) as a storage filter.
fn document_filter(q: &FindDocuments, limit: Option<i64>) -> ObjectFilter {
    let mut groups = Vec::new();
    push_codes(
        &mut groups,
        scheme::DOCUMENT_ENTRY_CLASS_CODE,
        q.class_codes.as_ref(),
    );
    push_codes(
        &mut groups,
        scheme::DOCUMENT_ENTRY_TYPE_CODE,
        q.type_codes.as_ref(),
    );
    push_codes(
        &mut groups,
        scheme::DOCUMENT_ENTRY_PRACTICE_SETTING_CODE,
        q.practice_setting_codes.as_ref(),
    );
    push_codes(
        &mut groups,
        scheme::DOCUMENT_ENTRY_HEALTHCARE_FACILITY_TYPE_CODE,
        q.healthcare_facility_type_codes.as_ref(),
    );
    push_and_or(
        &mut groups,
        scheme::DOCUMENT_ENTRY_EVENT_CODE_LIST,
        &q.event_codes,
    );
    groups.extend(content_codes(
        q.format_codes.as_ref(),
        &q.confidentiality_codes,
    ));
    ObjectFilter {
        patient_id: q.patient_id.cx.clone(),
        statuses: storage_statuses(&q.statuses),
        object_types: storage_entry_types(q.entry_types.as_ref()),
        code_groups: groups,
        creation_time: storage_time_range(&q.creation_time),
        service_start_time: storage_time_range(&q.service_start_time),
        service_stop_time: storage_time_range(&q.service_stop_time),
        author_persons: q
            .author_persons
            .iter()
            .flatten()
            .map(|p| p.0.clone())
            .collect(),
        limit,
        ..ObjectFilter::default()
    }
}

/// ITI-18 FindSubmissionSets (ITI TF-2a 3.18.4.1.2.3.7.2) as a storage filter.
fn submission_set_filter(q: &FindSubmissionSets, limit: Option<i64>) -> ObjectFilter {
    let mut groups = Vec::new();
    push_codes(
        &mut groups,
        scheme::SUBMISSION_SET_CONTENT_TYPE_CODE,
        q.content_type_codes.as_ref(),
    );
    ObjectFilter {
        patient_id: q.patient_id.cx.clone(),
        statuses: storage_statuses(&q.statuses),
        code_groups: groups,
        submission_time: storage_time_range(&q.submission_time),
        author_persons: q.author_person.iter().map(|p| p.0.clone()).collect(),
        source_ids: q.source_ids.clone().unwrap_or_default(),
        limit,
        ..ObjectFilter::default()
    }
}

/// ITI-18 FindFolders (ITI TF-2a 3.18.4.1.2.3.7.3) as a storage filter.
fn folder_filter(q: &FindFolders, limit: Option<i64>) -> ObjectFilter {
    let mut groups = Vec::new();
    push_and_or(&mut groups, scheme::FOLDER_CODE_LIST, &q.codes);
    ObjectFilter {
        patient_id: q.patient_id.cx.clone(),
        statuses: storage_statuses(&q.statuses),
        code_groups: groups,
        last_update_time: storage_time_range(&q.last_update_time),
        limit,
        ..ObjectFilter::default()
    }
}

fn entry_uuids(uuids: &[EntryUuid]) -> Vec<String> {
    uuids.iter().map(|u| u.as_str().to_owned()).collect()
}

fn is_has_member(association: &StoredAssociation) -> bool {
    association.association_type == association_type::HAS_MEMBER
}

/// Objects of `kind` named by entryUUIDs or uniqueIds (every stored version of a uniqueId).
async fn objects_by_ref(
    db: &Database,
    refs: &ObjectRefs,
    kind: ObjectKind,
) -> Result<Vec<StoredObject>, StorageError> {
    let found = match refs {
        ObjectRefs::EntryUuids(uuids) => db.objects_by_uuid(&entry_uuids(uuids)).await?,
        ObjectRefs::UniqueIds(ids) => db.objects_by_unique_id(ids).await?,
        ObjectRefs::LogicalIds(lids) => {
            let mut versions = Vec::new();
            for lid in lids {
                versions.extend(db.versions_of(lid.as_str()).await?);
            }
            versions
        }
    };
    Ok(found.into_iter().filter(|o| o.kind == kind).collect())
}

/// The one object of `kind` named by entryUUID or uniqueId (of several versions, the latest).
async fn object_by_ref(
    db: &Database,
    reference: &ObjectRefOne,
    kind: ObjectKind,
) -> Result<Option<StoredObject>, StorageError> {
    let found = match reference {
        ObjectRefOne::EntryUuid(uuid) => db.objects_by_uuid(&[uuid.as_str().to_owned()]).await?,
        ObjectRefOne::UniqueId(id) => db.objects_by_unique_id(std::slice::from_ref(id)).await?,
    };
    Ok(found
        .into_iter()
        .filter(|o| o.kind == kind)
        .max_by_key(|o| o.version))
}

/// The DocumentEntries among `candidates` that pass the content filters of GetAll and the
/// *AndContents queries (formatCode, confidentialityCode AND/OR, objectType).
async fn filter_contents(
    db: &Database,
    candidates: Vec<StoredObject>,
    code_groups: Vec<CodeGroup>,
    entry_types: Option<&Vec<DocumentEntryType>>,
) -> Result<Vec<StoredObject>, StorageError> {
    let types = storage_entry_types(entry_types);
    let typed: Vec<StoredObject> = candidates
        .into_iter()
        .filter(|o| o.object_type.is_some_and(|t| types.contains(&t)))
        .collect();
    let Some(first) = typed.first() else {
        return Ok(typed);
    };
    if code_groups.is_empty() {
        return Ok(typed);
    }
    // The codes live in their own table: one query over the patient's DocumentEntries.
    let matching: HashSet<String> = db
        .find_documents(&ObjectFilter {
            patient_id: first.patient_id.clone(),
            object_types: types,
            code_groups,
            ..ObjectFilter::default()
        })
        .await?
        .into_iter()
        .map(|o| o.entry_uuid)
        .collect();
    Ok(typed
        .into_iter()
        .filter(|o| matching.contains(&o.entry_uuid))
        .collect())
}

/// ITI-18 GetAll (ITI TF-2a 3.18.4.1.2.3.7.4): the patient's SubmissionSets, DocumentEntries
/// and Folders by status (DocumentEntries also by format, confidentiality and type) and the
/// Associations between them.
async fn get_all(
    db: &Database,
    q: &GetAll,
    limit: Option<i64>,
    cap: usize,
) -> Result<Found, ExecuteError> {
    let patient = q.patient_id.cx.clone();
    let mut objects = db
        .find_documents(&ObjectFilter {
            patient_id: patient.clone(),
            statuses: storage_statuses(&q.document_entry_statuses),
            object_types: storage_entry_types(q.entry_types.as_ref()),
            code_groups: content_codes(q.format_codes.as_ref(), &q.confidentiality_codes),
            limit,
            ..ObjectFilter::default()
        })
        .await?;
    objects.extend(
        db.find_submission_sets(&ObjectFilter {
            limit,
            ..ObjectFilter::for_patient(
                patient.clone(),
                &storage_statuses(&q.submission_set_statuses),
            )
        })
        .await?,
    );
    objects.extend(
        db.find_folders(&ObjectFilter {
            limit,
            ..ObjectFilter::for_patient(patient, &storage_statuses(&q.folder_statuses))
        })
        .await?,
    );
    if objects.len() > cap {
        return Err(ExecuteError::TooManyResults { limit: cap });
    }
    if objects.is_empty() {
        return Ok(Found::default());
    }
    let uuids: Vec<String> = objects.iter().map(|o| o.entry_uuid.clone()).collect();
    let candidates = db.associations_of(&uuids).await?;
    let returned: HashSet<&str> = uuids.iter().map(String::as_str).collect();
    // Associations between returned objects, then those from a returned object to one of them
    // (a SubmissionSet's HasMember of a Folder membership).
    let (mut associations, rest): (Vec<StoredAssociation>, Vec<StoredAssociation>) =
        candidates.into_iter().partition(|a| {
            returned.contains(a.source_uuid.as_str()) && returned.contains(a.target_uuid.as_str())
        });
    let linked: HashSet<String> = associations.iter().map(|a| a.entry_uuid.clone()).collect();
    associations.extend(
        rest.into_iter().filter(|a| {
            returned.contains(a.source_uuid.as_str()) && linked.contains(&a.target_uuid)
        }),
    );
    Ok(Found {
        objects,
        associations,
    })
}

/// ITI-18 GetSubmissionSets (ITI TF-2a 3.18.4.1.2.3.7.9): the SubmissionSets holding the named
/// DocumentEntries or Folders (HasMember) and those HasMember Associations.
async fn get_submission_sets(db: &Database, q: &GetSubmissionSets) -> Result<Found, ExecuteError> {
    let members: HashSet<String> = entry_uuids(&q.uuids).into_iter().collect();
    let wanted: Vec<String> = members.iter().cloned().collect();
    let memberships: Vec<StoredAssociation> = db
        .associations_of(&wanted)
        .await?
        .into_iter()
        .filter(|a| is_has_member(a) && members.contains(&a.target_uuid))
        .collect();
    let sources: Vec<String> = memberships
        .iter()
        .map(|a| a.source_uuid.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if sources.is_empty() {
        return Ok(Found::default());
    }
    let sets: Vec<StoredObject> = db
        .objects_by_uuid(&sources)
        .await?
        .into_iter()
        .filter(|o| o.kind == ObjectKind::SubmissionSet)
        .collect();
    let set_uuids: HashSet<&str> = sets.iter().map(|s| s.entry_uuid.as_str()).collect();
    let associations = memberships
        .into_iter()
        .filter(|a| set_uuids.contains(a.source_uuid.as_str()))
        .collect();
    Ok(Found {
        objects: sets,
        associations,
    })
}

/// The HasMember Associations whose source is `container`.
async fn members_of(
    db: &Database,
    container: &str,
) -> Result<Vec<StoredAssociation>, StorageError> {
    Ok(db
        .associations_of(&[container.to_owned()])
        .await?
        .into_iter()
        .filter(|a| is_has_member(a) && a.source_uuid == container)
        .collect())
}

/// ITI-18 GetSubmissionSetAndContents (ITI TF-2a 3.18.4.1.2.3.7.10): the SubmissionSet, its
/// DocumentEntries (after the content filters) and Folders, its HasMember Associations and the
/// Folder memberships it carries; memberships of filtered-out DocumentEntries are left out.
async fn get_submission_set_and_contents(
    db: &Database,
    q: &GetSubmissionSetAndContents,
) -> Result<Found, ExecuteError> {
    let Some(set) = object_by_ref(db, &q.submission_set, ObjectKind::SubmissionSet).await? else {
        return Ok(Found::default());
    };
    let memberships = members_of(db, &set.entry_uuid).await?;
    let targets: Vec<String> = memberships.iter().map(|a| a.target_uuid.clone()).collect();
    let (member_objects, member_associations) = if targets.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        (
            db.objects_by_uuid(&targets).await?,
            db.associations_by_uuid(&targets).await?,
        )
    };
    let (documents, folders): (Vec<StoredObject>, Vec<StoredObject>) = member_objects
        .into_iter()
        .filter(|o| o.kind != ObjectKind::SubmissionSet)
        .partition(|o| o.kind == ObjectKind::DocumentEntry);
    let all_documents: HashSet<String> = documents.iter().map(|d| d.entry_uuid.clone()).collect();
    let documents = filter_contents(
        db,
        documents,
        content_codes(q.format_codes.as_ref(), &q.confidentiality_codes),
        q.entry_types.as_ref(),
    )
    .await?;
    let kept: HashSet<&str> = documents.iter().map(|d| d.entry_uuid.as_str()).collect();
    let filtered_out = |uuid: &str| all_documents.contains(uuid) && !kept.contains(uuid);
    let nested: Vec<StoredAssociation> = member_associations
        .into_iter()
        .filter(|a| !filtered_out(&a.target_uuid))
        .collect();
    let nested_ids: HashSet<&str> = nested.iter().map(|a| a.entry_uuid.as_str()).collect();
    let folder_ids: HashSet<&str> = folders.iter().map(|f| f.entry_uuid.as_str()).collect();
    let memberships: Vec<StoredAssociation> = memberships
        .into_iter()
        .filter(|a| {
            let target = a.target_uuid.as_str();
            kept.contains(target) || folder_ids.contains(target) || nested_ids.contains(target)
        })
        .collect();
    let mut objects = vec![set];
    objects.extend(documents);
    objects.extend(folders);
    let mut associations = memberships;
    associations.extend(nested);
    Ok(Found {
        objects,
        associations,
    })
}

/// ITI-18 GetFolderAndContents (ITI TF-2a 3.18.4.1.2.3.7.11): the Folder, its DocumentEntries
/// (after the content filters) and the HasMember Associations linking them.
async fn get_folder_and_contents(
    db: &Database,
    q: &GetFolderAndContents,
) -> Result<Found, ExecuteError> {
    let folders: Vec<StoredObject> = match (&q.folder, q.all_versions) {
        (ObjectRefOne::UniqueId(id), true) => {
            let mut versions: Vec<StoredObject> = db
                .objects_by_unique_id(std::slice::from_ref(id))
                .await?
                .into_iter()
                .filter(|o| o.kind == ObjectKind::Folder)
                .collect();
            versions.sort_by_key(|o| o.version);
            versions
        }
        _ => object_by_ref(db, &q.folder, ObjectKind::Folder)
            .await?
            .into_iter()
            .collect(),
    };
    if folders.is_empty() {
        return Ok(Found::default());
    }
    let statuses = storage_statuses(&q.association_statuses);
    let mut memberships = Vec::new();
    for folder in &folders {
        memberships.extend(
            members_of(db, &folder.entry_uuid)
                .await?
                .into_iter()
                .filter(|a| statuses.contains(&a.status)),
        );
    }
    let targets: Vec<String> = memberships
        .iter()
        .map(|a| a.target_uuid.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let documents = if targets.is_empty() {
        Vec::new()
    } else {
        let candidates = db
            .objects_by_uuid(&targets)
            .await?
            .into_iter()
            .filter(|o| o.kind == ObjectKind::DocumentEntry)
            .collect();
        filter_contents(
            db,
            candidates,
            content_codes(q.format_codes.as_ref(), &q.confidentiality_codes),
            q.entry_types.as_ref(),
        )
        .await?
    };
    let kept: HashSet<&str> = documents.iter().map(|d| d.entry_uuid.as_str()).collect();
    let associations = memberships
        .into_iter()
        .filter(|a| kept.contains(a.target_uuid.as_str()))
        .collect();
    let mut objects = folders;
    objects.extend(documents);
    Ok(Found {
        objects,
        associations,
    })
}

/// ITI-18 GetFoldersForDocument (ITI TF-2a 3.18.4.1.2.3.7.12): the Folders holding the
/// DocumentEntry through a Folder → DocumentEntry HasMember Association.
async fn get_folders_for_document(
    db: &Database,
    q: &GetFoldersForDocument,
) -> Result<Found, ExecuteError> {
    let Some(document) = object_by_ref(db, &q.document, ObjectKind::DocumentEntry).await? else {
        return Ok(Found::default());
    };
    let sources: Vec<String> = db
        .associations_of(std::slice::from_ref(&document.entry_uuid))
        .await?
        .into_iter()
        .filter(|a| is_has_member(a) && a.target_uuid == document.entry_uuid)
        .map(|a| a.source_uuid)
        .collect();
    if sources.is_empty() {
        return Ok(Found::default());
    }
    let folders = db
        .objects_by_uuid(&sources)
        .await?
        .into_iter()
        .filter(|o| o.kind == ObjectKind::Folder)
        .collect();
    Ok(Found {
        objects: folders,
        ..Found::default()
    })
}

/// ITI-18 GetRelatedDocuments (ITI TF-2a 3.18.4.1.2.3.7.13): the DocumentEntry, the
/// DocumentEntries related to it by Associations of the given types (filtered by type) and those
/// Associations; nothing when no DocumentEntry is related.
async fn get_related_documents(
    db: &Database,
    q: &GetRelatedDocuments,
) -> Result<Found, ExecuteError> {
    let Some(document) = object_by_ref(db, &q.document, ObjectKind::DocumentEntry).await? else {
        return Ok(Found::default());
    };
    let origin = document.entry_uuid.clone();
    let wanted: HashSet<&str> = q.association_types.iter().map(|t| t.urn()).collect();
    let statuses = storage_statuses(&q.association_statuses);
    let relations: Vec<StoredAssociation> = db
        .associations_of(std::slice::from_ref(&origin))
        .await?
        .into_iter()
        .filter(|a| wanted.contains(a.association_type.as_str()) && statuses.contains(&a.status))
        .collect();
    let other_end = |a: &StoredAssociation| {
        if a.source_uuid == origin {
            a.target_uuid.clone()
        } else {
            a.source_uuid.clone()
        }
    };
    let others: Vec<String> = relations
        .iter()
        .map(other_end)
        .filter(|uuid| *uuid != origin)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if others.is_empty() {
        return Ok(Found::default());
    }
    let types = storage_entry_types(q.entry_types.as_ref());
    let related: Vec<StoredObject> = db
        .objects_by_uuid(&others)
        .await?
        .into_iter()
        .filter(|o| {
            o.kind == ObjectKind::DocumentEntry && o.object_type.is_some_and(|t| types.contains(&t))
        })
        .collect();
    if related.is_empty() {
        return Ok(Found::default());
    }
    let related_ids: HashSet<&str> = related.iter().map(|o| o.entry_uuid.as_str()).collect();
    let associations = relations
        .iter()
        .filter(|a| related_ids.contains(other_end(a).as_str()))
        .cloned()
        .collect();
    let mut objects = vec![document];
    objects.extend(related);
    Ok(Found {
        objects,
        associations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_dtm_drops_trailing_first_values() {
        assert_eq!(shortest_dtm("20040101000000"), "2004");
        assert_eq!(shortest_dtm("20041224000000"), "20041224");
        assert_eq!(shortest_dtm("200412241000"), "2004122410");
        assert_eq!(shortest_dtm("20041201"), "200412");
        assert_eq!(shortest_dtm("20041210"), "20041210");
        assert_eq!(shortest_dtm("2000"), "2000");
    }

    #[test]
    fn status_is_written_right_after_the_element_name() {
        let served = leaf_class(
            "<rim:ExtrinsicObject id=\"urn:uuid:1\"><rim:Name/></rim:ExtrinsicObject>",
            store::AvailabilityStatus::Deprecated,
            "urn:uuid:1",
        );
        assert!(matches!(
            served,
            Ok(Identifiable::Raw(xml)) if xml == "<rim:ExtrinsicObject status=\"urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated\" id=\"urn:uuid:1\"><rim:Name/></rim:ExtrinsicObject>"
        ));
    }

    #[test]
    fn fragment_without_element_is_registry_error() {
        let served = leaf_class("not xml", store::AvailabilityStatus::Approved, "urn:uuid:1");
        assert!(matches!(served, Err(ExecuteError::CorruptFragment { .. })));
    }
}
