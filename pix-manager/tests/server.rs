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
use support::{ALICE, BLUE, BOB, GREEN, a40, adt};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A running PIX manager whose ITI-10 (A31) and merge (A40) subscribers are `subscribers`.
async fn start_pix(dir: &std::path::Path, subscribers: Vec<String>) -> PixServer {
    let config = Config {
        mllp_port: 0,
        http_port: 0,
        merge_subscribers: subscribers.clone(),
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

/// A registry on ephemeral loopback ports, its database in `dir`, and a connection to it.
async fn start_registry(
    dir: &std::path::Path,
) -> (registry::server::Registry, registry::storage::Database) {
    let config = registry::config::Config {
        http_port: 0,
        mllp_port: 0,
        ..registry::config::Config::default()
    };
    let server = registry::server::start(&config, LOOPBACK, dir, CancellationToken::new())
        .await
        .expect("registry starts");
    let db = registry::storage::Database::connect(&registry::server::database_url(&config, dir))
        .await
        .unwrap();
    (server, db)
}

/// The registry's record of the affinity-domain `id`, once `ready` holds for it (5 s at most).
async fn await_patient(
    registry_db: &registry::storage::Database,
    cx: &str,
    ready: impl Fn(&registry::storage::PatientRecord) -> bool,
) -> registry::storage::PatientRecord {
    for _ in 0..100 {
        if let Some(record) = registry_db.patient(cx).await.unwrap().filter(&ready) {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the registry never got the expected record of {cx}");
}

/// ITI-10: after a feed the registry's identity feed receives an A31 carrying the
/// affinity-domain id, and accepts it (the registry then knows the patient).
#[tokio::test]
async fn iti10_notification_registers_the_affinity_id_at_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    let (registry, registry_db) = start_registry(dir.path()).await;
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
    let cx = format!(
        "{}^^^&{}&ISO",
        person.affinity_id, pix.manager.affinity_domain
    );
    await_patient(&registry_db, &cx, |p| p.merged_into.is_none()).await;
}

/// When two persons become one (an A40 of their records), the registry's feed gets an A40 in
/// the affinity domain and merges the retired id into the surviving one (ITI TF-2a 3.8: its
/// entries are re-pointed).
#[tokio::test]
async fn merge_of_two_persons_is_sent_to_the_registry_as_an_a40() {
    let dir = tempfile::tempdir().unwrap();
    let (registry, registry_db) = start_registry(dir.path()).await;
    let pix = start_pix(dir.path(), vec![registry.mllp_addr.to_string()]).await;
    let stream = TcpStream::connect(pix.mllp_addr).await.unwrap();
    let mut reader = MllpReader::new(stream);
    exchange(&mut reader, &adt("A01", "2.5", "G1", GREEN, &ALICE)).await;
    exchange(&mut reader, &adt("A01", "2.5", "G2", GREEN, &BOB)).await;
    let cx = |key: PatientKey| {
        let pix = &pix;
        async move {
            let person = pix.manager.db.person_by_key(&key).await.unwrap().unwrap();
            format!(
                "{}^^^&{}&ISO",
                person.affinity_id, pix.manager.affinity_domain
            )
        }
    };
    let surviving = cx(PatientKey::new(GREEN, "G1")).await;
    let retired = cx(PatientKey::new(GREEN, "G2")).await;
    await_patient(&registry_db, &retired, |p| p.merged_into.is_none()).await;
    let ack = exchange(&mut reader, &a40("G1", "G2", GREEN, &ALICE)).await;
    assert_eq!(ack.get("MSA-1"), Some("AA"));
    let record = await_patient(&registry_db, &retired, |p| p.merged_into.is_some()).await;
    assert_eq!(record.merged_into.as_deref(), Some(surviving.as_str()));
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
