//! ITI-45 PIXV3 Query as answered by the PIX manager (ITI TF-2b 3.45): the identifiers of the
//! queried patient's person in the other domains, optionally only those of the DataSource
//! domains.

use schemas::hl7v3::query::PATIENT_IDENTIFIER_LOCATION;
use schemas::hl7v3::{
    Acknowledgement, AcknowledgementType, IdentifiersQuery, IdentifiersQueryResponse, InstanceId,
    QueryResponseCode, read_identifiers_query,
};
use schemas::xml::{Element, XmlReader};

use super::V3Error;
use crate::manager::PixManager;
use crate::storage::{PatientKey, StorageError};

/// ITI-45: the identifiers of the person of the query's patient identifier, the queried one
/// left out, in the DataSource domains (all when there is none). The identifier's domain may be
/// a source domain or the affinity domain.
///
/// Errors (ITI TF-2b 3.45.4.2.3): no or several patient identifiers (QE); unknown domain of the
/// identifier (case 4), unknown DataSource domains (case 5, one detail each) or unknown
/// identifier (case 3): AE with code 204 at the XPath of the offending value.
pub async fn cross_references(
    query: &IdentifiersQuery,
    manager: &PixManager,
) -> Result<Vec<InstanceId>, V3Error> {
    let patient = match query.patient_identifiers.as_slice() {
        [patient] => patient,
        [] => {
            return Err(V3Error::MissingElement {
                location: PATIENT_IDENTIFIER_LOCATION.to_owned(),
            });
        }
        several => {
            return Err(V3Error::RepeatedPatientIdentifier {
                count: several.len(),
            });
        }
    };
    let local_id = patient
        .extension
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .ok_or_else(|| V3Error::MissingElement {
            location: format!("{PATIENT_IDENTIFIER_LOCATION}/@extension"),
        })?;
    let domain = patient.root.as_str();
    if !manager.answers_domain(domain) {
        return Err(V3Error::UnknownDomain {
            location: PATIENT_IDENTIFIER_LOCATION.to_owned(),
            domain: domain.to_owned(),
        });
    }
    let unknown: Vec<_> = query
        .data_sources
        .iter()
        .filter(|source| !manager.answers_domain(&source.domain))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(V3Error::UnknownDataSources { sources: unknown });
    }
    let person = if domain == manager.affinity_domain {
        manager.db.person_by_affinity_id(local_id).await
    } else {
        manager
            .db
            .person_by_key(&PatientKey::new(domain, local_id))
            .await
    }
    .map_err(V3Error::Storage)?;
    let Some(person) = person else {
        return Err(V3Error::UnknownIdentifier {
            location: PATIENT_IDENTIFIER_LOCATION.to_owned(),
            source: StorageError::UnknownRecord {
                domain: domain.to_owned(),
                local_id: local_id.to_owned(),
            },
        });
    };
    let wanted =
        |d: &str| query.data_sources.is_empty() || query.data_sources.iter().any(|s| s.domain == d);
    let affinity = PatientKey::new(&manager.affinity_domain, person.affinity_id);
    Ok(person
        .records
        .into_iter()
        .chain(std::iter::once(affinity))
        .filter(|k| !(k.domain == domain && k.local_id == local_id) && wanted(&k.domain))
        .map(|k| InstanceId::new(k.domain, Some(&k.local_id)))
        .collect())
}

/// ITI-45: the response to `query`: AA with OK and the identifiers, AA with NF when there is
/// none in the wanted domains, AE (or QE for a bad parameter list) with acknowledgementDetails.
pub async fn answer_query(
    query: IdentifiersQuery,
    manager: &PixManager,
) -> IdentifiersQueryResponse {
    let (type_code, query_response_code, patient_ids, details) =
        match cross_references(&query, manager).await {
            Ok(ids) if ids.is_empty() => (
                AcknowledgementType::AA,
                QueryResponseCode::NF,
                ids,
                Vec::new(),
            ),
            Ok(ids) => (
                AcknowledgementType::AA,
                QueryResponseCode::OK,
                ids,
                Vec::new(),
            ),
            Err(error) => {
                if matches!(error, V3Error::Storage(_)) {
                    tracing::error!(%error, "storage failure");
                } else {
                    tracing::warn!(%error, "PIX query refused");
                }
                let code = match error {
                    V3Error::MissingElement { .. } | V3Error::RepeatedPatientIdentifier { .. } => {
                        QueryResponseCode::QE
                    }
                    _ => QueryResponseCode::AE,
                };
                (AcknowledgementType::AE, code, Vec::new(), error.details())
            }
        };
    IdentifiersQueryResponse {
        acknowledgement: Acknowledgement::addressed(
            query.message_id.as_ref(),
            query.sender_device.as_ref(),
            query.receiver_devices.first(),
            type_code,
            details,
        ),
        query_response_code,
        patient_ids,
        custodian: InstanceId::new(&manager.affinity_domain, None),
        query: Some(query),
    }
}

/// ITI-45: reads the query whose root `start` was just read from `reader` and answers it; an
/// unreadable query is answered AE naming the problem.
pub(super) async fn handle(
    reader: &mut XmlReader<'_>,
    start: &Element<'_>,
    manager: &PixManager,
) -> IdentifiersQueryResponse {
    match read_identifiers_query(reader, start) {
        Ok(query) => answer_query(query, manager).await,
        Err(error) => {
            let error = V3Error::from(error);
            tracing::warn!(%error, "unreadable ITI-45 query");
            IdentifiersQueryResponse {
                acknowledgement: Acknowledgement::unaddressed(
                    AcknowledgementType::AE,
                    error.details(),
                ),
                query_response_code: QueryResponseCode::AE,
                patient_ids: Vec::new(),
                custodian: InstanceId::new(&manager.affinity_domain, None),
                query: None,
            }
        }
    }
}
