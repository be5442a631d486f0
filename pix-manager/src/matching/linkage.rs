//! The PIX Manager's incremental linking loop, in memory: each incoming record is compared with
//! the stored records sharing a blocking key and joins the person of the best AutoLink candidate
//! (never a person that already holds a record of the same domain); the persons of its other
//! AutoLink candidates join that person too when no guard stands between their records (a
//! bridge). Used to evaluate accuracy.

use super::{Demographics, Matcher, Model, Prepared, Zone, blocking_keys};
use std::collections::HashMap;

/// A source record: id, patient-ID domain and demographics.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    pub rec_id: String,
    pub domain: String,
    pub demographics: Demographics,
}

/// The model `hie mpi link` links a records file with: the default, with the records' given
/// names counted (a rare misspelling of a common name is no twin's name) and their families (a
/// record missing its given name or date of birth may auto-link where the population shows no
/// twin or namesake parent/child).
pub fn population_model(records: &[SourceRecord]) -> Model {
    let demographics: Vec<Demographics> = records.iter().map(|r| r.demographics.clone()).collect();
    let families: Vec<(&str, &Demographics)> = records
        .iter()
        .map(|r| (r.domain.as_str(), &r.demographics))
        .collect();
    Model::default()
        .with_given_name_counts(&demographics)
        .with_families(&families)
}

/// Link records in arrival order; returns the person index of every record.
pub fn link_incrementally(records: &[SourceRecord], matcher: &Matcher) -> Vec<usize> {
    let mut index: HashMap<String, Vec<usize>> = HashMap::new();
    let mut prepared: Vec<Prepared> = Vec::with_capacity(records.len());
    let mut person_of: Vec<usize> = Vec::with_capacity(records.len());
    let mut members: Vec<Vec<usize>> = Vec::new();
    let mut seen: Vec<usize> = vec![usize::MAX; records.len()];
    for (i, record) in records.iter().enumerate() {
        let mine = Prepared::new(&record.demographics);
        let keys = blocking_keys(&record.demographics);
        let mut linked: Vec<(usize, f64)> = Vec::new();
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
                if decision.zone == Zone::AutoLink {
                    linked.push((person_of[j], decision.score));
                }
            }
        }
        let holds_domain =
            |members: &[usize], domain: &str| members.iter().any(|&r| records[r].domain == domain);
        let mut joined: Option<usize> = None;
        for person in ranked_persons(linked) {
            if holds_domain(&members[person], &record.domain) {
                continue;
            }
            let Some(target) = joined else {
                joined = Some(person);
                continue;
            };
            let bridge = members[person].iter().all(|&x| {
                !holds_domain(&members[target], &records[x].domain)
                    && members[target].iter().all(|&y| {
                        matcher.may_bridge(
                            (&records[x].domain, &records[x].rec_id, &prepared[x]),
                            (&records[y].domain, &records[y].rec_id, &prepared[y]),
                        )
                    })
            });
            if bridge {
                let moved = std::mem::take(&mut members[person]);
                for &r in &moved {
                    person_of[r] = target;
                }
                members[target].extend(moved);
            }
        }
        let person = joined.unwrap_or_else(|| {
            members.push(Vec::new());
            members.len() - 1
        });
        members[person].push(i);
        person_of.push(person);
        prepared.push(mine);
        for key in keys {
            index.entry(key).or_default().push(i);
        }
    }
    person_of
}

/// The persons of the AutoLink candidates, best score first (each once; ties by person).
pub fn ranked_persons(linked: Vec<(usize, f64)>) -> Vec<usize> {
    let mut best: HashMap<usize, f64> = HashMap::new();
    for (person, score) in linked {
        let entry = best.entry(person).or_insert(score);
        *entry = entry.max(score);
    }
    let mut ranked: Vec<(usize, f64)> = best.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.into_iter().map(|(person, _)| person).collect()
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
