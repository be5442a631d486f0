//! ITI-9 PIX Query (QBP^Q23 → RSP^K23, ITI TF-2a 3.9) and ITI-21 Patient Demographics Query
//! (QBP^Q22 → RSP^K22, ITI TF-2a 3.21) as answered by the PIX manager.

use std::collections::BTreeSet;

use schemas::hl7v2::message::{AckCode, Delimiters, ErrDetail, Message, Segment, ack};
use schemas::hl7v2::refusal::{MessageError, check_version};

use super::{QUERY_VERSIONS, V2Error, pid_segment_er7};
use crate::manager::PixManager;
use crate::matching::{Candidate, Demographics, blocking_keys};
use crate::storage::{KeysHeld, PatientKey, StorageError, StoredRecord};

/// QAK-2 query response status (HL7 table 0208).
const OK: &str = "OK";
const NOT_FOUND: &str = "NF";
const APPLICATION_ERROR: &str = "AE";

/// ITI-9 / ITI-21: answers a QBP message.
pub(super) async fn handle(msg: &Message, manager: &PixManager) -> Result<Message, V2Error> {
    let (response_event, structure) = match msg.trigger_event() {
        "Q23" => ("K23", "RSP_K23"),
        "Q22" => ("K22", "RSP_K22"),
        other => {
            return Err(MessageError::UnsupportedEvent {
                found: other.to_owned(),
                note: " for QBP",
            }
            .into());
        }
    };
    check_version(msg, QUERY_VERSIONS, "")?;
    let qpd = msg
        .segment("QPD")
        .ok_or(MessageError::MissingSegment { segment: "QPD" })?
        .clone();
    let answer = if response_event == "K23" {
        pix_query(msg, manager).await
    } else {
        demographics_query(msg, manager).await
    };
    let (code, status, error, segments) = match answer {
        Ok(Found(segments)) if segments.is_empty() => (AckCode::AA, NOT_FOUND, None, segments),
        Ok(Found(segments)) => (AckCode::AA, OK, None, segments),
        Err(error @ V2Error::Storage(_)) => return Err(error),
        Err(error) => (
            AckCode::AE,
            APPLICATION_ERROR,
            Some(error.err_detail()),
            Vec::new(),
        ),
    };
    response(
        msg,
        code,
        error.as_ref(),
        (response_event, structure),
        status,
        qpd,
        segments,
    )
}

/// The segments answering a query (none: not found).
struct Found(Vec<String>);

/// The RSP: MSH, MSA, [ERR], QAK, QPD (echoed), then the answer segments.
fn response(
    msg: &Message,
    code: AckCode,
    error: Option<&ErrDetail>,
    (event, structure): (&str, &str),
    status: &str,
    qpd: Segment,
    segments: Vec<String>,
) -> Result<Message, V2Error> {
    let mut rsp = ack(msg, code, error);
    rsp.set("MSH-9.1", "RSP")?;
    rsp.set("MSH-9.2", event)?;
    rsp.set("MSH-9.3", structure)?;
    let d = Delimiters::default();
    let tag = msg.get("QPD-2").unwrap_or_default();
    let mut er7 = format!("MSH|^~\\&\rQAK|{}|{status}\r", d.escape(tag));
    for segment in &segments {
        er7.push_str(segment);
        er7.push('\r');
    }
    let parsed = Message::parse(er7.as_bytes())?;
    let mut rest = parsed.all_segments().iter().skip(1).cloned();
    if let Some(qak) = rest.next() {
        rsp.push_segment(qak);
    }
    rsp.push_segment(qpd);
    for segment in rest {
        rsp.push_segment(segment);
    }
    Ok(rsp)
}

/// The domains of QPD-`field` (what domains returned): each repetition's CX.4.2, every one
/// known to the manager.
fn what_domains_returned(
    msg: &Message,
    field: usize,
    manager: &PixManager,
) -> Result<BTreeSet<String>, V2Error> {
    let mut domains = BTreeSet::new();
    let Some(repetitions) = msg
        .segment("QPD")
        .and_then(|s| s.field(field))
        .map(|f| f.repetitions())
    else {
        return Ok(domains);
    };
    for cx in repetitions {
        let domain = cx
            .component(4)
            .and_then(|a| a.subcomponent(2))
            .unwrap_or_default();
        if domain.is_empty() && cx.value(4).is_empty() {
            continue;
        }
        if !manager.answers_domain(domain) {
            return Err(V2Error::UnknownDomain {
                segment: "QPD",
                field,
                domain: domain.to_owned(),
            });
        }
        domains.insert(domain.to_owned());
    }
    Ok(domains)
}

/// ITI-9: the identifiers of the person of QPD-3 in the requested domains (QPD-4), the queried
/// identifier itself left out. Unknown domain (QPD-3 or QPD-4) or unknown identifier (ITI TF-2a
/// 3.9.4.2.2.6 case 3): AE 204; no identifier in the requested domains (case 2): AA with NF.
async fn pix_query(msg: &Message, manager: &PixManager) -> Result<Found, V2Error> {
    let id = msg.get("QPD-3.1").unwrap_or_default().trim();
    if id.is_empty() {
        return Err(MessageError::MissingField {
            segment: "QPD",
            field: 3,
        }
        .into());
    }
    let domain = msg.get("QPD-3.4.2").unwrap_or_default();
    if !manager.answers_domain(domain) {
        return Err(V2Error::UnknownDomain {
            segment: "QPD",
            field: 3,
            domain: domain.to_owned(),
        });
    }
    let wanted = what_domains_returned(msg, 4, manager)?;
    let person = if domain == manager.affinity_domain {
        manager.db.person_by_affinity_id(id).await
    } else {
        manager.db.person_by_key(&PatientKey::new(domain, id)).await
    }
    .map_err(V2Error::Storage)?;
    let Some(person) = person else {
        return Err(V2Error::UnknownIdentifier {
            segment: "QPD",
            field: 3,
            source: StorageError::UnknownRecord {
                domain: domain.to_owned(),
                local_id: id.to_owned(),
            },
        });
    };
    let mut ids: Vec<(String, String)> = person
        .records
        .into_iter()
        .map(|k| (k.local_id, k.domain))
        .collect();
    ids.push((person.affinity_id, manager.affinity_domain.clone()));
    ids.retain(|(local_id, d)| {
        !(d == domain && local_id == id) && (wanted.is_empty() || wanted.contains(d))
    });
    if ids.is_empty() {
        return Ok(Found(Vec::new()));
    }
    let pid = pid_segment_er7(&Delimiters::default(), &ids, &Demographics::default());
    Ok(Found(vec![pid]))
}

/// The ITI-21 query parameters (QPD-3): demographics to match, and an optional identifier.
#[derive(Debug, Default)]
struct DemographicsQuery {
    demographics: Demographics,
    patient_id: Option<String>,
    patient_domain: Option<String>,
}

fn read_parameters(msg: &Message) -> Result<DemographicsQuery, V2Error> {
    let mut query = DemographicsQuery::default();
    let repetitions = msg
        .segment("QPD")
        .and_then(|s| s.field(3))
        .map(|f| f.repetitions())
        .unwrap_or_default();
    for parameter in repetitions {
        let name = parameter.value(1).trim();
        let value = parameter.value(2).trim().to_owned();
        if name.is_empty() && value.is_empty() {
            continue;
        }
        let d = &mut query.demographics;
        let slot = match name.trim_start_matches('@') {
            "PID.5.1" | "PID.5.1.1" => &mut d.surname,
            "PID.5.2" => &mut d.given_name,
            "PID.7" | "PID.7.1" => &mut d.date_of_birth,
            "PID.8" => &mut d.sex,
            "PID.11.1" | "PID.11.1.1" => &mut d.address_1,
            "PID.11.3" => &mut d.suburb,
            "PID.11.4" => &mut d.state,
            "PID.11.5" => &mut d.postcode,
            "PID.13.1" => &mut d.phone_number,
            "PID.19" => &mut d.soc_sec_id,
            "PID.3.1" => &mut query.patient_id,
            "PID.3.4.2" => &mut query.patient_domain,
            other => {
                return Err(V2Error::UnsupportedParameter {
                    segment: "QPD",
                    field: 3,
                    parameter: other.to_owned(),
                });
            }
        };
        *slot = Some(value);
    }
    if query.demographics == Demographics::default() && query.patient_id.is_none() {
        return Err(MessageError::MissingField {
            segment: "QPD",
            field: 3,
        }
        .into());
    }
    Ok(query)
}

/// Whether `record` agrees with every given query value (case-insensitive; a trailing `*`
/// matches any rest).
fn satisfies(query: &DemographicsQuery, record: &StoredRecord) -> bool {
    let q = &query.demographics;
    let r = &record.demographics;
    let pairs = [
        (&q.surname, &r.surname),
        (&q.given_name, &r.given_name),
        (&q.date_of_birth, &r.date_of_birth),
        (&q.sex, &r.sex),
        (&q.address_1, &r.address_1),
        (&q.suburb, &r.suburb),
        (&q.state, &r.state),
        (&q.postcode, &r.postcode),
        (&q.phone_number, &r.phone_number),
        (&q.soc_sec_id, &r.soc_sec_id),
    ];
    let id_ok = query
        .patient_id
        .as_ref()
        .is_none_or(|id| *id == record.key.local_id)
        && query
            .patient_domain
            .as_ref()
            .is_none_or(|d| *d == record.key.domain);
    id_ok
        && pairs.iter().all(|(want, have)| match (want, have) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(want), Some(have)) => agrees(want, have),
        })
}

/// The query values given exactly (without a trailing `*`). A record agreeing with the query
/// has these values (up to case), so it holds every blocking key made of them: the records
/// holding all those keys are the only candidates, however many share any one of them.
fn exactly_given(demographics: &Demographics) -> Demographics {
    let mut exact = demographics.clone();
    // every field named (no `..`): a field added to `Demographics` must be added here too
    let Demographics {
        given_name,
        surname,
        date_of_birth,
        sex,
        street_number,
        address_1,
        address_2,
        suburb,
        postcode,
        state,
        phone_number,
        soc_sec_id,
    } = &mut exact;
    for value in [
        given_name,
        surname,
        date_of_birth,
        sex,
        street_number,
        address_1,
        address_2,
        suburb,
        postcode,
        state,
        phone_number,
        soc_sec_id,
    ] {
        if value.as_deref().is_some_and(|v| v.ends_with('*')) {
            *value = None;
        }
    }
    exact
}

fn agrees(want: &str, have: &str) -> bool {
    let have = have.to_lowercase();
    match want.strip_suffix('*') {
        Some(prefix) => have.starts_with(&prefix.to_lowercase()),
        None => have == want.to_lowercase(),
    }
}

/// ITI-21: the records agreeing with every query parameter, best match score first, each a PID
/// (its identifier, plus the affinity-domain id when QPD-8 asks for it) and a QRI with the
/// score; QPD-8 (what domains returned) keeps the records of those domains.
async fn demographics_query(msg: &Message, manager: &PixManager) -> Result<Found, V2Error> {
    let query = read_parameters(msg)?;
    let wanted = what_domains_returned(msg, 8, manager)?;
    // An identifier names its records directly; demographics go through the blocking keys.
    let records = match &query.patient_id {
        Some(local_id) => manager
            .db
            .records_by_local_id(local_id, query.patient_domain.as_deref())
            .await
            .map_err(V2Error::Storage)?,
        None => {
            let limit = manager.max_candidates.max(1).saturating_mul(50);
            let required = blocking_keys(&exactly_given(&query.demographics));
            let (keys, held) = if required.is_empty() {
                (blocking_keys(&query.demographics), KeysHeld::Any)
            } else {
                (required, KeysHeld::Every)
            };
            manager
                .db
                .records_for_keys(&keys, held, limit)
                .await
                .map_err(V2Error::Storage)?
        }
    };
    let me = Candidate {
        domain: "",
        local_id: "",
        demographics: &query.demographics,
    };
    let mut ranked: Vec<(f64, StoredRecord)> = records
        .into_iter()
        .filter(|r| satisfies(&query, r))
        .filter(|r| {
            wanted.is_empty()
                || wanted.contains(&r.key.domain)
                || wanted.contains(&manager.affinity_domain)
        })
        .map(|r| {
            let score = manager
                .matcher
                .compare(
                    &me,
                    &Candidate {
                        domain: &r.key.domain,
                        local_id: &r.key.local_id,
                        demographics: &r.demographics,
                    },
                )
                .score;
            (score, r)
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranked.truncate(manager.max_pdq_results);
    let d = Delimiters::default();
    let mut segments = Vec::with_capacity(ranked.len() * 2);
    for (score, record) in ranked {
        let mut ids = Vec::new();
        if wanted.is_empty() || wanted.contains(&record.key.domain) {
            ids.push((record.key.local_id.clone(), record.key.domain.clone()));
        }
        if wanted.contains(&manager.affinity_domain) {
            ids.push((record.affinity_id.clone(), manager.affinity_domain.clone()));
        }
        segments.push(pid_segment_er7(&d, &ids, &record.demographics));
        segments.push(format!("QRI|{score:.3}"));
    }
    Ok(Found(segments))
}
