//! Typed ITI-18 parameter values and the parameters of each of the 14 stored queries
//! (ITI TF-2a 3.18.4.1.2.3.7).

pub use schemas::hl7v2::Dtm;
use schemas::hl7v2::{Cx, is_oid};

/// A coded value `code^^codingScheme` (an HL7 v2 CE with empty display name), as the
/// code parameters of ITI TF-2a 3.18.4.1.2.3.7 carry it: `('R^^2.16.840.1.113883.5.25')`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Code {
    pub code: String,
    pub scheme: String,
}

impl Code {
    /// Parses `code^display^scheme`; code and scheme are required, the display name is ignored.
    pub fn parse(text: &str) -> Result<Code, String> {
        let mut parts = text.split('^');
        let code = parts.next().unwrap_or_default();
        let _display = parts.next();
        let scheme = parts.next().unwrap_or_default();
        if parts.next().is_some() {
            return Err(format!(
                "'{text}' has more than 3 components, expected code^^codingScheme"
            ));
        }
        if code.is_empty() {
            return Err(format!("'{text}' has no code, expected code^^codingScheme"));
        }
        if scheme.is_empty() {
            return Err(format!(
                "'{text}' has no coding scheme, expected code^^codingScheme"
            ));
        }
        Ok(Code {
            code: code.to_owned(),
            scheme: scheme.to_owned(),
        })
    }
}

/// A patient identifier, an HL7 v2 CX `id^^^&oid&ISO` (ITI TF-3 patientId), read with the XDS
/// rules of [`Cx::parse_patient_id`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PatientId {
    /// CX.1, the identifier within the assigning authority.
    pub id: String,
    /// CX.4.2, the OID of the assigning authority.
    pub assigning_authority: String,
    /// The CX as received (the form the registry stores and matches).
    pub cx: String,
}

impl PatientId {
    /// Parses a CX with CX.1 and an ISO assigning authority in CX.4 and no other component.
    pub fn parse(text: &str) -> Result<PatientId, String> {
        let cx = Cx::parse_patient_id(text).map_err(|e| e.to_string())?;
        Ok(PatientId {
            id: cx.id,
            assigning_authority: cx.assigning_authority.universal_id,
            cx: text.to_owned(),
        })
    }
}

/// A `From`/`To` pair of time parameters; `from <= t < to` (ITI TF-2a 3.18.4.1.2.3.7.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Option<Dtm>,
    pub to: Option<Dtm>,
}

/// Object availability status, given as a full URN (ITI TF-2a 3.18.4.1.2.3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AvailabilityStatus {
    Approved,
    Deprecated,
}

impl AvailabilityStatus {
    pub const APPROVED_URN: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved";
    pub const DEPRECATED_URN: &str = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated";

    /// The status this URN names; `None` for a value the registry does not understand.
    pub fn from_urn(urn: &str) -> Option<AvailabilityStatus> {
        match urn {
            Self::APPROVED_URN => Some(AvailabilityStatus::Approved),
            Self::DEPRECATED_URN => Some(AvailabilityStatus::Deprecated),
            _ => None,
        }
    }

    /// The URN of this status.
    pub fn urn(self) -> &'static str {
        match self {
            AvailabilityStatus::Approved => Self::APPROVED_URN,
            AvailabilityStatus::Deprecated => Self::DEPRECATED_URN,
        }
    }
}

/// DocumentEntry objectType, the value of `$XDSDocumentEntryType` (ITI TF-2a 3.18.4.1.2.3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentEntryType {
    Stable,
    OnDemand,
}

impl DocumentEntryType {
    pub const STABLE_UUID: &str = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1";
    pub const ON_DEMAND_UUID: &str = "urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248";

    /// Parses the objectType UUID.
    pub fn parse(text: &str) -> Result<DocumentEntryType, String> {
        match text {
            Self::STABLE_UUID => Ok(DocumentEntryType::Stable),
            Self::ON_DEMAND_UUID => Ok(DocumentEntryType::OnDemand),
            _ => Err(format!(
                "'{text}' is neither the stable nor the on-demand DocumentEntry objectType"
            )),
        }
    }

    /// The objectType UUID.
    pub fn uuid(self) -> &'static str {
        match self {
            DocumentEntryType::Stable => Self::STABLE_UUID,
            DocumentEntryType::OnDemand => Self::ON_DEMAND_UUID,
        }
    }
}

/// An association type URN, the value of `$AssociationTypes` (ITI TF-3 4.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssociationType {
    HasMember,
    Replace,
    Transform,
    Append,
    TransformAndReplace,
    Signs,
    IsSnapshotOf,
    UpdateAvailabilityStatus,
    SubmitAssociation,
}

impl AssociationType {
    const ALL: [AssociationType; 9] = [
        AssociationType::HasMember,
        AssociationType::Replace,
        AssociationType::Transform,
        AssociationType::Append,
        AssociationType::TransformAndReplace,
        AssociationType::Signs,
        AssociationType::IsSnapshotOf,
        AssociationType::UpdateAvailabilityStatus,
        AssociationType::SubmitAssociation,
    ];

    /// Parses the association type URN.
    pub fn parse(text: &str) -> Result<AssociationType, String> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.urn() == text)
            .ok_or_else(|| format!("'{text}' is not an association type URN"))
    }

    /// The URN of this association type.
    pub fn urn(self) -> &'static str {
        match self {
            AssociationType::HasMember => {
                "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
            }
            AssociationType::Replace => "urn:ihe:iti:2007:AssociationType:RPLC",
            AssociationType::Transform => "urn:ihe:iti:2007:AssociationType:XFRM",
            AssociationType::Append => "urn:ihe:iti:2007:AssociationType:APND",
            AssociationType::TransformAndReplace => "urn:ihe:iti:2007:AssociationType:XFRM_RPLC",
            AssociationType::Signs => "urn:ihe:iti:2007:AssociationType:signs",
            AssociationType::IsSnapshotOf => "urn:ihe:iti:2010:AssociationType:IsSnapshotOf",
            AssociationType::UpdateAvailabilityStatus => {
                "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus"
            }
            AssociationType::SubmitAssociation => {
                "urn:ihe:iti:2010:AssociationType:SubmitAssociation"
            }
        }
    }
}

/// A LIKE pattern (`%` any string, `_` any character) for the author parameters
/// (ITI TF-2a 3.18.4.1.2.3.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LikePattern(pub String);

/// An entryUUID, `urn:uuid:` followed by a UUID (ITI TF-3 entryUUID).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntryUuid(String);

impl EntryUuid {
    /// Parses `urn:uuid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    pub fn parse(text: &str) -> Result<EntryUuid, String> {
        let uuid = text.strip_prefix("urn:uuid:").unwrap_or_default();
        let groups: Vec<&str> = uuid.split('-').collect();
        let shape_ok = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
            && groups
                .iter()
                .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()));
        if shape_ok {
            Ok(EntryUuid(text.to_owned()))
        } else {
            Err(format!("'{text}' is not a urn:uuid: entryUUID"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A homeCommunityId, an OID in URN syntax `urn:oid:1.2.3` (ITI TF-3 homeCommunityId).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HomeCommunityId(String);

impl HomeCommunityId {
    /// Parses `urn:oid:` followed by an OID.
    pub fn parse(text: &str) -> Result<HomeCommunityId, String> {
        match text.strip_prefix("urn:oid:") {
            Some(oid) if is_oid(oid) => Ok(HomeCommunityId(text.to_owned())),
            _ => Err(format!("'{text}' is not a homeCommunityId urn:oid:")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Objects named by their entryUUIDs, their uniqueIds or (GetDocuments and GetFolders, ITI-57
/// Metadata Update) their logicalIDs: "one of" parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectRefs {
    EntryUuids(Vec<EntryUuid>),
    UniqueIds(Vec<String>),
    /// Every version of each logical object.
    LogicalIds(Vec<EntryUuid>),
}

/// One object named by either its entryUUID or its uniqueId ("one of" parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectRefOne {
    EntryUuid(EntryUuid),
    UniqueId(String),
}

/// ITI-18 FindDocuments (ITI TF-2a 3.18.4.1.2.3.7.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindDocuments {
    pub patient_id: PatientId,
    pub statuses: Vec<AvailabilityStatus>,
    pub class_codes: Option<Vec<Code>>,
    pub type_codes: Option<Vec<Code>>,
    pub practice_setting_codes: Option<Vec<Code>>,
    pub creation_time: TimeRange,
    pub service_start_time: TimeRange,
    pub service_stop_time: TimeRange,
    pub healthcare_facility_type_codes: Option<Vec<Code>>,
    /// AND of ORs: every inner list must match at least one of its codes; empty = no filter.
    pub event_codes: Vec<Vec<Code>>,
    /// AND of ORs, as `event_codes`.
    pub confidentiality_codes: Vec<Vec<Code>>,
    /// OR of LIKE patterns.
    pub author_persons: Option<Vec<LikePattern>>,
    pub format_codes: Option<Vec<Code>>,
    pub entry_types: Option<Vec<DocumentEntryType>>,
}

/// ITI-18 FindDocumentsByReferenceId (ITI TF-2a 3.18.4.1.2.3.7.14): FindDocuments plus
/// `$XDSDocumentEntryReferenceIdList`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindDocumentsByReferenceId {
    pub find: FindDocuments,
    /// OR of CXi values.
    pub reference_ids: Vec<String>,
}

/// ITI-18 FindSubmissionSets (ITI TF-2a 3.18.4.1.2.3.7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindSubmissionSets {
    pub patient_id: PatientId,
    pub statuses: Vec<AvailabilityStatus>,
    pub source_ids: Option<Vec<String>>,
    pub submission_time: TimeRange,
    pub author_person: Option<LikePattern>,
    pub content_type_codes: Option<Vec<Code>>,
}

/// ITI-18 FindFolders (ITI TF-2a 3.18.4.1.2.3.7.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindFolders {
    pub patient_id: PatientId,
    pub statuses: Vec<AvailabilityStatus>,
    pub last_update_time: TimeRange,
    /// AND of ORs.
    pub codes: Vec<Vec<Code>>,
}

/// ITI-18 GetAll (ITI TF-2a 3.18.4.1.2.3.7.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetAll {
    pub patient_id: PatientId,
    pub document_entry_statuses: Vec<AvailabilityStatus>,
    pub submission_set_statuses: Vec<AvailabilityStatus>,
    pub folder_statuses: Vec<AvailabilityStatus>,
    pub format_codes: Option<Vec<Code>>,
    /// AND of ORs.
    pub confidentiality_codes: Vec<Vec<Code>>,
    pub entry_types: Option<Vec<DocumentEntryType>>,
}

/// ITI-18 GetDocuments (ITI TF-2a 3.18.4.1.2.3.7.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetDocuments {
    pub documents: ObjectRefs,
    pub home_community_id: Option<HomeCommunityId>,
}

/// ITI-18 GetFolders (ITI TF-2a 3.18.4.1.2.3.7.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetFolders {
    pub folders: ObjectRefs,
    pub home_community_id: Option<HomeCommunityId>,
}

/// ITI-18 GetAssociations (ITI TF-2a 3.18.4.1.2.3.7.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetAssociations {
    pub uuids: Vec<EntryUuid>,
    pub home_community_id: Option<HomeCommunityId>,
}

/// ITI-18 GetDocumentsAndAssociations (ITI TF-2a 3.18.4.1.2.3.7.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetDocumentsAndAssociations {
    pub documents: ObjectRefs,
    pub home_community_id: Option<HomeCommunityId>,
}

/// ITI-18 GetSubmissionSets (ITI TF-2a 3.18.4.1.2.3.7.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetSubmissionSets {
    pub uuids: Vec<EntryUuid>,
    pub home_community_id: Option<HomeCommunityId>,
}

/// ITI-18 GetSubmissionSetAndContents (ITI TF-2a 3.18.4.1.2.3.7.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetSubmissionSetAndContents {
    pub submission_set: ObjectRefOne,
    pub format_codes: Option<Vec<Code>>,
    /// AND of ORs.
    pub confidentiality_codes: Vec<Vec<Code>>,
    pub entry_types: Option<Vec<DocumentEntryType>>,
    pub home_community_id: Option<HomeCommunityId>,
}

/// ITI-18 GetFolderAndContents (ITI TF-2a 3.18.4.1.2.3.7.11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetFolderAndContents {
    pub folder: ObjectRefOne,
    /// `$MetadataLevel` 2 with a uniqueId: every version of the Folder (ITI-57 Metadata Update).
    pub all_versions: bool,
    /// `$XDSAssociationStatus` of the HasMember Associations answered; Approved when absent.
    pub association_statuses: Vec<AvailabilityStatus>,
    pub format_codes: Option<Vec<Code>>,
    /// AND of ORs.
    pub confidentiality_codes: Vec<Vec<Code>>,
    pub entry_types: Option<Vec<DocumentEntryType>>,
    pub home_community_id: Option<HomeCommunityId>,
}

/// ITI-18 GetFoldersForDocument (ITI TF-2a 3.18.4.1.2.3.7.12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetFoldersForDocument {
    pub document: ObjectRefOne,
    pub home_community_id: Option<HomeCommunityId>,
}

/// ITI-18 GetRelatedDocuments (ITI TF-2a 3.18.4.1.2.3.7.13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetRelatedDocuments {
    pub document: ObjectRefOne,
    pub association_types: Vec<AssociationType>,
    /// `$XDSAssociationStatus` (ITI-57 Metadata Update); Approved when absent.
    pub association_statuses: Vec<AvailabilityStatus>,
    pub entry_types: Option<Vec<DocumentEntryType>>,
    pub home_community_id: Option<HomeCommunityId>,
}
