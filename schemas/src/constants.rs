//! Standard identifiers of XDS metadata (IHE ITI TF-3 4.2), the ITI-18/ITI-51 stored query ids and
//! the error codes of ITI TF-3 Table 4.2.4.1-2.
//!
//! Values as listed in the NIST XDS Toolkit's `MetadataSupport.java` (see
//! `ihe-schemas/xds-uuids.md` and `ihe-schemas/stored-queries.md` in the shared reference material).

/// `objectType` values of XDS objects (ITI TF-3 4.2.5.1).
pub mod object_type {
    /// ITI TF-3 4.2.3.2 DocumentEntry objectType of a Stable Document Entry.
    pub const STABLE_DOCUMENT_ENTRY: &str = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1";
    /// ITI TF-3 4.2.3.2 DocumentEntry objectType of an On-Demand Document Entry.
    pub const ON_DEMAND_DOCUMENT_ENTRY: &str = "urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248";
    /// ebRIM objectType of a RegistryPackage (written by some sources on SubmissionSets and Folders).
    pub const REGISTRY_PACKAGE: &str =
        "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:RegistryPackage";
    /// ebRIM objectType of a Classification.
    pub const CLASSIFICATION: &str =
        "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification";
    /// ebRIM objectType of an ExternalIdentifier.
    pub const EXTERNAL_IDENTIFIER: &str =
        "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:ExternalIdentifier";
    /// ebRIM objectType of an Association.
    pub const ASSOCIATION: &str =
        "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association";
}

/// `classificationNode` values that mark what an object is (ITI TF-3 4.2.5.2).
pub mod classification_node {
    /// ITI TF-3 4.2.3.3 the RegistryPackage is a SubmissionSet.
    pub const SUBMISSION_SET: &str = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd";
    /// ITI TF-3 4.2.3.4 the RegistryPackage is a Folder.
    pub const FOLDER: &str = "urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2";
    /// ITI TF-3 4.2.2.2 Association documentation classification (reason for an Association).
    pub const ASSOCIATION_DOCUMENTATION: &str = "urn:uuid:abd807a3-4432-4053-87b4-fd82c643d1f3";
    /// ITI TF-3 4.2.3.2.31 DocumentEntry.limitedMetadata marker.
    pub const DOCUMENT_ENTRY_LIMITED_METADATA: &str =
        "urn:uuid:ab9b591b-83ab-4d03-8f5d-f93b1fb92e85";
    /// ITI TF-3 4.2.3.3.14 SubmissionSet.limitedMetadata marker.
    pub const SUBMISSION_SET_LIMITED_METADATA: &str =
        "urn:uuid:5003a9db-8d8d-49e6-bf0c-990e34ac7707";
    /// ITI TF-3 4.2.3.4.11 Folder.limitedMetadata marker.
    pub const FOLDER_LIMITED_METADATA: &str = "urn:uuid:2c144a76-29a9-4b7c-af54-b25409fe7d03";
}

/// `classificationScheme` values of coded and author attributes (ITI TF-3 4.2.5.2).
pub mod classification_scheme {
    /// ITI TF-3 4.2.3.2.1 DocumentEntry.author.
    pub const DOCUMENT_ENTRY_AUTHOR: &str = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d";
    /// ITI TF-3 4.2.3.2.3 DocumentEntry.classCode.
    pub const DOCUMENT_ENTRY_CLASS_CODE: &str = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a";
    /// ITI TF-3 4.2.3.2.5 DocumentEntry.confidentialityCode.
    pub const DOCUMENT_ENTRY_CONFIDENTIALITY_CODE: &str =
        "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f";
    /// ITI TF-3 4.2.3.2.9 DocumentEntry.eventCodeList.
    pub const DOCUMENT_ENTRY_EVENT_CODE_LIST: &str =
        "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4";
    /// ITI TF-3 4.2.3.2.10 DocumentEntry.formatCode.
    pub const DOCUMENT_ENTRY_FORMAT_CODE: &str = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d";
    /// ITI TF-3 4.2.3.2.11 DocumentEntry.healthcareFacilityTypeCode.
    pub const DOCUMENT_ENTRY_HEALTHCARE_FACILITY_TYPE_CODE: &str =
        "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1";
    /// ITI TF-3 4.2.3.2.17 DocumentEntry.practiceSettingCode.
    pub const DOCUMENT_ENTRY_PRACTICE_SETTING_CODE: &str =
        "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead";
    /// ITI TF-3 4.2.3.2.25 DocumentEntry.typeCode.
    pub const DOCUMENT_ENTRY_TYPE_CODE: &str = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983";
    /// ITI TF-3 4.2.3.3.1 SubmissionSet.author.
    pub const SUBMISSION_SET_AUTHOR: &str = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d";
    /// ITI TF-3 4.2.3.3.4 SubmissionSet.contentTypeCode.
    pub const SUBMISSION_SET_CONTENT_TYPE_CODE: &str =
        "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500";
    /// ITI TF-3 4.2.3.4.2 Folder.codeList.
    pub const FOLDER_CODE_LIST: &str = "urn:uuid:1ba97051-7806-41a8-a48b-8fce7af683c5";
}

/// `identificationScheme` values of external identifiers (ITI TF-3 4.2.5.3).
pub mod identification_scheme {
    /// ITI TF-3 4.2.3.2.16 DocumentEntry.patientId.
    pub const DOCUMENT_ENTRY_PATIENT_ID: &str = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427";
    /// ITI TF-3 4.2.3.2.26 DocumentEntry.uniqueId.
    pub const DOCUMENT_ENTRY_UNIQUE_ID: &str = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab";
    /// ITI TF-3 4.2.3.3.6 SubmissionSet.patientId.
    pub const SUBMISSION_SET_PATIENT_ID: &str = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446";
    /// ITI TF-3 4.2.3.3.12 SubmissionSet.uniqueId.
    pub const SUBMISSION_SET_UNIQUE_ID: &str = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8";
    /// ITI TF-3 4.2.3.3.7 SubmissionSet.sourceId.
    pub const SUBMISSION_SET_SOURCE_ID: &str = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832";
    /// ITI TF-3 4.2.3.4.6 Folder.patientId.
    pub const FOLDER_PATIENT_ID: &str = "urn:uuid:f64ffdf0-4b97-4e06-b79f-a52b38ec2f8a";
    /// ITI TF-3 4.2.3.4.9 Folder.uniqueId.
    pub const FOLDER_UNIQUE_ID: &str = "urn:uuid:75df8f67-9973-4fbe-a900-df66cefecc5a";
}

/// Object `status` values and response `status` values (ebRS 3.0, ITI TF-3 4.2.3.2.2 / 4.2.4).
pub mod status {
    /// ITI TF-3 4.2.3.2.2 availabilityStatus Approved.
    pub const APPROVED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved";
    /// ITI TF-3 4.2.3.2.2 availabilityStatus Deprecated.
    pub const DEPRECATED: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated";
    /// ebRS RegistryResponse status Success.
    pub const RESPONSE_SUCCESS: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";
    /// ITI TF-3 4.2.4.2 RegistryResponse status PartialSuccess (IHE namespace).
    pub const RESPONSE_PARTIAL_SUCCESS: &str = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess";
    /// ebRS RegistryResponse status Failure.
    pub const RESPONSE_FAILURE: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure";
    /// ebRS RegistryError severity Error.
    pub const SEVERITY_ERROR: &str = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error";
    /// ebRS RegistryError severity Warning.
    pub const SEVERITY_WARNING: &str = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning";
    /// ITI TF-3 4.2.3.2.32 documentAvailability Online.
    pub const DOCUMENT_AVAILABILITY_ONLINE: &str = "urn:ihe:iti:2010:DocumentAvailability:Online";
    /// ITI TF-3 4.2.3.2.32 documentAvailability Offline.
    pub const DOCUMENT_AVAILABILITY_OFFLINE: &str = "urn:ihe:iti:2010:DocumentAvailability:Offline";
}

/// `associationType` values (ITI TF-3 4.2.2).
pub mod association_type {
    /// ITI TF-3 4.2.2.1 HasMember (SubmissionSet or Folder membership).
    pub const HAS_MEMBER: &str = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember";
    /// ITI TF-3 4.2.2.2 Replace.
    pub const RPLC: &str = "urn:ihe:iti:2007:AssociationType:RPLC";
    /// ITI TF-3 4.2.2.2 Transform.
    pub const XFRM: &str = "urn:ihe:iti:2007:AssociationType:XFRM";
    /// ITI TF-3 4.2.2.2 Append.
    pub const APND: &str = "urn:ihe:iti:2007:AssociationType:APND";
    /// ITI TF-3 4.2.2.2 Transform and Replace.
    pub const XFRM_RPLC: &str = "urn:ihe:iti:2007:AssociationType:XFRM_RPLC";
    /// ITI TF-3 4.2.2.2 Signs (digital signature document).
    pub const SIGNS: &str = "urn:ihe:iti:2007:AssociationType:signs";
    /// ITI TF-3 4.2.2.3 IsSnapshotOf (On-Demand Documents snapshot).
    pub const IS_SNAPSHOT_OF: &str = "urn:ihe:iti:2010:AssociationType:IsSnapshotOf";
    /// ITI-57 Metadata Update: change of availabilityStatus.
    pub const UPDATE_AVAILABILITY_STATUS: &str =
        "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus";
    /// ITI-57 Metadata Update: submission of an Association.
    pub const SUBMIT_ASSOCIATION: &str = "urn:ihe:iti:2010:AssociationType:SubmitAssociation";
}

/// CXi component 5 values of DocumentEntry.referenceIdList (ITI TF-3 4.2.3.2.28).
pub mod reference_id_type {
    /// Accession number (filler order number of the imaging procedure).
    pub const ACCESSION: &str = "urn:ihe:iti:xds:2013:accession";
    /// DICOM Study Instance UID (XDS-I.b).
    pub const STUDY_INSTANCE_UID: &str = "urn:ihe:iti:xds:2016:studyInstanceUID";
    /// Order (placer order number).
    pub const ORDER: &str = "urn:ihe:iti:xds:2013:order";
    /// Referral.
    pub const REFERRAL: &str = "urn:ihe:iti:xds:2013:referral";
    /// Unique id of a related document.
    pub const UNIQUE_ID: &str = "urn:ihe:iti:xds:2013:uniqueId";
    /// Encounter id.
    pub const ENCOUNTER_ID: &str = "urn:ihe:iti:xds:2015:encounterId";
    /// Slot name that carries referenceIdList on a DocumentEntry.
    pub const SLOT_NAME: &str = "urn:ihe:iti:xds:2013:referenceIdList";
}

/// Stored query ids (ITI TF-2a 3.18.4.1.2.3.7; ITI-51 for the multi-patient queries).
pub mod stored_query {
    /// ITI-18 FindDocuments.
    pub const FIND_DOCUMENTS: &str = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d";
    /// ITI-18 FindDocumentsByReferenceId.
    pub const FIND_DOCUMENTS_BY_REFERENCE_ID: &str =
        "urn:uuid:12941a89-e02e-4be5-967c-ce4bfc8fe492";
    /// ITI-18 FindSubmissionSets.
    pub const FIND_SUBMISSION_SETS: &str = "urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9";
    /// ITI-18 FindFolders.
    pub const FIND_FOLDERS: &str = "urn:uuid:958f3006-baad-4929-a4de-ff1114824431";
    /// ITI-18 GetAll.
    pub const GET_ALL: &str = "urn:uuid:10b545ea-725c-446d-9b95-8aeb444eddf3";
    /// ITI-18 GetDocuments.
    pub const GET_DOCUMENTS: &str = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4";
    /// ITI-18 GetFolders.
    pub const GET_FOLDERS: &str = "urn:uuid:5737b14c-8a1a-4539-b659-e03a34a5e1e4";
    /// ITI-18 GetAssociations.
    pub const GET_ASSOCIATIONS: &str = "urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155";
    /// ITI-18 GetDocumentsAndAssociations.
    pub const GET_DOCUMENTS_AND_ASSOCIATIONS: &str =
        "urn:uuid:bab9529a-4a10-40b3-a01f-f68a615d247a";
    /// ITI-18 GetSubmissionSets.
    pub const GET_SUBMISSION_SETS: &str = "urn:uuid:51224314-5390-4169-9b91-b1980040715a";
    /// ITI-18 GetSubmissionSetAndContents.
    pub const GET_SUBMISSION_SET_AND_CONTENTS: &str =
        "urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83";
    /// ITI-18 GetFolderAndContents.
    pub const GET_FOLDER_AND_CONTENTS: &str = "urn:uuid:b909a503-523d-4517-8acf-8e5834dfc4c7";
    /// ITI-18 GetFoldersForDocument.
    pub const GET_FOLDERS_FOR_DOCUMENT: &str = "urn:uuid:10cae35a-c7f9-4cf5-b61e-fc3278ffb578";
    /// ITI-18 GetRelatedDocuments.
    pub const GET_RELATED_DOCUMENTS: &str = "urn:uuid:d90e5407-b356-4d91-a89f-873917b4b0e6";
    /// ITI-51 FindDocumentsForMultiplePatients.
    pub const FIND_DOCUMENTS_FOR_MULTIPLE_PATIENTS: &str =
        "urn:uuid:3d1bdb10-39a2-11de-89c2-2f44d94eaa9f";
    /// ITI-51 FindFoldersForMultiplePatients.
    pub const FIND_FOLDERS_FOR_MULTIPLE_PATIENTS: &str =
        "urn:uuid:50d3f5ac-39a2-11de-a1ca-b366239e58df";

    /// The 14 ITI-18 stored queries, in the order of ITI TF-2a 3.18.4.1.2.3.7.
    pub const ITI_18: [&str; 14] = [
        FIND_DOCUMENTS,
        FIND_DOCUMENTS_BY_REFERENCE_ID,
        FIND_SUBMISSION_SETS,
        FIND_FOLDERS,
        GET_ALL,
        GET_DOCUMENTS,
        GET_FOLDERS,
        GET_ASSOCIATIONS,
        GET_DOCUMENTS_AND_ASSOCIATIONS,
        GET_SUBMISSION_SETS,
        GET_SUBMISSION_SET_AND_CONTENTS,
        GET_FOLDER_AND_CONTENTS,
        GET_FOLDERS_FOR_DOCUMENT,
        GET_RELATED_DOCUMENTS,
    ];
}

/// `errorCode` values of `rs:RegistryError` (ITI TF-3 Table 4.2.4.1-2 and the Metadata Update,
/// XCA and Remove Metadata additions).
///
/// RAD-69 (RAD TF-3 4.69.4.2.3) defines no error code of its own for "none of the requested
/// transfer syntaxes can be supplied": it requires an error status with the ITI-43 codes, so an
/// Imaging Document Source reports [`XDS_REPOSITORY_ERROR`] with a codeContext naming the
/// transfer syntaxes (dcm4chee uses the DICOM WADO-WS code `urn:dicom:wado:0007` instead).
pub mod error_code {
    /// Metadata error detected by the Document Registry; codeContext says what is wrong, location names the object.
    pub const XDS_REGISTRY_METADATA_ERROR: &str = "XDSRegistryMetadataError";
    /// Metadata error detected by the Document Repository or Document Recipient (ITI-41).
    pub const XDS_REPOSITORY_METADATA_ERROR: &str = "XDSRepositoryMetadataError";
    /// Patient ids that must match (SubmissionSet, DocumentEntry, Folder, replaced document) do not; codeContext gives the id and the conflict.
    pub const XDS_PATIENT_ID_DOES_NOT_MATCH: &str = "XDSPatientIdDoesNotMatch";
    /// The patient id in the metadata is not known to the receiving actor (ITI-41/42, ITI-38); codeContext gives the id.
    pub const XDS_UNKNOWN_PATIENT_ID: &str = "XDSUnknownPatientId";
    /// A SubmissionSet or Folder uniqueId is already in the registry (never thrown for a DocumentEntry).
    pub const XDS_DUPLICATE_UNIQUE_ID_IN_REGISTRY: &str = "XDSDuplicateUniqueIdInRegistry";
    /// A DocumentEntry uniqueId is already registered with a different hash; codeContext gives the uniqueId.
    pub const XDS_NON_IDENTICAL_HASH: &str = "XDSNonIdenticalHash";
    /// A DocumentEntry uniqueId is already registered with a different size; codeContext gives the uniqueId.
    pub const XDS_NON_IDENTICAL_SIZE: &str = "XDSNonIdenticalSize";
    /// Deprecated: failure of a document replacement detected by the registry (now XDSRegistryMetadataError, ITI TF-2b 3.42.4.1.3.5).
    pub const XDS_REPLACE_FAILED: &str = "XDSReplaceFailed";
    /// An Association references a Deprecated document (ITI-42 RPLC/APND/XFRM on a non-Approved target).
    pub const XDS_REGISTRY_DEPRECATED_DOCUMENT_ERROR: &str = "XDSRegistryDeprecatedDocumentError";
    /// Internal registry error, only when no more specific code applies; codeContext carries the details.
    pub const XDS_REGISTRY_ERROR: &str = "XDSRegistryError";
    /// Internal repository error, only when no more specific code applies; codeContext carries the details.
    pub const XDS_REPOSITORY_ERROR: &str = "XDSRepositoryError";
    /// The repository could not reach the registry to forward ITI-42.
    pub const XDS_REGISTRY_NOT_AVAILABLE: &str = "XDSRegistryNotAvailable";
    /// The registry is too busy to process the request.
    pub const XDS_REGISTRY_BUSY: &str = "XDSRegistryBusy";
    /// The repository is too busy to process the request.
    pub const XDS_REPOSITORY_BUSY: &str = "XDSRepositoryBusy";
    /// The registry is running out of resources.
    pub const XDS_REGISTRY_OUT_OF_RESOURCES: &str = "XDSRegistryOutOfResources";
    /// The repository is running out of resources.
    pub const XDS_REPOSITORY_OUT_OF_RESOURCES: &str = "XDSRepositoryOutOfResources";
    /// ITI-41: a DocumentEntry has no attached document.
    pub const XDS_MISSING_DOCUMENT: &str = "XDSMissingDocument";
    /// ITI-41: an attached document (MIME part) has no DocumentEntry.
    pub const XDS_MISSING_DOCUMENT_METADATA: &str = "XDSMissingDocumentMetadata";
    /// ITI-43/RAD-69: the repositoryUniqueId is not this repository or cannot be resolved.
    pub const XDS_UNKNOWN_REPOSITORY_ID: &str = "XDSUnknownRepositoryId";
    /// ITI-43/RAD-69: the document with this uniqueId is not available (unknown, not authorized or gone).
    pub const XDS_DOCUMENT_UNIQUE_ID_ERROR: &str = "XDSDocumentUniqueIdError";
    /// ITI-18: a parameter that accepts a single value was given several.
    pub const XDS_STORED_QUERY_PARAM_NUMBER: &str = "XDSStoredQueryParamNumber";
    /// ITI-18: a required stored query parameter is missing.
    pub const XDS_STORED_QUERY_MISSING_PARAM: &str = "XDSStoredQueryMissingParam";
    /// ITI-18: the query would return too many results.
    pub const XDS_TOO_MANY_RESULTS: &str = "XDSTooManyResults";
    /// ITI-18: the stored query id is not recognized.
    pub const XDS_UNKNOWN_STORED_QUERY: &str = "XDSUnknownStoredQuery";
    /// A uniqueId is used more than once in the submission, detected by the registry; codeContext gives the uniqueId.
    pub const XDS_REGISTRY_DUPLICATE_UNIQUE_ID_IN_MESSAGE: &str =
        "XDSRegistryDuplicateUniqueIdInMessage";
    /// A uniqueId is used more than once in the submission, detected by the repository; codeContext gives the uniqueId.
    pub const XDS_REPOSITORY_DUPLICATE_UNIQUE_ID_IN_MESSAGE: &str =
        "XDSRepositoryDuplicateUniqueIdInMessage";
    /// ITI-18/ITI-43: a single request would return content of more than one patient.
    pub const XDS_RESULT_NOT_SINGLE_PATIENT: &str = "XDSResultNotSinglePatient";
    /// An entryUUID reference (Association source/target, ObjectRef) cannot be resolved.
    pub const UNRESOLVED_REFERENCE_EXCEPTION: &str = "UnresolvedReferenceException";
    /// ITI-57: the metadata update is not allowed or inconsistent.
    pub const XDS_METADATA_UPDATE_ERROR: &str = "XDSMetadataUpdateError";
    /// ITI-57: the PreviousVersion slot does not match the latest version in the registry.
    pub const XDS_METADATA_VERSION_ERROR: &str = "XDSMetadataVersionError";
    /// ITI-57: the requested update operation is not supported.
    pub const XDS_METADATA_UPDATE_OPERATION_ERROR: &str = "XDSMetadataUpdateOperationError";
    /// ITI-57/ITI-92: an update changes an identifier (uniqueId, repositoryUniqueId, ...) that must not change.
    pub const XDS_METADATA_IDENTIFIER_ERROR: &str = "XDSMetadataIdentifierError";
    /// ITI-57: the update changes the patient id without the Patient ID Reconciliation option.
    pub const XDS_PATIENT_ID_RECONCILIATION_ERROR: &str = "XDSPatientIDReconciliationError";
    /// XCA/MPQ: the homeCommunityId is not recognized.
    pub const XDS_UNKNOWN_COMMUNITY: &str = "XDSUnknownCommunity";
    /// XCA: a community that would have been contacted was not available.
    pub const XDS_UNAVAILABLE_COMMUNITY: &str = "XDSUnavailableCommunity";
    /// XCA/ITI-18: a homeCommunityId is required and was not given.
    pub const XDS_MISSING_HOME_COMMUNITY_ID: &str = "XDSMissingHomeCommunityId";
    /// Warning: extra metadata (unknown slots/classifications) was present but not saved.
    pub const XDS_EXTRA_METADATA_NOT_SAVED: &str = "XDSExtraMetadataNotSaved";
    /// ITI-62 Delete Document Set: the removal would leave an object without any Association referencing it.
    pub const XDS_UNREFERENCED_OBJECT_EXCEPTION: &str = "XDSUnreferencedObjectException";
    /// ITI-62 Delete Document Set: an object still referenced by an Association not being removed.
    pub const REFERENCES_EXIST_EXCEPTION: &str = "ReferencesExistException";
    /// Document cannot be supplied now. Listed in the project brief but not found in Table 4.2.4.1-2
    /// or the references searched: verify against the current ITI TF before emitting it.
    pub const XDS_UNAVAILABLE_DOCUMENT: &str = "XDSUnavailableDocument";
}

#[cfg(test)]
mod tests {
    use super::stored_query;

    #[test]
    fn iti_18_has_fourteen_distinct_stored_queries() {
        let mut ids = stored_query::ITI_18.to_vec();
        ids.push(stored_query::FIND_DOCUMENTS_FOR_MULTIPLE_PATIENTS);
        ids.push(stored_query::FIND_FOLDERS_FOR_MULTIPLE_PATIENTS);
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 16);
        assert!(
            ids.iter()
                .all(|id| id.starts_with("urn:uuid:") && id.len() == 45)
        );
    }
}
