//! Folder import of studies written by `make_study.py` (pydicom): an IHE PDI folder with its
//! DICOMDIR, and a plain folder with broken files.
#![cfg(feature = "peers")]

mod support;

use imaging_source::cd::{ProblemKind, scan_folder};

#[test]
fn pdi_folder_is_read_through_its_dicomdir() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mr3");
    support::make_study(&out, &["--preset", "mr3", "--dicomdir"]);
    let scan = scan_folder(&out).unwrap();
    assert!(scan.from_dicomdir, "{:?}", scan.problems);
    assert!(scan.problems.is_empty(), "{:?}", scan.problems);
    assert_eq!(scan.studies.len(), 1);
    let (study, files) = &scan.studies[0];
    assert_eq!(study.series.len(), 3);
    assert_eq!(study.instance_count(), 34);
    assert_eq!(files.len(), 34);
    assert_eq!(study.patient.name.as_deref(), Some("DOE^JANE"));
    assert_eq!(study.patient.issuer.as_deref(), Some("1.2.3.4.5.6.7.8.1"));
    assert_eq!(study.accession_issuer.as_deref(), Some("1.2.3.4.5.6.7.8.2"));
    assert_eq!(study.modalities(), ["MR"]);
}

#[test]
fn folder_with_broken_files_lists_the_good_ones_and_reports_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tiny");
    support::make_study(&out, &["--preset", "tiny"]);
    let scan = scan_folder(&out).unwrap();
    let (_, files) = &scan.studies[0];
    let broken = files[0].clone();
    let bytes = std::fs::read(&broken).unwrap();
    std::fs::write(&broken, &bytes[..300]).unwrap();
    std::fs::write(out.join("notes.txt"), "not an image").unwrap();
    let scan = scan_folder(&out).unwrap();
    assert_eq!(scan.studies[0].0.instance_count(), 2);
    let mut kinds: Vec<(ProblemKind, String)> = scan
        .problems
        .iter()
        .map(|p| {
            (
                p.kind,
                p.path.file_name().unwrap().to_string_lossy().into_owned(),
            )
        })
        .collect();
    kinds.sort_by(|a, b| a.1.cmp(&b.1));
    // study.json is make_study's fixture list, not DICOM: it is reported too
    assert!(
        kinds.contains(&(ProblemKind::NotDicom, "notes.txt".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(ProblemKind::NotDicom, "study.json".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.iter().any(|(k, name)| *k == ProblemKind::Unreadable
            && name == broken.file_name().unwrap().to_str().unwrap()),
        "{kinds:?}"
    );
    assert_eq!(kinds.len(), 3, "{kinds:?}");
}
