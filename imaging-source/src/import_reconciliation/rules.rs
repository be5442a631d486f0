//! The Import Reconciliation rules (IHE RAD IRWF.b; DICOM PS3.3 C.12.1) applied to one header:
//! the patient identity and demographics come from the local record, the accession number is
//! the local one, the originating institution stays named, UIDs are replaced only when the
//! importer decided they collide, and every replaced value is kept in a new Original Attributes
//! Sequence item (reason COERCE).

use std::collections::HashMap;

use dicom_core::header::Header as _;
use dicom_core::value::{DataSetSequence, Value};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_object::mem::InMemElement;

use super::part10::Header;

/// Reason for the Attribute Modification (0400,0565) of an import: values replaced to match
/// the local system (PS3.3 C.12.1.1.9.2).
pub const REASON_COERCE: &str = "COERCE";
/// Longest Accession Number (VR SH).
pub const ACCESSION_MAX_CHARS: usize = 16;

/// The patient as the importing hospital knows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LocalPatient {
    /// Patient ID (0010,0020) in the local identifier domain.
    pub id: String,
    /// Issuer of Patient ID (0010,0021): the assigning authority's namespace id, else its OID.
    pub issuer: Option<String>,
    /// Universal Entity ID (ISO OID) of the assigning authority, for Issuer of Patient ID
    /// Qualifiers Sequence (0010,0024).
    pub issuer_oid: Option<String>,
    /// Patient's Name (0010,0010), DICOM PN; absent: the imported value is kept.
    pub name: Option<String>,
    /// Patient's Birth Date (0010,0030), `YYYYMMDD`; absent: the imported value is kept.
    pub birth_date: Option<String>,
    /// Patient's Sex (0010,0040) `M`/`F`/`O`; absent: the imported value is kept.
    pub sex: Option<String>,
}

/// How the local Accession Number is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessionRule {
    /// This accession number (`--accession`).
    Given(String),
    /// The original one with this prefix (e.g. `OUT_`); an empty original stays empty.
    Prefixed(String),
}

/// Why a header cannot be reconciled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReconcileError {
    /// The local accession number would not fit VR SH.
    #[error(
        "accession number {value:?} is longer than {ACCESSION_MAX_CHARS} characters (give one with --accession)"
    )]
    AccessionTooLong { value: String },
}

/// Everything one import applies to each of its instances.
#[derive(Debug, Clone)]
pub struct Reconciliation {
    pub patient: LocalPatient,
    pub accession: AccessionRule,
    /// Issuer of Accession Number Sequence of the local accession (OID); None removes the
    /// imported one (it names the other hospital's order filler).
    pub accession_issuer_oid: Option<String>,
    /// Institution Name written when the imported instance names none, so an outside study is
    /// never mistaken for a local one.
    pub outside_institution: String,
    /// Modifying System (0400,0563).
    pub modifying_system: String,
    /// Attribute Modification DateTime (0400,0562), DICOM DT.
    pub modified_at: String,
    /// Original → new UID of the study, its series and instances when the study collides with a
    /// different local patient's; empty: UIDs preserved.
    pub uid_map: HashMap<String, String>,
}

impl Reconciliation {
    /// Reconciles `header` in place (data set and file meta group).
    pub fn apply(&self, header: &mut Header) -> Result<(), ReconcileError> {
        let mut originals = InMemDicomObject::new_empty();
        let original_id = text(header, tags::PATIENT_ID);
        let original_issuer = header.get(tags::ISSUER_OF_PATIENT_ID).cloned();
        let original_qualifiers = header
            .get(tags::ISSUER_OF_PATIENT_ID_QUALIFIERS_SEQUENCE)
            .cloned();
        let p = &self.patient;
        let new_values = [&Some(p.id.clone()), &p.name, &p.birth_date, &p.sex];
        if new_values
            .iter()
            .any(|v| v.as_deref().is_some_and(|v| !v.is_ascii()))
        {
            replace_text(
                header,
                &mut originals,
                tags::SPECIFIC_CHARACTER_SET,
                VR::CS,
                "ISO_IR 192",
            );
        }
        replace_text(header, &mut originals, tags::PATIENT_ID, VR::LO, &p.id);
        match p.issuer.as_deref().or(p.issuer_oid.as_deref()) {
            Some(issuer) => replace_text(
                header,
                &mut originals,
                tags::ISSUER_OF_PATIENT_ID,
                VR::LO,
                issuer,
            ),
            None => remove(header, &mut originals, tags::ISSUER_OF_PATIENT_ID),
        }
        match &p.issuer_oid {
            Some(oid) => replace(
                header,
                &mut originals,
                sequence(
                    tags::ISSUER_OF_PATIENT_ID_QUALIFIERS_SEQUENCE,
                    vec![universal_entity(oid)],
                ),
            ),
            None => remove(
                header,
                &mut originals,
                tags::ISSUER_OF_PATIENT_ID_QUALIFIERS_SEQUENCE,
            ),
        }
        for (tag, vr, value) in [
            (tags::PATIENT_NAME, VR::PN, &p.name),
            (tags::PATIENT_BIRTH_DATE, VR::DA, &p.birth_date),
            (tags::PATIENT_SEX, VR::CS, &p.sex),
        ] {
            if let Some(value) = value {
                replace_text(header, &mut originals, tag, vr, value);
            }
        }
        if !original_id.is_empty() && original_id != p.id {
            let mut other = InMemDicomObject::from_element_iter([
                string(tags::PATIENT_ID, VR::LO, &original_id),
                string(tags::TYPE_OF_PATIENT_ID, VR::CS, "TEXT"),
            ]);
            if let Some(issuer) = original_issuer {
                other.put(issuer);
            }
            if let Some(qualifiers) = original_qualifiers {
                other.put(qualifiers);
            }
            let mut items = items_of(header, tags::OTHER_PATIENT_I_DS_SEQUENCE);
            items.push(other);
            replace(
                header,
                &mut originals,
                sequence(tags::OTHER_PATIENT_I_DS_SEQUENCE, items),
            );
        }
        self.reconcile_accession(header, &mut originals)?;
        if text(header, tags::INSTITUTION_NAME).is_empty() {
            replace_text(
                header,
                &mut originals,
                tags::INSTITUTION_NAME,
                VR::LO,
                &self.outside_institution,
            );
        }
        self.remap_uids(header, &mut originals);
        if originals.iter().next().is_some() {
            self.record_originals(header, originals);
        }
        Ok(())
    }

    fn reconcile_accession(
        &self,
        header: &mut Header,
        originals: &mut InMemDicomObject,
    ) -> Result<(), ReconcileError> {
        let original = text(header, tags::ACCESSION_NUMBER);
        let local = match &self.accession {
            AccessionRule::Given(value) => value.clone(),
            AccessionRule::Prefixed(_) if original.is_empty() => String::new(),
            AccessionRule::Prefixed(prefix) => format!("{prefix}{original}"),
        };
        if local.chars().count() > ACCESSION_MAX_CHARS {
            return Err(ReconcileError::AccessionTooLong { value: local });
        }
        replace_text(header, originals, tags::ACCESSION_NUMBER, VR::SH, &local);
        match &self.accession_issuer_oid {
            Some(oid) => replace(
                header,
                originals,
                sequence(
                    tags::ISSUER_OF_ACCESSION_NUMBER_SEQUENCE,
                    vec![universal_entity(oid)],
                ),
            ),
            None => remove(header, originals, tags::ISSUER_OF_ACCESSION_NUMBER_SEQUENCE),
        }
        Ok(())
    }

    /// Replaces every UID of `uid_map` anywhere in the data set (references included) and the
    /// Media Storage SOP Instance UID; the replaced top-level elements go to `originals`.
    fn remap_uids(&self, header: &mut Header, originals: &mut InMemDicomObject) {
        if self.uid_map.is_empty() {
            return;
        }
        let changed: Vec<InMemElement> = header
            .iter()
            .filter(|e| e.tag() != tags::ORIGINAL_ATTRIBUTES_SEQUENCE)
            .filter_map(|e| remapped(e, &self.uid_map))
            .collect();
        for element in changed {
            replace(header, originals, element);
        }
        let meta_uid = header
            .meta()
            .media_storage_sop_instance_uid()
            .trim_end_matches('\0')
            .to_owned();
        if let Some(new) = self.uid_map.get(&meta_uid) {
            let new = new.clone();
            header.update_meta(|meta| meta.media_storage_sop_instance_uid = new);
        }
    }

    /// Appends an Original Attributes Sequence item holding the replaced values.
    fn record_originals(&self, header: &mut Header, originals: InMemDicomObject) {
        let source = text(header, tags::INSTITUTION_NAME);
        let item = InMemDicomObject::from_element_iter([
            sequence(tags::MODIFIED_ATTRIBUTES_SEQUENCE, vec![originals]),
            string(
                tags::ATTRIBUTE_MODIFICATION_DATE_TIME,
                VR::DT,
                &self.modified_at,
            ),
            string(tags::MODIFYING_SYSTEM, VR::LO, &self.modifying_system),
            string(tags::SOURCE_OF_PREVIOUS_VALUES, VR::LO, &source),
            string(
                tags::REASON_FOR_THE_ATTRIBUTE_MODIFICATION,
                VR::CS,
                REASON_COERCE,
            ),
        ]);
        let mut items = items_of(header, tags::ORIGINAL_ATTRIBUTES_SEQUENCE);
        items.push(item);
        header.put(sequence(tags::ORIGINAL_ATTRIBUTES_SEQUENCE, items));
    }
}

/// The element with every mapped UID replaced (recursively through sequences), when any was.
fn remapped(element: &InMemElement, map: &HashMap<String, String>) -> Option<InMemElement> {
    match element.value() {
        Value::Primitive(value) if element.vr() == VR::UI => {
            let text = value.to_str();
            let uids: Vec<&str> = text
                .split('\\')
                .map(|u| u.trim_end_matches(['\0', ' ']))
                .collect();
            if !uids.iter().any(|u| map.contains_key(*u)) {
                return None;
            }
            let mapped: Vec<String> = uids
                .iter()
                .map(|u| map.get(*u).cloned().unwrap_or_else(|| (*u).to_owned()))
                .collect();
            Some(DataElement::new(
                element.tag(),
                VR::UI,
                PrimitiveValue::Strs(mapped.into()),
            ))
        }
        Value::Sequence(sequence) => {
            let mut changed = false;
            let items: Vec<InMemDicomObject> = sequence
                .items()
                .iter()
                .map(|item| {
                    let mut item = item.clone();
                    let replaced: Vec<InMemElement> =
                        item.iter().filter_map(|e| remapped(e, map)).collect();
                    changed |= !replaced.is_empty();
                    for e in replaced {
                        item.put(e);
                    }
                    item
                })
                .collect();
            changed.then(|| self::sequence(element.tag(), items))
        }
        _ => None,
    }
}

/// The trimmed text of an attribute ("" when absent or not text).
pub fn text(object: &InMemDicomObject, tag: Tag) -> String {
    object
        .get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).trim_start().to_owned())
        .unwrap_or_default()
}

fn string(tag: Tag, vr: VR, value: &str) -> InMemElement {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

fn sequence(tag: Tag, items: Vec<InMemDicomObject>) -> InMemElement {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

fn universal_entity(oid: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        string(tags::UNIVERSAL_ENTITY_ID, VR::UT, oid),
        string(tags::UNIVERSAL_ENTITY_ID_TYPE, VR::CS, "ISO"),
    ])
}

fn items_of(object: &InMemDicomObject, tag: Tag) -> Vec<InMemDicomObject> {
    object
        .get(tag)
        .and_then(|e| e.items())
        .map(<[InMemDicomObject]>::to_vec)
        .unwrap_or_default()
}

/// Sets a text attribute, keeping the previous value in `originals` when it changes.
fn replace_text(
    header: &mut Header,
    originals: &mut InMemDicomObject,
    tag: Tag,
    vr: VR,
    value: &str,
) {
    if header.get(tag).is_some() && text(header, tag) == value {
        return;
    }
    replace(header, originals, string(tag, vr, value));
}

/// Puts `element`, keeping the previous one (or, when absent, an empty one: PS3.3 C.12.1.1.9.2)
/// in `originals`.
fn replace(header: &mut Header, originals: &mut InMemDicomObject, element: InMemElement) {
    let tag = element.tag();
    let vr = element.vr();
    let previous = header.put(element);
    if originals.get(tag).is_none() {
        originals.put(previous.unwrap_or_else(|| DataElement::empty(tag, vr)));
    }
}

/// Removes an attribute, keeping it in `originals`.
fn remove(header: &mut Header, originals: &mut InMemDicomObject, tag: Tag) {
    if let Some(previous) = header.take(tag)
        && originals.get(tag).is_none()
    {
        originals.put(previous);
    }
}
