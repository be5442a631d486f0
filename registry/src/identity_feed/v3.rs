//! ITI-44 Patient Identity Feed HL7 V3 as received by the Document Registry (ITI TF-2b 3.44).

use schemas::hl7v3::{
    Acknowledgement, AcknowledgementDetail, AcknowledgementType, Hl7v3Error, InstanceId,
    PatientRegistryInteraction, PatientRegistryMessage, read_patient_registry_message,
};
use schemas::xml::{Element, XmlReader};
use tracing::Instrument;

use super::{Demographics, FeedError, FeedEvent, PatientStore, affinity_cx, apply, count_message};

const PATIENT_ID: &str = "controlActProcess/subject/registrationEvent/subject1/patient/id";
const PRIOR_REGISTERED_ROLE_ID: &str = "controlActProcess/subject/registrationEvent/replacementOf/\
     priorRegistration/subject1/priorRegisteredRole/id";

/// ITI-44: what an add, revise or duplicates-resolved message asks of the registry. The patient
/// id whose root is `affinity_domain` counts (from `patient/id`, else `asOtherIDs/id`); ids of
/// other domains are ignored (ITI TF-2b 3.44.4.1.4). A merge takes the surviving id from
/// `patient/id` and the subsumed id from `priorRegisteredRole/id` (ITI TF-2b 3.44.4.2.4); one
/// whose surviving or subsumed id lies outside the affinity domain is ignored as a whole.
pub fn interpret_v3(
    msg: &PatientRegistryMessage,
    affinity_domain: &str,
) -> Result<FeedEvent, FeedError> {
    if msg.patient_ids.is_empty() && msg.other_ids.is_empty() {
        return Err(FeedError::MissingElement { path: PATIENT_ID });
    }
    let patient_id = affinity_id(
        msg.patient_ids.iter().chain(&msg.other_ids),
        affinity_domain,
    );
    if msg.interaction == PatientRegistryInteraction::DuplicatesResolved {
        if msg.replaced_ids.is_empty() {
            return Err(FeedError::MissingElement {
                path: PRIOR_REGISTERED_ROLE_ID,
            });
        }
        return Ok(
            match (patient_id, affinity_id(&msg.replaced_ids, affinity_domain)) {
                (Some(surviving), Some(subsumed)) => FeedEvent::Merge {
                    surviving,
                    subsumed,
                },
                (None, _) => ignored("patient/id", affinity_domain),
                (Some(_), None) => ignored("priorRegisteredRole/id", affinity_domain),
            },
        );
    }
    Ok(match patient_id {
        Some(patient_id) => FeedEvent::Register {
            patient_id,
            demographics: Demographics {
                family_name: msg.person.family_name.clone(),
                given_name: msg.person.given_name.clone(),
                birth_date: msg.person.birth_time.clone(),
                sex: msg.person.gender.clone(),
            }
            .non_empty(),
        },
        None => ignored("patient/id", affinity_domain),
    })
}

fn ignored(element: &str, affinity_domain: &str) -> FeedEvent {
    FeedEvent::Ignored {
        reason: format!("{element} holds no identifier of the affinity domain {affinity_domain}"),
    }
}

fn affinity_id<'i>(
    ids: impl IntoIterator<Item = &'i InstanceId>,
    affinity_domain: &str,
) -> Option<String> {
    ids.into_iter().find_map(|id| {
        let extension = id.extension.as_deref()?;
        (id.root == affinity_domain).then(|| affinity_cx(extension, affinity_domain))
    })
}

/// ITI-44: reads the message whose root `start` was just read from `reader` (the first child of
/// the SOAP Body), applies it to `store` and returns the `MCCI_IN000002UV01` acknowledgement to
/// put in the response Body (action `urn:hl7-org:v3:MCCI_IN000002UV01`).
///
/// AA when applied or ignored (no affinity-domain id); AE with an acknowledgementDetail when the
/// message is unreadable or lacks a required id; AE with detail code `INTERR` when the store
/// fails; AR for a body that is not an ITI-44 interaction.
pub async fn handle_v3<S: PatientStore>(
    reader: &mut XmlReader<'_>,
    start: &Element<'_>,
    store: &S,
    affinity_domain: &str,
) -> String {
    let msg = match read_patient_registry_message(reader, start) {
        Ok(msg) => msg,
        Err(error) => {
            tracing::warn!(transaction = "ITI-44", %error, "unreadable HL7 v3 message");
            let code = match error {
                Hl7v3Error::UnsupportedInteraction { .. } => AcknowledgementType::AR,
                Hl7v3Error::Xml(_) => AcknowledgementType::AE,
            };
            count_message("ITI-44", code.code());
            return Acknowledgement::unaddressed(code, vec![detail(None, &error)]).to_xml();
        }
    };
    let message_id = msg
        .message_id
        .as_ref()
        .map(|id| {
            format!(
                "{}^{}",
                id.root,
                id.extension.as_deref().unwrap_or_default()
            )
        })
        .unwrap_or_default();
    let span = tracing::info_span!(
        "hl7_message",
        transaction = "ITI-44",
        control_id = message_id,
        interaction = msg.interaction.interaction_id()
    );
    let (code, details) = async {
        match interpret_v3(&msg, affinity_domain) {
            Err(error) => {
                tracing::warn!(%error, "identity feed message refused");
                (AcknowledgementType::AE, vec![detail(None, &error)])
            }
            Ok(event) => match apply(&event, store).await {
                Ok(()) => {
                    tracing::info!(?event, "identity feed message applied");
                    (AcknowledgementType::AA, Vec::new())
                }
                Err(error) => {
                    tracing::error!(%error, ?event, "patient store failed");
                    let text = "the registry could not record the patient identity";
                    (AcknowledgementType::AE, vec![detail(Some("INTERR"), &text)])
                }
            },
        }
    }
    .instrument(span)
    .await;
    count_message("ITI-44", code.code());
    Acknowledgement::answering(&msg, code, details).to_xml()
}

fn detail(code: Option<&str>, text: &dyn std::fmt::Display) -> AcknowledgementDetail {
    AcknowledgementDetail {
        code: code.map(str::to_owned),
        text: text.to_string(),
        location: None,
    }
}
