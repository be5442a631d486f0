//! The XDS metadata model (IHE ITI TF-3 4.2.3): DocumentEntry, SubmissionSet, Folder and
//! Association as typed Rust values, converted both ways to the ebRIM model of [`crate::ebrim`].
//!
//! Conversion is lossless: `from_rim` followed by `to_rim` gives back an equal ebRIM value. The
//! model keeps the ids of classifications and external identifiers, the original order of an
//! object's slots, classifications and external identifiers ([`RimLayout`]), and everything it
//! does not interpret in `extra_*` fields.
//!
//! Values a registry must validate itself (patient ids, timestamps, hashes, sizes, HL7 v2
//! values) are kept as the strings received, with methods returning the parsed form; only the
//! structure of the ebRIM coding is checked here, and a breach is a [`MetadataError`] naming the
//! object, the attribute and the rule, ready for an `XDSRegistryMetadataError`.

mod entries;
mod rim;
mod submission;
#[cfg(test)]
mod tests;

pub use entries::*;
pub use submission::*;

use crate::constants::association_type as at;
use crate::constants::error_code;
use crate::ebrim::{InternationalString, RegistryObject};

/// An XDS metadata object whose ebRIM coding breaks a rule of ITI TF-3 4.2.3 / 4.2.5.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{object_id}: {attribute}: {rule}")]
pub struct MetadataError {
    /// Id (entryUUID or symbolic id) of the object in error: the `location` of the RegistryError.
    pub object_id: String,
    /// The XDS attribute concerned (`DocumentEntry.uniqueId`, `SubmissionSet`, ...).
    pub attribute: String,
    /// The rule broken.
    pub rule: MetadataRule,
}

impl MetadataError {
    /// The errorCode a Document Registry reports for it (ITI TF-3 Table 4.2.4.1-2).
    pub fn error_code(&self) -> &'static str {
        error_code::XDS_REGISTRY_METADATA_ERROR
    }

    /// The `location` of the RegistryError: the id of the object in error.
    pub fn location(&self) -> &str {
        &self.object_id
    }
}

/// The rule of the ebRIM coding of XDS metadata that a [`MetadataError`] reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataRule {
    /// A required attribute is absent.
    #[error("is required and missing")]
    Missing,
    /// A single-valued attribute is coded more than once.
    #[error("is coded {count} times, at most once allowed")]
    Repeated { count: usize },
    /// A single-valued slot does not have exactly one value.
    #[error("slot has {found} values, exactly one required")]
    SingleValue { found: usize },
    /// A slot without any value.
    #[error("slot has no value")]
    NoValue,
    /// A coded attribute's classification without nodeRepresentation.
    #[error("classification has no nodeRepresentation (the code value)")]
    MissingCode,
    /// A nested classification that classifies another object.
    #[error("classifiedObject {found:?} is not the enclosing object")]
    ClassifiedObjectMismatch { found: String },
    /// A nested external identifier that identifies another object.
    #[error("registryObject {found:?} is not the enclosing object")]
    RegistryObjectMismatch { found: String },
    /// A RegistryPackage classified neither as SubmissionSet nor as Folder.
    #[error("RegistryPackage is classified neither as SubmissionSet nor as Folder")]
    UnclassifiedPackage,
    /// A RegistryPackage classified both as SubmissionSet and as Folder.
    #[error("RegistryPackage is classified both as SubmissionSet and as Folder")]
    PackageOfBothKinds,
    /// A submission without exactly one SubmissionSet.
    #[error("submission has {count} SubmissionSets, exactly one required")]
    SubmissionSetCount { count: usize },
}

/// Where the children of an ebRIM object stood, so that `to_rim` writes them back in their
/// original order. Empty for values built in code (the model's default order is used).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RimLayout {
    /// Slot names in original order, with their `slotType`.
    pub slots: Vec<(String, Option<String>)>,
    /// Ids of the nested classifications in original order.
    pub classifications: Vec<String>,
    /// Ids of the nested external identifiers in original order.
    pub external_identifiers: Vec<String>,
}

/// A coded attribute (ITI TF-3 4.2.3.1.2): a Classification whose nodeRepresentation is the
/// code, whose `codingScheme` slot is the coding scheme and whose Name is the display name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Code {
    /// The code (`nodeRepresentation`).
    pub code: String,
    /// The coding scheme (`codingScheme` slot).
    pub coding_scheme: String,
    /// The display name (`rim:Name`), possibly in several languages.
    pub display_name: Option<InternationalString>,
    /// Id of the classification; `None` for codes built in code (a UUID is generated).
    pub classification_id: Option<String>,
    /// The rest of the classification (other slots, description, home, ...).
    pub rim: RegistryObject,
    /// Original order of the classification's slots.
    pub layout: RimLayout,
}

impl Code {
    /// A code with a plain display name.
    pub fn new(
        code: impl Into<String>,
        coding_scheme: impl Into<String>,
        display_name: impl Into<String>,
    ) -> Self {
        Code {
            code: code.into(),
            coding_scheme: coding_scheme.into(),
            display_name: Some(InternationalString::plain(display_name)),
            ..Code::default()
        }
    }

    /// The first display name text.
    pub fn display_name_text(&self) -> Option<&str> {
        self.display_name
            .as_ref()
            .and_then(InternationalString::first)
    }

    /// The `code^^codingScheme` form (an HL7 v2 CE with no display text) of stored query code
    /// parameters (ITI TF-2a 3.18.4.1.2.3.4), as the registry reads it and the NIST testkit sends
    /// it: `('R^^2.16.840.1.113883.5.25')`.
    pub fn query_form(&self) -> String {
        format!("{}^^{}", self.code, self.coding_scheme)
    }
}

/// One author (ITI TF-3 4.2.3.1.4): a Classification with empty nodeRepresentation and the
/// authorPerson/Institution/Role/Specialty/Telecommunication slots. Values are kept as received;
/// parse them with [`crate::hl7v2`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Author {
    /// authorPerson (XCN), at most one.
    pub person: Option<String>,
    /// authorInstitution values (XON).
    pub institutions: Vec<String>,
    /// authorRole values.
    pub roles: Vec<String>,
    /// authorSpecialty values.
    pub specialties: Vec<String>,
    /// authorTelecommunication values (XTN).
    pub telecommunications: Vec<String>,
    /// nodeRepresentation as received (XDS requires the empty string; `Some("")` by default).
    pub node_representation: Option<String>,
    /// Id of the classification; `None` for authors built in code.
    pub classification_id: Option<String>,
    /// The rest of the classification (other slots, name, description, ...).
    pub rim: RegistryObject,
    /// Original order of the classification's slots.
    pub layout: RimLayout,
}

impl Author {
    /// An author with only an authorPerson.
    pub fn person(xcn: impl Into<String>) -> Self {
        Author {
            person: Some(xcn.into()),
            node_representation: Some(String::new()),
            ..Author::default()
        }
    }

    /// authorPerson parsed as XCN.
    pub fn person_xcn(&self) -> Option<Result<crate::hl7v2::Xcn, crate::hl7v2::Hl7TypeError>> {
        self.person.as_deref().map(crate::hl7v2::Xcn::parse)
    }

    /// authorInstitution values parsed as XON.
    pub fn institutions_xon(&self) -> Vec<Result<crate::hl7v2::Xon, crate::hl7v2::Hl7TypeError>> {
        self.institutions
            .iter()
            .map(|v| crate::hl7v2::Xon::parse(v))
            .collect()
    }

    /// authorTelecommunication values parsed as XTN.
    pub fn telecommunications_xtn(
        &self,
    ) -> Vec<Result<crate::hl7v2::Xtn, crate::hl7v2::Hl7TypeError>> {
        self.telecommunications
            .iter()
            .map(|v| crate::hl7v2::Xtn::parse(v))
            .collect()
    }
}

/// An attribute coded as ExternalIdentifier (patientId, uniqueId, sourceId).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExternalId {
    /// The identifier value, as received.
    pub value: String,
    /// Id of the ExternalIdentifier; `None` for values built in code.
    pub identifier_id: Option<String>,
    /// Its `rim:Name` (by convention `XDSDocumentEntry.uniqueId`, ...).
    pub name: Option<InternationalString>,
    /// The rest of the ExternalIdentifier (slots, description, ...).
    pub rim: RegistryObject,
}

impl ExternalId {
    /// An identifier with its conventional name (e.g. `XDSDocumentEntry.patientId`).
    pub fn new(value: impl Into<String>, name: &str) -> Self {
        ExternalId {
            value: value.into(),
            name: Some(InternationalString::plain(name)),
            ..ExternalId::default()
        }
    }

    /// The value parsed as an XDS patient id (CX with components 1 and 4 only).
    pub fn patient_cx(&self) -> Result<crate::hl7v2::Cx, crate::hl7v2::Hl7TypeError> {
        crate::hl7v2::Cx::parse_patient_id(&self.value)
    }
}

/// `associationType` (ITI TF-3 4.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AssociationType {
    /// HasMember (SubmissionSet/Folder membership).
    HasMember,
    /// RPLC: replacement.
    Replace,
    /// XFRM: transformation.
    Transform,
    /// APND: addendum.
    Append,
    /// XFRM_RPLC: transformation that replaces.
    TransformAndReplace,
    /// signs: digital signature.
    Signs,
    /// IsSnapshotOf (On-Demand Documents).
    IsSnapshotOf,
    /// ITI-57 UpdateAvailabilityStatus.
    UpdateAvailabilityStatus,
    /// ITI-57 SubmitAssociation.
    SubmitAssociation,
    /// Any other value, kept as received.
    Other(String),
}

impl AssociationType {
    /// Reads an associationType URN.
    pub fn from_urn(urn: &str) -> Self {
        match urn {
            at::HAS_MEMBER => AssociationType::HasMember,
            at::RPLC => AssociationType::Replace,
            at::XFRM => AssociationType::Transform,
            at::APND => AssociationType::Append,
            at::XFRM_RPLC => AssociationType::TransformAndReplace,
            at::SIGNS => AssociationType::Signs,
            at::IS_SNAPSHOT_OF => AssociationType::IsSnapshotOf,
            at::UPDATE_AVAILABILITY_STATUS => AssociationType::UpdateAvailabilityStatus,
            at::SUBMIT_ASSOCIATION => AssociationType::SubmitAssociation,
            other => AssociationType::Other(other.to_owned()),
        }
    }

    /// The associationType URN.
    pub fn urn(&self) -> &str {
        match self {
            AssociationType::HasMember => at::HAS_MEMBER,
            AssociationType::Replace => at::RPLC,
            AssociationType::Transform => at::XFRM,
            AssociationType::Append => at::APND,
            AssociationType::TransformAndReplace => at::XFRM_RPLC,
            AssociationType::Signs => at::SIGNS,
            AssociationType::IsSnapshotOf => at::IS_SNAPSHOT_OF,
            AssociationType::UpdateAvailabilityStatus => at::UPDATE_AVAILABILITY_STATUS,
            AssociationType::SubmitAssociation => at::SUBMIT_ASSOCIATION,
            AssociationType::Other(urn) => urn,
        }
    }

    /// True for the document relationships RPLC, XFRM, APND, XFRM_RPLC and signs (ITI TF-3 4.2.2.2).
    pub fn is_document_relationship(&self) -> bool {
        matches!(
            self,
            AssociationType::Replace
                | AssociationType::Transform
                | AssociationType::Append
                | AssociationType::TransformAndReplace
                | AssociationType::Signs
        )
    }
}
