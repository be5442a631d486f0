//! ITI-10 PIX Update Notification: an ADT^A31 (HL7 v2.5) listing every identifier of a person,
//! the affinity-domain id among them, sent over MLLP to each configured subscriber (the
//! registry's identity feed by default) after every identity change. When two persons become
//! one, the merge subscribers (the registry's feed by default) also get an ADT^A40 in the
//! affinity domain (ITI-8 merge, ITI TF-2a 3.8): PID-3 the surviving id, MRG-1 the retired one,
//! so the registry re-points the retired id's entries.
//!
//! Sending is queued per subscriber and never holds up the transaction that caused it; a
//! subscriber that is down or answers other than AA is logged and counted in
//! `pix_notifications_total{outcome}`.

use std::sync::Arc;
use std::time::Duration;

use schemas::hl7v2::message::{Delimiters, Hl7Error, Message};
use schemas::hl7v2::mllp::{MllpReader, write_frame};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::manager::PixManager;
use crate::matching::Demographics;
use crate::storage::{PersonIdentity, PersonsMerged};
use crate::v2::pid_segment_er7;

/// Notifications waiting per subscriber before new ones are dropped.
const QUEUE_DEPTH: usize = 10_000;
/// How long a subscriber has to connect and acknowledge one notification.
const SUBSCRIBER_TIMEOUT: Duration = Duration::from_secs(5);

/// The queues of the subscribers, one per address.
#[derive(Clone, Default)]
pub struct Notifier {
    queues: Vec<Subscriber>,
}

#[derive(Clone)]
struct Subscriber {
    address: Arc<str>,
    /// Gets the ITI-10 A31s.
    updates: bool,
    /// Gets the affinity-domain A40s.
    merges: bool,
    queue: mpsc::Sender<Vec<u8>>,
}

impl Notifier {
    /// A notifier without subscribers.
    pub fn none() -> Self {
        Notifier::default()
    }

    /// One sending task per address (`host:port`) of `subscribers` (A31s) and
    /// `merge_subscribers` (A40s); an address in both gets both on one queue, in order. The
    /// tasks end on `shutdown`.
    pub fn start(
        subscribers: &[String],
        merge_subscribers: &[String],
        shutdown: &CancellationToken,
        tasks: &mut JoinSet<()>,
    ) -> Self {
        let mut addresses: Vec<&String> = subscribers.iter().chain(merge_subscribers).collect();
        addresses.sort();
        addresses.dedup();
        let queues = addresses
            .into_iter()
            .map(|address| {
                let (queue, receiver) = mpsc::channel(QUEUE_DEPTH);
                let name: Arc<str> = address.as_str().into();
                tasks.spawn(send_loop(Arc::clone(&name), receiver, shutdown.clone()));
                Subscriber {
                    address: name,
                    updates: subscribers.contains(address),
                    merges: merge_subscribers.contains(address),
                    queue,
                }
            })
            .collect();
        Notifier { queues }
    }

    /// ITI-10: queues the A31 of `person` for every subscriber.
    pub async fn person_changed(
        &self,
        manager: &PixManager,
        person: &PersonIdentity,
        demographics: Option<&Demographics>,
    ) {
        if !self.queues.iter().any(|s| s.updates) {
            return;
        }
        match update_notification(manager, person, demographics) {
            Ok(message) => self.queue(&message.encode().into_bytes(), |s| s.updates),
            Err(error) => tracing::error!(%error, "ITI-10 notification could not be built"),
        }
    }

    /// ITI-8 A40 in the affinity domain: queues the merge for every merge subscriber.
    pub async fn persons_merged(&self, manager: &PixManager, merge: &PersonsMerged) {
        if !self.queues.iter().any(|s| s.merges) {
            return;
        }
        match merge_notification(manager, merge) {
            Ok(message) => self.queue(&message.encode().into_bytes(), |s| s.merges),
            Err(error) => tracing::error!(%error, "A40 merge notification could not be built"),
        }
    }

    fn queue(&self, message: &[u8], wanted: impl Fn(&Subscriber) -> bool) {
        for subscriber in self.queues.iter().filter(|s| wanted(s)) {
            if subscriber.queue.try_send(message.to_vec()).is_err() {
                tracing::warn!(subscriber = %subscriber.address, "notification queue full, dropped");
                count("dropped");
            }
        }
    }
}

fn count(outcome: &'static str) {
    metrics::counter!("pix_notifications_total", "outcome" => outcome).increment(1);
}

/// ITI-10 ADT^A31 (v2.5) for `person`: PID-3 holds each of its records' ids and its
/// affinity-domain id.
pub fn update_notification(
    manager: &PixManager,
    person: &PersonIdentity,
    demographics: Option<&Demographics>,
) -> Result<Message, Hl7Error> {
    let d = Delimiters::default();
    let now = schemas::hl7v2::utc_now();
    let control_id = uuid::Uuid::new_v4().simple().to_string();
    let mut ids: Vec<(String, String)> = person
        .records
        .iter()
        .map(|k| (k.local_id.clone(), k.domain.clone()))
        .collect();
    ids.push((person.affinity_id.clone(), manager.affinity_domain.clone()));
    let pid = pid_segment_er7(&d, &ids, demographics.unwrap_or(&Demographics::default()));
    let er7 = format!(
        "MSH|^~\\&|{}|{}|||{now}||ADT^A31^ADT_A05|{control_id}|P|2.5\rEVN||{now}\r{pid}\rPV1||N\r",
        d.escape(&manager.sending_application),
        d.escape(&manager.sending_facility),
    );
    Message::parse(er7.as_bytes())
}

/// ITI-8 ADT^A40 (v2.5) in the affinity domain: PID-3 the surviving person's id, MRG-1 the
/// retired one.
pub fn merge_notification(
    manager: &PixManager,
    merge: &PersonsMerged,
) -> Result<Message, Hl7Error> {
    let d = Delimiters::default();
    let now = schemas::hl7v2::utc_now();
    let control_id = uuid::Uuid::new_v4().simple().to_string();
    let domain = &manager.affinity_domain;
    let pid = pid_segment_er7(
        &d,
        &[(merge.surviving.clone(), domain.clone())],
        &Demographics::default(),
    );
    let er7 = format!(
        "MSH|^~\\&|{}|{}|||{now}||ADT^A40^ADT_A39|{control_id}|P|2.5\rEVN||{now}\r{pid}\rMRG|{}^^^&{}&ISO\r",
        d.escape(&manager.sending_application),
        d.escape(&manager.sending_facility),
        d.escape(&merge.retired),
        d.escape(domain),
    );
    Message::parse(er7.as_bytes())
}

/// Sends each queued notification to `address`, reconnecting when needed.
async fn send_loop(
    address: Arc<str>,
    mut queue: mpsc::Receiver<Vec<u8>>,
    shutdown: CancellationToken,
) {
    let mut connection: Option<MllpReader<TcpStream>> = None;
    loop {
        let message = tokio::select! {
            () = shutdown.cancelled() => break,
            message = queue.recv() => match message {
                Some(message) => message,
                None => break,
            },
        };
        let mut outcome = Err("not sent".to_owned());
        for _attempt in 0..2 {
            outcome = tokio::time::timeout(
                SUBSCRIBER_TIMEOUT,
                send_one(&address, &mut connection, &message),
            )
            .await
            .unwrap_or_else(|_| Err("timed out".to_owned()));
            if outcome.is_ok() {
                break;
            }
            connection = None;
        }
        match outcome {
            Ok(ack_code) if ack_code == "AA" => count("accepted"),
            Ok(ack_code) => {
                tracing::warn!(subscriber = %address, %ack_code, "ITI-10 notification not accepted");
                count("refused");
            }
            Err(error) => {
                tracing::warn!(subscriber = %address, %error, "ITI-10 notification not delivered");
                count("failed");
            }
        }
    }
}

/// Sends one frame and returns the MSA-1 of the answer.
async fn send_one(
    address: &str,
    connection: &mut Option<MllpReader<TcpStream>>,
    message: &[u8],
) -> Result<String, String> {
    if connection.is_none() {
        let stream = TcpStream::connect(address)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        *connection = Some(MllpReader::new(stream));
    }
    let Some(reader) = connection.as_mut() else {
        return Err("no connection".to_owned());
    };
    write_frame(reader.get_mut(), message)
        .await
        .map_err(|e| format!("send: {e}"))?;
    let frame = reader
        .next_frame()
        .await
        .map_err(|e| format!("answer: {e}"))?
        .ok_or_else(|| "connection closed before the ACK".to_owned())?;
    let ack = Message::parse(&frame).map_err(|e| format!("unreadable ACK: {e}"))?;
    Ok(ack.get("MSA-1").unwrap_or_default().to_owned())
}
