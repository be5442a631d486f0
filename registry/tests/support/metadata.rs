//! ITI-42 submissions for tests, modelled on the IHE minimal sample: one child per line so a
//! test can drop an attribute by a word of its line.
// Each test crate uses a different subset of these builders.
#![allow(dead_code)]

use schemas::ebrim::SubmitObjectsRequest;
use schemas::xml::Limits;

pub const PATIENT: &str = "X1^^^&amp;1.3.6.1.4.1.21367.2005.13.20.1000&amp;ISO";
pub const PATIENT_VALUE: &str = "X1^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO";
pub const OTHER_PATIENT: &str = "X2^^^&amp;1.3.6.1.4.1.21367.2005.13.20.1000&amp;ISO";
pub const OTHER_PATIENT_VALUE: &str = "X2^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO";
pub const HASH: &str = "11f6ad8ec52a2984abaafd7c3b516503785c2072";
pub const RPLC: &str = "urn:ihe:iti:2007:AssociationType:RPLC";
pub const APND: &str = "urn:ihe:iti:2007:AssociationType:APND";
pub const XFRM: &str = "urn:ihe:iti:2007:AssociationType:XFRM";
pub const HAS_MEMBER: &str = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember";

/// A Stable DocumentEntry modelled on the IHE minimal sample; one child per line so a test can
/// drop an attribute by a word of its line.
pub fn document(id: &str, unique_id: &str, patient: &str) -> String {
    format!(
        r#"<rim:ExtrinsicObject id="{id}" mimeType="application/dicom" objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1">
<rim:Slot name="creationTime"><rim:ValueList><rim:Value>20261101093000</rim:Value></rim:ValueList></rim:Slot>
<rim:Slot name="hash"><rim:ValueList><rim:Value>{HASH}</rim:Value></rim:ValueList></rim:Slot>
<rim:Slot name="size"><rim:ValueList><rim:Value>1</rim:Value></rim:ValueList></rim:Slot>
<rim:Slot name="languageCode"><rim:ValueList><rim:Value>en-US</rim:Value></rim:ValueList></rim:Slot>
<rim:Slot name="repositoryUniqueId"><rim:ValueList><rim:Value>1.3.6.1.4.1.21367.2010.1.2.1125</rim:Value></rim:ValueList></rim:Slot>
<rim:Slot name="serviceStartTime"><rim:ValueList><rim:Value>20261101090000</rim:Value></rim:ValueList></rim:Slot>
<rim:Slot name="sourcePatientId"><rim:ValueList><rim:Value>SRC-1^^^&amp;1.2.3.4.5.6.7.8.1&amp;ISO</rim:Value></rim:ValueList></rim:Slot>
<rim:Slot name="urn:ihe:iti:xds:2013:referenceIdList"><rim:ValueList><rim:Value>ACC1^^^&amp;1.2.3.4.5.6.7.8.2&amp;ISO^urn:ihe:iti:xds:2013:accession</rim:Value></rim:ValueList></rim:Slot>
<rim:Name><rim:LocalizedString value="CT CHEST WITH CONTRAST"/></rim:Name>
<rim:Classification classificationScheme="urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d" classifiedObject="{id}" id="{id}-author" nodeRepresentation=""><rim:Slot name="authorPerson"><rim:ValueList><rim:Value>^Welby^Marcus^^^Dr</rim:Value></rim:ValueList></rim:Slot></rim:Classification>
<rim:Classification classificationScheme="urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a" classifiedObject="{id}" id="{id}-classCode" nodeRepresentation="IMAGES"><rim:Slot name="codingScheme"><rim:ValueList><rim:Value>1.3.6.1.4.1.19376.1.2.6.1</rim:Value></rim:ValueList></rim:Slot></rim:Classification>
<rim:Classification classificationScheme="urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f" classifiedObject="{id}" id="{id}-confidentialityCode" nodeRepresentation="N"><rim:Slot name="codingScheme"><rim:ValueList><rim:Value>2.16.840.1.113883.5.25</rim:Value></rim:ValueList></rim:Slot></rim:Classification>
<rim:Classification classificationScheme="urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4" classifiedObject="{id}" id="{id}-eventCode" nodeRepresentation="CT"><rim:Slot name="codingScheme"><rim:ValueList><rim:Value>1.2.840.10008.2.16.4</rim:Value></rim:ValueList></rim:Slot></rim:Classification>
<rim:Classification classificationScheme="urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d" classifiedObject="{id}" id="{id}-formatCode" nodeRepresentation="1.2.840.10008.5.1.4.1.1.88.59"><rim:Slot name="codingScheme"><rim:ValueList><rim:Value>1.2.840.10008.2.6.1</rim:Value></rim:ValueList></rim:Slot></rim:Classification>
<rim:Classification classificationScheme="urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1" classifiedObject="{id}" id="{id}-healthcareFacilityTypeCode" nodeRepresentation="22232009"><rim:Slot name="codingScheme"><rim:ValueList><rim:Value>2.16.840.1.113883.6.96</rim:Value></rim:ValueList></rim:Slot></rim:Classification>
<rim:Classification classificationScheme="urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead" classifiedObject="{id}" id="{id}-practiceSettingCode" nodeRepresentation="394914008"><rim:Slot name="codingScheme"><rim:ValueList><rim:Value>2.16.840.1.113883.6.96</rim:Value></rim:ValueList></rim:Slot></rim:Classification>
<rim:Classification classificationScheme="urn:uuid:f0306f51-975f-434e-a61c-c59651d33983" classifiedObject="{id}" id="{id}-typeCode" nodeRepresentation="18748-4"><rim:Slot name="codingScheme"><rim:ValueList><rim:Value>2.16.840.1.113883.6.1</rim:Value></rim:ValueList></rim:Slot></rim:Classification>
<rim:ExternalIdentifier id="{id}-patientId" identificationScheme="urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427" registryObject="{id}" value="{patient}"/>
<rim:ExternalIdentifier id="{id}-uniqueId" identificationScheme="urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab" registryObject="{id}" value="{unique_id}"/>
</rim:ExtrinsicObject>
"#
    )
}

/// A SubmissionSet with its marker classification as a top-level object.
pub fn submission_set(id: &str, unique_id: &str, patient: &str) -> String {
    format!(
        r#"<rim:RegistryPackage id="{id}">
<rim:Slot name="submissionTime"><rim:ValueList><rim:Value>20261101093100</rim:Value></rim:ValueList></rim:Slot>
<rim:Classification classificationScheme="urn:uuid:aa543740-bdda-424e-8c96-df4873be8500" classifiedObject="{id}" id="{id}-contentTypeCode" nodeRepresentation="18748-4"><rim:Slot name="codingScheme"><rim:ValueList><rim:Value>2.16.840.1.113883.6.1</rim:Value></rim:ValueList></rim:Slot></rim:Classification>
<rim:ExternalIdentifier id="{id}-uniqueId" identificationScheme="urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8" registryObject="{id}" value="{unique_id}"/>
<rim:ExternalIdentifier id="{id}-sourceId" identificationScheme="urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832" registryObject="{id}" value="1.2.3.4.5.6.7.8.9"/>
<rim:ExternalIdentifier id="{id}-patientId" identificationScheme="urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446" registryObject="{id}" value="{patient}"/>
</rim:RegistryPackage>
<rim:Classification classifiedObject="{id}" classificationNode="urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd" id="{id}-marker"/>
"#
    )
}

/// A Folder with a nested marker classification.
pub fn folder(id: &str, unique_id: &str, patient: &str) -> String {
    format!(
        r#"<rim:RegistryPackage id="{id}">
<rim:Classification classificationScheme="urn:uuid:1ba97051-7806-41a8-a48b-8fce7af683c5" classifiedObject="{id}" id="{id}-codeList" nodeRepresentation="18748-4"><rim:Slot name="codingScheme"><rim:ValueList><rim:Value>2.16.840.1.113883.6.1</rim:Value></rim:ValueList></rim:Slot></rim:Classification>
<rim:Classification classifiedObject="{id}" classificationNode="urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2" id="{id}-marker"/>
<rim:ExternalIdentifier id="{id}-patientId" identificationScheme="urn:uuid:f64ffdf0-4b97-4e06-b79f-a52b38ec2f8a" registryObject="{id}" value="{patient}"/>
<rim:ExternalIdentifier id="{id}-uniqueId" identificationScheme="urn:uuid:75df8f67-9973-4fbe-a900-df66cefecc5a" registryObject="{id}" value="{unique_id}"/>
</rim:RegistryPackage>
"#
    )
}

pub fn association(id: &str, kind: &str, source: &str, target: &str) -> String {
    format!(
        "<rim:Association associationType=\"{kind}\" id=\"{id}\" sourceObject=\"{source}\" targetObject=\"{target}\"/>\n"
    )
}

/// A SubmissionSet HasMember with its SubmissionSetStatus.
pub fn member(id: &str, source: &str, target: &str, status: &str) -> String {
    format!(
        "<rim:Association associationType=\"{HAS_MEMBER}\" id=\"{id}\" sourceObject=\"{source}\" targetObject=\"{target}\"><rim:Slot name=\"SubmissionSetStatus\"><rim:ValueList><rim:Value>{status}</rim:Value></rim:ValueList></rim:Slot></rim:Association>\n"
    )
}

/// `xml` without the lines containing `word`.
pub fn without(xml: &str, word: &str) -> String {
    xml.lines()
        .filter(|l| !l.contains(word))
        .map(|l| format!("{l}\n"))
        .collect()
}

pub fn request(parts: &[String]) -> SubmitObjectsRequest {
    let xml = format!(
        "<lcm:SubmitObjectsRequest xmlns:lcm=\"urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0\" xmlns:rim=\"urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0\"><rim:RegistryObjectList>{}</rim:RegistryObjectList></lcm:SubmitObjectsRequest>",
        parts.concat()
    );
    SubmitObjectsRequest::from_xml(xml.as_bytes(), Limits::default()).unwrap()
}

/// The minimal submission: SubmissionSet `ss` (uniqueId `ss_uid`) holding one document.
pub fn single_document(ss_uid: &str, doc_uid: &str) -> Vec<String> {
    vec![
        document("Document01", doc_uid, PATIENT),
        submission_set("SubmissionSet01", ss_uid, PATIENT),
        member("as01", "SubmissionSet01", "Document01", "Original"),
    ]
}
