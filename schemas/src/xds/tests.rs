//! The sample submission of `ihe-samples/minimal/SubmitObjectsRequest.xml`, built as ebRIM values,
//! and one test per conversion rule.

use super::*;
use crate::constants::{classification_node as node, classification_scheme as scheme};
use crate::constants::{identification_scheme as ids, object_type, reference_id_type};
use crate::ebrim::{
    self, Classification, ExternalIdentifier, ExtrinsicObject, Identifiable, InternationalString,
    LocalizedString, ObjectRef, RegistryObject, RegistryObjectList, RegistryPackage, Slot,
};

fn object(id: &str) -> RegistryObject {
    RegistryObject {
        id: id.to_owned(),
        ..RegistryObject::default()
    }
}

fn code(
    id: &str,
    classified: &str,
    scheme: &str,
    value: &str,
    coding: &str,
    display: &str,
) -> Classification {
    Classification {
        object: RegistryObject {
            slots: vec![Slot::new("codingScheme", [coding])],
            name: Some(InternationalString::plain(display)),
            ..object(id)
        },
        classification_scheme: Some(scheme.to_owned()),
        classified_object: classified.to_owned(),
        classification_node: None,
        node_representation: Some(value.to_owned()),
    }
}

fn author(id: &str, classified: &str, scheme: &str, slots: Vec<Slot>) -> Classification {
    Classification {
        object: RegistryObject {
            slots,
            ..object(id)
        },
        classification_scheme: Some(scheme.to_owned()),
        classified_object: classified.to_owned(),
        classification_node: None,
        node_representation: Some(String::new()),
    }
}

fn ext_id(id: &str, owner: &str, scheme: &str, value: &str, name: &str) -> ExternalIdentifier {
    ExternalIdentifier {
        object: RegistryObject {
            name: Some(InternationalString::plain(name)),
            ..object(id)
        },
        registry_object: owner.to_owned(),
        identification_scheme: scheme.to_owned(),
        value: value.to_owned(),
    }
}

fn marker(id: &str, classified: &str, node: &str) -> Classification {
    Classification {
        object: object(id),
        classification_scheme: None,
        classified_object: classified.to_owned(),
        classification_node: Some(node.to_owned()),
        node_representation: None,
    }
}

const PID: &str = "X1^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO";
const INSTITUTION: &str = "Hospital A^^^^^&1.2.3.4.5.6.7.8.9&ISO^^^^1.2.3.4.5.6.7.8.9";

fn sample_extrinsic_object() -> ExtrinsicObject {
    let d = "Document01";
    ExtrinsicObject {
        object: RegistryObject {
            object_type: Some(object_type::STABLE_DOCUMENT_ENTRY.to_owned()),
            slots: vec![
                Slot::new("creationTime", ["20261101093000"]),
                Slot::new("hash", ["11f6ad8ec52a2984abaafd7c3b516503785c2072"]),
                Slot::new("size", ["1"]),
                Slot::new("languageCode", ["en-US"]),
                Slot::new("repositoryUniqueId", ["1.3.6.1.4.1.21367.2010.1.2.1125"]),
                Slot::new("serviceStartTime", ["20261101090000"]),
                Slot::new("sourcePatientId", ["SRC-1^^^&1.2.3.4.5.6.7.8.1&ISO"]),
                Slot::new(
                    "sourcePatientInfo",
                    [
                        "PID-3|SRC-1^^^&1.2.3.4.5.6.7.8.1&ISO",
                        "PID-5|DOE^JANE^^^",
                        "PID-7|19700101",
                        "PID-8|F",
                    ],
                ),
                Slot::new(
                    reference_id_type::SLOT_NAME,
                    ["ACC1^^^&1.2.3.4.5.6.7.8.2&ISO^urn:ihe:iti:xds:2013:accession"],
                ),
            ],
            name: Some(InternationalString::plain("CT CHEST WITH CONTRAST")),
            classifications: vec![
                author(
                    "cl01",
                    d,
                    scheme::DOCUMENT_ENTRY_AUTHOR,
                    vec![
                        Slot::new("authorInstitution", [INSTITUTION]),
                        Slot::new("authorPerson", ["^Welby^Marcus^^^Dr"]),
                    ],
                ),
                code(
                    "cl02",
                    d,
                    scheme::DOCUMENT_ENTRY_CLASS_CODE,
                    "IMAGES",
                    "1.3.6.1.4.1.19376.1.2.6.1",
                    "Images",
                ),
                code(
                    "cl03",
                    d,
                    scheme::DOCUMENT_ENTRY_CONFIDENTIALITY_CODE,
                    "N",
                    "2.16.840.1.113883.5.25",
                    "Normal",
                ),
                code(
                    "cl04",
                    d,
                    scheme::DOCUMENT_ENTRY_EVENT_CODE_LIST,
                    "CT",
                    "1.2.840.10008.2.16.4",
                    "Modality",
                ),
                code(
                    "cl05",
                    d,
                    scheme::DOCUMENT_ENTRY_FORMAT_CODE,
                    "1.2.840.10008.5.1.4.1.1.88.59",
                    "1.2.840.10008.2.6.1",
                    "Key Object Selection Document",
                ),
                code(
                    "cl06",
                    d,
                    scheme::DOCUMENT_ENTRY_HEALTHCARE_FACILITY_TYPE_CODE,
                    "22232009",
                    "2.16.840.1.113883.6.96",
                    "Hospital",
                ),
                code(
                    "cl07",
                    d,
                    scheme::DOCUMENT_ENTRY_PRACTICE_SETTING_CODE,
                    "394914008",
                    "2.16.840.1.113883.6.96",
                    "Radiology",
                ),
                code(
                    "cl08",
                    d,
                    scheme::DOCUMENT_ENTRY_TYPE_CODE,
                    "18748-4",
                    "2.16.840.1.113883.6.1",
                    "Diagnostic imaging study",
                ),
            ],
            external_identifiers: vec![
                ext_id(
                    "ei01",
                    d,
                    ids::DOCUMENT_ENTRY_PATIENT_ID,
                    PID,
                    "XDSDocumentEntry.patientId",
                ),
                ext_id(
                    "ei02",
                    d,
                    ids::DOCUMENT_ENTRY_UNIQUE_ID,
                    "2.25.262469648696365156902516063316555594530",
                    "XDSDocumentEntry.uniqueId",
                ),
            ],
            ..object(d)
        },
        mime_type: Some("application/dicom".to_owned()),
        is_opaque: None,
        content_version_info: None,
    }
}

fn sample_package(nested_marker: bool) -> RegistryPackage {
    let s = "SubmissionSet01";
    let mut classifications = vec![
        author(
            "cl09",
            s,
            scheme::SUBMISSION_SET_AUTHOR,
            vec![Slot::new("authorInstitution", [INSTITUTION])],
        ),
        code(
            "cl10",
            s,
            scheme::SUBMISSION_SET_CONTENT_TYPE_CODE,
            "18748-4",
            "2.16.840.1.113883.6.1",
            "Diagnostic imaging study",
        ),
    ];
    if nested_marker {
        classifications.push(marker("cl11", s, node::SUBMISSION_SET));
    }
    RegistryPackage {
        object: RegistryObject {
            slots: vec![Slot::new("submissionTime", ["20261101093100"])],
            name: Some(InternationalString::plain("Imaging manifest")),
            classifications,
            external_identifiers: vec![
                ext_id(
                    "ei03",
                    s,
                    ids::SUBMISSION_SET_UNIQUE_ID,
                    "2.25.220772686741526130728752208282688155242",
                    "XDSSubmissionSet.uniqueId",
                ),
                ext_id(
                    "ei04",
                    s,
                    ids::SUBMISSION_SET_SOURCE_ID,
                    "1.2.3.4.5.6.7.8.9",
                    "XDSSubmissionSet.sourceId",
                ),
                ext_id(
                    "ei05",
                    s,
                    ids::SUBMISSION_SET_PATIENT_ID,
                    PID,
                    "XDSSubmissionSet.patientId",
                ),
            ],
            ..object(s)
        },
        members: None,
    }
}

fn sample_association() -> ebrim::Association {
    ebrim::Association {
        object: RegistryObject {
            slots: vec![Slot::new("SubmissionSetStatus", ["Original"])],
            ..object("as01")
        },
        association_type: crate::constants::association_type::HAS_MEMBER.to_owned(),
        source_object: "SubmissionSet01".to_owned(),
        target_object: "Document01".to_owned(),
    }
}

/// The RegistryObjectList of the sample SubmitObjectsRequest (marker as a top-level object).
fn sample_list() -> RegistryObjectList {
    RegistryObjectList {
        objects: vec![
            Identifiable::ExtrinsicObject(sample_extrinsic_object()),
            Identifiable::RegistryPackage(sample_package(false)),
            Identifiable::Classification(marker("cl11", "SubmissionSet01", node::SUBMISSION_SET)),
            Identifiable::Association(sample_association()),
        ],
    }
}

fn sample_folder() -> RegistryPackage {
    let f = "Folder01";
    RegistryPackage {
        object: RegistryObject {
            lid: Some("urn:uuid:0e6e6b0a-2d4e-4a53-8d4a-0d5c2a1f0001".to_owned()),
            status: Some(crate::constants::status::APPROVED.to_owned()),
            slots: vec![Slot::new("lastUpdateTime", ["20261101093200"])],
            name: Some(InternationalString::plain("Chest imaging")),
            description: Some(InternationalString::plain("all chest studies")),
            classifications: vec![
                code(
                    "cl20",
                    f,
                    scheme::FOLDER_CODE_LIST,
                    "CT",
                    "1.2.840.10008.2.16.4",
                    "Computed Tomography",
                ),
                marker("cl21", f, node::FOLDER),
                code(
                    "cl22",
                    f,
                    scheme::FOLDER_CODE_LIST,
                    "MR",
                    "1.2.840.10008.2.16.4",
                    "Magnetic Resonance",
                ),
            ],
            external_identifiers: vec![
                ext_id(
                    "ei20",
                    f,
                    ids::FOLDER_PATIENT_ID,
                    PID,
                    "XDSFolder.patientId",
                ),
                ext_id(
                    "ei21",
                    f,
                    ids::FOLDER_UNIQUE_ID,
                    "2.25.1",
                    "XDSFolder.uniqueId",
                ),
            ],
            ..object(f)
        },
        members: None,
    }
}

fn error_of<T: std::fmt::Debug>(r: Result<T, MetadataError>) -> MetadataError {
    match r {
        Err(e) => e,
        Ok(v) => panic!("expected a MetadataError, got {v:?}"),
    }
}

#[test]
fn document_entry_round_trips_to_an_equal_extrinsic_object() {
    let eo = sample_extrinsic_object();
    let de = DocumentEntry::from_rim(&eo).unwrap();
    assert_eq!(de.to_rim(), eo);
}

#[test]
fn document_entry_attributes_are_read_from_their_ebrim_coding() {
    let de = DocumentEntry::from_rim(&sample_extrinsic_object()).unwrap();
    assert_eq!(de.entry_uuid, "Document01");
    assert_eq!(de.entry_type(), Some(DocumentEntryType::Stable));
    assert_eq!(de.mime_type.as_deref(), Some("application/dicom"));
    assert_eq!(
        de.title.as_ref().and_then(InternationalString::first),
        Some("CT CHEST WITH CONTRAST")
    );
    assert_eq!(
        de.unique_id.value,
        "2.25.262469648696365156902516063316555594530"
    );
    assert_eq!(de.patient_id.as_ref().map(|p| p.value.as_str()), Some(PID));
    let class_code = de.class_code.as_ref().unwrap();
    assert_eq!(
        (class_code.code.as_str(), class_code.coding_scheme.as_str()),
        ("IMAGES", "1.3.6.1.4.1.19376.1.2.6.1")
    );
    assert_eq!(class_code.display_name_text(), Some("Images"));
    assert_eq!(class_code.query_form(), "IMAGES^^1.3.6.1.4.1.19376.1.2.6.1");
    assert_eq!(de.event_codes.len(), 1);
    assert_eq!(de.confidentiality_codes[0].code, "N");
    assert_eq!(de.source_patient_info.len(), 4);
    assert_eq!(de.authors.len(), 1);
    assert_eq!(de.authors[0].institutions, vec![INSTITUTION.to_owned()]);
    assert!(
        de.extra_slots.is_empty()
            && de.extra_classifications.is_empty()
            && de.extra_external_identifiers.is_empty()
    );
}

#[test]
fn typed_accessors_parse_the_kept_strings() {
    let de = DocumentEntry::from_rim(&sample_extrinsic_object()).unwrap();
    let pid = de.patient_cx().unwrap().unwrap();
    assert_eq!(pid.id, "X1");
    assert_eq!(de.source_patient_cx().unwrap().unwrap().id, "SRC-1");
    let refs = de.reference_ids_cx();
    assert_eq!(
        refs[0].as_ref().unwrap().identifier_type_code,
        reference_id_type::ACCESSION
    );
    assert_eq!(
        de.creation_dtm().unwrap().unwrap().as_str(),
        "20261101093000"
    );
    assert_eq!(de.size_bytes(), Some(Ok(1)));
    let person = de.authors[0].person_xcn().unwrap().unwrap();
    assert_eq!(person.family_name, "Welby");
    assert!(
        de.authors[0].institutions_xon()[0]
            .as_ref()
            .unwrap()
            .check_xds()
            .is_ok()
    );
}

#[test]
fn malformed_patient_id_is_kept_for_the_registry_to_report() {
    let mut eo = sample_extrinsic_object();
    eo.object.external_identifiers[0].value = "X1^^^&1.2.3&ISO^PI".to_owned();
    let de = DocumentEntry::from_rim(&eo).unwrap();
    assert!(de.patient_cx().unwrap().is_err());
    assert_eq!(de.to_rim(), eo);
}

#[test]
fn submission_round_trips_to_an_equal_object_list() {
    let list = sample_list();
    let submission = Submission::from_object_list(&list).unwrap();
    assert_eq!(submission.to_object_list(), list);
}

#[test]
fn top_level_submission_set_marker_is_folded_into_its_package() {
    let submission = Submission::from_object_list(&sample_list()).unwrap();
    let ss = &submission.submission_set;
    assert!(ss.marker.top_level);
    assert_eq!(ss.marker.classification.object.id, "cl11");
    assert!(submission.other_objects.is_empty());
    assert_eq!(submission.document_entries.len(), 1);
    assert_eq!(submission.associations.len(), 1);
    assert_eq!(
        ss.unique_id.value,
        "2.25.220772686741526130728752208282688155242"
    );
    assert_eq!(
        ss.source_id.as_ref().map(|s| s.value.as_str()),
        Some("1.2.3.4.5.6.7.8.9")
    );
    assert_eq!(
        ss.submission_dtm().unwrap().unwrap().as_str(),
        "20261101093100"
    );
    assert_eq!(
        ss.content_type_code.as_ref().map(|c| c.code.as_str()),
        Some("18748-4")
    );
}

#[test]
fn nested_submission_set_marker_round_trips() {
    let package = sample_package(true);
    let ss = SubmissionSet::from_rim(&package, None).unwrap();
    assert!(!ss.marker.top_level);
    assert!(ss.top_level_marker().is_none());
    assert_eq!(ss.to_rim(), package);
    let list = RegistryObjectList {
        objects: vec![Identifiable::RegistryPackage(package)],
    };
    assert_eq!(
        Submission::from_object_list(&list)
            .unwrap()
            .to_object_list(),
        list
    );
}

#[test]
fn folder_round_trips_with_its_code_list() {
    let package = sample_folder();
    let folder = Folder::from_rim(&package, None).unwrap();
    assert_eq!(folder.codes.len(), 2);
    assert_eq!(folder.last_update_time.as_deref(), Some("20261101093200"));
    assert_eq!(
        folder.logical_id.as_deref(),
        Some("urn:uuid:0e6e6b0a-2d4e-4a53-8d4a-0d5c2a1f0001")
    );
    assert_eq!(folder.to_rim(), package);
    let mut list = sample_list();
    list.objects.push(Identifiable::RegistryPackage(package));
    let submission = Submission::from_object_list(&list).unwrap();
    assert_eq!(submission.folders.len(), 1);
    assert_eq!(submission.to_object_list(), list);
}

#[test]
fn association_types_round_trip() {
    use crate::constants::association_type as at;
    for urn in [
        at::HAS_MEMBER,
        at::RPLC,
        at::XFRM,
        at::APND,
        at::XFRM_RPLC,
        at::SIGNS,
        at::IS_SNAPSHOT_OF,
        at::UPDATE_AVAILABILITY_STATUS,
        at::SUBMIT_ASSOCIATION,
        "urn:example:AssociationType:Custom",
    ] {
        let t = AssociationType::from_urn(urn);
        assert_eq!(t.urn(), urn);
    }
    assert_eq!(
        AssociationType::from_urn("HasMember"),
        AssociationType::Other("HasMember".to_owned())
    );
    assert!(AssociationType::Replace.is_document_relationship());
    assert!(!AssociationType::HasMember.is_document_relationship());
}

#[test]
fn metadata_update_association_slots_round_trip() {
    let a = ebrim::Association {
        object: RegistryObject {
            slots: vec![
                Slot::new("NewStatus", [crate::constants::status::DEPRECATED]),
                Slot::new("OriginalStatus", [crate::constants::status::APPROVED]),
                Slot::new("X-Vendor", ["kept"]),
            ],
            ..object("as02")
        },
        association_type: crate::constants::association_type::UPDATE_AVAILABILITY_STATUS.to_owned(),
        source_object: "SubmissionSet01".to_owned(),
        target_object: "urn:uuid:0e6e6b0a-2d4e-4a53-8d4a-0d5c2a1f0002".to_owned(),
    };
    let assoc = Association::from_rim(&a).unwrap();
    assert_eq!(
        assoc.association_type,
        AssociationType::UpdateAvailabilityStatus
    );
    assert_eq!(
        assoc.new_status.as_deref(),
        Some(crate::constants::status::DEPRECATED)
    );
    assert_eq!(assoc.extra_slots.len(), 1);
    assert_eq!(assoc.to_rim(), a);
}

#[test]
fn original_order_of_slots_classifications_and_identifiers_is_kept() {
    let mut eo = sample_extrinsic_object();
    eo.object.slots.reverse();
    eo.object.classifications.reverse();
    eo.object.external_identifiers.reverse();
    eo.object.slots[0].slot_type = Some("rim:string".to_owned());
    let de = DocumentEntry::from_rim(&eo).unwrap();
    assert_eq!(de.to_rim(), eo);
}

#[test]
fn unknown_slots_classifications_and_identifiers_are_kept() {
    let mut eo = sample_extrinsic_object();
    eo.object
        .slots
        .insert(2, Slot::new("urn:vendor:extra", ["a", "b"]));
    eo.object.classifications.insert(
        1,
        code(
            "cl99",
            "Document01",
            "urn:uuid:00000000-0000-0000-0000-000000000001",
            "X",
            "S",
            "x",
        ),
    );
    eo.object.external_identifiers.push(ext_id(
        "ei99",
        "Document01",
        "urn:uuid:00000000-0000-0000-0000-000000000002",
        "v",
        "n",
    ));
    eo.object.description = Some(InternationalString {
        strings: vec![LocalizedString {
            lang: Some("en".to_owned()),
            charset: Some("UTF-8".to_owned()),
            value: "comments".to_owned(),
        }],
    });
    let de = DocumentEntry::from_rim(&eo).unwrap();
    assert_eq!(de.extra_slots.len(), 1);
    assert_eq!(de.extra_classifications.len(), 1);
    assert_eq!(de.extra_external_identifiers.len(), 1);
    assert_eq!(de.to_rim(), eo);
}

#[test]
fn code_details_beyond_the_model_are_kept() {
    let mut eo = sample_extrinsic_object();
    let c = &mut eo.object.classifications[1].object;
    c.slots.insert(0, Slot::new("vendorSlot", ["1"]));
    c.object_type = Some(crate::constants::object_type::CLASSIFICATION.to_owned());
    c.description = Some(InternationalString::plain("why"));
    let de = DocumentEntry::from_rim(&eo).unwrap();
    assert_eq!(de.to_rim(), eo);
}

#[test]
fn unrecognised_top_level_objects_are_kept() {
    let mut list = sample_list();
    list.objects.insert(
        0,
        Identifiable::ObjectRef(ObjectRef {
            id: "urn:uuid:0e6e6b0a-2d4e-4a53-8d4a-0d5c2a1f0003".to_owned(),
            ..ObjectRef::default()
        }),
    );
    list.objects.push(Identifiable::Classification(marker(
        "cl50",
        "urn:uuid:0e6e6b0a-2d4e-4a53-8d4a-0d5c2a1f0004",
        node::FOLDER,
    )));
    list.objects.push(Identifiable::Raw(
        "<rim:ExtrinsicObject id=\"x\"/>".to_owned(),
    ));
    let submission = Submission::from_object_list(&list).unwrap();
    assert_eq!(submission.other_objects.len(), 3);
    assert_eq!(submission.to_object_list(), list);
}

#[test]
fn document_entry_built_in_code_reads_back_the_same() {
    let mut de = DocumentEntry {
        entry_uuid: "urn:uuid:0e6e6b0a-2d4e-4a53-8d4a-0d5c2a1f0005".to_owned(),
        object_type: Some(object_type::ON_DEMAND_DOCUMENT_ENTRY.to_owned()),
        mime_type: Some("application/dicom".to_owned()),
        class_code: Some(Code::new("IMAGES", "1.3.6.1.4.1.19376.1.2.6.1", "Images")),
        authors: vec![Author::person("^Welby^Marcus")],
        patient_id: Some(ExternalId::new(PID, "XDSDocumentEntry.patientId")),
        unique_id: ExternalId::new("2.25.7", "XDSDocumentEntry.uniqueId"),
        creation_time: Some("20261101".to_owned()),
        ..DocumentEntry::default()
    };
    de.set_limited_metadata(true);
    let rim = de.to_rim();
    let back = DocumentEntry::from_rim(&rim).unwrap();
    assert_eq!(back.entry_type(), Some(DocumentEntryType::OnDemand));
    assert!(back.is_limited_metadata());
    assert_eq!(
        back.class_code.as_ref().map(Code::query_form),
        de.class_code.as_ref().map(Code::query_form)
    );
    assert_eq!(back.authors[0].person, de.authors[0].person);
    assert_eq!(back.unique_id.value, "2.25.7");
    assert_eq!(back.to_rim(), rim);
}

#[test]
fn submission_set_built_in_code_reads_back_the_same() {
    let mut ss = SubmissionSet::new("SubmissionSet02", "2.25.8");
    ss.submission_time = Some("20261101093100".to_owned());
    let list = RegistryObjectList {
        objects: vec![Identifiable::RegistryPackage(ss.to_rim())],
    };
    let back = Submission::from_object_list(&list).unwrap();
    assert_eq!(back.submission_set.unique_id.value, "2.25.8");
    assert_eq!(back.to_object_list(), list);
}

#[test]
fn missing_unique_id_is_a_metadata_error() {
    let mut eo = sample_extrinsic_object();
    eo.object.external_identifiers.remove(1);
    let e = error_of(DocumentEntry::from_rim(&eo));
    assert_eq!(e.object_id, "Document01");
    assert_eq!(e.attribute, "DocumentEntry.uniqueId");
    assert_eq!(e.rule, MetadataRule::Missing);
    assert_eq!(
        e.error_code(),
        crate::constants::error_code::XDS_REGISTRY_METADATA_ERROR
    );
    assert_eq!(e.location(), "Document01");
}

#[test]
fn two_patient_id_identifiers_are_a_metadata_error() {
    let mut eo = sample_extrinsic_object();
    let second = ext_id(
        "ei09",
        "Document01",
        ids::DOCUMENT_ENTRY_PATIENT_ID,
        PID,
        "XDSDocumentEntry.patientId",
    );
    eo.object.external_identifiers.push(second);
    let e = error_of(DocumentEntry::from_rim(&eo));
    assert_eq!(e.attribute, "DocumentEntry.patientId");
    assert_eq!(e.rule, MetadataRule::Repeated { count: 2 });
}

#[test]
fn two_class_codes_are_a_metadata_error() {
    let mut eo = sample_extrinsic_object();
    let extra = code(
        "cl30",
        "Document01",
        scheme::DOCUMENT_ENTRY_CLASS_CODE,
        "X",
        "S",
        "x",
    );
    eo.object.classifications.push(extra);
    let e = error_of(DocumentEntry::from_rim(&eo));
    assert_eq!(e.attribute, "DocumentEntry.classCode");
    assert_eq!(e.rule, MetadataRule::Repeated { count: 2 });
}

#[test]
fn code_without_coding_scheme_is_a_metadata_error() {
    let mut eo = sample_extrinsic_object();
    eo.object.classifications[7].object.slots.clear();
    let e = error_of(DocumentEntry::from_rim(&eo));
    assert_eq!(e.object_id, "cl08");
    assert_eq!(e.attribute, "DocumentEntry.typeCode.codingScheme");
    assert_eq!(e.rule, MetadataRule::Missing);
}

#[test]
fn code_without_node_representation_is_a_metadata_error() {
    let mut eo = sample_extrinsic_object();
    eo.object.classifications[4].node_representation = None;
    let e = error_of(DocumentEntry::from_rim(&eo));
    assert_eq!(e.attribute, "DocumentEntry.formatCode");
    assert_eq!(e.rule, MetadataRule::MissingCode);
}

#[test]
fn single_valued_slot_with_two_values_is_a_metadata_error() {
    let mut eo = sample_extrinsic_object();
    eo.object.slots[0].values.push("20261101093001".to_owned());
    let e = error_of(DocumentEntry::from_rim(&eo));
    assert_eq!(e.attribute, "DocumentEntry.creationTime");
    assert_eq!(e.rule, MetadataRule::SingleValue { found: 2 });
}

#[test]
fn repeated_slot_is_a_metadata_error() {
    let mut eo = sample_extrinsic_object();
    eo.object.slots.push(Slot::new("hash", ["00"]));
    let e = error_of(DocumentEntry::from_rim(&eo));
    assert_eq!(e.attribute, "DocumentEntry.hash");
    assert_eq!(e.rule, MetadataRule::Repeated { count: 2 });
}

#[test]
fn multi_valued_slot_without_value_is_a_metadata_error() {
    let mut eo = sample_extrinsic_object();
    eo.object.slots[7].values.clear();
    let e = error_of(DocumentEntry::from_rim(&eo));
    assert_eq!(e.attribute, "DocumentEntry.sourcePatientInfo");
    assert_eq!(e.rule, MetadataRule::NoValue);
}

#[test]
fn author_person_with_two_values_is_a_metadata_error() {
    let mut eo = sample_extrinsic_object();
    eo.object.classifications[0].object.slots[1]
        .values
        .push("^Other".to_owned());
    let e = error_of(DocumentEntry::from_rim(&eo));
    assert_eq!(e.object_id, "cl01");
    assert_eq!(e.attribute, "DocumentEntry.author.authorPerson");
    assert_eq!(e.rule, MetadataRule::SingleValue { found: 2 });
}

#[test]
fn nested_classification_of_another_object_is_a_metadata_error() {
    let mut eo = sample_extrinsic_object();
    eo.object.classifications[1].classified_object = "Document02".to_owned();
    let e = error_of(DocumentEntry::from_rim(&eo));
    assert_eq!(e.attribute, "DocumentEntry.classCode");
    assert_eq!(
        e.rule,
        MetadataRule::ClassifiedObjectMismatch {
            found: "Document02".to_owned()
        }
    );
}

#[test]
fn nested_identifier_of_another_object_is_a_metadata_error() {
    let mut eo = sample_extrinsic_object();
    eo.object.external_identifiers[1].registry_object = "Document02".to_owned();
    let e = error_of(DocumentEntry::from_rim(&eo));
    assert_eq!(e.attribute, "DocumentEntry.uniqueId");
    assert_eq!(
        e.rule,
        MetadataRule::RegistryObjectMismatch {
            found: "Document02".to_owned()
        }
    );
}

#[test]
fn unclassified_registry_package_is_a_metadata_error() {
    let mut list = sample_list();
    list.objects.remove(2);
    let e = error_of(Submission::from_object_list(&list));
    assert_eq!(e.object_id, "SubmissionSet01");
    assert_eq!(e.rule, MetadataRule::UnclassifiedPackage);
}

#[test]
fn package_classified_as_submission_set_and_folder_is_a_metadata_error() {
    let mut list = sample_list();
    list.objects.push(Identifiable::Classification(marker(
        "cl12",
        "SubmissionSet01",
        node::FOLDER,
    )));
    let e = error_of(Submission::from_object_list(&list));
    assert_eq!(e.rule, MetadataRule::PackageOfBothKinds);
}

#[test]
fn two_submission_set_markers_are_a_metadata_error() {
    let mut list = sample_list();
    if let Identifiable::RegistryPackage(p) = &mut list.objects[1] {
        p.object
            .classifications
            .push(marker("cl13", "SubmissionSet01", node::SUBMISSION_SET));
    }
    let e = error_of(Submission::from_object_list(&list));
    assert_eq!(e.attribute, "SubmissionSet");
    assert_eq!(e.rule, MetadataRule::Repeated { count: 2 });
}

#[test]
fn submission_without_submission_set_is_a_metadata_error() {
    let list = RegistryObjectList {
        objects: vec![Identifiable::ExtrinsicObject(sample_extrinsic_object())],
    };
    let e = error_of(Submission::from_object_list(&list));
    assert_eq!(e.rule, MetadataRule::SubmissionSetCount { count: 0 });
    let objects = MetadataObjects::from_object_list(&list).unwrap();
    assert_eq!(objects.document_entries.len(), 1);
    assert_eq!(objects.to_object_list(), list);
}

#[test]
fn submission_with_two_submission_sets_is_a_metadata_error() {
    let mut second = sample_package(true);
    second.object.id = "SubmissionSet02".to_owned();
    for c in &mut second.object.classifications {
        c.classified_object = "SubmissionSet02".to_owned();
    }
    for e in &mut second.object.external_identifiers {
        e.registry_object = "SubmissionSet02".to_owned();
    }
    let mut list = sample_list();
    list.objects.push(Identifiable::RegistryPackage(second));
    let e = error_of(Submission::from_object_list(&list));
    assert_eq!(e.object_id, "SubmissionSet02");
    assert_eq!(e.rule, MetadataRule::SubmissionSetCount { count: 2 });
    assert_eq!(
        MetadataObjects::from_object_list(&list)
            .unwrap()
            .submission_sets
            .len(),
        2
    );
}

#[test]
fn missing_submission_set_unique_id_is_a_metadata_error() {
    let mut package = sample_package(true);
    package.object.external_identifiers.remove(0);
    let e = error_of(SubmissionSet::from_rim(&package, None));
    assert_eq!(e.attribute, "SubmissionSet.uniqueId");
    assert_eq!(e.rule, MetadataRule::Missing);
}

#[test]
fn missing_folder_unique_id_is_a_metadata_error() {
    let mut package = sample_folder();
    package.object.external_identifiers.remove(1);
    let e = error_of(Folder::from_rim(&package, None));
    assert_eq!(e.attribute, "Folder.uniqueId");
    assert_eq!(e.rule, MetadataRule::Missing);
}

#[test]
fn metadata_error_message_names_object_attribute_and_rule() {
    let mut eo = sample_extrinsic_object();
    eo.object.external_identifiers.remove(1);
    let e = error_of(DocumentEntry::from_rim(&eo));
    assert_eq!(
        e.to_string(),
        "Document01: DocumentEntry.uniqueId: is required and missing"
    );
}
