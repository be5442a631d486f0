use super::*;

const RIM: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0";

fn differs(expected: &str, actual: &str) -> Difference {
    match compare(expected, actual) {
        Err(Inequality::Differs(difference)) => difference,
        other => panic!("expected a difference, got {other:?}"),
    }
}

#[test]
fn prefixes_and_namespace_declaration_placement_are_ignored() {
    let expected = format!(
        r#"<rim:Slot xmlns:rim="{RIM}" name="a"><rim:ValueList><rim:Value>v</rim:Value></rim:ValueList></rim:Slot>"#
    );
    let actual = format!(
        r#"<Slot xmlns="{RIM}" name="a"><x:ValueList xmlns:x="{RIM}"><x:Value>v</x:Value></x:ValueList></Slot>"#
    );
    assert!(compare(&expected, &actual).is_ok());
}

#[test]
fn a_different_namespace_is_a_different_element() {
    let expected = format!(r#"<rim:Slot xmlns:rim="{RIM}" name="a"/>"#);
    let actual = r#"<rim:Slot xmlns:rim="urn:oasis:names:tc:ebxml-regrep:rim:xsd:2.1" name="a"/>"#;
    let difference = differs(&expected, actual);
    assert_eq!(difference.path, "/");
    assert!(matches!(
        difference.kind,
        DifferenceKind::ElementName { .. }
    ));
}

#[test]
fn attribute_order_is_ignored() {
    let expected =
        format!(r#"<rim:Classification xmlns:rim="{RIM}" id="c" classifiedObject="d"/>"#);
    let actual = format!(r#"<rim:Classification xmlns:rim="{RIM}" classifiedObject="d" id="c"/>"#);
    assert!(compare(&expected, &actual).is_ok());
}

#[test]
fn whitespace_only_text_comments_and_processing_instructions_are_ignored() {
    let expected = format!(
        r#"<rim:Slot xmlns:rim="{RIM}" name="a"><rim:ValueList><rim:Value>v</rim:Value></rim:ValueList></rim:Slot>"#
    );
    let actual = format!(
        "<?xml version=\"1.0\"?>\n<!-- c --><rim:Slot xmlns:rim=\"{RIM}\" name=\"a\">\n  <!-- c -->\n  <rim:ValueList>\r\n\t<rim:Value>v</rim:Value><?pi x?>\n  </rim:ValueList>\n</rim:Slot>\n"
    );
    assert!(compare(&expected, &actual).is_ok());
}

#[test]
fn significant_text_is_compared_exactly() {
    let expected = format!(r#"<rim:Value xmlns:rim="{RIM}">v</rim:Value>"#);
    let actual = format!(r#"<rim:Value xmlns:rim="{RIM}"> v </rim:Value>"#);
    let difference = differs(&expected, &actual);
    assert_eq!(
        difference.kind,
        DifferenceKind::Text {
            expected: "v".into(),
            actual: " v ".into()
        }
    );
}

#[test]
fn escaping_cdata_and_comments_inside_text_do_not_change_the_text() {
    let expected = format!(r#"<rim:Value xmlns:rim="{RIM}">a&amp;b&lt;c</rim:Value>"#);
    let actual =
        format!(r#"<rim:Value xmlns:rim="{RIM}">a<![CDATA[&b]]><!-- x -->&#60;c</rim:Value>"#);
    assert!(compare(&expected, &actual).is_ok());
}

#[test]
fn children_order_is_significant() {
    let expected = format!(
        r#"<rim:ValueList xmlns:rim="{RIM}"><rim:Value>1</rim:Value><rim:Value>2</rim:Value></rim:ValueList>"#
    );
    let actual = format!(
        r#"<rim:ValueList xmlns:rim="{RIM}"><rim:Value>2</rim:Value><rim:Value>1</rim:Value></rim:ValueList>"#
    );
    let difference = differs(&expected, &actual);
    assert_eq!(difference.path, "/rim:ValueList[1]/rim:Value[1]");
}

#[test]
fn a_missing_child_is_reported_with_its_parent_path() {
    let expected = format!(
        r#"<rim:RegistryObjectList xmlns:rim="{RIM}"><rim:ExtrinsicObject id="Document01"><rim:Slot name="a"/><rim:Slot name="b"/></rim:ExtrinsicObject></rim:RegistryObjectList>"#
    );
    let actual = format!(
        r#"<rim:RegistryObjectList xmlns:rim="{RIM}"><rim:ExtrinsicObject id="Document01"><rim:Slot name="a"/></rim:ExtrinsicObject></rim:RegistryObjectList>"#
    );
    let difference = differs(&expected, &actual);
    assert_eq!(
        difference.path,
        "/rim:RegistryObjectList[1]/rim:ExtrinsicObject[1][@id='Document01']"
    );
    assert_eq!(
        difference.kind,
        DifferenceKind::ElementMissing {
            expected: "rim:Slot".into()
        }
    );
}

#[test]
fn an_extra_child_is_reported() {
    let expected =
        format!(r#"<rim:ValueList xmlns:rim="{RIM}"><rim:Value>1</rim:Value></rim:ValueList>"#);
    let actual = format!(
        r#"<rim:ValueList xmlns:rim="{RIM}"><rim:Value>1</rim:Value><rim:Value>2</rim:Value></rim:ValueList>"#
    );
    assert_eq!(
        differs(&expected, &actual).kind,
        DifferenceKind::ElementExtra {
            actual: "rim:Value".into()
        }
    );
}

#[test]
fn a_changed_attribute_value_is_reported() {
    let expected = format!(r#"<rim:ExternalIdentifier xmlns:rim="{RIM}" id="e" value="1.2.3"/>"#);
    let actual = format!(r#"<rim:ExternalIdentifier xmlns:rim="{RIM}" id="e" value="1.2.4"/>"#);
    let difference = differs(&expected, &actual);
    assert_eq!(difference.path, "/rim:ExternalIdentifier[1][@id='e']");
    assert_eq!(
        difference.kind,
        DifferenceKind::AttributeValue {
            attribute: "value".into(),
            expected: "1.2.3".into(),
            actual: "1.2.4".into()
        }
    );
}

#[test]
fn a_missing_or_extra_attribute_without_xsd_default_is_reported() {
    let with = format!(
        r#"<rim:ExtrinsicObject xmlns:rim="{RIM}" id="d" status="urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"/>"#
    );
    let without = format!(r#"<rim:ExtrinsicObject xmlns:rim="{RIM}" id="d"/>"#);
    assert!(matches!(
        differs(&with, &without).kind,
        DifferenceKind::AttributeMissing { .. }
    ));
    assert!(matches!(
        differs(&without, &with).kind,
        DifferenceKind::AttributeExtra { .. }
    ));
}

#[test]
fn an_attribute_absent_equals_its_xsd_default_written_out() {
    let absent = format!(r#"<rim:ExtrinsicObject xmlns:rim="{RIM}" id="d"/>"#);
    let explicit = format!(
        r#"<rim:ExtrinsicObject xmlns:rim="{RIM}" id="d" isOpaque="false" mimeType="application/octet-stream"/>"#
    );
    assert!(compare(&absent, &explicit).is_ok());
    assert!(compare(&explicit, &absent).is_ok());
}

#[test]
fn an_attribute_absent_differs_from_a_non_default_value() {
    let absent = format!(r#"<rim:ExtrinsicObject xmlns:rim="{RIM}" id="d"/>"#);
    let opaque = format!(r#"<rim:ExtrinsicObject xmlns:rim="{RIM}" id="d" isOpaque="true"/>"#);
    assert!(matches!(
        differs(&absent, &opaque).kind,
        DifferenceKind::AttributeValue { .. }
    ));
}

#[test]
fn xml_lang_default_applies_to_localized_strings_only() {
    let absent =
        format!(r#"<rim:Name xmlns:rim="{RIM}"><rim:LocalizedString value="x"/></rim:Name>"#);
    let explicit = format!(
        r#"<rim:Name xmlns:rim="{RIM}"><rim:LocalizedString xml:lang="en-US" charset="UTF-8" value="x"/></rim:Name>"#
    );
    assert!(compare(&absent, &explicit).is_ok());
    let on_name = format!(r#"<rim:Name xmlns:rim="{RIM}" xml:lang="en-US"/>"#);
    let bare_name = format!(r#"<rim:Name xmlns:rim="{RIM}"/>"#);
    assert!(compare(&bare_name, &on_name).is_err());
}

#[test]
fn query_defaults_cover_return_composed_objects() {
    let query = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0";
    let absent = format!(r#"<q:ResponseOption xmlns:q="{query}" returnType="LeafClass"/>"#);
    let explicit = format!(
        r#"<q:ResponseOption xmlns:q="{query}" returnType="LeafClass" returnComposedObjects="false"/>"#
    );
    assert!(compare(&absent, &explicit).is_ok());
}

#[test]
fn unreadable_documents_are_reported_by_side() {
    let good = format!(r#"<rim:Value xmlns:rim="{RIM}">v</rim:Value>"#);
    assert!(matches!(
        compare("<a", &good),
        Err(Inequality::ExpectedUnreadable(_))
    ));
    assert!(matches!(
        compare(&good, "<a"),
        Err(Inequality::ActualUnreadable(_))
    ));
}

#[test]
fn a_doctype_is_refused() {
    let doc = "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>";
    assert!(normalise(doc).is_err());
}

#[test]
fn reserialised_tree_is_equal_in_meaning() {
    let original = format!(
        r#"<rim:Name xmlns:rim="{RIM}"><rim:LocalizedString xml:lang="de" value="a&quot;b"/></rim:Name>"#
    );
    let tree = normalise(&original).expect("well-formed");
    let written = tree.to_xml();
    assert!(compare(&original, &written).is_ok(), "{written}");
}

#[test]
fn xop_include_is_replaced_by_the_base64_of_its_part() {
    let xdsb = "urn:ihe:iti:xds-b:2007";
    let xop = "http://www.w3.org/2004/08/xop/include";
    let wire = format!(
        r#"<x:Document xmlns:x="{xdsb}" id="Document01"><xop:Include xmlns:xop="{xop}" href="cid:doc1@example.org"/></x:Document>"#
    );
    let mut tree = normalise(&wire).expect("well-formed");
    let replaced = tree
        .resolve_xop_includes(&|cid| (cid == "doc1@example.org").then(|| b"hello".to_vec()))
        .expect("known part");
    assert_eq!(replaced, 1);
    assert_eq!(tree.text(), "aGVsbG8=");
    let mut unknown = normalise(&wire).expect("well-formed");
    assert_eq!(
        unknown.resolve_xop_includes(&|_| None),
        Err("cid:doc1@example.org".to_owned())
    );
}

#[test]
fn descendants_are_in_document_order() {
    let doc = format!(r#"<rim:A xmlns:rim="{RIM}"><rim:B><rim:C/></rim:B><rim:D/></rim:A>"#);
    let tree = normalise(&doc).expect("well-formed");
    let names: Vec<&str> = tree
        .descendants()
        .iter()
        .map(|e| e.name.local.as_str())
        .collect();
    assert_eq!(names, ["B", "C", "D"]);
}

#[test]
fn schema_location_hints_are_not_content() {
    let xsi = "http://www.w3.org/2001/XMLSchema-instance";
    let hinted = format!(
        r#"<rim:Value xmlns:rim="{RIM}" xmlns:xsi="{xsi}" xsi:schemaLocation="{RIM} rim.xsd">v</rim:Value>"#
    );
    let plain = format!(r#"<rim:Value xmlns:rim="{RIM}">v</rim:Value>"#);
    assert!(compare(&hinted, &plain).is_ok());
    let typed =
        format!(r#"<rim:Value xmlns:rim="{RIM}" xmlns:xsi="{xsi}" xsi:nil="false">v</rim:Value>"#);
    assert!(compare(&typed, &plain).is_err());
}
