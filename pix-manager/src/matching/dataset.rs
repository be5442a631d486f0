//! Linkage datasets as CSV text (records with `rec_id`, optional `domain` and demographic
//! columns; true links as pairs of `rec_id`) and precision/recall of predicted links.

use super::Demographics;
use super::linkage::SourceRecord;
use std::collections::HashSet;

/// A malformed dataset.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("dataset has no header row")]
    Empty,
    #[error("dataset header has no `{0}` column")]
    MissingColumn(&'static str),
    #[error("line {line}: {reason}")]
    Row { line: usize, reason: String },
}

/// Split CSV text into rows (RFC 4180: quoted fields may hold commas, doubled quotes, newlines).
pub fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, DatasetError> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                line += 1;
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(DatasetError::Row {
            line,
            reason: "unterminated quoted field".to_string(),
        });
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows.retain(|r| !(r.len() == 1 && r[0].is_empty()));
    Ok(rows)
}

/// Parse a records CSV: `rec_id` is required; without a `domain` column (or with an empty
/// value) every record is its own domain.
pub fn parse_records(text: &str) -> Result<Vec<SourceRecord>, DatasetError> {
    let rows = parse_csv(text)?;
    let (header, body) = rows.split_first().ok_or(DatasetError::Empty)?;
    let column = |name: &str| header.iter().position(|h| h.trim() == name);
    let rec_id = column("rec_id").ok_or(DatasetError::MissingColumn("rec_id"))?;
    let domain = column("domain");
    let names = [
        "given_name",
        "surname",
        "date_of_birth",
        "sex",
        "street_number",
        "address_1",
        "address_2",
        "suburb",
        "postcode",
        "state",
        "phone_number",
        "soc_sec_id",
    ];
    let columns: Vec<Option<usize>> = names.iter().map(|n| column(n)).collect();
    body.iter()
        .enumerate()
        .map(|(n, row)| {
            let get = |c: Option<usize>| {
                c.and_then(|c| row.get(c))
                    .map(|v| v.trim())
                    .filter(|v| !v.is_empty())
                    .map(str::to_string)
            };
            let id = get(Some(rec_id)).ok_or_else(|| DatasetError::Row {
                line: n + 2,
                reason: "empty rec_id".to_string(),
            })?;
            let v: Vec<Option<String>> = columns.iter().map(|&c| get(c)).collect();
            let mut v = v.into_iter();
            let mut next = || v.next().flatten();
            let demographics = Demographics {
                given_name: next(),
                surname: next(),
                date_of_birth: next(),
                sex: next(),
                street_number: next(),
                address_1: next(),
                address_2: next(),
                suburb: next(),
                postcode: next(),
                state: next(),
                phone_number: next(),
                soc_sec_id: next(),
            };
            Ok(SourceRecord {
                domain: get(domain).unwrap_or_else(|| id.clone()),
                rec_id: id,
                demographics,
            })
        })
        .collect()
}

/// An unordered pair of record ids.
pub type Link = (String, String);

fn ordered(a: &str, b: &str) -> Link {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

/// Parse a links CSV (header row, then two record ids per line) into unordered pairs.
pub fn parse_links(text: &str) -> Result<HashSet<Link>, DatasetError> {
    let rows = parse_csv(text)?;
    rows.iter()
        .enumerate()
        .skip(1)
        .map(|(n, row)| match row.as_slice() {
            [a, b, ..] => Ok(ordered(a.trim(), b.trim())),
            _ => Err(DatasetError::Row {
                line: n + 1,
                reason: "a link needs two record ids".to_string(),
            }),
        })
        .collect()
}

/// Precision, recall and F1 of predicted links against true links.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Accuracy {
    pub true_positives: usize,
    pub false_links: usize,
    pub missed: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Score predicted links (as [`super::linkage::cluster_pairs`] returns them) against the truth.
pub fn accuracy(predicted: &[Link], truth: &HashSet<Link>) -> Accuracy {
    let predicted: HashSet<Link> = predicted
        .iter()
        .filter(|(a, b)| a != b)
        .map(|(a, b)| ordered(a, b))
        .collect();
    let true_positives = predicted.intersection(truth).count();
    let false_links = predicted.len() - true_positives;
    let missed = truth.len() - true_positives;
    let ratio = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 / d as f64 };
    let precision = ratio(true_positives, predicted.len());
    let recall = ratio(true_positives, truth.len());
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    Accuracy {
        true_positives,
        false_links,
        missed,
        precision,
        recall,
        f1,
    }
}
