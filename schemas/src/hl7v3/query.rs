//! ITI-45 PIXV3 Query (ITI TF-2b 3.45): the Patient Registry Get Identifiers Query
//! `PRPA_IN201309UV02` (3.45.4.1) and its response `PRPA_IN201310UV02` (3.45.4.2).
//!
//! Reading keeps the message id, the devices, the `queryId`, the `patientIdentifier` values and
//! the `dataSource` values (the "what domains returned" filter) with their repetition numbers,
//! which the error locations of 3.45.4.2.3 name. The response echoes them in `queryByParameter`.

use super::{
    Acknowledgement, HL7V3_NS, Hl7v3Error, INTERACTION_ID_ROOT, InstanceId, MessageVisitor, is,
    push_empty, push_id, push_text, walk_message,
};
use crate::xml::{Element, XmlReader, escape};

/// Interaction id (and root element name) of the query.
pub const PRPA_IN201309UV02: &str = "PRPA_IN201309UV02";
/// Interaction id (and root element name) of the response.
pub const PRPA_IN201310UV02: &str = "PRPA_IN201310UV02";
/// XPath of the queried-for patient identifier, the location of errors about it.
pub const PATIENT_IDENTIFIER_LOCATION: &str = "/hl7:PRPA_IN201309UV02/hl7:controlActProcess/\
     hl7:queryByParameter/hl7:parameterList/hl7:patientIdentifier/hl7:value";

const MESSAGE_ID: &[&str] = &["id"];
const SENDER_DEVICE_ID: &[&str] = &["sender", "device", "id"];
const RECEIVER_DEVICE_ID: &[&str] = &["receiver", "device", "id"];
const QUERY_ID: &[&str] = &["controlActProcess", "queryByParameter", "queryId"];
const PARAMETER_LIST: &[&str] = &["controlActProcess", "queryByParameter", "parameterList"];

/// One `dataSource/value` of the query: a domain whose identifiers are wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSource {
    /// Repetition number of the `dataSource` parameter (1-based).
    pub repetition: usize,
    /// `value/@root`: the assigning authority of the domain.
    pub domain: String,
}

impl DataSource {
    /// XPath of this value, the location of errors about it (ITI TF-2b 3.45.4.2.3 case 5).
    pub fn location(&self) -> String {
        format!(
            "/hl7:PRPA_IN201309UV02/hl7:controlActProcess/hl7:queryByParameter/\
             hl7:parameterList/hl7:dataSource[{}]/hl7:value",
            self.repetition
        )
    }
}

/// An ITI-45 Get Identifiers Query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentifiersQuery {
    /// Transmission wrapper `id`: the message id echoed by the response.
    pub message_id: Option<InstanceId>,
    /// `sender/device/id`.
    pub sender_device: Option<InstanceId>,
    /// `receiver/device/id` of every receiver.
    pub receiver_devices: Vec<InstanceId>,
    /// `queryByParameter/queryId`, echoed in `queryAck`.
    pub query_id: Option<InstanceId>,
    /// `parameterList/patientIdentifier/value` (the transaction allows exactly one).
    pub patient_identifiers: Vec<InstanceId>,
    /// `parameterList/dataSource/value`: the domains whose identifiers are wanted (none: all).
    pub data_sources: Vec<DataSource>,
    /// Number of `dataSource` parameters seen so far.
    data_source_count: usize,
}

/// Reads an ITI-45 query (ITI TF-2b 3.45.4.1.2) whose root element `start` was just read from
/// `reader` (e.g. the first child of the SOAP Body), up to and including its end.
pub fn read_identifiers_query(
    reader: &mut XmlReader<'_>,
    start: &Element,
) -> Result<IdentifiersQuery, Hl7v3Error> {
    if !start.is(HL7V3_NS, PRPA_IN201309UV02) {
        return Err(Hl7v3Error::UnsupportedInteraction {
            found: start.name.to_string(),
        });
    }
    let mut query = IdentifiersQuery::default();
    walk_message(reader, start, &mut query)?;
    Ok(query)
}

impl MessageVisitor for IdentifiersQuery {
    fn element(&mut self, path: &[String], element: &Element) {
        if is(path, MESSAGE_ID) {
            self.message_id = InstanceId::from_element(element);
        } else if is(path, SENDER_DEVICE_ID) {
            self.sender_device = InstanceId::from_element(element);
        } else if is(path, RECEIVER_DEVICE_ID) {
            self.receiver_devices
                .extend(InstanceId::from_element(element));
        } else if is(path, QUERY_ID) {
            self.query_id = InstanceId::from_element(element);
        } else if let Some(rest) = super::strip(path, PARAMETER_LIST) {
            if is(rest, &["dataSource"]) {
                self.data_source_count += 1;
            } else if is(rest, &["dataSource", "value"]) {
                let repetition = self.data_source_count;
                self.data_sources
                    .extend(InstanceId::from_element(element).map(|id| DataSource {
                        repetition,
                        domain: id.root,
                    }));
            } else if is(rest, &["patientIdentifier", "value"]) {
                self.patient_identifiers
                    .extend(InstanceId::from_element(element));
            }
        }
    }
}

/// `queryAck/queryResponseCode` (HL7 QueryResponse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryResponseCode {
    /// Data found, no errors.
    OK,
    /// No data found, no errors.
    NF,
    /// Application error.
    AE,
    /// Query parameter error.
    QE,
}

impl QueryResponseCode {
    pub fn code(self) -> &'static str {
        match self {
            QueryResponseCode::OK => "OK",
            QueryResponseCode::NF => "NF",
            QueryResponseCode::AE => "AE",
            QueryResponseCode::QE => "QE",
        }
    }
}

/// An ITI-45 response `PRPA_IN201310UV02` (ITI TF-2b 3.45.4.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifiersQueryResponse {
    /// Transmission wrapper and application acknowledgement (AA, or AE with details).
    pub acknowledgement: Acknowledgement,
    pub query_response_code: QueryResponseCode,
    /// The person's identifiers in the wanted domains, as `patient/id`; none: no
    /// `registrationEvent` is returned.
    pub patient_ids: Vec<InstanceId>,
    /// `registrationEvent/custodian/assignedEntity/id`: the PIX Manager's organization.
    pub custodian: InstanceId,
    /// The query answered (echoed in `queryAck` and `queryByParameter`); `None` when it could
    /// not be read.
    pub query: Option<IdentifiersQuery>,
}

impl IdentifiersQueryResponse {
    /// The `PRPA_IN201310UV02` element, declaring the HL7 v3 namespace (a SOAP Body child).
    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(2048);
        self.acknowledgement
            .push_wrapper(&mut out, PRPA_IN201310UV02);
        out.push_str("<controlActProcess classCode=\"CACT\" moodCode=\"EVN\">");
        out.push_str("<code code=\"PRPA_TE201310UV02\" codeSystem=\"");
        out.push_str(INTERACTION_ID_ROOT);
        out.push_str("\"/>");
        if !self.patient_ids.is_empty() {
            self.push_registration_event(&mut out);
        }
        let query = self.query.as_ref();
        out.push_str("<queryAck>");
        push_id(&mut out, "queryId", query.and_then(|q| q.query_id.as_ref()));
        push_empty(&mut out, "statusCode", "code", "deliveredResponse");
        push_empty(
            &mut out,
            "queryResponseCode",
            "code",
            self.query_response_code.code(),
        );
        out.push_str("</queryAck>");
        if let Some(query) = query {
            push_query_by_parameter(&mut out, query);
        }
        out.push_str("</controlActProcess></");
        out.push_str(PRPA_IN201310UV02);
        out.push('>');
        out
    }

    fn push_registration_event(&self, out: &mut String) {
        out.push_str(
            "<subject typeCode=\"SUBJ\"><registrationEvent classCode=\"REG\" moodCode=\"EVN\">\
             <id nullFlavor=\"NA\"/><statusCode code=\"active\"/>\
             <subject1 typeCode=\"SBJ\"><patient classCode=\"PAT\">",
        );
        for id in &self.patient_ids {
            push_id(out, "id", Some(id));
        }
        out.push_str(
            "<statusCode code=\"active\"/>\
             <patientPerson classCode=\"PSN\" determinerCode=\"INSTANCE\">\
             <name nullFlavor=\"NA\"/></patientPerson></patient></subject1>\
             <custodian typeCode=\"CST\"><assignedEntity classCode=\"ASSIGNED\">",
        );
        push_id(out, "id", Some(&self.custodian));
        out.push_str("</assignedEntity></custodian></registrationEvent></subject>");
    }
}

/// The query's `queryByParameter` as echoed in the response.
fn push_query_by_parameter(out: &mut String, query: &IdentifiersQuery) {
    out.push_str("<queryByParameter>");
    push_id(out, "queryId", query.query_id.as_ref());
    push_empty(out, "statusCode", "code", "new");
    push_empty(out, "responsePriorityCode", "code", "I");
    out.push_str("<parameterList>");
    for source in &query.data_sources {
        out.push_str("<dataSource><value root=\"");
        out.push_str(&escape(&source.domain));
        out.push_str("\"/>");
        push_text(out, "semanticsText", "DataSource.id");
        out.push_str("</dataSource>");
    }
    for id in &query.patient_identifiers {
        out.push_str("<patientIdentifier>");
        push_id(out, "value", Some(id));
        push_text(out, "semanticsText", "Patient.id");
        out.push_str("</patientIdentifier>");
    }
    out.push_str("</parameterList></queryByParameter>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hl7v3::{AcknowledgementDetail, AcknowledgementType};
    use crate::xml::Limits;

    /// A Get Identifiers Query modelled on the ITI TF-2b 3.45 example: one patient identifier,
    /// two data sources (the second with a null value).
    const QUERY: &str = r#"<PRPA_IN201309UV02 xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0">
  <id root="1.2.840.114350.1.13.0.1.7.1.1" extension="35423"/>
  <creationTime value="20240115083000"/>
  <interactionId root="2.16.840.1.113883.1.6" extension="PRPA_IN201309UV02"/>
  <processingCode code="P"/>
  <processingModeCode code="T"/>
  <acceptAckCode code="AL"/>
  <receiver typeCode="RCV"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.840.114350.1.13.99999.4567"/></device></receiver>
  <sender typeCode="SND"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.2.840.114350.1.13.99997.2.7788"/></device></sender>
  <controlActProcess classCode="CACT" moodCode="EVN">
    <code code="PRPA_TE201309UV02" codeSystem="2.16.840.1.113883.1.6"/>
    <queryByParameter>
      <queryId root="1.2.840.114350.1.13.28.1.18.5.999" extension="18204"/>
      <statusCode code="new"/>
      <responsePriorityCode code="I"/>
      <parameterList>
        <dataSource><value root="2.16.840.1.113883.3.72.5.9.2"/><semanticsText>DataSource.id</semanticsText></dataSource>
        <dataSource><value nullFlavor="NI"/></dataSource>
        <dataSource><value root="2.16.840.1.113883.3.72.5.9.3"/></dataSource>
        <patientIdentifier>
          <value root="2.16.840.1.113883.3.72.5.9.1" extension="500000000"/>
          <semanticsText>Patient.id</semanticsText>
        </patientIdentifier>
      </parameterList>
    </queryByParameter>
  </controlActProcess>
</PRPA_IN201309UV02>"#;

    fn read(xml: &str) -> Result<IdentifiersQuery, Hl7v3Error> {
        let mut reader = XmlReader::new(xml.as_bytes(), Limits::default())?;
        let root = reader.root()?;
        read_identifiers_query(&mut reader, &root)
    }

    #[test]
    fn query_yields_patient_identifier_data_sources_and_query_id() {
        let query = read(QUERY).unwrap();
        assert_eq!(
            query.patient_identifiers,
            [InstanceId::new(
                "2.16.840.1.113883.3.72.5.9.1",
                Some("500000000")
            )]
        );
        assert_eq!(
            query.data_sources,
            [
                DataSource {
                    repetition: 1,
                    domain: "2.16.840.1.113883.3.72.5.9.2".into()
                },
                DataSource {
                    repetition: 3,
                    domain: "2.16.840.1.113883.3.72.5.9.3".into()
                },
            ]
        );
        assert_eq!(
            query.query_id,
            Some(InstanceId::new(
                "1.2.840.114350.1.13.28.1.18.5.999",
                Some("18204")
            ))
        );
        assert_eq!(
            query.sender_device,
            Some(InstanceId::new("1.2.840.114350.1.13.99997.2.7788", None))
        );
        assert_eq!(
            query.data_sources[1].location(),
            "/hl7:PRPA_IN201309UV02/hl7:controlActProcess/hl7:queryByParameter/\
             hl7:parameterList/hl7:dataSource[3]/hl7:value"
        );
    }

    #[test]
    fn other_root_elements_are_unsupported_interactions() {
        let error = read(r#"<PRPA_IN201301UV02 xmlns="urn:hl7-org:v3"/>"#).unwrap_err();
        assert!(
            matches!(error, Hl7v3Error::UnsupportedInteraction { .. }),
            "{error}"
        );
    }

    #[test]
    fn truncated_query_is_an_xml_error() {
        let error = read(&QUERY[..QUERY.len() - 40]).unwrap_err();
        assert!(matches!(error, Hl7v3Error::Xml(_)), "{error}");
    }

    #[test]
    fn response_ok_carries_the_ids_the_query_ack_and_the_echoed_parameters() {
        let query = read(QUERY).unwrap();
        let response = IdentifiersQueryResponse {
            acknowledgement: Acknowledgement::addressed(
                query.message_id.as_ref(),
                query.sender_device.as_ref(),
                query.receiver_devices.first(),
                AcknowledgementType::AA,
                Vec::new(),
            ),
            query_response_code: QueryResponseCode::OK,
            patient_ids: vec![InstanceId::new("2.16.840.1.113883.3.72.5.9.2", Some("B-7"))],
            custodian: InstanceId::new("1.2.3", None),
            query: Some(query),
        };
        let xml = response.to_xml();
        assert!(
            xml.starts_with(r#"<PRPA_IN201310UV02 xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0">"#),
            "{xml}"
        );
        assert!(xml.contains(
            r#"<interactionId root="2.16.840.1.113883.1.6" extension="PRPA_IN201310UV02"/>"#
        ));
        assert!(xml.contains(r#"<acknowledgement><typeCode code="AA"/><targetMessage><id root="1.2.840.114350.1.13.0.1.7.1.1" extension="35423"/></targetMessage></acknowledgement>"#), "{xml}");
        assert!(xml.contains(r#"<patient classCode="PAT"><id root="2.16.840.1.113883.3.72.5.9.2" extension="B-7"/><statusCode code="active"/>"#), "{xml}");
        assert!(xml.contains(r#"<custodian typeCode="CST"><assignedEntity classCode="ASSIGNED"><id root="1.2.3"/></assignedEntity></custodian>"#));
        assert!(xml.contains(r#"<queryAck><queryId root="1.2.840.114350.1.13.28.1.18.5.999" extension="18204"/><statusCode code="deliveredResponse"/><queryResponseCode code="OK"/></queryAck>"#), "{xml}");
        assert!(xml.contains(r#"<patientIdentifier><value root="2.16.840.1.113883.3.72.5.9.1" extension="500000000"/>"#));
        assert!(xml.contains(r#"<dataSource><value root="2.16.840.1.113883.3.72.5.9.3"/>"#));
        let mut reader = XmlReader::new(xml.as_bytes(), Limits::default()).unwrap();
        let root = reader.root().unwrap();
        reader.skip(&root).unwrap();
    }

    #[test]
    fn response_ae_has_no_registration_event_and_carries_the_error_location() {
        let response = IdentifiersQueryResponse {
            acknowledgement: Acknowledgement::unaddressed(
                AcknowledgementType::AE,
                vec![AcknowledgementDetail {
                    code: Some("204".into()),
                    text: "unknown patient".into(),
                    location: Some(PATIENT_IDENTIFIER_LOCATION.into()),
                }],
            ),
            query_response_code: QueryResponseCode::AE,
            patient_ids: Vec::new(),
            custodian: InstanceId::new("1.2.3", None),
            query: None,
        };
        let xml = response.to_xml();
        assert!(xml.contains(r#"<acknowledgementDetail typeCode="E"><code code="204" codeSystem="2.16.840.1.113883.12.357"/><text>unknown patient</text><location>/hl7:PRPA_IN201309UV02/hl7:controlActProcess/hl7:queryByParameter/hl7:parameterList/hl7:patientIdentifier/hl7:value</location></acknowledgementDetail>"#), "{xml}");
        assert!(!xml.contains("registrationEvent"));
        assert!(!xml.contains("<queryByParameter>"));
        assert!(xml.contains(r#"<queryId nullFlavor="NI"/><statusCode code="deliveredResponse"/><queryResponseCode code="AE"/>"#));
    }
}
