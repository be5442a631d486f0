//! ITI-9 PIX Query (HL7 v2.5 QBP^Q23 / RSP^K23 over MLLP) as the Patient Identifier
//! Cross-reference Consumer: the affinity-domain identifier of a study's local Patient ID; and
//! ITI-21 Patient Demographics Query (QBP^Q22 / RSP^K22) as the Patient Demographics Consumer:
//! the local record (name, birth date, sex) of a local Patient ID, for import reconciliation.

use std::time::Duration;

use schemas::hl7v2::message::{Delimiters, Hl7Error, Message, Segment};
use schemas::hl7v2::mllp::{MllpError, MllpReader, write_frame};
use schemas::hl7v2::{Cx, Hd, is_oid, utc_now};
use tokio::net::TcpStream;
use tracing::Instrument;

use crate::kos::AffinityPatient;

/// Why there is no affinity-domain identifier.
#[derive(Debug, thiserror::Error)]
pub enum PixError {
    /// The PIX Manager does not know the patient (or its assigning authority): AE with ERR.
    #[error("PIX Manager does not know patient {patient}: {reason}")]
    UnknownPatient { patient: String, reason: String },
    /// The patient is known but has no identifier in the affinity domain (QAK-2 NF).
    #[error("patient {patient} has no identifier in the affinity domain {domain}")]
    NotInDomain { patient: String, domain: String },
    /// The local identifier cannot be queried (no OID issuer, empty id).
    #[error("patient {patient} cannot be queried: {reason}")]
    InvalidQuery { patient: String, reason: String },
    /// The PIX Manager rejected the query or answered something else.
    #[error("PIX Manager {address} answered {reason}")]
    Rejected { address: String, reason: String },
    /// No connection, timeout, framing error.
    #[error("PIX Manager {address} not available: {reason}")]
    Unavailable { address: String, reason: String },
}

/// The querying and receiving applications (MSH-3..6).
#[derive(Debug, Clone)]
pub struct PixClient {
    /// `host:port` of the PIX Manager's MLLP listener.
    pub address: String,
    /// MSH-3 sending application.
    pub sending_application: String,
    /// MSH-4 sending facility.
    pub sending_facility: String,
    /// MSH-5 receiving application.
    pub receiving_application: String,
    /// MSH-6 receiving facility.
    pub receiving_facility: String,
    /// Timeout of the whole exchange.
    pub timeout: Duration,
}

impl PixClient {
    /// A client of the PIX Manager at `address` with default application names.
    pub fn new(address: impl Into<String>) -> Self {
        PixClient {
            address: address.into(),
            sending_application: "HIE_IDS".to_owned(),
            sending_facility: "HIE".to_owned(),
            receiving_application: "PIX_MANAGER".to_owned(),
            receiving_facility: "HIE".to_owned(),
            timeout: Duration::from_secs(10),
        }
    }

    /// ITI-9: the identifier of the patient `local_id` (issued by `local_issuer_oid`) in the
    /// affinity domain `domain_oid`.
    pub async fn affinity_id(
        &self,
        local_id: &str,
        local_issuer_oid: &str,
        domain_oid: &str,
    ) -> Result<AffinityPatient, PixError> {
        let span = tracing::info_span!("ITI-9", patient = local_id);
        self.query(local_id, local_issuer_oid, domain_oid)
            .instrument(span)
            .await
    }

    async fn query(
        &self,
        local_id: &str,
        local_issuer_oid: &str,
        domain_oid: &str,
    ) -> Result<AffinityPatient, PixError> {
        let patient = queryable(local_id, local_issuer_oid)?;
        let query_tag = uuid::Uuid::new_v4().simple().to_string();
        let request = self.query_message(&patient, domain_oid, &query_tag);
        let answer = self.ask(&patient, request).await?;
        interpret_response(&answer, &patient, domain_oid, &self.address)
    }

    /// QBP^Q23 (ITI TF-2a 3.9.4.1.2).
    fn query_message(
        &self,
        patient: &str,
        domain_oid: &str,
        tag: &str,
    ) -> Result<Message, Hl7Error> {
        let mut what_domains = Cx::default();
        what_domains.assigning_authority = Hd::iso(domain_oid);
        self.header("QBP^Q23^QBP_Q21")
            .segment("QPD")
            .field_er7(1, "IHE PIX Query")
            .field(2, tag)
            .field_er7(3, patient)
            .field_er7(4, &what_domains.to_string())
            .segment("RCP")
            .field(1, "I")
            .build()
    }

    /// ITI-21 Patient Demographics Query by identifier: the record of `local_id` issued by
    /// `issuer_oid` (QPD-3 `@PID.3.1` and `@PID.3.4.2`).
    pub async fn demographics(
        &self,
        local_id: &str,
        issuer_oid: &str,
    ) -> Result<DemographicsRecord, PixError> {
        let span = tracing::info_span!("ITI-21", patient = local_id);
        async {
            let patient = queryable(local_id, issuer_oid)?;
            let d = Delimiters::default();
            let parameters = format!(
                "@PID.3.1^{}~@PID.3.4.2^{}",
                d.escape(local_id),
                d.escape(issuer_oid)
            );
            let request = self
                .header("QBP^Q22^QBP_Q21")
                .segment("QPD")
                .field_er7(1, "IHE PDQ Query")
                .field(2, &uuid::Uuid::new_v4().simple().to_string())
                .field_er7(3, &parameters)
                .segment("RCP")
                .field(1, "I")
                .build();
            let answer = self.ask(&patient, request).await?;
            interpret_demographics(&answer, &patient, local_id, issuer_oid, &self.address)
        }
        .instrument(span)
        .await
    }

    /// ITI-21 Patient Demographics Query by name and date of birth (QPD-3 `@PID.5.1`,
    /// `@PID.5.2`, `@PID.7`): every record the PIX Manager matches, best first.
    pub async fn search_demographics(
        &self,
        family: &str,
        given: Option<&str>,
        birth_date: Option<&str>,
    ) -> Result<Vec<DemographicsMatch>, PixError> {
        let span = tracing::info_span!("ITI-21", family);
        async {
            let d = Delimiters::default();
            let mut parameters = vec![format!("@PID.5.1^{}", d.escape(family))];
            parameters.extend(given.map(|g| format!("@PID.5.2^{}", d.escape(g))));
            parameters.extend(birth_date.map(|b| format!("@PID.7^{}", d.escape(b))));
            let request = self
                .header("QBP^Q22^QBP_Q21")
                .segment("QPD")
                .field_er7(1, "IHE PDQ Query")
                .field(2, &uuid::Uuid::new_v4().simple().to_string())
                .field_er7(3, &parameters.join("~"))
                .segment("RCP")
                .field(1, "I")
                .build();
            let answer = self.ask(family, request).await?;
            interpret_search(&answer, &self.address)
        }
        .instrument(span)
        .await
    }

    /// MSH of a query with this MSH-9.
    fn header(&self, message_type: &str) -> schemas::hl7v2::message::MessageBuilder {
        Message::builder()
            .field(3, &self.sending_application)
            .field(4, &self.sending_facility)
            .field(5, &self.receiving_application)
            .field(6, &self.receiving_facility)
            .field(7, &utc_now())
            .field_er7(9, message_type)
            .field(10, &uuid::Uuid::new_v4().simple().to_string())
            .field(11, "P")
            .field(12, "2.5")
    }

    /// Sends a built query and reads the answer, within the timeout.
    async fn ask(
        &self,
        patient: &str,
        request: Result<Message, Hl7Error>,
    ) -> Result<Message, PixError> {
        let request = request.map_err(|e| PixError::InvalidQuery {
            patient: patient.to_owned(),
            reason: e.to_string(),
        })?;
        tokio::time::timeout(self.timeout, self.exchange(request.encode()))
            .await
            .map_err(|_| self.unavailable(format!("no answer within {:?}", self.timeout)))?
    }

    async fn exchange(&self, request: String) -> Result<Message, PixError> {
        let mut stream = TcpStream::connect(&self.address)
            .await
            .map_err(|e| self.unavailable(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        write_frame(&mut stream, request.as_bytes())
            .await
            .map_err(|e| self.unavailable(e.to_string()))?;
        let mut reader = MllpReader::new(stream);
        let frame = reader
            .next_frame()
            .await
            .map_err(|e: MllpError| self.unavailable(e.to_string()))?
            .ok_or_else(|| self.unavailable("connection closed without an answer".to_owned()))?;
        Message::parse(&frame).map_err(|e| PixError::Rejected {
            address: self.address.clone(),
            reason: format!("an unreadable message: {e}"),
        })
    }

    fn unavailable(&self, reason: String) -> PixError {
        PixError::Unavailable {
            address: self.address.clone(),
            reason,
        }
    }
}

/// Reads RSP^K23 (ITI TF-2a 3.9.4.2): AA/OK with PID-3 in the domain, AA/NF (not in the
/// domain), AE with ERR (unknown patient or domain), anything else a rejection.
pub fn interpret_response(
    answer: &Message,
    patient: &str,
    domain_oid: &str,
    address: &str,
) -> Result<AffinityPatient, PixError> {
    let ack = answer.get("MSA-1").unwrap_or_default();
    let status = answer.get("QAK-2").unwrap_or_default();
    let rejected = |reason: String| PixError::Rejected {
        address: address.to_owned(),
        reason,
    };
    match (ack, status) {
        ("AA", "OK") => {
            let pid3 = answer
                .segment("PID")
                .and_then(|s| s.field(3))
                .ok_or_else(|| rejected("OK without PID-3".to_owned()))?;
            pid3.repetitions()
                .iter()
                .find(|r| {
                    r.component(4)
                        .and_then(|c| c.subcomponent(2))
                        .is_some_and(|oid| oid == domain_oid)
                })
                .map(|r| AffinityPatient {
                    id: r.value(1).to_owned(),
                    assigning_authority: domain_oid.to_owned(),
                })
                .filter(|p| !p.id.is_empty())
                .ok_or_else(|| PixError::NotInDomain {
                    patient: patient.to_owned(),
                    domain: domain_oid.to_owned(),
                })
        }
        ("AA", "NF") => Err(PixError::NotInDomain {
            patient: patient.to_owned(),
            domain: domain_oid.to_owned(),
        }),
        ("AE", _) => Err(PixError::UnknownPatient {
            patient: patient.to_owned(),
            reason: format!(
                "ERR {} {}",
                answer.get("ERR-3").unwrap_or_default(),
                answer.get("ERR-8").unwrap_or_default()
            )
            .trim()
            .to_owned(),
        }),
        (ack, status) => Err(rejected(format!(
            "MSA-1 {ack:?} QAK-2 {status:?} ({})",
            answer.get("MSA-3").unwrap_or_default()
        ))),
    }
}

/// The CX of a local identifier that can be queried: an id and an ISO OID issuer.
fn queryable(local_id: &str, issuer_oid: &str) -> Result<String, PixError> {
    let patient = Cx::patient_id(local_id, issuer_oid).to_string();
    if local_id.is_empty() || !is_oid(issuer_oid) {
        return Err(PixError::InvalidQuery {
            patient,
            reason: "a Patient ID and an ISO OID assigning authority are required".to_owned(),
        });
    }
    Ok(patient)
}

/// A patient's record as ITI-21 answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemographicsRecord {
    /// PID-5 family and given name as a DICOM PN (`family^given`).
    pub name: Option<String>,
    /// PID-7 date of birth, `YYYYMMDD`.
    pub birth_date: Option<String>,
    /// PID-8 administrative sex.
    pub sex: Option<String>,
}

/// Reads RSP^K22 (ITI TF-2a 3.21.4.2): AA/OK with the PID whose PID-3 is the queried
/// identifier; AA/NF or AE is an unknown patient; anything else a rejection.
pub fn interpret_demographics(
    answer: &Message,
    patient: &str,
    local_id: &str,
    issuer_oid: &str,
    address: &str,
) -> Result<DemographicsRecord, PixError> {
    let unknown = |reason: String| PixError::UnknownPatient {
        patient: patient.to_owned(),
        reason,
    };
    let ack = answer.get("MSA-1").unwrap_or_default();
    let status = answer.get("QAK-2").unwrap_or_default();
    match (ack, status) {
        ("AA", "OK") => {}
        ("AA", "NF") => return Err(unknown("no record (QAK-2 NF)".to_owned())),
        ("AE", _) => {
            return Err(unknown(format!(
                "ERR {} {}",
                answer.get("ERR-3").unwrap_or_default(),
                answer.get("ERR-8").unwrap_or_default()
            )));
        }
        (ack, status) => {
            return Err(PixError::Rejected {
                address: address.to_owned(),
                reason: format!("MSA-1 {ack:?} QAK-2 {status:?}"),
            });
        }
    }
    let pid = answer
        .segments("PID")
        .find(|pid| {
            pid.field(3).is_some_and(|ids| {
                ids.repetitions().iter().any(|r| {
                    r.value(1) == local_id
                        && r.component(4)
                            .and_then(|c| c.subcomponent(2))
                            .is_some_and(|oid| oid == issuer_oid)
                })
            })
        })
        .ok_or_else(|| unknown("no PID with the queried identifier in the answer".to_owned()))?;
    Ok(record_of(pid))
}

/// The demographics of one PID segment.
fn record_of(pid: &Segment) -> DemographicsRecord {
    let field = |n: usize, component: usize| {
        pid.field(n)
            .and_then(|f| {
                f.repetitions()
                    .first()
                    .map(|r| r.value(component).trim().to_owned())
            })
            .filter(|v| !v.is_empty())
    };
    let name = match (field(5, 1), field(5, 2)) {
        (None, None) => None,
        (family, given) => Some(format!(
            "{}^{}",
            family.unwrap_or_default(),
            given.unwrap_or_default()
        )),
    };
    DemographicsRecord {
        name,
        birth_date: field(7, 1).map(|d| d.chars().take(8).collect()),
        sex: field(8, 1),
    }
}

/// A record an ITI-21 demographics search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemographicsMatch {
    /// PID-3: each identifier with its assigning authority OID.
    pub identifiers: Vec<(String, String)>,
    /// Its demographics.
    pub record: DemographicsRecord,
}

/// Reads RSP^K22 of a demographics search: AA/OK with one PID per record (in the manager's
/// ranking), AA/NF none; anything else (AE/AR) a rejection.
pub fn interpret_search(
    answer: &Message,
    address: &str,
) -> Result<Vec<DemographicsMatch>, PixError> {
    match (
        answer.get("MSA-1").unwrap_or_default(),
        answer.get("QAK-2").unwrap_or_default(),
    ) {
        ("AA", "OK") => {}
        ("AA", "NF") => return Ok(Vec::new()),
        (ack, status) => {
            return Err(PixError::Rejected {
                address: address.to_owned(),
                reason: format!(
                    "MSA-1 {ack:?} QAK-2 {status:?} {}",
                    answer.get("ERR-8").unwrap_or_default()
                ),
            });
        }
    }
    Ok(answer
        .segments("PID")
        .map(|pid| DemographicsMatch {
            identifiers: pid
                .field(3)
                .map(|ids| {
                    ids.repetitions()
                        .iter()
                        .map(|r| {
                            let oid = r.component(4).and_then(|c| c.subcomponent(2));
                            (r.value(1).to_owned(), oid.unwrap_or_default().to_owned())
                        })
                        .collect()
                })
                .unwrap_or_default(),
            record: record_of(pid),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOMAIN: &str = "1.3.6.1.4.1.21367.2005.13.20.1000";

    fn parse(er7: &str) -> Message {
        Message::parse(er7.replace('\n', "\r").as_bytes()).unwrap()
    }

    #[test]
    fn query_is_qbp_q23_with_the_local_id_and_the_domain() {
        let client = PixClient::new("127.0.0.1:1");
        let message = client
            .query_message("PAT-1^^^&1.2.3&ISO", DOMAIN, "q1")
            .unwrap();
        let parsed = Message::parse(message.encode().as_bytes()).unwrap();
        assert_eq!(parsed.get("MSH-9.1"), Some("QBP"));
        assert_eq!(parsed.get("MSH-9.2"), Some("Q23"));
        assert_eq!(parsed.get("QPD-1"), Some("IHE PIX Query"));
        assert_eq!(parsed.get("QPD-3.1"), Some("PAT-1"));
        assert_eq!(parsed.get("QPD-3.4.2"), Some("1.2.3"));
        assert_eq!(parsed.get("QPD-4.4.2"), Some(DOMAIN));
        assert_eq!(parsed.get("RCP-1"), Some("I"));
    }

    #[test]
    fn demographics_search_refused_by_the_manager_is_a_rejection() {
        let answer = parse(
            "MSH|^~\\&|PIX|HIE|IDS|HIE|20261102||RSP^K22^RSP_K21|1|P|2.5\nMSA|AE|x\nERR||QPD^1^3|113^Unsupported|E||||unknown parameter\nQAK|q1|AE",
        );
        let err = interpret_search(&answer, "pix").unwrap_err();
        assert!(matches!(err, PixError::Rejected { .. }), "{err}");
    }

    #[test]
    fn ok_answer_gives_the_id_in_the_domain() {
        let answer = parse(&format!(
            "MSH|^~\\&|PIX|HIE|IDS|HIE|20261102||RSP^K23^RSP_K23|1|P|2.5\nMSA|AA|x\nQAK|q1|OK\nQPD|IHE PIX Query|q1|PAT-1^^^&1.2.3&ISO\nPID|||OTHER^^^&9.9&ISO~IHE-7^^^&{DOMAIN}&ISO||~^^^^^^S"
        ));
        let p = interpret_response(&answer, "PAT-1", DOMAIN, "pix").unwrap();
        assert_eq!(p.id, "IHE-7");
        assert_eq!(p.assigning_authority, DOMAIN);
    }

    #[test]
    fn ae_answer_is_unknown_patient() {
        let answer = parse(
            "MSH|^~\\&|PIX|HIE|IDS|HIE|20261102||RSP^K23^RSP_K23|1|P|2.5\nMSA|AE|x\nERR||QPD^1^3^1^1|204^Unknown Key Identifier^HL70357|E\nQAK|q1|AE",
        );
        assert!(matches!(
            interpret_response(&answer, "PAT-1", DOMAIN, "pix"),
            Err(PixError::UnknownPatient { .. })
        ));
    }

    #[test]
    fn nf_answer_is_not_in_domain() {
        let answer = parse(
            "MSH|^~\\&|PIX|HIE|IDS|HIE|20261102||RSP^K23^RSP_K23|1|P|2.5\nMSA|AA|x\nQAK|q1|NF",
        );
        assert!(matches!(
            interpret_response(&answer, "PAT-1", DOMAIN, "pix"),
            Err(PixError::NotInDomain { .. })
        ));
    }

    #[test]
    fn pdq_query_is_qbp_q22_by_identifier() {
        let client = PixClient::new("127.0.0.1:1");
        let message = client
            .header("QBP^Q22^QBP_Q21")
            .segment("QPD")
            .field_er7(3, "@PID.3.1^LOCAL-7~@PID.3.4.2^1.2.3")
            .build()
            .unwrap();
        let parsed = Message::parse(message.encode().as_bytes()).unwrap();
        assert_eq!(parsed.get("MSH-9.2"), Some("Q22"));
        assert_eq!(parsed.get("QPD-3(2).2"), Some("1.2.3"));
    }

    #[test]
    fn pdq_ok_answer_gives_the_local_demographics() {
        let answer = parse(
            "MSH|^~\\&|PIX|HIE|IDS|HIE|20261102||RSP^K22^RSP_K22|1|P|2.5\nMSA|AA|x\nQAK|q1|OK\nQPD|IHE PDQ Query|q1\nPID|||LOCAL-7^^^&1.2.3&ISO||Martin^Claire||19800214|F\nQRI|12.000",
        );
        let record = interpret_demographics(&answer, "p", "LOCAL-7", "1.2.3", "pix").unwrap();
        assert_eq!(record.name.as_deref(), Some("Martin^Claire"));
        assert_eq!(record.birth_date.as_deref(), Some("19800214"));
        assert_eq!(record.sex.as_deref(), Some("F"));
    }

    #[test]
    fn pdq_nf_answer_is_unknown_patient() {
        let answer = parse(
            "MSH|^~\\&|PIX|HIE|IDS|HIE|20261102||RSP^K22^RSP_K22|1|P|2.5\nMSA|AA|x\nQAK|q1|NF",
        );
        assert!(matches!(
            interpret_demographics(&answer, "p", "LOCAL-7", "1.2.3", "pix"),
            Err(PixError::UnknownPatient { .. })
        ));
    }

    #[tokio::test]
    async fn local_issuer_must_be_an_oid() {
        let client = PixClient::new("127.0.0.1:1");
        assert!(matches!(
            client.affinity_id("PAT-1", "HOSP", DOMAIN).await,
            Err(PixError::InvalidQuery { .. })
        ));
    }
}
