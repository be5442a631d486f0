//! The local patient of an import read from the PIX Manager's records by ITI-21 Patient
//! Demographics Query (QBP^Q22 by identifier over MLLP), against the real PIX Manager fed by
//! ITI-8; an unknown local patient is an error before anything is sent.

use std::net::{IpAddr, Ipv4Addr};

use imaging_source::import_reconciliation::{LocalPatientError, OperatorPatient};
use imaging_source::pix_client::{PixClient, PixError};
use schemas::hl7v2::message::Message;
use schemas::hl7v2::mllp::{MllpReader, write_frame};
use tokio_util::sync::CancellationToken;

const HOSPITAL_B_OID: &str = "1.2.3.4.5.6.7.9.1";

/// The PIX Manager on free ports, with hospital B's patient LOCAL-42 fed by ITI-8 (ADT^A04).
async fn pix_manager_knowing_local_42(dir: &std::path::Path) -> pix_manager::server::PixServer {
    let config = pix_manager::config::Config {
        mllp_port: 0,
        http_port: 0,
        domains: vec![HOSPITAL_B_OID.to_owned()],
        ..pix_manager::config::Config::default()
    };
    let pix = pix_manager::server::start(
        &config,
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        dir,
        CancellationToken::new(),
    )
    .await
    .expect("PIX manager starts");
    let feed = format!(
        "MSH|^~\\&|RIS|HOSPB|PIX|HIE|20261124010000||ADT^A04^ADT_A01|FEED-1|P|2.5\r\
         EVN|A04|20261124010000\r\
         PID|||LOCAL-42^^^&{HOSPITAL_B_OID}&ISO||Martin^Claire||19800214|F\r\
         PV1||O\r"
    );
    let stream = tokio::net::TcpStream::connect(pix.mllp_addr).await.unwrap();
    let mut reader = MllpReader::new(stream);
    write_frame(reader.get_mut(), feed.as_bytes())
        .await
        .unwrap();
    let ack = Message::parse(&reader.next_frame().await.unwrap().unwrap()).unwrap();
    assert_eq!(ack.get("MSA-1"), Some("AA"), "{:?}", ack.get("ERR-8"));
    pix
}

#[tokio::test]
async fn local_record_comes_from_the_pix_manager_by_pdq() {
    let dir = tempfile::tempdir().unwrap();
    let pix = pix_manager_knowing_local_42(dir.path()).await;
    let operator = OperatorPatient {
        patient: format!("LOCAL-42^^^HOSPB&{HOSPITAL_B_OID}&ISO"),
        ..OperatorPatient::default()
    };
    let patient = operator
        .resolve_with_pdq(&PixClient::new(pix.mllp_addr.to_string()))
        .await
        .unwrap();
    assert_eq!(patient.id, "LOCAL-42");
    assert_eq!(patient.issuer.as_deref(), Some("HOSPB"));
    assert_eq!(patient.issuer_oid.as_deref(), Some(HOSPITAL_B_OID));
    assert_eq!(patient.name.as_deref(), Some("Martin^Claire"));
    assert_eq!(patient.birth_date.as_deref(), Some("19800214"));
    assert_eq!(patient.sex.as_deref(), Some("F"));
}

#[tokio::test]
async fn unknown_local_patient_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let pix = pix_manager_knowing_local_42(dir.path()).await;
    let operator = OperatorPatient {
        patient: format!("LOCAL-99^^^&{HOSPITAL_B_OID}&ISO"),
        ..OperatorPatient::default()
    };
    let error = operator
        .resolve_with_pdq(&PixClient::new(pix.mllp_addr.to_string()))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            LocalPatientError::Pdq(PixError::UnknownPatient { .. })
        ),
        "{error}"
    );
}

#[tokio::test]
async fn pdq_needs_the_local_assigning_authority_oid() {
    let operator = OperatorPatient {
        patient: "LOCAL-42^^^HOSPB".into(),
        ..OperatorPatient::default()
    };
    let error = operator
        .resolve_with_pdq(&PixClient::new("127.0.0.1:1"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, LocalPatientError::Invalid { .. }),
        "{error}"
    );
}

/// ITI-21 by demographics (the CD import's patient search): the disc's name and birth date find
/// the record with its identifier; another name finds nothing.
#[tokio::test]
async fn pdq_search_by_name_and_birth_date_lists_the_matching_record() {
    let dir = tempfile::tempdir().unwrap();
    let pix = pix_manager_knowing_local_42(dir.path()).await;
    let client = PixClient::new(pix.mllp_addr.to_string());
    let found = client
        .search_demographics("Martin", Some("Claire"), Some("19800214"))
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0]
            .identifiers
            .contains(&("LOCAL-42".to_owned(), HOSPITAL_B_OID.to_owned())),
        "{:?}",
        found[0].identifiers
    );
    assert_eq!(found[0].record.birth_date.as_deref(), Some("19800214"));
    let none = client
        .search_demographics("Nobody", None, Some("19800214"))
        .await
        .unwrap();
    assert!(none.is_empty(), "{none:?}");
}
