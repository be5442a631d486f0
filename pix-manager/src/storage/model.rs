//! What the MPI storage hands out.

use serde::Serialize;

use crate::matching::{Decision, Demographics};

/// A patient identifier: the local id within an identifier domain (assigning authority OID).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
pub struct PatientKey {
    pub domain: String,
    pub local_id: String,
}

impl PatientKey {
    pub fn new(domain: impl Into<String>, local_id: impl Into<String>) -> Self {
        PatientKey {
            domain: domain.into(),
            local_id: local_id.into(),
        }
    }
}

/// A person of the affinity domain and every active record linked to it (ITI-9 answer, ITI-10
/// notification content).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonIdentity {
    /// The person's stable affinity-domain id.
    pub affinity_id: String,
    /// Its records, sorted.
    pub records: Vec<PatientKey>,
}

/// A stored record with its person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredRecord {
    #[serde(skip)]
    pub id: i32,
    pub key: PatientKey,
    pub demographics: Demographics,
    /// Affinity-domain id of the record's person.
    pub affinity_id: String,
}

/// What an identity change did: the record's person, every person whose set of records
/// changed (to notify, ITI-10), and the persons it made one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedOutcome {
    pub affinity_id: String,
    pub changed: Vec<PersonIdentity>,
    pub merged: Vec<PersonsMerged>,
}

/// Two persons became one: the `retired` affinity-domain id is no longer used, its records
/// belong to the person of `surviving` (a Document Registry re-points its entries, ITI TF-2a
/// 3.8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonsMerged {
    pub retired: String,
    pub surviving: String,
}

/// A comparison as stored: with the candidate's key, and for the closest NoLink candidate
/// the number of other NoLink candidates (compared, scoring no higher, not stored one by one).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredDecision {
    pub id: i32,
    pub candidate: PatientKey,
    pub decision: Decision,
    pub other_no_links: i64,
}

/// A pending review-queue entry: both records and the field-by-field comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewItem {
    pub id: i32,
    pub record: StoredRecord,
    pub candidate: StoredRecord,
    pub decision: Decision,
}

/// One change of a record's person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    pub action: String,
    pub from_person: Option<String>,
    pub to_person: Option<String>,
    pub reason: String,
    pub at: i64,
}

/// Which records of blocking keys an ITI-21 search reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysHeld {
    /// Those holding any of the keys (every active record when there are none).
    Any,
    /// Those holding every one of the keys (there is at least one).
    Every,
}
