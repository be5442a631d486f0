//! DocumentEntry, SubmissionSet, Folder and Association (ITI TF-3 4.2.3.2 to 4.2.3.4, 4.2.2).

use super::rim::{Builder, Parts, new_marker};
use super::{AssociationType, Author, Code, ExternalId, MetadataError, MetadataRule, RimLayout};
use crate::constants::{classification_node as node, classification_scheme as scheme};
use crate::constants::{identification_scheme as ids, object_type, reference_id_type};
use crate::ebrim::{
    self, Classification, ExternalIdentifier, ExtrinsicObject, InternationalString, RegistryObject,
    RegistryObjectList, RegistryPackage, Slot, VersionInfo,
};
use crate::hl7v2::{Cx, Dtm, Hl7TypeError};

fn parse_dtm(value: &Option<String>) -> Option<Result<Dtm, Hl7TypeError>> {
    value.as_deref().map(Dtm::parse)
}

/// DocumentEntry.objectType (ITI TF-3 4.2.3.2.30).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentEntryType {
    /// Stable Document Entry.
    Stable,
    /// On-Demand Document Entry.
    OnDemand,
}

/// XDS DocumentEntry (ITI TF-3 4.2.3.2), coded as `rim:ExtrinsicObject`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocumentEntry {
    /// entryUUID (`id`).
    pub entry_uuid: String,
    /// logicalID (`lid`).
    pub logical_id: Option<String>,
    /// homeCommunityId (`home`).
    pub home_community_id: Option<String>,
    /// availabilityStatus (`status`).
    pub availability_status: Option<String>,
    /// objectType (stable or on-demand UUID), as received.
    pub object_type: Option<String>,
    /// mimeType.
    pub mime_type: Option<String>,
    /// `isOpaque` attribute of the ExtrinsicObject.
    pub is_opaque: Option<bool>,
    /// `ContentVersionInfo` of the ExtrinsicObject.
    pub content_version_info: Option<VersionInfo>,
    /// version (`rim:VersionInfo`).
    pub version: Option<VersionInfo>,
    /// title (`rim:Name`).
    pub title: Option<InternationalString>,
    /// comments (`rim:Description`).
    pub comments: Option<InternationalString>,
    /// author classifications.
    pub authors: Vec<Author>,
    /// classCode.
    pub class_code: Option<Code>,
    /// confidentialityCode (1..n in ITI-42).
    pub confidentiality_codes: Vec<Code>,
    /// eventCodeList.
    pub event_codes: Vec<Code>,
    /// formatCode.
    pub format_code: Option<Code>,
    /// healthcareFacilityTypeCode.
    pub healthcare_facility_type_code: Option<Code>,
    /// practiceSettingCode.
    pub practice_setting_code: Option<Code>,
    /// typeCode.
    pub type_code: Option<Code>,
    /// creationTime slot (DTM).
    pub creation_time: Option<String>,
    /// hash slot (SHA-1, hex).
    pub hash: Option<String>,
    /// size slot (bytes).
    pub size: Option<String>,
    /// languageCode slot.
    pub language_code: Option<String>,
    /// legalAuthenticator slot (XCN).
    pub legal_authenticator: Option<String>,
    /// repositoryUniqueId slot.
    pub repository_unique_id: Option<String>,
    /// serviceStartTime slot (DTM).
    pub service_start_time: Option<String>,
    /// serviceStopTime slot (DTM).
    pub service_stop_time: Option<String>,
    /// sourcePatientId slot (CX).
    pub source_patient_id: Option<String>,
    /// sourcePatientInfo slot values (`PID-n|value`).
    pub source_patient_info: Vec<String>,
    /// URI slot.
    pub uri: Option<String>,
    /// documentAvailability slot.
    pub document_availability: Option<String>,
    /// referenceIdList slot values (CXi).
    pub reference_ids: Vec<String>,
    /// limitedMetadata marker classification, kept whole.
    pub limited_metadata: Option<Classification>,
    /// patientId external identifier.
    pub patient_id: Option<ExternalId>,
    /// uniqueId external identifier (required).
    pub unique_id: ExternalId,
    /// Slots this model does not interpret.
    pub extra_slots: Vec<Slot>,
    /// Classifications this model does not interpret.
    pub extra_classifications: Vec<Classification>,
    /// External identifiers this model does not interpret.
    pub extra_external_identifiers: Vec<ExternalIdentifier>,
    /// Original order of the children.
    pub layout: RimLayout,
}

const DE: &str = "DocumentEntry";

impl DocumentEntry {
    /// Reads a DocumentEntry from its ExtrinsicObject.
    pub fn from_rim(eo: &ExtrinsicObject) -> Result<Self, MetadataError> {
        let mut p = Parts::new(&eo.object);
        let authors = p.authors(scheme::DOCUMENT_ENTRY_AUTHOR, "DocumentEntry.author")?;
        let class_code =
            p.single_code(scheme::DOCUMENT_ENTRY_CLASS_CODE, "DocumentEntry.classCode")?;
        let confidentiality_codes = p.codes(
            scheme::DOCUMENT_ENTRY_CONFIDENTIALITY_CODE,
            "DocumentEntry.confidentialityCode",
        )?;
        let event_codes = p.codes(
            scheme::DOCUMENT_ENTRY_EVENT_CODE_LIST,
            "DocumentEntry.eventCodeList",
        )?;
        let format_code = p.single_code(
            scheme::DOCUMENT_ENTRY_FORMAT_CODE,
            "DocumentEntry.formatCode",
        )?;
        let healthcare_facility_type_code = p.single_code(
            scheme::DOCUMENT_ENTRY_HEALTHCARE_FACILITY_TYPE_CODE,
            "DocumentEntry.healthcareFacilityTypeCode",
        )?;
        let practice_setting_code = p.single_code(
            scheme::DOCUMENT_ENTRY_PRACTICE_SETTING_CODE,
            "DocumentEntry.practiceSettingCode",
        )?;
        let type_code =
            p.single_code(scheme::DOCUMENT_ENTRY_TYPE_CODE, "DocumentEntry.typeCode")?;
        let limited_metadata = p.marker(
            node::DOCUMENT_ENTRY_LIMITED_METADATA,
            "DocumentEntry.limitedMetadata",
        )?;
        let patient_id =
            p.external_id(ids::DOCUMENT_ENTRY_PATIENT_ID, "DocumentEntry.patientId")?;
        let unique_id =
            p.required_external_id(ids::DOCUMENT_ENTRY_UNIQUE_ID, "DocumentEntry.uniqueId")?;
        let entry = DocumentEntry {
            creation_time: p.single_slot("creationTime", "DocumentEntry.creationTime")?,
            hash: p.single_slot("hash", "DocumentEntry.hash")?,
            size: p.single_slot("size", "DocumentEntry.size")?,
            language_code: p.single_slot("languageCode", "DocumentEntry.languageCode")?,
            legal_authenticator: p
                .single_slot("legalAuthenticator", "DocumentEntry.legalAuthenticator")?,
            repository_unique_id: p
                .single_slot("repositoryUniqueId", "DocumentEntry.repositoryUniqueId")?,
            service_start_time: p
                .single_slot("serviceStartTime", "DocumentEntry.serviceStartTime")?,
            service_stop_time: p.single_slot("serviceStopTime", "DocumentEntry.serviceStopTime")?,
            source_patient_id: p.single_slot("sourcePatientId", "DocumentEntry.sourcePatientId")?,
            source_patient_info: p
                .multi_slot("sourcePatientInfo", "DocumentEntry.sourcePatientInfo")?,
            uri: p.single_slot("URI", "DocumentEntry.URI")?,
            document_availability: p
                .single_slot("documentAvailability", "DocumentEntry.documentAvailability")?,
            reference_ids: p.multi_slot(
                reference_id_type::SLOT_NAME,
                "DocumentEntry.referenceIdList",
            )?,
            entry_uuid: eo.object.id.clone(),
            logical_id: eo.object.lid.clone(),
            home_community_id: eo.object.home.clone(),
            availability_status: eo.object.status.clone(),
            object_type: eo.object.object_type.clone(),
            mime_type: eo.mime_type.clone(),
            is_opaque: eo.is_opaque,
            content_version_info: eo.content_version_info.clone(),
            version: eo.object.version_info.clone(),
            title: eo.object.name.clone(),
            comments: eo.object.description.clone(),
            authors,
            class_code,
            confidentiality_codes,
            event_codes,
            format_code,
            healthcare_facility_type_code,
            practice_setting_code,
            type_code,
            limited_metadata,
            patient_id,
            unique_id,
            extra_slots: std::mem::take(&mut p.object.slots),
            extra_classifications: std::mem::take(&mut p.object.classifications),
            extra_external_identifiers: std::mem::take(&mut p.object.external_identifiers),
            layout: p.layout,
        };
        Ok(entry)
    }

    /// Writes the DocumentEntry as an ExtrinsicObject.
    pub fn to_rim(&self) -> ExtrinsicObject {
        let mut b = Builder::new(&self.entry_uuid);
        b.slot("creationTime", &self.creation_time);
        b.slot("hash", &self.hash);
        b.slot("size", &self.size);
        b.slot("languageCode", &self.language_code);
        b.slot("legalAuthenticator", &self.legal_authenticator);
        b.slot("repositoryUniqueId", &self.repository_unique_id);
        b.slot("serviceStartTime", &self.service_start_time);
        b.slot("serviceStopTime", &self.service_stop_time);
        b.slot("sourcePatientId", &self.source_patient_id);
        b.slot_values("sourcePatientInfo", &self.source_patient_info);
        b.slot("URI", &self.uri);
        b.slot("documentAvailability", &self.document_availability);
        b.slot_values(reference_id_type::SLOT_NAME, &self.reference_ids);
        b.authors(scheme::DOCUMENT_ENTRY_AUTHOR, &self.authors);
        b.codes(scheme::DOCUMENT_ENTRY_CLASS_CODE, &self.class_code);
        b.codes(
            scheme::DOCUMENT_ENTRY_CONFIDENTIALITY_CODE,
            &self.confidentiality_codes,
        );
        b.codes(scheme::DOCUMENT_ENTRY_EVENT_CODE_LIST, &self.event_codes);
        b.codes(scheme::DOCUMENT_ENTRY_FORMAT_CODE, &self.format_code);
        b.codes(
            scheme::DOCUMENT_ENTRY_HEALTHCARE_FACILITY_TYPE_CODE,
            &self.healthcare_facility_type_code,
        );
        b.codes(
            scheme::DOCUMENT_ENTRY_PRACTICE_SETTING_CODE,
            &self.practice_setting_code,
        );
        b.codes(scheme::DOCUMENT_ENTRY_TYPE_CODE, &self.type_code);
        b.marker(&self.limited_metadata);
        b.external_id(ids::DOCUMENT_ENTRY_PATIENT_ID, &self.patient_id);
        b.external_id(ids::DOCUMENT_ENTRY_UNIQUE_ID, &Some(self.unique_id.clone()));
        let mut object = b.finish(
            &self.extra_slots,
            &self.extra_classifications,
            &self.extra_external_identifiers,
            &self.layout,
        );
        object.lid.clone_from(&self.logical_id);
        object.home.clone_from(&self.home_community_id);
        object.status.clone_from(&self.availability_status);
        object.object_type.clone_from(&self.object_type);
        object.version_info.clone_from(&self.version);
        object.name.clone_from(&self.title);
        object.description.clone_from(&self.comments);
        ExtrinsicObject {
            object,
            mime_type: self.mime_type.clone(),
            is_opaque: self.is_opaque,
            content_version_info: self.content_version_info.clone(),
        }
    }

    /// Stable or On-Demand, from objectType; `None` when absent or another value.
    pub fn entry_type(&self) -> Option<DocumentEntryType> {
        match self.object_type.as_deref() {
            Some(object_type::STABLE_DOCUMENT_ENTRY) => Some(DocumentEntryType::Stable),
            Some(object_type::ON_DEMAND_DOCUMENT_ENTRY) => Some(DocumentEntryType::OnDemand),
            _ => None,
        }
    }

    /// True when marked as limited metadata (ITI TF-3 4.2.3.2.31).
    pub fn is_limited_metadata(&self) -> bool {
        self.limited_metadata.is_some()
    }

    /// Marks or unmarks the entry as limited metadata.
    pub fn set_limited_metadata(&mut self, limited: bool) {
        self.limited_metadata =
            limited.then(|| new_marker(&self.entry_uuid, node::DOCUMENT_ENTRY_LIMITED_METADATA));
    }

    /// patientId parsed with the XDS patient id rules.
    pub fn patient_cx(&self) -> Option<Result<Cx, Hl7TypeError>> {
        self.patient_id.as_ref().map(ExternalId::patient_cx)
    }

    /// sourcePatientId parsed with the XDS patient id rules.
    pub fn source_patient_cx(&self) -> Option<Result<Cx, Hl7TypeError>> {
        self.source_patient_id.as_deref().map(Cx::parse_patient_id)
    }

    /// referenceIdList values parsed as CXi.
    pub fn reference_ids_cx(&self) -> Vec<Result<Cx, Hl7TypeError>> {
        self.reference_ids
            .iter()
            .map(|v| Cx::parse_reference_id(v))
            .collect()
    }

    /// creationTime parsed as DTM.
    pub fn creation_dtm(&self) -> Option<Result<Dtm, Hl7TypeError>> {
        parse_dtm(&self.creation_time)
    }

    /// serviceStartTime parsed as DTM.
    pub fn service_start_dtm(&self) -> Option<Result<Dtm, Hl7TypeError>> {
        parse_dtm(&self.service_start_time)
    }

    /// serviceStopTime parsed as DTM.
    pub fn service_stop_dtm(&self) -> Option<Result<Dtm, Hl7TypeError>> {
        parse_dtm(&self.service_stop_time)
    }

    /// size as a number of bytes; `None` when absent, `Some(Err)` when not a decimal integer.
    pub fn size_bytes(&self) -> Option<Result<u64, std::num::ParseIntError>> {
        self.size.as_deref().map(str::parse)
    }

    /// A `MetadataError` for an attribute of this entry (for rules checked by the registry).
    pub fn error(&self, attribute: &str, rule: MetadataRule) -> MetadataError {
        MetadataError {
            object_id: self.entry_uuid.clone(),
            attribute: format!("{DE}.{attribute}"),
            rule,
        }
    }
}

/// Which kind of RegistryPackage, from its marker classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PackageKind {
    SubmissionSet,
    Folder,
}

/// The kind of `package` given the top-level markers classifying it.
pub(crate) fn package_kind(
    package: &RegistryPackage,
    top_level: &[&Classification],
) -> Result<PackageKind, MetadataError> {
    let nodes = package
        .object
        .classifications
        .iter()
        .chain(top_level.iter().copied())
        .filter_map(|c| c.classification_node.as_deref());
    let (mut ss, mut folder) = (false, false);
    for n in nodes {
        ss |= n == node::SUBMISSION_SET;
        folder |= n == node::FOLDER;
    }
    let error = |rule| MetadataError {
        object_id: package.object.id.clone(),
        attribute: "RegistryPackage".to_owned(),
        rule,
    };
    match (ss, folder) {
        (true, false) => Ok(PackageKind::SubmissionSet),
        (false, true) => Ok(PackageKind::Folder),
        (true, true) => Err(error(MetadataRule::PackageOfBothKinds)),
        (false, false) => Err(error(MetadataRule::UnclassifiedPackage)),
    }
}

/// The marker classification that makes a RegistryPackage a SubmissionSet or a Folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageMarker {
    /// The classification, kept whole.
    pub classification: Classification,
    /// True when it was a top-level object of the RegistryObjectList rather than nested in the package.
    pub top_level: bool,
}

fn take_marker(
    p: &mut Parts,
    top_level: Option<&Classification>,
    marker_node: &str,
    attribute: &str,
) -> Result<PackageMarker, MetadataError> {
    let nested = p.marker(marker_node, attribute)?;
    match (nested, top_level) {
        (Some(c), None) => Ok(PackageMarker {
            classification: c,
            top_level: false,
        }),
        (None, Some(c)) => Ok(PackageMarker {
            classification: c.clone(),
            top_level: true,
        }),
        (Some(_), Some(_)) => Err(p.error(attribute, MetadataRule::Repeated { count: 2 })),
        (None, None) => Err(p.error(attribute, MetadataRule::UnclassifiedPackage)),
    }
}

/// XDS SubmissionSet (ITI TF-3 4.2.3.3), coded as a classified `rim:RegistryPackage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionSet {
    /// entryUUID (`id`).
    pub entry_uuid: String,
    /// `lid`, as received.
    pub logical_id: Option<String>,
    /// homeCommunityId (`home`).
    pub home_community_id: Option<String>,
    /// availabilityStatus (`status`).
    pub availability_status: Option<String>,
    /// objectType attribute, as received.
    pub object_type: Option<String>,
    /// `rim:VersionInfo`, as received.
    pub version: Option<VersionInfo>,
    /// title (`rim:Name`).
    pub title: Option<InternationalString>,
    /// comments (`rim:Description`).
    pub comments: Option<InternationalString>,
    /// author classifications.
    pub authors: Vec<Author>,
    /// contentTypeCode.
    pub content_type_code: Option<Code>,
    /// intendedRecipient slot values (XON|XCN^...|XTN).
    pub intended_recipients: Vec<String>,
    /// submissionTime slot (DTM).
    pub submission_time: Option<String>,
    /// limitedMetadata marker classification, kept whole.
    pub limited_metadata: Option<Classification>,
    /// patientId external identifier.
    pub patient_id: Option<ExternalId>,
    /// sourceId external identifier.
    pub source_id: Option<ExternalId>,
    /// uniqueId external identifier (required).
    pub unique_id: ExternalId,
    /// The classification marking the package as a SubmissionSet.
    pub marker: PackageMarker,
    /// `rim:RegistryObjectList` members of the package, as received.
    pub members: Option<RegistryObjectList>,
    /// Slots this model does not interpret.
    pub extra_slots: Vec<Slot>,
    /// Classifications this model does not interpret.
    pub extra_classifications: Vec<Classification>,
    /// External identifiers this model does not interpret.
    pub extra_external_identifiers: Vec<ExternalIdentifier>,
    /// Original order of the children.
    pub layout: RimLayout,
}

/// Sets the RegistryObject attributes XDS keeps as top-level fields.
#[allow(clippy::too_many_arguments)]
fn set_attributes(
    object: &mut RegistryObject,
    lid: &Option<String>,
    home: &Option<String>,
    status: &Option<String>,
    object_type: &Option<String>,
    version: &Option<VersionInfo>,
    name: &Option<InternationalString>,
    description: &Option<InternationalString>,
) {
    object.lid.clone_from(lid);
    object.home.clone_from(home);
    object.status.clone_from(status);
    object.object_type.clone_from(object_type);
    object.version_info.clone_from(version);
    object.name.clone_from(name);
    object.description.clone_from(description);
}

impl SubmissionSet {
    /// Reads a SubmissionSet from its RegistryPackage and, when the marker is a top-level object
    /// of the RegistryObjectList, that classification.
    pub fn from_rim(
        package: &RegistryPackage,
        top_level_marker: Option<&Classification>,
    ) -> Result<Self, MetadataError> {
        let o = &package.object;
        let mut p = Parts::new(o);
        let marker = take_marker(
            &mut p,
            top_level_marker,
            node::SUBMISSION_SET,
            "SubmissionSet",
        )?;
        Ok(SubmissionSet {
            authors: p.authors(scheme::SUBMISSION_SET_AUTHOR, "SubmissionSet.author")?,
            content_type_code: p.single_code(
                scheme::SUBMISSION_SET_CONTENT_TYPE_CODE,
                "SubmissionSet.contentTypeCode",
            )?,
            intended_recipients: p
                .multi_slot("intendedRecipient", "SubmissionSet.intendedRecipient")?,
            submission_time: p.single_slot("submissionTime", "SubmissionSet.submissionTime")?,
            limited_metadata: p.marker(
                node::SUBMISSION_SET_LIMITED_METADATA,
                "SubmissionSet.limitedMetadata",
            )?,
            patient_id: p.external_id(ids::SUBMISSION_SET_PATIENT_ID, "SubmissionSet.patientId")?,
            source_id: p.external_id(ids::SUBMISSION_SET_SOURCE_ID, "SubmissionSet.sourceId")?,
            unique_id: p
                .required_external_id(ids::SUBMISSION_SET_UNIQUE_ID, "SubmissionSet.uniqueId")?,
            marker,
            entry_uuid: o.id.clone(),
            logical_id: o.lid.clone(),
            home_community_id: o.home.clone(),
            availability_status: o.status.clone(),
            object_type: o.object_type.clone(),
            version: o.version_info.clone(),
            title: o.name.clone(),
            comments: o.description.clone(),
            members: package.members.clone(),
            extra_slots: std::mem::take(&mut p.object.slots),
            extra_classifications: std::mem::take(&mut p.object.classifications),
            extra_external_identifiers: std::mem::take(&mut p.object.external_identifiers),
            layout: p.layout,
        })
    }

    /// A SubmissionSet built in code, with a nested marker classification.
    pub fn new(entry_uuid: impl Into<String>, unique_id: impl Into<String>) -> Self {
        let entry_uuid = entry_uuid.into();
        SubmissionSet {
            marker: PackageMarker {
                classification: new_marker(&entry_uuid, node::SUBMISSION_SET),
                top_level: false,
            },
            unique_id: ExternalId::new(unique_id, "XDSSubmissionSet.uniqueId"),
            entry_uuid,
            logical_id: None,
            home_community_id: None,
            availability_status: None,
            object_type: None,
            version: None,
            title: None,
            comments: None,
            authors: Vec::new(),
            content_type_code: None,
            intended_recipients: Vec::new(),
            submission_time: None,
            limited_metadata: None,
            patient_id: None,
            source_id: None,
            members: None,
            extra_slots: Vec::new(),
            extra_classifications: Vec::new(),
            extra_external_identifiers: Vec::new(),
            layout: RimLayout::default(),
        }
    }

    /// Writes the RegistryPackage; the marker is nested only if it was nested (see
    /// [`SubmissionSet::top_level_marker`]).
    pub fn to_rim(&self) -> RegistryPackage {
        let mut b = Builder::new(&self.entry_uuid);
        b.slot("submissionTime", &self.submission_time);
        b.slot_values("intendedRecipient", &self.intended_recipients);
        b.authors(scheme::SUBMISSION_SET_AUTHOR, &self.authors);
        b.codes(
            scheme::SUBMISSION_SET_CONTENT_TYPE_CODE,
            &self.content_type_code,
        );
        if !self.marker.top_level {
            b.marker(&Some(self.marker.classification.clone()));
        }
        b.marker(&self.limited_metadata);
        b.external_id(ids::SUBMISSION_SET_UNIQUE_ID, &Some(self.unique_id.clone()));
        b.external_id(ids::SUBMISSION_SET_SOURCE_ID, &self.source_id);
        b.external_id(ids::SUBMISSION_SET_PATIENT_ID, &self.patient_id);
        let mut object = b.finish(
            &self.extra_slots,
            &self.extra_classifications,
            &self.extra_external_identifiers,
            &self.layout,
        );
        set_attributes(
            &mut object,
            &self.logical_id,
            &self.home_community_id,
            &self.availability_status,
            &self.object_type,
            &self.version,
            &self.title,
            &self.comments,
        );
        RegistryPackage {
            object,
            members: self.members.clone(),
        }
    }

    /// The marker classification when it is written as a top-level object.
    pub fn top_level_marker(&self) -> Option<&Classification> {
        self.marker.top_level.then_some(&self.marker.classification)
    }

    /// True when marked as limited metadata (ITI TF-3 4.2.3.3.14).
    pub fn is_limited_metadata(&self) -> bool {
        self.limited_metadata.is_some()
    }

    /// patientId parsed with the XDS patient id rules.
    pub fn patient_cx(&self) -> Option<Result<Cx, Hl7TypeError>> {
        self.patient_id.as_ref().map(ExternalId::patient_cx)
    }

    /// submissionTime parsed as DTM.
    pub fn submission_dtm(&self) -> Option<Result<Dtm, Hl7TypeError>> {
        parse_dtm(&self.submission_time)
    }
}

/// XDS Folder (ITI TF-3 4.2.3.4), coded as a classified `rim:RegistryPackage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// entryUUID (`id`).
    pub entry_uuid: String,
    /// logicalID (`lid`).
    pub logical_id: Option<String>,
    /// homeCommunityId (`home`).
    pub home_community_id: Option<String>,
    /// availabilityStatus (`status`).
    pub availability_status: Option<String>,
    /// objectType attribute, as received.
    pub object_type: Option<String>,
    /// version (`rim:VersionInfo`).
    pub version: Option<VersionInfo>,
    /// title (`rim:Name`).
    pub title: Option<InternationalString>,
    /// comments (`rim:Description`).
    pub comments: Option<InternationalString>,
    /// codeList.
    pub codes: Vec<Code>,
    /// lastUpdateTime slot (DTM, set by the registry).
    pub last_update_time: Option<String>,
    /// limitedMetadata marker classification, kept whole.
    pub limited_metadata: Option<Classification>,
    /// patientId external identifier.
    pub patient_id: Option<ExternalId>,
    /// uniqueId external identifier (required).
    pub unique_id: ExternalId,
    /// The classification marking the package as a Folder.
    pub marker: PackageMarker,
    /// `rim:RegistryObjectList` members of the package, as received.
    pub members: Option<RegistryObjectList>,
    /// Slots this model does not interpret.
    pub extra_slots: Vec<Slot>,
    /// Classifications this model does not interpret.
    pub extra_classifications: Vec<Classification>,
    /// External identifiers this model does not interpret.
    pub extra_external_identifiers: Vec<ExternalIdentifier>,
    /// Original order of the children.
    pub layout: RimLayout,
}

impl Folder {
    /// Reads a Folder from its RegistryPackage and, when the marker is a top-level object of the
    /// RegistryObjectList, that classification.
    pub fn from_rim(
        package: &RegistryPackage,
        top_level_marker: Option<&Classification>,
    ) -> Result<Self, MetadataError> {
        let o = &package.object;
        let mut p = Parts::new(o);
        let marker = take_marker(&mut p, top_level_marker, node::FOLDER, "Folder")?;
        Ok(Folder {
            codes: p.codes(scheme::FOLDER_CODE_LIST, "Folder.codeList")?,
            last_update_time: p.single_slot("lastUpdateTime", "Folder.lastUpdateTime")?,
            limited_metadata: p.marker(node::FOLDER_LIMITED_METADATA, "Folder.limitedMetadata")?,
            patient_id: p.external_id(ids::FOLDER_PATIENT_ID, "Folder.patientId")?,
            unique_id: p.required_external_id(ids::FOLDER_UNIQUE_ID, "Folder.uniqueId")?,
            marker,
            entry_uuid: o.id.clone(),
            logical_id: o.lid.clone(),
            home_community_id: o.home.clone(),
            availability_status: o.status.clone(),
            object_type: o.object_type.clone(),
            version: o.version_info.clone(),
            title: o.name.clone(),
            comments: o.description.clone(),
            members: package.members.clone(),
            extra_slots: std::mem::take(&mut p.object.slots),
            extra_classifications: std::mem::take(&mut p.object.classifications),
            extra_external_identifiers: std::mem::take(&mut p.object.external_identifiers),
            layout: p.layout,
        })
    }

    /// Writes the RegistryPackage; the marker is nested only if it was nested (see
    /// [`Folder::top_level_marker`]).
    pub fn to_rim(&self) -> RegistryPackage {
        let mut b = Builder::new(&self.entry_uuid);
        b.slot("lastUpdateTime", &self.last_update_time);
        b.codes(scheme::FOLDER_CODE_LIST, &self.codes);
        if !self.marker.top_level {
            b.marker(&Some(self.marker.classification.clone()));
        }
        b.marker(&self.limited_metadata);
        b.external_id(ids::FOLDER_PATIENT_ID, &self.patient_id);
        b.external_id(ids::FOLDER_UNIQUE_ID, &Some(self.unique_id.clone()));
        let mut object = b.finish(
            &self.extra_slots,
            &self.extra_classifications,
            &self.extra_external_identifiers,
            &self.layout,
        );
        set_attributes(
            &mut object,
            &self.logical_id,
            &self.home_community_id,
            &self.availability_status,
            &self.object_type,
            &self.version,
            &self.title,
            &self.comments,
        );
        RegistryPackage {
            object,
            members: self.members.clone(),
        }
    }

    /// The marker classification when it is written as a top-level object.
    pub fn top_level_marker(&self) -> Option<&Classification> {
        self.marker.top_level.then_some(&self.marker.classification)
    }

    /// True when marked as limited metadata (ITI TF-3 4.2.3.4.11).
    pub fn is_limited_metadata(&self) -> bool {
        self.limited_metadata.is_some()
    }

    /// patientId parsed with the XDS patient id rules.
    pub fn patient_cx(&self) -> Option<Result<Cx, Hl7TypeError>> {
        self.patient_id.as_ref().map(ExternalId::patient_cx)
    }
}

/// XDS Association (ITI TF-3 4.2.2), coded as `rim:Association`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Association {
    /// entryUUID (`id`).
    pub entry_uuid: String,
    /// associationType.
    pub association_type: AssociationType,
    /// sourceObject.
    pub source: String,
    /// targetObject.
    pub target: String,
    /// `lid`, as received.
    pub logical_id: Option<String>,
    /// homeCommunityId (`home`).
    pub home_community_id: Option<String>,
    /// availabilityStatus (`status`).
    pub availability_status: Option<String>,
    /// objectType attribute, as received.
    pub object_type: Option<String>,
    /// `rim:VersionInfo`, as received.
    pub version: Option<VersionInfo>,
    /// `rim:Name`, as received.
    pub name: Option<InternationalString>,
    /// `rim:Description`, as received.
    pub description: Option<InternationalString>,
    /// SubmissionSetStatus slot (`Original` / `Reference`) of SubmissionSet HasMember.
    pub submission_set_status: Option<String>,
    /// OriginalStatus slot (ITI-57 UpdateAvailabilityStatus).
    pub original_status: Option<String>,
    /// NewStatus slot (ITI-57 UpdateAvailabilityStatus).
    pub new_status: Option<String>,
    /// PreviousVersion slot (ITI-57).
    pub previous_version: Option<String>,
    /// AssociationPropagation slot (ITI-57, `yes`/`no`).
    pub association_propagation: Option<String>,
    /// Slots this model does not interpret.
    pub extra_slots: Vec<Slot>,
    /// Classifications (e.g. association documentation), kept as received.
    pub extra_classifications: Vec<Classification>,
    /// External identifiers, kept as received.
    pub extra_external_identifiers: Vec<ExternalIdentifier>,
    /// Original order of the children.
    pub layout: RimLayout,
}

impl Association {
    /// An Association built in code.
    pub fn new(
        entry_uuid: impl Into<String>,
        association_type: AssociationType,
        source: impl Into<String>,
        target: impl Into<String>,
    ) -> Self {
        Association {
            entry_uuid: entry_uuid.into(),
            association_type,
            source: source.into(),
            target: target.into(),
            logical_id: None,
            home_community_id: None,
            availability_status: None,
            object_type: None,
            version: None,
            name: None,
            description: None,
            submission_set_status: None,
            original_status: None,
            new_status: None,
            previous_version: None,
            association_propagation: None,
            extra_slots: Vec::new(),
            extra_classifications: Vec::new(),
            extra_external_identifiers: Vec::new(),
            layout: RimLayout::default(),
        }
    }

    /// Reads an Association.
    pub fn from_rim(a: &ebrim::Association) -> Result<Self, MetadataError> {
        let o = &a.object;
        let mut p = Parts::new(o);
        Ok(Association {
            submission_set_status: p
                .single_slot("SubmissionSetStatus", "Association.SubmissionSetStatus")?,
            original_status: p.single_slot("OriginalStatus", "Association.OriginalStatus")?,
            new_status: p.single_slot("NewStatus", "Association.NewStatus")?,
            previous_version: p.single_slot("PreviousVersion", "Association.PreviousVersion")?,
            association_propagation: p.single_slot(
                "AssociationPropagation",
                "Association.AssociationPropagation",
            )?,
            entry_uuid: o.id.clone(),
            association_type: AssociationType::from_urn(&a.association_type),
            source: a.source_object.clone(),
            target: a.target_object.clone(),
            logical_id: o.lid.clone(),
            home_community_id: o.home.clone(),
            availability_status: o.status.clone(),
            object_type: o.object_type.clone(),
            version: o.version_info.clone(),
            name: o.name.clone(),
            description: o.description.clone(),
            extra_slots: std::mem::take(&mut p.object.slots),
            extra_classifications: std::mem::take(&mut p.object.classifications),
            extra_external_identifiers: std::mem::take(&mut p.object.external_identifiers),
            layout: p.layout,
        })
    }

    /// Writes the Association.
    pub fn to_rim(&self) -> ebrim::Association {
        let mut b = Builder::new(&self.entry_uuid);
        b.slot("SubmissionSetStatus", &self.submission_set_status);
        b.slot("OriginalStatus", &self.original_status);
        b.slot("NewStatus", &self.new_status);
        b.slot("PreviousVersion", &self.previous_version);
        b.slot("AssociationPropagation", &self.association_propagation);
        let mut object = b.finish(
            &self.extra_slots,
            &self.extra_classifications,
            &self.extra_external_identifiers,
            &self.layout,
        );
        set_attributes(
            &mut object,
            &self.logical_id,
            &self.home_community_id,
            &self.availability_status,
            &self.object_type,
            &self.version,
            &self.name,
            &self.description,
        );
        ebrim::Association {
            object,
            association_type: self.association_type.urn().to_owned(),
            source_object: self.source.clone(),
            target_object: self.target.clone(),
        }
    }
}
