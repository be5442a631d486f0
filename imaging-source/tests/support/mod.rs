//! Shared fixtures: small synthetic studies and DICOM files generated in the test.
// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

pub mod orthanc;
pub mod pix;
pub mod reports;
pub mod silent_pacs;
pub mod xds;

use std::path::Path;

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use imaging_source::kos::{AffinityPatient, ManifestOptions};
use imaging_source::study::{CodedEntry, Instance, PatientInfo, Series, Study};

pub const AD_OID: &str = "1.3.6.1.4.1.21367.2005.13.20.1000";
pub const LOCAL_OID: &str = "1.2.3.4.5.6.7.8.1";
pub const ACCESSION_OID: &str = "1.2.3.4.5.6.7.8.2";
pub const REPOSITORY_UID: &str = "1.3.6.1.4.1.21367.13.80.110";

/// A two-series CT + MR study of three instances.
pub fn study() -> Study {
    Study {
        study_instance_uid: "2.25.1001".into(),
        patient: PatientInfo {
            id: "PAT-0001".into(),
            issuer: Some(LOCAL_OID.into()),
            name: Some("Müller^Anna".into()),
            birth_date: Some("19700101".into()),
            sex: Some("F".into()),
        },
        accession_number: Some("ACC-0001".into()),
        accession_issuer: Some(ACCESSION_OID.into()),
        study_date: Some("20261101".into()),
        study_time: Some("093000".into()),
        timezone_offset: Some("+0000".into()),
        description: Some("CT CHEST".into()),
        procedure_codes: vec![CodedEntry {
            value: "24627-2".into(),
            scheme: "LN".into(),
            meaning: "CT Chest".into(),
        }],
        referring_physician: Some("Welby^Marcus".into()),
        institution_name: Some("General Hospital".into()),
        study_id: Some("S1".into()),
        series: vec![
            Series {
                series_instance_uid: "2.25.1001.1".into(),
                modality: "CT".into(),
                body_part: Some("CHEST".into()),
                description: Some("Thorax".into()),
                number: Some(1),
                instances: vec![
                    instance(uids::CT_IMAGE_STORAGE, "2.25.1001.1.1", 1),
                    instance(uids::CT_IMAGE_STORAGE, "2.25.1001.1.2", 2),
                ],
            },
            Series {
                series_instance_uid: "2.25.1001.2".into(),
                modality: "MR".into(),
                body_part: Some("HEAD".into()),
                description: None,
                number: Some(2),
                instances: vec![instance(uids::MR_IMAGE_STORAGE, "2.25.1001.2.1", 1)],
            },
        ],
    }
}

pub fn instance(class: &str, uid: &str, number: i32) -> Instance {
    Instance {
        sop_class_uid: class.into(),
        sop_instance_uid: uid.into(),
        number: Some(number),
        transfer_syntax_uid: Some(uids::EXPLICIT_VR_LITTLE_ENDIAN.into()),
    }
}

pub fn manifest_options() -> ManifestOptions {
    ManifestOptions {
        affinity_patient: AffinityPatient {
            id: "IHE-4801".into(),
            assigning_authority: AD_OID.into(),
        },
        retrieve_ae_title: "HIE-IDS".into(),
        retrieve_location_uid: REPOSITORY_UID.into(),
        retrieve_url: None,
        sop_instance_uid: imaging_source::study::new_uid(),
        series_instance_uid: imaging_source::study::new_uid(),
        created: time::macros::datetime!(2026-11-02 10:00:00 UTC),
    }
}

fn el(tag: dicom_core::Tag, vr: VR, v: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(v))
}

/// The SOP, patient (PAT-0001, issuer [`LOCAL_OID`]), study (CT CHEST, ACC-0001) and series
/// attributes of instance `sop_uid` of class `sop_class`.
pub fn instance_attributes(
    sop_class: &str,
    study_uid: &str,
    series_uid: &str,
    sop_uid: &str,
    modality: &str,
    number: i32,
) -> InMemDicomObject {
    let issuer = InMemDicomObject::from_element_iter([
        el(tags::UNIVERSAL_ENTITY_ID, VR::UT, LOCAL_OID),
        el(tags::UNIVERSAL_ENTITY_ID_TYPE, VR::CS, "ISO"),
    ]);
    InMemDicomObject::from_element_iter([
        el(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192"),
        el(tags::SOP_CLASS_UID, VR::UI, sop_class),
        el(tags::SOP_INSTANCE_UID, VR::UI, sop_uid),
        el(tags::STUDY_DATE, VR::DA, "20261101"),
        el(tags::STUDY_TIME, VR::TM, "093000"),
        el(tags::ACCESSION_NUMBER, VR::SH, "ACC-0001"),
        el(tags::MODALITY, VR::CS, modality),
        el(tags::STUDY_DESCRIPTION, VR::LO, "CT CHEST"),
        el(tags::PATIENT_NAME, VR::PN, "Doe^Jane"),
        el(tags::PATIENT_ID, VR::LO, "PAT-0001"),
        el(tags::ISSUER_OF_PATIENT_ID, VR::LO, "HOSP"),
        DataElement::new(
            tags::ISSUER_OF_PATIENT_ID_QUALIFIERS_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![issuer]),
        ),
        el(tags::PATIENT_BIRTH_DATE, VR::DA, "19700101"),
        el(tags::PATIENT_SEX, VR::CS, "F"),
        el(tags::STUDY_INSTANCE_UID, VR::UI, study_uid),
        el(tags::SERIES_INSTANCE_UID, VR::UI, series_uid),
        el(tags::SERIES_NUMBER, VR::IS, "1"),
        el(tags::INSTANCE_NUMBER, VR::IS, &number.to_string()),
    ])
}

/// Writes `obj` as a Part-10 file (Explicit VR Little Endian), creating its folder.
pub fn write_part10(obj: InMemDicomObject, path: &Path) {
    let file = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .unwrap();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    file.write_to_file(path).unwrap();
}

/// Writes one small CT instance (4x4 pixels) of `study` / `series` as a Part-10 file.
pub fn write_instance(
    path: &Path,
    study_uid: &str,
    series_uid: &str,
    sop_uid: &str,
    modality: &str,
    number: i32,
) {
    let mut obj = instance_attributes(
        uids::CT_IMAGE_STORAGE,
        study_uid,
        series_uid,
        sop_uid,
        modality,
        number,
    );
    for element in [
        el(tags::BODY_PART_EXAMINED, VR::CS, "CHEST"),
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(4u16)),
        DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(4u16)),
        DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::from(vec![0u8; 32]),
        ),
    ] {
        obj.put(element);
    }
    write_part10(obj, path);
}

/// Runs a peer program, failing the test with a clear message when it is not installed.
pub fn run_peer(program: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("peer {program} is required (see .ci/run): {e}"))
}

/// The shared reference folder: `$HIE_SHARED_DIR`, else `<workspace root>/../shared`.
pub fn shared_dir() -> std::path::PathBuf {
    let dir = std::env::var_os("HIE_SHARED_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    assert!(
        dir.join("tools/make_study.py").is_file(),
        "../shared (or $HIE_SHARED_DIR) with tools/make_study.py is required: {}",
        dir.display()
    );
    dir
}

/// Runs `make_study.py` (python3 + pydicom + numpy) with `args`, writing into `out`.
pub fn make_study(out: &Path, args: &[&str]) {
    let script = shared_dir().join("tools/make_study.py");
    let mut all = vec![
        script.to_str().unwrap(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let output = run_peer("python3", &all);
    assert!(
        output.status.success(),
        "make_study.py failed (python3 with pydicom and numpy is required, see .ci/run): {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
