//! IHE Import Reconciliation (RAD IRWF.b, DICOM PS3.3 C.12.1): one test per rule, on instances
//! built here, rewritten by the importer and read back; the import as a whole against an
//! in-process DICOMweb PACS (QIDO-RS for the UID collision check, STOW-RS that keeps what it
//! receives and can refuse chosen instances).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject, OpenFileOptions};
use imaging_source::import_reconciliation::part10::SplitInstance;
use imaging_source::import_reconciliation::rules::{ReconcileError, text};
use imaging_source::import_reconciliation::{
    AccessionRule, ImportOptions, LocalPatient, NoProgress, Reconciliation, import_instances,
};

const STUDY: &str = "1.2.826.0.1.3680043.8.498.77";
const SERIES: &str = "1.2.826.0.1.3680043.8.498.77.1";
const HOSPITAL_A_OID: &str = "1.2.3.4.5.6.7.8.1";
const HOSPITAL_B_OID: &str = "1.2.3.4.5.6.7.9.1";

fn el(tag: Tag, vr: VR, v: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(v))
}

/// Hospital A's CT instance `number` (8x8, 16-bit, distinct pixel values) with a trailing
/// padding element after Pixel Data.
fn write_outside_instance(dir: &Path, number: u16) -> PathBuf {
    let sop = format!("{SERIES}.{number}");
    let issuer = InMemDicomObject::from_element_iter([
        el(tags::UNIVERSAL_ENTITY_ID, VR::UT, HOSPITAL_A_OID),
        el(tags::UNIVERSAL_ENTITY_ID_TYPE, VR::CS, "ISO"),
    ]);
    let pixels: Vec<u8> = (0..128u16)
        .flat_map(|i| (i * 7 + number).to_le_bytes())
        .collect();
    let obj = InMemDicomObject::from_element_iter([
        el(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100"),
        el(tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE),
        el(tags::SOP_INSTANCE_UID, VR::UI, &sop),
        el(tags::ACCESSION_NUMBER, VR::SH, "ACC-0001"),
        DataElement::new(
            tags::ISSUER_OF_ACCESSION_NUMBER_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![InMemDicomObject::from_element_iter([
                el(tags::UNIVERSAL_ENTITY_ID, VR::UT, "1.2.3.4.5.6.7.8.2"),
                el(tags::UNIVERSAL_ENTITY_ID_TYPE, VR::CS, "ISO"),
            ])]),
        ),
        el(tags::MODALITY, VR::CS, "CT"),
        el(tags::INSTITUTION_NAME, VR::LO, "Hospital A"),
        el(tags::PATIENT_NAME, VR::PN, "Doe^Jane"),
        el(tags::PATIENT_ID, VR::LO, "PAT-0001"),
        el(tags::ISSUER_OF_PATIENT_ID, VR::LO, "HOSPA"),
        DataElement::new(
            tags::ISSUER_OF_PATIENT_ID_QUALIFIERS_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![issuer]),
        ),
        el(tags::PATIENT_BIRTH_DATE, VR::DA, "19700101"),
        el(tags::PATIENT_SEX, VR::CS, "F"),
        el(tags::STUDY_INSTANCE_UID, VR::UI, STUDY),
        el(tags::SERIES_INSTANCE_UID, VR::UI, SERIES),
        el(tags::INSTANCE_NUMBER, VR::IS, &number.to_string()),
        DataElement::new(
            tags::REFERENCED_IMAGE_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![InMemDicomObject::from_element_iter([
                el(
                    tags::REFERENCED_SOP_CLASS_UID,
                    VR::UI,
                    uids::CT_IMAGE_STORAGE,
                ),
                el(
                    tags::REFERENCED_SOP_INSTANCE_UID,
                    VR::UI,
                    &format!("{SERIES}.1"),
                ),
            ])]),
        ),
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(8u16)),
        DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(8u16)),
        DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16u16)),
        DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::from(pixels)),
        DataElement::new(
            tags::DATA_SET_TRAILING_PADDING,
            VR::OB,
            PrimitiveValue::from(vec![0u8; 6]),
        ),
    ]);
    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
                .media_storage_sop_class_uid(uids::CT_IMAGE_STORAGE)
                .media_storage_sop_instance_uid(sop.as_str()),
        )
        .unwrap();
    let path = dir.join(format!("{number}.dcm"));
    file.write_to_file(&path).unwrap();
    path
}

fn local_patient() -> LocalPatient {
    LocalPatient {
        id: "LOCAL-42".into(),
        issuer: Some("HOSPB".into()),
        issuer_oid: Some(HOSPITAL_B_OID.into()),
        name: Some("Doe^Jane^M".into()),
        birth_date: Some("19700102".into()),
        sex: Some("F".into()),
    }
}

fn reconciliation() -> Reconciliation {
    Reconciliation {
        patient: local_patient(),
        accession: AccessionRule::Prefixed("OUT_".into()),
        accession_issuer_oid: None,
        outside_institution: "OUTSIDE INSTITUTION".into(),
        modifying_system: "HIE-IMPORT".into(),
        modified_at: "20261124010000+0000".into(),
        uid_map: HashMap::new(),
    }
}

/// Reconciles `source` with `rules` into a new file and reads it back whole.
fn reconciled(source: &Path, rules: &Reconciliation) -> dicom_object::DefaultDicomObject {
    let mut split = SplitInstance::read(source).unwrap();
    rules.apply(&mut split.header).unwrap();
    let out = source.with_extension("reconciled");
    let mut file = std::fs::File::create(&out).unwrap();
    split.write_to(&mut file).unwrap();
    drop(file);
    OpenFileOptions::new().open_file(&out).unwrap()
}

fn one_reconciled(rules: &Reconciliation) -> dicom_object::DefaultDicomObject {
    let dir = tempfile::tempdir().unwrap();
    let source = write_outside_instance(dir.path(), 1);
    reconciled(&source, rules)
}

fn modified_attributes(obj: &InMemDicomObject) -> InMemDicomObject {
    let items = obj
        .get(tags::ORIGINAL_ATTRIBUTES_SEQUENCE)
        .and_then(|e| e.items())
        .expect("Original Attributes Sequence");
    assert_eq!(items.len(), 1);
    items[0]
        .get(tags::MODIFIED_ATTRIBUTES_SEQUENCE)
        .and_then(|e| e.items())
        .expect("Modified Attributes Sequence")[0]
        .clone()
}

#[test]
fn patient_id_is_coerced_to_the_local_id() {
    let obj = one_reconciled(&reconciliation());
    assert_eq!(text(&obj, tags::PATIENT_ID), "LOCAL-42");
}

#[test]
fn issuer_of_patient_id_is_the_local_assigning_authority() {
    let obj = one_reconciled(&reconciliation());
    assert_eq!(text(&obj, tags::ISSUER_OF_PATIENT_ID), "HOSPB");
    let qualifiers = obj
        .get(tags::ISSUER_OF_PATIENT_ID_QUALIFIERS_SEQUENCE)
        .and_then(|e| e.items())
        .unwrap();
    assert_eq!(
        text(&qualifiers[0], tags::UNIVERSAL_ENTITY_ID),
        HOSPITAL_B_OID
    );
    assert_eq!(text(&qualifiers[0], tags::UNIVERSAL_ENTITY_ID_TYPE), "ISO");
}

#[test]
fn demographics_come_from_the_local_record() {
    let obj = one_reconciled(&reconciliation());
    assert_eq!(text(&obj, tags::PATIENT_NAME), "Doe^Jane^M");
    assert_eq!(text(&obj, tags::PATIENT_BIRTH_DATE), "19700102");
    assert_eq!(text(&obj, tags::PATIENT_SEX), "F");
}

#[test]
fn demographics_absent_from_the_local_record_are_kept() {
    let mut rules = reconciliation();
    rules.patient.name = None;
    rules.patient.birth_date = None;
    let obj = one_reconciled(&rules);
    assert_eq!(text(&obj, tags::PATIENT_NAME), "Doe^Jane");
    assert_eq!(text(&obj, tags::PATIENT_BIRTH_DATE), "19700101");
}

#[test]
fn original_values_are_kept_in_original_attributes_sequence_with_reason_coerce() {
    let obj = one_reconciled(&reconciliation());
    let item = &obj
        .get(tags::ORIGINAL_ATTRIBUTES_SEQUENCE)
        .and_then(|e| e.items())
        .unwrap()[0];
    assert_eq!(
        text(item, tags::REASON_FOR_THE_ATTRIBUTE_MODIFICATION),
        "COERCE"
    );
    assert_eq!(text(item, tags::MODIFYING_SYSTEM), "HIE-IMPORT");
    assert_eq!(
        text(item, tags::ATTRIBUTE_MODIFICATION_DATE_TIME),
        "20261124010000+0000"
    );
    assert_eq!(text(item, tags::SOURCE_OF_PREVIOUS_VALUES), "Hospital A");
    let originals = modified_attributes(&obj);
    assert_eq!(text(&originals, tags::PATIENT_ID), "PAT-0001");
    assert_eq!(text(&originals, tags::ISSUER_OF_PATIENT_ID), "HOSPA");
    assert_eq!(text(&originals, tags::PATIENT_NAME), "Doe^Jane");
    assert_eq!(text(&originals, tags::PATIENT_BIRTH_DATE), "19700101");
    assert_eq!(text(&originals, tags::ACCESSION_NUMBER), "ACC-0001");
    assert!(
        originals
            .get(tags::ISSUER_OF_ACCESSION_NUMBER_SEQUENCE)
            .is_some()
    );
    assert!(
        originals.get(tags::PATIENT_SEX).is_none(),
        "an unchanged value is not recorded"
    );
}

#[test]
fn original_patient_id_is_kept_in_other_patient_ids_sequence() {
    let obj = one_reconciled(&reconciliation());
    let items = obj
        .get(tags::OTHER_PATIENT_I_DS_SEQUENCE)
        .and_then(|e| e.items())
        .unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(text(&items[0], tags::PATIENT_ID), "PAT-0001");
    assert_eq!(text(&items[0], tags::ISSUER_OF_PATIENT_ID), "HOSPA");
    assert_eq!(text(&items[0], tags::TYPE_OF_PATIENT_ID), "TEXT");
}

#[test]
fn accession_number_is_the_original_prefixed_by_default() {
    let obj = one_reconciled(&reconciliation());
    assert_eq!(text(&obj, tags::ACCESSION_NUMBER), "OUT_ACC-0001");
    assert!(
        obj.get(tags::ISSUER_OF_ACCESSION_NUMBER_SEQUENCE).is_none(),
        "hospital A's accession issuer does not issue the local accession"
    );
}

#[test]
fn accession_number_given_replaces_the_original() {
    let mut rules = reconciliation();
    rules.accession = AccessionRule::Given("B-2026-77".into());
    rules.accession_issuer_oid = Some("1.2.3.4.5.6.7.9.2".into());
    let obj = one_reconciled(&rules);
    assert_eq!(text(&obj, tags::ACCESSION_NUMBER), "B-2026-77");
    let issuer = obj
        .get(tags::ISSUER_OF_ACCESSION_NUMBER_SEQUENCE)
        .and_then(|e| e.items())
        .unwrap();
    assert_eq!(
        text(&issuer[0], tags::UNIVERSAL_ENTITY_ID),
        "1.2.3.4.5.6.7.9.2"
    );
}

#[test]
fn accession_number_longer_than_sh_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut split = SplitInstance::read(&write_outside_instance(dir.path(), 1)).unwrap();
    let mut rules = reconciliation();
    rules.accession = AccessionRule::Prefixed("OUTSIDE_HOSP_".into());
    assert!(matches!(
        rules.apply(&mut split.header),
        Err(ReconcileError::AccessionTooLong { .. })
    ));
}

#[test]
fn originating_institution_is_kept() {
    let obj = one_reconciled(&reconciliation());
    assert_eq!(text(&obj, tags::INSTITUTION_NAME), "Hospital A");
}

#[test]
fn uids_are_preserved_without_collision() {
    let obj = one_reconciled(&reconciliation());
    assert_eq!(text(&obj, tags::STUDY_INSTANCE_UID), STUDY);
    assert_eq!(text(&obj, tags::SERIES_INSTANCE_UID), SERIES);
    assert_eq!(text(&obj, tags::SOP_INSTANCE_UID), format!("{SERIES}.1"));
}

#[test]
fn uid_map_replaces_uids_and_references_and_keeps_the_originals() {
    let mut rules = reconciliation();
    for (old, new) in [(STUDY, "2.25.1"), (SERIES, "2.25.2")] {
        rules.uid_map.insert(old.into(), new.into());
    }
    rules.uid_map.insert(format!("{SERIES}.1"), "2.25.3".into());
    let obj = one_reconciled(&rules);
    assert_eq!(text(&obj, tags::STUDY_INSTANCE_UID), "2.25.1");
    assert_eq!(text(&obj, tags::SERIES_INSTANCE_UID), "2.25.2");
    assert_eq!(text(&obj, tags::SOP_INSTANCE_UID), "2.25.3");
    assert_eq!(
        obj.meta()
            .media_storage_sop_instance_uid()
            .trim_end_matches('\0'),
        "2.25.3"
    );
    let reference = &obj
        .get(tags::REFERENCED_IMAGE_SEQUENCE)
        .and_then(|e| e.items())
        .unwrap()[0];
    assert_eq!(text(reference, tags::REFERENCED_SOP_INSTANCE_UID), "2.25.3");
    assert_eq!(
        text(reference, tags::REFERENCED_SOP_CLASS_UID),
        uids::CT_IMAGE_STORAGE
    );
    let originals = modified_attributes(&obj);
    assert_eq!(text(&originals, tags::STUDY_INSTANCE_UID), STUDY);
    assert_eq!(
        text(&originals, tags::SOP_INSTANCE_UID),
        format!("{SERIES}.1")
    );
}

#[test]
fn pixel_data_and_what_follows_are_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let source = write_outside_instance(dir.path(), 3);
    let original = OpenFileOptions::new().open_file(&source).unwrap();
    let obj = reconciled(&source, &reconciliation());
    let pixels = |o: &InMemDicomObject| {
        o.element(tags::PIXEL_DATA)
            .unwrap()
            .to_bytes()
            .unwrap()
            .to_vec()
    };
    assert_eq!(pixels(&obj), pixels(&original));
    let split = SplitInstance::read(&source).unwrap();
    let tail = std::fs::read(&source).unwrap()[split.tail_offset as usize..].to_vec();
    let rewritten = std::fs::read(source.with_extension("reconciled")).unwrap();
    assert!(
        rewritten.ends_with(&tail),
        "bytes from Pixel Data on are copied"
    );
    assert_eq!(
        &tail[..4],
        &[0xE0, 0x7F, 0x10, 0x00],
        "tail starts at (7FE0,0010)"
    );
}

#[test]
fn non_ascii_local_name_switches_the_character_set_to_utf8() {
    let mut rules = reconciliation();
    rules.patient.name = Some("Müller^Zoë".into());
    let obj = one_reconciled(&rules);
    assert_eq!(text(&obj, tags::SPECIFIC_CHARACTER_SET), "ISO_IR 192");
    assert_eq!(text(&obj, tags::PATIENT_NAME), "Müller^Zoë");
    assert_eq!(
        text(&modified_attributes(&obj), tags::SPECIFIC_CHARACTER_SET),
        "ISO_IR 100"
    );
}

/// What the fake PACS holds and refuses.
#[derive(Default)]
struct PacsState {
    /// Study Instance UID → Patient ID already held.
    studies: HashMap<String, String>,
    /// SOP Instance UIDs refused with Failure Reason A700.
    refuse: HashSet<String>,
    /// Part-10 bytes of every instance stored.
    stored: Vec<Vec<u8>>,
}

/// A DICOMweb PACS on a free port: QIDO-RS study search by UID, STOW-RS.
async fn fake_pacs(state: Arc<Mutex<PacsState>>) -> String {
    use axum::extract::{Query, State};
    use axum::http::HeaderMap;
    use axum::routing::get;
    type Shared = Arc<Mutex<PacsState>>;

    async fn qido(
        State(state): State<Shared>,
        Query(query): Query<HashMap<String, String>>,
    ) -> axum::Json<serde_json::Value> {
        let state = state.lock().unwrap();
        let uid = query.get("StudyInstanceUID").cloned().unwrap_or_default();
        let found: Vec<serde_json::Value> = state
            .studies
            .get(&uid)
            .map(|patient| {
                serde_json::json!({
                    "0020000D": {"vr": "UI", "Value": [uid]},
                    "00100020": {"vr": "LO", "Value": [patient]},
                })
            })
            .into_iter()
            .collect();
        axum::Json(serde_json::Value::Array(found))
    }
    async fn stow(
        State(state): State<Shared>,
        headers: HeaderMap,
        body: axum::body::Body,
    ) -> axum::Json<serde_json::Value> {
        let content_type = headers["content-type"].to_str().unwrap();
        let mime: mime::Mime = content_type.parse().unwrap();
        assert_eq!(mime.get_param("type").unwrap(), "application/dicom");
        let boundary = mime.get_param(mime::BOUNDARY).unwrap().to_string();
        let mut multipart = multer::Multipart::new(body.into_data_stream(), boundary);
        let (mut referenced, mut failed) = (Vec::new(), Vec::new());
        while let Some(field) = multipart.next_field().await.unwrap() {
            let bytes = field.bytes().await.unwrap().to_vec();
            let obj = dicom_object::from_reader(&bytes[128..]).unwrap();
            let sop = text(&obj, tags::SOP_INSTANCE_UID);
            let item = serde_json::json!({"00081155": {"vr": "UI", "Value": [sop]}});
            let mut state = state.lock().unwrap();
            if state.refuse.contains(&sop) {
                let mut item = item;
                item["00081197"] = serde_json::json!({"vr": "US", "Value": [42752]});
                failed.push(item);
            } else {
                state.stored.push(bytes);
                referenced.push(item);
            }
        }
        axum::Json(serde_json::json!({
            "00081198": {"vr": "SQ", "Value": failed},
            "00081199": {"vr": "SQ", "Value": referenced},
        }))
    }
    let router = axum::Router::new()
        .route("/dicom-web/studies", get(qido).post(stow))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}/dicom-web")
}

fn study_files(dir: &Path, count: u16) -> Vec<PathBuf> {
    (1..=count)
        .map(|n| write_outside_instance(dir, n))
        .collect()
}

fn options(pacs: &str) -> ImportOptions {
    let mut options = ImportOptions::new(pacs);
    options.batch_size = 2;
    options
}

#[tokio::test]
async fn study_uid_held_for_another_patient_gets_new_uids_consistently() {
    let dir = tempfile::tempdir().unwrap();
    let state = Arc::new(Mutex::new(PacsState::default()));
    state
        .lock()
        .unwrap()
        .studies
        .insert(STUDY.into(), "SOMEONE-ELSE".into());
    let pacs = fake_pacs(state.clone()).await;
    let report = import_instances(
        study_files(dir.path(), 3),
        &local_patient(),
        &options(&pacs),
        &NoProgress,
    )
    .await
    .unwrap();
    assert!(report.is_complete(), "{:?}", report.failed);
    assert!(report.studies[0].uids_replaced);
    let new_study = report.studies[0].study_uid.clone();
    assert!(new_study.starts_with("2.25.") && new_study != STUDY);
    let stored = state.lock().unwrap().stored.clone();
    assert_eq!(stored.len(), 3);
    let objects: Vec<_> = stored
        .iter()
        .map(|b| dicom_object::from_reader(&b[128..]).unwrap())
        .collect();
    let series: HashSet<String> = objects
        .iter()
        .map(|o| text(o, tags::SERIES_INSTANCE_UID))
        .collect();
    assert_eq!(series.len(), 1, "one series stays one series");
    assert!(!series.contains(SERIES));
    let first_sop = report
        .stored
        .iter()
        .find(|s| s.original_sop_instance_uid == format!("{SERIES}.1"))
        .unwrap()
        .sop_instance_uid
        .clone();
    for o in &objects {
        assert_eq!(text(o, tags::STUDY_INSTANCE_UID), new_study);
        assert!(text(o, tags::SOP_INSTANCE_UID).starts_with("2.25."));
        let reference = &o
            .get(tags::REFERENCED_IMAGE_SEQUENCE)
            .and_then(|e| e.items())
            .unwrap()[0];
        assert_eq!(
            text(reference, tags::REFERENCED_SOP_INSTANCE_UID),
            first_sop,
            "references follow the new UIDs"
        );
    }
}

#[tokio::test]
async fn study_uid_free_or_held_for_the_same_patient_is_preserved() {
    for held_by in [None, Some("LOCAL-42")] {
        let dir = tempfile::tempdir().unwrap();
        let state = Arc::new(Mutex::new(PacsState::default()));
        if let Some(patient) = held_by {
            state
                .lock()
                .unwrap()
                .studies
                .insert(STUDY.into(), patient.into());
        }
        let pacs = fake_pacs(state.clone()).await;
        let report = import_instances(
            study_files(dir.path(), 2),
            &local_patient(),
            &options(&pacs),
            &NoProgress,
        )
        .await
        .unwrap();
        assert!(!report.studies[0].uids_replaced);
        assert_eq!(report.studies[0].study_uid, STUDY);
        for stored in &report.stored {
            assert_eq!(stored.sop_instance_uid, stored.original_sop_instance_uid);
        }
        assert_eq!(state.lock().unwrap().stored.len(), 2);
    }
}

#[tokio::test]
async fn malformed_file_is_reported_failed_and_the_rest_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = study_files(dir.path(), 2);
    let broken = dir.path().join("broken.dcm");
    std::fs::write(&broken, b"not a DICOM file at all").unwrap();
    files.push(broken.clone());
    let state = Arc::new(Mutex::new(PacsState::default()));
    let pacs = fake_pacs(state.clone()).await;
    let report = import_instances(files, &local_patient(), &options(&pacs), &NoProgress)
        .await
        .unwrap();
    assert_eq!(report.stored.len(), 2);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].path, broken);
    assert!(!report.is_complete());
}

#[tokio::test]
async fn instance_refused_by_the_pacs_is_reported_failed_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let state = Arc::new(Mutex::new(PacsState::default()));
    state.lock().unwrap().refuse.insert(format!("{SERIES}.2"));
    let pacs = fake_pacs(state.clone()).await;
    let report = import_instances(
        study_files(dir.path(), 3),
        &local_patient(),
        &options(&pacs),
        &NoProgress,
    )
    .await
    .unwrap();
    assert_eq!(report.stored.len(), 2);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(
        report.failed[0].sop_instance_uid.as_deref(),
        Some(format!("{SERIES}.2").as_str())
    );
    assert!(
        report.failed[0].reason.contains("42752"),
        "{}",
        report.failed[0].reason
    );
}

#[tokio::test]
async fn unreachable_pacs_sends_nothing_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let error = import_instances(
        study_files(dir.path(), 1),
        &local_patient(),
        &options("http://127.0.0.1:1/dicom-web"),
        &NoProgress,
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("QIDO-RS"), "{error}");
}
