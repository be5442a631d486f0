//! ITI-18 parameter rules (ITI TF-2a 3.18.4.1.2.3), one test per rule and per query.

use schemas::ebrim::{AdhocQueryRequest, RegistryObject, ReturnType, Severity, Slot};

use super::value::{Literal, ValueSyntaxError, parse_value};
use super::*;

const PID: &str = "'89765a87b^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO'";
const APPROVED: &str = "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')";
const UUID_A: &str = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1";
const UUID_B: &str = "urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248";

fn slot(name: &str, values: &[&str]) -> Slot {
    Slot::new(name, values.iter().copied())
}

fn request(id: &str, slots: Vec<Slot>) -> AdhocQueryRequest {
    AdhocQueryRequest {
        id: None,
        comment: None,
        request_slots: Vec::new(),
        return_type: ReturnType::LeafClass,
        return_composed_objects: true,
        federated: false,
        federation: None,
        start_index: 0,
        max_results: None,
        query: RegistryObject {
            id: id.to_owned(),
            slots,
            ..RegistryObject::default()
        },
    }
}

fn run(id: &str, slots: Vec<Slot>) -> Result<StoredQuery, QueryError> {
    parse(&request(id, slots)).map(|r| r.query)
}

fn error(id: &str, slots: Vec<Slot>) -> QueryError {
    match run(id, slots) {
        Ok(query) => panic!("expected an error, got {query:?}"),
        Err(e) => e,
    }
}

/// The two required FindDocuments parameters plus `extra`.
fn find_documents_with(extra: Vec<Slot>) -> Result<FindDocuments, QueryError> {
    let mut slots = vec![
        slot("$XDSDocumentEntryPatientId", &[PID]),
        slot("$XDSDocumentEntryStatus", &[APPROVED]),
    ];
    slots.extend(extra);
    match run(ids::FIND_DOCUMENTS, slots)? {
        StoredQuery::FindDocuments(q) => Ok(q),
        other => panic!("expected FindDocuments, got {other:?}"),
    }
}

fn find_documents_error(extra: Vec<Slot>) -> QueryError {
    match find_documents_with(extra) {
        Ok(q) => panic!("expected an error, got {q:?}"),
        Err(e) => e,
    }
}

fn code(code: &str, scheme: &str) -> Code {
    Code {
        code: code.to_owned(),
        scheme: scheme.to_owned(),
    }
}

fn uuid(text: &str) -> EntryUuid {
    EntryUuid::parse(text).unwrap()
}

// ---- value syntax (ITI TF-2a 3.18.4.1.2.3.5) ----

#[test]
fn quoted_string_with_doubled_quote() {
    let v = parse_value("'Children''s Hospital'").unwrap();
    assert_eq!(
        v.literals,
        vec![Literal::Text("Children's Hospital".into())]
    );
    assert!(!v.parenthesised);
}

#[test]
fn unquoted_number_is_a_number() {
    let v = parse_value(" 200412252300 ").unwrap();
    assert_eq!(v.literals, vec![Literal::Number("200412252300".into())]);
}

#[test]
fn parenthesised_list_is_comma_separated_quoted_strings() {
    let v = parse_value("( 'a' ,'b','O''Brien' )").unwrap();
    assert!(v.parenthesised);
    assert_eq!(
        v.literals,
        vec![
            Literal::Text("a".into()),
            Literal::Text("b".into()),
            Literal::Text("O'Brien".into())
        ]
    );
}

#[test]
fn comma_and_parenthesis_inside_quotes_are_text() {
    let v = parse_value("('a,b)', 'c')").unwrap();
    assert_eq!(
        v.literals,
        vec![Literal::Text("a,b)".into()), Literal::Text("c".into())]
    );
}

#[test]
fn single_element_list() {
    let v = parse_value("('only')").unwrap();
    assert!(v.parenthesised);
    assert_eq!(v.literals, vec![Literal::Text("only".into())]);
}

#[test]
fn unbalanced_quote_is_unterminated_string() {
    assert_eq!(
        parse_value("('abc)"),
        Err(ValueSyntaxError::UnterminatedString(1))
    );
    assert_eq!(
        parse_value("'it''s"),
        Err(ValueSyntaxError::UnterminatedString(0))
    );
}

#[test]
fn unbalanced_parenthesis_is_unclosed_list() {
    assert_eq!(parse_value("('a','b'"), Err(ValueSyntaxError::UnclosedList));
    assert!(matches!(
        parse_value("'a')"),
        Err(ValueSyntaxError::Unexpected { found: ')', .. })
    ));
}

#[test]
fn empty_value_and_empty_list_are_errors() {
    assert_eq!(parse_value("  "), Err(ValueSyntaxError::Empty));
    assert_eq!(parse_value("( )"), Err(ValueSyntaxError::EmptyList));
    assert!(parse_value("('a',)").is_err());
}

#[test]
fn unquoted_text_is_an_error() {
    assert!(matches!(
        parse_value("urn:uuid:1234"),
        Err(ValueSyntaxError::Unexpected { found: 'u', at: 0 })
    ));
    assert!(parse_value("'a' 'b'").is_err());
}

#[test]
fn malformed_value_is_registry_error_naming_the_parameter() {
    let e = find_documents_error(vec![slot("$XDSDocumentEntryClassCode", &["('a^^b'"])]);
    assert_eq!(e.code, error_code::XDS_REGISTRY_ERROR);
    assert_eq!(e.location, "$XDSDocumentEntryClassCode");
    assert!(
        e.message.contains("$XDSDocumentEntryClassCode"),
        "{}",
        e.message
    );
}

#[test]
fn string_parameter_given_as_number_is_registry_error() {
    let e = find_documents_error(vec![slot("$XDSDocumentEntryClassCode", &["(12)"])]);
    assert_eq!(e.code, error_code::XDS_REGISTRY_ERROR);
}

// ---- multiplicity and AND/OR semantics ----

#[test]
fn several_values_in_one_slot_are_or_ed() {
    let q = find_documents_with(vec![slot(
        "$XDSDocumentEntryClassCode",
        &["('a^^s1')", "('b^^s2', 'c^^s3')"],
    )])
    .unwrap();
    assert_eq!(
        q.class_codes,
        Some(vec![code("a", "s1"), code("b", "s2"), code("c", "s3")])
    );
}

#[test]
fn event_code_list_slots_and_values_are_and_of_or() {
    let q = find_documents_with(vec![
        slot("$XDSDocumentEntryEventCodeList", &["('a^^s','b^^s')"]),
        slot("$XDSDocumentEntryEventCodeList", &["('c^^s')"]),
    ])
    .unwrap();
    assert_eq!(
        q.event_codes,
        vec![vec![code("a", "s"), code("b", "s")], vec![code("c", "s")]]
    );
}

#[test]
fn confidentiality_code_slots_are_and_of_or() {
    let q = find_documents_with(vec![
        slot(
            "$XDSDocumentEntryConfidentialityCode",
            &["('N^^2.16.840.1.113883.5.25')"],
        ),
        slot(
            "$XDSDocumentEntryConfidentialityCode",
            &[
                "('R^^2.16.840.1.113883.5.25')",
                "('V^^2.16.840.1.113883.5.25')",
            ],
        ),
    ])
    .unwrap();
    assert_eq!(q.confidentiality_codes.len(), 2);
    assert_eq!(q.confidentiality_codes[1].len(), 2);
}

#[test]
fn absent_and_or_parameter_is_no_filter() {
    let q = find_documents_with(vec![]).unwrap();
    assert!(q.event_codes.is_empty());
    assert!(q.confidentiality_codes.is_empty());
    assert_eq!(q.class_codes, None);
}

#[test]
fn repeated_non_list_slot_is_param_number() {
    let e = find_documents_error(vec![
        slot("$XDSDocumentEntryClassCode", &["('a^^s')"]),
        slot("$XDSDocumentEntryClassCode", &["('b^^s')"]),
    ]);
    assert_eq!(e.code, error_code::XDS_STORED_QUERY_PARAM_NUMBER);
    assert_eq!(e.location, "$XDSDocumentEntryClassCode");
}

#[test]
fn repeated_patient_id_slot_is_param_number() {
    let e = find_documents_error(vec![slot("$XDSDocumentEntryPatientId", &[PID])]);
    assert_eq!(e.code, error_code::XDS_STORED_QUERY_PARAM_NUMBER);
}

#[test]
fn patient_id_list_of_two_is_param_number() {
    let e = error(
        ids::FIND_DOCUMENTS,
        vec![
            slot(
                "$XDSDocumentEntryPatientId",
                &["('a^^^&1.2.3&ISO', 'b^^^&1.2.3&ISO')"],
            ),
            slot("$XDSDocumentEntryStatus", &[APPROVED]),
        ],
    );
    assert_eq!(e.code, error_code::XDS_STORED_QUERY_PARAM_NUMBER);
    assert_eq!(e.location, "$XDSDocumentEntryPatientId");
}

#[test]
fn patient_id_in_two_value_elements_is_param_number() {
    let e = error(
        ids::FIND_DOCUMENTS,
        vec![
            slot("$XDSDocumentEntryPatientId", &[PID, PID]),
            slot("$XDSDocumentEntryStatus", &[APPROVED]),
        ],
    );
    assert_eq!(e.code, error_code::XDS_STORED_QUERY_PARAM_NUMBER);
}

#[test]
fn slot_without_values_is_missing_param() {
    let e = error(
        ids::FIND_DOCUMENTS,
        vec![
            slot("$XDSDocumentEntryPatientId", &[]),
            slot("$XDSDocumentEntryStatus", &[APPROVED]),
        ],
    );
    assert_eq!(e.code, error_code::XDS_STORED_QUERY_MISSING_PARAM);
}

#[test]
fn parameters_not_defined_for_the_query_are_ignored() {
    let q = find_documents_with(vec![
        slot("$XDSDocumentEntryPracticeSettingCodeScheme", &["('x')"]),
        slot("$XDSFolderCodeList", &["garbage("]),
        slot("$homeCommunityId", &["'not checked here'"]),
    ])
    .unwrap();
    assert_eq!(q.practice_setting_codes, None);
}

// ---- value types ----

#[test]
fn coded_value_is_code_and_coding_scheme() {
    assert_eq!(
        Code::parse("R^^2.16.840.1.113883.5.25"),
        Ok(code("R", "2.16.840.1.113883.5.25"))
    );
    assert_eq!(
        Code::parse("R^Restricted^2.16.840.1.113883.5.25").map(|c| c.code),
        Ok("R".into())
    );
}

#[test]
fn code_without_coding_scheme_is_registry_error() {
    // NIST 11897/old_scheme and 11897/classcode_scheme_mismatch expect a failure.
    for bad in [
        "('Dialysis')",
        "('DEMO-Lab^^1.3.6.1.4.1.21367.100.1', 'a^^')",
        "('^^1.2')",
    ] {
        let e = find_documents_error(vec![slot("$XDSDocumentEntryPracticeSettingCode", &[bad])]);
        assert_eq!(e.code, error_code::XDS_REGISTRY_ERROR, "{bad}");
    }
    assert!(Code::parse("a^^b^c").is_err());
}

#[test]
fn patient_id_is_cx_with_iso_assigning_authority() {
    let q = find_documents_with(vec![]).unwrap();
    assert_eq!(q.patient_id.id, "89765a87b");
    assert_eq!(
        q.patient_id.assigning_authority,
        "1.3.6.1.4.1.21367.2005.13.20.1000"
    );
    for bad in [
        "'89765a87b'",
        "'x^^^&1.2.3&DNS'",
        "'^^^&1.2.3&ISO'",
        "'x^y^^&1.2&ISO'",
        "'x^^^&1..2&ISO'",
    ] {
        let e = error(
            ids::FIND_DOCUMENTS,
            vec![
                slot("$XDSDocumentEntryPatientId", &[bad]),
                slot("$XDSDocumentEntryStatus", &[APPROVED]),
            ],
        );
        assert_eq!(e.code, error_code::XDS_REGISTRY_ERROR, "{bad}");
    }
}

#[test]
fn status_values_are_full_urns() {
    let q = find_documents_with(vec![]).unwrap();
    assert_eq!(q.statuses, vec![AvailabilityStatus::Approved]);
}

#[test]
fn unknown_status_value_is_ignored() {
    let q = error_or_get_all_statuses(
        "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved', 'Approved', 'urn:x:Unknown')",
    );
    assert_eq!(q, vec![AvailabilityStatus::Approved]);
}

fn error_or_get_all_statuses(status: &str) -> Vec<AvailabilityStatus> {
    let q = run(
        ids::FIND_DOCUMENTS,
        vec![
            slot("$XDSDocumentEntryPatientId", &[PID]),
            slot("$XDSDocumentEntryStatus", &[status]),
        ],
    )
    .unwrap();
    match q {
        StoredQuery::FindDocuments(q) => q.statuses,
        other => panic!("{other:?}"),
    }
}

#[test]
fn only_unknown_status_values_is_missing_param() {
    let e = error(
        ids::FIND_DOCUMENTS,
        vec![
            slot("$XDSDocumentEntryPatientId", &[PID]),
            slot("$XDSDocumentEntryStatus", &["('Approved')"]),
        ],
    );
    assert_eq!(e.code, error_code::XDS_STORED_QUERY_MISSING_PARAM);
    assert_eq!(e.location, "$XDSDocumentEntryStatus");
}

#[test]
fn time_parameter_is_dtm_number_or_quoted() {
    let q = find_documents_with(vec![
        slot("$XDSDocumentEntryCreationTimeFrom", &["2004"]),
        slot("$XDSDocumentEntryCreationTimeTo", &["'20050101'"]),
        slot("$XDSDocumentEntryServiceStartTimeFrom", &["200412252300"]),
        slot("$XDSDocumentEntryServiceStopTimeTo", &["20041225230059"]),
    ])
    .unwrap();
    assert_eq!(q.creation_time.from.as_ref().map(Dtm::as_str), Some("2004"));
    assert_eq!(
        q.creation_time.to.as_ref().map(Dtm::as_str),
        Some("20050101")
    );
    assert_eq!(
        q.service_start_time.from.as_ref().map(Dtm::as_str),
        Some("200412252300")
    );
    assert_eq!(q.service_start_time.to, None);
    assert_eq!(
        q.service_stop_time.to.as_ref().map(Dtm::as_str),
        Some("20041225230059")
    );
}

#[test]
fn malformed_time_parameter_is_registry_error() {
    for bad in [
        "20041",
        "20041301",
        "20040132",
        "2004122524",
        "'2004-12-25'",
        "20041225230060",
        "-2004",
        "2004.5",
    ] {
        let e = find_documents_error(vec![slot("$XDSDocumentEntryCreationTimeFrom", &[bad])]);
        assert_eq!(e.code, error_code::XDS_REGISTRY_ERROR, "{bad}");
        assert_eq!(e.location, "$XDSDocumentEntryCreationTimeFrom");
    }
}

#[test]
fn time_parameter_with_two_values_is_param_number() {
    let e = find_documents_error(vec![slot(
        "$XDSDocumentEntryCreationTimeFrom",
        &["2004", "2005"],
    )]);
    assert_eq!(e.code, error_code::XDS_STORED_QUERY_PARAM_NUMBER);
}

#[test]
fn author_person_keeps_like_wildcards() {
    let q = find_documents_with(vec![slot(
        "$XDSDocumentEntryAuthorPerson",
        &["('%Ford%', '_mith')"],
    )])
    .unwrap();
    assert_eq!(
        q.author_persons,
        Some(vec![
            LikePattern("%Ford%".into()),
            LikePattern("_mith".into())
        ])
    );
}

#[test]
fn document_entry_type_values_are_object_type_uuids() {
    let q = find_documents_with(vec![slot(
        "$XDSDocumentEntryType",
        &["('urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248', 'urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1')"],
    )])
    .unwrap();
    assert_eq!(
        q.entry_types,
        Some(vec![DocumentEntryType::OnDemand, DocumentEntryType::Stable])
    );
    let e = find_documents_error(vec![slot("$XDSDocumentEntryType", &["('stable')"])]);
    assert_eq!(e.code, error_code::XDS_REGISTRY_ERROR);
}

#[test]
fn entry_uuid_must_be_urn_uuid() {
    let e = error(
        ids::GET_DOCUMENTS,
        vec![slot("$XDSDocumentEntryEntryUUID", &["('Document01')"])],
    );
    assert_eq!(e.code, error_code::XDS_REGISTRY_ERROR);
    assert!(EntryUuid::parse("urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186cz").is_err());
}

#[test]
fn home_community_id_is_urn_oid() {
    let q = run(
        ids::GET_DOCUMENTS,
        vec![
            slot("$XDSDocumentEntryUniqueId", &["'1.2.3'"]),
            slot("$homeCommunityId", &["'urn:oid:1.3.6.1.4.1.21367.13.70.1'"]),
        ],
    )
    .unwrap();
    assert_eq!(
        q.home_community_id().map(HomeCommunityId::as_str),
        Some("urn:oid:1.3.6.1.4.1.21367.13.70.1")
    );
    let e = error(
        ids::GET_DOCUMENTS,
        vec![
            slot("$XDSDocumentEntryUniqueId", &["'1.2.3'"]),
            slot("$homeCommunityId", &["'1.3.6'"]),
        ],
    );
    assert_eq!(
        (e.code, e.location.as_str()),
        (error_code::XDS_REGISTRY_ERROR, "$homeCommunityId")
    );
}

#[test]
fn association_types_are_urns() {
    assert_eq!(
        AssociationType::parse("urn:ihe:iti:2007:AssociationType:XFRM_RPLC"),
        Ok(AssociationType::TransformAndReplace)
    );
    assert_eq!(
        AssociationType::Signs.urn(),
        "urn:ihe:iti:2007:AssociationType:signs"
    );
    assert!(AssociationType::parse("RPLC").is_err());
}

// ---- query id and response option ----

#[test]
fn unknown_query_id_is_unknown_stored_query() {
    let e = error("urn:uuid:3d1bdb10-39a2-11de-89c2-2f44d94eaa9f", vec![]);
    assert_eq!(e.code, error_code::XDS_UNKNOWN_STORED_QUERY);
    assert_eq!(e.location, "AdhocQuery/@id");
}

#[test]
fn return_type_is_leaf_class_or_object_ref() {
    let mut r = request(
        ids::GET_DOCUMENTS,
        vec![slot("$XDSDocumentEntryUniqueId", &["'1.2'"])],
    );
    assert_eq!(parse(&r).unwrap().return_type, QueryReturnType::LeafClass);
    r.return_type = ReturnType::ObjectRef;
    assert_eq!(parse(&r).unwrap().return_type, QueryReturnType::ObjectRef);
    r.return_type = ReturnType::Other("RegistryObject");
    let e = parse(&r).unwrap_err();
    assert_eq!(e.code, error_code::XDS_REGISTRY_ERROR);
    assert_eq!(e.location, "ResponseOption/@returnType");
}

#[test]
fn query_error_becomes_registry_error() {
    let e = error(
        ids::FIND_DOCUMENTS,
        vec![slot("$XDSDocumentEntryStatus", &[APPROVED])],
    );
    let re = e.to_registry_error();
    assert_eq!(re.error_code, "XDSStoredQueryMissingParam");
    assert_eq!(re.location.as_deref(), Some("$XDSDocumentEntryPatientId"));
    assert_eq!(re.severity, Severity::Error);
    assert!(re.code_context.contains("$XDSDocumentEntryPatientId"));
}

// ---- the 14 queries ----

#[test]
fn find_documents_without_patient_id_is_missing_param() {
    let e = error(
        ids::FIND_DOCUMENTS,
        vec![slot("$XDSDocumentEntryStatus", &[APPROVED])],
    );
    assert_eq!(e.code, error_code::XDS_STORED_QUERY_MISSING_PARAM);
    assert_eq!(e.location, "$XDSDocumentEntryPatientId");
}

#[test]
fn find_documents_without_status_is_missing_param() {
    let e = error(
        ids::FIND_DOCUMENTS,
        vec![slot("$XDSDocumentEntryPatientId", &[PID])],
    );
    assert_eq!(e.code, error_code::XDS_STORED_QUERY_MISSING_PARAM);
    assert_eq!(e.location, "$XDSDocumentEntryStatus");
}

#[test]
fn find_documents_reads_every_optional_parameter() {
    let q = find_documents_with(vec![
        slot("$XDSDocumentEntryClassCode", &["('c^^s')"]),
        slot("$XDSDocumentEntryTypeCode", &["('t^^s')"]),
        slot("$XDSDocumentEntryPracticeSettingCode", &["('p^^s')"]),
        slot("$XDSDocumentEntryHealthcareFacilityTypeCode", &["('h^^s')"]),
        slot(
            "$XDSDocumentEntryFormatCode",
            &["('urn:ihe:rad:TEXT^^1.3.6.1.4.1.19376.1.2.3')"],
        ),
    ])
    .unwrap();
    assert_eq!(q.class_codes, Some(vec![code("c", "s")]));
    assert_eq!(q.type_codes, Some(vec![code("t", "s")]));
    assert_eq!(q.practice_setting_codes, Some(vec![code("p", "s")]));
    assert_eq!(q.healthcare_facility_type_codes, Some(vec![code("h", "s")]));
    assert_eq!(
        q.format_codes,
        Some(vec![code("urn:ihe:rad:TEXT", "1.3.6.1.4.1.19376.1.2.3")])
    );
}

#[test]
fn find_documents_by_reference_id_requires_reference_id_list() {
    let base = vec![
        slot("$XDSDocumentEntryPatientId", &[PID]),
        slot("$XDSDocumentEntryStatus", &[APPROVED]),
    ];
    let e = error(ids::FIND_DOCUMENTS_BY_REFERENCE_ID, base.clone());
    assert_eq!(e.code, error_code::XDS_STORED_QUERY_MISSING_PARAM);
    assert_eq!(e.location, "$XDSDocumentEntryReferenceIdList");

    let mut slots = base;
    slots.push(slot(
        "$XDSDocumentEntryReferenceIdList",
        &["('20061223^^^&1.2.5643.2&ISO^urn:ihe:iti:xds:2013:uniqueId', 'A1^^^&1.2&ISO^urn:ihe:iti:xds:2013:accession')"],
    ));
    slots.push(slot("$XDSDocumentEntryEventCodeList", &["('e^^s')"]));
    match run(ids::FIND_DOCUMENTS_BY_REFERENCE_ID, slots).unwrap() {
        StoredQuery::FindDocumentsByReferenceId(q) => {
            assert_eq!(q.reference_ids.len(), 2);
            assert_eq!(q.find.event_codes, vec![vec![code("e", "s")]]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn find_submission_sets_parameters() {
    let q = run(
        ids::FIND_SUBMISSION_SETS,
        vec![
            slot("$XDSSubmissionSetPatientId", &[PID]),
            slot("$XDSSubmissionSetStatus", &[APPROVED]),
            slot(
                "$XDSSubmissionSetSourceId",
                &["('1.3.6.1.4.1.21367.2009.1.2.1')"],
            ),
            slot("$XDSSubmissionSetSubmissionTimeFrom", &["200412"]),
            slot("$XDSSubmissionSetSubmissionTimeTo", &["200501"]),
            slot("$XDSSubmissionSetAuthorPerson", &["'%Dopplemeyer%'"]),
            slot(
                "$XDSSubmissionSetContentType",
                &["('Emergency^^Connect-a-thon contentTypeCodes')"],
            ),
        ],
    )
    .unwrap();
    let StoredQuery::FindSubmissionSets(q) = q else {
        panic!("{q:?}")
    };
    assert_eq!(q.statuses, vec![AvailabilityStatus::Approved]);
    assert_eq!(
        q.source_ids,
        Some(vec!["1.3.6.1.4.1.21367.2009.1.2.1".to_owned()])
    );
    assert_eq!(
        q.submission_time.from.as_ref().map(Dtm::as_str),
        Some("200412")
    );
    assert_eq!(q.author_person, Some(LikePattern("%Dopplemeyer%".into())));
    assert_eq!(q.content_type_codes.map(|c| c.len()), Some(1));
}

#[test]
fn find_submission_sets_author_person_is_single_valued() {
    let e = error(
        ids::FIND_SUBMISSION_SETS,
        vec![
            slot("$XDSSubmissionSetPatientId", &[PID]),
            slot("$XDSSubmissionSetStatus", &[APPROVED]),
            slot("$XDSSubmissionSetAuthorPerson", &["('%a%', '%b%')"]),
        ],
    );
    assert_eq!(e.code, error_code::XDS_STORED_QUERY_PARAM_NUMBER);
}

#[test]
fn find_submission_sets_without_patient_id_is_missing_param() {
    let e = error(
        ids::FIND_SUBMISSION_SETS,
        vec![slot("$XDSSubmissionSetStatus", &[APPROVED])],
    );
    assert_eq!(
        (e.code, e.location.as_str()),
        (
            error_code::XDS_STORED_QUERY_MISSING_PARAM,
            "$XDSSubmissionSetPatientId"
        )
    );
}

#[test]
fn find_folders_code_list_slots_are_and_of_or() {
    let q = run(
        ids::FIND_FOLDERS,
        vec![
            slot("$XDSFolderPatientId", &[PID]),
            slot("$XDSFolderStatus", &[APPROVED]),
            slot("$XDSFolderLastUpdateTimeFrom", &["2003"]),
            slot("$XDSFolderLastUpdateTimeTo", &["2006"]),
            slot(
                "$XDSFolderCodeList",
                &["('Referrals^^Connect-a-thon folderCodeList')"],
            ),
            slot("$XDSFolderCodeList", &["('a^^s')", "('b^^s')"]),
        ],
    )
    .unwrap();
    let StoredQuery::FindFolders(q) = q else {
        panic!("{q:?}")
    };
    assert_eq!(q.codes.len(), 2);
    assert_eq!(q.codes[1], vec![code("a", "s"), code("b", "s")]);
    assert_eq!(
        q.last_update_time.to.as_ref().map(Dtm::as_str),
        Some("2006")
    );
}

#[test]
fn find_folders_without_status_is_missing_param() {
    let e = error(ids::FIND_FOLDERS, vec![slot("$XDSFolderPatientId", &[PID])]);
    assert_eq!(
        (e.code, e.location.as_str()),
        (
            error_code::XDS_STORED_QUERY_MISSING_PARAM,
            "$XDSFolderStatus"
        )
    );
}

#[test]
fn get_all_requires_patient_id_and_three_statuses() {
    let full = vec![
        slot("$patientId", &[PID]),
        slot("$XDSDocumentEntryStatus", &[APPROVED]),
        slot("$XDSSubmissionSetStatus", &[APPROVED]),
        slot(
            "$XDSFolderStatus",
            &["('urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated')"],
        ),
        slot("$XDSDocumentEntryFormatCode", &["('f^^s')"]),
        slot("$XDSDocumentEntryConfidentialityCode", &["('N^^s')"]),
        slot("$XDSDocumentEntryConfidentialityCode", &["('R^^s')"]),
        slot(
            "$XDSDocumentEntryType",
            &[&format!("('{}')", DocumentEntryType::STABLE_UUID)],
        ),
    ];
    let StoredQuery::GetAll(q) = run(ids::GET_ALL, full.clone()).unwrap() else {
        panic!()
    };
    assert_eq!(q.folder_statuses, vec![AvailabilityStatus::Deprecated]);
    assert_eq!(q.confidentiality_codes.len(), 2);
    assert_eq!(q.entry_types, Some(vec![DocumentEntryType::Stable]));
    for required in [
        "$patientId",
        "$XDSDocumentEntryStatus",
        "$XDSSubmissionSetStatus",
        "$XDSFolderStatus",
    ] {
        let slots: Vec<Slot> = full
            .iter()
            .filter(|s| s.name != required)
            .cloned()
            .collect();
        let e = error(ids::GET_ALL, slots);
        assert_eq!(
            (e.code, e.location.as_str()),
            (error_code::XDS_STORED_QUERY_MISSING_PARAM, required)
        );
    }
}

#[test]
fn get_documents_by_entry_uuids_single_or_list() {
    let q = run(
        ids::GET_DOCUMENTS,
        vec![slot(
            "$XDSDocumentEntryEntryUUID",
            &[&format!("('{UUID_A}')"), &format!("'{UUID_B}'")],
        )],
    )
    .unwrap();
    let StoredQuery::GetDocuments(q) = q else {
        panic!("{q:?}")
    };
    assert_eq!(
        q.documents,
        ObjectRefs::EntryUuids(vec![uuid(UUID_A), uuid(UUID_B)])
    );
    assert_eq!(q.home_community_id, None);
}

#[test]
fn get_documents_by_unique_ids() {
    let q = run(
        ids::GET_DOCUMENTS,
        vec![slot("$XDSDocumentEntryUniqueId", &["('1.2.3', '1.2.4')"])],
    )
    .unwrap();
    let StoredQuery::GetDocuments(q) = q else {
        panic!("{q:?}")
    };
    assert_eq!(
        q.documents,
        ObjectRefs::UniqueIds(vec!["1.2.3".into(), "1.2.4".into()])
    );
}

#[test]
fn get_documents_with_both_uuid_and_unique_id_is_param_number() {
    let e = error(
        ids::GET_DOCUMENTS,
        vec![
            slot("$XDSDocumentEntryEntryUUID", &[&format!("('{UUID_A}')")]),
            slot("$XDSDocumentEntryUniqueId", &["('1.2.3')"]),
        ],
    );
    assert_eq!(e.code, error_code::XDS_STORED_QUERY_PARAM_NUMBER);
}

#[test]
fn get_documents_with_neither_uuid_nor_unique_id_is_missing_param() {
    let e = error(
        ids::GET_DOCUMENTS,
        vec![slot("$homeCommunityId", &["'urn:oid:1.2'"])],
    );
    assert_eq!(e.code, error_code::XDS_STORED_QUERY_MISSING_PARAM);
    assert_eq!(e.location, "$XDSDocumentEntryEntryUUID");
}

#[test]
fn get_folders_one_of_folder_uuid_or_unique_id() {
    let StoredQuery::GetFolders(q) = run(
        ids::GET_FOLDERS,
        vec![slot("$XDSFolderUniqueId", &["'1.2.3.9'"])],
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(q.folders, ObjectRefs::UniqueIds(vec!["1.2.3.9".into()]));
    let e = error(
        ids::GET_FOLDERS,
        vec![
            slot("$XDSFolderUniqueId", &["'1.2.3.9'"]),
            slot("$XDSFolderEntryUUID", &[&format!("'{UUID_A}'")]),
        ],
    );
    assert_eq!(e.code, error_code::XDS_STORED_QUERY_PARAM_NUMBER);
}

#[test]
fn get_documents_and_get_folders_take_a_logical_id_as_third_one_of() {
    let StoredQuery::GetDocuments(q) = run(
        ids::GET_DOCUMENTS,
        vec![slot(
            "$XDSDocumentEntryLogicalID",
            &[&format!("('{UUID_A}')")],
        )],
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(q.documents, ObjectRefs::LogicalIds(vec![uuid(UUID_A)]));
    let StoredQuery::GetFolders(q) = run(
        ids::GET_FOLDERS,
        vec![slot("$XDSFolderLogicalID", &[&format!("('{UUID_B}')")])],
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(q.folders, ObjectRefs::LogicalIds(vec![uuid(UUID_B)]));
    let e = error(
        ids::GET_DOCUMENTS,
        vec![
            slot("$XDSDocumentEntryLogicalID", &[&format!("('{UUID_A}')")]),
            slot("$XDSDocumentEntryUniqueId", &["'1.2.3'"]),
        ],
    );
    assert_eq!(e.code, error_code::XDS_STORED_QUERY_PARAM_NUMBER);
    assert_eq!(e.location, "$XDSDocumentEntryLogicalID");
}

#[test]
fn get_associations_requires_uuid() {
    let StoredQuery::GetAssociations(q) = run(
        ids::GET_ASSOCIATIONS,
        vec![slot("$uuid", &[&format!("('{UUID_A}', '{UUID_B}')")])],
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(q.uuids, vec![uuid(UUID_A), uuid(UUID_B)]);
    let e = error(ids::GET_ASSOCIATIONS, vec![]);
    assert_eq!(
        (e.code, e.location.as_str()),
        (error_code::XDS_STORED_QUERY_MISSING_PARAM, "$uuid")
    );
}

#[test]
fn get_documents_and_associations_one_of() {
    let StoredQuery::GetDocumentsAndAssociations(q) = run(
        ids::GET_DOCUMENTS_AND_ASSOCIATIONS,
        vec![slot(
            "$XDSDocumentEntryEntryUUID",
            &[&format!("'{UUID_A}'")],
        )],
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(q.documents, ObjectRefs::EntryUuids(vec![uuid(UUID_A)]));
    let e = error(ids::GET_DOCUMENTS_AND_ASSOCIATIONS, vec![]);
    assert_eq!(e.code, error_code::XDS_STORED_QUERY_MISSING_PARAM);
}

#[test]
fn get_submission_sets_requires_uuid() {
    let StoredQuery::GetSubmissionSets(q) = run(
        ids::GET_SUBMISSION_SETS,
        vec![
            slot("$uuid", &[&format!("('{UUID_B}')")]),
            slot("$homeCommunityId", &["'urn:oid:1.2.3'"]),
        ],
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(q.uuids, vec![uuid(UUID_B)]);
    assert!(q.home_community_id.is_some());
    assert_eq!(
        error(ids::GET_SUBMISSION_SETS, vec![]).code,
        error_code::XDS_STORED_QUERY_MISSING_PARAM
    );
}

#[test]
fn get_submission_set_and_contents_takes_one_submission_set() {
    let StoredQuery::GetSubmissionSetAndContents(q) = run(
        ids::GET_SUBMISSION_SET_AND_CONTENTS,
        vec![
            slot("$XDSSubmissionSetUniqueId", &["'1.2.3.4'"]),
            slot("$XDSDocumentEntryFormatCode", &["('f^^s')"]),
            slot(
                "$XDSDocumentEntryConfidentialityCode",
                &["('R^^s', 'N^^s')"],
            ),
            slot(
                "$XDSDocumentEntryType",
                &[&format!("('{}')", DocumentEntryType::ON_DEMAND_UUID)],
            ),
        ],
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(q.submission_set, ObjectRefOne::UniqueId("1.2.3.4".into()));
    assert_eq!(q.format_codes, Some(vec![code("f", "s")]));
    assert_eq!(
        q.confidentiality_codes,
        vec![vec![code("R", "s"), code("N", "s")]]
    );
    assert_eq!(q.entry_types, Some(vec![DocumentEntryType::OnDemand]));
}

#[test]
fn get_submission_set_and_contents_with_two_uuids_is_param_number() {
    let e = error(
        ids::GET_SUBMISSION_SET_AND_CONTENTS,
        vec![slot(
            "$XDSSubmissionSetEntryUUID",
            &[&format!("('{UUID_A}', '{UUID_B}')")],
        )],
    );
    assert_eq!(e.code, error_code::XDS_STORED_QUERY_PARAM_NUMBER);
    assert_eq!(e.location, "$XDSSubmissionSetEntryUUID");
}

#[test]
fn get_folder_and_contents_takes_one_folder() {
    let StoredQuery::GetFolderAndContents(q) = run(
        ids::GET_FOLDER_AND_CONTENTS,
        vec![slot("$XDSFolderEntryUUID", &[&format!("'{UUID_A}'")])],
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(q.folder, ObjectRefOne::EntryUuid(uuid(UUID_A)));
    assert!(q.confidentiality_codes.is_empty());
    let e = error(ids::GET_FOLDER_AND_CONTENTS, vec![]);
    assert_eq!(
        (e.code, e.location.as_str()),
        (
            error_code::XDS_STORED_QUERY_MISSING_PARAM,
            "$XDSFolderEntryUUID"
        )
    );
}

#[test]
fn get_folders_for_document_takes_one_document() {
    let StoredQuery::GetFoldersForDocument(q) = run(
        ids::GET_FOLDERS_FOR_DOCUMENT,
        vec![slot("$XDSDocumentEntryUniqueId", &["'1.2.3'"])],
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(q.document, ObjectRefOne::UniqueId("1.2.3".into()));
    let e = error(
        ids::GET_FOLDERS_FOR_DOCUMENT,
        vec![slot("$XDSDocumentEntryUniqueId", &["'1.2.3'", "'1.2.4'"])],
    );
    assert_eq!(e.code, error_code::XDS_STORED_QUERY_PARAM_NUMBER);
}

#[test]
fn get_related_documents_reads_association_types() {
    let StoredQuery::GetRelatedDocuments(q) = run(
        ids::GET_RELATED_DOCUMENTS,
        vec![
            slot("$XDSDocumentEntryUniqueId", &["'1.2.3'"]),
            slot(
                "$AssociationTypes",
                &["('urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember', 'urn:ihe:iti:2007:AssociationType:RPLC')"],
            ),
        ],
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(
        q.association_types,
        vec![AssociationType::HasMember, AssociationType::Replace]
    );
    assert_eq!(q.entry_types, None);
}

#[test]
fn get_related_documents_without_association_types_is_missing_param() {
    let e = error(
        ids::GET_RELATED_DOCUMENTS,
        vec![slot("$XDSDocumentEntryUniqueId", &["'1.2.3'"])],
    );
    assert_eq!(
        (e.code, e.location.as_str()),
        (
            error_code::XDS_STORED_QUERY_MISSING_PARAM,
            "$AssociationTypes"
        )
    );
}

#[test]
fn get_related_documents_with_unknown_association_type_is_registry_error() {
    let e = error(
        ids::GET_RELATED_DOCUMENTS,
        vec![
            slot("$XDSDocumentEntryUniqueId", &["'1.2.3'"]),
            slot("$AssociationTypes", &["('RPLC')"]),
        ],
    );
    assert_eq!(e.code, error_code::XDS_REGISTRY_ERROR);
}

#[test]
fn stored_query_id_round_trips() {
    let q = run(
        ids::GET_DOCUMENTS,
        vec![slot("$XDSDocumentEntryUniqueId", &["'1'"])],
    )
    .unwrap();
    assert_eq!(q.id(), ids::GET_DOCUMENTS);
}

// ---- robustness: no input panics ----

/// xorshift64*: a deterministic generator so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A string over the characters that matter to the value syntax, plus some non-ASCII.
    fn value(&mut self) -> String {
        const ALPHABET: &[char] = &[
            '\'', '(', ')', ',', ' ', '^', '&', '%', '_', '0', '9', '.', '-', 'a', 'Z', ':', 'é',
            '€', '\t',
        ];
        let len = self.below(24);
        (0..len)
            .map(|_| ALPHABET[self.below(ALPHABET.len())])
            .collect()
    }
}

#[test]
fn random_values_never_panic_the_value_parser() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let text = rng.value();
        if let Ok(v) = parse_value(&text) {
            assert!(!v.literals.is_empty(), "{text:?}");
        }
    }
}

#[test]
fn random_slot_values_give_a_typed_result_for_every_query() {
    let names = [
        "$XDSDocumentEntryPatientId",
        "$XDSDocumentEntryStatus",
        "$XDSDocumentEntryEventCodeList",
        "$XDSDocumentEntryCreationTimeFrom",
        "$XDSDocumentEntryEntryUUID",
        "$XDSDocumentEntryUniqueId",
        "$XDSFolderCodeList",
        "$AssociationTypes",
        "$patientId",
        "$uuid",
        "$homeCommunityId",
    ];
    let queries = [
        ids::FIND_DOCUMENTS,
        ids::FIND_DOCUMENTS_BY_REFERENCE_ID,
        ids::FIND_SUBMISSION_SETS,
        ids::FIND_FOLDERS,
        ids::GET_ALL,
        ids::GET_DOCUMENTS,
        ids::GET_FOLDERS,
        ids::GET_ASSOCIATIONS,
        ids::GET_DOCUMENTS_AND_ASSOCIATIONS,
        ids::GET_SUBMISSION_SETS,
        ids::GET_SUBMISSION_SET_AND_CONTENTS,
        ids::GET_FOLDER_AND_CONTENTS,
        ids::GET_FOLDERS_FOR_DOCUMENT,
        ids::GET_RELATED_DOCUMENTS,
    ];
    let known = [
        error_code::XDS_REGISTRY_ERROR,
        error_code::XDS_STORED_QUERY_MISSING_PARAM,
        error_code::XDS_STORED_QUERY_PARAM_NUMBER,
    ];
    let mut rng = Rng(42);
    for _ in 0..5_000 {
        let slots: Vec<Slot> = (0..rng.below(5))
            .map(|_| {
                let values: Vec<String> = (0..rng.below(3)).map(|_| rng.value()).collect();
                Slot::new(names[rng.below(names.len())], values)
            })
            .collect();
        let id = queries[rng.below(queries.len())];
        if let Err(e) = run(id, slots) {
            assert!(known.contains(&e.code), "{e}");
            assert!(!e.location.is_empty());
        }
    }
}

#[test]
fn truncated_valid_values_are_errors_not_panics() {
    let valid = "('urn:ihe:rad:TEXT^^1.3.6.1.4.1.19376.1.2.3', 'O''Brien^^é€')";
    for end in valid.char_indices().map(|(i, _)| i).skip(1) {
        assert!(parse_value(&valid[..end]).is_err(), "{:?}", &valid[..end]);
    }
    assert!(parse_value(valid).is_ok());
}

#[test]
fn every_association_type_urn_parses_back() {
    for kind in [
        AssociationType::HasMember,
        AssociationType::Replace,
        AssociationType::Transform,
        AssociationType::Append,
        AssociationType::TransformAndReplace,
        AssociationType::Signs,
        AssociationType::IsSnapshotOf,
        AssociationType::UpdateAvailabilityStatus,
        AssociationType::SubmitAssociation,
    ] {
        assert_eq!(AssociationType::parse(kind.urn()), Ok(kind));
    }
}
