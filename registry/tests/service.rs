//! The registry's SOAP endpoint over HTTP on loopback: dispatch by WS-Addressing action, SOAP
//! Faults for bad envelopes and unknown actions, the ITI-44 feed and ITI-18 answers; run on SQLite
//! always and on PostgreSQL with `--features postgres-tests`.

mod support;

use registry::config::Config;
use registry::server::{Registry, start};
use schemas::soap::{self, action};
use tokio_util::sync::CancellationToken;

use support::database::{TestDatabase, on_both_backends};

const PATIENT: &str = "IHEBLUE-7^^^&amp;1.3.6.1.4.1.21367.2005.13.20.1000&amp;ISO";

/// The registry serving on loopback ports over the test database `db`.
async fn registry(db: &TestDatabase) -> (Registry, CancellationToken) {
    let config = Config {
        http_port: 0,
        mllp_port: 0,
        database_url: db.url.clone(),
        ..Config::default()
    };
    let shutdown = CancellationToken::new();
    // The data directory only locates the default SQLite file; `database_url` is set.
    let data_dir = std::env::temp_dir();
    let running = start(&config, [127, 0, 0, 1].into(), &data_dir, shutdown.clone())
        .await
        .expect("registry starts");
    (running, shutdown)
}

async fn post(url: &str, action: &str, envelope: String) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", soap::content_type(action))
        .body(envelope)
        .send()
        .await
        .expect("request sent");
    (
        response.status().as_u16(),
        response.text().await.expect("body"),
    )
}

fn find_documents() -> String {
    format!(
        r#"<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">
  <query:ResponseOption returnComposedObjects="true" returnType="LeafClass"/>
  <rim:AdhocQuery id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d">
    <rim:Slot name="$XDSDocumentEntryPatientId"><rim:ValueList><rim:Value>'{PATIENT}'</rim:Value></rim:ValueList></rim:Slot>
    <rim:Slot name="$XDSDocumentEntryStatus"><rim:ValueList><rim:Value>('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')</rim:Value></rim:ValueList></rim:Slot>
  </rim:AdhocQuery>
</query:AdhocQueryRequest>"#
    )
}

async fn stored_query_is_answered_with_a_success_response(db: &TestDatabase) {
    let (registry, shutdown) = registry(db).await;
    let url = registry.endpoint_url();
    let (envelope, _) =
        soap::write_request_envelope(action::REGISTRY_STORED_QUERY, &url, &find_documents());
    let (status, body) = post(&url, action::REGISTRY_STORED_QUERY, envelope).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(action::REGISTRY_STORED_QUERY_RESPONSE),
        "{body}"
    );
    assert!(
        body.contains("urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"),
        "{body}"
    );
    shutdown.cancel();
}

async fn document_registered_over_soap_is_found_over_soap(db: &TestDatabase) {
    let (registry, shutdown) = registry(db).await;
    let url = registry.endpoint_url();
    let patient = "X1^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO";
    db.upsert_patient(patient).await.unwrap();
    let submit = support::metadata::request(&support::metadata::single_document(
        "1.2.3.4.100",
        "1.2.3.4.101",
    ));
    let (envelope, _) =
        soap::write_request_envelope(action::REGISTER_DOCUMENT_SET_B, &url, &submit.to_xml());
    let (status, body) = post(&url, action::REGISTER_DOCUMENT_SET_B, envelope).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(action::REGISTER_DOCUMENT_SET_B_RESPONSE),
        "{body}"
    );
    assert!(body.contains("ResponseStatusType:Success"), "{body}");

    let query = find_documents().replace("IHEBLUE-7", "X1");
    let (envelope, _) = soap::write_request_envelope(action::REGISTRY_STORED_QUERY, &url, &query);
    let (status, body) = post(&url, action::REGISTRY_STORED_QUERY, envelope).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("1.2.3.4.101"),
        "document uniqueId in the answer: {body}"
    );
    assert!(
        body.contains("status=\"urn:oasis:names:tc:ebxml-regrep:StatusType:Approved\""),
        "{body}"
    );
    shutdown.cancel();
}

async fn unknown_action_is_a_sender_fault_action_not_supported(db: &TestDatabase) {
    let (registry, shutdown) = registry(db).await;
    let url = registry.endpoint_url();
    let (envelope, _) = soap::write_request_envelope("urn:example:NotAnIheAction", &url, "<x/>");
    let (status, body) = post(&url, "urn:example:NotAnIheAction", envelope).await;
    assert_eq!(status, 400);
    assert!(body.contains("ActionNotSupported"), "{body}");
    shutdown.cancel();
}

async fn malformed_envelope_is_a_sender_fault(db: &TestDatabase) {
    let (registry, shutdown) = registry(db).await;
    let url = registry.endpoint_url();
    let (status, body) = post(
        &url,
        action::REGISTRY_STORED_QUERY,
        "<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\"><env:Body>".into(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("env:Sender"), "{body}");
    shutdown.cancel();
}

async fn invalid_query_body_is_a_registry_metadata_error_not_a_fault(db: &TestDatabase) {
    let (registry, shutdown) = registry(db).await;
    let url = registry.endpoint_url();
    let body =
        r#"<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"/>"#;
    let (envelope, _) = soap::write_request_envelope(action::REGISTRY_STORED_QUERY, &url, body);
    let (status, body) = post(&url, action::REGISTRY_STORED_QUERY, envelope).await;
    assert_eq!(status, 200);
    assert!(body.contains("XDSRegistryMetadataError"), "{body}");
    shutdown.cancel();
}

async fn iti_44_record_added_is_acknowledged_and_registers_the_patient(db: &TestDatabase) {
    let (registry, shutdown) = registry(db).await;
    let url = registry.endpoint_url();
    let body = r#"<PRPA_IN201301UV02 xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0">
  <id root="1.2.3" extension="MSG-1"/>
  <creationTime value="20240101000000"/>
  <interactionId root="2.16.840.1.113883.1.6" extension="PRPA_IN201301UV02"/>
  <processingCode code="P"/><processingModeCode code="T"/><acceptAckCode code="AL"/>
  <receiver typeCode="RCV"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.840.114350.1.13.99999.4567"/></device></receiver>
  <sender typeCode="SND"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.840.114350.1.13.99998.8734"/></device></sender>
  <controlActProcess classCode="CACT" moodCode="EVN">
    <subject typeCode="SUBJ"><registrationEvent classCode="REG" moodCode="EVN"><statusCode code="active"/>
      <subject1 typeCode="SBJ"><patient classCode="PAT">
        <id root="1.3.6.1.4.1.21367.2005.13.20.1000" extension="IHEBLUE-7"/>
        <statusCode code="active"/>
        <patientPerson><name><given>Jim</given><family>Jones</family></name></patientPerson>
      </patient></subject1>
    </registrationEvent></subject>
  </controlActProcess>
</PRPA_IN201301UV02>"#;
    let (envelope, _) =
        soap::write_request_envelope(action::PATIENT_REGISTRY_RECORD_ADDED, &url, body);
    let (status, answer) = post(&url, action::PATIENT_REGISTRY_RECORD_ADDED, envelope).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("MCCI_IN000002UV01"), "{answer}");
    assert!(answer.contains(r#"<typeCode code="AA"/>"#), "{answer}");
    assert!(
        db.patient_known("IHEBLUE-7^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO")
            .await
            .unwrap()
    );
    shutdown.cancel();
}

async fn healthz_and_metrics_are_served(db: &TestDatabase) {
    let (registry, shutdown) = registry(db).await;
    let health = reqwest::get(format!("http://{}/healthz", registry.http_addr))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let metrics = reqwest::get(format!("http://{}/metrics", registry.http_addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    shutdown.cancel();
}

on_both_backends!(
    stored_query_is_answered_with_a_success_response,
    document_registered_over_soap_is_found_over_soap,
    unknown_action_is_a_sender_fault_action_not_supported,
    malformed_envelope_is_a_sender_fault,
    invalid_query_body_is_a_registry_metadata_error_not_a_fault,
    iti_44_record_added_is_acknowledged_and_registers_the_patient,
    healthz_and_metrics_are_served,
);
