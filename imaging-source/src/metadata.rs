//! RAD-68 XDS metadata of an imaging manifest (IHE RAD TF-3 4.68.4.1.2.3, ITI TF-3 4.2.3.2): the
//! DocumentEntry of the KOS and the SubmissionSet that carries it.

use std::collections::BTreeMap;

use chrono::{NaiveDate, TimeDelta, TimeZone, Timelike};

use schemas::constants::{object_type, reference_id_type};
use schemas::ebrim::InternationalString;
use schemas::hl7v2::{Cx, Hd, escape, is_oid};
use schemas::xds::{Author, Code, DocumentEntry, ExternalId, SubmissionSet};

use crate::kos::{AffinityPatient, KOS_SOP_CLASS_UID};
use crate::study::Study;

/// MIME type of the manifest (RAD TF-3 4.68.4.1.2.3.2).
pub const MANIFEST_MIME_TYPE: &str = "application/dicom";
/// Coding scheme of DICOM UIDs used as formatCode (DICOM UID Registry).
pub const DICOM_UID_REGISTRY: &str = "1.2.840.10008.2.6.1";
/// Coding scheme of DICOM controlled terminology (DCM), for acquisition modalities (CID 29).
pub const DCM_SCHEME: &str = "1.2.840.10008.2.16.4";
/// Coding scheme of SNOMED CT, for anatomic regions (CID 4).
pub const SNOMED_SCHEME: &str = "2.16.840.1.113883.6.96";

/// A code as configured: code, coding scheme, display name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeSpec {
    /// The code value.
    pub code: String,
    /// The coding scheme (OID).
    pub coding_scheme: String,
    /// The display name.
    pub display_name: String,
}

impl CodeSpec {
    /// A code.
    pub fn new(code: &str, coding_scheme: &str, display_name: &str) -> Self {
        CodeSpec {
            code: code.to_owned(),
            coding_scheme: coding_scheme.to_owned(),
            display_name: display_name.to_owned(),
        }
    }

    fn to_code(&self) -> Code {
        Code::new(&self.code, &self.coding_scheme, &self.display_name)
    }
}

/// The affinity domain's codes for imaging manifests; the defaults are those the registry's
/// built-in imaging code lists accept (`registry/code-lists.toml`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CodeMappings {
    /// classCode of every manifest.
    pub class_code: CodeSpec,
    /// typeCode when no modality-specific one is configured.
    pub type_code: CodeSpec,
    /// typeCode by the study's first modality (e.g. `CT` → a LOINC procedure class).
    pub type_code_by_modality: BTreeMap<String, CodeSpec>,
    /// confidentialityCode.
    pub confidentiality_code: CodeSpec,
    /// healthcareFacilityTypeCode.
    pub healthcare_facility_type_code: CodeSpec,
    /// practiceSettingCode.
    pub practice_setting_code: CodeSpec,
    /// SubmissionSet.contentTypeCode.
    pub content_type_code: CodeSpec,
    /// eventCodeList entry per acquisition modality (DICOM CID 29).
    pub modality_codes: BTreeMap<String, CodeSpec>,
    /// eventCodeList entry per Body Part Examined (anatomic region, CID 4).
    pub body_part_codes: BTreeMap<String, CodeSpec>,
    /// languageCode.
    pub language_code: String,
}

impl Default for CodeMappings {
    fn default() -> Self {
        let modality =
            |code: &str, name: &str| (code.to_owned(), CodeSpec::new(code, DCM_SCHEME, name));
        let region = |part: &str, code: &str, name: &str| {
            (part.to_owned(), CodeSpec::new(code, SNOMED_SCHEME, name))
        };
        CodeMappings {
            class_code: CodeSpec::new("IMAGES", "1.3.6.1.4.1.19376.1.2.6.1", "Images"),
            type_code: CodeSpec::new(
                "18748-4",
                "2.16.840.1.113883.6.1",
                "Diagnostic imaging study",
            ),
            type_code_by_modality: BTreeMap::new(),
            confidentiality_code: CodeSpec::new("N", "2.16.840.1.113883.5.25", "Normal"),
            healthcare_facility_type_code: CodeSpec::new("22232009", SNOMED_SCHEME, "Hospital"),
            practice_setting_code: CodeSpec::new("394914008", SNOMED_SCHEME, "Radiology"),
            content_type_code: CodeSpec::new(
                "18748-4",
                "2.16.840.1.113883.6.1",
                "Diagnostic imaging study",
            ),
            modality_codes: [
                modality("CT", "Computed Tomography"),
                modality("MR", "Magnetic Resonance"),
                modality("US", "Ultrasound"),
                modality("CR", "Computed Radiography"),
                modality("DX", "Digital Radiography"),
                modality("MG", "Mammography"),
                modality("XA", "X-Ray Angiography"),
                modality("NM", "Nuclear Medicine"),
                modality("PT", "Positron emission tomography"),
                modality("RF", "Radio Fluoroscopy"),
                modality("OT", "Other"),
            ]
            .into_iter()
            .collect(),
            body_part_codes: [
                region("CHEST", "51185008", "Chest"),
                region("HEAD", "69536005", "Head"),
                region("ABDOMEN", "818983003", "Abdomen"),
                region("PELVIS", "12921003", "Pelvis"),
            ]
            .into_iter()
            .collect(),
            language_code: "en-US".to_owned(),
        }
    }
}

/// Modalities that are not acquisitions (documents, presentation states) and so no event code.
const NON_ACQUISITION_MODALITIES: &[&str] = &["KO", "SR", "PR", "DOC", "REG", "SEG", "FID"];

/// The identities and times of one RAD-68 submission.
#[derive(Debug, Clone)]
pub struct ManifestIdentity<'a> {
    /// The affinity-domain patient (DocumentEntry/SubmissionSet.patientId).
    pub affinity_patient: &'a AffinityPatient,
    /// The manifest's SOP Instance UID (DocumentEntry.uniqueId).
    pub manifest_uid: &'a str,
    /// Manifest creation time, UTC.
    pub created: time::OffsetDateTime,
}

/// RAD-68 DocumentEntry of the manifest of `study`; its entryUUID is `entry_uuid`.
pub fn manifest_document_entry(
    study: &Study,
    identity: &ManifestIdentity<'_>,
    codes: &CodeMappings,
    entry_uuid: &str,
) -> DocumentEntry {
    let modalities = study.modalities();
    let type_code = modalities
        .first()
        .and_then(|m| codes.type_code_by_modality.get(*m))
        .unwrap_or(&codes.type_code);
    let mut event_codes: Vec<Code> = modalities
        .iter()
        .filter(|m| !NON_ACQUISITION_MODALITIES.contains(m))
        .map(|m| {
            codes
                .modality_codes
                .get(*m)
                .cloned()
                .unwrap_or_else(|| CodeSpec::new(m, DCM_SCHEME, m))
                .to_code()
        })
        .collect();
    event_codes.extend(
        study
            .body_parts()
            .iter()
            .filter_map(|p| codes.body_part_codes.get(&p.to_ascii_uppercase()))
            .map(CodeSpec::to_code),
    );
    let source_patient_id = source_patient_id(study);
    DocumentEntry {
        entry_uuid: entry_uuid.to_owned(),
        object_type: Some(object_type::STABLE_DOCUMENT_ENTRY.to_owned()),
        mime_type: Some(MANIFEST_MIME_TYPE.to_owned()),
        title: study.description.as_deref().map(InternationalString::plain),
        authors: author(study).into_iter().collect(),
        class_code: Some(codes.class_code.to_code()),
        confidentiality_codes: vec![codes.confidentiality_code.to_code()],
        event_codes,
        format_code: Some(Code::new(
            KOS_SOP_CLASS_UID,
            DICOM_UID_REGISTRY,
            "Key Object Selection Document",
        )),
        healthcare_facility_type_code: Some(codes.healthcare_facility_type_code.to_code()),
        practice_setting_code: Some(codes.practice_setting_code.to_code()),
        type_code: Some(type_code.to_code()),
        creation_time: Some(dtm(identity.created)),
        language_code: Some(codes.language_code.clone()),
        service_start_time: service_start_time(study),
        source_patient_info: source_patient_info(study, source_patient_id.as_deref()),
        source_patient_id,
        reference_ids: reference_ids(study),
        patient_id: Some(ExternalId::new(
            identity.affinity_patient.to_cx(),
            "XDSDocumentEntry.patientId",
        )),
        unique_id: ExternalId::new(identity.manifest_uid, "XDSDocumentEntry.uniqueId"),
        ..DocumentEntry::default()
    }
}

/// RAD-68 SubmissionSet: same patient, the Imaging Document Source as sourceId.
pub fn manifest_submission_set(
    study: &Study,
    identity: &ManifestIdentity<'_>,
    codes: &CodeMappings,
    source_id: &str,
    entry_uuid: &str,
    unique_id: &str,
) -> SubmissionSet {
    let mut set = SubmissionSet::new(entry_uuid, unique_id);
    set.submission_time = Some(dtm(identity.created));
    set.content_type_code = Some(codes.content_type_code.to_code());
    set.authors = author(study).into_iter().collect();
    set.patient_id = Some(ExternalId::new(
        identity.affinity_patient.to_cx(),
        "XDSSubmissionSet.patientId",
    ));
    set.source_id = Some(ExternalId::new(source_id, "XDSSubmissionSet.sourceId"));
    set
}

/// The CXi values of referenceIdList: the accession number (with its issuer) and the Study
/// Instance UID (ITI TF-3 4.2.3.2.28).
pub fn reference_ids(study: &Study) -> Vec<String> {
    let mut ids = Vec::new();
    if let Some(accession) = &study.accession_number {
        let mut cx = Cx::default();
        cx.id = accession.clone();
        cx.identifier_type_code = reference_id_type::ACCESSION.to_owned();
        if let Some(issuer) = study.accession_issuer.as_deref().filter(|i| is_oid(i)) {
            cx.assigning_authority = Hd::iso(issuer);
        }
        ids.push(cx.to_string());
    }
    ids.push(study_reference_id(&study.study_instance_uid));
    ids
}

/// The referenceIdList CXi naming a study: `uid^^^^urn:ihe:iti:xds:2016:studyInstanceUID`.
pub fn study_reference_id(study_uid: &str) -> String {
    let mut cx = Cx::default();
    cx.id = study_uid.to_owned();
    cx.identifier_type_code = reference_id_type::STUDY_INSTANCE_UID.to_owned();
    cx.to_string()
}

/// sourcePatientId: the local Patient ID qualified by its issuer, when the issuer is an ISO OID
/// (XDS requires one); `None` otherwise.
pub fn source_patient_id(study: &Study) -> Option<String> {
    let patient = &study.patient;
    let issuer = patient.issuer.as_deref().filter(|i| is_oid(i))?;
    (!patient.id.is_empty()).then(|| Cx::patient_id(&patient.id, issuer).to_string())
}

fn source_patient_info(study: &Study, source_patient_id: Option<&str>) -> Vec<String> {
    let patient = &study.patient;
    let mut info = Vec::new();
    if let Some(id) = source_patient_id {
        info.push(format!("PID-3|{id}"));
    }
    if let Some(name) = &patient.name {
        info.push(format!("PID-5|{}", person_name(name)));
    }
    if let Some(birth) = &patient.birth_date {
        info.push(format!("PID-7|{}", escape(birth)));
    }
    if let Some(sex) = &patient.sex {
        info.push(format!("PID-8|{}", escape(sex)));
    }
    info
}

/// A DICOM PN (alphabetic group) as an HL7 XPN: components keep their `^` separators, each one
/// escaped.
fn person_name(pn: &str) -> String {
    let alphabetic = pn.split('=').next().unwrap_or_default();
    alphabetic
        .split('^')
        .map(escape)
        .collect::<Vec<_>>()
        .join("^")
}

fn author(study: &Study) -> Option<Author> {
    let institution = study.institution_name.as_deref()?;
    Some(Author {
        institutions: vec![escape(institution)],
        node_representation: Some(String::new()),
        ..Author::default()
    })
}

/// serviceStartTime, in UTC (ITI TF-3 4.2.3.2.19), from Study Date and Study Time, which are local
/// times: in the zone of Timezone Offset From UTC when the study has a valid one, else in the
/// host's zone (the process's `TZ`). The time keeps its precision (fractions dropped); a date
/// without a time names no instant and stays as it is.
fn service_start_time(study: &Study) -> Option<String> {
    let raw_date = study.study_date.as_deref()?;
    if raw_date.len() != 8 || !raw_date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let date = NaiveDate::parse_from_str(raw_date, "%Y%m%d").ok()?;
    let digits: String = study
        .study_time
        .as_deref()
        .unwrap_or_default()
        .split('.')
        .next()
        .unwrap_or_default()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let field = |i: usize| digits.get(i..i + 2).and_then(|d| d.parse::<u32>().ok());
    let local = match digits.len() {
        2 | 4 | 6 => date.and_hms_opt(
            field(0)?,
            field(2).unwrap_or_default(),
            field(4).unwrap_or_default(),
        ),
        _ => None,
    };
    let Some(local) = local else {
        return Some(raw_date.to_owned());
    };
    let utc = match study.timezone() {
        Some(offset) => offset.from_local_datetime(&local).single()?.naive_utc(),
        None => chrono::Local
            .from_local_datetime(&local)
            .earliest()
            // A time in the gap of a spring-forward change: read it with the offset after it.
            .or_else(|| {
                chrono::Local
                    .from_local_datetime(&(local + TimeDelta::hours(1)))
                    .earliest()
                    .map(|t| t - TimeDelta::hours(1))
            })?
            .naive_utc(),
    };
    let format = match digits.len() {
        2 if utc.minute() == 0 => "%Y%m%d%H",
        2 | 4 => "%Y%m%d%H%M",
        _ => "%Y%m%d%H%M%S",
    };
    Some(utc.format(format).to_string())
}

/// An HL7 DTM in UTC to the second.
pub fn dtm(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::{PatientInfo, Series};

    fn study() -> Study {
        Study {
            study_instance_uid: "2.25.7".into(),
            patient: PatientInfo {
                id: "PAT-1".into(),
                issuer: Some("1.2.3.4".into()),
                name: Some("Doe^Jane".into()),
                birth_date: Some("19700101".into()),
                sex: Some("F".into()),
            },
            accession_number: Some("ACC-1".into()),
            accession_issuer: Some("1.2.3.5".into()),
            study_date: Some("20261101".into()),
            study_time: Some("093015.250".into()),
            timezone_offset: Some("+0000".into()),
            description: Some("CT CHEST".into()),
            procedure_codes: Vec::new(),
            referring_physician: None,
            institution_name: Some("General Hospital".into()),
            study_id: None,
            series: vec![Series {
                series_instance_uid: "2.25.7.1".into(),
                modality: "CT".into(),
                body_part: Some("CHEST".into()),
                description: None,
                number: None,
                instances: Vec::new(),
            }],
        }
    }

    #[test]
    fn reference_id_list_has_accession_with_issuer_and_study_uid() {
        assert_eq!(
            reference_ids(&study()),
            [
                "ACC-1^^^&1.2.3.5&ISO^urn:ihe:iti:xds:2013:accession",
                "2.25.7^^^^urn:ihe:iti:xds:2016:studyInstanceUID"
            ]
        );
        let mut no_issuer = study();
        no_issuer.accession_issuer = None;
        assert_eq!(
            reference_ids(&no_issuer)[0],
            "ACC-1^^^^urn:ihe:iti:xds:2013:accession"
        );
    }

    fn at(date: &str, time: Option<&str>, offset: Option<&str>) -> Option<String> {
        let mut study = study();
        study.study_date = Some(date.into());
        study.study_time = time.map(Into::into);
        study.timezone_offset = offset.map(Into::into);
        service_start_time(&study)
    }

    #[test]
    fn service_start_time_is_study_date_and_time_without_fraction() {
        assert_eq!(
            service_start_time(&study()).as_deref(),
            Some("20261101093015")
        );
    }

    #[test]
    fn service_start_time_is_utc_from_the_timezone_offset_from_utc() {
        assert_eq!(
            at("20261101", Some("093015"), Some("+0100")).as_deref(),
            Some("20261101083015")
        );
        assert_eq!(
            at("20261101", Some("003000"), Some("+0200")).as_deref(),
            Some("20261031223000")
        );
        assert_eq!(
            at("20261231", Some("2330"), Some("-0500")).as_deref(),
            Some("202701010430")
        );
    }

    #[test]
    fn service_start_time_keeps_the_precision_it_was_given() {
        assert_eq!(
            at("20261101", Some("09"), Some("+0100")).as_deref(),
            Some("2026110108")
        );
        assert_eq!(
            at("20261101", Some("09"), Some("+0530")).as_deref(),
            Some("202611010330")
        );
        assert_eq!(
            at("20261101", None, Some("+0100")).as_deref(),
            Some("20261101")
        );
        assert_eq!(
            at("20261101", Some("9"), Some("+0100")).as_deref(),
            Some("20261101")
        );
    }

    #[test]
    fn service_start_time_without_an_offset_is_the_hosts_local_time() {
        let local = NaiveDate::from_ymd_opt(2026, 7, 1)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .expect("valid date");
        let expected = chrono::Local
            .from_local_datetime(&local)
            .earliest()
            .expect("noon exists in every zone")
            .naive_utc()
            .format("%Y%m%d%H%M%S")
            .to_string();
        assert_eq!(at("20260701", Some("120000"), None), Some(expected.clone()));
        assert_eq!(
            at("20260701", Some("120000"), Some("UTC+1")),
            Some(expected),
            "a malformed offset is not trusted"
        );
    }

    #[test]
    fn source_patient_id_needs_an_oid_issuer() {
        assert_eq!(
            source_patient_id(&study()).as_deref(),
            Some("PAT-1^^^&1.2.3.4&ISO")
        );
        let mut local = study();
        local.patient.issuer = Some("HOSP".into());
        assert_eq!(source_patient_id(&local), None);
    }

    #[test]
    fn event_codes_are_modalities_then_anatomic_regions() {
        let patient = AffinityPatient {
            id: "AD-1".into(),
            assigning_authority: "1.3.6.1.4.1.21367.2005.13.20.1000".into(),
        };
        let identity = ManifestIdentity {
            affinity_patient: &patient,
            manifest_uid: "2.25.9",
            created: time::OffsetDateTime::UNIX_EPOCH,
        };
        let entry =
            manifest_document_entry(&study(), &identity, &CodeMappings::default(), "urn:uuid:x");
        let codes: Vec<(&str, &str)> = entry
            .event_codes
            .iter()
            .map(|c| (c.code.as_str(), c.coding_scheme.as_str()))
            .collect();
        assert_eq!(codes, [("CT", DCM_SCHEME), ("51185008", SNOMED_SCHEME)]);
        assert_eq!(entry.mime_type.as_deref(), Some("application/dicom"));
        assert_eq!(
            entry.source_patient_info,
            [
                "PID-3|PAT-1^^^&1.2.3.4&ISO",
                "PID-5|Doe^Jane",
                "PID-7|19700101",
                "PID-8|F"
            ]
        );
        assert_eq!(entry.creation_time.as_deref(), Some("19700101000000"));
    }
}
