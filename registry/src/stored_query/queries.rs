//! The parameters of each of the 14 stored queries (ITI TF-2a 3.18.4.1.2.3.7).

use schemas::ebrim::Slot;

use super::params::*;
use super::slots::{Params, non_empty, required};
use super::{QueryError, StoredQuery, ids};
use schemas::constants::error_code;

const DE_PATIENT_ID: &str = "$XDSDocumentEntryPatientId";
const DE_STATUS: &str = "$XDSDocumentEntryStatus";
const DE_CLASS_CODE: &str = "$XDSDocumentEntryClassCode";
const DE_TYPE_CODE: &str = "$XDSDocumentEntryTypeCode";
const DE_PRACTICE_SETTING_CODE: &str = "$XDSDocumentEntryPracticeSettingCode";
const DE_CREATION_TIME_FROM: &str = "$XDSDocumentEntryCreationTimeFrom";
const DE_CREATION_TIME_TO: &str = "$XDSDocumentEntryCreationTimeTo";
const DE_SERVICE_START_TIME_FROM: &str = "$XDSDocumentEntryServiceStartTimeFrom";
const DE_SERVICE_START_TIME_TO: &str = "$XDSDocumentEntryServiceStartTimeTo";
const DE_SERVICE_STOP_TIME_FROM: &str = "$XDSDocumentEntryServiceStopTimeFrom";
const DE_SERVICE_STOP_TIME_TO: &str = "$XDSDocumentEntryServiceStopTimeTo";
const DE_HEALTHCARE_FACILITY_TYPE_CODE: &str = "$XDSDocumentEntryHealthcareFacilityTypeCode";
const DE_EVENT_CODE_LIST: &str = "$XDSDocumentEntryEventCodeList";
const DE_CONFIDENTIALITY_CODE: &str = "$XDSDocumentEntryConfidentialityCode";
const DE_AUTHOR_PERSON: &str = "$XDSDocumentEntryAuthorPerson";
const DE_FORMAT_CODE: &str = "$XDSDocumentEntryFormatCode";
const DE_TYPE: &str = "$XDSDocumentEntryType";
const DE_REFERENCE_ID_LIST: &str = "$XDSDocumentEntryReferenceIdList";
const DE_ENTRY_UUID: &str = "$XDSDocumentEntryEntryUUID";
const DE_UNIQUE_ID: &str = "$XDSDocumentEntryUniqueId";
const DE_LOGICAL_ID: &str = "$XDSDocumentEntryLogicalID";
const SS_PATIENT_ID: &str = "$XDSSubmissionSetPatientId";
const SS_STATUS: &str = "$XDSSubmissionSetStatus";
const SS_SOURCE_ID: &str = "$XDSSubmissionSetSourceId";
const SS_SUBMISSION_TIME_FROM: &str = "$XDSSubmissionSetSubmissionTimeFrom";
const SS_SUBMISSION_TIME_TO: &str = "$XDSSubmissionSetSubmissionTimeTo";
const SS_AUTHOR_PERSON: &str = "$XDSSubmissionSetAuthorPerson";
const SS_CONTENT_TYPE: &str = "$XDSSubmissionSetContentType";
const SS_ENTRY_UUID: &str = "$XDSSubmissionSetEntryUUID";
const SS_UNIQUE_ID: &str = "$XDSSubmissionSetUniqueId";
const FOLDER_PATIENT_ID: &str = "$XDSFolderPatientId";
const FOLDER_STATUS: &str = "$XDSFolderStatus";
const FOLDER_LAST_UPDATE_TIME_FROM: &str = "$XDSFolderLastUpdateTimeFrom";
const FOLDER_LAST_UPDATE_TIME_TO: &str = "$XDSFolderLastUpdateTimeTo";
const FOLDER_CODE_LIST: &str = "$XDSFolderCodeList";
const FOLDER_ENTRY_UUID: &str = "$XDSFolderEntryUUID";
const FOLDER_UNIQUE_ID: &str = "$XDSFolderUniqueId";
const FOLDER_LOGICAL_ID: &str = "$XDSFolderLogicalID";
const PATIENT_ID: &str = "$patientId";
const UUID: &str = "$uuid";
const HOME_COMMUNITY_ID: &str = "$homeCommunityId";
const ASSOCIATION_TYPES: &str = "$AssociationTypes";
const ASSOCIATION_STATUS: &str = "$XDSAssociationStatus";
const METADATA_LEVEL: &str = "$MetadataLevel";

/// Reads the parameters of the query `id`; an unknown id is XDSUnknownStoredQuery.
pub(crate) fn parse_query(id: &str, slots: &[Slot]) -> Result<StoredQuery, QueryError> {
    let p = Params::new(slots);
    Ok(match id {
        ids::FIND_DOCUMENTS => StoredQuery::FindDocuments(find_documents(&p)?),
        ids::FIND_DOCUMENTS_BY_REFERENCE_ID => {
            StoredQuery::FindDocumentsByReferenceId(FindDocumentsByReferenceId {
                find: find_documents(&p)?,
                reference_ids: required(
                    DE_REFERENCE_ID_LIST,
                    p.list(DE_REFERENCE_ID_LIST, non_empty)?,
                )?,
            })
        }
        ids::FIND_SUBMISSION_SETS => StoredQuery::FindSubmissionSets(FindSubmissionSets {
            patient_id: required(SS_PATIENT_ID, p.single(SS_PATIENT_ID, PatientId::parse)?)?,
            statuses: required(SS_STATUS, p.statuses(SS_STATUS)?)?,
            source_ids: p.list(SS_SOURCE_ID, non_empty)?,
            submission_time: time_range(&p, SS_SUBMISSION_TIME_FROM, SS_SUBMISSION_TIME_TO)?,
            author_person: p.single(SS_AUTHOR_PERSON, like_pattern)?,
            content_type_codes: p.list(SS_CONTENT_TYPE, Code::parse)?,
        }),
        ids::FIND_FOLDERS => StoredQuery::FindFolders(FindFolders {
            patient_id: required(
                FOLDER_PATIENT_ID,
                p.single(FOLDER_PATIENT_ID, PatientId::parse)?,
            )?,
            statuses: required(FOLDER_STATUS, p.statuses(FOLDER_STATUS)?)?,
            last_update_time: time_range(
                &p,
                FOLDER_LAST_UPDATE_TIME_FROM,
                FOLDER_LAST_UPDATE_TIME_TO,
            )?,
            codes: p.and_or(FOLDER_CODE_LIST, Code::parse)?,
        }),
        ids::GET_ALL => StoredQuery::GetAll(GetAll {
            patient_id: required(PATIENT_ID, p.single(PATIENT_ID, PatientId::parse)?)?,
            document_entry_statuses: required(DE_STATUS, p.statuses(DE_STATUS)?)?,
            submission_set_statuses: required(SS_STATUS, p.statuses(SS_STATUS)?)?,
            folder_statuses: required(FOLDER_STATUS, p.statuses(FOLDER_STATUS)?)?,
            format_codes: p.list(DE_FORMAT_CODE, Code::parse)?,
            confidentiality_codes: p.and_or(DE_CONFIDENTIALITY_CODE, Code::parse)?,
            entry_types: p.list(DE_TYPE, DocumentEntryType::parse)?,
        }),
        ids::GET_DOCUMENTS => StoredQuery::GetDocuments(GetDocuments {
            documents: versioned_object_refs(&p, DE_ENTRY_UUID, DE_UNIQUE_ID, DE_LOGICAL_ID)?,
            home_community_id: home_community_id(&p)?,
        }),
        ids::GET_FOLDERS => StoredQuery::GetFolders(GetFolders {
            folders: versioned_object_refs(
                &p,
                FOLDER_ENTRY_UUID,
                FOLDER_UNIQUE_ID,
                FOLDER_LOGICAL_ID,
            )?,
            home_community_id: home_community_id(&p)?,
        }),
        ids::GET_ASSOCIATIONS => StoredQuery::GetAssociations(GetAssociations {
            uuids: required(UUID, p.list(UUID, EntryUuid::parse)?)?,
            home_community_id: home_community_id(&p)?,
        }),
        ids::GET_DOCUMENTS_AND_ASSOCIATIONS => {
            StoredQuery::GetDocumentsAndAssociations(GetDocumentsAndAssociations {
                documents: object_refs(&p, DE_ENTRY_UUID, DE_UNIQUE_ID)?,
                home_community_id: home_community_id(&p)?,
            })
        }
        ids::GET_SUBMISSION_SETS => StoredQuery::GetSubmissionSets(GetSubmissionSets {
            uuids: required(UUID, p.list(UUID, EntryUuid::parse)?)?,
            home_community_id: home_community_id(&p)?,
        }),
        ids::GET_SUBMISSION_SET_AND_CONTENTS => {
            StoredQuery::GetSubmissionSetAndContents(GetSubmissionSetAndContents {
                submission_set: object_ref_one(&p, SS_ENTRY_UUID, SS_UNIQUE_ID)?,
                format_codes: p.list(DE_FORMAT_CODE, Code::parse)?,
                confidentiality_codes: p.and_or(DE_CONFIDENTIALITY_CODE, Code::parse)?,
                entry_types: p.list(DE_TYPE, DocumentEntryType::parse)?,
                home_community_id: home_community_id(&p)?,
            })
        }
        ids::GET_FOLDER_AND_CONTENTS => StoredQuery::GetFolderAndContents(GetFolderAndContents {
            folder: object_ref_one(&p, FOLDER_ENTRY_UUID, FOLDER_UNIQUE_ID)?,
            all_versions: p.single_unquoted(METADATA_LEVEL, metadata_level)? == Some(2),
            association_statuses: association_statuses(&p)?,
            format_codes: p.list(DE_FORMAT_CODE, Code::parse)?,
            confidentiality_codes: p.and_or(DE_CONFIDENTIALITY_CODE, Code::parse)?,
            entry_types: p.list(DE_TYPE, DocumentEntryType::parse)?,
            home_community_id: home_community_id(&p)?,
        }),
        ids::GET_FOLDERS_FOR_DOCUMENT => {
            StoredQuery::GetFoldersForDocument(GetFoldersForDocument {
                document: object_ref_one(&p, DE_ENTRY_UUID, DE_UNIQUE_ID)?,
                home_community_id: home_community_id(&p)?,
            })
        }
        ids::GET_RELATED_DOCUMENTS => StoredQuery::GetRelatedDocuments(GetRelatedDocuments {
            document: object_ref_one(&p, DE_ENTRY_UUID, DE_UNIQUE_ID)?,
            association_types: required(
                ASSOCIATION_TYPES,
                p.list(ASSOCIATION_TYPES, AssociationType::parse)?,
            )?,
            association_statuses: association_statuses(&p)?,
            entry_types: p.list(DE_TYPE, DocumentEntryType::parse)?,
            home_community_id: home_community_id(&p)?,
        }),
        unknown => {
            return Err(QueryError {
                code: error_code::XDS_UNKNOWN_STORED_QUERY,
                message: format!("stored query id {unknown:?} is not one of the ITI-18 queries"),
                location: "AdhocQuery/@id".to_owned(),
            });
        }
    })
}

/// ITI-18 FindDocuments parameters, shared with FindDocumentsByReferenceId.
fn find_documents(p: &Params<'_>) -> Result<FindDocuments, QueryError> {
    Ok(FindDocuments {
        patient_id: required(DE_PATIENT_ID, p.single(DE_PATIENT_ID, PatientId::parse)?)?,
        statuses: required(DE_STATUS, p.statuses(DE_STATUS)?)?,
        class_codes: p.list(DE_CLASS_CODE, Code::parse)?,
        type_codes: p.list(DE_TYPE_CODE, Code::parse)?,
        practice_setting_codes: p.list(DE_PRACTICE_SETTING_CODE, Code::parse)?,
        creation_time: time_range(p, DE_CREATION_TIME_FROM, DE_CREATION_TIME_TO)?,
        service_start_time: time_range(p, DE_SERVICE_START_TIME_FROM, DE_SERVICE_START_TIME_TO)?,
        service_stop_time: time_range(p, DE_SERVICE_STOP_TIME_FROM, DE_SERVICE_STOP_TIME_TO)?,
        healthcare_facility_type_codes: p.list(DE_HEALTHCARE_FACILITY_TYPE_CODE, Code::parse)?,
        event_codes: p.and_or(DE_EVENT_CODE_LIST, Code::parse)?,
        confidentiality_codes: p.and_or(DE_CONFIDENTIALITY_CODE, Code::parse)?,
        author_persons: p.list(DE_AUTHOR_PERSON, like_pattern)?,
        format_codes: p.list(DE_FORMAT_CODE, Code::parse)?,
        entry_types: p.list(DE_TYPE, DocumentEntryType::parse)?,
    })
}

fn time_range(
    p: &Params<'_>,
    from: &'static str,
    to: &'static str,
) -> Result<TimeRange, QueryError> {
    Ok(TimeRange {
        from: p.time(from)?,
        to: p.time(to)?,
    })
}

fn like_pattern(text: &str) -> Result<LikePattern, String> {
    non_empty(text).map(LikePattern)
}

fn home_community_id(p: &Params<'_>) -> Result<Option<HomeCommunityId>, QueryError> {
    p.single(HOME_COMMUNITY_ID, HomeCommunityId::parse)
}

/// Exactly one of the two parameters must be present: both is XDSStoredQueryParamNumber,
/// neither XDSStoredQueryMissingParam.
fn check_one_of(
    p: &Params<'_>,
    by_uuid: &'static str,
    by_unique_id: &'static str,
) -> Result<bool, QueryError> {
    match (p.present(by_uuid), p.present(by_unique_id)) {
        (true, true) => Err(QueryError::param_number(
            by_uuid,
            format!("and {by_unique_id} are both given, only one of them is allowed"),
        )),
        (false, false) => Err(QueryError::missing_param(
            by_uuid,
            format!("or {by_unique_id} is required"),
        )),
        (uuid_given, _) => Ok(uuid_given),
    }
}

/// Several objects by entryUUID or by uniqueId ("one of", multi-valued).
fn object_refs(
    p: &Params<'_>,
    by_uuid: &'static str,
    by_unique_id: &'static str,
) -> Result<ObjectRefs, QueryError> {
    if check_one_of(p, by_uuid, by_unique_id)? {
        Ok(ObjectRefs::EntryUuids(required(
            by_uuid,
            p.list(by_uuid, EntryUuid::parse)?,
        )?))
    } else {
        Ok(ObjectRefs::UniqueIds(required(
            by_unique_id,
            p.list(by_unique_id, non_empty)?,
        )?))
    }
}

/// Several objects by entryUUID, uniqueId or logicalID ("one of", multi-valued): GetDocuments and
/// GetFolders with the ITI-57 Metadata Update parameters (ITI TF-2a 3.18.4.1.2.3.7.5 and .6).
fn versioned_object_refs(
    p: &Params<'_>,
    by_uuid: &'static str,
    by_unique_id: &'static str,
    by_logical_id: &'static str,
) -> Result<ObjectRefs, QueryError> {
    if !p.present(by_logical_id) {
        return object_refs(p, by_uuid, by_unique_id);
    }
    if let Some(other) = [by_uuid, by_unique_id].into_iter().find(|n| p.present(n)) {
        return Err(QueryError::param_number(
            by_logical_id,
            format!("and {other} are both given, only one of them is allowed"),
        ));
    }
    Ok(ObjectRefs::LogicalIds(required(
        by_logical_id,
        p.list(by_logical_id, EntryUuid::parse)?,
    )?))
}

/// `$XDSAssociationStatus` (ITI-57 Metadata Update): Approved when absent.
fn association_statuses(p: &Params<'_>) -> Result<Vec<AvailabilityStatus>, QueryError> {
    Ok(p.statuses(ASSOCIATION_STATUS)?
        .unwrap_or_else(|| vec![AvailabilityStatus::Approved]))
}

/// `$MetadataLevel`: 1 (the default) or 2 (a Metadata Update consumer).
fn metadata_level(value: &str) -> Result<u8, String> {
    match value.trim() {
        "1" => Ok(1),
        "2" => Ok(2),
        other => Err(format!("{other:?} is not a metadata level (1 or 2)")),
    }
}

/// One object by entryUUID or by uniqueId ("one of", single-valued).
fn object_ref_one(
    p: &Params<'_>,
    by_uuid: &'static str,
    by_unique_id: &'static str,
) -> Result<ObjectRefOne, QueryError> {
    if check_one_of(p, by_uuid, by_unique_id)? {
        Ok(ObjectRefOne::EntryUuid(required(
            by_uuid,
            p.single(by_uuid, EntryUuid::parse)?,
        )?))
    } else {
        Ok(ObjectRefOne::UniqueId(required(
            by_unique_id,
            p.single(by_unique_id, non_empty)?,
        )?))
    }
}
