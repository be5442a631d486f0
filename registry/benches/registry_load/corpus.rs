//! The benchmark corpus: deterministic patients, SubmissionSets, DocumentEntries and HasMember
//! Associations, as the storage rows ITI-42 would write (fragments without `status`, codes,
//! authors, referenceIdList values).
//!
//! Patient `p` has one SubmissionSet holding documents `0..docs_per_patient`. Every id is a
//! function of `(p, d)`, so the load generator can name a random patient or uniqueId without
//! reading the database. The same ebRIM objects, with ids of their own, make the ITI-42
//! requests of the registration scenario ([`registration_request`]).

use registry::storage::{
    AvailabilityStatus, DocumentEntryType, NewAssociation, NewAuthor, NewCode, NewObject,
    NewReferenceId, ObjectKind,
};
use schemas::constants::{
    association_type, classification_node, classification_scheme as scheme,
    identification_scheme as ident, object_type,
};
use schemas::ebrim::{
    Association, Classification, ExternalIdentifier, ExtrinsicObject, Identifiable,
    InternationalString, RegistryObject, RegistryObjectList, RegistryPackage, Slot,
    SubmitObjectsRequest,
};

/// Assigning authority of the benchmark's affinity domain (the registry's default).
pub const AFFINITY_DOMAIN: &str = "1.3.6.1.4.1.21367.2005.13.20.1000";
/// Repository holding every benchmark document.
const REPOSITORY: &str = "1.3.6.1.4.1.21367.2010.1.2.1125";
/// Author of every benchmark document and SubmissionSet.
const AUTHOR: &str = "^Welby^Marcus^^^Dr";
const AUTHOR_INSTITUTION: &str = "Hospital A^^^^^&1.2.3.4.5.6.7.8.9&ISO^^^^1.2.3.4.5.6.7.8.9";

/// Which kind of id a uuid names (its third group), so ids of different kinds never collide.
#[derive(Clone, Copy)]
enum IdKind {
    Document = 0,
    SubmissionSet = 1,
    HasMember = 2,
    Classification = 3,
    ExternalIdentifier = 4,
}

/// `urn:uuid:` id of object `(p, d)` of `kind`; `run` separates registrations of different runs.
fn uuid(kind: IdKind, p: u32, d: u32, sub: u32, run: u64) -> String {
    format!(
        "urn:uuid:{p:08x}-{d:04x}-4{kind:03x}-8{sub:03x}-{run:012x}",
        kind = kind as u16
    )
}

/// Affinity-domain patient id (CX) of corpus patient `p`.
pub fn patient_id(p: u32) -> String {
    format!("BENCH{p:06}^^^&{AFFINITY_DOMAIN}&ISO")
}

/// The uniqueIds of the benchmark's ITI-42 registrations (SubmissionSets `...1127.`,
/// DocumentEntries `...1128.`) sort in this range and no corpus uniqueId does, so the
/// registrations are found (and removed) through the uniqueId index.
pub const REGISTRATION_UNIQUE_IDS: (&str, &str) = (
    "1.2.826.0.1.3680043.10.1127.",
    "1.2.826.0.1.3680043.10.1129",
);

/// DocumentEntry uniqueId of document `d` of patient `p`.
pub fn document_unique_id(p: u32, d: u32) -> String {
    format!("1.2.826.0.1.3680043.10.1125.{p}.{d}")
}

fn submission_set_unique_id(p: u32) -> String {
    format!("1.2.826.0.1.3680043.10.1126.{p}")
}

/// The seven coded attributes of a DocumentEntry: scheme, code, codingScheme, display name.
fn document_codes(d: u32) -> [(&'static str, &'static str, &'static str, &'static str); 7] {
    let (modality, modality_name) = match d % 4 {
        0 => ("CT", "Computed Tomography"),
        1 => ("MR", "Magnetic Resonance"),
        2 => ("CR", "Computed Radiography"),
        _ => ("US", "Ultrasound"),
    };
    [
        (
            scheme::DOCUMENT_ENTRY_CLASS_CODE,
            "IMAGES",
            "1.3.6.1.4.1.19376.1.2.6.1",
            "Images",
        ),
        (
            scheme::DOCUMENT_ENTRY_CONFIDENTIALITY_CODE,
            "N",
            "2.16.840.1.113883.5.25",
            "Normal",
        ),
        (
            scheme::DOCUMENT_ENTRY_EVENT_CODE_LIST,
            modality,
            "1.2.840.10008.2.16.4",
            modality_name,
        ),
        (
            scheme::DOCUMENT_ENTRY_FORMAT_CODE,
            "1.2.840.10008.5.1.4.1.1.88.59",
            "1.2.840.10008.2.6.1",
            "Key Object Selection Document",
        ),
        (
            scheme::DOCUMENT_ENTRY_HEALTHCARE_FACILITY_TYPE_CODE,
            "22232009",
            "2.16.840.1.113883.6.96",
            "Hospital",
        ),
        (
            scheme::DOCUMENT_ENTRY_PRACTICE_SETTING_CODE,
            "394914008",
            "2.16.840.1.113883.6.96",
            "Radiology",
        ),
        (
            scheme::DOCUMENT_ENTRY_TYPE_CODE,
            "18748-4",
            "2.16.840.1.113883.6.1",
            "Diagnostic imaging study",
        ),
    ]
}

/// Identifies one document of the corpus (or of a registration run).
#[derive(Clone, Copy)]
pub struct DocumentKey {
    pub p: u32,
    pub d: u32,
    pub run: u64,
}

/// DTM of day `d` of the corpus (documents are a day apart), hour `hour`.
fn dtm(d: u32, hour: u32) -> String {
    let month = 1 + (d / 28) % 12;
    let day = 1 + d % 28;
    format!("2025{month:02}{day:02}{hour:02}0000")
}

/// Everything registered for one DocumentEntry: its row, codes, author, reference id.
pub struct DocumentRows {
    pub object: NewObject,
    pub codes: Vec<NewCode>,
    pub author: NewAuthor,
    pub reference_id: NewReferenceId,
}

/// The attribute values of document `key` that its storage row repeats.
struct DocumentValues {
    id: String,
    reference: String,
    hash: String,
    size: i64,
    creation: String,
    start: String,
    stop: String,
}

impl DocumentValues {
    fn of(key: DocumentKey) -> DocumentValues {
        let accession = format!("ACC{}-{}^^^&1.2.3.4.5.6.7.8.2&ISO", key.p, key.d);
        DocumentValues {
            id: uuid(IdKind::Document, key.p, key.d, 0, key.run),
            reference: format!("{accession}^urn:ihe:iti:xds:2013:accession"),
            hash: format!("{:040x}", u128::from(key.p) << 32 | u128::from(key.d)),
            size: 4096 + i64::from(key.d),
            creation: dtm(key.d, 9),
            start: dtm(key.d, 8),
            stop: dtm(key.d, 10),
        }
    }
}

/// The storage rows of one DocumentEntry of `patient`, member of SubmissionSet `submission_set`.
pub fn document(
    key: DocumentKey,
    patient: &str,
    unique_id: &str,
    submission_set: &str,
) -> DocumentRows {
    let DocumentValues {
        id,
        reference,
        hash,
        size,
        creation,
        start,
        stop,
    } = DocumentValues::of(key);
    let mut fragment = String::with_capacity(4096);
    Identifiable::ExtrinsicObject(document_entry(key, patient, unique_id)).write_xml(&mut fragment);

    let mut object =
        NewObject::first_version(ObjectKind::DocumentEntry, &id, patient, unique_id, fragment);
    object.object_type = Some(DocumentEntryType::Stable);
    object.mime_type = Some("application/dicom".to_owned());
    object.hash = Some(hash);
    object.size = Some(size);
    object.repository_unique_id = Some(REPOSITORY.to_owned());
    object.creation_time = Some(creation);
    object.service_start_time = Some(start);
    object.service_stop_time = Some(stop);
    object.submission_set = Some(submission_set.to_owned());
    DocumentRows {
        codes: document_codes(key.d)
            .iter()
            .map(|(code_scheme, code, coding_scheme, _)| NewCode {
                object_uuid: id.clone(),
                scheme: (*code_scheme).to_owned(),
                code: (*code).to_owned(),
                coding_scheme: (*coding_scheme).to_owned(),
            })
            .collect(),
        author: NewAuthor {
            object_uuid: id.clone(),
            author_person: AUTHOR.to_owned(),
        },
        reference_id: NewReferenceId {
            object_uuid: id,
            reference_id: reference,
        },
        object,
    }
}

/// DocumentEntry `key` of `patient` as ebRIM, the way a document source submits it.
fn document_entry(key: DocumentKey, patient: &str, unique_id: &str) -> ExtrinsicObject {
    let DocumentValues {
        id,
        reference,
        hash,
        size,
        creation,
        start,
        stop,
    } = DocumentValues::of(key);
    let source_patient = format!("SRC{}^^^&1.2.3.4.5.6.7.8.1&ISO", key.p);
    let codes = document_codes(key.d);

    let mut classifications = vec![Classification {
        object: RegistryObject {
            id: uuid(IdKind::Classification, key.p, key.d, 0, key.run),
            slots: vec![
                Slot::new("authorInstitution", [AUTHOR_INSTITUTION]),
                Slot::new("authorPerson", [AUTHOR]),
            ],
            ..RegistryObject::default()
        },
        classification_scheme: Some(scheme::DOCUMENT_ENTRY_AUTHOR.to_owned()),
        classified_object: id.clone(),
        classification_node: None,
        node_representation: Some(String::new()),
    }];
    for (n, (code_scheme, code, coding_scheme, display)) in (1u32..).zip(codes) {
        classifications.push(Classification {
            object: RegistryObject {
                id: uuid(IdKind::Classification, key.p, key.d, n, key.run),
                slots: vec![Slot::new("codingScheme", [coding_scheme])],
                name: Some(InternationalString::plain(display)),
                ..RegistryObject::default()
            },
            classification_scheme: Some(code_scheme.to_owned()),
            classified_object: id.clone(),
            classification_node: None,
            node_representation: Some(code.to_owned()),
        });
    }
    let external_identifiers = vec![
        external_identifier(
            uuid(IdKind::ExternalIdentifier, key.p, key.d, 0, key.run),
            &id,
            ident::DOCUMENT_ENTRY_PATIENT_ID,
            patient,
            "XDSDocumentEntry.patientId",
        ),
        external_identifier(
            uuid(IdKind::ExternalIdentifier, key.p, key.d, 1, key.run),
            &id,
            ident::DOCUMENT_ENTRY_UNIQUE_ID,
            unique_id,
            "XDSDocumentEntry.uniqueId",
        ),
    ];
    ExtrinsicObject {
        object: RegistryObject {
            id: id.clone(),
            object_type: Some(object_type::STABLE_DOCUMENT_ENTRY.to_owned()),
            slots: vec![
                Slot::new("creationTime", [creation.as_str()]),
                Slot::new("hash", [hash.as_str()]),
                Slot::new("size", [size.to_string()]),
                Slot::new("languageCode", ["en-US"]),
                Slot::new("repositoryUniqueId", [REPOSITORY]),
                Slot::new("serviceStartTime", [start.as_str()]),
                Slot::new("serviceStopTime", [stop.as_str()]),
                Slot::new("sourcePatientId", [source_patient.as_str()]),
                Slot::new(
                    "sourcePatientInfo",
                    [
                        format!("PID-3|{source_patient}"),
                        "PID-5|DOE^JANE^^^".to_owned(),
                        "PID-7|19700101".to_owned(),
                        "PID-8|F".to_owned(),
                    ],
                ),
                Slot::new("urn:ihe:iti:xds:2013:referenceIdList", [reference.as_str()]),
            ],
            name: Some(InternationalString::plain("CT CHEST WITH CONTRAST")),
            classifications,
            external_identifiers,
            ..RegistryObject::default()
        },
        mime_type: Some("application/dicom".to_owned()),
        ..ExtrinsicObject::default()
    }
}

fn external_identifier(
    id: String,
    owner: &str,
    identification_scheme: &str,
    value: &str,
    name: &str,
) -> ExternalIdentifier {
    ExternalIdentifier {
        object: RegistryObject {
            id,
            name: Some(InternationalString::plain(name)),
            ..RegistryObject::default()
        },
        registry_object: owner.to_owned(),
        identification_scheme: identification_scheme.to_owned(),
        value: value.to_owned(),
    }
}

/// entryUUID of the SubmissionSet of patient `p` (or of registration `p` of run `run`).
pub fn submission_set_uuid(p: u32, run: u64) -> String {
    uuid(IdKind::SubmissionSet, p, 0, 0, run)
}

/// The SubmissionSet row of patient `p` and its contentTypeCode and author rows.
pub fn submission_set(
    p: u32,
    run: u64,
    patient: &str,
    unique_id: &str,
) -> (NewObject, NewCode, NewAuthor) {
    let id = submission_set_uuid(p, run);
    let mut fragment = String::with_capacity(2048);
    Identifiable::RegistryPackage(submission_set_package(p, run, patient, unique_id))
        .write_xml(&mut fragment);
    let mut object =
        NewObject::first_version(ObjectKind::SubmissionSet, &id, patient, unique_id, fragment);
    object.submission_time = Some(dtm(0, 12));
    object.source_id = Some(SOURCE_ID.to_owned());
    object.submission_set = Some(id.clone());
    let code = NewCode {
        object_uuid: id.clone(),
        scheme: scheme::SUBMISSION_SET_CONTENT_TYPE_CODE.to_owned(),
        code: CONTENT_TYPE_CODE.0.to_owned(),
        coding_scheme: CONTENT_TYPE_CODE.1.to_owned(),
    };
    let author = NewAuthor {
        object_uuid: id,
        author_person: AUTHOR.to_owned(),
    };
    (object, code, author)
}

/// sourceId of every benchmark SubmissionSet.
const SOURCE_ID: &str = "1.2.3.4.5.6.7.8.9";
/// contentTypeCode of every benchmark SubmissionSet: code and codingScheme.
const CONTENT_TYPE_CODE: (&str, &str) = ("18748-4", "2.16.840.1.113883.6.1");

/// SubmissionSet `p` of run `run` as ebRIM, the way a document source submits it.
fn submission_set_package(p: u32, run: u64, patient: &str, unique_id: &str) -> RegistryPackage {
    let id = submission_set_uuid(p, run);
    let submission_time = dtm(0, 12);
    RegistryPackage {
        object: RegistryObject {
            id: id.clone(),
            slots: vec![Slot::new("submissionTime", [submission_time.as_str()])],
            name: Some(InternationalString::plain("Imaging manifest")),
            classifications: vec![
                Classification {
                    object: RegistryObject {
                        id: uuid(IdKind::Classification, p, 0xffff, 0, run),
                        slots: vec![Slot::new("authorPerson", [AUTHOR])],
                        ..RegistryObject::default()
                    },
                    classification_scheme: Some(scheme::SUBMISSION_SET_AUTHOR.to_owned()),
                    classified_object: id.clone(),
                    classification_node: None,
                    node_representation: Some(String::new()),
                },
                Classification {
                    object: RegistryObject {
                        id: uuid(IdKind::Classification, p, 0xffff, 2, run),
                        slots: vec![Slot::new("codingScheme", [CONTENT_TYPE_CODE.1])],
                        name: Some(InternationalString::plain("Diagnostic imaging study")),
                        ..RegistryObject::default()
                    },
                    classification_scheme: Some(
                        scheme::SUBMISSION_SET_CONTENT_TYPE_CODE.to_owned(),
                    ),
                    classified_object: id.clone(),
                    classification_node: None,
                    node_representation: Some(CONTENT_TYPE_CODE.0.to_owned()),
                },
                Classification {
                    object: RegistryObject {
                        id: uuid(IdKind::Classification, p, 0xffff, 1, run),
                        ..RegistryObject::default()
                    },
                    classification_scheme: None,
                    classified_object: id.clone(),
                    classification_node: Some(classification_node::SUBMISSION_SET.to_owned()),
                    node_representation: None,
                },
            ],
            external_identifiers: vec![
                external_identifier(
                    uuid(IdKind::ExternalIdentifier, p, 0xffff, 0, run),
                    &id,
                    ident::SUBMISSION_SET_UNIQUE_ID,
                    unique_id,
                    "XDSSubmissionSet.uniqueId",
                ),
                external_identifier(
                    uuid(IdKind::ExternalIdentifier, p, 0xffff, 1, run),
                    &id,
                    ident::SUBMISSION_SET_PATIENT_ID,
                    patient,
                    "XDSSubmissionSet.patientId",
                ),
                external_identifier(
                    uuid(IdKind::ExternalIdentifier, p, 0xffff, 2, run),
                    &id,
                    ident::SUBMISSION_SET_SOURCE_ID,
                    SOURCE_ID,
                    "XDSSubmissionSet.sourceId",
                ),
            ],
            ..RegistryObject::default()
        },
        members: None,
    }
}

/// The HasMember Association from SubmissionSet `submission_set` to document `key`.
pub fn has_member(key: DocumentKey, submission_set: &str, document: &str) -> NewAssociation {
    let association = has_member_association(key, submission_set, document);
    let mut fragment = String::with_capacity(512);
    let id = association.object.id.clone();
    Identifiable::Association(association).write_xml(&mut fragment);
    NewAssociation {
        entry_uuid: id,
        association_type: association_type::HAS_MEMBER.to_owned(),
        source_uuid: submission_set.to_owned(),
        target_uuid: document.to_owned(),
        status: AvailabilityStatus::Approved,
        submission_set_status: Some("Original".to_owned()),
        submission_set: Some(submission_set.to_owned()),
        fragment,
    }
}

/// The HasMember Association of document `key` as ebRIM (SubmissionSetStatus Original).
fn has_member_association(key: DocumentKey, submission_set: &str, document: &str) -> Association {
    Association {
        object: RegistryObject {
            id: uuid(IdKind::HasMember, key.p, key.d, 0, key.run),
            slots: vec![Slot::new("SubmissionSetStatus", ["Original"])],
            ..RegistryObject::default()
        },
        association_type: association_type::HAS_MEMBER.to_owned(),
        source_object: submission_set.to_owned(),
        target_object: document.to_owned(),
    }
}

/// Corpus document `d` of patient `p`, with its HasMember Association.
pub fn corpus_document(p: u32, d: u32) -> (DocumentRows, NewAssociation) {
    let key = DocumentKey { p, d, run: 0 };
    let set = submission_set_uuid(p, 0);
    let rows = document(key, &patient_id(p), &document_unique_id(p, d), &set);
    let association = has_member(key, &set, &rows.object.entry_uuid);
    (rows, association)
}

/// Corpus SubmissionSet of patient `p`.
pub fn corpus_submission_set(p: u32) -> (NewObject, NewCode, NewAuthor) {
    submission_set(p, 0, &patient_id(p), &submission_set_unique_id(p))
}

/// One single-document ITI-42 Register Document Set-b request (SubmissionSet, DocumentEntry,
/// HasMember) as a document source sends it: number `n` of run `run` (the run keeps uniqueIds
/// and entryUUIDs apart from earlier runs'), a new document of corpus patient `n % patients`,
/// known to the registry as the identity feed announced it.
pub fn registration_request(n: u32, run: u64, patients: u32) -> SubmitObjectsRequest {
    let patient = patient_id(n % patients.max(1));
    let key = DocumentKey { p: n, d: 0, run };
    let set = submission_set_package(
        n,
        run,
        &patient,
        &format!("1.2.826.0.1.3680043.10.1127.{run}.{n}"),
    );
    let entry = document_entry(
        key,
        &patient,
        &format!("1.2.826.0.1.3680043.10.1128.{run}.{n}"),
    );
    let association = has_member_association(key, &set.object.id, &entry.object.id);
    SubmitObjectsRequest {
        id: None,
        comment: None,
        request_slots: Vec::new(),
        objects: RegistryObjectList {
            objects: vec![
                Identifiable::RegistryPackage(set),
                Identifiable::ExtrinsicObject(entry),
                Identifiable::Association(association),
            ],
        },
    }
}
