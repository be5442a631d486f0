//! ITI-44 Patient Identity Feed HL7 V3 as received by the PIX manager (ITI TF-2b 3.44): Record
//! Added and Record Revised register or update a record, Duplicates Resolved merges two.

use schemas::hl7v3::{
    Acknowledgement, AcknowledgementType, InstanceId, PatientRegistryMessage,
    read_patient_registry_message,
};
use schemas::xml::{Element, XmlReader};

use super::V3Error;
use crate::manager::PixManager;
use crate::matching::Demographics;
use crate::storage::PatientKey;
use crate::v2::FeedRequest;

const PATIENT_ID: &str = "hl7:controlActProcess/hl7:subject/hl7:registrationEvent/hl7:subject1/\
     hl7:patient/hl7:id";
const PRIOR_REGISTERED_ROLE_ID: &str = "hl7:controlActProcess/hl7:subject/\
     hl7:registrationEvent/hl7:replacementOf/hl7:priorRegistration/hl7:subject1/\
     hl7:priorRegisteredRole/hl7:id";

/// XPath of `path` (below the root) in a message of `interaction`.
fn location(msg: &PatientRegistryMessage, path: &str) -> String {
    format!("/hl7:{}/{path}", msg.interaction.interaction_id())
}

/// ITI-44: the request a feed message makes. The record is the first `patient/id` with an
/// extension; its root must be a configured source domain. Duplicates Resolved merges the first
/// `priorRegisteredRole/id` (subsumed) into it (surviving).
pub fn interpret_feed(
    msg: &PatientRegistryMessage,
    manager: &PixManager,
) -> Result<FeedRequest, V3Error> {
    let key = identifier(&msg.patient_ids, location(msg, PATIENT_ID), manager)?;
    let demographics = Demographics {
        surname: msg.person.family_name.clone(),
        given_name: msg.person.given_name.clone(),
        date_of_birth: msg
            .person
            .birth_time
            .as_ref()
            .map(|t| t.chars().take(8).collect()),
        sex: msg.person.gender.clone(),
        ..Demographics::default()
    };
    if msg.interaction != schemas::hl7v3::PatientRegistryInteraction::DuplicatesResolved {
        return Ok(FeedRequest::Register { key, demographics });
    }
    let subsumed = identifier(
        &msg.replaced_ids,
        location(msg, PRIOR_REGISTERED_ROLE_ID),
        manager,
    )?;
    Ok(FeedRequest::Merge {
        surviving: key,
        subsumed,
        demographics,
    })
}

/// The first id with an extension, as a key of a configured domain.
fn identifier(
    ids: &[InstanceId],
    location: String,
    manager: &PixManager,
) -> Result<PatientKey, V3Error> {
    let (id, extension) = ids
        .iter()
        .find_map(|id| {
            let extension = id.extension.as_deref()?.trim();
            (!extension.is_empty()).then_some((id, extension))
        })
        .ok_or_else(|| V3Error::MissingElement {
            location: location.clone(),
        })?;
    if !manager.knows_domain(&id.root) {
        return Err(V3Error::UnknownDomain {
            location,
            domain: id.root.clone(),
        });
    }
    Ok(PatientKey::new(&id.root, extension))
}

/// ITI-44: applies the request (one database transaction, then ITI-10).
async fn apply(
    msg: &PatientRegistryMessage,
    request: FeedRequest,
    manager: &PixManager,
) -> Result<String, V3Error> {
    let outcome = match request {
        FeedRequest::Register { key, demographics } => manager
            .feed(&key, &demographics)
            .await
            .map_err(|e| V3Error::from_storage(e, location(msg, PATIENT_ID)))?,
        FeedRequest::Merge {
            surviving,
            subsumed,
            demographics,
        } => manager
            .merge(&surviving, &subsumed, &demographics)
            .await
            .map_err(|error| {
                let path = if error.is_about(&surviving) {
                    PATIENT_ID
                } else {
                    PRIOR_REGISTERED_ROLE_ID
                };
                V3Error::from_storage(error, location(msg, path))
            })?,
    };
    Ok(outcome.affinity_id)
}

/// ITI-44: reads the message whose root `start` was just read from `reader`, applies it and
/// returns the `MCCI_IN000002UV01` acknowledgement: AA when applied; AE with an
/// acknowledgementDetail (code and XPath) when the message is unreadable, lacks an id, names an
/// unknown domain or identifier, or the database fails. Nothing is stored unless AA.
pub(super) async fn handle(
    reader: &mut XmlReader<'_>,
    start: &Element<'_>,
    manager: &PixManager,
) -> Acknowledgement {
    let msg = match read_patient_registry_message(reader, start) {
        Ok(msg) => msg,
        Err(error) => {
            let error = V3Error::from(error);
            tracing::warn!(%error, "unreadable ITI-44 message");
            return Acknowledgement::unaddressed(AcknowledgementType::AE, error.details());
        }
    };
    let outcome = match interpret_feed(&msg, manager) {
        Ok(request) => apply(&msg, request, manager).await,
        Err(error) => Err(error),
    };
    match outcome {
        Ok(affinity_id) => {
            tracing::info!(%affinity_id, "identity feed message applied");
            Acknowledgement::answering(&msg, AcknowledgementType::AA, Vec::new())
        }
        Err(error) => {
            if matches!(error, V3Error::Storage(_)) {
                tracing::error!(%error, "storage failure");
            } else {
                tracing::warn!(%error, "identity feed message refused");
            }
            Acknowledgement::answering(&msg, AcknowledgementType::AE, error.details())
        }
    }
}
