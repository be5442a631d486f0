use super::*;

const RSQ_WITH_ENVELOPE_PREFIXES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"
            xmlns:a="http://www.w3.org/2005/08/addressing"
            xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
            xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">
  <s:Header>
    <a:Action s:mustUnderstand="1">
        urn:ihe:iti:2007:RegistryStoredQuery
    </a:Action>
    <a:MessageID>urn:uuid:2d79d030-91c0-4533-b011-92bdaa03c433</a:MessageID>
    <a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>
    <a:From><a:Address>http://consumer.example/</a:Address><a:ReferenceParameters><x xmlns="urn:x">1</x></a:ReferenceParameters></a:From>
    <a:To s:mustUnderstand="true">http://registry.example/rsq</a:To>
    <ActivityId xmlns="http://schemas.microsoft.com/2004/09/ServiceModel/Diagnostics">a5d0</ActivityId>
  </s:Header>
  <s:Body>
    <query:AdhocQueryRequest>
      <query:ResponseOption returnType="LeafClass" returnComposedObjects="true"/>
      <rim:AdhocQuery id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"/>
    </query:AdhocQueryRequest>
  </s:Body>
</s:Envelope>"#;

fn read(input: &str) -> Result<SoapRequest<'_>, SoapError> {
    read_envelope(input.as_bytes(), Limits::default())
}

fn envelope_with_header(header_block: &str) -> String {
    format!(
        r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing"><env:Header><wsa:Action>urn:ihe:iti:2007:RegistryStoredQuery</wsa:Action>{header_block}</env:Header><env:Body><q xmlns="urn:q"/></env:Body></env:Envelope>"#
    )
}

#[test]
fn body_parser_continues_with_prefixes_declared_on_the_envelope() {
    let mut request = read(RSQ_WITH_ENVELOPE_PREFIXES).unwrap();
    assert!(request.body.is(
        "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0",
        "AdhocQueryRequest"
    ));
    let option = request.reader.next_child().unwrap().unwrap();
    assert!(option.is(
        "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0",
        "ResponseOption"
    ));
    assert_eq!(option.attr("returnType"), Some("LeafClass"));
    let query = request.reader.next_child().unwrap().unwrap();
    assert!(query.is("urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0", "AdhocQuery"));
    assert!(request.reader.next_child().unwrap().is_none());
}

#[test]
fn addressing_headers_are_read_and_trimmed() {
    let request = read(RSQ_WITH_ENVELOPE_PREFIXES).unwrap();
    assert_eq!(
        request.headers,
        AddressingHeaders {
            action: action::REGISTRY_STORED_QUERY.into(),
            message_id: Some("urn:uuid:2d79d030-91c0-4533-b011-92bdaa03c433".into()),
            to: Some("http://registry.example/rsq".into()),
            reply_to: Some(WSA_ANONYMOUS.into()),
            relates_to: None,
            from: Some("http://consumer.example/".into()),
            fault_to: None,
        }
    );
}

#[test]
fn soap_1_1_envelope_is_a_version_mismatch() {
    let soap11 = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><q xmlns="urn:q"/></soap:Body></soap:Envelope>"#;
    let error = read(soap11).err().unwrap();
    assert!(
        matches!(&error, SoapError::VersionMismatch { found } if found == SOAP11_NS),
        "{error:?}"
    );
    let fault = error.to_fault();
    assert_eq!(fault.code, FaultCode::VersionMismatch);
    assert!(fault.to_envelope(None).contains("<env:Upgrade>"));
}

#[test]
fn must_understand_on_an_unknown_header_is_refused() {
    let input = envelope_with_header(
        r#"<x:Custom xmlns:x="urn:custom" env:mustUnderstand="true">v</x:Custom>"#,
    );
    let error = read(&input).err().unwrap();
    assert!(
        matches!(&error, SoapError::MustUnderstand { header } if header.ns == "urn:custom" && header.local == "Custom"),
        "{error:?}"
    );
}

#[test]
fn must_understand_on_ws_security_is_refused() {
    let input = envelope_with_header(
        r#"<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" env:mustUnderstand="1"><wsse:UsernameToken/></wsse:Security>"#,
    );
    assert!(matches!(
        read(&input),
        Err(SoapError::MustUnderstand { header }) if header.local == "Security"
    ));
}

#[test]
fn unknown_header_without_must_understand_is_ignored() {
    let input = envelope_with_header(
        r#"<x:Custom xmlns:x="urn:custom" env:mustUnderstand="false"><deep/></x:Custom><y:Other xmlns:y="urn:y"/>"#,
    );
    assert!(read(&input).is_ok());
}

#[test]
fn must_understand_header_for_another_role_is_ignored() {
    let input = envelope_with_header(
        r#"<x:Custom xmlns:x="urn:custom" env:mustUnderstand="true" env:role="http://www.w3.org/2003/05/soap-envelope/role/none"/>"#,
    );
    assert!(read(&input).is_ok());
}

#[test]
fn missing_action_is_refused_with_message_addressing_header_required() {
    let input = r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Header/><env:Body><q xmlns="urn:q"/></env:Body></env:Envelope>"#;
    let error = read(input).err().unwrap();
    assert!(matches!(error, SoapError::MissingAction), "{error:?}");
    let fault = error.to_fault();
    assert_eq!(fault.code, FaultCode::Sender);
    assert_eq!(
        fault.subcode,
        Some((WSA_NS.into(), "MessageAddressingHeaderRequired".into()))
    );
    assert_eq!(fault.action(), WSA_FAULT_ACTION);
}

#[test]
fn duplicate_action_is_an_invalid_addressing_header() {
    let input = envelope_with_header("<wsa:Action>urn:other</wsa:Action>");
    let error = read(&input).err().unwrap();
    assert!(matches!(&error, SoapError::DuplicateHeader { header } if header == "Action"));
    assert_eq!(
        error.to_fault().subcode,
        Some((WSA_NS.into(), WSA_INVALID_ADDRESSING_HEADER.into()))
    );
}

#[test]
fn unclosed_tag_is_a_malformed_envelope() {
    // Unclosed tags inside the Body are found by the body parser reading on from `reader`.
    let input = r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Header><x:Custom xmlns:x="urn:x">"#;
    let error = read(input).err().unwrap();
    assert!(matches!(error, SoapError::Xml(_)), "{error:?}");
    assert_eq!(error.to_fault().code, FaultCode::Sender);
    let mismatched = r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Header></env:Body></env:Envelope>"#;
    assert!(matches!(read(mismatched), Err(SoapError::Xml(_))));
}

#[test]
fn billion_laughs_in_an_envelope_is_dtd_forbidden() {
    let input = r#"<?xml version="1.0"?>
<!DOCTYPE env:Envelope [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><q xmlns="urn:q">&lol2;</q></env:Body></env:Envelope>"#;
    assert!(matches!(
        read(input),
        Err(SoapError::Xml(XmlError::DtdForbidden))
    ));
}

#[test]
fn depth_bomb_in_a_header_is_too_deep() {
    let bomb = format!(
        r#"<x:Bomb xmlns:x="urn:x">{}{}</x:Bomb>"#,
        "<x:a>".repeat(200),
        "</x:a>".repeat(200)
    );
    let input = envelope_with_header(&bomb);
    assert!(matches!(
        read(&input),
        Err(SoapError::Xml(XmlError::TooDeep { limit: 64, .. }))
    ));
}

#[test]
fn oversized_envelope_is_too_large() {
    let limits = Limits {
        max_bytes: 100,
        ..Limits::default()
    };
    assert!(matches!(
        read_envelope(RSQ_WITH_ENVELOPE_PREFIXES.as_bytes(), limits),
        Err(SoapError::Xml(XmlError::TooLarge { limit: 100, .. }))
    ));
}

#[test]
fn root_other_than_envelope_is_not_an_envelope() {
    assert!(matches!(
        read(r#"<q xmlns="urn:q"/>"#),
        Err(SoapError::NotAnEnvelope { found }) if found.local == "q"
    ));
}

#[test]
fn envelope_without_body_is_missing_body() {
    let header_only = r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Header/></env:Envelope>"#;
    assert!(matches!(read(header_only), Err(SoapError::MissingBody)));
    let empty = r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"/>"#;
    assert!(matches!(read(empty), Err(SoapError::MissingBody)));
}

#[test]
fn empty_body_is_refused() {
    let input = envelope_with_header("").replace("<q xmlns=\"urn:q\"/>", "  ");
    assert!(matches!(read(&input), Err(SoapError::EmptyBody)));
    let self_closed = envelope_with_header("")
        .replace("<env:Body><q xmlns=\"urn:q\"/></env:Body>", "<env:Body/>");
    assert!(matches!(read(&self_closed), Err(SoapError::EmptyBody)));
}

#[test]
fn response_headers_round_trip_through_write_and_read() {
    let request = read(RSQ_WITH_ENVELOPE_PREFIXES).unwrap();
    let mut headers =
        ResponseHeaders::answering(&request.headers, action::REGISTRY_STORED_QUERY_RESPONSE);
    headers.to = Some("http://consumer.example/reply?a=1&b=2".into());
    let body = r#"<rs:RegistryResponse xmlns:rs="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0" status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"/>"#;
    let envelope = write_envelope(&headers, body);
    assert_eq!(
        envelope,
        format!("{}{body}{ENVELOPE_SUFFIX}", envelope_prefix(&headers))
    );
    let response = read_response_envelope(envelope.as_bytes(), Limits::default()).unwrap();
    assert_eq!(
        response.headers.action,
        action::REGISTRY_STORED_QUERY_RESPONSE
    );
    assert_eq!(
        response.headers.message_id.as_deref(),
        Some(headers.message_id.as_str())
    );
    assert_eq!(
        response.headers.relates_to.as_deref(),
        Some("urn:uuid:2d79d030-91c0-4533-b011-92bdaa03c433")
    );
    assert_eq!(response.headers.to, headers.to);
    assert!(response.body.is(
        "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0",
        "RegistryResponse"
    ));
}

#[test]
fn answering_an_anonymous_reply_to_omits_wsa_to() {
    let request = read(RSQ_WITH_ENVELOPE_PREFIXES).unwrap();
    let headers = ResponseHeaders::answering(&request.headers, "urn:r");
    assert_eq!(headers.to, None);
    assert!(headers.message_id.starts_with("urn:uuid:"));
    assert_ne!(headers.message_id, new_message_id());
}

#[test]
fn request_envelope_marks_action_and_to_must_understand() {
    let (envelope, message_id) = write_request_envelope(
        action::RETRIEVE_DOCUMENT_SET,
        "http://repository.example/ret",
        r#"<x:RetrieveDocumentSetRequest xmlns:x="urn:ihe:iti:xds-b:2007"/>"#,
    );
    assert!(envelope.contains(&format!(
        "<wsa:Action env:mustUnderstand=\"true\">{}</wsa:Action>",
        action::RETRIEVE_DOCUMENT_SET
    )));
    assert!(
        envelope
            .contains("<wsa:To env:mustUnderstand=\"true\">http://repository.example/ret</wsa:To>")
    );
    let request = read(&envelope).unwrap();
    assert_eq!(request.headers.action, action::RETRIEVE_DOCUMENT_SET);
    assert_eq!(request.headers.message_id, Some(message_id));
    assert_eq!(request.headers.reply_to.as_deref(), Some(WSA_ANONYMOUS));
    assert_eq!(
        request.headers.to.as_deref(),
        Some("http://repository.example/ret")
    );
}

#[test]
fn action_not_supported_fault_has_the_addressing_subcode_and_action() {
    let error = SoapError::ActionNotSupported {
        action: "urn:bogus".into(),
    };
    let fault = Fault::from(&error);
    assert_eq!(fault.code, FaultCode::Sender);
    assert_eq!(fault.http_status(), 400);
    let envelope = fault.to_envelope(Some("urn:uuid:req"));
    assert!(envelope.contains("<env:Value>env:Sender</env:Value>"));
    assert!(envelope.contains(&format!(
        "<env:Subcode><env:Value xmlns:sc=\"{WSA_NS}\">sc:ActionNotSupported</env:Value></env:Subcode>"
    )));
    assert!(envelope.contains(&format!(
        "<wsa:Action env:mustUnderstand=\"true\">{WSA_FAULT_ACTION}</wsa:Action>"
    )));
    assert!(envelope.contains("<wsa:RelatesTo>urn:uuid:req</wsa:RelatesTo>"));
    assert!(envelope.contains("<env:Detail>urn:bogus</env:Detail>"));
}

#[test]
fn must_understand_fault_carries_the_not_understood_header() {
    let error = SoapError::MustUnderstand {
        header: QName {
            ns: "urn:custom".into(),
            local: "Custom".into(),
        },
    };
    let fault = error.to_fault();
    assert_eq!(fault.code, FaultCode::MustUnderstand);
    assert_eq!(fault.http_status(), 500);
    assert_eq!(fault.action(), SOAP_FAULT_ACTION);
    let envelope = fault.to_envelope(None);
    assert!(envelope.contains(r#"<env:NotUnderstood xmlns:nu="urn:custom" qname="nu:Custom"/>"#));
    assert!(envelope.contains("<env:Value>env:MustUnderstand</env:Value>"));
}

#[test]
fn fault_reason_and_detail_are_escaped() {
    let mut fault = Fault::new(FaultCode::Receiver, "a < b & c");
    fault.detail = Some("</env:Detail><evil/>".into());
    let envelope = fault.to_envelope(None);
    assert!(envelope.contains("a &lt; b &amp; c"));
    assert!(!envelope.contains("<evil/>"));
}

#[test]
fn fault_response_is_read_back_as_a_fault() {
    let sent = Fault::addressing(
        WSA_ACTION_NOT_SUPPORTED,
        "no such action",
        Some("urn:bogus".into()),
    );
    let envelope = sent.to_envelope(Some("urn:uuid:req"));
    let error = read_response_envelope(envelope.as_bytes(), Limits::default())
        .err()
        .unwrap();
    let SoapError::Fault(received) = error else {
        panic!("expected a fault, got {error:?}");
    };
    assert_eq!(received.code, FaultCode::Sender);
    assert_eq!(
        received.subcode,
        Some((String::new(), "ActionNotSupported".into()))
    );
    assert_eq!(received.reason, "no such action");
    assert_eq!(received.detail.as_deref(), Some("urn:bogus"));
}

#[test]
fn fault_without_addressing_headers_is_still_a_fault() {
    let input = r#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><e:Fault><e:Code><e:Value>e:Receiver</e:Value></e:Code><e:Reason><e:Text xml:lang="de">Fehler</e:Text><e:Text xml:lang="en">failure</e:Text></e:Reason><e:Detail><x:Info xmlns:x="urn:x">disk <x:b>full</x:b></x:Info></e:Detail></e:Fault></e:Body></e:Envelope>"#;
    let Err(SoapError::Fault(fault)) = read_response_envelope(input.as_bytes(), Limits::default())
    else {
        panic!("expected a fault");
    };
    assert_eq!(fault.code, FaultCode::Receiver);
    assert_eq!(fault.reason, "Fehler");
    assert_eq!(fault.detail.as_deref(), Some("disk full"));
}

#[test]
fn content_type_carries_the_action_parameter() {
    assert_eq!(
        content_type(action::REGISTRY_STORED_QUERY),
        "application/soap+xml; charset=UTF-8; action=\"urn:ihe:iti:2007:RegistryStoredQuery\""
    );
}
