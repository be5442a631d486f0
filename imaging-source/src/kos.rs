//! RAD-68 imaging manifest: a DICOM Key Object Selection Document (IHE RAD TF-3 4.68.4.1.2.1,
//! DICOM PS3.3 A.35.4) that references every instance of a study, written as a Part-10 file.

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileDicomObject, FileMetaTableBuilder, InMemDicomObject};

use crate::study::{CodedEntry, Study, is_valid_uid};

/// SOP Class UID of the Key Object Selection Document (the manifest, and its formatCode).
pub const KOS_SOP_CLASS_UID: &str = uids::KEY_OBJECT_SELECTION_DOCUMENT_STORAGE;
/// Transfer syntax the manifest is written in (Explicit VR Little Endian).
pub const MANIFEST_TRANSFER_SYNTAX: &str = uids::EXPLICIT_VR_LITTLE_ENDIAN;
/// Implementation Class UID written in the manifest's file meta group.
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.204170617347624389468203367547146355201";

/// The patient of the XDS affinity domain the manifest is filed under (ITI: CX `id^^^&oid&ISO`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AffinityPatient {
    /// Patient identifier in the affinity domain.
    pub id: String,
    /// Assigning authority of the affinity domain (ISO OID).
    pub assigning_authority: String,
}

impl AffinityPatient {
    /// Reads an XDS patient id `id^^^&oid&ISO`.
    pub fn parse_cx(value: &str) -> Result<Self, schemas::hl7v2::Hl7TypeError> {
        let cx = schemas::hl7v2::Cx::parse_patient_id(value)?;
        Ok(AffinityPatient {
            id: cx.id,
            assigning_authority: cx.assigning_authority.universal_id,
        })
    }

    /// The XDS patient id `id^^^&oid&ISO`.
    pub fn to_cx(&self) -> String {
        schemas::hl7v2::Cx::patient_id(&self.id, &self.assigning_authority).to_string()
    }
}

/// What the manifest needs besides the study.
#[derive(Debug, Clone)]
pub struct ManifestOptions {
    /// The affinity-domain patient (KOS Patient ID; the local id goes to Other Patient IDs).
    pub affinity_patient: AffinityPatient,
    /// Retrieve AE Title (0008,0054) of every referenced series.
    pub retrieve_ae_title: String,
    /// Retrieve Location UID (0040,E011): the Imaging Document Source's repositoryUniqueId,
    /// which the Imaging Document Consumer puts in its RAD-69 request.
    pub retrieve_location_uid: String,
    /// WADO-RS root; when set, Retrieve URL (0008,1190) = `{root}/studies/{S}/series/{SE}` per
    /// series (an extension of the KOS IOD, as in MADO).
    pub retrieve_url: Option<String>,
    /// SOP Instance UID of the manifest (the DocumentEntry uniqueId).
    pub sop_instance_uid: String,
    /// Series Instance UID of the manifest's KO series.
    pub series_instance_uid: String,
    /// When the manifest is created (its Instance Creation and Content Date/Time).
    pub created: time::OffsetDateTime,
}

/// A manifest that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum KosError {
    /// A study without any instance has nothing to reference.
    #[error("study {study_uid} has no instance to reference")]
    EmptyStudy { study_uid: String },
    /// A UID given to the builder is not a valid DICOM UID.
    #[error("{what} {value:?} is not a valid DICOM UID")]
    InvalidUid { what: &'static str, value: String },
    /// The file meta group could not be built.
    #[error("cannot build the manifest's file meta group: {0}")]
    Meta(String),
    /// The Part-10 encoding failed.
    #[error("cannot encode the manifest: {0}")]
    Encode(String),
}

/// Document Title (113030, DCM, "Manifest").
const TITLE: (&str, &str, &str) = ("113030", "DCM", "Manifest");
/// Key Object Description (113012, DCM).
const DESCRIPTION: (&str, &str, &str) = ("113012", "DCM", "Key Object Description");

/// RAD-68 builds the KOS manifest of `study`.
pub fn build_manifest(
    study: &Study,
    options: &ManifestOptions,
) -> Result<FileDicomObject<InMemDicomObject>, KosError> {
    if study.instance_count() == 0 {
        return Err(KosError::EmptyStudy {
            study_uid: study.study_instance_uid.clone(),
        });
    }
    for (what, value) in [
        ("manifest SOP Instance UID", &options.sop_instance_uid),
        ("manifest Series Instance UID", &options.series_instance_uid),
        ("Retrieve Location UID", &options.retrieve_location_uid),
        ("Study Instance UID", &study.study_instance_uid),
    ] {
        if !is_valid_uid(value) {
            return Err(KosError::InvalidUid {
                what,
                value: value.clone(),
            });
        }
    }
    let clock = ManifestClock::new(study, options.created);
    let mut obj = InMemDicomObject::new_empty();
    // SOP Common
    obj.put(str_element(
        tags::SPECIFIC_CHARACTER_SET,
        VR::CS,
        "ISO_IR 192",
    ));
    obj.put(str_element(tags::SOP_CLASS_UID, VR::UI, KOS_SOP_CLASS_UID));
    obj.put(str_element(
        tags::SOP_INSTANCE_UID,
        VR::UI,
        &options.sop_instance_uid,
    ));
    obj.put(str_element(
        tags::INSTANCE_CREATION_DATE,
        VR::DA,
        &clock.date,
    ));
    obj.put(str_element(
        tags::INSTANCE_CREATION_TIME,
        VR::TM,
        &clock.time,
    ));
    if let Some(offset) = &clock.offset {
        obj.put(str_element(tags::TIMEZONE_OFFSET_FROM_UTC, VR::SH, offset));
    }
    put_patient(&mut obj, study, &options.affinity_patient);
    // General Study
    obj.put(str_element(
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        &study.study_instance_uid,
    ));
    obj.put(opt_element(tags::STUDY_DATE, VR::DA, &study.study_date));
    obj.put(opt_element(tags::STUDY_TIME, VR::TM, &study.study_time));
    obj.put(opt_element(
        tags::REFERRING_PHYSICIAN_NAME,
        VR::PN,
        &study.referring_physician,
    ));
    obj.put(opt_element(tags::STUDY_ID, VR::SH, &study.study_id));
    obj.put(opt_element(
        tags::ACCESSION_NUMBER,
        VR::SH,
        &study.accession_number,
    ));
    if let Some(issuer) = &study.accession_issuer {
        obj.put(sequence(
            tags::ISSUER_OF_ACCESSION_NUMBER_SEQUENCE,
            vec![issuer_item(issuer)],
        ));
    }
    obj.put(opt_element(
        tags::STUDY_DESCRIPTION,
        VR::LO,
        &study.description,
    ));
    if !study.procedure_codes.is_empty() {
        obj.put(sequence(
            tags::PROCEDURE_CODE_SEQUENCE,
            study.procedure_codes.iter().map(code_item).collect(),
        ));
    }
    // Key Object Document Series
    obj.put(str_element(tags::MODALITY, VR::CS, "KO"));
    obj.put(str_element(
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        &options.series_instance_uid,
    ));
    obj.put(str_element(tags::SERIES_NUMBER, VR::IS, "9999"));
    obj.put(sequence(
        tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE,
        Vec::new(),
    ));
    // General Equipment
    obj.put(opt_element(
        tags::INSTITUTION_NAME,
        VR::LO,
        &study.institution_name,
    ));
    obj.put(str_element(tags::MANUFACTURER, VR::LO, "hie"));
    // Key Object Document
    obj.put(str_element(tags::INSTANCE_NUMBER, VR::IS, "1"));
    obj.put(str_element(tags::CONTENT_DATE, VR::DA, &clock.date));
    obj.put(str_element(tags::CONTENT_TIME, VR::TM, &clock.time));
    obj.put(sequence(
        tags::REFERENCED_REQUEST_SEQUENCE,
        vec![referenced_request(study)],
    ));
    obj.put(sequence(
        tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
        vec![evidence(study, options)],
    ));
    // SR Document Content (TID 2010)
    obj.put(str_element(tags::VALUE_TYPE, VR::CS, "CONTAINER"));
    obj.put(code_sequence(tags::CONCEPT_NAME_CODE_SEQUENCE, TITLE));
    obj.put(str_element(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE"));
    obj.put(sequence(
        tags::CONTENT_TEMPLATE_SEQUENCE,
        vec![InMemDicomObject::from_element_iter([
            str_element(tags::MAPPING_RESOURCE, VR::CS, "DCMR"),
            str_element(tags::TEMPLATE_IDENTIFIER, VR::CS, "2010"),
        ])],
    ));
    obj.put(sequence(tags::CONTENT_SEQUENCE, content_items(study)));
    obj.with_meta(
        FileMetaTableBuilder::new()
            .transfer_syntax(MANIFEST_TRANSFER_SYNTAX)
            .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
            .implementation_version_name("HIE_KOS_1"),
    )
    .map_err(|e| KosError::Meta(e.to_string()))
}

/// The manifest as Part-10 bytes (preamble, file meta group, data set).
pub fn to_part10(manifest: &FileDicomObject<InMemDicomObject>) -> Result<Vec<u8>, KosError> {
    let mut out = Vec::new();
    manifest
        .write_all(&mut out)
        .map_err(|e| KosError::Encode(e.to_string()))?;
    Ok(out)
}

fn put_patient(obj: &mut InMemDicomObject, study: &Study, patient: &AffinityPatient) {
    let local = &study.patient;
    obj.put(opt_element(tags::PATIENT_NAME, VR::PN, &local.name));
    obj.put(str_element(tags::PATIENT_ID, VR::LO, &patient.id));
    obj.put(str_element(
        tags::ISSUER_OF_PATIENT_ID,
        VR::LO,
        &patient.assigning_authority,
    ));
    obj.put(sequence(
        tags::ISSUER_OF_PATIENT_ID_QUALIFIERS_SEQUENCE,
        vec![InMemDicomObject::from_element_iter([
            str_element(
                tags::UNIVERSAL_ENTITY_ID,
                VR::UT,
                &patient.assigning_authority,
            ),
            str_element(tags::UNIVERSAL_ENTITY_ID_TYPE, VR::CS, "ISO"),
        ])],
    ));
    obj.put(opt_element(
        tags::PATIENT_BIRTH_DATE,
        VR::DA,
        &local.birth_date,
    ));
    obj.put(opt_element(tags::PATIENT_SEX, VR::CS, &local.sex));
    if !local.id.is_empty() {
        let mut other = vec![
            str_element(tags::PATIENT_ID, VR::LO, &local.id),
            str_element(tags::TYPE_OF_PATIENT_ID, VR::CS, "TEXT"),
        ];
        if let Some(issuer) = &local.issuer {
            other.push(str_element(tags::ISSUER_OF_PATIENT_ID, VR::LO, issuer));
        }
        obj.put(sequence(
            tags::OTHER_PATIENT_I_DS_SEQUENCE,
            vec![InMemDicomObject::from_element_iter(other)],
        ));
    }
}

/// Referenced Request Sequence item (PS3.3 Table C.17-3c): the study, its accession number and
/// the accession number's issuer.
fn referenced_request(study: &Study) -> InMemDicomObject {
    let mut item = InMemDicomObject::from_element_iter([
        str_element(tags::STUDY_INSTANCE_UID, VR::UI, &study.study_instance_uid),
        sequence(tags::REFERENCED_STUDY_SEQUENCE, Vec::new()),
        opt_element(tags::ACCESSION_NUMBER, VR::SH, &study.accession_number),
        str_element(
            tags::PLACER_ORDER_NUMBER_IMAGING_SERVICE_REQUEST,
            VR::LO,
            "",
        ),
        str_element(
            tags::FILLER_ORDER_NUMBER_IMAGING_SERVICE_REQUEST,
            VR::LO,
            "",
        ),
        str_element(tags::REQUESTED_PROCEDURE_ID, VR::SH, ""),
        opt_element(
            tags::REQUESTED_PROCEDURE_DESCRIPTION,
            VR::LO,
            &study.description,
        ),
        // Zero or one item (PS3.3 Table C.17-2): the study's first procedure code.
        sequence(
            tags::REQUESTED_PROCEDURE_CODE_SEQUENCE,
            study
                .procedure_codes
                .iter()
                .take(1)
                .map(code_item)
                .collect(),
        ),
    ]);
    if let Some(issuer) = &study.accession_issuer {
        item.put(sequence(
            tags::ISSUER_OF_ACCESSION_NUMBER_SEQUENCE,
            vec![issuer_item(issuer)],
        ));
    }
    item
}

/// Current Requested Procedure Evidence Sequence item: the study, every series with its retrieve
/// location, every instance.
fn evidence(study: &Study, options: &ManifestOptions) -> InMemDicomObject {
    let series_items = study
        .series
        .iter()
        .filter(|s| !s.instances.is_empty())
        .map(|series| {
            let mut item = InMemDicomObject::from_element_iter([
                str_element(tags::RETRIEVE_AE_TITLE, VR::AE, &options.retrieve_ae_title),
                str_element(
                    tags::SERIES_INSTANCE_UID,
                    VR::UI,
                    &series.series_instance_uid,
                ),
                str_element(
                    tags::RETRIEVE_LOCATION_UID,
                    VR::UI,
                    &options.retrieve_location_uid,
                ),
                sequence(
                    tags::REFERENCED_SOP_SEQUENCE,
                    series
                        .instances
                        .iter()
                        .map(|i| sop_reference(&i.sop_class_uid, &i.sop_instance_uid))
                        .collect(),
                ),
            ]);
            if let Some(root) = &options.retrieve_url {
                item.put(str_element(
                    tags::RETRIEVE_URL,
                    VR::UR,
                    &format!(
                        "{}/studies/{}/series/{}",
                        root.trim_end_matches('/'),
                        study.study_instance_uid,
                        series.series_instance_uid
                    ),
                ));
            }
            item
        })
        .collect();
    InMemDicomObject::from_element_iter([
        sequence(tags::REFERENCED_SERIES_SEQUENCE, series_items),
        str_element(tags::STUDY_INSTANCE_UID, VR::UI, &study.study_instance_uid),
    ])
}

/// Content Sequence: the optional Key Object Description, then one CONTAINS item per instance.
fn content_items(study: &Study) -> Vec<InMemDicomObject> {
    let mut items = Vec::with_capacity(study.instance_count() + 1);
    if let Some(description) = &study.description {
        items.push(InMemDicomObject::from_element_iter([
            str_element(tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS"),
            str_element(tags::VALUE_TYPE, VR::CS, "TEXT"),
            code_sequence(tags::CONCEPT_NAME_CODE_SEQUENCE, DESCRIPTION),
            str_element(tags::TEXT_VALUE, VR::UT, description),
        ]));
    }
    for instance in study.series.iter().flat_map(|s| &s.instances) {
        items.push(InMemDicomObject::from_element_iter([
            str_element(tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS"),
            str_element(
                tags::VALUE_TYPE,
                VR::CS,
                content_value_type(&instance.sop_class_uid),
            ),
            sequence(
                tags::REFERENCED_SOP_SEQUENCE,
                vec![sop_reference(
                    &instance.sop_class_uid,
                    &instance.sop_instance_uid,
                )],
            ),
        ]));
    }
    items
}

/// The SR value type referencing an instance of this SOP class: IMAGE for image storage,
/// WAVEFORM for waveforms, COMPOSITE otherwise (PS3.3 C.17.3.2.1).
pub fn content_value_type(sop_class_uid: &str) -> &'static str {
    const IMAGE_ROOTS: &[&str] = &[
        "1.2.840.10008.5.1.4.1.1.1",     // CR, DX, MG, intra-oral
        "1.2.840.10008.5.1.4.1.1.2",     // CT, enhanced CT
        "1.2.840.10008.5.1.4.1.1.3.1",   // US multi-frame
        "1.2.840.10008.5.1.4.1.1.4",     // MR, enhanced MR
        "1.2.840.10008.5.1.4.1.1.6",     // US
        "1.2.840.10008.5.1.4.1.1.7",     // secondary capture
        "1.2.840.10008.5.1.4.1.1.12",    // XA, RF
        "1.2.840.10008.5.1.4.1.1.13",    // tomosynthesis, breast projection
        "1.2.840.10008.5.1.4.1.1.14",    // IVOCT
        "1.2.840.10008.5.1.4.1.1.20",    // NM
        "1.2.840.10008.5.1.4.1.1.30",    // parametric map
        "1.2.840.10008.5.1.4.1.1.77.1",  // VL
        "1.2.840.10008.5.1.4.1.1.128",   // PET, enhanced PET
        "1.2.840.10008.5.1.4.1.1.130",   // enhanced PET
        "1.2.840.10008.5.1.4.1.1.481.1", // RT image
    ];
    let is_under = |root: &str| {
        sop_class_uid == root
            || sop_class_uid
                .strip_prefix(root)
                .is_some_and(|rest| rest.starts_with('.'))
    };
    if sop_class_uid.starts_with("1.2.840.10008.5.1.4.1.1.9.") {
        "WAVEFORM"
    } else if IMAGE_ROOTS.iter().any(|root| is_under(root)) {
        "IMAGE"
    } else {
        "COMPOSITE"
    }
}

fn sop_reference(class_uid: &str, instance_uid: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        str_element(tags::REFERENCED_SOP_CLASS_UID, VR::UI, class_uid),
        str_element(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, instance_uid),
    ])
}

fn issuer_item(oid: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        str_element(tags::UNIVERSAL_ENTITY_ID, VR::UT, oid),
        str_element(tags::UNIVERSAL_ENTITY_ID_TYPE, VR::CS, "ISO"),
    ])
}

fn code_sequence(
    tag: Tag,
    (value, scheme, meaning): (&str, &str, &str),
) -> DataElement<InMemDicomObject> {
    sequence(tag, vec![coded(value, scheme, meaning)])
}

/// A Code Sequence item; a value longer than 16 characters goes in Long Code Value.
fn coded(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
    let value = if value.chars().count() > 16 {
        str_element(tags::LONG_CODE_VALUE, VR::UC, value)
    } else {
        str_element(tags::CODE_VALUE, VR::SH, value)
    };
    InMemDicomObject::from_element_iter([
        value,
        str_element(tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme),
        str_element(tags::CODE_MEANING, VR::LO, meaning),
    ])
}

fn str_element(tag: Tag, vr: VR, value: &str) -> DataElement<InMemDicomObject> {
    if value.is_empty() {
        DataElement::new(tag, vr, PrimitiveValue::Empty)
    } else {
        DataElement::new(tag, vr, PrimitiveValue::from(value))
    }
}

/// A Type 2 element: present, empty when the value is unknown.
fn opt_element(tag: Tag, vr: VR, value: &Option<String>) -> DataElement<InMemDicomObject> {
    str_element(tag, vr, value.as_deref().unwrap_or(""))
}

fn sequence(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

/// The manifest's own dates and times (instance creation, content) and the zone they are in. A
/// study with a valid Timezone Offset From UTC has the manifest written in that zone, with that
/// offset, so the study and content times copied side by side read in one zone; without one the
/// study's times are local times of no stated zone, and so are the manifest's (the host's zone),
/// with no offset written.
struct ManifestClock {
    date: String,
    time: String,
    offset: Option<String>,
}

impl ManifestClock {
    fn new(study: &Study, created: time::OffsetDateTime) -> Self {
        let utc = chrono::DateTime::<chrono::Utc>::from_timestamp(created.unix_timestamp(), 0)
            .unwrap_or_default();
        let (local, offset) = match study.timezone() {
            Some(zone) => (utc.with_timezone(&zone).naive_local(), Some(zone)),
            None => (utc.with_timezone(&chrono::Local).naive_local(), None),
        };
        ManifestClock {
            date: local.format("%Y%m%d").to_string(),
            time: local.format("%H%M%S").to_string(),
            offset: offset.map(|zone| {
                let seconds = zone.local_minus_utc();
                let sign = if seconds < 0 { '-' } else { '+' };
                let minutes = seconds.unsigned_abs() / 60;
                format!("{sign}{:02}{:02}", minutes / 60, minutes % 60)
            }),
        }
    }
}

fn code_item(code: &CodedEntry) -> InMemDicomObject {
    coded(&code.value, &code.scheme, &code.meaning)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_type_is_image_for_image_storage_classes() {
        assert_eq!(content_value_type("1.2.840.10008.5.1.4.1.1.2"), "IMAGE");
        assert_eq!(content_value_type("1.2.840.10008.5.1.4.1.1.1.1"), "IMAGE");
        assert_eq!(
            content_value_type("1.2.840.10008.5.1.4.1.1.9.1.1"),
            "WAVEFORM"
        );
        assert_eq!(
            content_value_type("1.2.840.10008.5.1.4.1.1.104.1"),
            "COMPOSITE"
        );
        assert_eq!(
            content_value_type("1.2.840.10008.5.1.4.1.1.88.59"),
            "COMPOSITE"
        );
        assert_eq!(content_value_type("1.2.840.10008.5.1.4.1.1.20"), "IMAGE");
        assert_eq!(
            content_value_type("1.2.840.10008.5.1.4.1.1.200"),
            "COMPOSITE"
        );
    }

    #[test]
    fn affinity_patient_round_trips_as_cx() {
        let p =
            AffinityPatient::parse_cx("IHE-1^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO").unwrap();
        assert_eq!(p.id, "IHE-1");
        assert_eq!(p.to_cx(), "IHE-1^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO");
        assert!(AffinityPatient::parse_cx("IHE-1^^^LOCAL").is_err());
    }
}
