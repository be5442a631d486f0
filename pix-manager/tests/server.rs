//! The running PIX manager: MLLP framing, ITI-10 notifications received by the registry's
//! identity feed, and the review-queue HTTP API.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use pix_manager::config::Config;
use pix_manager::server::{PixServer, start};
use pix_manager::storage::PatientKey;
use schemas::hl7v2::message::Message;
use schemas::hl7v2::mllp::{MllpReader, write_frame};
use support::{ALICE, BLUE, GREEN, adt};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

async fn start_pix(dir: &std::path::Path, subscribers: Vec<String>) -> PixServer {
    let config = Config {
        mllp_port: 0,
        http_port: 0,
        subscribers,
        ..Config::default()
    };
    start(&config, LOOPBACK, dir, CancellationToken::new())
        .await
        .expect("PIX manager starts")
}

async fn exchange(reader: &mut MllpReader<TcpStream>, message: &str) -> Message {
    write_frame(reader.get_mut(), message.as_bytes())
        .await
        .unwrap();
    let frame = reader.next_frame().await.unwrap().expect("an answer");
    Message::parse(&frame).unwrap()
}

/// Bytes outside an MLLP frame are dropped, and the connection still answers the next frame.
#[tokio::test]
async fn mllp_framing_error_keeps_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let pix = start_pix(dir.path(), Vec::new()).await;
    let stream = TcpStream::connect(pix.mllp_addr).await.unwrap();
    let mut reader = MllpReader::new(stream);
    reader
        .get_mut()
        .write_all(b"garbage outside any frame\r")
        .await
        .unwrap();
    let ack = exchange(&mut reader, &adt("A01", "2.5", "G1", GREEN, &ALICE)).await;
    assert_eq!(ack.get("MSA-1"), Some("AA"));
    let ack = exchange(&mut reader, &adt("A01", "2.5", "X", "9.9", &ALICE)).await;
    assert_eq!(
        ack.get("MSA-1"),
        Some("AE"),
        "same connection, next message"
    );
}

/// ITI-10: after a feed the registry's identity feed receives an A31 carrying the
/// affinity-domain id, and accepts it (the registry then knows the patient).
#[tokio::test]
async fn iti10_notification_registers_the_affinity_id_at_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    let registry_config = registry::config::Config {
        http_port: 0,
        mllp_port: 0,
        ..registry::config::Config::default()
    };
    let registry = registry::server::start(
        &registry_config,
        LOOPBACK,
        dir.path(),
        CancellationToken::new(),
    )
    .await
    .expect("registry starts");
    let pix = start_pix(dir.path(), vec![registry.mllp_addr.to_string()]).await;
    let stream = TcpStream::connect(pix.mllp_addr).await.unwrap();
    let mut reader = MllpReader::new(stream);
    let ack = exchange(&mut reader, &adt("A01", "2.5", "G1", GREEN, &ALICE)).await;
    assert_eq!(ack.get("MSA-1"), Some("AA"));
    let person = pix
        .manager
        .db
        .person_by_key(&PatientKey::new(GREEN, "G1"))
        .await
        .unwrap()
        .unwrap();
    let registry_db = registry::storage::Database::connect(&registry::server::database_url(
        &registry_config,
        dir.path(),
    ))
    .await
    .unwrap();
    let cx = format!(
        "{}^^^&{}&ISO",
        person.affinity_id, pix.manager.affinity_domain
    );
    for _ in 0..100 {
        if registry_db.patient_known(&cx).await.unwrap() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the registry never learnt {cx}");
}

/// The review-queue API: GET lists pending pairs with both records and the comparison; accept
/// links them (204); an unknown review is 404.
#[tokio::test]
async fn review_api_lists_and_accepts_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let pix = start_pix(dir.path(), Vec::new()).await;
    let stream = TcpStream::connect(pix.mllp_addr).await.unwrap();
    let mut reader = MllpReader::new(stream);
    exchange(&mut reader, &adt("A01", "2.5", "G1", GREEN, &ALICE)).await;
    exchange(&mut reader, &adt("A01", "2.5", "G2", GREEN, &ALICE)).await;
    let client = reqwest::Client::new();
    let base = pix.http_url();
    let health = client
        .get(format!("http://{}/healthz", pix.http_addr))
        .send()
        .await
        .unwrap();
    assert!(health.status().is_success());
    let body = client
        .get(format!("{base}/review"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let reviews: serde_json::Value = serde_json::from_str(&body).unwrap();
    let first = &reviews[0];
    assert_eq!(first["record"]["key"]["local_id"], "G2");
    assert_eq!(first["candidate"]["key"]["local_id"], "G1");
    let fields = first["decision"]["fields"].as_array().unwrap();
    assert!(fields.iter().any(|f| f["field"] == "surname"), "{fields:?}");
    let id = first["id"].as_i64().unwrap();
    let accepted = client
        .post(format!("{base}/review/{id}/accept"))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), reqwest::StatusCode::NO_CONTENT);
    let again = client
        .post(format!("{base}/review/{id}/accept"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), reqwest::StatusCode::NOT_FOUND);
    let db = &pix.manager.db;
    assert_eq!(
        db.person_by_key(&PatientKey::new(GREEN, "G1"))
            .await
            .unwrap(),
        db.person_by_key(&PatientKey::new(GREEN, "G2"))
            .await
            .unwrap()
    );
    let unknown = client
        .post(format!("{base}/unlink"))
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"record":{{"domain":"{BLUE}","local_id":"nobody"}}}}"#
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), reqwest::StatusCode::NOT_FOUND);
}
