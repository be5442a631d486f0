-- XDS Document Registry storage (ITI-42 register, ITI-18 query, ITI-57 update, ITI-62 delete).

-- Patient identity feed (ITI-8 / ITI-44): affinity-domain patient ids known to the registry.
CREATE TABLE patients (
    patient_id TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL,
    merged_into TEXT,
    updated_at BIGINT NOT NULL
);

-- DocumentEntries, SubmissionSets and Folders. `fragment` is the complete LeafClass XML element.
CREATE TABLE registry_objects (
    entry_uuid TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    logical_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    patient_id TEXT NOT NULL,
    unique_id TEXT NOT NULL,
    home_community_id TEXT,
    object_type TEXT,
    mime_type TEXT,
    hash TEXT,
    size BIGINT,
    repository_unique_id TEXT,
    creation_time TEXT,
    service_start_time TEXT,
    service_stop_time TEXT,
    submission_time TEXT,
    last_update_time TEXT,
    source_id TEXT,
    submission_set TEXT,
    fragment TEXT NOT NULL
);

-- A uniqueId names one logical object; its versions (ITI-57) share it, each version once.
CREATE UNIQUE INDEX registry_objects_unique_id_version ON registry_objects (unique_id, version);
-- FindDocuments / FindSubmissionSets / FindFolders / GetAll start from the patient.
CREATE INDEX registry_objects_patient_kind_status ON registry_objects (patient_id, kind, status);
CREATE INDEX registry_objects_logical_id ON registry_objects (logical_id);

-- Classification codes (classCode, typeCode, eventCodeList, formatCode, folder codeList, ...).
CREATE TABLE object_codes (
    object_uuid TEXT NOT NULL REFERENCES registry_objects (entry_uuid) ON DELETE CASCADE,
    scheme TEXT NOT NULL,
    code TEXT NOT NULL,
    coding_scheme TEXT NOT NULL,
    PRIMARY KEY (object_uuid, scheme, code, coding_scheme)
);
CREATE INDEX object_codes_scheme_code ON object_codes (scheme, code, coding_scheme, object_uuid);

-- authorPerson values of DocumentEntries and SubmissionSets.
CREATE TABLE object_authors (
    object_uuid TEXT NOT NULL REFERENCES registry_objects (entry_uuid) ON DELETE CASCADE,
    author_person TEXT NOT NULL,
    PRIMARY KEY (object_uuid, author_person)
);

-- referenceIdList values of DocumentEntries.
CREATE TABLE object_reference_ids (
    object_uuid TEXT NOT NULL REFERENCES registry_objects (entry_uuid) ON DELETE CASCADE,
    reference_id TEXT NOT NULL,
    PRIMARY KEY (object_uuid, reference_id)
);
CREATE INDEX object_reference_ids_value ON object_reference_ids (reference_id, object_uuid);

-- ebRIM Associations (HasMember, RPLC, XFRM, APND, XFRM_RPLC, signs, ...).
CREATE TABLE associations (
    entry_uuid TEXT PRIMARY KEY NOT NULL,
    association_type TEXT NOT NULL,
    source_uuid TEXT NOT NULL,
    target_uuid TEXT NOT NULL,
    status TEXT NOT NULL,
    submission_set_status TEXT,
    submission_set TEXT,
    fragment TEXT NOT NULL
);
CREATE INDEX associations_source ON associations (source_uuid);
CREATE INDEX associations_target ON associations (target_uuid);
