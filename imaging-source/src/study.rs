//! A study as the Imaging Document Source sees it (from a PACS, its C-STORE store or a CD): the
//! patient, study, series and instance attributes a RAD-68 manifest and its metadata need, read
//! from DICOM headers (Part-10 files or DICOM JSON) without pixel data.

use chrono::FixedOffset;
use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// A study: its identification, its patient and its series.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Study {
    /// Study Instance UID (0020,000D).
    pub study_instance_uid: String,
    /// The patient as the images identify it (local identifier domain).
    pub patient: PatientInfo,
    /// Accession Number (0008,0050).
    pub accession_number: Option<String>,
    /// Issuer of Accession Number Sequence > Universal Entity ID (ISO OID).
    pub accession_issuer: Option<String>,
    /// Study Date (0008,0020), `YYYYMMDD`.
    pub study_date: Option<String>,
    /// Study Time (0008,0030), `HHMMSS[.F]`.
    pub study_time: Option<String>,
    /// Timezone Offset From UTC (0008,0201), `&ZZXX`: the zone of the study's local dates and
    /// times; absent, they are the host's local time.
    pub timezone_offset: Option<String>,
    /// Study Description (0008,1030).
    pub description: Option<String>,
    /// Procedure Code Sequence (0008,1032): what was done, as coded by the performing site.
    #[serde(default)]
    pub procedure_codes: Vec<CodedEntry>,
    /// Referring Physician's Name (0008,0090), DICOM PN.
    pub referring_physician: Option<String>,
    /// Institution Name (0008,0080).
    pub institution_name: Option<String>,
    /// Study ID (0020,0010).
    pub study_id: Option<String>,
    /// The series, in the order first seen.
    pub series: Vec<Series>,
}

/// A coded entry of a Code Sequence (DICOM PS3.3 8.8): value, coding scheme and meaning.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CodedEntry {
    /// Code Value (0008,0100), or Long Code Value (0008,0119) when longer than 16 characters.
    pub value: String,
    /// Coding Scheme Designator (0008,0102).
    pub scheme: String,
    /// Code Meaning (0008,0104).
    pub meaning: String,
}

impl CodedEntry {
    /// Reads a Code Sequence item; `None` when it lacks a value, a scheme or a meaning (a URN
    /// Code Value names no scheme and is not kept).
    fn from_item(item: &InMemDicomObject) -> Option<Self> {
        Some(CodedEntry {
            value: text(item, tags::CODE_VALUE).or_else(|| text(item, tags::LONG_CODE_VALUE))?,
            scheme: text(item, tags::CODING_SCHEME_DESIGNATOR)?,
            meaning: text(item, tags::CODE_MEANING)?,
        })
    }
}

/// The patient of a study in the identifier domain of the images.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PatientInfo {
    /// Patient ID (0010,0020).
    pub id: String,
    /// Issuer: Issuer of Patient ID Qualifiers > Universal Entity ID (ISO OID) when present,
    /// else Issuer of Patient ID (0010,0021).
    pub issuer: Option<String>,
    /// Patient's Name (0010,0010), DICOM PN.
    pub name: Option<String>,
    /// Patient's Birth Date (0010,0030), `YYYYMMDD`.
    pub birth_date: Option<String>,
    /// Patient's Sex (0010,0040).
    pub sex: Option<String>,
}

/// A series of a study.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Series {
    /// Series Instance UID (0020,000E).
    pub series_instance_uid: String,
    /// Modality (0008,0060).
    pub modality: String,
    /// Body Part Examined (0018,0015).
    pub body_part: Option<String>,
    /// Series Description (0008,103E).
    pub description: Option<String>,
    /// Series Number (0020,0011).
    pub number: Option<i32>,
    /// The instances, in the order first seen.
    pub instances: Vec<Instance>,
}

/// One SOP instance of a series.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Instance {
    /// SOP Class UID (0008,0016).
    pub sop_class_uid: String,
    /// SOP Instance UID (0008,0018).
    pub sop_instance_uid: String,
    /// Instance Number (0020,0013).
    pub number: Option<i32>,
    /// Transfer Syntax UID of the stored object, when known.
    pub transfer_syntax_uid: Option<String>,
}

/// A header that cannot be placed in a study.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StudyError {
    /// A Type 1 attribute needed to place the instance is missing or empty.
    #[error("required attribute {name} {tag} is missing or empty")]
    MissingAttribute { name: &'static str, tag: Tag },
}

impl Study {
    /// Number of instances over all series.
    pub fn instance_count(&self) -> usize {
        self.series.iter().map(|s| s.instances.len()).sum()
    }

    /// Distinct modalities of the series, in order of first appearance.
    pub fn modalities(&self) -> Vec<&str> {
        distinct(self.series.iter().map(|s| s.modality.as_str()))
    }

    /// Distinct Body Part Examined values of the series, in order of first appearance.
    pub fn body_parts(&self) -> Vec<&str> {
        distinct(self.series.iter().filter_map(|s| s.body_part.as_deref()))
    }

    /// Timezone Offset From UTC (0008,0201) as an offset, when the study has a valid one
    /// (`&ZZXX`, DICOM PS3.3 C.12.1.1.8).
    pub fn timezone(&self) -> Option<FixedOffset> {
        let value = self.timezone_offset.as_deref()?.trim();
        let (sign, digits) = match value.as_bytes().first()? {
            b'+' => (1, &value[1..]),
            b'-' => (-1, &value[1..]),
            _ => return None,
        };
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let hours: i32 = digits[..2].parse().ok()?;
        let minutes: i32 = digits[2..].parse().ok()?;
        if hours > 14 || minutes > 59 {
            return None;
        }
        FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
    }

    /// The series with this Series Instance UID.
    pub fn series_by_uid(&self, series_uid: &str) -> Option<&Series> {
        self.series
            .iter()
            .find(|s| s.series_instance_uid == series_uid)
    }
}

fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for v in values {
        if !v.is_empty() && !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// The study-level attributes of one instance header, as [`StudySet::add`] takes them.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceHeader {
    /// The study attributes (with an empty series list).
    pub study: Study,
    /// The series attributes (with an empty instance list).
    pub series: Series,
    /// The instance.
    pub instance: Instance,
}

impl InstanceHeader {
    /// Reads the attributes from a DICOM data set (a Part-10 header, a DICOMDIR-less scan, or
    /// WADO-RS metadata turned into an object); `transfer_syntax_uid` comes from the file meta.
    pub fn from_object(
        obj: &InMemDicomObject,
        transfer_syntax_uid: Option<&str>,
    ) -> Result<Self, StudyError> {
        let study_instance_uid = required(obj, tags::STUDY_INSTANCE_UID, "StudyInstanceUID")?;
        let series_instance_uid = required(obj, tags::SERIES_INSTANCE_UID, "SeriesInstanceUID")?;
        let sop_instance_uid = required(obj, tags::SOP_INSTANCE_UID, "SOPInstanceUID")?;
        let sop_class_uid = required(obj, tags::SOP_CLASS_UID, "SOPClassUID")?;
        let patient_issuer = item_text(
            obj,
            tags::ISSUER_OF_PATIENT_ID_QUALIFIERS_SEQUENCE,
            tags::UNIVERSAL_ENTITY_ID,
        )
        .or_else(|| text(obj, tags::ISSUER_OF_PATIENT_ID));
        Ok(InstanceHeader {
            study: Study {
                study_instance_uid,
                patient: PatientInfo {
                    id: text(obj, tags::PATIENT_ID).unwrap_or_default(),
                    issuer: patient_issuer,
                    name: text(obj, tags::PATIENT_NAME),
                    birth_date: text(obj, tags::PATIENT_BIRTH_DATE),
                    sex: text(obj, tags::PATIENT_SEX),
                },
                accession_number: text(obj, tags::ACCESSION_NUMBER),
                accession_issuer: item_text(
                    obj,
                    tags::ISSUER_OF_ACCESSION_NUMBER_SEQUENCE,
                    tags::UNIVERSAL_ENTITY_ID,
                ),
                study_date: text(obj, tags::STUDY_DATE),
                study_time: text(obj, tags::STUDY_TIME),
                timezone_offset: text(obj, tags::TIMEZONE_OFFSET_FROM_UTC),
                description: text(obj, tags::STUDY_DESCRIPTION),
                procedure_codes: obj
                    .get(tags::PROCEDURE_CODE_SEQUENCE)
                    .and_then(|sequence| sequence.items())
                    .map(|items| items.iter().filter_map(CodedEntry::from_item).collect())
                    .unwrap_or_default(),
                referring_physician: text(obj, tags::REFERRING_PHYSICIAN_NAME),
                institution_name: text(obj, tags::INSTITUTION_NAME),
                study_id: text(obj, tags::STUDY_ID),
                series: Vec::new(),
            },
            series: Series {
                series_instance_uid,
                modality: text(obj, tags::MODALITY).unwrap_or_else(|| "OT".to_owned()),
                body_part: text(obj, tags::BODY_PART_EXAMINED),
                description: text(obj, tags::SERIES_DESCRIPTION),
                number: int(obj, tags::SERIES_NUMBER),
                instances: Vec::new(),
            },
            instance: Instance {
                sop_class_uid,
                sop_instance_uid,
                number: int(obj, tags::INSTANCE_NUMBER),
                transfer_syntax_uid: transfer_syntax_uid
                    .map(|ts| ts.trim_end_matches('\0').trim().to_owned()),
            },
        })
    }
}

/// Studies assembled from instance headers, in order of first appearance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StudySet {
    /// The studies.
    pub studies: Vec<Study>,
}

impl StudySet {
    /// Places an instance in its study and series (created on first sight); a repeated SOP
    /// Instance UID is kept once. Returns the index of the study.
    pub fn add(&mut self, header: InstanceHeader) -> usize {
        let InstanceHeader {
            study,
            series,
            instance,
        } = header;
        let study_index = match self
            .studies
            .iter()
            .position(|s| s.study_instance_uid == study.study_instance_uid)
        {
            Some(i) => i,
            None => {
                self.studies.push(study);
                self.studies.len() - 1
            }
        };
        let target = &mut self.studies[study_index];
        let series_index = match target
            .series
            .iter()
            .position(|s| s.series_instance_uid == series.series_instance_uid)
        {
            Some(i) => i,
            None => {
                target.series.push(series);
                target.series.len() - 1
            }
        };
        let instances = &mut target.series[series_index].instances;
        if !instances
            .iter()
            .any(|i| i.sop_instance_uid == instance.sop_instance_uid)
        {
            instances.push(instance);
        }
        study_index
    }
}

/// The trimmed text of an element; `None` when absent, empty or not text.
pub(crate) fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let element = obj.get(tag)?;
    let value = element.to_str().ok()?;
    let value = value.trim_end_matches('\0').trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// The text of `tag` in the first item of the sequence `sequence`.
pub(crate) fn item_text(obj: &InMemDicomObject, sequence: Tag, tag: Tag) -> Option<String> {
    obj.get(sequence)?
        .items()?
        .first()
        .and_then(|item| text(item, tag))
}

/// An integer element (IS/US/…); `None` when absent or unreadable.
pub(crate) fn int(obj: &InMemDicomObject, tag: Tag) -> Option<i32> {
    obj.get(tag)?.to_int::<i32>().ok()
}

fn required(obj: &InMemDicomObject, tag: Tag, name: &'static str) -> Result<String, StudyError> {
    text(obj, tag).ok_or(StudyError::MissingAttribute { name, tag })
}

/// A new UID under the UUID-derived root 2.25 (PS3.5 B.2).
pub fn new_uid() -> String {
    format!("2.25.{}", uuid::Uuid::new_v4().as_u128())
}

/// True for a syntactically valid UID (PS3.5 9.1): digits and dots, at most 64 characters, no
/// empty component, no leading zero in a multi-digit component.
pub fn is_valid_uid(uid: &str) -> bool {
    !uid.is_empty()
        && uid.len() <= 64
        && uid.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_digit())
                && (c == "0" || !c.starts_with('0'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, VR};

    fn header(study: &str, series: &str, sop: &str) -> InstanceHeader {
        let obj = InMemDicomObject::from_element_iter([
            DataElement::new(tags::STUDY_INSTANCE_UID, VR::UI, study),
            DataElement::new(tags::SERIES_INSTANCE_UID, VR::UI, series),
            DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, sop),
            DataElement::new(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.2"),
            DataElement::new(tags::MODALITY, VR::CS, "CT"),
            DataElement::new(tags::PATIENT_ID, VR::LO, "P1"),
        ]);
        InstanceHeader::from_object(&obj, Some("1.2.840.10008.1.2.1\0")).unwrap()
    }

    #[test]
    fn instances_are_grouped_by_study_and_series_and_kept_once() {
        let mut set = StudySet::default();
        set.add(header("1.1", "1.1.1", "1.1.1.1"));
        set.add(header("1.1", "1.1.1", "1.1.1.2"));
        set.add(header("1.1", "1.1.2", "1.1.2.1"));
        set.add(header("1.1", "1.1.1", "1.1.1.1"));
        set.add(header("1.2", "1.2.1", "1.2.1.1"));
        assert_eq!(set.studies.len(), 2);
        assert_eq!(set.studies[0].series.len(), 2);
        assert_eq!(set.studies[0].instance_count(), 3);
        assert_eq!(
            set.studies[0].series[0].instances[0]
                .transfer_syntax_uid
                .as_deref(),
            Some("1.2.840.10008.1.2.1")
        );
    }

    fn code(value: (dicom_core::Tag, &str), scheme: &str, meaning: &str) -> InMemDicomObject {
        InMemDicomObject::from_element_iter([
            DataElement::new(value.0, VR::SH, value.1),
            DataElement::new(tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme),
            DataElement::new(tags::CODE_MEANING, VR::LO, meaning),
        ])
    }

    #[test]
    fn procedure_codes_are_read_from_the_procedure_code_sequence_and_incomplete_items_dropped() {
        let object = InMemDicomObject::from_element_iter([
            DataElement::new(tags::STUDY_INSTANCE_UID, VR::UI, "1.1"),
            DataElement::new(tags::SERIES_INSTANCE_UID, VR::UI, "1.1.1"),
            DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, "1.1.1.1"),
            DataElement::new(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.2"),
            DataElement::new(
                tags::PROCEDURE_CODE_SEQUENCE,
                VR::SQ,
                dicom_core::value::DataSetSequence::from(vec![
                    code((tags::CODE_VALUE, "CTCHEST"), "99LOCAL", "CT chest"),
                    code(
                        (tags::LONG_CODE_VALUE, "RID50444.CT.CHEST.LONG"),
                        "RADLEX",
                        "CT",
                    ),
                    code((tags::CODE_VALUE, "NOSCHEME"), "", "no scheme"),
                ]),
            ),
        ]);
        let header = InstanceHeader::from_object(&object, None).unwrap();
        assert_eq!(
            header.study.procedure_codes,
            [
                CodedEntry {
                    value: "CTCHEST".into(),
                    scheme: "99LOCAL".into(),
                    meaning: "CT chest".into(),
                },
                CodedEntry {
                    value: "RID50444.CT.CHEST.LONG".into(),
                    scheme: "RADLEX".into(),
                    meaning: "CT".into(),
                },
            ]
        );
    }

    #[test]
    fn timezone_offset_from_utc_is_read_as_an_offset_only_when_well_formed() {
        let mut study = header("1.1", "1.1.1", "1.1.1.1").study;
        for (value, seconds) in [
            ("+0530", Some(19_800)),
            ("-1100", Some(-39_600)),
            ("+0000", Some(0)),
            ("UTC+1", None),
            ("+1500", None),
            ("+0560", None),
            ("0100", None),
        ] {
            study.timezone_offset = Some(value.into());
            assert_eq!(
                study.timezone().map(|z| z.local_minus_utc()),
                seconds,
                "{value}"
            );
        }
    }

    #[test]
    fn missing_study_instance_uid_is_an_error() {
        let obj = InMemDicomObject::from_element_iter([DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            "1.2",
        )]);
        assert_eq!(
            InstanceHeader::from_object(&obj, None),
            Err(StudyError::MissingAttribute {
                name: "StudyInstanceUID",
                tag: tags::STUDY_INSTANCE_UID
            })
        );
    }

    #[test]
    fn uid_syntax_follows_ps3_5_9_1() {
        assert!(is_valid_uid("1.2.840.10008.1.2"));
        assert!(is_valid_uid(&new_uid()));
        assert!(!is_valid_uid("1..2"));
        assert!(!is_valid_uid("1.02"));
        assert!(!is_valid_uid("../etc"));
        assert!(!is_valid_uid(&"1".repeat(65)));
    }
}
