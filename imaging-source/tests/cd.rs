//! Folder import (IHE PDI media or a plain folder): DICOMDIR followed when consistent, file scan
//! otherwise, every unusable file reported. Files are generated in the test.

mod support;

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use imaging_source::cd::{ProblemKind, describe, scan_folder};

fn two_series(dir: &std::path::Path) {
    support::write_instance(
        &dir.join("A/1.dcm"),
        "2.25.50",
        "2.25.50.1",
        "2.25.50.1.1",
        "CT",
        1,
    );
    support::write_instance(
        &dir.join("A/2.dcm"),
        "2.25.50",
        "2.25.50.1",
        "2.25.50.1.2",
        "CT",
        2,
    );
    support::write_instance(
        &dir.join("B/1.dcm"),
        "2.25.50",
        "2.25.50.2",
        "2.25.50.2.1",
        "MR",
        1,
    );
}

/// A DICOMDIR naming `files` (each: path components, SOP Instance UID).
fn write_dicomdir(dir: &std::path::Path, files: &[(&[&str], &str)]) {
    let records: Vec<InMemDicomObject> = files
        .iter()
        .map(|(components, sop)| {
            InMemDicomObject::from_element_iter([
                DataElement::new(
                    tags::DIRECTORY_RECORD_TYPE,
                    VR::CS,
                    PrimitiveValue::from("IMAGE"),
                ),
                DataElement::new(
                    tags::REFERENCED_FILE_ID,
                    VR::CS,
                    PrimitiveValue::Strs(components.iter().map(|c| c.to_string()).collect()),
                ),
                DataElement::new(
                    tags::REFERENCED_SOP_INSTANCE_UID_IN_FILE,
                    VR::UI,
                    PrimitiveValue::from(*sop),
                ),
            ])
        })
        .collect();
    let obj = InMemDicomObject::from_element_iter([
        DataElement::new(tags::FILE_SET_ID, VR::CS, PrimitiveValue::from("TEST")),
        DataElement::new(
            tags::DIRECTORY_RECORD_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(records),
        ),
    ]);
    obj.with_meta(
        FileMetaTableBuilder::new()
            .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
            .media_storage_sop_class_uid(uids::MEDIA_STORAGE_DIRECTORY_STORAGE)
            .media_storage_sop_instance_uid("2.25.99"),
    )
    .unwrap()
    .write_to_file(dir.join("DICOMDIR"))
    .unwrap();
}

#[test]
fn file_scan_groups_instances_into_one_study_with_its_files() {
    let dir = tempfile::tempdir().unwrap();
    two_series(dir.path());
    let scan = scan_folder(dir.path()).unwrap();
    assert!(!scan.from_dicomdir);
    assert!(scan.problems.is_empty(), "{:?}", scan.problems);
    assert_eq!(scan.studies.len(), 1);
    let (study, files) = &scan.studies[0];
    assert_eq!(study.instance_count(), 3);
    assert_eq!(files.len(), 3);
    assert_eq!(study.modalities(), ["CT", "MR"]);
    assert_eq!(study.patient.issuer.as_deref(), Some(support::LOCAL_OID));
    let line = describe(study);
    assert!(
        line.contains("Doe^Jane")
            && line.contains("19700101")
            && line.contains("CT/MR")
            && line.contains("3 instances"),
        "{line}"
    );
}

#[test]
fn files_are_listed_in_the_order_of_the_instances() {
    let dir = tempfile::tempdir().unwrap();
    two_series(dir.path());
    let scan = scan_folder(dir.path()).unwrap();
    let (study, files) = &scan.studies[0];
    for (instance, file) in study.series.iter().flat_map(|s| &s.instances).zip(files) {
        let header = imaging_source::cd::read_header(file).unwrap();
        assert_eq!(header.instance.sop_instance_uid, instance.sop_instance_uid);
    }
}

#[test]
fn non_dicom_file_is_reported_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    two_series(dir.path());
    std::fs::write(dir.path().join("README.TXT"), "a viewer is on this disc").unwrap();
    let scan = scan_folder(dir.path()).unwrap();
    assert_eq!(scan.studies[0].0.instance_count(), 3);
    assert_eq!(scan.problems.len(), 1);
    assert_eq!(scan.problems[0].kind, ProblemKind::NotDicom);
    assert!(scan.problems[0].path.ends_with("README.TXT"));
}

#[test]
fn truncated_dicom_file_is_reported_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    two_series(dir.path());
    let bytes = std::fs::read(dir.path().join("A/1.dcm")).unwrap();
    std::fs::write(dir.path().join("A/1.dcm"), &bytes[..200]).unwrap();
    let scan = scan_folder(dir.path()).unwrap();
    assert_eq!(scan.studies[0].0.instance_count(), 2);
    assert_eq!(scan.problems.len(), 1);
    assert_eq!(scan.problems[0].kind, ProblemKind::Unreadable);
}

#[test]
fn duplicate_sop_instance_is_kept_once_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    two_series(dir.path());
    std::fs::copy(dir.path().join("A/1.dcm"), dir.path().join("A/copy.dcm")).unwrap();
    let scan = scan_folder(dir.path()).unwrap();
    assert_eq!(scan.studies[0].0.instance_count(), 3);
    assert_eq!(scan.studies[0].1.len(), 3);
    assert_eq!(scan.problems.len(), 1);
    assert_eq!(scan.problems[0].kind, ProblemKind::Duplicate);
}

#[test]
fn consistent_dicomdir_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    two_series(dir.path());
    // the DICOMDIR names two of the three files: only those are read
    write_dicomdir(
        dir.path(),
        &[
            (&["A", "1.dcm"], "2.25.50.1.1"),
            (&["b", "1.DCM"], "2.25.50.2.1"),
        ],
    );
    let scan = scan_folder(dir.path()).unwrap();
    assert!(scan.from_dicomdir);
    assert!(scan.problems.is_empty(), "{:?}", scan.problems);
    assert_eq!(scan.studies[0].0.instance_count(), 2);
}

#[test]
fn dicomdir_naming_a_missing_file_falls_back_to_a_file_scan() {
    let dir = tempfile::tempdir().unwrap();
    two_series(dir.path());
    write_dicomdir(
        dir.path(),
        &[
            (&["A", "1.dcm"], "2.25.50.1.1"),
            (&["C", "9.dcm"], "2.25.50.9"),
        ],
    );
    let scan = scan_folder(dir.path()).unwrap();
    assert!(!scan.from_dicomdir);
    assert_eq!(scan.studies[0].0.instance_count(), 3);
    assert_eq!(scan.problems.len(), 1);
    assert_eq!(scan.problems[0].kind, ProblemKind::DicomdirInconsistent);
}

#[test]
fn missing_folder_is_an_error() {
    assert!(scan_folder(std::path::Path::new("/nonexistent/cd")).is_err());
}

#[tokio::test]
async fn imported_study_lands_in_the_instance_store_and_scans_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let disc = dir.path().join("disc");
    two_series(&disc);
    let scan = scan_folder(&disc).unwrap();
    let (study, files) = &scan.studies[0];
    let store = imaging_source::instance_store::InstanceStore::new(dir.path().join("store"));
    let mut count = 0;
    let total = store
        .import_study(study, files, |_| count += 1)
        .await
        .unwrap();
    assert_eq!(count, 3);
    assert_eq!(
        total,
        files
            .iter()
            .map(|f| std::fs::metadata(f).unwrap().len())
            .sum::<u64>()
    );
    assert!(
        store
            .path("2.25.50", "2.25.50.2", "2.25.50.2.1")
            .unwrap()
            .is_file()
    );
    let rescan = scan_folder(&store.study_dir("2.25.50").unwrap()).unwrap();
    assert!(rescan.problems.is_empty());
    assert_eq!(rescan.studies[0].0.instance_count(), 3);
}
