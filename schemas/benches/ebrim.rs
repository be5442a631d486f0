//! ITI-18 LeafClass answer: parse and write an AdhocQueryResponse of 1,000 DocumentEntries.

use criterion::{Criterion, Throughput, criterion_group};
use schemas::ebrim::AdhocQueryResponse;
use schemas::xml::{Limits, XmlReader};
use std::hint::black_box;

/// The broker's binaries (`hie`, `registry`, `repository`) run on mimalloc, so the parse and write
/// figures are measured with the same allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ENTRIES: usize = 1_000;

/// One imaging DocumentEntry (KOS manifest), `{n}` replaced by the entry number.
const DOCUMENT_ENTRY: &str = r#"<rim:ExtrinsicObject id="urn:uuid:00000000-0000-4000-8000-{n}" mimeType="application/dicom" objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1" status="urn:oasis:names:tc:ebxml-regrep:StatusType:Approved">
  <rim:Slot name="creationTime"><rim:ValueList><rim:Value>20261101093000</rim:Value></rim:ValueList></rim:Slot>
  <rim:Slot name="hash"><rim:ValueList><rim:Value>11f6ad8ec52a2984abaafd7c3b516503785c2072</rim:Value></rim:ValueList></rim:Slot>
  <rim:Slot name="size"><rim:ValueList><rim:Value>4711</rim:Value></rim:ValueList></rim:Slot>
  <rim:Slot name="languageCode"><rim:ValueList><rim:Value>en-US</rim:Value></rim:ValueList></rim:Slot>
  <rim:Slot name="repositoryUniqueId"><rim:ValueList><rim:Value>1.3.6.1.4.1.21367.2010.1.2.1125</rim:Value></rim:ValueList></rim:Slot>
  <rim:Slot name="serviceStartTime"><rim:ValueList><rim:Value>20261101090000</rim:Value></rim:ValueList></rim:Slot>
  <rim:Slot name="sourcePatientId"><rim:ValueList><rim:Value>SRC-{n}^^^&amp;1.2.3.4.5.6.7.8.1&amp;ISO</rim:Value></rim:ValueList></rim:Slot>
  <rim:Slot name="sourcePatientInfo"><rim:ValueList><rim:Value>PID-3|SRC-{n}^^^&amp;1.2.3.4.5.6.7.8.1&amp;ISO</rim:Value><rim:Value>PID-5|DOE^JANE^^^</rim:Value><rim:Value>PID-7|19700101</rim:Value><rim:Value>PID-8|F</rim:Value></rim:ValueList></rim:Slot>
  <rim:Slot name="urn:ihe:iti:xds:2013:referenceIdList"><rim:ValueList><rim:Value>ACC{n}^^^&amp;1.2.3.4.5.6.7.8.2&amp;ISO^urn:ihe:iti:xds:2013:accession</rim:Value></rim:ValueList></rim:Slot>
  <rim:Name><rim:LocalizedString xml:lang="en-US" value="CT CHEST WITH CONTRAST"/></rim:Name>
  <rim:VersionInfo versionName="1"/>
  <rim:Classification classificationScheme="urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d" classifiedObject="urn:uuid:00000000-0000-4000-8000-{n}" id="urn:uuid:00000001-0000-4000-8000-{n}" nodeRepresentation="">
    <rim:Slot name="authorInstitution"><rim:ValueList><rim:Value>Hospital A^^^^^&amp;1.2.3.4.5.6.7.8.9&amp;ISO^^^^1.2.3.4.5.6.7.8.9</rim:Value></rim:ValueList></rim:Slot>
    <rim:Slot name="authorPerson"><rim:ValueList><rim:Value>^Welby^Marcus^^^Dr</rim:Value></rim:ValueList></rim:Slot>
  </rim:Classification>
  <rim:Classification classificationScheme="urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a" classifiedObject="urn:uuid:00000000-0000-4000-8000-{n}" id="urn:uuid:00000002-0000-4000-8000-{n}" nodeRepresentation="IMAGES">
    <rim:Slot name="codingScheme"><rim:ValueList><rim:Value>1.3.6.1.4.1.19376.1.2.6.1</rim:Value></rim:ValueList></rim:Slot>
    <rim:Name><rim:LocalizedString value="Images"/></rim:Name>
  </rim:Classification>
  <rim:Classification classificationScheme="urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f" classifiedObject="urn:uuid:00000000-0000-4000-8000-{n}" id="urn:uuid:00000003-0000-4000-8000-{n}" nodeRepresentation="N">
    <rim:Slot name="codingScheme"><rim:ValueList><rim:Value>2.16.840.1.113883.5.25</rim:Value></rim:ValueList></rim:Slot>
    <rim:Name><rim:LocalizedString value="Normal"/></rim:Name>
  </rim:Classification>
  <rim:Classification classificationScheme="urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4" classifiedObject="urn:uuid:00000000-0000-4000-8000-{n}" id="urn:uuid:00000004-0000-4000-8000-{n}" nodeRepresentation="CT">
    <rim:Slot name="codingScheme"><rim:ValueList><rim:Value>1.2.840.10008.2.16.4</rim:Value></rim:ValueList></rim:Slot>
    <rim:Name><rim:LocalizedString value="Computed Tomography"/></rim:Name>
  </rim:Classification>
  <rim:Classification classificationScheme="urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d" classifiedObject="urn:uuid:00000000-0000-4000-8000-{n}" id="urn:uuid:00000005-0000-4000-8000-{n}" nodeRepresentation="1.2.840.10008.5.1.4.1.1.88.59">
    <rim:Slot name="codingScheme"><rim:ValueList><rim:Value>1.2.840.10008.2.6.1</rim:Value></rim:ValueList></rim:Slot>
    <rim:Name><rim:LocalizedString value="Key Object Selection Document"/></rim:Name>
  </rim:Classification>
  <rim:Classification classificationScheme="urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1" classifiedObject="urn:uuid:00000000-0000-4000-8000-{n}" id="urn:uuid:00000006-0000-4000-8000-{n}" nodeRepresentation="22232009">
    <rim:Slot name="codingScheme"><rim:ValueList><rim:Value>2.16.840.1.113883.6.96</rim:Value></rim:ValueList></rim:Slot>
    <rim:Name><rim:LocalizedString value="Hospital"/></rim:Name>
  </rim:Classification>
  <rim:Classification classificationScheme="urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead" classifiedObject="urn:uuid:00000000-0000-4000-8000-{n}" id="urn:uuid:00000007-0000-4000-8000-{n}" nodeRepresentation="394914008">
    <rim:Slot name="codingScheme"><rim:ValueList><rim:Value>2.16.840.1.113883.6.96</rim:Value></rim:ValueList></rim:Slot>
    <rim:Name><rim:LocalizedString value="Radiology"/></rim:Name>
  </rim:Classification>
  <rim:Classification classificationScheme="urn:uuid:f0306f51-975f-434e-a61c-c59651d33983" classifiedObject="urn:uuid:00000000-0000-4000-8000-{n}" id="urn:uuid:00000008-0000-4000-8000-{n}" nodeRepresentation="18748-4">
    <rim:Slot name="codingScheme"><rim:ValueList><rim:Value>2.16.840.1.113883.6.1</rim:Value></rim:ValueList></rim:Slot>
    <rim:Name><rim:LocalizedString value="Diagnostic imaging study"/></rim:Name>
  </rim:Classification>
  <rim:ExternalIdentifier id="urn:uuid:00000009-0000-4000-8000-{n}" identificationScheme="urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427" registryObject="urn:uuid:00000000-0000-4000-8000-{n}" value="X1^^^&amp;1.3.6.1.4.1.21367.2005.13.20.1000&amp;ISO">
    <rim:Name><rim:LocalizedString value="XDSDocumentEntry.patientId"/></rim:Name>
  </rim:ExternalIdentifier>
  <rim:ExternalIdentifier id="urn:uuid:0000000a-0000-4000-8000-{n}" identificationScheme="urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab" registryObject="urn:uuid:00000000-0000-4000-8000-{n}" value="2.25.2624696486963651569025160633165{n}">
    <rim:Name><rim:LocalizedString value="XDSDocumentEntry.uniqueId"/></rim:Name>
  </rim:ExternalIdentifier>
</rim:ExtrinsicObject>
"#;

/// The writer's rendering of an AdhocQueryResponse carrying `ENTRIES` DocumentEntries.
fn leaf_class_answer() -> (AdhocQueryResponse, Vec<u8>) {
    let mut source = String::from(
        r#"<query:AdhocQueryResponse xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0" status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"><rim:RegistryObjectList>"#,
    );
    for n in 0..ENTRIES {
        source.push_str(&DOCUMENT_ENTRY.replace("{n}", &format!("{n:012}")));
    }
    source.push_str("</rim:RegistryObjectList></query:AdhocQueryResponse>");
    let model = match AdhocQueryResponse::from_xml(source.as_bytes(), Limits::default()) {
        Ok(model) => model,
        Err(e) => panic!("the bench's own DocumentEntry does not parse: {e}"),
    };
    let bytes = model.to_xml().into_bytes();
    (model, bytes)
}

/// The ceiling the ebRIM reader works under: pulling every node from `XmlReader`, nothing kept.
fn pull_all_nodes(bytes: &[u8]) -> usize {
    let mut count = 0;
    let Ok(mut reader) = XmlReader::new(bytes, Limits::default()) else {
        return 0;
    };
    while let Ok(Some(_)) = reader.next_node() {
        count += 1;
    }
    count
}

/// The baseline: quick-xml's namespace-resolved events over the same bytes, nothing allocated.
fn quick_xml_events(bytes: &[u8]) -> usize {
    let mut reader = quick_xml::NsReader::from_reader(bytes);
    let mut count = 0;
    loop {
        match reader.read_resolved_event() {
            Ok((_, quick_xml::events::Event::Eof)) | Err(_) => return count,
            Ok((_, quick_xml::events::Event::Start(s) | quick_xml::events::Event::Empty(s))) => {
                count += s.attributes().count();
            }
            Ok(_) => count += 1,
        }
    }
}

fn leaf_class(c: &mut Criterion) {
    let (model, bytes) = leaf_class_answer();
    let mut group = c.benchmark_group("iti18_leaf_class_1000_entries");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("parse", |b| {
        b.iter(|| AdhocQueryResponse::from_xml(black_box(&bytes), Limits::default()))
    });
    group.bench_function("xml_reader_pull_only", |b| {
        b.iter(|| pull_all_nodes(black_box(&bytes)))
    });
    group.bench_function("quick_xml_events_only", |b| {
        b.iter(|| quick_xml_events(black_box(&bytes)))
    });
    group.bench_function("write", |b| b.iter(|| black_box(&model).to_xml()));
    group.bench_function("floor_memchr_lt", |b| {
        b.iter(|| memchr::memchr_iter(b'<', black_box(&bytes)).count())
    });
    group.finish();
}

/// One run of the operation named by `EBRIM_BENCH_ONCE` (`parse`, `pull`, `quick_xml`, `write`),
/// outside criterion: `valgrind --tool=callgrind --toggle-collect='*measured_once*'` counts its
/// instructions, a load-independent figure on a shared machine.
#[inline(never)]
fn measured_once(operation: &str, model: &AdhocQueryResponse, bytes: &[u8]) -> usize {
    match operation {
        "parse" => AdhocQueryResponse::from_xml(black_box(bytes), Limits::default())
            .map_or(0, |m| m.objects.objects.len()),
        "pull" => pull_all_nodes(black_box(bytes)),
        "quick_xml" => quick_xml_events(black_box(bytes)),
        "write" => black_box(model).to_xml().len(),
        other => panic!("EBRIM_BENCH_ONCE={other}: expected parse, pull, quick_xml or write"),
    }
}

criterion_group!(benches, leaf_class);

fn main() {
    if let Ok(operation) = std::env::var("EBRIM_BENCH_ONCE") {
        let (model, bytes) = leaf_class_answer();
        println!(
            "{operation}: {} ({} bytes)",
            measured_once(&operation, &model, &bytes),
            bytes.len()
        );
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
