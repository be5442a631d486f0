//! WS-Addressing action URIs of every IHE transaction the broker serves or calls.
//!
//! Values are those of the IHE WSDLs (`wsaw:Action` of each operation's input and output):
//! XDS.b_DocumentRegistry.wsdl, XDS.b_DocumentRepository.wsdl, XDS-I.b_ImagingDocumentSource.wsdl,
//! iti57.wsdl, iti62.wsdl, iti86.wsdl, and ITI TF-2 for the HL7 v3 PIX/PDQ transactions.

/// ITI-18 Registry Stored Query: request.
pub const REGISTRY_STORED_QUERY: &str = "urn:ihe:iti:2007:RegistryStoredQuery";
/// ITI-18 Registry Stored Query: response.
pub const REGISTRY_STORED_QUERY_RESPONSE: &str = "urn:ihe:iti:2007:RegistryStoredQueryResponse";

/// ITI-41 Provide and Register Document Set-b: request.
pub const PROVIDE_AND_REGISTER_DOCUMENT_SET_B: &str =
    "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b";
/// ITI-41 Provide and Register Document Set-b: response.
pub const PROVIDE_AND_REGISTER_DOCUMENT_SET_B_RESPONSE: &str =
    "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse";

/// ITI-42 Register Document Set-b: request.
pub const REGISTER_DOCUMENT_SET_B: &str = "urn:ihe:iti:2007:RegisterDocumentSet-b";
/// ITI-42 Register Document Set-b: response.
pub const REGISTER_DOCUMENT_SET_B_RESPONSE: &str = "urn:ihe:iti:2007:RegisterDocumentSet-bResponse";

/// ITI-43 Retrieve Document Set: request.
pub const RETRIEVE_DOCUMENT_SET: &str = "urn:ihe:iti:2007:RetrieveDocumentSet";
/// ITI-43 Retrieve Document Set: response.
pub const RETRIEVE_DOCUMENT_SET_RESPONSE: &str = "urn:ihe:iti:2007:RetrieveDocumentSetResponse";

/// ITI-57 Update Document Set: request.
pub const UPDATE_DOCUMENT_SET: &str = "urn:ihe:iti:2010:UpdateDocumentSet";
/// ITI-57 Update Document Set: response.
pub const UPDATE_DOCUMENT_SET_RESPONSE: &str = "urn:ihe:iti:2010:UpdateDocumentSetResponse";

/// ITI-62 Delete Document Set: request.
pub const DELETE_DOCUMENT_SET: &str = "urn:ihe:iti:2010:DeleteDocumentSet";
/// ITI-62 Delete Document Set: response.
pub const DELETE_DOCUMENT_SET_RESPONSE: &str = "urn:ihe:iti:2010:DeleteDocumentSetResponse";

/// ITI-86 Remove Documents: request.
pub const REMOVE_DOCUMENTS: &str = "urn:ihe:iti:2017:RemoveDocuments";
/// ITI-86 Remove Documents: response.
pub const REMOVE_DOCUMENTS_RESPONSE: &str = "urn:ihe:iti:2017:RemoveDocumentsResponse";

/// RAD-69 Retrieve Imaging Document Set: request.
pub const RETRIEVE_IMAGING_DOCUMENT_SET: &str = "urn:ihe:rad:2009:RetrieveImagingDocumentSet";
/// RAD-69 Retrieve Imaging Document Set: response (the WSDL reuses the ITI-43 response action).
pub const RETRIEVE_IMAGING_DOCUMENT_SET_RESPONSE: &str = RETRIEVE_DOCUMENT_SET_RESPONSE;

/// ITI-44 Patient Identity Feed HL7 V3: Patient Registry Record Added.
pub const PATIENT_REGISTRY_RECORD_ADDED: &str = "urn:hl7-org:v3:PRPA_IN201301UV02";
/// ITI-44 Patient Identity Feed HL7 V3: Patient Registry Record Revised.
pub const PATIENT_REGISTRY_RECORD_REVISED: &str = "urn:hl7-org:v3:PRPA_IN201302UV02";
/// ITI-44 Patient Identity Feed HL7 V3: Patient Registry Duplicates Resolved (merge).
pub const PATIENT_REGISTRY_DUPLICATES_RESOLVED: &str = "urn:hl7-org:v3:PRPA_IN201304UV02";
/// ITI-44 Patient Identity Feed HL7 V3: the MCCI acknowledgement answering every feed message.
pub const MCCI_ACKNOWLEDGEMENT: &str = "urn:hl7-org:v3:MCCI_IN000002UV01";

/// ITI-45 PIXV3 Query: Patient Registry Get Identifiers Query.
pub const PATIENT_REGISTRY_GET_IDENTIFIERS_QUERY: &str = "urn:hl7-org:v3:PRPA_IN201309UV02";
/// ITI-45 PIXV3 Query: Patient Registry Get Identifiers Query Response.
pub const PATIENT_REGISTRY_GET_IDENTIFIERS_QUERY_RESPONSE: &str =
    "urn:hl7-org:v3:PRPA_IN201310UV02";

/// Every (request, response) action pair of the transactions above.
pub const REQUEST_RESPONSE: &[(&str, &str)] = &[
    (REGISTRY_STORED_QUERY, REGISTRY_STORED_QUERY_RESPONSE),
    (
        PROVIDE_AND_REGISTER_DOCUMENT_SET_B,
        PROVIDE_AND_REGISTER_DOCUMENT_SET_B_RESPONSE,
    ),
    (REGISTER_DOCUMENT_SET_B, REGISTER_DOCUMENT_SET_B_RESPONSE),
    (RETRIEVE_DOCUMENT_SET, RETRIEVE_DOCUMENT_SET_RESPONSE),
    (UPDATE_DOCUMENT_SET, UPDATE_DOCUMENT_SET_RESPONSE),
    (DELETE_DOCUMENT_SET, DELETE_DOCUMENT_SET_RESPONSE),
    (REMOVE_DOCUMENTS, REMOVE_DOCUMENTS_RESPONSE),
    (
        RETRIEVE_IMAGING_DOCUMENT_SET,
        RETRIEVE_IMAGING_DOCUMENT_SET_RESPONSE,
    ),
    (PATIENT_REGISTRY_RECORD_ADDED, MCCI_ACKNOWLEDGEMENT),
    (PATIENT_REGISTRY_RECORD_REVISED, MCCI_ACKNOWLEDGEMENT),
    (PATIENT_REGISTRY_DUPLICATES_RESOLVED, MCCI_ACKNOWLEDGEMENT),
    (
        PATIENT_REGISTRY_GET_IDENTIFIERS_QUERY,
        PATIENT_REGISTRY_GET_IDENTIFIERS_QUERY_RESPONSE,
    ),
];

/// The response action answering a request action, or `None` when the request action is not one
/// of the transactions above.
pub fn response_for(request_action: &str) -> Option<&'static str> {
    REQUEST_RESPONSE
        .iter()
        .find(|(request, _)| *request == request_action)
        .map(|(_, response)| *response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rad_69_is_answered_with_the_iti_43_response_action() {
        assert_eq!(
            response_for(RETRIEVE_IMAGING_DOCUMENT_SET),
            Some("urn:ihe:iti:2007:RetrieveDocumentSetResponse")
        );
    }

    #[test]
    fn iti_44_feeds_are_answered_with_an_mcci_acknowledgement() {
        for feed in [
            PATIENT_REGISTRY_RECORD_ADDED,
            PATIENT_REGISTRY_RECORD_REVISED,
            PATIENT_REGISTRY_DUPLICATES_RESOLVED,
        ] {
            assert_eq!(response_for(feed), Some(MCCI_ACKNOWLEDGEMENT));
        }
    }

    #[test]
    fn unknown_request_action_has_no_response() {
        assert_eq!(response_for("urn:example:Nothing"), None);
        assert_eq!(response_for(REGISTRY_STORED_QUERY_RESPONSE), None);
    }
}
