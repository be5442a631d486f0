//! The registry's patient identity feed: ITI-8 (HL7 v2 over MLLP, with ITI-10 A31) and ITI-44
//! (HL7 v3), one test per rule of ITI TF-2a 3.8 / TF-2b 3.44 and HL7 v2.5 table 0357.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use registry::identity_feed::{
    Demographics, FeedError, FeedEvent, PatientStore, handle_v2, handle_v3, interpret_v2,
    interpret_v3, serve_mllp,
};
use schemas::hl7v2::message::Message;
use schemas::hl7v2::mllp::{MllpReader, write_frame};
use schemas::hl7v3::{PatientRegistryMessage, read_patient_registry_message};
use schemas::soap::read_envelope;
use schemas::xml::{Limits, Node, XmlReader};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

mod support;

use registry::storage::Database;
use support::database::on_both_backends;

const DOMAIN: &str = "1.3.6.1.4.1.21367.2005.13.20.1000";
const BLUE_1001: &str = "IHEBLUE-1001^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO";
const BLUE_1002: &str = "IHEBLUE-1002^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO";

/// The patient store as a set of known ids and a log of merges; can be switched to failing.
#[derive(Default)]
struct MemoryStore {
    patients: Mutex<BTreeSet<String>>,
    merges: Mutex<Vec<(String, String)>>,
    failing: AtomicBool,
}

#[derive(Debug, thiserror::Error)]
#[error("database unavailable")]
struct StoreDown;

impl MemoryStore {
    fn failing() -> MemoryStore {
        let store = MemoryStore::default();
        store.failing.store(true, Ordering::SeqCst);
        store
    }

    fn patients(&self) -> Vec<String> {
        self.patients.lock().unwrap().iter().cloned().collect()
    }

    fn merges(&self) -> Vec<(String, String)> {
        self.merges.lock().unwrap().clone()
    }
}

impl PatientStore for MemoryStore {
    type Error = StoreDown;

    async fn register_patient(&self, patient_id: &str) -> Result<(), StoreDown> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreDown);
        }
        self.patients.lock().unwrap().insert(patient_id.to_owned());
        Ok(())
    }

    async fn merge_patients(&self, subsumed: &str, surviving: &str) -> Result<(), StoreDown> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreDown);
        }
        let mut patients = self.patients.lock().unwrap();
        patients.remove(subsumed);
        patients.insert(surviving.to_owned());
        self.merges
            .lock()
            .unwrap()
            .push((subsumed.to_owned(), surviving.to_owned()));
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// HL7 v2 messages (segments joined with CR)

fn hl7(segments: &[&str]) -> String {
    segments.iter().map(|s| format!("{s}\r")).collect()
}

fn msh(message_type: &str, control_id: &str, version: &str) -> String {
    format!(
        "MSH|^~\\&|PAT_IDENTITY_X_REF_MGR|IHE|XDSb_REG|IHE|20240115083000||{message_type}|{control_id}|P|{version}"
    )
}

/// ADT^A01 v2.5 from a PIX manager: the affinity-domain id only.
fn adt_a01_v25() -> String {
    hl7(&[
        &msh("ADT^A01^ADT_A01", "MSG-A01", "2.5"),
        "EVN||20240115083000",
        "PID|||IHEBLUE-1001^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO^PI||Jones^Jim^T||19630804|M",
        "PV1||I",
    ])
}

/// ADT^A40 v2.5: IHEBLUE-1002 (MRG-1) merged into IHEBLUE-1001 (PID-3).
fn adt_a40_v25() -> String {
    hl7(&[
        &msh("ADT^A40^ADT_A39", "MSG-A40", "2.5"),
        "EVN||20240116090000",
        "PID|||IHEBLUE-1001^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO^PI||Jones^Jim",
        "MRG|IHEBLUE-1002^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO^PI",
    ])
}

fn parse(text: &str) -> Message {
    Message::parse(text.as_bytes()).unwrap()
}

fn interpret(text: &str) -> Result<FeedEvent, FeedError> {
    interpret_v2(&parse(text), DOMAIN)
}

async fn answer(text: &str, store: &MemoryStore) -> Message {
    let ack = handle_v2(text.as_bytes(), store, DOMAIN).await;
    Message::parse(&ack).unwrap()
}

/// The ERR segment of an encoded ACK.
fn err_segment(ack: &Message) -> String {
    ack.encode()
        .split('\r')
        .find(|s| s.starts_with("ERR"))
        .unwrap_or_default()
        .to_owned()
}

// ---------------------------------------------------------------------------------------------
// ITI-8 / ITI-10 interpretation and ACKs

#[tokio::test]
async fn a01_v2_5_registers_the_affinity_domain_id_and_answers_aa() {
    let store = MemoryStore::default();
    let ack = answer(&adt_a01_v25(), &store).await;
    assert_eq!(ack.get("MSA-1"), Some("AA"));
    assert_eq!(ack.get("MSA-2"), Some("MSG-A01"));
    assert_eq!(ack.get("MSH-9"), Some("ACK"));
    assert_eq!(ack.get("MSH-9.2"), Some("A01"));
    assert_eq!(ack.version(), "2.5");
    assert!(ack.segment("ERR").is_none());
    assert_eq!(store.patients(), [BLUE_1001]);
}

#[test]
fn a01_carries_the_pid_demographics() {
    let FeedEvent::Register { demographics, .. } = interpret(&adt_a01_v25()).unwrap() else {
        panic!("not a registration");
    };
    assert_eq!(
        demographics,
        Some(Demographics {
            family_name: Some("Jones".into()),
            given_name: Some("Jim".into()),
            birth_date: Some("19630804".into()),
            sex: Some("M".into()),
        })
    );
}

#[tokio::test]
async fn a04_a05_a08_register_the_affinity_domain_id() {
    for event in ["A04", "A05", "A08"] {
        let store = MemoryStore::default();
        let text = adt_a01_v25().replace("ADT^A01^ADT_A01", &format!("ADT^{event}^ADT_A01"));
        let ack = answer(&text, &store).await;
        assert_eq!(ack.get("MSA-1"), Some("AA"), "{event}");
        assert_eq!(store.patients(), [BLUE_1001], "{event}");
    }
}

#[tokio::test]
async fn iti_10_a31_update_notification_registers_the_affinity_domain_id() {
    let store = MemoryStore::default();
    let text = adt_a01_v25().replace("ADT^A01^ADT_A01", "ADT^A31^ADT_A05");
    let ack = answer(&text, &store).await;
    assert_eq!(ack.get("MSA-1"), Some("AA"));
    assert_eq!(store.patients(), [BLUE_1001]);
}

#[tokio::test]
async fn a40_merges_mrg_1_into_pid_3() {
    assert_eq!(
        interpret(&adt_a40_v25()).unwrap(),
        FeedEvent::Merge {
            surviving: BLUE_1001.into(),
            subsumed: BLUE_1002.into(),
        }
    );
    let store = MemoryStore::default();
    let ack = answer(&adt_a40_v25(), &store).await;
    assert_eq!(ack.get("MSA-1"), Some("AA"));
    assert_eq!(ack.get("MSA-2"), Some("MSG-A40"));
    assert_eq!(
        store.merges(),
        [(BLUE_1002.to_owned(), BLUE_1001.to_owned())]
    );
}

#[tokio::test]
async fn a04_v2_3_1_registers_and_answers_a_v2_3_1_ack() {
    let text = hl7(&[
        &msh("ADT^A04", "MSG-231", "2.3.1"),
        "EVN|A04|20240115083000",
        "PID|||IHEBLUE-1001^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO||Jones^Jim||19630804|M",
        "PV1||O",
    ]);
    let store = MemoryStore::default();
    let ack = answer(&text, &store).await;
    assert_eq!(ack.get("MSA-1"), Some("AA"));
    assert_eq!(ack.version(), "2.3.1");
    assert_eq!(ack.get("MSH-9"), Some("ACK"));
    assert_eq!(ack.get("MSH-9.3"), None);
    assert_eq!(store.patients(), [BLUE_1001]);
}

#[tokio::test]
async fn a40_v2_3_1_with_pid_and_mrg_only_merges() {
    let text = hl7(&[
        &msh("ADT^A40", "MSG-231-A40", "2.3.1"),
        "EVN|A40|20240116090000",
        "PID|||IHEBLUE-1001^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO||Jones^Jim",
        "MRG|IHEBLUE-1002^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO",
    ]);
    let store = MemoryStore::default();
    let ack = answer(&text, &store).await;
    assert_eq!(ack.get("MSA-1"), Some("AA"));
    assert_eq!(
        store.merges(),
        [(BLUE_1002.to_owned(), BLUE_1001.to_owned())]
    );
}

#[test]
fn only_the_affinity_domain_repetition_of_pid_3_is_kept() {
    let text = hl7(&[
        &msh("ADT^A01^ADT_A01", "MSG-REP", "2.5"),
        "EVN||20240115083000",
        "PID|||L-77^^^HOSP&1.2.3.4&ISO^MR~IHEBLUE-1001^^^IHEBLUE&1.3.6.1.4.1.21367.2005.13.20.1000&ISO^PI~999-99-4452^^^SSA&2.16.840.1.113883.4.1&ISO^SS||Jones^Jim",
    ]);
    let FeedEvent::Register { patient_id, .. } = interpret(&text).unwrap() else {
        panic!("not a registration");
    };
    assert_eq!(patient_id, BLUE_1001);
}

#[test]
fn merge_takes_the_affinity_domain_repetition_of_mrg_1() {
    let text = adt_a40_v25().replace(
        "MRG|IHEBLUE-1002",
        "MRG|L-78^^^HOSP&1.2.3.4&ISO~IHEBLUE-1002",
    );
    assert_eq!(
        interpret(&text).unwrap(),
        FeedEvent::Merge {
            surviving: BLUE_1001.into(),
            subsumed: BLUE_1002.into(),
        }
    );
}

#[tokio::test]
async fn message_without_an_affinity_domain_id_is_accepted_and_ignored() {
    let text = adt_a01_v25().replace("&1.3.6.1.4.1.21367.2005.13.20.1000&ISO", "HOSP&1.2.3.4&ISO");
    assert!(matches!(
        interpret(&text).unwrap(),
        FeedEvent::Ignored { .. }
    ));
    let store = MemoryStore::default();
    let ack = answer(&text, &store).await;
    assert_eq!(ack.get("MSA-1"), Some("AA"));
    assert!(store.patients().is_empty());
}

#[test]
fn universal_id_type_other_than_iso_is_not_the_affinity_domain() {
    let text = adt_a01_v25().replace("20.1000&ISO", "20.1000&L");
    assert!(matches!(
        interpret(&text).unwrap(),
        FeedEvent::Ignored { .. }
    ));
}

#[tokio::test]
async fn missing_pid_3_is_ae_101_at_pid_1_3() {
    let text = adt_a01_v25().replace(
        "PID|||IHEBLUE-1001^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO^PI|",
        "PID||||",
    );
    let store = MemoryStore::default();
    let ack = answer(&text, &store).await;
    assert_eq!(ack.get("MSA-1"), Some("AE"));
    assert_eq!(ack.get("MSA-2"), Some("MSG-A01"));
    assert_eq!(ack.get("ERR-2"), Some("PID"));
    assert_eq!(ack.get("ERR-2.2"), Some("1"));
    assert_eq!(ack.get("ERR-2.3"), Some("3"));
    assert_eq!(ack.get("ERR-3"), Some("101"));
    assert_eq!(ack.get("ERR-3.3"), Some("HL70357"));
    assert_eq!(ack.get("ERR-4"), Some("E"));
    assert!(store.patients().is_empty());
}

#[tokio::test]
async fn missing_pid_3_in_v2_3_1_is_reported_in_err_1_and_msa_3() {
    let text = hl7(&[
        &msh("ADT^A04", "MSG-231", "2.3.1"),
        "EVN|A04|20240115083000",
        "PID|||||Jones^Jim",
    ]);
    let ack = answer(&text, &MemoryStore::default()).await;
    assert_eq!(ack.get("MSA-1"), Some("AE"));
    assert!(ack.get("MSA-3").is_some_and(|t| t.contains("PID-3")));
    assert_eq!(
        err_segment(&ack),
        "ERR|PID^1^3^101&Required field missing&HL70357"
    );
}

#[tokio::test]
async fn missing_pid_segment_is_ae_100() {
    let text = hl7(&[&msh("ADT^A01^ADT_A01", "MSG-NOPID", "2.5"), "EVN||2024"]);
    let ack = answer(&text, &MemoryStore::default()).await;
    assert_eq!(ack.get("MSA-1"), Some("AE"));
    assert_eq!(ack.get("ERR-3"), Some("100"));
}

#[tokio::test]
async fn a40_without_mrg_is_ae_100_and_nothing_is_merged() {
    let text = hl7(&[
        &msh("ADT^A40^ADT_A39", "MSG-NOMRG", "2.5"),
        "EVN||2024",
        "PID|||IHEBLUE-1001^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO",
    ]);
    let store = MemoryStore::default();
    let ack = answer(&text, &store).await;
    assert_eq!(ack.get("MSA-1"), Some("AE"));
    assert_eq!(ack.get("ERR-3"), Some("100"));
    assert!(ack.get("ERR-8").is_some_and(|t| t.contains("MRG")));
    assert!(store.merges().is_empty() && store.patients().is_empty());
}

#[tokio::test]
async fn a40_with_empty_mrg_1_is_ae_101_at_mrg_1_1() {
    let text = adt_a40_v25().replace(
        "MRG|IHEBLUE-1002^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO^PI",
        "MRG||L-1",
    );
    let ack = answer(&text, &MemoryStore::default()).await;
    assert_eq!(ack.get("MSA-1"), Some("AE"));
    assert_eq!(ack.get("ERR-2"), Some("MRG"));
    assert_eq!(ack.get("ERR-2.3"), Some("1"));
    assert_eq!(ack.get("ERR-3"), Some("101"));
}

#[tokio::test]
async fn unsupported_event_a03_is_ar_201_at_msh_9_2() {
    let text = adt_a01_v25().replace("ADT^A01^ADT_A01", "ADT^A03^ADT_A03");
    let store = MemoryStore::default();
    let ack = answer(&text, &store).await;
    assert_eq!(ack.get("MSA-1"), Some("AR"));
    assert_eq!(err_segment(&ack).split('|').nth(2), Some("MSH^1^9^1^2"));
    assert_eq!(ack.get("ERR-3"), Some("201"));
    assert!(store.patients().is_empty());
}

#[tokio::test]
async fn unsupported_message_type_is_ar_200_at_msh_9() {
    let text = adt_a01_v25().replace("ADT^A01^ADT_A01", "ORM^O01^ORM_O01");
    let ack = answer(&text, &MemoryStore::default()).await;
    assert_eq!(ack.get("MSA-1"), Some("AR"));
    assert_eq!(ack.get("ERR-2"), Some("MSH"));
    assert_eq!(ack.get("ERR-2.3"), Some("9"));
    assert_eq!(ack.get("ERR-3"), Some("200"));
}

#[tokio::test]
async fn unsupported_version_is_ar_203_at_msh_12() {
    let text = adt_a01_v25().replace("|P|2.5", "|P|2.7");
    let store = MemoryStore::default();
    let ack = answer(&text, &store).await;
    assert_eq!(ack.get("MSA-1"), Some("AR"));
    assert_eq!(ack.get("ERR-2.3"), Some("12"));
    assert_eq!(ack.get("ERR-3"), Some("203"));
    assert!(store.patients().is_empty());
}

#[tokio::test]
async fn frame_without_msh_is_answered_ar_100_with_an_empty_msa_2() {
    let store = MemoryStore::default();
    let ack = handle_v2(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", &store, DOMAIN).await;
    let ack = Message::parse(&ack).unwrap();
    assert_eq!(ack.get("MSH-9"), Some("ACK"));
    assert_eq!(ack.version(), "2.5");
    assert_eq!(ack.get("MSA-1"), Some("AR"));
    assert_eq!(ack.get("MSA-2"), None);
    assert_eq!(ack.get("ERR-3"), Some("100"));
    assert!(store.patients().is_empty());
}

#[tokio::test]
async fn unreadable_encoding_characters_are_ar_102_at_msh_2() {
    let ack = handle_v2(b"MSH|^^^^|A|B\r", &MemoryStore::default(), DOMAIN).await;
    let ack = Message::parse(&ack).unwrap();
    assert_eq!(ack.get("MSA-1"), Some("AR"));
    assert_eq!(ack.get("ERR-2.3"), Some("2"));
    assert_eq!(ack.get("ERR-3"), Some("102"));
}

#[tokio::test]
async fn malformed_segment_after_a_readable_msh_is_ae_102_echoing_the_control_id() {
    let text = adt_a01_v25().replace("PV1||I", "pv1||I");
    let store = MemoryStore::default();
    let ack = answer(&text, &store).await;
    assert_eq!(ack.get("MSA-1"), Some("AE"));
    assert_eq!(ack.get("MSA-2"), Some("MSG-A01"));
    assert_eq!(ack.get("MSH-5"), Some("PAT_IDENTITY_X_REF_MGR"));
    assert_eq!(ack.get("ERR-3"), Some("102"));
    assert!(store.patients().is_empty());
}

#[tokio::test]
async fn store_failure_is_ae_207_and_nothing_is_stored() {
    for text in [adt_a01_v25(), adt_a40_v25()] {
        let store = MemoryStore::failing();
        let ack = answer(&text, &store).await;
        assert_eq!(ack.get("MSA-1"), Some("AE"));
        assert_eq!(ack.get("ERR-3"), Some("207"));
        assert_eq!(ack.get("ERR-3.2"), Some("Application internal error"));
        assert!(store.patients().is_empty() && store.merges().is_empty());
    }
}

/// Counts `hl7_messages_total` increments by their labels.
#[derive(Default)]
struct CountingRecorder {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

struct LabelledCount {
    key: String,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl metrics::CounterFn for LabelledCount {
    fn increment(&self, value: u64) {
        *self
            .counts
            .lock()
            .unwrap()
            .entry(self.key.clone())
            .or_default() += value;
    }

    fn absolute(&self, _value: u64) {}
}

impl metrics::Recorder for CountingRecorder {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }

    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        metrics::Counter::from_arc(Arc::new(LabelledCount {
            key: format!("{}{{{}}}", key.name(), labels.join(",")),
            counts: Arc::clone(&self.counts),
        }))
    }

    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }

    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

#[test]
fn every_answer_counts_in_hl7_messages_total_by_transaction_and_ack_code() {
    let recorder = CountingRecorder::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let store = MemoryStore::default();
            answer(&adt_a01_v25(), &store).await;
            answer(&adt_a40_v25(), &store).await;
            answer(
                &adt_a01_v25().replace("ADT^A01^ADT_A01", "ADT^A31^ADT_A05"),
                &store,
            )
            .await;
            answer(&adt_a01_v25().replace("ADT^A01", "ADT^A03"), &store).await;
            handle_v2(b"not hl7", &store, DOMAIN).await;
            answer_v3(RECORD_ADDED, &store).await;
        });
    });
    let counts = recorder.counts.lock().unwrap().clone();
    let expected: BTreeMap<String, u64> = [
        ("hl7_messages_total{transaction=ITI-8,ack_code=AA}", 2),
        ("hl7_messages_total{transaction=ITI-8,ack_code=AR}", 2),
        ("hl7_messages_total{transaction=ITI-10,ack_code=AA}", 1),
        ("hl7_messages_total{transaction=ITI-44,ack_code=AA}", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(counts, expected);
}

// ---------------------------------------------------------------------------------------------
// MLLP end to end

async fn read_ack(reader: &mut MllpReader<TcpStream>) -> Message {
    let frame = tokio::time::timeout(Duration::from_secs(10), reader.next_frame())
        .await
        .expect("ACK within 10 s")
        .unwrap()
        .expect("an ACK frame");
    Message::parse(&frame).unwrap()
}

#[tokio::test]
async fn mllp_answers_two_messages_on_one_connection_across_garbage() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let store = Arc::new(MemoryStore::default());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(serve_mllp(
        listener,
        Arc::clone(&store),
        DOMAIN.to_owned(),
        shutdown.clone(),
    ));

    let mut client = MllpReader::new(TcpStream::connect(address).await.unwrap());
    write_frame(client.get_mut(), adt_a01_v25().as_bytes())
        .await
        .unwrap();
    let first = read_ack(&mut client).await;
    assert_eq!(first.get("MSA-1"), Some("AA"));
    assert_eq!(first.get("MSA-2"), Some("MSG-A01"));

    client
        .get_mut()
        .write_all(b"garbage between frames\r\n")
        .await
        .unwrap();
    let second_message = adt_a01_v25()
        .replace("IHEBLUE-1001", "IHEBLUE-1002")
        .replace("MSG-A01", "MSG-A01-2");
    write_frame(client.get_mut(), second_message.as_bytes())
        .await
        .unwrap();
    let second = read_ack(&mut client).await;
    assert_eq!(second.get("MSA-1"), Some("AA"));
    assert_eq!(second.get("MSA-2"), Some("MSG-A01-2"));
    assert_eq!(store.patients(), [BLUE_1001, BLUE_1002]);

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("server stops on shutdown")
        .unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(10), client.next_frame())
        .await
        .expect("connection closed on shutdown");
    assert!(matches!(closed, Ok(None)), "{closed:?}");
}

// ---------------------------------------------------------------------------------------------
// ITI-44

/// A Patient Registry Record Added from a Patient Identity Source, modelled on the ITI TF-2b 3.44
/// example: the affinity-domain id in patient/id, a national id in asOtherIDs.
const RECORD_ADDED: &str = r#"<PRPA_IN201301UV02 xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0">
  <id root="1.2.840.114350.1.13.0.1.7.1.1" extension="35423"/>
  <creationTime value="20240115083000"/>
  <interactionId root="2.16.840.1.113883.1.6" extension="PRPA_IN201301UV02"/>
  <processingCode code="P"/>
  <processingModeCode code="T"/>
  <acceptAckCode code="AL"/>
  <receiver typeCode="RCV"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.840.114350.1.13.999.234"/></device></receiver>
  <sender typeCode="SND"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.840.114350.1.13.999.567"/></device></sender>
  <controlActProcess classCode="CACT" moodCode="EVN">
    <code code="PRPA_TE201301UV02" codeSystem="2.16.840.1.113883.1.6"/>
    <subject typeCode="SUBJ">
      <registrationEvent classCode="REG" moodCode="EVN">
        <id nullFlavor="NA"/>
        <statusCode code="active"/>
        <subject1 typeCode="SBJ">
          <patient classCode="PAT">
            <id root="1.3.6.1.4.1.21367.2005.13.20.1000" extension="IHEBLUE-1001"/>
            <statusCode code="active"/>
            <patientPerson>
              <name><given>Jim</given><family>Jones</family></name>
              <administrativeGenderCode code="M"/>
              <birthTime value="19630804"/>
              <asOtherIDs classCode="PAT">
                <id root="2.16.840.1.113883.4.1" extension="999-99-4452"/>
                <scopingOrganization classCode="ORG" determinerCode="INSTANCE"><id root="2.16.840.1.113883.4.1"/></scopingOrganization>
              </asOtherIDs>
            </patientPerson>
            <providerOrganization classCode="ORG" determinerCode="INSTANCE"><id root="1.2.840.114350.1.13.99998.8734"/></providerOrganization>
          </patient>
        </subject1>
        <custodian typeCode="CST"><assignedEntity classCode="ASSIGNED"><id root="1.2.840.114350.1.13.99998.8734"/></assignedEntity></custodian>
      </registrationEvent>
    </subject>
  </controlActProcess>
</PRPA_IN201301UV02>"#;

/// A Patient Registry Duplicates Resolved: IHEBLUE-1002 merged into IHEBLUE-1001.
const DUPLICATES_RESOLVED: &str = r#"<PRPA_IN201304UV02 xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0">
  <id root="1.2.840.114350.1.13.0.1.7.1.1" extension="35424"/>
  <creationTime value="20240116090000"/>
  <interactionId root="2.16.840.1.113883.1.6" extension="PRPA_IN201304UV02"/>
  <processingCode code="P"/>
  <processingModeCode code="T"/>
  <acceptAckCode code="AL"/>
  <receiver typeCode="RCV"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.840.114350.1.13.999.234"/></device></receiver>
  <sender typeCode="SND"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.840.114350.1.13.999.567"/></device></sender>
  <controlActProcess classCode="CACT" moodCode="EVN">
    <code code="PRPA_TE201304UV02" codeSystem="2.16.840.1.113883.1.6"/>
    <subject typeCode="SUBJ">
      <registrationEvent classCode="REG" moodCode="EVN">
        <id nullFlavor="NA"/>
        <statusCode code="active"/>
        <subject1 typeCode="SBJ">
          <patient classCode="PAT">
            <id root="1.3.6.1.4.1.21367.2005.13.20.1000" extension="IHEBLUE-1001"/>
            <statusCode code="active"/>
            <patientPerson><name><family>Jones</family></name></patientPerson>
          </patient>
        </subject1>
        <custodian typeCode="CST"><assignedEntity classCode="ASSIGNED"><id root="1.2.840.114350.1.13.99998.8734"/></assignedEntity></custodian>
        <replacementOf typeCode="RPLC">
          <priorRegistration classCode="REG" moodCode="EVN">
            <statusCode code="obsolete"/>
            <subject1 typeCode="SBJ">
              <priorRegisteredRole classCode="PAT">
                <id root="1.3.6.1.4.1.21367.2005.13.20.1000" extension="IHEBLUE-1002"/>
              </priorRegisteredRole>
            </subject1>
          </priorRegistration>
        </replacementOf>
      </registrationEvent>
    </subject>
  </controlActProcess>
</PRPA_IN201304UV02>"#;

fn read_v3(xml: &str) -> PatientRegistryMessage {
    let mut reader = XmlReader::new(xml.as_bytes(), Limits::default()).unwrap();
    let root = reader.root().unwrap();
    read_patient_registry_message(&mut reader, &root).unwrap()
}

async fn answer_v3(xml: &str, store: &MemoryStore) -> String {
    let mut reader = XmlReader::new(xml.as_bytes(), Limits::default()).unwrap();
    let root = reader.root().unwrap();
    handle_v3(&mut reader, &root, store, DOMAIN).await
}

/// The acknowledgement's typeCode, targetMessage id extension and detail texts.
fn read_mcci(xml: &str) -> (String, Option<String>, Vec<String>) {
    let mut reader = XmlReader::new(xml.as_bytes(), Limits::default()).unwrap();
    let root = reader.root().unwrap();
    assert!(root.is("urn:hl7-org:v3", "MCCI_IN000002UV01"), "{xml}");
    let (mut type_code, mut target, mut texts) = (String::new(), None, Vec::new());
    let mut path = Vec::new();
    while let Some(node) = reader.next_node().unwrap() {
        match node {
            Node::Start(e) => {
                path.push(e.name.local.to_string());
                match path.join("/").as_str() {
                    "acknowledgement/typeCode" => type_code = e.attr("code").unwrap().into(),
                    "acknowledgement/targetMessage/id" => {
                        target = e.attr("extension").map(str::to_owned)
                    }
                    "acknowledgement/acknowledgementDetail/text" => {
                        texts.push(reader.text_of(&e).unwrap());
                        path.pop();
                        continue;
                    }
                    _ => {}
                }
                if e.empty {
                    path.pop();
                }
            }
            Node::End(_) => {
                if path.pop().is_none() {
                    break;
                }
            }
            Node::Text(_) => {}
        }
    }
    (type_code, target, texts)
}

#[tokio::test]
async fn iti_44_record_added_registers_and_answers_mcci_aa() {
    let store = MemoryStore::default();
    let ack = answer_v3(RECORD_ADDED, &store).await;
    let (type_code, target, details) = read_mcci(&ack);
    assert_eq!(type_code, "AA");
    assert_eq!(target.as_deref(), Some("35423"));
    assert!(details.is_empty());
    assert!(ack.contains(r#"<receiver typeCode="RCV"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.840.114350.1.13.999.567"/>"#));
    assert_eq!(store.patients(), [BLUE_1001]);
}

#[test]
fn iti_44_record_added_carries_the_person_demographics() {
    let FeedEvent::Register { demographics, .. } =
        interpret_v3(&read_v3(RECORD_ADDED), DOMAIN).unwrap()
    else {
        panic!("not a registration");
    };
    assert_eq!(
        demographics,
        Some(Demographics {
            family_name: Some("Jones".into()),
            given_name: Some("Jim".into()),
            birth_date: Some("19630804".into()),
            sex: Some("M".into()),
        })
    );
}

#[tokio::test]
async fn iti_44_record_revised_registers() {
    let store = MemoryStore::default();
    let xml = RECORD_ADDED.replace("PRPA_IN201301UV02", "PRPA_IN201302UV02");
    let (type_code, _, _) = read_mcci(&answer_v3(&xml, &store).await);
    assert_eq!(type_code, "AA");
    assert_eq!(store.patients(), [BLUE_1001]);
}

#[tokio::test]
async fn iti_44_duplicates_resolved_merges_prior_registered_role_into_patient() {
    assert_eq!(
        interpret_v3(&read_v3(DUPLICATES_RESOLVED), DOMAIN).unwrap(),
        FeedEvent::Merge {
            surviving: BLUE_1001.into(),
            subsumed: BLUE_1002.into(),
        }
    );
    let store = MemoryStore::default();
    let (type_code, target, _) = read_mcci(&answer_v3(DUPLICATES_RESOLVED, &store).await);
    assert_eq!(type_code, "AA");
    assert_eq!(target.as_deref(), Some("35424"));
    assert_eq!(
        store.merges(),
        [(BLUE_1002.to_owned(), BLUE_1001.to_owned())]
    );
}

#[tokio::test]
async fn iti_44_ids_of_other_domains_only_are_accepted_and_ignored() {
    let xml = RECORD_ADDED.replace(DOMAIN, "1.2.3.4");
    let store = MemoryStore::default();
    let (type_code, _, _) = read_mcci(&answer_v3(&xml, &store).await);
    assert_eq!(type_code, "AA");
    assert!(store.patients().is_empty());
}

#[tokio::test]
async fn iti_44_affinity_domain_id_in_as_other_ids_is_registered() {
    let xml = RECORD_ADDED
        .replace(
            r#"<id root="1.3.6.1.4.1.21367.2005.13.20.1000" extension="IHEBLUE-1001"/>"#,
            r#"<id root="1.2.3.4" extension="L-1"/>"#,
        )
        .replace(
            r#"<id root="2.16.840.1.113883.4.1" extension="999-99-4452"/>"#,
            r#"<id root="1.3.6.1.4.1.21367.2005.13.20.1000" extension="IHEBLUE-1001"/>"#,
        );
    let store = MemoryStore::default();
    answer_v3(&xml, &store).await;
    assert_eq!(store.patients(), [BLUE_1001]);
}

#[tokio::test]
async fn iti_44_without_patient_id_is_ae_with_detail() {
    let xml = RECORD_ADDED
        .replace(
            r#"<id root="1.3.6.1.4.1.21367.2005.13.20.1000" extension="IHEBLUE-1001"/>"#,
            r#"<id nullFlavor="UNK"/>"#,
        )
        .replace(
            r#"<id root="2.16.840.1.113883.4.1" extension="999-99-4452"/>"#,
            "",
        );
    let store = MemoryStore::default();
    let (type_code, target, details) = read_mcci(&answer_v3(&xml, &store).await);
    assert_eq!(type_code, "AE");
    assert_eq!(target.as_deref(), Some("35423"));
    assert!(details[0].contains("patient/id"), "{details:?}");
    assert!(store.patients().is_empty());
}

#[tokio::test]
async fn iti_44_merge_without_prior_registered_role_is_ae() {
    let start = DUPLICATES_RESOLVED.find("<replacementOf").unwrap();
    let end = DUPLICATES_RESOLVED.find("</replacementOf>").unwrap() + "</replacementOf>".len();
    let xml = format!(
        "{}{}",
        &DUPLICATES_RESOLVED[..start],
        &DUPLICATES_RESOLVED[end..]
    );
    let store = MemoryStore::default();
    let (type_code, _, details) = read_mcci(&answer_v3(&xml, &store).await);
    assert_eq!(type_code, "AE");
    assert!(details[0].contains("priorRegisteredRole"), "{details:?}");
    assert!(store.merges().is_empty());
}

#[tokio::test]
async fn iti_44_store_failure_is_ae_interr_and_nothing_is_stored() {
    let store = MemoryStore::failing();
    let ack = answer_v3(DUPLICATES_RESOLVED, &store).await;
    let (type_code, _, details) = read_mcci(&ack);
    assert_eq!(type_code, "AE");
    assert_eq!(details.len(), 1);
    assert!(ack.contains(r#"<code code="INTERR""#), "{ack}");
    assert!(store.merges().is_empty() && store.patients().is_empty());
}

#[tokio::test]
async fn iti_44_other_interaction_is_ar() {
    let xml = r#"<PRPA_IN201305UV02 xmlns="urn:hl7-org:v3"><id root="1.2" extension="9"/></PRPA_IN201305UV02>"#;
    let (type_code, target, details) = read_mcci(&answer_v3(xml, &MemoryStore::default()).await);
    assert_eq!(type_code, "AR");
    assert_eq!(target, None);
    assert!(details[0].contains("PRPA_IN201305UV02"));
}

#[tokio::test]
async fn iti_44_in_a_soap_envelope_is_read_from_the_body() {
    let envelope = format!(
        r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing"><env:Header><wsa:Action env:mustUnderstand="true">urn:hl7-org:v3:PRPA_IN201301UV02</wsa:Action><wsa:MessageID>urn:uuid:1</wsa:MessageID></env:Header><env:Body>{RECORD_ADDED}</env:Body></env:Envelope>"#
    );
    let mut request = read_envelope(envelope.as_bytes(), Limits::default()).unwrap();
    let store = MemoryStore::default();
    let ack = handle_v3(&mut request.reader, &request.body, &store, DOMAIN).await;
    assert_eq!(read_mcci(&ack).0, "AA");
    assert_eq!(store.patients(), [BLUE_1001]);
}

// ---------------------------------------------------------------------------------------------
// The registry's own database as the store.

/// Run on SQLite always and on PostgreSQL with `--features postgres-tests`.
async fn feed_into_the_registry_database_registers_then_merges(db: &Database) {
    let ack = handle_v2(adt_a01_v25().as_bytes(), db, DOMAIN).await;
    assert_eq!(Message::parse(&ack).unwrap().get("MSA-1"), Some("AA"));
    assert!(db.patient_known(BLUE_1001).await.unwrap());

    db.upsert_patient(BLUE_1002).await.unwrap();
    let ack = handle_v2(adt_a40_v25().as_bytes(), db, DOMAIN).await;
    assert_eq!(Message::parse(&ack).unwrap().get("MSA-1"), Some("AA"));
    assert!(db.patient_known(BLUE_1001).await.unwrap());
    assert!(
        !db.patient_known(BLUE_1002).await.unwrap(),
        "subsumed id is no longer active"
    );
}

on_both_backends!(feed_into_the_registry_database_registers_then_merges);
