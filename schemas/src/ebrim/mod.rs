//! OASIS ebXML RegRep 3.0 (rim, rs, lcm, query) as plain Rust values, with a reader and a writer.
//!
//! The model keeps everything XDS uses of ebRIM, in document order, so a message read and written
//! back is equal in meaning (same objects, slots, classifications and identifiers).

mod read;
mod write;

pub use read::*;
pub use write::*;

/// Namespace of ebRIM 3.0 (`rim:`).
pub const NS_RIM: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0";
/// Namespace of ebRS 3.0 (`rs:`).
pub const NS_RS: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0";
/// Namespace of the life-cycle manager messages (`lcm:`).
pub const NS_LCM: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0";
/// Namespace of the query manager messages (`query:`).
pub const NS_QUERY: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0";

/// `rim:Slot`: a named list of string values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Slot {
    pub name: String,
    pub slot_type: Option<String>,
    pub values: Vec<String>,
}

impl Slot {
    /// A slot with these values and no slotType.
    pub fn new<I, S>(name: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Slot {
            name: name.into(),
            slot_type: None,
            values: values.into_iter().map(Into::into).collect(),
        }
    }
}

/// `rim:LocalizedString`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LocalizedString {
    pub lang: Option<String>,
    pub charset: Option<String>,
    pub value: String,
}

/// `rim:InternationalString` (the content of `rim:Name` and `rim:Description`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InternationalString {
    pub strings: Vec<LocalizedString>,
}

impl InternationalString {
    /// One localized string without language or charset.
    pub fn plain(value: impl Into<String>) -> Self {
        InternationalString {
            strings: vec![LocalizedString {
                lang: None,
                charset: None,
                value: value.into(),
            }],
        }
    }

    /// The first value, if any.
    pub fn first(&self) -> Option<&str> {
        self.strings.first().map(|s| s.value.as_str())
    }
}

/// `rim:VersionInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionInfo {
    pub version_name: Option<String>,
    pub comment: Option<String>,
}

/// Attributes and children that every `rim:RegistryObject` has.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryObject {
    pub id: String,
    pub home: Option<String>,
    pub lid: Option<String>,
    pub object_type: Option<String>,
    pub status: Option<String>,
    pub slots: Vec<Slot>,
    pub name: Option<InternationalString>,
    pub description: Option<InternationalString>,
    pub version_info: Option<VersionInfo>,
    pub classifications: Vec<Classification>,
    pub external_identifiers: Vec<ExternalIdentifier>,
}

impl RegistryObject {
    /// The first slot with this name.
    pub fn slot(&self, name: &str) -> Option<&Slot> {
        self.slots.iter().find(|s| s.name == name)
    }
}

/// `rim:Classification`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Classification {
    pub object: RegistryObject,
    pub classification_scheme: Option<String>,
    pub classified_object: String,
    pub classification_node: Option<String>,
    pub node_representation: Option<String>,
}

/// `rim:ExternalIdentifier`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExternalIdentifier {
    pub object: RegistryObject,
    pub registry_object: String,
    pub identification_scheme: String,
    pub value: String,
}

/// `rim:ExtrinsicObject` (an XDS DocumentEntry).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtrinsicObject {
    pub object: RegistryObject,
    pub mime_type: Option<String>,
    pub is_opaque: Option<bool>,
    pub content_version_info: Option<VersionInfo>,
}

/// `rim:RegistryPackage` (an XDS SubmissionSet or Folder).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryPackage {
    pub object: RegistryObject,
    pub members: Option<RegistryObjectList>,
}

/// `rim:Association`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Association {
    pub object: RegistryObject,
    pub association_type: String,
    pub source_object: String,
    pub target_object: String,
}

/// `rim:ObjectRef`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectRef {
    pub id: String,
    pub home: Option<String>,
    pub create_replica: Option<bool>,
    pub slots: Vec<Slot>,
}

/// One member of a `rim:RegistryObjectList` (the `rim:Identifiable` substitution group as XDS uses it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifiable {
    ExtrinsicObject(ExtrinsicObject),
    RegistryPackage(RegistryPackage),
    Association(Association),
    Classification(Classification),
    ExternalIdentifier(ExternalIdentifier),
    ObjectRef(ObjectRef),
    /// An object already serialized as one complete `rim:*` element (for example a stored
    /// LeafClass fragment served by the registry); written out verbatim.
    Raw(String),
}

/// `rim:RegistryObjectList`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryObjectList {
    pub objects: Vec<Identifiable>,
}

/// Severity of a `rs:RegistryError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub const ERROR_URN: &str = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error";
    pub const WARNING_URN: &str = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning";

    /// The URN written in the `severity` attribute.
    pub fn urn(self) -> &'static str {
        match self {
            Severity::Error => Self::ERROR_URN,
            Severity::Warning => Self::WARNING_URN,
        }
    }
}

/// `rs:RegistryError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryError {
    pub error_code: String,
    pub code_context: String,
    pub location: Option<String>,
    pub severity: Severity,
    /// Text content of the element (optional, free text).
    pub value: Option<String>,
}

/// Overall status of a `rs:RegistryResponse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseStatus {
    Success,
    PartialSuccess,
    Failure,
}

impl ResponseStatus {
    pub const SUCCESS_URN: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success";
    pub const PARTIAL_SUCCESS_URN: &str = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess";
    pub const FAILURE_URN: &str = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure";

    /// The URN written in the `status` attribute.
    pub fn urn(self) -> &'static str {
        match self {
            ResponseStatus::Success => Self::SUCCESS_URN,
            ResponseStatus::PartialSuccess => Self::PARTIAL_SUCCESS_URN,
            ResponseStatus::Failure => Self::FAILURE_URN,
        }
    }
}

/// `rs:RegistryResponse` (also the base of AdhocQueryResponse and the XDS.b retrieve response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryResponse {
    pub status: ResponseStatus,
    pub request_id: Option<String>,
    pub response_slots: Vec<Slot>,
    pub errors: Vec<RegistryError>,
}

/// `lcm:SubmitObjectsRequest` (ITI-42, and ITI-57 Update Document Set).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubmitObjectsRequest {
    pub id: Option<String>,
    pub comment: Option<String>,
    pub request_slots: Vec<Slot>,
    pub objects: RegistryObjectList,
}

/// `query:ResponseOption`'s returnType.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnType {
    LeafClass,
    ObjectRef,
    /// Accepted by the schema, unused by XDS (LeafClassWithRepositoryItem, RegistryObject).
    Other(&'static str),
}

/// `query:AdhocQueryRequest` (ITI-18).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdhocQueryRequest {
    pub id: Option<String>,
    pub comment: Option<String>,
    pub request_slots: Vec<Slot>,
    pub return_type: ReturnType,
    pub return_composed_objects: bool,
    pub federated: bool,
    pub federation: Option<String>,
    pub start_index: u64,
    /// -1 in the wire format means "no limit"; `None` here.
    pub max_results: Option<u64>,
    /// The `rim:AdhocQuery`: its id is the stored query id, its slots the parameters.
    pub query: RegistryObject,
}

/// `query:AdhocQueryResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdhocQueryResponse {
    pub response: RegistryResponse,
    pub start_index: Option<u64>,
    pub total_result_count: Option<u64>,
    pub objects: RegistryObjectList,
}

/// `lcm:RemoveObjectsRequest` (ITI-62).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemoveObjectsRequest {
    pub id: Option<String>,
    pub comment: Option<String>,
    pub request_slots: Vec<Slot>,
    pub deletion_scope: Option<String>,
    pub object_refs: Vec<ObjectRef>,
}

impl Severity {
    /// The severity named by this URN, if it is one of the two ebRS severities.
    pub fn from_urn(urn: &str) -> Option<Self> {
        match urn {
            Self::ERROR_URN => Some(Severity::Error),
            Self::WARNING_URN => Some(Severity::Warning),
            _ => None,
        }
    }
}

impl ResponseStatus {
    /// The status named by this URN, if it is one ebRS or IHE defines.
    pub fn from_urn(urn: &str) -> Option<Self> {
        match urn {
            Self::SUCCESS_URN => Some(ResponseStatus::Success),
            Self::PARTIAL_SUCCESS_URN => Some(ResponseStatus::PartialSuccess),
            Self::FAILURE_URN => Some(ResponseStatus::Failure),
            _ => None,
        }
    }
}

impl ReturnType {
    /// The value written in `query:ResponseOption/@returnType`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnType::LeafClass => "LeafClass",
            ReturnType::ObjectRef => "ObjectRef",
            ReturnType::Other(name) => name,
        }
    }

    /// The return type with this schema name (query.xsd enumerates four).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "LeafClass" => Some(ReturnType::LeafClass),
            "ObjectRef" => Some(ReturnType::ObjectRef),
            "LeafClassWithRepositoryItem" => Some(ReturnType::Other("LeafClassWithRepositoryItem")),
            "RegistryObject" => Some(ReturnType::Other("RegistryObject")),
            _ => None,
        }
    }
}
