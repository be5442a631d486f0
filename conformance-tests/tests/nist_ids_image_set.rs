//! The `ids` plans' `ImgDetailTransaction` end to end without the IHE XDS-I 2018 image set: a
//! synthetic image set (`../shared/tools/make_study.py`, its own Patient ID) is imported into
//! the in-process Imaging Document Source, which publishes it (RAD-68) through the
//! Repository/Registry simulator when a plan shaped like ids_2018-4801a asks for the submission
//! of its mapped patient; `sameKOSDcm` compares the manifest with a standard KOS this test writes
//! from the study's values as the toolkit's standards have them, `sameKOSMetadata` the metadata.
#![cfg(feature = "peers")]

use std::path::Path;

use conformance_tests::nist::engine::Verdict;
use conformance_tests::nist::ids::ImageSet;
use conformance_tests::nist::runner::{run, start_services};
use conformance_tests::shared::shared_dir;
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;
use imaging_source::study::Study;

/// The image's Patient ID and the XDS patient id the plan maps it to.
const LOCAL_PATIENT: &str = "NISTIDS-LOCAL-7";
const MAPPED_PATIENT: &str = "NISTIDS-PEER-A^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO";
const KOS_SOP_CLASS: &str = "1.2.840.10008.5.1.4.1.1.88.59";

fn make_study(out: &Path) {
    let script = shared_dir()
        .expect("shared reference folder")
        .join("tools/make_study.py");
    let output = std::process::Command::new("python3")
        .arg(script)
        .args([
            "--series",
            "CR:2",
            "--rows",
            "64",
            "--cols",
            "64",
            "--patient-id",
            LOCAL_PATIENT,
            "--seed",
            "nistids",
            "--quiet",
            "--out",
        ])
        .arg(out)
        .output()
        .expect("python3 is required by the peer tier");
    assert!(
        output.status.success(),
        "make_study.py failed (needs pip install pydicom numpy): {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn text(tag: Tag, vr: VR, value: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

fn items(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

/// The standard KOS of `study` as the toolkit's `kos-evaluate.dcm` has it: the images' patient
/// and accession, the study, one evidence series per series with the configured Retrieve
/// Location UID, one IMAGE content item per instance.
fn standard_kos(study: &Study) -> InMemDicomObject {
    let sop = |class: &str, instance: &str| {
        InMemDicomObject::from_element_iter([
            text(tags::REFERENCED_SOP_CLASS_UID, VR::UI, class),
            text(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, instance),
        ])
    };
    let series: Vec<InMemDicomObject> = study
        .series
        .iter()
        .map(|s| {
            InMemDicomObject::from_element_iter([
                text(tags::RETRIEVE_AE_TITLE, VR::AE, "ANY"),
                items(
                    tags::REFERENCED_SOP_SEQUENCE,
                    s.instances
                        .iter()
                        .map(|i| sop(&i.sop_class_uid, &i.sop_instance_uid))
                        .collect(),
                ),
                text(tags::SERIES_INSTANCE_UID, VR::UI, &s.series_instance_uid),
                text(
                    tags::RETRIEVE_LOCATION_UID,
                    VR::UI,
                    "1.3.6.1.4.1.21367.13.80.110",
                ),
            ])
        })
        .collect();
    let content: Vec<InMemDicomObject> = study
        .series
        .iter()
        .flat_map(|s| &s.instances)
        .map(|i| {
            InMemDicomObject::from_element_iter([
                items(
                    tags::REFERENCED_SOP_SEQUENCE,
                    vec![sop(&i.sop_class_uid, &i.sop_instance_uid)],
                ),
                text(tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS"),
                text(tags::VALUE_TYPE, VR::CS, "IMAGE"),
            ])
        })
        .collect();
    let patient = &study.patient;
    InMemDicomObject::from_element_iter([
        text(tags::SOP_CLASS_UID, VR::UI, KOS_SOP_CLASS),
        text(tags::SOP_INSTANCE_UID, VR::UI, "2.25.1001"),
        text(
            tags::ACCESSION_NUMBER,
            VR::SH,
            study.accession_number.as_deref().unwrap_or_default(),
        ),
        text(tags::MODALITY, VR::CS, "KO"),
        text(
            tags::PATIENT_NAME,
            VR::PN,
            patient.name.as_deref().unwrap_or_default(),
        ),
        text(tags::PATIENT_ID, VR::LO, &patient.id),
        text(
            tags::PATIENT_BIRTH_DATE,
            VR::DA,
            patient.birth_date.as_deref().unwrap_or_default(),
        ),
        text(
            tags::PATIENT_SEX,
            VR::CS,
            patient.sex.as_deref().unwrap_or_default(),
        ),
        text(tags::STUDY_INSTANCE_UID, VR::UI, &study.study_instance_uid),
        text(tags::SERIES_INSTANCE_UID, VR::UI, "2.25.1002"),
        items(
            tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                items(tags::REFERENCED_SERIES_SEQUENCE, series),
                text(tags::STUDY_INSTANCE_UID, VR::UI, &study.study_instance_uid),
            ])],
        ),
        items(tags::CONTENT_SEQUENCE, content),
    ])
}

const VALIDATE_KOS: &str = r#"<TestPlan><Test>peer-ids/ValidateKOS</Test><TestStep id="ValidateKOS">
  <ExpectedStatus>Success</ExpectedStatus><ImgDetailTransaction><Assertions>
  <Assert id="Submitted KOS Validation" process="sameKOSDcm">
    <SimReference id="rr" actor="rep" transaction="prb" pid="{pid}"/>
    kos-evaluate.dcm
  </Assert></Assertions></ImgDetailTransaction></TestStep></TestPlan>"#;

const VALIDATE_METADATA: &str = r#"<TestPlan><Test>peer-ids/ValidateMetadata</Test><TestStep id="ValidateMetadata">
  <ExpectedStatus>Success</ExpectedStatus><ImgDetailTransaction>
  <UseReport section="ValidateKOS" step="ValidateKOS" reportName="SOPInstanceUID" useAs="siuid"/>
  <Assertions><Assert id="Submitted Metadata Validation" process="sameKOSMetadata">
    <SimReference id="rr" actor="rep" transaction="prb" pid="{pid}"/>
    metadata-evaluate.xml</Assert></Assertions></ImgDetailTransaction></TestStep></TestPlan>"#;

const METADATA_EVALUATE: &str = r#"<xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007"><lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"><rim:RegistryObjectList xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">
  <rim:ExtrinsicObject id="d" mimeType="application/dicom" objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1">
    <rim:Classification classificationScheme="urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d" classifiedObject="d" nodeRepresentation="1.2.840.10008.5.1.4.1.1.88.59">
      <rim:Slot name="codingScheme"><rim:ValueList><rim:Value>1.2.840.10008.2.6.1</rim:Value></rim:ValueList></rim:Slot></rim:Classification>
    <rim:ExternalIdentifier identificationScheme="urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab" value="1.42.1"/>
  </rim:ExtrinsicObject>
  <rim:RegistryPackage id="ss"><rim:ExternalIdentifier identificationScheme="urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446" value="{pid}"/></rim:RegistryPackage>
</rim:RegistryObjectList></lcm:SubmitObjectsRequest></xdsb:ProvideAndRegisterDocumentSetRequest>"#;

const RAD69_RETRIEVE: &str = r#"<TestPlan><TestStep id="Rad69RetrieveRequest"><ExpectedStatus>Success</ExpectedStatus>
  <ImagingDocSetRetrieveTransaction><MetadataFile>rad69-request.xml</MetadataFile></ImagingDocSetRetrieveTransaction></TestStep></TestPlan>"#;

/// `sameDcmImgs` of the instances a step named by `{from}` returned against the patient's images.
const SAME_IMAGES: &str = r#"<TestPlan><TestStep id="ValidateReturnedImages"><XmlDetailTransaction><Assertions>
  <Assert id="Returned img(s)" process="sameDcmImgs">{from}
    <TagList><SOPClassUID/><SOPInstanceUID/><PatientID/><PatientBirthDate/><PatientSex/><StudyInstanceUID/><SeriesInstanceUID/><HASH/></TagList>
    <DirList><StdDir>2018/{patient}/images</StdDir>{test_dir}</DirList>
  </Assert></Assertions></XmlDetailTransaction></TestStep></TestPlan>"#;

const RAD55_RETRIEVE: &str = r#"<TestPlan><TestStep id="Rad55RetrieveRequest"><ExpectedStatus>Success</ExpectedStatus>
  <WADOTransaction><Parameters></Parameters><UIDFile>images.txt</UIDFile></WADOTransaction></TestStep></TestPlan>"#;

const SAME_WADO_RESPONSE: &str = r#"<TestPlan><TestStep id="ValidateRad55Response">
  <Standard><HttpResponseCodes><Transactions id="*" code="200"/></HttpResponseCodes></Standard>
  <XmlDetailTransaction><Assertions><Assert id="Http Response" process="sameWADOResp">
  <TestResponse testDir="../Rad55RetrieveRequest" step="Rad55RetrieveRequest"/></Assert></Assertions>
  </XmlDetailTransaction></TestStep></TestPlan>"#;

/// The RAD-69 request of every instance of `study`, and the RAD-55 UID file.
fn retrieve_requests(study: &Study) -> (String, String) {
    let mut rad69 = String::from(
        r#"<xdsiB:RetrieveImagingDocumentSetRequest xmlns:xdsiB="urn:ihe:rad:xdsi-b:2009" xmlns:xdsb="urn:ihe:iti:xds-b:2007">"#,
    );
    rad69.push_str(&format!(
        r#"<xdsiB:StudyRequest studyInstanceUID="{}">"#,
        study.study_instance_uid
    ));
    let mut uid_file = String::new();
    for series in &study.series {
        rad69.push_str(&format!(
            r#"<xdsiB:SeriesRequest seriesInstanceUID="{}">"#,
            series.series_instance_uid
        ));
        for instance in &series.instances {
            rad69.push_str(&format!(
                "<xdsb:DocumentRequest><xdsb:RepositoryUniqueId>1.3.6.1.4.1.21367.13.80.110</xdsb:RepositoryUniqueId><xdsb:DocumentUniqueId>{}</xdsb:DocumentUniqueId></xdsb:DocumentRequest>",
                instance.sop_instance_uid
            ));
            uid_file.push_str(&format!(
                "{}:{}:{}\n",
                study.study_instance_uid, series.series_instance_uid, instance.sop_instance_uid
            ));
        }
        rad69.push_str("</xdsiB:SeriesRequest>");
    }
    rad69.push_str("</xdsiB:StudyRequest><xdsiB:TransferSyntaxUIDList><xdsiB:TransferSyntaxUID>1.2.840.10008.1.2.1</xdsiB:TransferSyntaxUID></xdsiB:TransferSyntaxUIDList></xdsiB:RetrieveImagingDocumentSetRequest>");
    (rad69, uid_file)
}

/// `{pid}` replaced by the mapped patient, escaped for XML.
fn with_pid(xml: &str) -> String {
    xml.replace("{pid}", &MAPPED_PATIENT.replace('&', "&amp;"))
}

/// A testkit `tests/peer-ids` shaped like ids_2018-4801a around `standard`, then like
/// ids_2018-4803a (RAD-69) and ids_2018-4802a (RAD-55) for `study`.
fn write_testkit(tests: &Path, standard: InMemDicomObject, study: &Study) {
    let test = tests.join("peer-ids");
    let images_of = |from: &str, test_dir: &str| {
        SAME_IMAGES
            .replace("{from}", from)
            .replace("{test_dir}", test_dir)
            .replace("{patient}", LOCAL_PATIENT)
    };
    let sections = [
        ("Rad69RetrieveRequest", RAD69_RETRIEVE.to_owned()),
        (
            "ValidateRad69Images",
            images_of(
                r#"<TestResponse testDir="../Rad69RetrieveRequest" step="Rad69RetrieveRequest"/>"#,
                "",
            ),
        ),
        ("Rad55RetrieveRequest", RAD55_RETRIEVE.to_owned()),
        ("ValidateRad55Response", SAME_WADO_RESPONSE.to_owned()),
        (
            "ValidateRad55Images",
            images_of(
                "",
                r#"<TestDir testDir="../Rad55RetrieveRequest">files</TestDir>"#,
            ),
        ),
    ];
    for (section, plan) in &sections {
        std::fs::create_dir_all(test.join(section)).expect("section folder");
        std::fs::write(test.join(section).join("testplan.xml"), plan).expect("testplan");
    }
    let (rad69, uid_file) = retrieve_requests(study);
    std::fs::write(test.join("Rad69RetrieveRequest/rad69-request.xml"), rad69).expect("RAD-69");
    std::fs::write(test.join("Rad55RetrieveRequest/images.txt"), uid_file).expect("UID file");
    for (section, plan) in [
        ("ValidateKOS", VALIDATE_KOS),
        ("ValidateMetadata", VALIDATE_METADATA),
    ] {
        std::fs::create_dir_all(test.join(section)).expect("section folder");
        std::fs::write(test.join(section).join("testplan.xml"), with_pid(plan)).expect("testplan");
        standard
            .clone()
            .with_meta(
                FileMetaTableBuilder::new()
                    .transfer_syntax("1.2.840.10008.1.2.1")
                    .media_storage_sop_class_uid(KOS_SOP_CLASS)
                    .media_storage_sop_instance_uid("2.25.1001"),
            )
            .expect("file meta")
            .write_to_file(test.join(section).join("kos-evaluate.dcm"))
            .expect("kos-evaluate.dcm written");
    }
    std::fs::write(
        test.join("ValidateMetadata/metadata-evaluate.xml"),
        with_pid(METADATA_EVALUATE),
    )
    .expect("metadata-evaluate.xml");
    let mut index = String::from("ValidateKOS\nValidateMetadata\n");
    for (section, _) in &sections {
        index.push_str(section);
        index.push('\n');
    }
    std::fs::write(test.join("index.idx"), index).expect("index");
    std::fs::write(test.join("collections.txt"), "ids(xds-i)\n").expect("collections");
}

fn pass() -> Verdict {
    Verdict::Pass {
        not_evaluated: Vec::new(),
    }
}

/// The path works on any image set: the study is published under the mapped patient, the
/// metadata passes every `sameKOSMetadata` rule, and the manifest every `sameKOSDcm` rule but
/// the two where the imaging source follows RAD TF-3 4.68.4.1.2.3 instead of the toolkit's
/// standards (Patient ID = the affinity-domain id; the study description as a TEXT item); the
/// instances RAD-69 and RAD-55 return are the image set's files, byte for byte (`sameDcmImgs`
/// with `HASH`), every RAD-55 answer a 200 (`sameWADOResp`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_img_detail_path_publishes_a_study_and_checks_its_kos_and_metadata() {
    let work = tempfile::tempdir().expect("temp dir");
    let set_dir = work.path().join("image-set");
    make_study(&set_dir);
    let image_set = ImageSet::scan(&set_dir).await.expect("image set scanned");
    assert_eq!(image_set.studies.len(), 1);
    let study = image_set.studies[0].0.clone();
    assert_eq!(study.patient.id, LOCAL_PATIENT);
    let tests = work.path().join("tests");
    write_testkit(&tests, standard_kos(&study), &study);

    let data = tempfile::tempdir().expect("temp dir");
    let services = start_services(data.path()).await.expect("services start");
    services
        .import_image_set(&image_set)
        .await
        .expect("image set imported");
    let fixture = services
        .imaging_fixture(image_set)
        .await
        .expect("RAD-68 simulator starts");
    let report = run(
        tests,
        services.target.clone(),
        &["peer-ids".to_owned()],
        Vec::new(),
        Some(fixture),
    )
    .await;
    services.stop().await;

    let verdicts: Vec<(String, Verdict)> = report
        .outcomes
        .iter()
        .map(|o| (o.section.clone(), o.verdict.clone()))
        .collect();
    let instances = study.instance_count();
    assert_eq!(
        verdicts,
        [
            (
                "ValidateKOS".to_owned(),
                Verdict::Fail {
                    reason: format!(
                        "step ValidateKOS: assertion Submitted KOS Validation (sameKOSDcm): \
                         Patient ID: [NISTIDS-PEER-A] does not match the standard's [{LOCAL_PATIENT}]; \
                         Content Sequence: {} item(s), the standard has {instances}",
                        instances + 1
                    )
                }
            ),
            ("ValidateMetadata".to_owned(), pass()),
            ("Rad69RetrieveRequest".to_owned(), pass()),
            ("ValidateRad69Images".to_owned(), pass()),
            ("Rad55RetrieveRequest".to_owned(), pass()),
            ("ValidateRad55Response".to_owned(), pass()),
            ("ValidateRad55Images".to_owned(), pass()),
        ]
    );
}
