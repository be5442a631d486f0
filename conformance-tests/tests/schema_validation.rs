//! Every message kind `schemas` writes, built from a realistic value, is valid against the
//! official XSD of its root element (`xmllint --schema`, ../shared/ihe-schemas).
#![cfg(feature = "peers")]

use std::path::PathBuf;

use conformance_tests::semantic::{Element, compare, normalise};
use conformance_tests::shared::shared_dir;
use conformance_tests::xmllint::{Report, validate};
use conformance_tests::xsd::{root_element, xsd_for_namespace};
use schemas::ebrim::{
    AdhocQueryRequest, AdhocQueryResponse, Association, Classification, ExternalIdentifier,
    ExtrinsicObject, Identifiable, InternationalString, LocalizedString, ObjectRef, RegistryError,
    RegistryObject, RegistryObjectList, RegistryPackage, RegistryResponse, RemoveObjectsRequest,
    ResponseStatus, ReturnType, Severity, Slot, SubmitObjectsRequest, VersionInfo,
};
use schemas::ihe::{
    Document, DocumentContent, DocumentRequest, DocumentResponse,
    ProvideAndRegisterDocumentSetRequest, RemoveDocumentsRequest, RetrieveDocumentSetRequest,
    RetrieveDocumentSetResponse, RetrieveImagingDocumentSetRequest, SeriesRequest, StudyRequest,
};

const NS_SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
const NS_XOP: &str = "http://www.w3.org/2004/08/xop/include";

const DOCUMENT_ENTRY: &str = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1";
const SUBMISSION_SET_NODE: &str = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd";
const CLASS_CODE: &str = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a";
const FORMAT_CODE: &str = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d";
const AUTHOR: &str = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d";
const CONTENT_TYPE_CODE: &str = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500";
const DOC_PATIENT_ID: &str = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427";
const DOC_UNIQUE_ID: &str = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab";
const SS_PATIENT_ID: &str = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446";
const SS_UNIQUE_ID: &str = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8";
const SS_SOURCE_ID: &str = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832";
const FIND_DOCUMENTS: &str = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d";
const PATIENT: &str = "PAT-1^^^&1.2.3.4.5.6.7.8&ISO";
const REPOSITORY: &str = "1.3.6.1.4.1.21367.2010.1.2.1125";
const KOS_UID: &str = "1.2.3.4.5.6.7.8.9.1";

fn shared() -> PathBuf {
    shared_dir().unwrap_or_else(|e| panic!("{e}"))
}

/// Validates `xml` against the XSD of its root element; panics with xmllint's report.
fn assert_schema_valid(xml: &str) {
    let root = root_element(xml).unwrap_or_else(|e| panic!("not XML ({e}):\n{xml}"));
    let xsd = xsd_for_namespace(&shared(), &root.namespace)
        .unwrap_or_else(|| panic!("no official XSD for the root element {root}"));
    if let Err(report) = validate(xml, &xsd) {
        panic!("{report}\n--- document ---\n{xml}");
    }
}

fn text(value: &str) -> Option<InternationalString> {
    Some(InternationalString::plain(value))
}

fn object(id: &str, object_type: Option<&str>) -> RegistryObject {
    RegistryObject {
        id: id.to_owned(),
        object_type: object_type.map(str::to_owned),
        ..RegistryObject::default()
    }
}

fn coded(scheme: &str, id: &str, on: &str, code: &str, system: &str, name: &str) -> Classification {
    Classification {
        object: RegistryObject {
            slots: vec![Slot::new("codingScheme", [system])],
            name: text(name),
            ..object(id, None)
        },
        classification_scheme: Some(scheme.to_owned()),
        classified_object: on.to_owned(),
        classification_node: None,
        node_representation: Some(code.to_owned()),
    }
}

fn external_id(scheme: &str, id: &str, on: &str, value: &str, name: &str) -> ExternalIdentifier {
    ExternalIdentifier {
        object: RegistryObject {
            name: text(name),
            ..object(id, None)
        },
        registry_object: on.to_owned(),
        identification_scheme: scheme.to_owned(),
        value: value.to_owned(),
    }
}

/// ITI-41/RAD-68 DocumentEntry of a DICOM KOS.
fn document_entry() -> ExtrinsicObject {
    let id = "urn:uuid:0e3a4b5c-6d7e-4f80-9a1b-2c3d4e5f6071";
    let author = Classification {
        object: RegistryObject {
            slots: vec![
                Slot::new("authorPerson", ["^Welby^Marcus^^^Dr^MD"]),
                Slot::new("authorInstitution", ["Radiology^^^^^^^^^1.2.3.4"]),
            ],
            ..object("urn:uuid:0e3a4b5c-0000-4f80-9a1b-2c3d4e5f6072", None)
        },
        classification_scheme: Some(AUTHOR.to_owned()),
        classified_object: id.to_owned(),
        classification_node: None,
        node_representation: Some(String::new()),
    };
    ExtrinsicObject {
        object: RegistryObject {
            status: Some("urn:oasis:names:tc:ebxml-regrep:StatusType:Approved".to_owned()),
            lid: Some(id.to_owned()),
            slots: vec![
                Slot::new("creationTime", ["20261101093000"]),
                Slot::new("languageCode", ["en-US"]),
                Slot::new("repositoryUniqueId", [REPOSITORY]),
                Slot::new("sourcePatientId", [PATIENT]),
                Slot::new(
                    "sourcePatientInfo",
                    [
                        "PID-3|PAT-1^^^&1.2.3.4.5.6.7.8&ISO",
                        "PID-5|DOE^JANE^^^",
                        "PID-8|F",
                    ],
                ),
                Slot::new(
                    "urn:ihe:iti:xds:2013:referenceIdList",
                    ["1.2.840.1^^^^urn:ihe:iti:xds:2016:studyInstanceUID"],
                ),
            ],
            name: Some(InternationalString {
                strings: vec![LocalizedString {
                    lang: Some("en-US".to_owned()),
                    charset: Some("UTF-8".to_owned()),
                    value: "CT chest <key images> & report".to_owned(),
                }],
            }),
            description: text("Key object selection"),
            version_info: Some(VersionInfo {
                version_name: Some("1".to_owned()),
                comment: None,
            }),
            classifications: vec![
                author,
                coded(
                    CLASS_CODE,
                    "urn:uuid:0e3a4b5c-0001-4f80-9a1b-2c3d4e5f6073",
                    id,
                    "IMAGES",
                    "1.3.6.1.4.1.19376.1.2.6.1",
                    "Images",
                ),
                coded(
                    FORMAT_CODE,
                    "urn:uuid:0e3a4b5c-0002-4f80-9a1b-2c3d4e5f6074",
                    id,
                    "1.2.840.10008.5.1.4.1.1.88.59",
                    "1.2.840.10008.2.6.1",
                    "Key Object Selection Document",
                ),
            ],
            external_identifiers: vec![
                external_id(
                    DOC_PATIENT_ID,
                    "urn:uuid:0e3a4b5c-0003-4f80-9a1b-2c3d4e5f6075",
                    id,
                    PATIENT,
                    "XDSDocumentEntry.patientId",
                ),
                external_id(
                    DOC_UNIQUE_ID,
                    "urn:uuid:0e3a4b5c-0004-4f80-9a1b-2c3d4e5f6076",
                    id,
                    KOS_UID,
                    "XDSDocumentEntry.uniqueId",
                ),
            ],
            ..object(id, Some(DOCUMENT_ENTRY))
        },
        mime_type: Some("application/dicom".to_owned()),
        is_opaque: None,
        content_version_info: None,
    }
}

/// ITI-42 Register Document Set-b: a SubmissionSet with one DocumentEntry and its HasMember.
fn submission() -> SubmitObjectsRequest {
    let set = "urn:uuid:5a3b2c1d-0000-4e5f-8a9b-0c1d2e3f4a5b";
    let entry = document_entry();
    let submission_set = RegistryPackage {
        object: RegistryObject {
            slots: vec![Slot::new("submissionTime", ["20261101093500"])],
            name: text("Imaging submission"),
            classifications: vec![coded(
                CONTENT_TYPE_CODE,
                "urn:uuid:5a3b2c1d-0001-4e5f-8a9b-0c1d2e3f4a5c",
                set,
                "IMAGING",
                "1.2.3",
                "Imaging",
            )],
            external_identifiers: vec![
                external_id(
                    SS_UNIQUE_ID,
                    "urn:uuid:5a3b2c1d-0002-4e5f-8a9b-0c1d2e3f4a5d",
                    set,
                    "1.2.3.4.5.6.7.8.9.100",
                    "XDSSubmissionSet.uniqueId",
                ),
                external_id(
                    SS_SOURCE_ID,
                    "urn:uuid:5a3b2c1d-0003-4e5f-8a9b-0c1d2e3f4a5e",
                    set,
                    "1.2.3.4.5",
                    "XDSSubmissionSet.sourceId",
                ),
                external_id(
                    SS_PATIENT_ID,
                    "urn:uuid:5a3b2c1d-0004-4e5f-8a9b-0c1d2e3f4a5f",
                    set,
                    PATIENT,
                    "XDSSubmissionSet.patientId",
                ),
            ],
            ..object(
                set,
                Some("urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:RegistryPackage"),
            )
        },
        members: None,
    };
    let set_classification = Classification {
        object: object("urn:uuid:5a3b2c1d-0005-4e5f-8a9b-0c1d2e3f4a60", None),
        classification_scheme: None,
        classified_object: set.to_owned(),
        classification_node: Some(SUBMISSION_SET_NODE.to_owned()),
        node_representation: None,
    };
    let has_member = Association {
        object: RegistryObject {
            slots: vec![Slot::new("SubmissionSetStatus", ["Original"])],
            ..object("urn:uuid:5a3b2c1d-0006-4e5f-8a9b-0c1d2e3f4a61", None)
        },
        association_type: "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember".to_owned(),
        source_object: set.to_owned(),
        target_object: entry.object.id.clone(),
    };
    SubmitObjectsRequest {
        id: None,
        comment: None,
        request_slots: Vec::new(),
        objects: RegistryObjectList {
            objects: vec![
                Identifiable::RegistryPackage(submission_set),
                Identifiable::ExtrinsicObject(entry),
                Identifiable::Classification(set_classification),
                Identifiable::Association(has_member),
            ],
        },
    }
}

fn success() -> RegistryResponse {
    RegistryResponse {
        status: ResponseStatus::Success,
        request_id: None,
        response_slots: Vec::new(),
        errors: Vec::new(),
    }
}

fn document_request(uid: &str) -> DocumentRequest {
    DocumentRequest {
        home_community_id: Some("urn:oid:1.3.6.1.4.1.21367.13.70.101".to_owned()),
        repository_unique_id: REPOSITORY.to_owned(),
        document_unique_id: uid.to_owned(),
    }
}

/// The first child of `env:Body` of a SOAP 1.2 envelope, as a standalone document.
fn body_child(envelope: &str) -> String {
    let tree = normalise(envelope).unwrap_or_else(|e| panic!("envelope: {e}\n{envelope}"));
    assert!(
        tree.name.is(NS_SOAP12, "Envelope"),
        "not a SOAP 1.2 envelope: {envelope}"
    );
    let body = tree
        .child_elements()
        .find(|e| e.name.is(NS_SOAP12, "Body"))
        .unwrap_or_else(|| panic!("no env:Body in {envelope}"));
    body.child_elements()
        .next()
        .map(Element::to_xml)
        .unwrap_or_else(|| panic!("empty env:Body in {envelope}"))
}

#[test]
fn the_harness_refuses_a_schema_invalid_document() {
    let invalid = r#"<rs:RegistryResponse xmlns:rs="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0" status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"><rs:Unknown/></rs:RegistryResponse>"#;
    let xsd =
        xsd_for_namespace(&shared(), "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0").expect("rs.xsd");
    assert!(matches!(
        validate(invalid, &xsd),
        Err(Report::Invalid { .. })
    ));
}

#[test]
fn iti_42_submit_objects_request_is_schema_valid() {
    assert_schema_valid(&submission().to_xml());
}

#[test]
fn registry_response_success_is_schema_valid() {
    assert_schema_valid(&success().to_xml());
}

#[test]
fn registry_response_failure_with_errors_is_schema_valid() {
    let response = RegistryResponse {
        status: ResponseStatus::Failure,
        request_id: Some("urn:uuid:1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5".to_owned()),
        response_slots: vec![Slot::new("detail", ["all-or-nothing"])],
        errors: vec![
            RegistryError {
                error_code: "XDSUnknownPatientId".to_owned(),
                code_context: format!("Patient id {PATIENT} is not known to the registry"),
                location: Some("SubmissionSet01".to_owned()),
                severity: Severity::Error,
                value: None,
            },
            RegistryError {
                error_code: "XDSRegistryMetadataError".to_owned(),
                code_context: "creationTime is not a valid DTM".to_owned(),
                location: None,
                severity: Severity::Warning,
                value: Some("20261301".to_owned()),
            },
        ],
    };
    assert_schema_valid(&response.to_xml());
}

#[test]
fn registry_response_partial_success_is_schema_valid() {
    let response = RegistryResponse {
        status: ResponseStatus::PartialSuccess,
        ..success()
    };
    assert_schema_valid(&response.to_xml());
}

fn find_documents(return_type: ReturnType) -> AdhocQueryRequest {
    AdhocQueryRequest {
        id: None,
        comment: None,
        request_slots: Vec::new(),
        return_type,
        return_composed_objects: true,
        federated: false,
        federation: None,
        start_index: 0,
        max_results: None,
        query: RegistryObject {
            slots: vec![
                Slot::new("$XDSDocumentEntryPatientId", [format!("'{PATIENT}'")]),
                Slot::new(
                    "$XDSDocumentEntryStatus",
                    ["('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"],
                ),
                Slot::new(
                    "$XDSDocumentEntryClassCode",
                    ["('IMAGES^^1.3.6.1.4.1.19376.1.2.6.1')"],
                ),
            ],
            ..object(FIND_DOCUMENTS, None)
        },
    }
}

#[test]
fn iti_18_find_documents_request_leaf_class_is_schema_valid() {
    assert_schema_valid(&find_documents(ReturnType::LeafClass).to_xml());
}

#[test]
fn iti_18_find_documents_request_object_ref_is_schema_valid() {
    let mut request = find_documents(ReturnType::ObjectRef);
    request.start_index = 10;
    request.max_results = Some(100);
    assert_schema_valid(&request.to_xml());
}

#[test]
fn iti_18_response_leaf_class_is_schema_valid() {
    let response = AdhocQueryResponse {
        response: success(),
        start_index: None,
        total_result_count: Some(1),
        objects: RegistryObjectList {
            objects: vec![Identifiable::ExtrinsicObject(document_entry())],
        },
    };
    assert_schema_valid(&response.to_xml());
}

#[test]
fn iti_18_response_object_ref_is_schema_valid() {
    let refs = [
        "urn:uuid:0e3a4b5c-6d7e-4f80-9a1b-2c3d4e5f6071",
        "urn:uuid:5a3b2c1d-0000-4e5f-8a9b-0c1d2e3f4a5b",
    ];
    let response = AdhocQueryResponse {
        response: success(),
        start_index: Some(0),
        total_result_count: Some(2),
        objects: RegistryObjectList {
            objects: refs
                .iter()
                .map(|id| {
                    Identifiable::ObjectRef(ObjectRef {
                        id: (*id).to_owned(),
                        home: Some("urn:oid:1.3.6.1.4.1.21367.13.70.101".to_owned()),
                        create_replica: None,
                        slots: Vec::new(),
                    })
                })
                .collect(),
        },
    };
    assert_schema_valid(&response.to_xml());
}

#[test]
fn iti_18_empty_failure_response_is_schema_valid() {
    let response = AdhocQueryResponse {
        response: RegistryResponse {
            status: ResponseStatus::Failure,
            errors: vec![RegistryError {
                error_code: "XDSStoredQueryParamNumber".to_owned(),
                code_context: "$XDSDocumentEntryPatientId is required".to_owned(),
                location: None,
                severity: Severity::Error,
                value: None,
            }],
            ..success()
        },
        start_index: None,
        total_result_count: None,
        objects: RegistryObjectList::default(),
    };
    assert_schema_valid(&response.to_xml());
}

#[test]
fn iti_62_remove_objects_request_is_schema_valid() {
    let request = RemoveObjectsRequest {
        deletion_scope: Some(
            "urn:oasis:names:tc:ebxml-regrep:DeletionScopeType:DeleteAll".to_owned(),
        ),
        object_refs: [
            "urn:uuid:0e3a4b5c-6d7e-4f80-9a1b-2c3d4e5f6071",
            "urn:uuid:5a3b2c1d-0006-4e5f-8a9b-0c1d2e3f4a61",
        ]
        .iter()
        .map(|id| ObjectRef {
            id: (*id).to_owned(),
            ..ObjectRef::default()
        })
        .collect(),
        ..RemoveObjectsRequest::default()
    };
    assert_schema_valid(&request.to_xml());
}

fn provide_and_register() -> ProvideAndRegisterDocumentSetRequest {
    let submit = submission();
    ProvideAndRegisterDocumentSetRequest {
        documents: vec![Document {
            id: "urn:uuid:0e3a4b5c-6d7e-4f80-9a1b-2c3d4e5f6071".to_owned(),
            content: DocumentContent::Include {
                content_id: "kos-1@hie.example.org".to_owned(),
            },
        }],
        submit,
    }
}

#[test]
fn iti_41_provide_and_register_with_xop_include_is_schema_valid_after_xop_decoding() {
    let wire = provide_and_register().to_xml();
    let mut tree = normalise(&wire).unwrap_or_else(|e| panic!("{e}\n{wire}"));
    let includes: Vec<&Element> = tree
        .descendants()
        .into_iter()
        .filter(|e| e.name.is(NS_XOP, "Include"))
        .collect();
    assert_eq!(includes.len(), 1, "one xop:Include expected in\n{wire}");
    assert_eq!(
        includes[0].attribute("href"),
        Some("cid:kos-1@hie.example.org")
    );
    let part = b"DICM key object selection".to_vec();
    let replaced = tree
        .resolve_xop_includes(&|cid| (cid == "kos-1@hie.example.org").then(|| part.clone()))
        .unwrap_or_else(|href| panic!("unresolved {href}"));
    assert_eq!(replaced, 1);
    assert_schema_valid(&tree.to_xml());
}

#[test]
fn iti_41_provide_and_register_with_inline_document_is_schema_valid() {
    let mut request = provide_and_register();
    request.documents[0].content = DocumentContent::Inline(b"DICM\x00\x01\xff".to_vec());
    assert_schema_valid(&request.to_xml());
}

#[test]
fn iti_43_retrieve_document_set_request_is_schema_valid() {
    let request = RetrieveDocumentSetRequest {
        requests: vec![
            document_request(KOS_UID),
            DocumentRequest {
                home_community_id: None,
                ..document_request("1.2.3.4.5.6.7.8.9.2")
            },
        ],
    };
    assert_schema_valid(&request.to_xml());
}

#[test]
fn iti_43_retrieve_document_set_response_is_schema_valid() {
    let response = RetrieveDocumentSetResponse {
        response: success(),
        documents: vec![
            DocumentResponse {
                home_community_id: Some("urn:oid:1.3.6.1.4.1.21367.13.70.101".to_owned()),
                repository_unique_id: REPOSITORY.to_owned(),
                document_unique_id: KOS_UID.to_owned(),
                new_repository_unique_id: None,
                new_document_unique_id: None,
                mime_type: "application/dicom".to_owned(),
                content: DocumentContent::Inline(b"DICM".to_vec()),
            },
            DocumentResponse {
                home_community_id: None,
                repository_unique_id: REPOSITORY.to_owned(),
                document_unique_id: "1.2.3.4.5.6.7.8.9.3".to_owned(),
                new_repository_unique_id: Some("1.2.3.4.99".to_owned()),
                new_document_unique_id: Some("1.2.3.4.99.1".to_owned()),
                mime_type: "application/pdf".to_owned(),
                content: DocumentContent::Inline(b"%PDF-1.7".to_vec()),
            },
        ],
    };
    assert_schema_valid(&response.to_xml());
}

#[test]
fn iti_43_retrieve_document_set_response_failure_without_documents_is_schema_valid() {
    let response = RetrieveDocumentSetResponse {
        response: RegistryResponse {
            status: ResponseStatus::Failure,
            errors: vec![RegistryError {
                error_code: "XDSDocumentUniqueIdError".to_owned(),
                code_context: format!("document {KOS_UID} is not in this repository"),
                location: Some(REPOSITORY.to_owned()),
                severity: Severity::Error,
                value: None,
            }],
            ..success()
        },
        documents: Vec::new(),
    };
    assert_schema_valid(&response.to_xml());
}

#[test]
fn rad_69_retrieve_imaging_document_set_request_is_schema_valid() {
    let request = RetrieveImagingDocumentSetRequest {
        studies: vec![StudyRequest {
            study_instance_uid: "1.2.840.1".to_owned(),
            series: vec![SeriesRequest {
                series_instance_uid: "1.2.840.1.2".to_owned(),
                documents: vec![
                    document_request("1.2.840.1.2.3"),
                    document_request("1.2.840.1.2.4"),
                ],
            }],
        }],
        transfer_syntax_uids: vec![
            "1.2.840.10008.1.2.1".to_owned(),
            "1.2.840.10008.1.2.4.50".to_owned(),
        ],
    };
    assert_schema_valid(&request.to_xml());
}

#[test]
fn iti_86_remove_documents_request_is_schema_valid() {
    let request = RemoveDocumentsRequest {
        documents: vec![document_request(KOS_UID)],
    };
    assert_schema_valid(&request.to_xml());
}

#[test]
fn soap_request_envelope_body_is_the_schema_valid_message() {
    let body = find_documents(ReturnType::LeafClass).to_xml();
    let (envelope, _message_id) = schemas::soap::write_request_envelope(
        "urn:ihe:iti:2007:RegistryStoredQuery",
        "http://registry.example.org/xds/iti18",
        &body,
    );
    let child = body_child(&envelope);
    assert_schema_valid(&child);
    if let Err(inequality) = compare(&body, &child) {
        panic!("body changed inside the envelope: {inequality}");
    }
}

#[test]
fn soap_response_envelope_body_is_the_schema_valid_message() {
    let body = success().to_xml();
    let headers = schemas::soap::ResponseHeaders {
        action: "urn:ihe:iti:2007:RegisterDocumentSet-bResponse".to_owned(),
        relates_to: Some("urn:uuid:1d2e3f40-5a6b-4c7d-8e9f-a0b1c2d3e4f5".to_owned()),
        message_id: schemas::soap::new_message_id(),
        to: None,
    };
    let envelope = schemas::soap::write_envelope(&headers, &body);
    let child = body_child(&envelope);
    assert_schema_valid(&child);
    if let Err(inequality) = compare(&body, &child) {
        panic!("body changed inside the envelope: {inequality}");
    }
}
