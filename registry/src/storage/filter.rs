//! Query filters for the ITI-18 Find* stored queries.

use super::model::{AvailabilityStatus, DocumentEntryType};

/// A (code, codingScheme) pair as in `code^^^codingScheme` query values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeValue {
    /// nodeRepresentation.
    pub code: String,
    /// codingScheme.
    pub coding_scheme: String,
}

impl CodeValue {
    /// A code with its coding scheme.
    pub fn new(code: impl Into<String>, coding_scheme: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            coding_scheme: coding_scheme.into(),
        }
    }
}

/// One code parameter value list: matches an object having ANY of `codes` under `scheme`.
///
/// Several groups AND together, which gives the ITI-18 AND/OR semantics of
/// `$XDSDocumentEntryEventCodeList`, `$XDSDocumentEntryConfidentialityCode` and `$XDSFolderCodeList`
/// (each `Slot` is an OR list, repeated slots are ANDed). An empty group matches nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeGroup {
    /// classificationScheme UUID.
    pub scheme: String,
    /// OR-list of accepted codes.
    pub codes: Vec<CodeValue>,
}

/// A time parameter pair: `From` inclusive (`>=`), `To` exclusive (`<`), ITI TF-2a 3.18.4.1.2.3.6.
///
/// Values are HL7 DTM strings compared as text, so stored and queried values should use the same
/// precision (the query layer normalises them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// Lower bound, inclusive.
    pub from: Option<String>,
    /// Upper bound, exclusive.
    pub to: Option<String>,
}

impl TimeRange {
    /// A range with both bounds optional.
    pub fn new(from: Option<&str>, to: Option<&str>) -> Self {
        Self {
            from: from.map(str::to_owned),
            to: to.map(str::to_owned),
        }
    }
}

/// Filter of ITI-18 FindDocuments / FindDocumentsByReferenceId, FindSubmissionSets and FindFolders.
///
/// Every set dimension narrows the result; an empty list or `None` leaves that dimension open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectFilter {
    /// Required patient id.
    pub patient_id: String,
    /// Accepted availability statuses (OR); empty accepts all.
    pub statuses: Vec<AvailabilityStatus>,
    /// `$XDSDocumentEntryType` (OR); empty accepts all.
    pub object_types: Vec<DocumentEntryType>,
    /// Code parameters: OR inside a group, AND across groups.
    pub code_groups: Vec<CodeGroup>,
    /// DocumentEntry creationTime.
    pub creation_time: TimeRange,
    /// DocumentEntry serviceStartTime.
    pub service_start_time: TimeRange,
    /// DocumentEntry serviceStopTime.
    pub service_stop_time: TimeRange,
    /// SubmissionSet submissionTime.
    pub submission_time: TimeRange,
    /// Folder lastUpdateTime.
    pub last_update_time: TimeRange,
    /// authorPerson SQL LIKE patterns (`%`, `_`), OR across values.
    pub author_persons: Vec<String>,
    /// referenceIdList values (OR) for FindDocumentsByReferenceId.
    pub reference_ids: Vec<String>,
    /// SubmissionSet sourceId values (OR).
    pub source_ids: Vec<String>,
    /// At most this many rows (ask for cap + 1 to detect an over-large answer).
    pub limit: Option<i64>,
}

impl ObjectFilter {
    /// A filter on one patient with the given statuses and every other dimension open.
    pub fn for_patient(patient_id: impl Into<String>, statuses: &[AvailabilityStatus]) -> Self {
        Self {
            patient_id: patient_id.into(),
            statuses: statuses.to_vec(),
            ..Self::default()
        }
    }
}
