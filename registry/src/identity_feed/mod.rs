//! The Document Registry's patient identity feed: ITI-8 Patient Identity Feed (HL7 v2 ADT over
//! MLLP, with ITI-10 ADT^A31 update notifications from a PIX manager) and ITI-44 Patient
//! Identity Feed HL7 V3 (SOAP).
//!
//! The registry keeps only the patient ids of the affinity domain (ITI TF-2a 3.8.4.1.3,
//! ITI TF-2b 3.44.4.1.4): ids of other assigning authorities are ignored, and a message without
//! an affinity-domain id is acknowledged (AA) without changing anything.
//!
//! - [`interpret_v2`] / [`interpret_v3`]: pure translation of a message into a [`FeedEvent`].
//! - [`handle_v2`] / [`handle_v3`]: interpret, apply to a [`PatientStore`], answer with the ACK.
//! - [`serve_mllp`]: the MLLP listener of ITI-8.

mod mllp;
mod v2;
mod v3;

use std::future::Future;

use schemas::hl7v2::message::Delimiters;
use schemas::hl7v2::refusal::MessageError;

pub use mllp::serve_mllp;
pub use v2::{SUPPORTED_VERSIONS, handle_v2, interpret_v2};
pub use v3::{handle_v3, interpret_v3};

/// What a feed message asks of the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    /// ITI-8 A01/A04/A05/A08, ITI-10 A31, ITI-44 add/revise: the affinity-domain patient id is
    /// known (registered or updated).
    Register {
        /// The id as the registry stores it: CX `id^^^&OID&ISO`.
        patient_id: String,
        demographics: Option<Demographics>,
    },
    /// ITI-8 A40, ITI-44 duplicates resolved: `subsumed` is merged into `surviving`.
    Merge { surviving: String, subsumed: String },
    /// Nothing for the registry: no id of the affinity domain in the message.
    Ignored { reason: String },
}

/// The patient's basic demographics as the feed carries them (informative: the registry keys on
/// the patient id only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Demographics {
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    /// Date of birth as sent (HL7 DTM / TS, e.g. `19630804`).
    pub birth_date: Option<String>,
    /// Administrative sex / gender code as sent (e.g. `M`, `F`).
    pub sex: Option<String>,
}

impl Demographics {
    /// `None` when every part is absent.
    fn non_empty(self) -> Option<Demographics> {
        (self != Demographics::default()).then_some(self)
    }
}

/// Why a feed message was refused; each maps to an ACK code and an HL7 table 0357 error.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The header (MSH-9, MSH-12: AR) or the structure (AE 100, 101, 102) of an HL7 v2 message.
    #[error(transparent)]
    V2(#[from] MessageError),
    /// A required HL7 v3 element is absent or null (AE).
    #[error("required element {path} is missing or null")]
    MissingElement { path: &'static str },
}

/// The registry's patient store as the identity feed uses it. Every call is atomic: a merge is
/// one call, so nothing is ever half-applied.
pub trait PatientStore: Send + Sync {
    type Error: std::error::Error + Send + Sync + 'static;

    /// ITI-8/ITI-44 register: the affinity-domain patient id (CX `id^^^&OID&ISO`) is known
    /// from now on. Registering a known id again succeeds (update).
    fn register_patient(
        &self,
        patient_id: &str,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// ITI-8 A40 / ITI-44 merge: `subsumed` is merged into `surviving`.
    fn merge_patients(
        &self,
        subsumed: &str,
        surviving: &str,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Applies `event` to `store`: one store call at most.
async fn apply<S: PatientStore>(event: &FeedEvent, store: &S) -> Result<(), S::Error> {
    match event {
        FeedEvent::Register { patient_id, .. } => store.register_patient(patient_id).await,
        FeedEvent::Merge {
            surviving,
            subsumed,
        } => store.merge_patients(subsumed, surviving).await,
        FeedEvent::Ignored { .. } => Ok(()),
    }
}

/// The CX under which the registry stores an affinity-domain id: `id^^^&OID&ISO`, the id escaped.
fn affinity_cx(id: &str, affinity_domain: &str) -> String {
    let d = Delimiters::default();
    format!("{}^^^&{}&ISO", d.escape(id), d.escape(affinity_domain))
}

/// Counts one answered feed message in `hl7_messages_total{transaction, ack_code}`.
fn count_message(transaction: &'static str, ack_code: &'static str) {
    metrics::counter!(
        "hl7_messages_total",
        "transaction" => transaction,
        "ack_code" => ack_code
    )
    .increment(1);
}

/// The registry's own database is the store the feed writes to.
impl PatientStore for crate::storage::Database {
    type Error = crate::storage::StorageError;

    async fn register_patient(&self, patient_id: &str) -> Result<(), Self::Error> {
        self.upsert_patient(patient_id).await
    }

    async fn merge_patients(&self, subsumed: &str, surviving: &str) -> Result<(), Self::Error> {
        crate::storage::Database::merge_patients(self, subsumed, surviving)
            .await
            .map(|_| ())
    }
}
