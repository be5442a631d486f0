//! The RAD-68 manifest read back (DICOM PS3.3 A.35.4 Key Object Selection, IHE RAD TF-3
//! 4.68.4.1.2.1): study attributes from its header, and from the Current Requested Procedure
//! Evidence Sequence every referenced instance with its series' Retrieve Location UID.

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::{InMemDicomObject, OpenFileOptions};
use serde::Serialize;

use crate::kos::KOS_SOP_CLASS_UID;
use crate::study::{InstanceHeader, Study};

/// A manifest: the study it describes and the instances it references, series by series.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// SOP Instance UID of the KOS (the DocumentEntry uniqueId).
    pub sop_instance_uid: String,
    /// Study-level attributes (patient, date, description, accession, institution); its series
    /// list is empty: the references are in `series`.
    pub study: Study,
    /// Every referenced series, in evidence order.
    pub series: Vec<EvidenceSeries>,
}

/// One Referenced Series Sequence item of the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceSeries {
    /// Study Instance UID of the evidence item.
    pub study_uid: String,
    /// Series Instance UID.
    pub series_uid: String,
    /// Retrieve Location UID (0040,E011): the imaging source's repositoryUniqueId.
    pub retrieve_location_uid: Option<String>,
    /// Retrieve AE Title (0008,0054).
    pub retrieve_ae_title: Option<String>,
    /// Retrieve URL (0008,1190), when given.
    pub retrieve_url: Option<String>,
    /// The referenced instances.
    pub instances: Vec<EvidenceInstance>,
}

/// One Referenced SOP Sequence item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceInstance {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
}

/// What `hie show` prints of a manifest.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestSummary {
    pub study_instance_uid: String,
    pub study_date: Option<String>,
    pub study_time: Option<String>,
    pub description: Option<String>,
    pub accession_number: Option<String>,
    /// Institution Name (0008,0080): the source institution.
    pub institution_name: Option<String>,
    pub patient_id: String,
    pub patient_name: Option<String>,
    pub series_count: usize,
    pub image_count: usize,
    /// Distinct Retrieve Location UIDs of the series.
    pub retrieve_location_uids: Vec<String>,
    pub series: Vec<SeriesSummary>,
}

/// One series of [`ManifestSummary`].
#[derive(Debug, Clone, Serialize)]
pub struct SeriesSummary {
    pub series_instance_uid: String,
    pub retrieve_location_uid: Option<String>,
    pub image_count: usize,
}

impl Manifest {
    /// Reads a Part-10 KOS; the reason when it is not one.
    pub fn read(bytes: &[u8]) -> Result<Manifest, String> {
        let file = OpenFileOptions::new()
            .from_reader(bytes)
            .map_err(|e| format!("not a DICOM Part-10 object: {e}"))?;
        let obj: &InMemDicomObject = &file;
        let sop_class = text(obj, tags::SOP_CLASS_UID).unwrap_or_default();
        if sop_class != KOS_SOP_CLASS_UID {
            return Err(format!(
                "SOP Class UID {sop_class:?} is not Key Object Selection Document ({KOS_SOP_CLASS_UID})"
            ));
        }
        let header = InstanceHeader::from_object(obj, None).map_err(|e| e.to_string())?;
        let mut series = Vec::new();
        for study_item in items(obj, tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE) {
            let study_uid = text(study_item, tags::STUDY_INSTANCE_UID)
                .ok_or("an evidence item has no Study Instance UID")?;
            for series_item in items(study_item, tags::REFERENCED_SERIES_SEQUENCE) {
                let series_uid = text(series_item, tags::SERIES_INSTANCE_UID).ok_or_else(|| {
                    format!("a series of study {study_uid} has no Series Instance UID")
                })?;
                let instances = items(series_item, tags::REFERENCED_SOP_SEQUENCE)
                    .map(|i| {
                        Ok(EvidenceInstance {
                            sop_class_uid: text(i, tags::REFERENCED_SOP_CLASS_UID)
                                .unwrap_or_default(),
                            sop_instance_uid: text(i, tags::REFERENCED_SOP_INSTANCE_UID)
                                .ok_or_else(|| {
                                    format!(
                                        "an instance of series {series_uid} has no Referenced \
                                         SOP Instance UID"
                                    )
                                })?,
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                series.push(EvidenceSeries {
                    study_uid: study_uid.clone(),
                    series_uid,
                    retrieve_location_uid: text(series_item, tags::RETRIEVE_LOCATION_UID),
                    retrieve_ae_title: text(series_item, tags::RETRIEVE_AE_TITLE),
                    retrieve_url: text(series_item, tags::RETRIEVE_URL),
                    instances,
                });
            }
        }
        if series.is_empty() {
            return Err(
                "the Current Requested Procedure Evidence Sequence references nothing".to_owned(),
            );
        }
        Ok(Manifest {
            sop_instance_uid: header.instance.sop_instance_uid,
            study: header.study,
            series,
        })
    }

    /// Number of referenced instances.
    pub fn instance_count(&self) -> usize {
        self.series.iter().map(|s| s.instances.len()).sum()
    }

    /// The summary `hie show` prints.
    pub fn summary(&self) -> ManifestSummary {
        let mut locations: Vec<String> = Vec::new();
        for uid in self
            .series
            .iter()
            .filter_map(|s| s.retrieve_location_uid.as_ref())
        {
            if !locations.contains(uid) {
                locations.push(uid.clone());
            }
        }
        let study = &self.study;
        ManifestSummary {
            study_instance_uid: study.study_instance_uid.clone(),
            study_date: study.study_date.clone(),
            study_time: study.study_time.clone(),
            description: study.description.clone(),
            accession_number: study.accession_number.clone(),
            institution_name: study.institution_name.clone(),
            patient_id: study.patient.id.clone(),
            patient_name: study.patient.name.clone(),
            series_count: self.series.len(),
            image_count: self.instance_count(),
            retrieve_location_uids: locations,
            series: self
                .series
                .iter()
                .map(|s| SeriesSummary {
                    series_instance_uid: s.series_uid.clone(),
                    retrieve_location_uid: s.retrieve_location_uid.clone(),
                    image_count: s.instances.len(),
                })
                .collect(),
        }
    }
}

fn items(obj: &InMemDicomObject, tag: Tag) -> impl Iterator<Item = &InMemDicomObject> {
    obj.get(tag)
        .and_then(|e| e.items())
        .unwrap_or_default()
        .iter()
}

fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let value = obj.get(tag)?.to_str().ok()?;
    let value = value.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!value.is_empty()).then(|| value.to_owned())
}
