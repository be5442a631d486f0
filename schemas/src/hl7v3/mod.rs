//! HL7 v3 messages of the PIX/PDQ V3 transactions (ITI TF-2b):
//!
//! - ITI-44 Patient Identity Feed HL7 V3 (3.44): Patient Registry Record Added
//!   (`PRPA_IN201301UV02`), Record Revised (`PRPA_IN201302UV02`) and Duplicates Resolved
//!   (`PRPA_IN201304UV02`), read by [`read_patient_registry_message`] (for the Document Registry
//!   and the PIX Manager), and the accept acknowledgement `MCCI_IN000002UV01` that answers each.
//! - ITI-45 PIXV3 Query (3.45): the Get Identifiers Query `PRPA_IN201309UV02` and its response
//!   `PRPA_IN201310UV02` ([`query`]).
//!
//! Reading keeps only what the broker needs: the message id, the sender and receiver devices,
//! the patient ids (`patient/id`, `patientPerson/asOtherIDs/id`), the subsumed ids of a merge
//! (`replacementOf/priorRegistration/subject1/priorRegisteredRole/id`) and the person's basic
//! demographics. Everything else is skipped.

pub mod query;

pub use query::{
    DataSource, IdentifiersQuery, IdentifiersQueryResponse, QueryResponseCode,
    read_identifiers_query,
};

use crate::xml::{Element, Node, XmlError, XmlReader, escape};

/// The HL7 v3 XML namespace.
pub const HL7V3_NS: &str = "urn:hl7-org:v3";
/// OID of the HL7 interaction ids (`interactionId/@root`).
pub const INTERACTION_ID_ROOT: &str = "2.16.840.1.113883.1.6";
/// Interaction id of the accept acknowledgement.
pub const MCCI_IN000002UV01: &str = "MCCI_IN000002UV01";

/// An HL7 v3 instance identifier (II): `root` (an OID or UUID) and an optional `extension`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceId {
    pub root: String,
    pub extension: Option<String>,
}

impl InstanceId {
    pub fn new(root: impl Into<String>, extension: Option<&str>) -> InstanceId {
        InstanceId {
            root: root.into(),
            extension: extension.map(str::to_owned),
        }
    }

    /// The id of `element` (an `II`), or `None` when it is null (`nullFlavor`) or has no root.
    fn from_element(element: &Element) -> Option<InstanceId> {
        if element.attr("nullFlavor").is_some() {
            return None;
        }
        let root = element.attr("root").filter(|r| !r.is_empty())?;
        Some(InstanceId::new(
            root,
            element.attr("extension").filter(|e| !e.is_empty()),
        ))
    }
}

/// Which ITI-44 interaction a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatientRegistryInteraction {
    /// `PRPA_IN201301UV02` Patient Registry Record Added.
    RecordAdded,
    /// `PRPA_IN201302UV02` Patient Registry Record Revised.
    RecordRevised,
    /// `PRPA_IN201304UV02` Patient Registry Duplicates Resolved (merge).
    DuplicatesResolved,
}

impl PatientRegistryInteraction {
    /// The interaction id, which is also the message's root element name.
    pub fn interaction_id(self) -> &'static str {
        match self {
            PatientRegistryInteraction::RecordAdded => "PRPA_IN201301UV02",
            PatientRegistryInteraction::RecordRevised => "PRPA_IN201302UV02",
            PatientRegistryInteraction::DuplicatesResolved => "PRPA_IN201304UV02",
        }
    }

    /// The interaction whose root element is `local_name`.
    pub fn from_root_name(local_name: &str) -> Option<PatientRegistryInteraction> {
        [
            PatientRegistryInteraction::RecordAdded,
            PatientRegistryInteraction::RecordRevised,
            PatientRegistryInteraction::DuplicatesResolved,
        ]
        .into_iter()
        .find(|i| i.interaction_id() == local_name)
    }
}

/// Basic demographics of `patientPerson` (the first value of each).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientPerson {
    /// `name/family`.
    pub family_name: Option<String>,
    /// `name/given` (the first one).
    pub given_name: Option<String>,
    /// `administrativeGenderCode/@code` (M, F, UN).
    pub gender: Option<String>,
    /// `birthTime/@value` (TS, e.g. `19630804`).
    pub birth_time: Option<String>,
}

/// An ITI-44 Patient Identity Feed message as read by the Document Registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientRegistryMessage {
    pub interaction: PatientRegistryInteraction,
    /// Transmission wrapper `id`: the message id echoed by the acknowledgement.
    pub message_id: Option<InstanceId>,
    /// `sender/device/id`.
    pub sender_device: Option<InstanceId>,
    /// `receiver/device/id` of every receiver.
    pub receiver_devices: Vec<InstanceId>,
    /// `registrationEvent/subject1/patient/id`: the patient's ids (one per domain).
    pub patient_ids: Vec<InstanceId>,
    /// `patient/patientPerson/asOtherIDs/id`: further ids of the person.
    pub other_ids: Vec<InstanceId>,
    /// `registrationEvent/replacementOf/priorRegistration/subject1/priorRegisteredRole/id`:
    /// the subsumed ids of a Duplicates Resolved message.
    pub replaced_ids: Vec<InstanceId>,
    pub person: PatientPerson,
}

/// Why an ITI-44 message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Hl7v3Error {
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// The body is not one of the three ITI-44 interactions.
    #[error("{found} is not an ITI-44 Patient Identity Feed message")]
    UnsupportedInteraction { found: String },
}

/// Where an element of interest sits, as the path of local names below the root element.
const MESSAGE_ID: &[&str] = &["id"];
const SENDER_DEVICE_ID: &[&str] = &["sender", "device", "id"];
const RECEIVER_DEVICE_ID: &[&str] = &["receiver", "device", "id"];
const REGISTRATION_EVENT: &[&str] = &["controlActProcess", "subject", "registrationEvent"];
const PATIENT: &[&str] = &["subject1", "patient"];
const PRIOR_REGISTERED_ROLE_ID: &[&str] = &[
    "replacementOf",
    "priorRegistration",
    "subject1",
    "priorRegisteredRole",
    "id",
];

/// Reads an ITI-44 message (ITI TF-2b 3.44.4.1.2 and 3.44.4.2.2) whose root element `start` was
/// just read from `reader` (e.g. the first child of the SOAP Body), up to and including its end.
pub fn read_patient_registry_message(
    reader: &mut XmlReader<'_>,
    start: &Element,
) -> Result<PatientRegistryMessage, Hl7v3Error> {
    let interaction = (start.name.ns == HL7V3_NS)
        .then(|| PatientRegistryInteraction::from_root_name(&start.name.local))
        .flatten()
        .ok_or_else(|| Hl7v3Error::UnsupportedInteraction {
            found: start.name.to_string(),
        })?;
    let mut message = PatientRegistryMessage {
        interaction,
        message_id: None,
        sender_device: None,
        receiver_devices: Vec::new(),
        patient_ids: Vec::new(),
        other_ids: Vec::new(),
        replaced_ids: Vec::new(),
        person: PatientPerson::default(),
    };
    walk_message(reader, start, &mut message)?;
    Ok(message)
}

/// What a message reader takes from the elements [`walk_message`] visits; `path` is the local
/// names of the open elements below the root, "" for elements of other namespaces (so that
/// nothing below them matches).
trait MessageVisitor {
    /// A start element.
    fn element(&mut self, path: &[String], element: &Element);
    /// True when the text content of the element at `path` is wanted.
    fn wants_text(&self, _path: &[String]) -> bool {
        false
    }
    /// The trimmed text content of a wanted element.
    fn text(&mut self, _path: &[String], _text: &str) {}
}

/// Walks the descendants of `start` (just read from `reader`) up to and including its end.
fn walk_message(
    reader: &mut XmlReader<'_>,
    start: &Element,
    visitor: &mut impl MessageVisitor,
) -> Result<(), XmlError> {
    if start.empty {
        return Ok(());
    }
    let mut path: Vec<String> = Vec::new();
    let mut text: Option<String> = None;
    loop {
        match reader.next_node()? {
            Some(Node::Start(element)) => {
                let local = if element.name.ns == HL7V3_NS {
                    element.name.local.to_string()
                } else {
                    String::new()
                };
                path.push(local);
                visitor.element(&path, &element);
                if element.empty {
                    path.pop();
                } else if visitor.wants_text(&path) {
                    text = Some(String::new());
                }
            }
            Some(Node::Text(t)) => {
                if let Some(buffer) = text.as_mut() {
                    buffer.push_str(&t);
                }
            }
            Some(Node::End(_)) => {
                if let Some(value) = text.take() {
                    visitor.text(&path, value.trim());
                }
                if path.pop().is_none() {
                    return Ok(());
                }
            }
            None => return Err(XmlError::UnexpectedEof(start.name.local.to_string())),
        }
    }
}

/// The rest of `path` below `registrationEvent/subject1/patient`, when `path` is there.
fn below_patient(path: &[String]) -> Option<&[String]> {
    let rest = strip(path, REGISTRATION_EVENT)?;
    strip(rest, PATIENT)
}

fn strip<'p>(path: &'p [String], prefix: &[&str]) -> Option<&'p [String]> {
    (path.len() >= prefix.len() && path.iter().zip(prefix).all(|(a, b)| a == b))
        .then(|| &path[prefix.len()..])
}

fn is(path: &[String], expected: &[&str]) -> bool {
    path.len() == expected.len() && path.iter().zip(expected).all(|(a, b)| a == b)
}

/// True for `patientPerson/name/family` and `patientPerson/name/given`.
fn is_name_part(path: &[String]) -> bool {
    below_patient(path).is_some_and(|rest| {
        is(rest, &["patientPerson", "name", "family"])
            || is(rest, &["patientPerson", "name", "given"])
    })
}

impl MessageVisitor for PatientRegistryMessage {
    fn element(&mut self, path: &[String], element: &Element) {
        if is(path, MESSAGE_ID) {
            self.message_id = InstanceId::from_element(element);
        } else if is(path, SENDER_DEVICE_ID) {
            self.sender_device = InstanceId::from_element(element);
        } else if is(path, RECEIVER_DEVICE_ID) {
            self.receiver_devices
                .extend(InstanceId::from_element(element));
        } else if let Some(rest) = below_patient(path) {
            let person = &mut self.person;
            if is(rest, &["id"]) {
                self.patient_ids.extend(InstanceId::from_element(element));
            } else if is(rest, &["patientPerson", "asOtherIDs", "id"]) {
                self.other_ids.extend(InstanceId::from_element(element));
            } else if is(rest, &["patientPerson", "administrativeGenderCode"]) {
                first(&mut person.gender, element.attr("code"));
            } else if is(rest, &["patientPerson", "birthTime"]) {
                first(&mut person.birth_time, element.attr("value"));
            }
        } else if strip(path, REGISTRATION_EVENT).is_some_and(|r| is(r, PRIOR_REGISTERED_ROLE_ID)) {
            self.replaced_ids.extend(InstanceId::from_element(element));
        }
    }

    fn wants_text(&self, path: &[String]) -> bool {
        is_name_part(path)
    }

    fn text(&mut self, path: &[String], value: &str) {
        let person = &mut self.person;
        match path.last().map(String::as_str) {
            Some("family") => first(&mut person.family_name, Some(value)),
            Some("given") => first(&mut person.given_name, Some(value)),
            _ => {}
        }
    }
}

/// Sets `slot` to `value` unless it already holds one or `value` is empty.
fn first(slot: &mut Option<String>, value: Option<&str>) {
    if slot.is_none() {
        *slot = value.filter(|v| !v.is_empty()).map(str::to_owned);
    }
}

/// `acknowledgement/typeCode` (HL7 AcknowledgementType, application acknowledgement codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcknowledgementType {
    /// Application Acknowledgement Accept.
    AA,
    /// Application Acknowledgement Error.
    AE,
    /// Application Acknowledgement Reject.
    AR,
}

impl AcknowledgementType {
    pub fn code(self) -> &'static str {
        match self {
            AcknowledgementType::AA => "AA",
            AcknowledgementType::AE => "AE",
            AcknowledgementType::AR => "AR",
        }
    }
}

/// One `acknowledgementDetail` (typeCode `E`): an optional code, the human-readable text and an
/// optional location (an XPath into the acknowledged message, ITI TF-2b 3.45.4.2.3).
///
/// A numeric code is an HL7 v2 table 0357 error code (`204` Unknown Key Identifier), as the
/// ITI transactions use; any other code is an HL7 AcknowledgementDetailCode (e.g. `INTERR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcknowledgementDetail {
    pub code: Option<String>,
    pub text: String,
    pub location: Option<String>,
}

/// OID of the HL7 AcknowledgementDetailCode code system.
const ACKNOWLEDGEMENT_DETAIL_CODE_SYSTEM: &str = "2.16.840.1.113883.5.1100";
/// OID of HL7 v2 table 0357 (Message Error Condition Codes).
const MESSAGE_ERROR_CONDITION_CODE_SYSTEM: &str = "2.16.840.1.113883.12.357";

impl AcknowledgementDetail {
    /// The code system of `code`: table 0357 for numeric codes, AcknowledgementDetailCode
    /// otherwise.
    fn code_system(code: &str) -> &'static str {
        if !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit()) {
            MESSAGE_ERROR_CONDITION_CODE_SYSTEM
        } else {
            ACKNOWLEDGEMENT_DETAIL_CODE_SYSTEM
        }
    }
}

/// The transmission wrapper and `acknowledgement` of a message answering another one: the
/// `MCCI_IN000002UV01` accept acknowledgement of an ITI-44 message (ITI TF-2b 3.44.4.1.3), or
/// the application acknowledgement inside an ITI-45 response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    /// Id of the acknowledgement itself.
    pub id: InstanceId,
    /// `creationTime/@value` (TS).
    pub creation_time: String,
    /// `receiver/device/id`: the sender of the acknowledged message (`nullFlavor` when unknown).
    pub receiver_device: Option<InstanceId>,
    /// `sender/device/id`: the receiver of the acknowledged message (`nullFlavor` when unknown).
    pub sender_device: Option<InstanceId>,
    pub type_code: AcknowledgementType,
    /// `targetMessage/id`: the id of the acknowledged message.
    pub target_message: Option<InstanceId>,
    pub details: Vec<AcknowledgementDetail>,
}

impl Acknowledgement {
    /// The acknowledgement of `message`: fresh id and creation time, devices swapped, the
    /// message id as target.
    pub fn answering(
        message: &PatientRegistryMessage,
        type_code: AcknowledgementType,
        details: Vec<AcknowledgementDetail>,
    ) -> Acknowledgement {
        Acknowledgement::addressed(
            message.message_id.as_ref(),
            message.sender_device.as_ref(),
            message.receiver_devices.first(),
            type_code,
            details,
        )
    }

    /// The acknowledgement of the message `message_id` sent by `sender_device` to
    /// `receiver_device`: fresh id and creation time, devices swapped.
    pub fn addressed(
        message_id: Option<&InstanceId>,
        sender_device: Option<&InstanceId>,
        receiver_device: Option<&InstanceId>,
        type_code: AcknowledgementType,
        details: Vec<AcknowledgementDetail>,
    ) -> Acknowledgement {
        Acknowledgement {
            receiver_device: sender_device.cloned(),
            sender_device: receiver_device.cloned(),
            target_message: message_id.cloned(),
            ..Acknowledgement::unaddressed(type_code, details)
        }
    }

    /// An acknowledgement of a message that could not be read: no devices, no target.
    pub fn unaddressed(
        type_code: AcknowledgementType,
        details: Vec<AcknowledgementDetail>,
    ) -> Acknowledgement {
        Acknowledgement {
            id: InstanceId::new(
                uuid::Uuid::new_v4().to_string().to_uppercase(),
                None::<&str>,
            ),
            creation_time: crate::hl7v2::utc_now(),
            receiver_device: None,
            sender_device: None,
            type_code,
            target_message: None,
            details,
        }
    }

    /// The `MCCI_IN000002UV01` element, declaring the HL7 v3 namespace (a SOAP Body child).
    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(1024);
        self.push_wrapper(&mut out, MCCI_IN000002UV01);
        out.push_str("</MCCI_IN000002UV01>");
        out
    }

    /// The start of the `interaction` element (declaring the HL7 v3 namespace), its transmission
    /// wrapper and the `acknowledgement`; the caller adds the rest and the end tag.
    fn push_wrapper(&self, out: &mut String, interaction: &str) {
        out.push('<');
        out.push_str(interaction);
        out.push_str(" xmlns=\"");
        out.push_str(HL7V3_NS);
        out.push_str("\" ITSVersion=\"XML_1.0\">");
        push_id(out, "id", Some(&self.id));
        push_empty(out, "creationTime", "value", &self.creation_time);
        push_id(
            out,
            "interactionId",
            Some(&InstanceId::new(INTERACTION_ID_ROOT, Some(interaction))),
        );
        push_empty(out, "processingCode", "code", "P");
        push_empty(out, "processingModeCode", "code", "T");
        push_empty(out, "acceptAckCode", "code", "NE");
        push_device(out, "receiver", "RCV", self.receiver_device.as_ref());
        push_device(out, "sender", "SND", self.sender_device.as_ref());
        out.push_str("<acknowledgement>");
        push_empty(out, "typeCode", "code", self.type_code.code());
        out.push_str("<targetMessage>");
        push_id(out, "id", self.target_message.as_ref());
        out.push_str("</targetMessage>");
        for detail in &self.details {
            out.push_str("<acknowledgementDetail typeCode=\"E\">");
            if let Some(code) = &detail.code {
                out.push_str("<code code=\"");
                out.push_str(&escape(code));
                out.push_str("\" codeSystem=\"");
                out.push_str(AcknowledgementDetail::code_system(code));
                out.push_str("\"/>");
            }
            push_text(out, "text", &detail.text);
            if let Some(location) = &detail.location {
                push_text(out, "location", location);
            }
            out.push_str("</acknowledgementDetail>");
        }
        out.push_str("</acknowledgement>");
    }
}

/// `<name>text</name>`, escaped.
fn push_text(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    out.push_str(&escape(text));
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// `<name root=".." extension=".."/>`, or `<name nullFlavor="NI"/>` without an id.
fn push_id(out: &mut String, name: &str, id: Option<&InstanceId>) {
    out.push('<');
    out.push_str(name);
    match id {
        Some(id) => {
            out.push_str(" root=\"");
            out.push_str(&escape(&id.root));
            out.push('"');
            if let Some(extension) = &id.extension {
                out.push_str(" extension=\"");
                out.push_str(&escape(extension));
                out.push('"');
            }
        }
        None => out.push_str(" nullFlavor=\"NI\""),
    }
    out.push_str("/>");
}

fn push_empty(out: &mut String, name: &str, attribute: &str, value: &str) {
    out.push('<');
    out.push_str(name);
    out.push(' ');
    out.push_str(attribute);
    out.push_str("=\"");
    out.push_str(&escape(value));
    out.push_str("\"/>");
}

fn push_device(out: &mut String, name: &str, type_code: &str, id: Option<&InstanceId>) {
    out.push('<');
    out.push_str(name);
    out.push_str(" typeCode=\"");
    out.push_str(type_code);
    out.push_str("\"><device classCode=\"DEV\" determinerCode=\"INSTANCE\">");
    push_id(out, "id", id);
    out.push_str("</device></");
    out.push_str(name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::Limits;

    /// A Patient Registry Record Added as a Patient Identity Source sends it to the registry,
    /// modelled on the ITI TF-2b 3.44 example: one affinity-domain id, a local id as another id.
    const RECORD_ADDED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<PRPA_IN201301UV02 xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ITSVersion="XML_1.0">
  <id root="1.2.840.114350.1.13.0.1.7.1.1" extension="35423"/>
  <creationTime value="20240115083000"/>
  <interactionId root="2.16.840.1.113883.1.6" extension="PRPA_IN201301UV02"/>
  <processingCode code="P"/>
  <processingModeCode code="T"/>
  <acceptAckCode code="AL"/>
  <receiver typeCode="RCV">
    <device classCode="DEV" determinerCode="INSTANCE">
      <id root="1.2.840.114350.1.13.999.234"/>
    </device>
  </receiver>
  <sender typeCode="SND">
    <device classCode="DEV" determinerCode="INSTANCE">
      <id root="1.2.840.114350.1.13.999.567"/>
    </device>
  </sender>
  <controlActProcess classCode="CACT" moodCode="EVN">
    <code code="PRPA_TE201301UV02" codeSystem="2.16.840.1.113883.1.6"/>
    <subject typeCode="SUBJ">
      <registrationEvent classCode="REG" moodCode="EVN">
        <id nullFlavor="NA"/>
        <statusCode code="active"/>
        <subject1 typeCode="SBJ">
          <patient classCode="PAT">
            <id root="1.3.6.1.4.1.21367.2005.13.20.1000" extension="IHEBLUE-1001"/>
            <statusCode code="active"/>
            <patientPerson>
              <name><given>Jim</given><given>T</given><family>Jones</family></name>
              <administrativeGenderCode code="M"/>
              <birthTime value="19630804"/>
              <addr><streetAddressLine>3443 North Arctic Avenue</streetAddressLine><city>Some City</city></addr>
              <asOtherIDs classCode="PAT">
                <id root="2.16.840.1.113883.4.1" extension="999-99-4452"/>
                <scopingOrganization classCode="ORG" determinerCode="INSTANCE">
                  <id root="2.16.840.1.113883.4.1"/>
                </scopingOrganization>
              </asOtherIDs>
            </patientPerson>
            <providerOrganization classCode="ORG" determinerCode="INSTANCE">
              <id root="1.2.840.114350.1.13.99998.8734"/>
              <name>Good Health Clinic</name>
            </providerOrganization>
          </patient>
        </subject1>
        <custodian typeCode="CST">
          <assignedEntity classCode="ASSIGNED">
            <id root="1.2.840.114350.1.13.99998.8734"/>
          </assignedEntity>
        </custodian>
      </registrationEvent>
    </subject>
  </controlActProcess>
</PRPA_IN201301UV02>"#;

    /// A Duplicates Resolved message: IHEBLUE-1002 is merged into IHEBLUE-1001.
    const DUPLICATES_RESOLVED: &str = r#"<hl7:PRPA_IN201304UV02 xmlns:hl7="urn:hl7-org:v3" ITSVersion="XML_1.0">
  <hl7:id root="1.2.840.114350.1.13.0.1.7.1.1" extension="35424"/>
  <hl7:creationTime value="20240116090000"/>
  <hl7:interactionId root="2.16.840.1.113883.1.6" extension="PRPA_IN201304UV02"/>
  <hl7:processingCode code="P"/>
  <hl7:processingModeCode code="T"/>
  <hl7:acceptAckCode code="AL"/>
  <hl7:receiver typeCode="RCV"><hl7:device classCode="DEV" determinerCode="INSTANCE"><hl7:id root="1.2.3.4.5.1"/></hl7:device></hl7:receiver>
  <hl7:sender typeCode="SND"><hl7:device classCode="DEV" determinerCode="INSTANCE"><hl7:id root="1.2.3.4.5.2"/></hl7:device></hl7:sender>
  <hl7:controlActProcess classCode="CACT" moodCode="EVN">
    <hl7:code code="PRPA_TE201304UV02" codeSystem="2.16.840.1.113883.1.6"/>
    <hl7:subject typeCode="SUBJ">
      <hl7:registrationEvent classCode="REG" moodCode="EVN">
        <hl7:id nullFlavor="NA"/>
        <hl7:statusCode code="active"/>
        <hl7:subject1 typeCode="SBJ">
          <hl7:patient classCode="PAT">
            <hl7:id root="1.3.6.1.4.1.21367.2005.13.20.1000" extension="IHEBLUE-1001"/>
            <hl7:statusCode code="active"/>
            <hl7:patientPerson><hl7:name><hl7:family>Jones</hl7:family></hl7:name></hl7:patientPerson>
          </hl7:patient>
        </hl7:subject1>
        <hl7:replacementOf typeCode="RPLC">
          <hl7:priorRegistration classCode="REG" moodCode="EVN">
            <hl7:statusCode code="obsolete"/>
            <hl7:subject1 typeCode="SBJ">
              <hl7:priorRegisteredRole classCode="PAT">
                <hl7:id root="1.3.6.1.4.1.21367.2005.13.20.1000" extension="IHEBLUE-1002"/>
              </hl7:priorRegisteredRole>
            </hl7:subject1>
          </hl7:priorRegistration>
        </hl7:replacementOf>
      </hl7:registrationEvent>
    </hl7:subject>
  </hl7:controlActProcess>
</hl7:PRPA_IN201304UV02>"#;

    fn read(xml: &str) -> Result<PatientRegistryMessage, Hl7v3Error> {
        let mut reader = XmlReader::new(xml.as_bytes(), Limits::default())?;
        let root = reader.root()?;
        read_patient_registry_message(&mut reader, &root)
    }

    #[test]
    fn record_added_yields_ids_devices_and_demographics() {
        let message = read(RECORD_ADDED).unwrap();
        assert_eq!(message.interaction, PatientRegistryInteraction::RecordAdded);
        assert_eq!(
            message.message_id,
            Some(InstanceId::new(
                "1.2.840.114350.1.13.0.1.7.1.1",
                Some("35423")
            ))
        );
        assert_eq!(
            message.sender_device,
            Some(InstanceId::new("1.2.840.114350.1.13.999.567", None))
        );
        assert_eq!(
            message.receiver_devices,
            [InstanceId::new("1.2.840.114350.1.13.999.234", None)]
        );
        assert_eq!(
            message.patient_ids,
            [InstanceId::new(
                "1.3.6.1.4.1.21367.2005.13.20.1000",
                Some("IHEBLUE-1001")
            )]
        );
        assert_eq!(
            message.other_ids,
            [InstanceId::new(
                "2.16.840.1.113883.4.1",
                Some("999-99-4452")
            )]
        );
        assert!(message.replaced_ids.is_empty());
        assert_eq!(
            message.person,
            PatientPerson {
                family_name: Some("Jones".into()),
                given_name: Some("Jim".into()),
                gender: Some("M".into()),
                birth_time: Some("19630804".into()),
            }
        );
    }

    #[test]
    fn reading_stops_at_the_end_of_the_message_element() {
        let body = format!(
            "<Body>{}<after/></Body>",
            RECORD_ADDED.replace(r#"<?xml version="1.0" encoding="UTF-8"?>"#, "")
        );
        let mut reader = XmlReader::new(body.as_bytes(), Limits::default()).unwrap();
        reader.root().unwrap();
        let start = reader.next_child().unwrap().unwrap();
        read_patient_registry_message(&mut reader, &start).unwrap();
        let next = reader.next_child().unwrap().unwrap();
        assert_eq!(next.name.local, "after");
    }

    #[test]
    fn duplicates_resolved_yields_surviving_and_subsumed_ids() {
        let message = read(DUPLICATES_RESOLVED).unwrap();
        assert_eq!(
            message.interaction,
            PatientRegistryInteraction::DuplicatesResolved
        );
        assert_eq!(
            message.patient_ids,
            [InstanceId::new(
                "1.3.6.1.4.1.21367.2005.13.20.1000",
                Some("IHEBLUE-1001")
            )]
        );
        assert_eq!(
            message.replaced_ids,
            [InstanceId::new(
                "1.3.6.1.4.1.21367.2005.13.20.1000",
                Some("IHEBLUE-1002")
            )]
        );
        assert_eq!(message.person.family_name.as_deref(), Some("Jones"));
    }

    #[test]
    fn record_revised_is_recognised() {
        let xml = RECORD_ADDED.replace("PRPA_IN201301UV02", "PRPA_IN201302UV02");
        let message = read(&xml).unwrap();
        assert_eq!(
            message.interaction,
            PatientRegistryInteraction::RecordRevised
        );
        assert_eq!(message.patient_ids.len(), 1);
    }

    #[test]
    fn ids_in_other_namespaces_and_null_ids_are_not_taken() {
        let xml = RECORD_ADDED.replace(
            r#"<id root="1.3.6.1.4.1.21367.2005.13.20.1000" extension="IHEBLUE-1001"/>"#,
            r#"<id nullFlavor="UNK"/><x:id xmlns:x="urn:other" root="9.9" extension="X"/>"#,
        );
        let message = read(&xml).unwrap();
        assert!(message.patient_ids.is_empty());
    }

    #[test]
    fn other_root_elements_are_unsupported_interactions() {
        let error = read(r#"<PRPA_IN201305UV02 xmlns="urn:hl7-org:v3"/>"#).unwrap_err();
        assert!(
            matches!(error, Hl7v3Error::UnsupportedInteraction { .. }),
            "{error}"
        );
        let error = read("<PRPA_IN201301UV02/>").unwrap_err();
        assert!(
            matches!(error, Hl7v3Error::UnsupportedInteraction { .. }),
            "{error}"
        );
    }

    #[test]
    fn truncated_message_is_an_xml_error() {
        let error = read(&RECORD_ADDED[..RECORD_ADDED.len() - 30]).unwrap_err();
        assert!(matches!(error, Hl7v3Error::Xml(_)), "{error}");
    }

    #[test]
    fn doctype_is_refused() {
        let xml = format!(
            "<!DOCTYPE x [<!ENTITY e \"e\">]>{}",
            RECORD_ADDED.replace(r#"<?xml version="1.0" encoding="UTF-8"?>"#, "")
        );
        assert!(matches!(
            read(&xml).unwrap_err(),
            Hl7v3Error::Xml(XmlError::DtdForbidden)
        ));
    }

    #[test]
    fn acknowledgement_aa_answers_the_message() {
        let message = read(RECORD_ADDED).unwrap();
        let ack = Acknowledgement::answering(&message, AcknowledgementType::AA, Vec::new());
        assert_eq!(ack.receiver_device, message.sender_device);
        assert_eq!(ack.sender_device, message.receiver_devices.first().cloned());
        assert_eq!(ack.creation_time.len(), 14);
        let xml = ack.to_xml();
        assert!(
            xml.starts_with(
                r#"<MCCI_IN000002UV01 xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0"><id root=""#
            ),
            "{xml}"
        );
        assert!(xml.contains(
            r#"<interactionId root="2.16.840.1.113883.1.6" extension="MCCI_IN000002UV01"/>"#
        ));
        assert!(xml.contains(r#"<receiver typeCode="RCV"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.840.114350.1.13.999.567"/></device></receiver>"#), "{xml}");
        assert!(xml.contains(r#"<sender typeCode="SND"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.840.114350.1.13.999.234"/></device></sender>"#), "{xml}");
        assert!(xml.contains(r#"<acknowledgement><typeCode code="AA"/><targetMessage><id root="1.2.840.114350.1.13.0.1.7.1.1" extension="35423"/></targetMessage></acknowledgement>"#), "{xml}");
        assert!(!xml.contains("acknowledgementDetail"));
        let mut reader = XmlReader::new(xml.as_bytes(), Limits::default()).unwrap();
        let root = reader.root().unwrap();
        reader.skip(&root).unwrap();
    }

    #[test]
    fn acknowledgement_ae_carries_escaped_detail_text() {
        let ack = Acknowledgement::unaddressed(
            AcknowledgementType::AE,
            vec![AcknowledgementDetail {
                code: Some("INTERR".into()),
                text: "store <down> & out".into(),
                location: None,
            }],
        );
        let xml = ack.to_xml();
        assert!(xml.contains(r#"<typeCode code="AE"/><targetMessage><id nullFlavor="NI"/></targetMessage><acknowledgementDetail typeCode="E"><code code="INTERR" codeSystem="2.16.840.1.113883.5.1100"/><text>store &lt;down&gt; &amp; out</text></acknowledgementDetail>"#), "{xml}");
        assert!(xml.contains(r#"<receiver typeCode="RCV"><device classCode="DEV" determinerCode="INSTANCE"><id nullFlavor="NI"/></device></receiver>"#));
    }
}
