//! ITI-18 Registry Stored Query as the Imaging Document Consumer: FindDocuments on imaging
//! manifests of a patient, GetDocuments of one entry by uniqueId or entryUUID (LeafClass).

use schemas::constants::{status, stored_query};
use schemas::ebrim::Slot;
use schemas::hl7v2::Cx;
use schemas::xds::DocumentEntry;
use serde::{Deserialize, Serialize};

use super::{ConsumerContext, ConsumerError};
use crate::kos::{AffinityPatient, KOS_SOP_CLASS_UID};
use crate::metadata::{DCM_SCHEME, DICOM_UID_REGISTRY, MANIFEST_MIME_TYPE};
use crate::publish::registry_stored_query;

/// What `find` looks for.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FindQuery {
    /// The patient, CX `id^^^&oid&ISO`: a local id (translated by ITI-9) or an affinity-domain id.
    pub patient: String,
    /// Acquisition modality (eventCodeList, DICOM CID 29 code such as `CT`).
    pub modality: Option<String>,
    /// Studies performed on or after this date (`YYYYMMDD`; serviceStartTimeFrom).
    pub since: Option<String>,
}

/// The manifests found and the patient they were asked for.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    /// The affinity-domain patient id the registry was asked about.
    pub affinity_patient: String,
    /// The Approved manifests, newest study first.
    pub manifests: Vec<FoundManifest>,
}

/// An imaging manifest's DocumentEntry, as the registry describes it.
#[derive(Debug, Clone, Serialize)]
pub struct FoundManifest {
    /// entryUUID (`urn:uuid:…`).
    pub entry_uuid: String,
    /// uniqueId (= the KOS SOP Instance UID).
    pub unique_id: String,
    /// repositoryUniqueId of the repository holding the manifest.
    pub repository_unique_id: Option<String>,
    /// homeCommunityId, when the registry gives one.
    pub home_community_id: Option<String>,
    /// patientId (affinity domain).
    pub patient_id: Option<String>,
    /// title (usually the study description).
    pub title: Option<String>,
    /// serviceStartTime (the study date and time).
    pub service_start_time: Option<String>,
    /// creationTime of the manifest.
    pub creation_time: Option<String>,
    /// Acquisition modalities (eventCodeList codes of the DICOM scheme).
    pub modalities: Vec<String>,
    /// Study Instance UIDs from referenceIdList.
    pub study_instance_uids: Vec<String>,
    /// mimeType.
    pub mime_type: Option<String>,
}

impl FoundManifest {
    fn from_entry(entry: DocumentEntry) -> Self {
        FoundManifest {
            study_instance_uids: entry
                .reference_ids
                .iter()
                .filter(|r| r.ends_with(STUDY_UID_ID_TYPE))
                .filter_map(|r| r.split('^').next())
                .map(str::to_owned)
                .collect(),
            modalities: entry
                .event_codes
                .iter()
                .filter(|c| c.coding_scheme == DCM_SCHEME)
                .map(|c| c.code.clone())
                .collect(),
            title: entry
                .title
                .as_ref()
                .and_then(|t| t.first())
                .map(str::to_owned),
            patient_id: entry.patient_id.map(|p| p.value),
            entry_uuid: entry.entry_uuid,
            unique_id: entry.unique_id.value,
            repository_unique_id: entry.repository_unique_id,
            home_community_id: entry.home_community_id,
            service_start_time: entry.service_start_time,
            creation_time: entry.creation_time,
            mime_type: entry.mime_type,
        }
    }
}

/// CXi identifier type of a Study Instance UID in referenceIdList.
const STUDY_UID_ID_TYPE: &str = "urn:ihe:iti:xds:2016:studyInstanceUID";

/// FindDocuments for `query`, the patient resolved first (ITI-9 unless already in the affinity
/// domain); entries that are not KOS manifests in application/dicom are left out.
pub(super) async fn find_manifests(
    ctx: &ConsumerContext,
    query: &FindQuery,
) -> Result<Found, ConsumerError> {
    let modality = query.modality.as_deref().map(check_modality).transpose()?;
    let since = query.since.as_deref().map(check_since).transpose()?;
    let patient = affinity_patient(ctx, &query.patient).await?;
    let quote = |v: &str| format!("'{}'", v.replace('\'', "''"));
    let mut slots = vec![
        Slot::new("$XDSDocumentEntryPatientId", [quote(&patient.to_cx())]),
        Slot::new(
            "$XDSDocumentEntryStatus",
            [format!("({})", quote(status::APPROVED))],
        ),
        Slot::new(
            "$XDSDocumentEntryFormatCode",
            [format!(
                "({})",
                quote(&format!("{KOS_SOP_CLASS_UID}^^{DICOM_UID_REGISTRY}"))
            )],
        ),
    ];
    if let Some(modality) = modality {
        slots.push(Slot::new(
            "$XDSDocumentEntryEventCodeList",
            [format!("({})", quote(&format!("{modality}^^{DCM_SCHEME}")))],
        ));
    }
    if let Some(since) = since {
        slots.push(Slot::new("$XDSDocumentEntryServiceStartTimeFrom", [since]));
    }
    let entries = stored_query(ctx, stored_query::FIND_DOCUMENTS, slots).await?;
    let mut manifests: Vec<FoundManifest> = entries
        .into_iter()
        .filter(|e| is_manifest(e).is_ok())
        .map(FoundManifest::from_entry)
        .collect();
    manifests.sort_by(|a, b| b.service_start_time.cmp(&a.service_start_time));
    Ok(Found {
        affinity_patient: patient.to_cx(),
        manifests,
    })
}

/// GetDocuments of one entry, by entryUUID (`urn:uuid:…`) or uniqueId; it must be a manifest.
pub(super) async fn get_manifest_entry(
    ctx: &ConsumerContext,
    entry: &str,
) -> Result<FoundManifest, ConsumerError> {
    let entry = entry.trim();
    if entry.is_empty() || entry.len() > 128 || entry.chars().any(|c| c.is_control()) {
        return Err(ConsumerError::InvalidParameter {
            parameter: "ENTRY",
            value: entry.to_owned(),
            reason: "a DocumentEntry uniqueId or entryUUID (urn:uuid:…) is expected".to_owned(),
        });
    }
    let parameter = if entry.starts_with("urn:uuid:") {
        "$XDSDocumentEntryEntryUUID"
    } else {
        "$XDSDocumentEntryUniqueId"
    };
    let slots = vec![Slot::new(
        parameter,
        [format!("('{}')", entry.replace('\'', "''"))],
    )];
    let entries = stored_query(ctx, stored_query::GET_DOCUMENTS, slots).await?;
    let found = entries
        .into_iter()
        .max_by(|a, b| {
            (a.availability_status.as_deref() == Some(status::APPROVED))
                .cmp(&(b.availability_status.as_deref() == Some(status::APPROVED)))
        })
        .ok_or_else(|| ConsumerError::UnknownEntry {
            entry: entry.to_owned(),
        })?;
    is_manifest(&found).map_err(|reason| ConsumerError::NotAManifest {
        entry: entry.to_owned(),
        reason,
    })?;
    Ok(FoundManifest::from_entry(found))
}

/// An imaging manifest: formatCode KOS, mimeType application/dicom.
fn is_manifest(entry: &DocumentEntry) -> Result<(), String> {
    let format = entry.format_code.as_ref().map(|c| c.code.as_str());
    if format != Some(KOS_SOP_CLASS_UID) {
        return Err(format!(
            "formatCode {format:?} is not {KOS_SOP_CLASS_UID} (Key Object Selection)"
        ));
    }
    if entry.mime_type.as_deref() != Some(MANIFEST_MIME_TYPE) {
        return Err(format!(
            "mimeType {:?} is not {MANIFEST_MIME_TYPE}",
            entry.mime_type
        ));
    }
    Ok(())
}

/// The affinity-domain patient of `patient`: itself when issued by the affinity domain, else
/// the identifier ITI-9 gives.
async fn affinity_patient(
    ctx: &ConsumerContext,
    patient: &str,
) -> Result<AffinityPatient, ConsumerError> {
    let invalid = |reason: String| ConsumerError::InvalidPatient {
        patient: patient.to_owned(),
        reason,
    };
    let cx = Cx::parse_patient_id(patient).map_err(|e| invalid(e.to_string()))?;
    let authority = cx.assigning_authority.universal_id;
    if authority == ctx.config.affinity_domain {
        return Ok(AffinityPatient {
            id: cx.id,
            assigning_authority: authority,
        });
    }
    Ok(ctx
        .pix
        .affinity_id(&cx.id, &authority, &ctx.config.affinity_domain)
        .await?)
}

fn check_modality(value: &str) -> Result<String, ConsumerError> {
    let valid = !value.is_empty()
        && value.len() <= 16
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(value.to_ascii_uppercase())
    } else {
        Err(ConsumerError::InvalidParameter {
            parameter: "modality",
            value: value.to_owned(),
            reason: "a DICOM modality code (CT, MR, …) is expected".to_owned(),
        })
    }
}

fn check_since(value: &str) -> Result<String, ConsumerError> {
    let digits = value.chars().all(|c| c.is_ascii_digit());
    let month_day = value
        .get(4..6)
        .and_then(|m| m.parse::<u8>().ok())
        .zip(value.get(6..8).and_then(|d| d.parse::<u8>().ok()));
    match month_day {
        Some((month, day))
            if digits
                && value.len() == 8
                && (1..=12).contains(&month)
                && (1..=31).contains(&day) =>
        {
            Ok(value.to_owned())
        }
        _ => Err(ConsumerError::InvalidParameter {
            parameter: "since",
            value: value.to_owned(),
            reason: "a date YYYYMMDD is expected".to_owned(),
        }),
    }
}

/// One LeafClass stored query; its DocumentEntries.
async fn stored_query(
    ctx: &ConsumerContext,
    query_id: &str,
    slots: Vec<Slot>,
) -> Result<Vec<DocumentEntry>, ConsumerError> {
    let objects =
        registry_stored_query(&ctx.soap_http, &ctx.config.registry_url, query_id, slots).await?;
    Ok(objects.document_entries)
}
