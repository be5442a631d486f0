//! `sameKOSDcm`: the KOS manifest an Imaging Document Source submitted (RAD-68) against the
//! test's "gold standard" `kos-evaluate.dcm`, by the rules of the NIST toolkit's
//! `StepRAD68KOSDocument` (`DetailDcmKOSContent`, the Current Requested Procedure Evidence
//! Sequence down to the Referenced SOP Sequence, and the series cross-walk).
//!
//! Each rule that does not hold is one line of the answer; an empty answer is a pass.

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// SOP Class UID of the Key Object Selection Document.
pub const KOS_SOP_CLASS_UID: &str = "1.2.840.10008.5.1.4.1.1.88.59";

/// A check on one attribute of the manifest (or of a sequence item) against the standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Both present, not blank and equal (top level); equal, absent counting as empty (items).
    Same,
    /// Both present, not blank and different.
    Different,
    /// Equal to this value (absent counting as empty).
    Constant(&'static str),
    /// Present in the tested object.
    Present,
    /// Present and not blank in the tested object.
    NotEmpty,
    /// A sequence with as many items as the standard's.
    SameSize,
}

/// The manifest's own attributes (`DetailDcmKOSContent`).
pub const KOS_CHECKS: [(Check, Tag, &str); 11] = [
    (Check::Same, tags::ACCESSION_NUMBER, "Accession Number"),
    (Check::Constant("KO"), tags::MODALITY, "Modality"),
    (
        Check::Constant(KOS_SOP_CLASS_UID),
        tags::SOP_CLASS_UID,
        "SOP Class UID",
    ),
    (Check::Same, tags::PATIENT_NAME, "Patient Name"),
    (Check::Same, tags::PATIENT_ID, "Patient ID"),
    (Check::Same, tags::PATIENT_BIRTH_DATE, "Patient Birth Date"),
    (Check::Same, tags::PATIENT_SEX, "Patient Sex"),
    (Check::Same, tags::STUDY_INSTANCE_UID, "Study Instance UID"),
    (
        Check::Different,
        tags::SERIES_INSTANCE_UID,
        "Series Instance UID",
    ),
    (Check::Different, tags::SOP_INSTANCE_UID, "SOP Instance UID"),
    (Check::SameSize, tags::CONTENT_SEQUENCE, "Content Sequence"),
];

/// A sequence whose items are matched with the standard's by a key attribute, then checked.
#[derive(Debug)]
pub struct SequenceLevel {
    pub sequence: Tag,
    pub name: &'static str,
    /// The attribute that identifies an item (matched between test and standard).
    pub key: Tag,
    pub key_name: &'static str,
    pub checks: &'static [(Check, Tag, &'static str)],
    pub items: Option<&'static SequenceLevel>,
}

/// Referenced SOP Sequence (0008,1199) of a referenced series.
pub const REFERENCED_SOPS: SequenceLevel = SequenceLevel {
    sequence: tags::REFERENCED_SOP_SEQUENCE,
    name: "Referenced SOP Sequence",
    key: tags::REFERENCED_SOP_INSTANCE_UID,
    key_name: "Referenced SOP Instance UID",
    checks: &[
        (
            Check::Same,
            tags::REFERENCED_SOP_CLASS_UID,
            "Referenced SOP Class UID",
        ),
        (
            Check::Same,
            tags::REFERENCED_SOP_INSTANCE_UID,
            "Referenced SOP Instance UID",
        ),
    ],
    items: None,
};

/// Referenced Series Sequence (0008,1115) of an evidence study.
pub const REFERENCED_SERIES: SequenceLevel = SequenceLevel {
    sequence: tags::REFERENCED_SERIES_SEQUENCE,
    name: "Referenced Series Sequence",
    key: tags::SERIES_INSTANCE_UID,
    key_name: "Series Instance UID",
    checks: &[
        (
            Check::Present,
            tags::SERIES_INSTANCE_UID,
            "Series Instance UID",
        ),
        (
            Check::Same,
            tags::SERIES_INSTANCE_UID,
            "Series Instance UID",
        ),
        (
            Check::NotEmpty,
            tags::RETRIEVE_AE_TITLE,
            "Retrieve AE Title",
        ),
        (
            Check::Present,
            tags::RETRIEVE_LOCATION_UID,
            "Retrieve Location UID",
        ),
        (
            Check::Same,
            tags::RETRIEVE_LOCATION_UID,
            "Retrieve Location UID",
        ),
    ],
    items: Some(&REFERENCED_SOPS),
};

/// Current Requested Procedure Evidence Sequence (0040,A375).
pub const EVIDENCE: SequenceLevel = SequenceLevel {
    sequence: tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
    name: "Current Requested Procedure Evidence Sequence",
    key: tags::STUDY_INSTANCE_UID,
    key_name: "Study Instance UID",
    checks: &[(Check::Same, tags::STUDY_INSTANCE_UID, "Study Instance UID")],
    items: Some(&REFERENCED_SERIES),
};

/// The value of a string attribute with its padding removed; `None` when absent.
pub fn text(object: &InMemDicomObject, tag: Tag) -> Option<String> {
    let element = object.element(tag).ok()?;
    let value = element.to_str().ok()?;
    Some(
        value
            .trim_matches(|c: char| c == ' ' || c == '\0')
            .to_owned(),
    )
}

fn items(object: &InMemDicomObject, tag: Tag) -> Option<&[InMemDicomObject]> {
    object.element(tag).ok()?.items()
}

/// `sameKOSDcm`: every rule the submitted manifest breaks, compared with the standard.
pub fn same_kos(test: &InMemDicomObject, standard: &InMemDicomObject) -> Vec<String> {
    let mut failures = Vec::new();
    for (check, tag, name) in KOS_CHECKS {
        if let Some(failure) = check_top_level(check, tag, name, test, standard) {
            failures.push(failure);
        }
    }
    compare_sequence(&EVIDENCE, test, standard, "", &mut failures);
    failures.extend(cross_walk(test));
    failures
}

/// A top-level attribute check (`DetailDcmContent`): `Same` fails on an absent or empty value.
fn check_top_level(
    check: Check,
    tag: Tag,
    name: &str,
    test: &InMemDicomObject,
    standard: &InMemDicomObject,
) -> Option<String> {
    let found = text(test, tag);
    let expected = text(standard, tag);
    let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "absent".to_owned());
    match check {
        Check::Same => match (&found, &expected) {
            (None, _) => Some(format!(
                "{name}: not present, expected [{}]",
                shown(&expected)
            )),
            (Some(f), Some(e)) if !f.is_empty() && f == e => None,
            (Some(f), _) => Some(format!(
                "{name}: [{f}] does not match the standard's [{}]",
                shown(&expected)
            )),
        },
        Check::Different => match (&found, &expected) {
            (Some(f), Some(e)) if !f.is_empty() && !e.is_empty() && f != e => None,
            _ => Some(format!(
                "{name}: [{}] must be new, not the standard's [{}]",
                shown(&found),
                shown(&expected)
            )),
        },
        Check::Constant(value) => {
            let found = found.unwrap_or_default();
            (found != value).then(|| format!("{name}: [{found}], expected [{value}]"))
        }
        Check::SameSize => {
            let count = |o| items(o, tag).map(<[InMemDicomObject]>::len);
            match (count(test), count(standard)) {
                (Some(t), Some(s)) if t == s => None,
                (t, s) => Some(format!(
                    "{name}: {} item(s), the standard has {}",
                    t.map_or_else(|| "absent, no".to_owned(), |n| n.to_string()),
                    s.map_or_else(|| "none".to_owned(), |n| n.to_string())
                )),
            }
        }
        Check::Present => found.is_none().then(|| format!("{name}: not present")),
        Check::NotEmpty => found
            .is_none_or(|f| f.is_empty())
            .then(|| format!("{name}: empty or not present")),
    }
}

/// A sequence level (`DetailDcmSequenceContent`): items matched by key, each side's unmatched
/// items reported, matched pairs checked and their sub-sequence compared.
fn compare_sequence(
    level: &SequenceLevel,
    test: &InMemDicomObject,
    standard: &InMemDicomObject,
    path: &str,
    failures: &mut Vec<String>,
) {
    let here = format!("{path}{}", level.name);
    let test_items = items(test, level.sequence).unwrap_or_default();
    let standard_items = items(standard, level.sequence).unwrap_or_default();
    let key = |item: &InMemDicomObject| text(item, level.key).filter(|k| !k.is_empty());
    let mut matched = vec![false; standard_items.len()];
    for item in test_items {
        let Some(item_key) = key(item) else {
            failures.push(format!("{here}: an item without {}", level.key_name));
            continue;
        };
        let partner = standard_items
            .iter()
            .enumerate()
            .find(|(i, s)| !matched[*i] && key(s).as_deref() == Some(item_key.as_str()));
        let Some((index, partner)) = partner else {
            failures.push(format!(
                "{here}: {} {item_key} is not in the standard",
                level.key_name
            ));
            continue;
        };
        matched[index] = true;
        let item_path = format!("{here} [{} {item_key}] > ", level.key_name);
        for (check, tag, name) in level.checks {
            if let Some(failure) = check_item(*check, *tag, name, item, partner) {
                failures.push(format!("{item_path}{failure}"));
            }
        }
        if let Some(sub) = level.items {
            compare_sequence(sub, item, partner, &item_path, failures);
        }
    }
    for (item, _) in standard_items
        .iter()
        .zip(&matched)
        .filter(|(_, matched)| !**matched)
    {
        if let Some(item_key) = key(item) {
            failures.push(format!(
                "{here}: {} {item_key} of the standard is missing",
                level.key_name
            ));
        }
    }
}

/// A check on a sequence item: `Same` compares absent as empty.
fn check_item(
    check: Check,
    tag: Tag,
    name: &str,
    test: &InMemDicomObject,
    standard: &InMemDicomObject,
) -> Option<String> {
    match check {
        Check::Same => {
            let found = text(test, tag).unwrap_or_default();
            let expected = text(standard, tag).unwrap_or_default();
            (found != expected)
                .then(|| format!("{name}: [{found}] does not match the standard's [{expected}]"))
        }
        other => check_top_level(other, tag, name, test, standard),
    }
}

/// The manifest's own Series Instance UID differs from every series it references
/// (`DetailDcmKOSCrossWalk`).
fn cross_walk(test: &InMemDicomObject) -> Option<String> {
    let own = text(test, tags::SERIES_INSTANCE_UID)?;
    let referenced = items(test, EVIDENCE.sequence)
        .unwrap_or_default()
        .iter()
        .flat_map(|study| items(study, REFERENCED_SERIES.sequence).unwrap_or_default())
        .any(|series| text(series, tags::SERIES_INSTANCE_UID).as_deref() == Some(own.as_str()));
    referenced.then(|| {
        format!(
            "Series Instance UID {own} of the manifest is also a referenced series (the manifest needs a series of its own)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, PrimitiveValue, VR, value::DataSetSequence};

    fn put(object: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
        object.put(element(tag, vr, value));
    }

    fn put_items(object: &mut InMemDicomObject, tag: Tag, items: Vec<InMemDicomObject>) {
        object.put(sequence(tag, items));
    }

    fn element(tag: Tag, vr: VR, value: &str) -> DataElement<InMemDicomObject> {
        DataElement::new(tag, vr, PrimitiveValue::from(value))
    }

    fn sequence(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
        DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
    }

    /// One referenced instance of one series of one study, as the 4801a standard has it.
    fn manifest(series: &str, sop: &str) -> InMemDicomObject {
        let sop_item = InMemDicomObject::from_element_iter([
            element(
                tags::REFERENCED_SOP_CLASS_UID,
                VR::UI,
                "1.2.840.10008.5.1.4.1.1.1.1",
            ),
            element(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, "1.2.3.4.3.1"),
        ]);
        let series_item = InMemDicomObject::from_element_iter([
            element(tags::RETRIEVE_AE_TITLE, VR::AE, "DCM4CHEE"),
            sequence(tags::REFERENCED_SOP_SEQUENCE, vec![sop_item.clone()]),
            element(tags::SERIES_INSTANCE_UID, VR::UI, "1.2.3.4.2"),
            element(
                tags::RETRIEVE_LOCATION_UID,
                VR::UI,
                "1.3.6.1.4.1.21367.13.80.110",
            ),
        ]);
        let study_item = InMemDicomObject::from_element_iter([
            sequence(tags::REFERENCED_SERIES_SEQUENCE, vec![series_item]),
            element(tags::STUDY_INSTANCE_UID, VR::UI, "1.2.3.4"),
        ]);
        let content_item = InMemDicomObject::from_element_iter([
            sequence(tags::REFERENCED_SOP_SEQUENCE, vec![sop_item]),
            element(tags::VALUE_TYPE, VR::CS, "IMAGE"),
        ]);
        InMemDicomObject::from_element_iter([
            element(tags::SOP_CLASS_UID, VR::UI, KOS_SOP_CLASS_UID),
            element(tags::SOP_INSTANCE_UID, VR::UI, sop),
            element(tags::ACCESSION_NUMBER, VR::SH, "5347639127757044"),
            element(tags::MODALITY, VR::CS, "KO"),
            element(tags::PATIENT_NAME, VR::PN, "ChestXR^TwoViews"),
            element(tags::PATIENT_ID, VR::LO, "C3L-00277"),
            element(tags::PATIENT_BIRTH_DATE, VR::DA, "19601218"),
            element(tags::PATIENT_SEX, VR::CS, "M"),
            element(tags::STUDY_INSTANCE_UID, VR::UI, "1.2.3.4"),
            element(tags::SERIES_INSTANCE_UID, VR::UI, series),
            sequence(
                tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
                vec![study_item],
            ),
            sequence(tags::CONTENT_SEQUENCE, vec![content_item]),
        ])
    }

    fn standard() -> InMemDicomObject {
        manifest("2.25.1", "2.25.2")
    }

    fn submitted() -> InMemDicomObject {
        manifest("2.25.11", "2.25.12")
    }

    /// The submitted manifest with one attribute set to `value`.
    fn submitted_with(tag: Tag, vr: VR, value: &str) -> InMemDicomObject {
        let mut kos = submitted();
        put(&mut kos, tag, vr, value);
        kos
    }

    /// Applies `change` to the submitted manifest's first evidence study, series or instance.
    fn change_evidence(
        kos: &mut InMemDicomObject,
        depth: usize,
        change: &dyn Fn(&mut InMemDicomObject),
    ) {
        let mut study = items(kos, EVIDENCE.sequence).unwrap()[0].clone();
        if depth == 0 {
            change(&mut study);
        } else {
            let mut series = items(&study, REFERENCED_SERIES.sequence).unwrap()[0].clone();
            if depth == 1 {
                change(&mut series);
            } else {
                let mut sop = items(&series, REFERENCED_SOPS.sequence).unwrap()[0].clone();
                change(&mut sop);
                put_items(&mut series, REFERENCED_SOPS.sequence, vec![sop]);
            }
            put_items(&mut study, REFERENCED_SERIES.sequence, vec![series]);
        }
        put_items(kos, EVIDENCE.sequence, vec![study]);
    }

    fn single_failure(test: &InMemDicomObject) -> String {
        let failures = same_kos(test, &standard());
        assert_eq!(failures.len(), 1, "{failures:?}");
        failures[0].clone()
    }

    #[test]
    fn a_manifest_that_agrees_with_the_standard_passes() {
        assert_eq!(same_kos(&submitted(), &standard()), Vec::<String>::new());
    }

    #[test]
    fn the_sop_class_must_be_key_object_selection() {
        let mut kos = submitted();
        put(
            &mut kos,
            tags::SOP_CLASS_UID,
            VR::UI,
            "1.2.840.10008.5.1.4.1.1.88.11",
        );
        assert!(single_failure(&kos).starts_with("SOP Class UID: [1.2.840.10008.5.1.4.1.1.88.11]"));
    }

    #[test]
    fn the_modality_must_be_ko() {
        let kos = submitted_with(tags::MODALITY, VR::CS, "SR");
        assert_eq!(single_failure(&kos), "Modality: [SR], expected [KO]");
    }

    #[test]
    fn the_patient_id_must_be_the_one_of_the_images() {
        let kos = submitted_with(tags::PATIENT_ID, VR::LO, "IDS_2018-4801a");
        assert_eq!(
            single_failure(&kos),
            "Patient ID: [IDS_2018-4801a] does not match the standard's [C3L-00277]"
        );
    }

    #[test]
    fn patient_name_birth_date_sex_accession_and_study_must_be_the_same() {
        for (tag, vr, name) in [
            (tags::PATIENT_NAME, VR::PN, "Patient Name"),
            (tags::PATIENT_BIRTH_DATE, VR::DA, "Patient Birth Date"),
            (tags::PATIENT_SEX, VR::CS, "Patient Sex"),
            (tags::ACCESSION_NUMBER, VR::SH, "Accession Number"),
        ] {
            let kos = submitted_with(tag, vr, "X");
            assert!(
                single_failure(&kos).starts_with(&format!("{name}: [X]")),
                "{name}"
            );
        }
    }

    #[test]
    fn an_absent_or_empty_same_attribute_fails() {
        let mut kos = submitted();
        kos.remove_element(tags::PATIENT_SEX);
        assert_eq!(
            single_failure(&kos),
            "Patient Sex: not present, expected [M]"
        );
        let kos = submitted_with(tags::ACCESSION_NUMBER, VR::SH, "");
        assert!(single_failure(&kos).starts_with("Accession Number: [] does not match"));
    }

    #[test]
    fn the_study_instance_uid_must_be_the_same() {
        let kos = submitted_with(tags::STUDY_INSTANCE_UID, VR::UI, "9.9");
        assert_eq!(
            same_kos(&kos, &standard())[0],
            "Study Instance UID: [9.9] does not match the standard's [1.2.3.4]"
        );
    }

    #[test]
    fn the_manifest_needs_its_own_series_and_sop_instance_uids() {
        let kos = submitted_with(tags::SERIES_INSTANCE_UID, VR::UI, "2.25.1");
        assert!(single_failure(&kos).starts_with("Series Instance UID: [2.25.1] must be new"));
        let kos = submitted_with(tags::SOP_INSTANCE_UID, VR::UI, "2.25.2");
        assert!(single_failure(&kos).starts_with("SOP Instance UID: [2.25.2] must be new"));
    }

    #[test]
    fn the_content_sequence_has_as_many_items_as_the_standard() {
        let mut kos = submitted();
        let item = items(&kos, tags::CONTENT_SEQUENCE).unwrap()[0].clone();
        put_items(&mut kos, tags::CONTENT_SEQUENCE, vec![item.clone(), item]);
        assert_eq!(
            single_failure(&kos),
            "Content Sequence: 2 item(s), the standard has 1"
        );
    }

    #[test]
    fn an_evidence_study_not_in_the_standard_and_the_missing_one_are_reported() {
        let mut kos = submitted();
        change_evidence(&mut kos, 0, &|study| {
            put(study, tags::STUDY_INSTANCE_UID, VR::UI, "9.9");
        });
        assert_eq!(
            same_kos(&kos, &standard()),
            [
                "Current Requested Procedure Evidence Sequence: Study Instance UID 9.9 is not in the standard",
                "Current Requested Procedure Evidence Sequence: Study Instance UID 1.2.3.4 of the standard is missing",
            ]
        );
    }

    #[test]
    fn a_referenced_series_must_match_the_standard() {
        let mut kos = submitted();
        change_evidence(&mut kos, 1, &|series| {
            put(series, tags::SERIES_INSTANCE_UID, VR::UI, "9.9");
        });
        let failures = same_kos(&kos, &standard());
        assert!(
            failures[0].ends_with(
                "Referenced Series Sequence: Series Instance UID 9.9 is not in the standard"
            ),
            "{failures:?}"
        );
        assert_eq!(failures.len(), 2);
    }

    #[test]
    fn the_retrieve_ae_title_must_not_be_empty() {
        let mut kos = submitted();
        change_evidence(&mut kos, 1, &|series| {
            put(series, tags::RETRIEVE_AE_TITLE, VR::AE, "");
        });
        assert!(single_failure(&kos).ends_with("Retrieve AE Title: empty or not present"));
    }

    #[test]
    fn the_retrieve_location_uid_must_be_the_configured_repository_unique_id() {
        let mut kos = submitted();
        change_evidence(&mut kos, 1, &|series| {
            put(series, tags::RETRIEVE_LOCATION_UID, VR::UI, "1.2.3");
        });
        assert!(single_failure(&kos).ends_with(
            "Retrieve Location UID: [1.2.3] does not match the standard's [1.3.6.1.4.1.21367.13.80.110]"
        ));
        let mut kos = submitted();
        change_evidence(&mut kos, 1, &|series| {
            series.remove_element(tags::RETRIEVE_LOCATION_UID);
        });
        assert_eq!(same_kos(&kos, &standard()).len(), 2);
    }

    #[test]
    fn a_referenced_instance_must_have_the_standards_sop_class_and_instance() {
        let mut kos = submitted();
        change_evidence(&mut kos, 2, &|sop| {
            put(
                sop,
                tags::REFERENCED_SOP_CLASS_UID,
                VR::UI,
                "1.2.840.10008.5.1.4.1.1.2",
            );
        });
        assert!(single_failure(&kos).ends_with(
            "Referenced SOP Class UID: [1.2.840.10008.5.1.4.1.1.2] does not match the standard's [1.2.840.10008.5.1.4.1.1.1.1]"
        ));
        let mut kos = submitted();
        change_evidence(&mut kos, 2, &|sop| {
            put(sop, tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, "9.9");
        });
        let failures = same_kos(&kos, &standard());
        assert!(failures[0].ends_with("Referenced SOP Instance UID 9.9 is not in the standard"));
        assert!(
            failures[1]
                .ends_with("Referenced SOP Instance UID 1.2.3.4.3.1 of the standard is missing")
        );
    }

    #[test]
    fn the_manifest_series_must_not_be_a_referenced_series() {
        let kos = submitted_with(tags::SERIES_INSTANCE_UID, VR::UI, "1.2.3.4.2");
        assert_eq!(
            single_failure(&kos),
            "Series Instance UID 1.2.3.4.2 of the manifest is also a referenced series (the manifest needs a series of its own)"
        );
    }
}
