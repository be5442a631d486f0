//! ITI-44 Patient Identity Feed HL7 V3 and ITI-45 PIXV3 Query over SOAP 1.2, each rule run on
//! SQLite always and on PostgreSQL with `--features postgres-tests`, answered by
//! `v3::handle_soap` (no server), and once through the running HTTP service.

mod support;

use pix_manager::manager::PixManager;
use pix_manager::storage::{Database, PatientKey};
use pix_manager::v3::{SoapAnswer, handle_soap};
use schemas::soap::write_request_envelope;
use support::database::on_both_backends;
use support::{AFFINITY, ALICE, BLUE, BOB, GREEN, Person, answer, manager, pdq, pid3, start_pix};

const ENDPOINT: &str = "http://127.0.0.1:8083/pix";
const UNKNOWN_DOMAIN: &str = "9.9.9";

/// A transmission wrapper of `interaction` around `control_act`.
fn message(interaction: &str, control_act: &str) -> String {
    format!(
        r#"<PRPA_{interaction} xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0">
  <id root="1.2.3.4.5.6" extension="MSG-{interaction}"/>
  <creationTime value="20260101120000"/>
  <interactionId root="2.16.840.1.113883.1.6" extension="PRPA_{interaction}"/>
  <processingCode code="P"/><processingModeCode code="T"/><acceptAckCode code="AL"/>
  <receiver typeCode="RCV"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.3.4.5.1"/></device></receiver>
  <sender typeCode="SND"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.3.4.5.2"/></device></sender>
  <controlActProcess classCode="CACT" moodCode="EVN">{control_act}</controlActProcess>
</PRPA_{interaction}>"#
    )
}

/// `patient` of an ITI-44 message: `ids` as (extension, root), and the person.
fn patient(ids: &[(&str, &str)], p: &Person) -> String {
    let ids: String = ids
        .iter()
        .map(|(extension, root)| format!(r#"<id root="{root}" extension="{extension}"/>"#))
        .collect();
    format!(
        r#"<subject1 typeCode="SBJ"><patient classCode="PAT">{ids}<statusCode code="active"/>
  <patientPerson classCode="PSN" determinerCode="INSTANCE">
    <name><given>{}</given><family>{}</family></name>
    <administrativeGenderCode code="F"/><birthTime value="{}"/>
  </patientPerson></patient></subject1>"#,
        p.given, p.surname, p.dob
    )
}

/// An ITI-44 Record Added (`IN201301UV02`) or Record Revised (`IN201302UV02`).
fn record(interaction: &str, ids: &[(&str, &str)], p: &Person) -> String {
    message(
        interaction,
        &format!(
            r#"<code code="PRPA_TE{}" codeSystem="2.16.840.1.113883.1.6"/>
<subject typeCode="SUBJ"><registrationEvent classCode="REG" moodCode="EVN">
<id nullFlavor="NA"/><statusCode code="active"/>{}</registrationEvent></subject>"#,
            &interaction[2..],
            patient(ids, p)
        ),
    )
}

/// An ITI-44 Duplicates Resolved: `subsumed` merged into `surviving`, both of `domain`.
fn duplicates_resolved(surviving: &str, subsumed: &str, domain: &str, p: &Person) -> String {
    message(
        "IN201304UV02",
        &format!(
            r#"<code code="PRPA_TE201304UV02" codeSystem="2.16.840.1.113883.1.6"/>
<subject typeCode="SUBJ"><registrationEvent classCode="REG" moodCode="EVN">
<id nullFlavor="NA"/><statusCode code="active"/>{}
<replacementOf typeCode="RPLC"><priorRegistration classCode="REG" moodCode="EVN">
<statusCode code="obsolete"/><subject1 typeCode="SBJ"><priorRegisteredRole classCode="PAT">
<id root="{domain}" extension="{subsumed}"/></priorRegisteredRole></subject1>
</priorRegistration></replacementOf></registrationEvent></subject>"#,
            patient(&[(surviving, domain)], p)
        ),
    )
}

/// An ITI-45 Get Identifiers Query for `id` of `domain`, asking for `data_sources` (none: all).
fn identifiers_query(id: &str, domain: &str, data_sources: &[&str]) -> String {
    let sources: String = data_sources
        .iter()
        .map(|root| format!(r#"<dataSource><value root="{root}"/><semanticsText>DataSource.id</semanticsText></dataSource>"#))
        .collect();
    message(
        "IN201309UV02",
        &format!(
            r#"<code code="PRPA_TE201309UV02" codeSystem="2.16.840.1.113883.1.6"/>
<queryByParameter><queryId root="1.2.3.4.5.7" extension="Q-{id}"/><statusCode code="new"/>
<responsePriorityCode code="I"/><parameterList>{sources}
<patientIdentifier><value root="{domain}" extension="{id}"/><semanticsText>Patient.id</semanticsText></patientIdentifier>
</parameterList></queryByParameter>"#
        ),
    )
}

/// The SOAP answer to `body` sent with wsa:Action `urn:hl7-org:v3:<root element name>`.
async fn post(body: &str, m: &PixManager) -> SoapAnswer {
    let root = body[1..].split([' ', '>']).next().unwrap_or_default();
    post_action(&format!("urn:hl7-org:v3:{root}"), body, m).await
}

async fn post_action(action: &str, body: &str, m: &PixManager) -> SoapAnswer {
    let (envelope, _) = write_request_envelope(action, ENDPOINT, body);
    handle_soap(envelope.as_bytes(), m).await
}

/// `<typeCode code="..."/>` of the acknowledgement.
fn ack_code(answer: &SoapAnswer) -> &str {
    between(&answer.envelope, "<acknowledgement><typeCode code=\"", "\"")
}

fn query_response_code(answer: &SoapAnswer) -> &str {
    between(&answer.envelope, "<queryResponseCode code=\"", "\"")
}

/// The text of `<location>` of the acknowledgementDetails.
fn detail_locations(answer: &SoapAnswer) -> Vec<&str> {
    answer
        .envelope
        .split("<location>")
        .skip(1)
        .map(|rest| rest.split("</location>").next().unwrap_or_default())
        .collect()
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    text.split_once(start)
        .and_then(|(_, rest)| rest.split(end).next())
        .unwrap_or_else(|| panic!("no {start:?} in {text}"))
}

/// The `patient/id`s of an ITI-45 response, as `root^extension`.
fn returned_ids(answer: &SoapAnswer) -> Vec<String> {
    let Some((_, patient)) = answer.envelope.split_once("<patient classCode=\"PAT\">") else {
        return Vec::new();
    };
    let patient = patient.split("<statusCode").next().unwrap_or_default();
    patient
        .split("<id ")
        .skip(1)
        .map(|id| {
            format!(
                "{}^{}",
                between(id, "root=\"", "\""),
                between(id, "extension=\"", "\"")
            )
        })
        .collect()
}

async fn affinity_id(db: &Database, domain: &str, id: &str) -> String {
    db.person_by_key(&PatientKey::new(domain, id))
        .await
        .unwrap()
        .expect("the record has a person")
        .affinity_id
}

/// ITI-44 Record Added: the record is created and acknowledged AA (MCCI_IN000002UV01 with the
/// message id as target), answered with the MCCI action.
async fn iti44_record_added_creates_a_record_and_answers_aa(db: &Database) {
    let m = manager(db);
    let answer = post(&record("IN201301UV02", &[("G1", GREEN)], &ALICE), &m).await;
    assert_eq!(answer.status, 200, "{}", answer.envelope);
    assert!(
        answer
            .content_type
            .contains(r#"action="urn:hl7-org:v3:MCCI_IN000002UV01""#)
    );
    assert!(answer.envelope.contains("<MCCI_IN000002UV01 "));
    assert_eq!(ack_code(&answer), "AA");
    assert!(answer.envelope.contains(
        r#"<targetMessage><id root="1.2.3.4.5.6" extension="MSG-IN201301UV02"/></targetMessage>"#
    ));
    assert!(!affinity_id(db, GREEN, "G1").await.is_empty());
}

/// ITI-44 Record Revised: the record's demographics are updated, its person kept.
async fn iti44_record_revised_updates_the_record(db: &Database) {
    let m = manager(db);
    post(&record("IN201301UV02", &[("G1", GREEN)], &ALICE), &m).await;
    let before = affinity_id(db, GREEN, "G1").await;
    let renamed = Person {
        surname: "MOORE-SMITH",
        ..ALICE
    };
    let answer = post(&record("IN201302UV02", &[("G1", GREEN)], &renamed), &m).await;
    assert_eq!(ack_code(&answer), "AA", "{}", answer.envelope);
    assert_eq!(affinity_id(db, GREEN, "G1").await, before);
    let found = answer_pdq(&m, "@PID.5.1^MOORE-SMITH").await;
    assert_eq!(found, vec![("G1".to_owned(), GREEN.to_owned())]);
}

async fn answer_pdq(m: &PixManager, parameter: &str) -> Vec<(String, String)> {
    pid3(&answer(&pdq(&[parameter]), m).await)
}

/// ITI-44 Duplicates Resolved: the subsumed record is merged into the surviving one, whose
/// person keeps its affinity-domain id.
async fn iti44_duplicates_resolved_merges_and_keeps_the_surviving_affinity_id(db: &Database) {
    let m = manager(db);
    post(&record("IN201301UV02", &[("G1", GREEN)], &ALICE), &m).await;
    post(&record("IN201301UV02", &[("G2", GREEN)], &BOB), &m).await;
    post(&record("IN201301UV02", &[("B2", BLUE)], &BOB), &m).await;
    let surviving = affinity_id(db, GREEN, "G1").await;
    let answer = post(&duplicates_resolved("G1", "G2", GREEN, &ALICE), &m).await;
    assert_eq!(ack_code(&answer), "AA", "{}", answer.envelope);
    let merged = db
        .person_by_key(&PatientKey::new(BLUE, "B2"))
        .await
        .unwrap()
        .expect("B2 has a person");
    assert_eq!(merged.affinity_id, surviving);
    assert_eq!(
        merged.records,
        vec![PatientKey::new(GREEN, "G1"), PatientKey::new(BLUE, "B2")]
    );
}

/// ITI-44 Duplicates Resolved naming an unknown subsumed id: AE 204 at priorRegisteredRole/id.
async fn iti44_merge_of_unknown_subsumed_id_is_ae_204(db: &Database) {
    let m = manager(db);
    post(&record("IN201301UV02", &[("G1", GREEN)], &ALICE), &m).await;
    let answer = post(&duplicates_resolved("G1", "NOPE", GREEN, &ALICE), &m).await;
    assert_eq!(ack_code(&answer), "AE");
    assert!(
        answer
            .envelope
            .contains(r#"<code code="204" codeSystem="2.16.840.1.113883.12.357"/>"#)
    );
    assert!(detail_locations(&answer)[0].ends_with("/hl7:priorRegisteredRole/hl7:id"));
}

/// ITI-44 without a patient id: AE with acknowledgementDetail 101 at patient/id; nothing stored.
async fn iti44_missing_patient_id_is_ae_101(db: &Database) {
    let m = manager(db);
    let answer = post(&record("IN201301UV02", &[], &ALICE), &m).await;
    assert_eq!(ack_code(&answer), "AE");
    assert!(
        answer
            .envelope
            .contains(r#"<code code="101" codeSystem="2.16.840.1.113883.12.357"/>"#)
    );
    assert_eq!(
        detail_locations(&answer),
        [
            "/hl7:PRPA_IN201301UV02/hl7:controlActProcess/hl7:subject/hl7:registrationEvent/hl7:subject1/hl7:patient/hl7:id"
        ]
    );
    assert!(db.all_links().await.unwrap().is_empty());
}

/// ITI-44 with a patient id of an unknown domain: AE 204 naming the domain; nothing stored.
async fn iti44_unknown_domain_is_ae_204_and_stores_nothing(db: &Database) {
    let m = manager(db);
    let answer = post(
        &record("IN201301UV02", &[("X1", UNKNOWN_DOMAIN)], &ALICE),
        &m,
    )
    .await;
    assert_eq!(ack_code(&answer), "AE");
    assert!(
        answer
            .envelope
            .contains(r#"<code code="204" codeSystem="2.16.840.1.113883.12.357"/>"#)
    );
    assert!(
        answer
            .envelope
            .contains("unknown identifier domain &quot;9.9.9&quot;")
    );
    assert!(db.all_links().await.unwrap().is_empty());
}

/// ITI-44 whose message breaks off inside the Body: AE naming the problem; nothing stored.
async fn iti44_malformed_message_is_ae_and_stores_nothing(db: &Database) {
    let m = manager(db);
    let full = record("IN201301UV02", &[("G1", GREEN)], &ALICE);
    let (envelope, _) = write_request_envelope(
        "urn:hl7-org:v3:PRPA_IN201301UV02",
        ENDPOINT,
        &full[..full.len() / 2],
    );
    let answer = handle_soap(envelope.as_bytes(), &m).await;
    assert_eq!(ack_code(&answer), "AE", "{}", answer.envelope);
    assert!(answer.envelope.contains("unreadable HL7 v3 message"));
    assert!(db.all_links().await.unwrap().is_empty());
}

/// Feeds ALICE as G1 (green) and B7 (blue): one person.
async fn alice_in_two_domains(m: &PixManager) {
    post(&record("IN201301UV02", &[("G1", GREEN)], &ALICE), m).await;
    post(&record("IN201301UV02", &[("B7", BLUE)], &ALICE), m).await;
}

/// ITI-45: the person's identifiers in the other domains (and the affinity domain), the
/// queried one left out: AA, OK, answered with the PRPA_IN201310UV02 action.
async fn iti45_returns_the_identifiers_in_other_domains(db: &Database) {
    let m = manager(db);
    alice_in_two_domains(&m).await;
    let affinity = affinity_id(db, GREEN, "G1").await;
    let answer = post(&identifiers_query("G1", GREEN, &[]), &m).await;
    assert!(
        answer
            .content_type
            .contains(r#"action="urn:hl7-org:v3:PRPA_IN201310UV02""#)
    );
    assert_eq!(ack_code(&answer), "AA", "{}", answer.envelope);
    assert_eq!(query_response_code(&answer), "OK");
    assert_eq!(
        returned_ids(&answer),
        [format!("{BLUE}^B7"), format!("{AFFINITY}^{affinity}")]
    );
    assert!(answer.envelope.contains(&format!(
        r#"<patientIdentifier><value root="{GREEN}" extension="G1"/>"#
    )));
}

/// ITI-45 DataSource: only the identifiers of the named domains are returned.
async fn iti45_data_source_filters_the_domains(db: &Database) {
    let m = manager(db);
    alice_in_two_domains(&m).await;
    let answer = post(&identifiers_query("G1", GREEN, &[BLUE]), &m).await;
    assert_eq!(query_response_code(&answer), "OK");
    assert_eq!(returned_ids(&answer), [format!("{BLUE}^B7")]);
}

/// ITI-45 by affinity-domain id returns the source-domain identifiers.
async fn iti45_query_by_affinity_id(db: &Database) {
    let m = manager(db);
    alice_in_two_domains(&m).await;
    let affinity = affinity_id(db, GREEN, "G1").await;
    let answer = post(&identifiers_query(&affinity, AFFINITY, &[]), &m).await;
    assert_eq!(
        returned_ids(&answer),
        [format!("{GREEN}^G1"), format!("{BLUE}^B7")]
    );
}

/// ITI-45 case 2: known patient, no identifier in the DataSource domains: AA, NF, no
/// registrationEvent.
async fn iti45_no_identifier_in_data_sources_is_aa_nf(db: &Database) {
    let m = manager(db);
    post(&record("IN201301UV02", &[("G1", GREEN)], &ALICE), &m).await;
    let answer = post(&identifiers_query("G1", GREEN, &[BLUE]), &m).await;
    assert_eq!(ack_code(&answer), "AA");
    assert_eq!(query_response_code(&answer), "NF");
    assert!(!answer.envelope.contains("registrationEvent"));
}

/// ITI-45 case 3: unknown patient identifier: AE, AE, detail 204 at patientIdentifier/value.
async fn iti45_unknown_identifier_is_ae_204(db: &Database) {
    let m = manager(db);
    let answer = post(&identifiers_query("NOPE", GREEN, &[]), &m).await;
    assert_eq!(ack_code(&answer), "AE");
    assert_eq!(query_response_code(&answer), "AE");
    assert!(
        answer
            .envelope
            .contains(r#"<code code="204" codeSystem="2.16.840.1.113883.12.357"/>"#)
    );
    assert_eq!(
        detail_locations(&answer),
        [
            "/hl7:PRPA_IN201309UV02/hl7:controlActProcess/hl7:queryByParameter/hl7:parameterList/hl7:patientIdentifier/hl7:value"
        ]
    );
    assert!(!answer.envelope.contains("registrationEvent"));
}

/// ITI-45 case 4: unknown domain of the patient identifier: AE, AE, detail 204 at
/// patientIdentifier/value.
async fn iti45_unknown_domain_is_ae_204(db: &Database) {
    let m = manager(db);
    let answer = post(&identifiers_query("X1", UNKNOWN_DOMAIN, &[]), &m).await;
    assert_eq!(ack_code(&answer), "AE");
    assert_eq!(query_response_code(&answer), "AE");
    assert!(
        answer
            .envelope
            .contains("unknown identifier domain &quot;9.9.9&quot;")
    );
    assert_eq!(detail_locations(&answer).len(), 1);
}

/// ITI-45 case 5: unknown DataSource domains: AE, AE, one detail 204 per unknown domain at its
/// dataSource repetition.
async fn iti45_unknown_data_source_is_ae_204_per_domain(db: &Database) {
    let m = manager(db);
    alice_in_two_domains(&m).await;
    let answer = post(
        &identifiers_query("G1", GREEN, &[BLUE, UNKNOWN_DOMAIN, "8.8.8"]),
        &m,
    )
    .await;
    assert_eq!(ack_code(&answer), "AE");
    assert_eq!(query_response_code(&answer), "AE");
    assert_eq!(
        detail_locations(&answer),
        [
            "/hl7:PRPA_IN201309UV02/hl7:controlActProcess/hl7:queryByParameter/hl7:parameterList/hl7:dataSource[2]/hl7:value",
            "/hl7:PRPA_IN201309UV02/hl7:controlActProcess/hl7:queryByParameter/hl7:parameterList/hl7:dataSource[3]/hl7:value",
        ]
    );
}

/// ITI-45 without a patient identifier: AE with query response QE (parameter error), 101.
async fn iti45_missing_patient_identifier_is_qe(db: &Database) {
    let m = manager(db);
    let query = identifiers_query("G1", GREEN, &[]).replace(
        r#"<value root="1.3.6.1.4.1.21367.2005.13.20.2000" extension="G1"/>"#,
        r#"<value nullFlavor="UNK"/>"#,
    );
    let answer = post(&query, &m).await;
    assert_eq!(ack_code(&answer), "AE");
    assert_eq!(query_response_code(&answer), "QE");
    assert!(answer.envelope.contains(r#"<code code="101""#));
}

/// An action the endpoint does not serve: SOAP Fault wsa:ActionNotSupported, HTTP 400.
async fn unknown_soap_action_is_a_fault(db: &Database) {
    let m = manager(db);
    let answer = post_action(
        "urn:ihe:iti:2007:RegistryStoredQuery",
        &identifiers_query("G1", GREEN, &[]),
        &m,
    )
    .await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.envelope.contains("<env:Fault>"),
        "{}",
        answer.envelope
    );
    assert!(answer.envelope.contains("ActionNotSupported"));
}

/// A Body that is not the interaction the wsa:Action names: SOAP Fault; nothing stored.
async fn body_not_matching_the_action_is_a_fault(db: &Database) {
    let m = manager(db);
    let answer = post_action(
        "urn:hl7-org:v3:PRPA_IN201304UV02",
        &record("IN201301UV02", &[("G1", GREEN)], &ALICE),
        &m,
    )
    .await;
    assert_eq!(answer.status, 400);
    assert!(answer.envelope.contains("<env:Fault>"));
    assert!(db.all_links().await.unwrap().is_empty());
}

/// An envelope that is not well-formed XML: SOAP Fault (Sender).
async fn malformed_envelope_is_a_fault(db: &Database) {
    let m = manager(db);
    let answer = handle_soap(
        b"<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\"><env:Header>",
        &m,
    )
    .await;
    assert_eq!(answer.status, 400);
    assert!(answer.envelope.contains("<env:Fault>"));
}

on_both_backends!(
    iti44_record_added_creates_a_record_and_answers_aa,
    iti44_record_revised_updates_the_record,
    iti44_duplicates_resolved_merges_and_keeps_the_surviving_affinity_id,
    iti44_merge_of_unknown_subsumed_id_is_ae_204,
    iti44_missing_patient_id_is_ae_101,
    iti44_unknown_domain_is_ae_204_and_stores_nothing,
    iti44_malformed_message_is_ae_and_stores_nothing,
    iti45_returns_the_identifiers_in_other_domains,
    iti45_data_source_filters_the_domains,
    iti45_query_by_affinity_id,
    iti45_no_identifier_in_data_sources_is_aa_nf,
    iti45_unknown_identifier_is_ae_204,
    iti45_unknown_domain_is_ae_204,
    iti45_unknown_data_source_is_ae_204_per_domain,
    iti45_missing_patient_identifier_is_qe,
    unknown_soap_action_is_a_fault,
    body_not_matching_the_action_is_a_fault,
    malformed_envelope_is_a_fault,
);

/// The running service answers ITI-44 and ITI-45 on POST /pix, and a request that is not
/// SOAP 1.2 with a SOAP Fault.
#[tokio::test]
async fn pix_http_service_serves_hl7v3_on_post_pix() {
    let dir = tempfile::tempdir().unwrap();
    let pix = start_pix(dir.path()).await;
    let client = reqwest::Client::new();
    let send = |action: &str, body: String| {
        let (envelope, _) = write_request_envelope(action, ENDPOINT, &body);
        client
            .post(pix.http_url())
            .header("content-type", schemas::soap::content_type(action))
            .body(envelope)
            .send()
    };
    let feed = send(
        "urn:hl7-org:v3:PRPA_IN201301UV02",
        record("IN201301UV02", &[("G1", GREEN)], &ALICE),
    )
    .await
    .unwrap();
    assert_eq!(feed.status(), 200);
    assert!(
        feed.text()
            .await
            .unwrap()
            .contains(r#"<typeCode code="AA"/>"#)
    );
    let query = send(
        "urn:hl7-org:v3:PRPA_IN201309UV02",
        identifiers_query("G1", GREEN, &[]),
    )
    .await
    .unwrap();
    let text = query.text().await.unwrap();
    assert!(text.contains(r#"<queryResponseCode code="OK"/>"#), "{text}");
    let not_soap = client
        .post(pix.http_url())
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(not_soap.status(), 400);
    assert!(not_soap.text().await.unwrap().contains("<env:Fault>"));
}
