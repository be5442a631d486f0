//! RAD-68 manifest (IHE RAD TF-3 4.68.4.1.2.1): the KOS is read back with dicom-object.

mod support;

use dicom_dictionary_std::tags;
use dicom_object::{InMemDicomObject, from_reader};
use imaging_source::kos::{KOS_SOP_CLASS_UID, KosError, build_manifest, to_part10};

fn read_back() -> InMemDicomObject {
    let bytes =
        to_part10(&build_manifest(&support::study(), &support::manifest_options()).unwrap())
            .unwrap();
    assert_eq!(&bytes[128..132], b"DICM");
    from_reader(&bytes[128..]).unwrap().into_inner()
}

fn s(obj: &InMemDicomObject, tag: dicom_core::Tag) -> String {
    obj.element(tag)
        .unwrap()
        .to_str()
        .unwrap()
        .trim_end_matches('\0')
        .trim()
        .to_owned()
}

fn items(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Vec<InMemDicomObject> {
    obj.element(tag).unwrap().items().unwrap().to_vec()
}

#[test]
fn manifest_is_a_key_object_selection_document() {
    let kos = read_back();
    assert_eq!(s(&kos, tags::SOP_CLASS_UID), KOS_SOP_CLASS_UID);
    assert_eq!(s(&kos, tags::MODALITY), "KO");
    assert_eq!(s(&kos, tags::VALUE_TYPE), "CONTAINER");
    assert_eq!(s(&kos, tags::CONTINUITY_OF_CONTENT), "SEPARATE");
    let template = &items(&kos, tags::CONTENT_TEMPLATE_SEQUENCE)[0];
    assert_eq!(s(template, tags::TEMPLATE_IDENTIFIER), "2010");
}

#[test]
fn document_title_is_113030_manifest() {
    let kos = read_back();
    let title = &items(&kos, tags::CONCEPT_NAME_CODE_SEQUENCE)[0];
    assert_eq!(s(title, tags::CODE_VALUE), "113030");
    assert_eq!(s(title, tags::CODING_SCHEME_DESIGNATOR), "DCM");
    assert_eq!(s(title, tags::CODE_MEANING), "Manifest");
}

#[test]
fn evidence_sequence_lists_every_series_and_instance_with_retrieve_location() {
    let kos = read_back();
    let study = support::study();
    let evidence = items(&kos, tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE);
    assert_eq!(evidence.len(), 1);
    assert_eq!(
        s(&evidence[0], tags::STUDY_INSTANCE_UID),
        study.study_instance_uid
    );
    let series = items(&evidence[0], tags::REFERENCED_SERIES_SEQUENCE);
    assert_eq!(series.len(), study.series.len());
    for (item, expected) in series.iter().zip(&study.series) {
        assert_eq!(
            s(item, tags::SERIES_INSTANCE_UID),
            expected.series_instance_uid
        );
        assert_eq!(s(item, tags::RETRIEVE_AE_TITLE), "HIE-IDS");
        assert_eq!(
            s(item, tags::RETRIEVE_LOCATION_UID),
            support::REPOSITORY_UID
        );
        let sops: Vec<String> = items(item, tags::REFERENCED_SOP_SEQUENCE)
            .iter()
            .map(|i| s(i, tags::REFERENCED_SOP_INSTANCE_UID))
            .collect();
        let wanted: Vec<String> = expected
            .instances
            .iter()
            .map(|i| i.sop_instance_uid.clone())
            .collect();
        assert_eq!(sops, wanted);
    }
}

#[test]
fn content_tree_references_the_same_instances_as_the_evidence() {
    let kos = read_back();
    let content = items(&kos, tags::CONTENT_SEQUENCE);
    let referenced: Vec<String> = content
        .iter()
        .filter(|i| s(i, tags::VALUE_TYPE) == "IMAGE")
        .map(|i| {
            s(
                &items(i, tags::REFERENCED_SOP_SEQUENCE)[0],
                tags::REFERENCED_SOP_INSTANCE_UID,
            )
        })
        .collect();
    assert_eq!(
        referenced,
        ["2.25.1001.1.1", "2.25.1001.1.2", "2.25.1001.2.1"]
    );
    assert_eq!(s(&content[0], tags::VALUE_TYPE), "TEXT");
    assert_eq!(s(&content[0], tags::TEXT_VALUE), "CT CHEST");
}

#[test]
fn retrieve_url_is_written_per_series_when_configured() {
    let mut options = support::manifest_options();
    options.retrieve_url = Some("http://127.0.0.1:8042/dicom-web/".into());
    let bytes = to_part10(&build_manifest(&support::study(), &options).unwrap()).unwrap();
    let kos = from_reader(&bytes[128..]).unwrap().into_inner();
    let evidence = items(&kos, tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE);
    let series = items(&evidence[0], tags::REFERENCED_SERIES_SEQUENCE);
    assert_eq!(
        s(&series[1], tags::RETRIEVE_URL),
        "http://127.0.0.1:8042/dicom-web/studies/2.25.1001/series/2.25.1001.2"
    );
}

#[test]
fn referenced_request_carries_accession_number_and_its_issuer() {
    let kos = read_back();
    let request = &items(&kos, tags::REFERENCED_REQUEST_SEQUENCE)[0];
    assert_eq!(s(request, tags::ACCESSION_NUMBER), "ACC-0001");
    assert_eq!(s(request, tags::STUDY_INSTANCE_UID), "2.25.1001");
    let issuer = &items(request, tags::ISSUER_OF_ACCESSION_NUMBER_SEQUENCE)[0];
    assert_eq!(s(issuer, tags::UNIVERSAL_ENTITY_ID), support::ACCESSION_OID);
    assert_eq!(s(issuer, tags::UNIVERSAL_ENTITY_ID_TYPE), "ISO");
    assert!(items(request, tags::REFERENCED_STUDY_SEQUENCE).is_empty());
}

#[test]
fn patient_module_carries_the_affinity_domain_id_and_keeps_the_local_one() {
    let kos = read_back();
    assert_eq!(s(&kos, tags::PATIENT_ID), "IHE-4801");
    assert_eq!(s(&kos, tags::ISSUER_OF_PATIENT_ID), support::AD_OID);
    let qualifiers = &items(&kos, tags::ISSUER_OF_PATIENT_ID_QUALIFIERS_SEQUENCE)[0];
    assert_eq!(s(qualifiers, tags::UNIVERSAL_ENTITY_ID), support::AD_OID);
    assert_eq!(s(qualifiers, tags::UNIVERSAL_ENTITY_ID_TYPE), "ISO");
    let other = &items(&kos, tags::OTHER_PATIENT_I_DS_SEQUENCE)[0];
    assert_eq!(s(other, tags::PATIENT_ID), "PAT-0001");
    assert_eq!(s(other, tags::ISSUER_OF_PATIENT_ID), support::LOCAL_OID);
    assert_eq!(s(&kos, tags::PATIENT_NAME), "Müller^Anna");
}

#[test]
fn study_without_instances_has_no_manifest() {
    let mut study = support::study();
    study.series.clear();
    assert!(matches!(
        build_manifest(&study, &support::manifest_options()),
        Err(KosError::EmptyStudy { .. })
    ));
}

#[test]
fn invalid_retrieve_location_uid_is_refused() {
    let mut options = support::manifest_options();
    options.retrieve_location_uid = "not-a-uid".into();
    assert!(matches!(
        build_manifest(&support::study(), &options),
        Err(KosError::InvalidUid {
            what: "Retrieve Location UID",
            ..
        })
    ));
}

fn read_back_of(study: &imaging_source::study::Study) -> InMemDicomObject {
    let bytes = to_part10(&build_manifest(study, &support::manifest_options()).unwrap()).unwrap();
    from_reader(&bytes[128..]).unwrap().into_inner()
}

#[test]
fn study_procedure_code_is_in_the_study_module_and_the_referenced_request() {
    let kos = read_back();
    let procedure = &items(&kos, tags::PROCEDURE_CODE_SEQUENCE)[0];
    assert_eq!(s(procedure, tags::CODE_VALUE), "24627-2");
    assert_eq!(s(procedure, tags::CODING_SCHEME_DESIGNATOR), "LN");
    assert_eq!(s(procedure, tags::CODE_MEANING), "CT Chest");
    let request = &items(&kos, tags::REFERENCED_REQUEST_SEQUENCE)[0];
    let requested = items(request, tags::REQUESTED_PROCEDURE_CODE_SEQUENCE);
    assert_eq!(requested.len(), 1);
    assert_eq!(s(&requested[0], tags::CODE_VALUE), "24627-2");
}

#[test]
fn requested_procedure_code_is_the_first_of_several_and_long_values_go_in_long_code_value() {
    let mut study = support::study();
    study.procedure_codes.insert(
        0,
        imaging_source::study::CodedEntry {
            value: "RID50444.CT.CHEST.LONG".into(),
            scheme: "RADLEX".into(),
            meaning: "CT chest".into(),
        },
    );
    let kos = read_back_of(&study);
    let procedures = items(&kos, tags::PROCEDURE_CODE_SEQUENCE);
    assert_eq!(procedures.len(), 2);
    assert_eq!(
        s(&procedures[0], tags::LONG_CODE_VALUE),
        "RID50444.CT.CHEST.LONG"
    );
    assert!(procedures[0].element(tags::CODE_VALUE).is_err());
    let request = &items(&kos, tags::REFERENCED_REQUEST_SEQUENCE)[0];
    let requested = items(request, tags::REQUESTED_PROCEDURE_CODE_SEQUENCE);
    assert_eq!(requested.len(), 1, "zero or one item (PS3.3 Table C.17-2)");
    assert_eq!(s(&requested[0], tags::CODING_SCHEME_DESIGNATOR), "RADLEX");
}

#[test]
fn study_without_procedure_code_has_an_empty_requested_procedure_code_sequence() {
    let mut study = support::study();
    study.procedure_codes.clear();
    let kos = read_back_of(&study);
    assert!(kos.element(tags::PROCEDURE_CODE_SEQUENCE).is_err());
    let request = &items(&kos, tags::REFERENCED_REQUEST_SEQUENCE)[0];
    assert!(items(request, tags::REQUESTED_PROCEDURE_CODE_SEQUENCE).is_empty());
}

#[test]
fn manifest_times_are_in_the_study_timezone_offset_which_the_manifest_carries() {
    let mut study = support::study();
    study.timezone_offset = Some("+0530".into());
    // manifest_options() creates the manifest at 2026-11-02 10:00:00 UTC.
    let kos = read_back_of(&study);
    assert_eq!(s(&kos, tags::TIMEZONE_OFFSET_FROM_UTC), "+0530");
    assert_eq!(s(&kos, tags::CONTENT_DATE), "20261102");
    assert_eq!(s(&kos, tags::CONTENT_TIME), "153000");
    assert_eq!(s(&kos, tags::INSTANCE_CREATION_TIME), "153000");
    study.timezone_offset = Some("-1100".into());
    let kos = read_back_of(&study);
    assert_eq!(s(&kos, tags::TIMEZONE_OFFSET_FROM_UTC), "-1100");
    assert_eq!(s(&kos, tags::CONTENT_DATE), "20261101");
    assert_eq!(s(&kos, tags::CONTENT_TIME), "230000");
}

#[test]
fn manifest_of_a_study_without_a_valid_offset_is_in_host_local_time_with_no_offset() {
    let created = chrono::DateTime::<chrono::Utc>::from_timestamp(
        support::manifest_options().created.unix_timestamp(),
        0,
    )
    .unwrap()
    .with_timezone(&chrono::Local);
    for offset in [None, Some("UTC+1")] {
        let mut study = support::study();
        study.timezone_offset = offset.map(Into::into);
        let kos = read_back_of(&study);
        assert!(kos.element(tags::TIMEZONE_OFFSET_FROM_UTC).is_err());
        assert_eq!(
            s(&kos, tags::CONTENT_DATE),
            created.format("%Y%m%d").to_string()
        );
        assert_eq!(
            s(&kos, tags::CONTENT_TIME),
            created.format("%H%M%S").to_string()
        );
    }
}
