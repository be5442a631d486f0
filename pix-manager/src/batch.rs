//! `hie mpi link`: record linkage of a CSV file through the PIX manager. Each row is fed as an
//! ITI-8 ADT^A04 (ER7 built and parsed through [`handle_v2`]) into a fresh MPI in a temporary
//! SQLite database; the output lists every pair of rows that ended up in the same person. The
//! matcher is [`population_model`]: the default model with the given names of the input counted (a given name a letter
//! apart from a common one, or from a nickname of it, and held no more often than keying errors
//! explain is a typo, not a twin: `Model::is_mistyped_given_name`)
//! and its families (a record missing its given name or date of birth may auto-link where the
//! input shows no twin or namesake parent/child it could be: `Model::with_families`).
//!
//! Input columns are found by header: `rec_id` (required), `domain` (absent: each row its own
//! domain), and the [`Demographics`] fields by name; other columns are ignored, empty cells are
//! missing values.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};
use std::path::Path;

use schemas::hl7v2::message::{Delimiters, Message};

use crate::config::Config;
use crate::manager::PixManager;
use crate::matching::linkage::{SourceRecord, population_model};
use crate::matching::{Demographics, Matcher};
use crate::notify::Notifier;
use crate::storage::{Database, StorageError};
use crate::v2::{handle_v2, pid_segment_er7};

/// Why a linkage run failed.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the header has no rec_id column")]
    NoRecId { path: String },
    #[error("{path} line {line}: {reason}")]
    Row {
        path: String,
        line: usize,
        reason: String,
    },
    #[error("temporary MPI: {0}")]
    Storage(#[from] StorageError),
}

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkSummary {
    pub records: usize,
    pub persons: usize,
    pub pairs: usize,
}

/// The demographic columns, by header name.
const FIELDS: &[&str] = &[
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

/// Splits one CSV line (RFC 4180 quoting: `"a,b"`, `""` for a quote).
fn split_csv(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if cell.is_empty() => quoted = true,
            (',', false) => cells.push(std::mem::take(&mut cell)),
            _ => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

fn demographics(cells: &[String], columns: &[Option<usize>]) -> Demographics {
    let get = |i: usize| {
        columns[i]
            .and_then(|c| cells.get(c))
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    Demographics {
        given_name: get(0),
        surname: get(1),
        date_of_birth: get(2),
        sex: get(3),
        street_number: get(4),
        address_1: get(5),
        address_2: get(6),
        suburb: get(7),
        postcode: get(8),
        state: get(9),
        phone_number: get(10),
        soc_sec_id: get(11),
    }
}

/// The ITI-8 ADT^A04 (v2.5) registering `rec_id` of `domain`.
fn a04(n: usize, rec_id: &str, domain: &str, demo: &Demographics) -> String {
    let d = Delimiters::default();
    let pid = pid_segment_er7(&d, &[(rec_id.to_owned(), domain.to_owned())], demo);
    format!(
        "MSH|^~\\&|HIE_MPI_LINK|HIE|HIE_PIX|HIE|20260101000000||ADT^A04^ADT_A01|{n}|P|2.5\rEVN|A04|20260101000000\r{pid}\rPV1||N\r"
    )
}

/// Links the records of `input` and writes the pairs to `output` (`rec_id_1,rec_id_2`).
pub async fn link_csv(input: &Path, output: &Path) -> Result<LinkSummary, BatchError> {
    let in_name = input.display().to_string();
    let io = |path: &str| {
        let path = path.to_owned();
        move |source| BatchError::Io { path, source }
    };
    let file = std::fs::File::open(input).map_err(io(&in_name))?;
    let mut lines = std::io::BufReader::new(file).lines();
    let header = match lines.next() {
        Some(line) => split_csv(line.map_err(io(&in_name))?.trim_start_matches('\u{feff}')),
        None => return Err(BatchError::NoRecId { path: in_name }),
    };
    let position = |name: &str| header.iter().position(|h| h.trim() == name);
    let rec_id_column = position("rec_id").ok_or_else(|| BatchError::NoRecId {
        path: in_name.clone(),
    })?;
    let domain_column = position("domain");
    let columns: Vec<Option<usize>> = FIELDS.iter().map(|f| position(f)).collect();

    let mut lines_of = Vec::new();
    let mut records = Vec::new();
    for (index, line) in lines.enumerate() {
        let line = line.map_err(io(&in_name))?;
        if line.trim().is_empty() {
            continue;
        }
        let cells = split_csv(line.trim_end_matches('\r'));
        let row_error = |reason: &str| BatchError::Row {
            path: in_name.clone(),
            line: index + 2,
            reason: reason.to_owned(),
        };
        let rec_id = cells
            .get(rec_id_column)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| row_error("empty rec_id"))?;
        let domain = domain_column
            .and_then(|c| cells.get(c))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| format!("record.{rec_id}"));
        lines_of.push(index + 2);
        records.push(SourceRecord {
            rec_id,
            domain,
            demographics: demographics(&cells, &columns),
        });
    }

    let dir = tempfile::tempdir().map_err(io("temporary directory"))?;
    let db = Database::connect_throwaway(&dir.path().join("mpi.db")).await?;
    let config = Config {
        domains: records
            .iter()
            .map(|r| r.domain.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        subscribers: Vec::new(),
        ..Config::default()
    };
    let matcher = Matcher::new(population_model(&records));
    let manager = PixManager::new(db, matcher, &config, Notifier::none());
    let mut rec_ids = BTreeMap::new();
    for (n, (line, record)) in lines_of.iter().zip(&records).enumerate() {
        let SourceRecord {
            rec_id,
            domain,
            demographics,
        } = record;
        let answer = handle_v2(a04(n, rec_id, domain, demographics).as_bytes(), &manager).await;
        let ack = Message::parse(&answer).map_err(|e| BatchError::Row {
            path: in_name.clone(),
            line: *line,
            reason: format!("unreadable ACK: {e}"),
        })?;
        if ack.get("MSA-1") != Some("AA") {
            return Err(BatchError::Row {
                path: in_name.clone(),
                line: *line,
                reason: format!(
                    "feed refused: {} {}",
                    ack.get("ERR-3").unwrap_or_default(),
                    ack.get("ERR-8").or(ack.get("MSA-3")).unwrap_or_default()
                ),
            });
        }
        rec_ids.insert((domain.clone(), rec_id.clone()), rec_id.clone());
    }

    let mut persons: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (person, key) in manager.db.all_links().await? {
        if let Some(rec_id) = rec_ids.get(&(key.domain, key.local_id)) {
            persons.entry(person).or_default().push(rec_id.clone());
        }
    }
    let out_name = output.display().to_string();
    let file = std::fs::File::create(output).map_err(io(&out_name))?;
    let mut out = std::io::BufWriter::new(file);
    writeln!(out, "rec_id_1,rec_id_2").map_err(io(&out_name))?;
    let mut pairs = 0;
    for members in persons.values() {
        for (i, a) in members.iter().enumerate() {
            for b in &members[i + 1..] {
                writeln!(out, "{},{}", csv_cell(a), csv_cell(b)).map_err(io(&out_name))?;
                pairs += 1;
            }
        }
    }
    out.flush().map_err(io(&out_name))?;
    Ok(LinkSummary {
        records: records.len(),
        persons: persons.len(),
        pairs,
    })
}

/// A CSV cell, quoted when it holds a comma, quote or line break.
fn csv_cell(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting_follows_rfc_4180() {
        assert_eq!(
            split_csv(r#"a,"b,c","d""e",,f"#),
            ["a", "b,c", "d\"e", "", "f"]
        );
        assert_eq!(csv_cell("x,y"), "\"x,y\"");
    }

    /// Exact duplicates end up in one person, a different person stays alone; columns are found
    /// by header, unknown ones ignored.
    #[tokio::test]
    async fn link_writes_the_pairs_of_each_person() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("records.csv");
        let output = dir.path().join("links.csv");
        std::fs::write(
            &input,
            "surname,rec_id,given_name,date_of_birth,note\n\
             moore,r1,alice,19700312,x\n\
             nakamura,r2,bob,19851120,\n\
             moore,r3,alice,19700312,\"a, b\"\n",
        )
        .unwrap();
        let summary = link_csv(&input, &output).await.unwrap();
        assert_eq!(summary.records, 3);
        assert_eq!(summary.pairs, 1);
        assert_eq!(
            std::fs::read_to_string(&output).unwrap(),
            "rec_id_1,rec_id_2\nr1,r3\n"
        );
    }

    /// A file without rec_id is refused.
    #[tokio::test]
    async fn link_requires_a_rec_id_column() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("records.csv");
        std::fs::write(&input, "id,surname\n1,moore\n").unwrap();
        let error = link_csv(&input, &dir.path().join("out.csv"))
            .await
            .unwrap_err();
        assert!(matches!(error, BatchError::NoRecId { .. }));
    }
}
