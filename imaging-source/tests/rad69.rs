//! RAD-69 Retrieve Imaging Document Set (RAD TF-3 4.69): instances returned byte-identical as MTOM
//! attachments, one RegistryError per instance not returned, SOAP Faults for what is not RAD-69;
//! a silent or stalling PACS is given up after the configured timeouts.

#[path = "support/serve.rs"]
mod serve;
#[path = "support/silent_pacs.rs"]
mod silent_pacs;

use schemas::constants::error_code;
use schemas::ebrim::ResponseStatus;
use schemas::soap::{self, action};
use serve::{
    EXPLICIT_LE, IMPLICIT_LE, PacsInstance, REPOSITORY_UID, SERIES_A, SERIES_B, STUDY, Setup,
    dicom_instance, document_bytes, errors, fake_pacs, fake_pacs_logged, rad69, request,
};
use silent_pacs::silent_pacs;

const SOP_1: &str = "1.2.826.0.1.3680043.8.498.1.1.1";
const SOP_2: &str = "1.2.826.0.1.3680043.8.498.1.1.2";
const SOP_3: &str = "1.2.826.0.1.3680043.8.498.1.2.1";
const UNKNOWN_SOP: &str = "1.2.826.0.1.3680043.8.498.1.1.99";

#[tokio::test]
async fn stored_instances_of_several_series_are_returned_byte_identical() {
    let setup = Setup::new().await;
    let one = setup.stored(SERIES_A, SOP_1, EXPLICIT_LE).await;
    let two = setup.stored(SERIES_A, SOP_2, EXPLICIT_LE).await;
    let three = setup.stored(SERIES_B, SOP_3, EXPLICIT_LE).await;
    let wanted = request(
        REPOSITORY_UID,
        &[
            (STUDY, SERIES_A, SOP_1),
            (STUDY, SERIES_A, SOP_2),
            (STUDY, SERIES_B, SOP_3),
        ],
        &[EXPLICIT_LE],
    );
    let (answer, parts) = rad69(&setup.url(), &wanted).await;
    assert_eq!(answer.response.status, ResponseStatus::Success);
    assert!(answer.response.errors.is_empty());
    assert_eq!(answer.documents.len(), 3);
    for document in &answer.documents {
        assert_eq!(document.repository_unique_id, REPOSITORY_UID);
        assert_eq!(document.mime_type, "application/dicom");
    }
    assert!(parts.iter().all(|p| p.content_type == "application/dicom"));
    assert_eq!(document_bytes(&answer, &parts, SOP_1), one);
    assert_eq!(document_bytes(&answer, &parts, SOP_2), two);
    assert_eq!(document_bytes(&answer, &parts, SOP_3), three);
}

#[tokio::test]
async fn large_instance_is_returned_byte_identical() {
    let setup = Setup::new().await;
    let big = dicom_instance(STUDY, SERIES_A, SOP_1, EXPLICIT_LE, 3 * 1024 * 1024 + 17);
    setup.put(STUDY, SERIES_A, SOP_1, &big).await;
    let (answer, parts) = rad69(
        &setup.url(),
        &request(REPOSITORY_UID, &[(STUDY, SERIES_A, SOP_1)], &[EXPLICIT_LE]),
    )
    .await;
    assert_eq!(answer.response.status, ResponseStatus::Success);
    assert!(document_bytes(&answer, &parts, SOP_1) == big.as_slice());
}

#[tokio::test]
async fn other_repository_unique_id_is_xds_unknown_repository_id() {
    let setup = Setup::new().await;
    setup.stored(SERIES_A, SOP_1, EXPLICIT_LE).await;
    let (answer, parts) = rad69(
        &setup.url(),
        &request("1.2.3.4.5", &[(STUDY, SERIES_A, SOP_1)], &[EXPLICIT_LE]),
    )
    .await;
    assert_eq!(answer.response.status, ResponseStatus::Failure);
    assert_eq!(
        errors(&answer),
        [(
            error_code::XDS_UNKNOWN_REPOSITORY_ID.to_owned(),
            Some(SOP_1.to_owned())
        )]
    );
    assert!(answer.documents.is_empty() && parts.is_empty());
}

#[tokio::test]
async fn unknown_instance_is_xds_missing_document_with_partial_success() {
    let setup = Setup::new().await;
    let one = setup.stored(SERIES_A, SOP_1, EXPLICIT_LE).await;
    let (answer, parts) = rad69(
        &setup.url(),
        &request(
            REPOSITORY_UID,
            &[(STUDY, SERIES_A, SOP_1), (STUDY, SERIES_A, UNKNOWN_SOP)],
            &[EXPLICIT_LE],
        ),
    )
    .await;
    assert_eq!(answer.response.status, ResponseStatus::PartialSuccess);
    assert_eq!(
        errors(&answer),
        [(
            error_code::XDS_MISSING_DOCUMENT.to_owned(),
            Some(UNKNOWN_SOP.to_owned())
        )]
    );
    assert_eq!(answer.documents.len(), 1);
    assert_eq!(document_bytes(&answer, &parts, SOP_1), one);
}

#[tokio::test]
async fn instance_in_a_series_other_than_the_requested_one_is_missing() {
    let setup = Setup::new().await;
    setup.stored(SERIES_A, SOP_1, EXPLICIT_LE).await;
    let (answer, _) = rad69(
        &setup.url(),
        &request(REPOSITORY_UID, &[(STUDY, SERIES_B, SOP_1)], &[EXPLICIT_LE]),
    )
    .await;
    assert_eq!(answer.response.status, ResponseStatus::Failure);
    assert_eq!(
        errors(&answer),
        [(
            error_code::XDS_MISSING_DOCUMENT.to_owned(),
            Some(SOP_1.to_owned())
        )]
    );
}

#[tokio::test]
async fn transfer_syntax_not_in_the_list_is_xds_repository_error_for_that_instance() {
    let setup = Setup::new().await;
    let one = setup.stored(SERIES_A, SOP_1, EXPLICIT_LE).await;
    setup.stored(SERIES_A, SOP_2, IMPLICIT_LE).await;
    let (answer, parts) = rad69(
        &setup.url(),
        &request(
            REPOSITORY_UID,
            &[(STUDY, SERIES_A, SOP_1), (STUDY, SERIES_A, SOP_2)],
            &[EXPLICIT_LE],
        ),
    )
    .await;
    assert_eq!(answer.response.status, ResponseStatus::PartialSuccess);
    assert_eq!(
        errors(&answer),
        [(
            error_code::XDS_REPOSITORY_ERROR.to_owned(),
            Some(SOP_2.to_owned())
        )]
    );
    assert!(
        answer.response.errors[0]
            .code_context
            .contains("transfer syntax not supported"),
        "{}",
        answer.response.errors[0].code_context
    );
    assert_eq!(parts.len(), 1);
    assert_eq!(document_bytes(&answer, &parts, SOP_1), one);
}

#[tokio::test]
async fn stored_transfer_syntax_anywhere_in_the_list_is_served() {
    let setup = Setup::new().await;
    let two = setup.stored(SERIES_A, SOP_2, IMPLICIT_LE).await;
    let (answer, parts) = rad69(
        &setup.url(),
        &request(
            REPOSITORY_UID,
            &[(STUDY, SERIES_A, SOP_2)],
            &["1.2.840.10008.1.2.4.70", EXPLICIT_LE, IMPLICIT_LE],
        ),
    )
    .await;
    assert_eq!(answer.response.status, ResponseStatus::Success);
    assert_eq!(document_bytes(&answer, &parts, SOP_2), two);
}

#[tokio::test]
async fn home_community_id_is_echoed() {
    let setup = Setup::new().await;
    setup.stored(SERIES_A, SOP_1, EXPLICIT_LE).await;
    let mut wanted = request(REPOSITORY_UID, &[(STUDY, SERIES_A, SOP_1)], &[EXPLICIT_LE]);
    wanted.studies[0].series[0].documents[0].home_community_id = Some("urn:oid:1.2.3".into());
    let (answer, _) = rad69(&setup.url(), &wanted).await;
    assert_eq!(
        answer.documents[0].home_community_id.as_deref(),
        Some("urn:oid:1.2.3")
    );
}

#[tokio::test]
async fn instance_not_stored_is_streamed_from_the_pacs_and_the_store_is_looked_up_first() {
    let from_pacs = dicom_instance(STUDY, SERIES_A, SOP_2, EXPLICIT_LE, 4096);
    let pacs_copy_of_one = dicom_instance(STUDY, SERIES_A, SOP_1, IMPLICIT_LE, 8);
    let pacs = fake_pacs(vec![
        (
            STUDY.into(),
            SERIES_A.into(),
            SOP_1.into(),
            IMPLICIT_LE.into(),
            pacs_copy_of_one,
        ),
        (
            STUDY.into(),
            SERIES_A.into(),
            SOP_2.into(),
            EXPLICIT_LE.into(),
            from_pacs.clone(),
        ),
    ])
    .await;
    let setup = Setup::with_pacs(Some(pacs)).await;
    let stored = setup.stored(SERIES_A, SOP_1, EXPLICIT_LE).await;
    let (answer, parts) = rad69(
        &setup.url(),
        &request(
            REPOSITORY_UID,
            &[
                (STUDY, SERIES_A, SOP_1),
                (STUDY, SERIES_A, SOP_2),
                (STUDY, SERIES_A, UNKNOWN_SOP),
            ],
            &[EXPLICIT_LE],
        ),
    )
    .await;
    assert_eq!(answer.response.status, ResponseStatus::PartialSuccess);
    assert_eq!(
        errors(&answer),
        [(
            error_code::XDS_MISSING_DOCUMENT.to_owned(),
            Some(UNKNOWN_SOP.to_owned())
        )]
    );
    assert_eq!(document_bytes(&answer, &parts, SOP_1), stored);
    assert_eq!(document_bytes(&answer, &parts, SOP_2), from_pacs);
}

/// An instance of the fake PACS: `(study, series, sop, transfer syntax, bytes)`.
fn held(series: &str, sop: &str, transfer_syntax: &str, pixel_bytes: usize) -> PacsInstance {
    (
        STUDY.into(),
        series.into(),
        sop.into(),
        transfer_syntax.into(),
        dicom_instance(STUDY, series, sop, transfer_syntax, pixel_bytes),
    )
}

/// The transfer syntax and the pixel data of a Part-10 file.
fn syntax_and_pixels(bytes: &[u8]) -> (String, Vec<u8>) {
    let file = dicom_object::from_reader(&bytes[128..]).unwrap();
    let pixels = file
        .element(dicom_dictionary_std::tags::PIXEL_DATA)
        .unwrap()
        .to_bytes()
        .unwrap()
        .to_vec();
    (file.meta().transfer_syntax().to_owned(), pixels)
}

#[tokio::test]
async fn pacs_instance_in_a_transfer_syntax_not_requested_is_asked_of_the_pacs_in_a_requested_one()
{
    let original = held(SERIES_A, SOP_1, IMPLICIT_LE, 64);
    let pacs = fake_pacs_logged(vec![original.clone()]).await;
    let setup = Setup::with_pacs(Some(pacs.url.clone())).await;
    let (answer, parts) = rad69(
        &setup.url(),
        &request(REPOSITORY_UID, &[(STUDY, SERIES_A, SOP_1)], &[EXPLICIT_LE]),
    )
    .await;
    assert_eq!(
        answer.response.status,
        ResponseStatus::Success,
        "{:?}",
        answer.response.errors
    );
    let (syntax, pixels) = syntax_and_pixels(document_bytes(&answer, &parts, SOP_1));
    assert_eq!(syntax, EXPLICIT_LE);
    assert_eq!(pixels, syntax_and_pixels(&original.4).1);
    let asked = pacs.requests.lock().unwrap().clone();
    assert!(
        asked
            .iter()
            .any(|(_, accept)| accept.contains(&format!("transfer-syntax={EXPLICIT_LE}"))),
        "{asked:?}"
    );
}

#[tokio::test]
async fn transfer_syntax_the_pacs_does_not_offer_is_xds_repository_error_for_that_instance() {
    const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";
    let pacs = fake_pacs(vec![
        held(SERIES_A, SOP_1, IMPLICIT_LE, 16),
        held(SERIES_A, SOP_2, JPEG_BASELINE, 16),
    ])
    .await;
    let setup = Setup::with_pacs(Some(pacs)).await;
    let (answer, parts) = rad69(
        &setup.url(),
        &request(
            REPOSITORY_UID,
            &[(STUDY, SERIES_A, SOP_1), (STUDY, SERIES_A, SOP_2)],
            &[JPEG_BASELINE],
        ),
    )
    .await;
    assert_eq!(answer.response.status, ResponseStatus::PartialSuccess);
    assert_eq!(
        errors(&answer),
        [(
            error_code::XDS_REPOSITORY_ERROR.to_owned(),
            Some(SOP_1.to_owned())
        )]
    );
    assert!(
        answer.response.errors[0]
            .code_context
            .contains("transfer syntax not supported")
    );
    assert_eq!(parts.len(), 1);
    assert_eq!(answer.documents[0].document_unique_id, SOP_2);
}

/// Instances larger than what is buffered per instance: each body must end when its part does,
/// not when the whole PACS answer has been relayed.
#[tokio::test]
async fn whole_study_held_by_the_pacs_comes_from_one_retrieve_study_each_part_under_its_own_content_id()
 {
    let instances = vec![
        held(SERIES_A, SOP_1, EXPLICIT_LE, 300_000),
        held(SERIES_A, SOP_2, EXPLICIT_LE, 500_000),
        held(SERIES_B, SOP_3, EXPLICIT_LE, 700_000),
    ];
    let pacs = fake_pacs_logged(instances.clone()).await;
    let setup = Setup::with_pacs(Some(pacs.url.clone())).await;
    let (answer, parts) = rad69(
        &setup.url(),
        &request(
            REPOSITORY_UID,
            &[
                (STUDY, SERIES_B, SOP_3),
                (STUDY, SERIES_A, UNKNOWN_SOP),
                (STUDY, SERIES_A, SOP_2),
                (STUDY, SERIES_A, SOP_1),
            ],
            &[EXPLICIT_LE],
        ),
    )
    .await;
    assert_eq!(answer.response.status, ResponseStatus::PartialSuccess);
    assert_eq!(
        errors(&answer),
        [(
            error_code::XDS_MISSING_DOCUMENT.to_owned(),
            Some(UNKNOWN_SOP.to_owned())
        )]
    );
    let in_request_order: Vec<&str> = answer
        .documents
        .iter()
        .map(|d| d.document_unique_id.as_str())
        .collect();
    assert_eq!(in_request_order, [SOP_3, SOP_2, SOP_1]);
    assert_eq!(parts.len(), 3);
    for (_, _, sop, _, bytes) in &instances {
        assert!(document_bytes(&answer, &parts, sop) == bytes.as_slice());
    }
    assert_eq!(pacs.retrieves(), [format!("/dicom-web/studies/{STUDY}")]);
}

#[tokio::test]
async fn few_instances_of_a_pacs_study_come_from_retrieve_instance() {
    let instances = vec![
        held(SERIES_A, SOP_1, EXPLICIT_LE, 100),
        held(SERIES_A, SOP_2, EXPLICIT_LE, 100),
        held(SERIES_B, SOP_3, EXPLICIT_LE, 100),
    ];
    let pacs = fake_pacs_logged(instances.clone()).await;
    let setup = Setup::with_pacs(Some(pacs.url.clone())).await;
    let (answer, parts) = rad69(
        &setup.url(),
        &request(REPOSITORY_UID, &[(STUDY, SERIES_B, SOP_3)], &[EXPLICIT_LE]),
    )
    .await;
    assert_eq!(answer.response.status, ResponseStatus::Success);
    assert!(document_bytes(&answer, &parts, SOP_3) == instances[2].4.as_slice());
    assert_eq!(
        pacs.retrieves(),
        [format!(
            "/dicom-web/studies/{STUDY}/series/{SERIES_B}/instances/{SOP_3}"
        )]
    );
}

#[tokio::test]
async fn unknown_soap_action_gets_an_action_not_supported_fault() {
    let setup = Setup::new().await;
    let (envelope, _) = soap::write_request_envelope(
        action::RETRIEVE_DOCUMENT_SET,
        &setup.url(),
        &request(REPOSITORY_UID, &[(STUDY, SERIES_A, SOP_1)], &[EXPLICIT_LE]).to_xml(),
    );
    let response = serve::post_soap(&setup.url(), action::RETRIEVE_DOCUMENT_SET, envelope).await;
    assert!(response.status().is_client_error(), "{}", response.status());
    let body = response.text().await.unwrap();
    assert!(
        body.contains("Fault") && body.contains("ActionNotSupported"),
        "{body}"
    );
}

#[tokio::test]
async fn request_without_transfer_syntax_list_is_a_failure_with_metadata_error() {
    let setup = Setup::new().await;
    let xml = request(REPOSITORY_UID, &[(STUDY, SERIES_A, SOP_1)], &[EXPLICIT_LE]).to_xml();
    let start = xml.find("<xdsi:TransferSyntaxUIDList>").unwrap();
    let end =
        xml.find("</xdsi:TransferSyntaxUIDList>").unwrap() + "</xdsi:TransferSyntaxUIDList>".len();
    let without = format!("{}{}", &xml[..start], &xml[end..]);
    let (envelope, _) = soap::write_request_envelope(
        action::RETRIEVE_IMAGING_DOCUMENT_SET,
        &setup.url(),
        &without,
    );
    let response = serve::post_soap(
        &setup.url(),
        action::RETRIEVE_IMAGING_DOCUMENT_SET,
        envelope,
    )
    .await;
    let (answer, parts) = serve::read_answer(response).await;
    assert_eq!(answer.response.status, ResponseStatus::Failure);
    assert_eq!(
        answer.response.errors[0].error_code,
        error_code::XDS_REPOSITORY_METADATA_ERROR
    );
    assert!(parts.is_empty());
}

#[tokio::test]
async fn envelope_that_is_not_well_formed_gets_a_sender_fault() {
    let setup = Setup::new().await;
    let response = serve::post_soap(
        &setup.url(),
        action::RETRIEVE_IMAGING_DOCUMENT_SET,
        "<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\"><env:Body>".into(),
    )
    .await;
    assert!(response.status().is_client_error(), "{}", response.status());
    assert!(response.text().await.unwrap().contains("Sender"));
}

#[tokio::test]
async fn healthz_and_metrics_are_served() {
    let setup = Setup::new().await;
    let client = reqwest::Client::new();
    let health = client
        .get(format!("{}/healthz", setup.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(health.text().await.unwrap().contains("imaging-source"));
    let metrics = client
        .get(format!("{}/metrics", setup.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
}

/// A PACS that answers the WADO-RS metadata of `instance` (held in Explicit VR Little Endian),
/// and a retrieve of it with its first `sent` bytes, then stays silent with the connection open.
async fn pacs_stalling_mid_instance(instance: Vec<u8>, sent: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut connection, _)) = listener.accept().await {
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                let mut byte = [0u8; 1];
                if connection.read_exact(&mut byte).await.is_err() {
                    break;
                }
                head.push(byte[0]);
            }
            let request_line = String::from_utf8_lossy(&head)
                .lines()
                .next()
                .map(str::to_owned);
            if request_line.is_some_and(|line| line.contains("/metadata ")) {
                let metadata = serde_json::json!([{
                    "00020010": {"vr": "UI", "Value": [EXPLICIT_LE]},
                    "00080016": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.2"]},
                    "00080018": {"vr": "UI", "Value": [SOP_1]},
                    "00080060": {"vr": "CS", "Value": ["CT"]},
                    "00100020": {"vr": "LO", "Value": ["PAT-0001"]},
                    "0020000D": {"vr": "UI", "Value": [STUDY]},
                    "0020000E": {"vr": "UI", "Value": [SERIES_A]},
                }])
                .to_string();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/dicom+json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{metadata}",
                    metadata.len()
                );
                let _ = connection.write_all(answer.as_bytes()).await;
                continue;
            }
            let mut answer = b"HTTP/1.1 200 OK\r\nContent-Type: multipart/related; \
                type=\"application/dicom\"; boundary=STALL\r\nConnection: close\r\n\r\n\
                --STALL\r\nContent-Type: application/dicom\r\n\r\n"
                .to_vec();
            answer.extend_from_slice(&instance[..sent]);
            let _ = connection.write_all(&answer).await;
            held.push(connection);
        }
    });
    format!("http://{addr}/dicom-web")
}

/// The source with `pacs` as its PACS and timeouts of one second.
async fn with_impatient_pacs(pacs: String) -> Setup {
    Setup::with_config(imaging_source::config::Config {
        pacs_dicomweb_url: Some(pacs),
        pacs_connect_timeout_seconds: 1,
        pacs_idle_timeout_seconds: 1,
        ..imaging_source::config::Config::default()
    })
    .await
}

/// A PACS that stays silent (here: does not answer the study's WADO-RS metadata) is given up
/// after the idle timeout: every instance asked for gets an XDSRepositoryError naming the
/// timeout, and the PACS is asked once per request, not once per instance.
#[tokio::test]
async fn silent_pacs_gives_a_repository_error_per_instance_after_the_timeout() {
    let setup = with_impatient_pacs(silent_pacs().await).await;
    let sops: Vec<String> = (1..=12).map(|i| format!("{STUDY}.9.{i}")).collect();
    let wanted: Vec<(&str, &str, &str)> = sops
        .iter()
        .map(|sop| (STUDY, SERIES_A, sop.as_str()))
        .collect();
    let started = std::time::Instant::now();
    let (answer, parts) = tokio::time::timeout(
        std::time::Duration::from_secs(8),
        rad69(
            &setup.url(),
            &request(REPOSITORY_UID, &wanted, &[EXPLICIT_LE]),
        ),
    )
    .await
    .expect("RAD-69 answers although the PACS stays silent");
    assert_eq!(answer.response.status, ResponseStatus::Failure);
    assert!(parts.is_empty());
    assert_eq!(answer.response.errors.len(), sops.len());
    for (error, sop) in answer.response.errors.iter().zip(&sops) {
        assert_eq!(error.error_code, error_code::XDS_REPOSITORY_ERROR);
        assert_eq!(error.location.as_deref(), Some(sop.as_str()));
        assert!(
            error.code_context.contains("timed out"),
            "{}",
            error.code_context
        );
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(6),
        "one timeout for the request, not one per instance: {:?}",
        started.elapsed()
    );
}

/// A PACS that stops sending in the middle of an instance: the RAD-69 answer, already under
/// way, ends with an error after the idle timeout instead of waiting forever.
#[tokio::test]
async fn pacs_stalling_mid_instance_ends_the_answer_with_an_error() {
    let instance = dicom_instance(STUDY, SERIES_A, SOP_1, EXPLICIT_LE, 512 * 1024);
    let setup = with_impatient_pacs(pacs_stalling_mid_instance(instance, 100_000).await).await;
    let (envelope, _) = soap::write_request_envelope(
        action::RETRIEVE_IMAGING_DOCUMENT_SET,
        &setup.url(),
        &request(REPOSITORY_UID, &[(STUDY, SERIES_A, SOP_1)], &[EXPLICIT_LE]).to_xml(),
    );
    let response = serve::post_soap(
        &setup.url(),
        action::RETRIEVE_IMAGING_DOCUMENT_SET,
        envelope,
    )
    .await;
    assert_eq!(response.status(), 200);
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), response.bytes())
        .await
        .expect("the answer ends although the PACS stalls");
    assert!(
        read.is_err(),
        "an answer cut short is an error, not a whole answer"
    );
}
