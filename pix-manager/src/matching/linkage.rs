//! The PIX Manager's incremental linking loop, in memory: each incoming record is compared with
//! the stored records sharing a blocking key and joins the person of the best AutoLink candidate
//! (never a person that already holds a record of the same domain). Used to evaluate accuracy.

use super::{Demographics, Matcher, Prepared, Zone, blocking_keys};
use std::collections::HashMap;

/// A source record: id, patient-ID domain and demographics.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    pub rec_id: String,
    pub domain: String,
    pub demographics: Demographics,
}

/// Link records in arrival order; returns the person index of every record.
pub fn link_incrementally(records: &[SourceRecord], matcher: &Matcher) -> Vec<usize> {
    let mut index: HashMap<String, Vec<usize>> = HashMap::new();
    let mut prepared: Vec<Prepared> = Vec::with_capacity(records.len());
    let mut person_of: Vec<usize> = Vec::with_capacity(records.len());
    let mut domains_of_person: Vec<Vec<usize>> = Vec::new();
    let mut seen: Vec<usize> = vec![usize::MAX; records.len()];
    for (i, record) in records.iter().enumerate() {
        let mine = Prepared::new(&record.demographics);
        let keys = blocking_keys(&record.demographics);
        let mut best: Option<(f64, usize)> = None;
        for key in &keys {
            for &j in index.get(key).map(Vec::as_slice).unwrap_or(&[]) {
                if seen[j] == i {
                    continue;
                }
                seen[j] = i;
                let other = &records[j];
                let decision = matcher.compare_prepared(
                    (&record.domain, &record.rec_id, &mine),
                    (&other.domain, &other.rec_id, &prepared[j]),
                );
                let person = person_of[j];
                let domain_taken = domains_of_person[person]
                    .iter()
                    .any(|&r| records[r].domain == record.domain);
                if decision.zone == Zone::AutoLink
                    && !domain_taken
                    && best.is_none_or(|(score, _)| decision.score > score)
                {
                    best = Some((decision.score, person));
                }
            }
        }
        let person = match best {
            Some((_, person)) => person,
            None => {
                domains_of_person.push(Vec::new());
                domains_of_person.len() - 1
            }
        };
        domains_of_person[person].push(i);
        person_of.push(person);
        prepared.push(mine);
        for key in keys {
            index.entry(key).or_default().push(i);
        }
    }
    person_of
}

/// Every pair of record ids within one person (the links an MPI asserts).
pub fn cluster_pairs(records: &[SourceRecord], person_of: &[usize]) -> Vec<(String, String)> {
    let mut members: HashMap<usize, Vec<&str>> = HashMap::new();
    for (record, &person) in records.iter().zip(person_of) {
        members.entry(person).or_default().push(&record.rec_id);
    }
    let mut pairs = Vec::new();
    for ids in members.values() {
        for (x, a) in ids.iter().enumerate() {
            for b in &ids[x + 1..] {
                pairs.push(((*a).to_string(), (*b).to_string()));
            }
        }
    }
    pairs.sort();
    pairs
}
