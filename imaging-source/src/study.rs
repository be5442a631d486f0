//! The imaging study model shared by the publish and serve sides: a study, its patient, its series
//! and their SOP instances, as read from DICOM headers or DICOMweb metadata.

use serde::{Deserialize, Serialize};

/// One DICOM study (Study Instance UID) with what a manifest and its metadata need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Study {
    pub study_instance_uid: String,
    pub patient: PatientInfo,
    pub accession_number: Option<String>,
    pub accession_issuer: Option<String>,
    pub study_date: Option<String>,
    pub study_time: Option<String>,
    pub description: Option<String>,
    pub referring_physician: Option<String>,
    pub institution_name: Option<String>,
    pub study_id: Option<String>,
    pub series: Vec<Series>,
}

/// The patient of a study as the source PACS knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatientInfo {
    pub id: String,
    pub issuer: Option<String>,
    pub name: Option<String>,
    pub birth_date: Option<String>,
    pub sex: Option<String>,
}

/// One series of a study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub series_instance_uid: String,
    pub modality: String,
    pub body_part: Option<String>,
    pub description: Option<String>,
    pub number: Option<i32>,
    pub instances: Vec<Instance>,
}

/// One SOP instance of a series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub number: Option<i32>,
    pub transfer_syntax_uid: Option<String>,
}
