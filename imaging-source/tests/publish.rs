//! RAD-68 against a real registry and repository started in-process: the manifest is
//! registered with its imaging metadata, a republication replaces it (RPLC), and the PIX query
//! decides the affinity-domain patient.

mod support;

use imaging_source::kos::AffinityPatient;
use imaging_source::metadata::CodeSpec;
use imaging_source::pix_client::{PixClient, PixError};
use imaging_source::publish::{PublishError, ReportDocument, publish};
use imaging_source::report::report_from_file;
use schemas::constants::status;
use schemas::ebrim::ResponseStatus;
use schemas::xds::AssociationType;
use support::xds::{Xds, entry_with_unique_id};

fn patient() -> AffinityPatient {
    AffinityPatient {
        id: format!("IHE-{}", uuid::Uuid::new_v4().simple()),
        assigning_authority: support::AD_OID.into(),
    }
}

#[tokio::test]
async fn published_manifest_is_found_with_find_documents() {
    let xds = Xds::start().await;
    let patient = patient();
    let study = support::study();
    let published = publish(&study, &xds.context(patient.clone()))
        .await
        .unwrap();
    assert_eq!(published.response.status, ResponseStatus::Success);
    assert!(published.replaced_entry_uuid.is_none());
    let (entries, _) = xds.find_documents(&patient, &[status::APPROVED]).await;
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry.unique_id.value, published.manifest_unique_id);
    assert_eq!(entry.mime_type.as_deref(), Some("application/dicom"));
    assert_eq!(
        entry.format_code.as_ref().unwrap().code,
        "1.2.840.10008.5.1.4.1.1.88.59"
    );
    assert_eq!(
        entry.size.as_deref(),
        Some(published.manifest_size.to_string().as_str())
    );
    assert!(
        entry
            .reference_ids
            .contains(&"2.25.1001^^^^urn:ihe:iti:xds:2016:studyInstanceUID".to_string())
    );
    assert!(entry.reference_ids.contains(&format!(
        "ACC-0001^^^&{}&ISO^urn:ihe:iti:xds:2013:accession",
        support::ACCESSION_OID
    )));
    let events: Vec<&str> = entry.event_codes.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(events, ["CT", "MR", "51185008", "69536005"]);
    assert_eq!(
        entry.source_patient_id.as_deref(),
        Some(format!("PAT-0001^^^&{}&ISO", support::LOCAL_OID).as_str())
    );
    assert_eq!(entry.service_start_time.as_deref(), Some("20261101093000"));
}

#[tokio::test]
async fn republished_study_replaces_the_earlier_manifest() {
    let xds = Xds::start().await;
    let patient = patient();
    let mut study = support::study();
    let first = publish(&study, &xds.context(patient.clone()))
        .await
        .unwrap();
    study.series[1].instances.push(support::instance(
        dicom_dictionary_std::uids::MR_IMAGE_STORAGE,
        "2.25.1001.2.2",
        2,
    ));
    let second = publish(&study, &xds.context(patient.clone()))
        .await
        .unwrap();
    assert_eq!(
        second.replaced_entry_uuid.as_deref(),
        Some(
            first_entry_uuid(&xds, &patient, &first.manifest_unique_id)
                .await
                .as_str()
        )
    );
    let (approved, _) = xds.find_documents(&patient, &[status::APPROVED]).await;
    assert_eq!(
        approved
            .iter()
            .map(|e| e.unique_id.value.as_str())
            .collect::<Vec<_>>(),
        [second.manifest_unique_id.as_str()]
    );
    let (all, associations) = xds
        .find_documents(&patient, &[status::APPROVED, status::DEPRECATED])
        .await;
    assert_eq!(all.len(), 2);
    assert!(
        associations
            .iter()
            .any(|a| a.association_type == AssociationType::Replace)
    );
}

async fn first_entry_uuid(xds: &Xds, patient: &AffinityPatient, unique_id: &str) -> String {
    let (all, _) = xds
        .find_documents(patient, &[status::APPROVED, status::DEPRECATED])
        .await;
    all.into_iter()
        .find(|e| e.unique_id.value == unique_id)
        .unwrap()
        .entry_uuid
}

/// A text report as `report::report_from_file` reads one.
fn text_report(text: &'static str) -> ReportDocument {
    ReportDocument {
        content: bytes::Bytes::from_static(text.as_bytes()),
        mime_type: "text/plain".into(),
        format_code: CodeSpec::new(
            "urn:ihe:rad:TEXT",
            "1.3.6.1.4.1.19376.1.2.3",
            "Radiology report, text",
        ),
        type_code: CodeSpec::new(
            "18782-3",
            "2.16.840.1.113883.6.1",
            "Radiology Study observation (narrative)",
        ),
        class_code: CodeSpec::new("REPORTS", "1.3.6.1.4.1.19376.1.2.6.1", "Reports"),
        title: Some("CT CHEST report".into()),
    }
}

#[tokio::test]
async fn report_is_published_in_the_same_submission_set() {
    let xds = Xds::start().await;
    let patient = patient();
    let mut ctx = xds.context(patient.clone());
    ctx.report = Some(text_report("Impression: no acute findings."));
    let published = publish(&support::study(), &ctx).await.unwrap();
    let (entries, _) = xds.find_documents(&patient, &[status::APPROVED]).await;
    assert_eq!(entries.len(), 2);
    let report = entry_with_unique_id(&entries, published.report_unique_id.as_ref());
    assert_eq!(report.mime_type.as_deref(), Some("text/plain"));
}

/// The uniqueIds of the Approved documents of `patient`, sorted.
async fn approved_unique_ids(xds: &Xds, patient: &AffinityPatient) -> Vec<String> {
    let (approved, _) = xds.find_documents(patient, &[status::APPROVED]).await;
    let mut ids: Vec<String> = approved.into_iter().map(|e| e.unique_id.value).collect();
    ids.sort();
    ids
}

fn sorted<const N: usize>(ids: [&Option<String>; N]) -> Vec<String> {
    let mut ids: Vec<String> = ids.into_iter().flatten().cloned().collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn republished_report_replaces_the_report_this_source_registered_earlier() {
    let xds = Xds::start().await;
    let patient = patient();
    let mut ctx = xds.context(patient.clone());
    ctx.report = Some(text_report("Impression: preliminary."));
    let first = publish(&support::study(), &ctx).await.unwrap();
    ctx.report = Some(text_report("Impression: final, no acute findings."));
    let second = publish(&support::study(), &ctx).await.unwrap();
    let first_report = first.report_unique_id.clone().unwrap();
    assert_eq!(
        second.replaced_report_entry_uuid,
        Some(first_entry_uuid(&xds, &patient, &first_report).await)
    );
    assert_eq!(
        approved_unique_ids(&xds, &patient).await,
        sorted([
            &Some(second.manifest_unique_id.clone()),
            &second.report_unique_id
        ])
    );
    let (_, associations) = xds
        .find_documents(&patient, &[status::APPROVED, status::DEPRECATED])
        .await;
    let replacements = associations
        .iter()
        .filter(|a| a.association_type == AssociationType::Replace)
        .count();
    assert_eq!(replacements, 2, "{associations:?}");
}

#[tokio::test]
async fn republication_without_a_report_leaves_the_earlier_report_approved() {
    let xds = Xds::start().await;
    let patient = patient();
    let mut ctx = xds.context(patient.clone());
    ctx.report = Some(text_report("Impression: no acute findings."));
    let first = publish(&support::study(), &ctx).await.unwrap();
    ctx.report = None;
    let second = publish(&support::study(), &ctx).await.unwrap();
    assert!(second.replaced_report_entry_uuid.is_none());
    assert_eq!(
        approved_unique_ids(&xds, &patient).await,
        sorted([&Some(second.manifest_unique_id), &first.report_unique_id])
    );
}

#[tokio::test]
async fn a_report_another_source_registered_for_the_study_is_not_replaced() {
    let xds = Xds::start().await;
    let patient = patient();
    let mut other = xds.context(patient.clone());
    other.source_id = "1.3.6.1.4.1.21367.13.80.999".into();
    other.report = Some(text_report("Impression: from the RIS."));
    let theirs = publish(&support::study(), &other).await.unwrap();
    let mut ctx = xds.context(patient.clone());
    ctx.report = Some(text_report("Impression: no acute findings."));
    let ours = publish(&support::study(), &ctx).await.unwrap();
    assert!(ours.replaced_report_entry_uuid.is_none());
    assert_eq!(
        approved_unique_ids(&xds, &patient).await,
        sorted([
            &Some(ours.manifest_unique_id),
            &ours.report_unique_id,
            &theirs.report_unique_id
        ])
    );
}

#[tokio::test]
async fn pdf_report_file_is_accepted_by_the_default_code_lists() {
    let xds = Xds::start().await;
    let patient = patient();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, b"%PDF-1.4\n%%EOF\n").unwrap();
    let mut ctx = xds.context(patient.clone());
    ctx.report = Some(report_from_file(&path, None).unwrap());
    let published = publish(&support::study(), &ctx).await.unwrap();
    let (entries, _) = xds.find_documents(&patient, &[status::APPROVED]).await;
    let report = entry_with_unique_id(&entries, published.report_unique_id.as_ref());
    assert_eq!(report.mime_type.as_deref(), Some("application/pdf"));
}

#[tokio::test]
async fn code_outside_the_affinity_domain_lists_is_refused_and_nothing_is_registered() {
    let xds = Xds::start().await;
    let patient = patient();
    let mut ctx = xds.context(patient.clone());
    ctx.codes.class_code = CodeSpec::new("NOT-A-CLASS", "1.2.3", "unknown");
    let err = publish(&support::study(), &ctx).await.unwrap_err();
    assert!(
        matches!(&err, PublishError::Refused { errors, .. } if errors.contains("XDSRegistryMetadataError")),
        "{err}"
    );
    let (entries, _) = xds.find_documents(&patient, &[status::APPROVED]).await;
    assert!(entries.is_empty());
}

#[tokio::test]
async fn repository_down_is_unavailable() {
    let xds = Xds::start().await;
    let mut ctx = xds.context(patient());
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ctx.repository_url = format!("http://{}/xds/repository", closed.local_addr().unwrap());
    drop(closed);
    assert!(matches!(
        publish(&support::study(), &ctx).await,
        Err(PublishError::Unavailable {
            transaction: "ITI-41",
            ..
        })
    ));
}

#[tokio::test]
async fn pix_query_gives_the_affinity_id_and_unknown_patient_is_a_clear_error() {
    let address =
        support::pix::fake_pix_manager(vec![("PAT-0001".into(), "IHE-4801".into())]).await;
    let client = PixClient::new(address);
    let found = client
        .affinity_id("PAT-0001", support::LOCAL_OID, support::AD_OID)
        .await
        .unwrap();
    assert_eq!(
        found,
        AffinityPatient {
            id: "IHE-4801".into(),
            assigning_authority: support::AD_OID.into()
        }
    );
    let unknown = client
        .affinity_id("PAT-9999", support::LOCAL_OID, support::AD_OID)
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, PixError::UnknownPatient { .. }),
        "{unknown}"
    );
    assert!(unknown.to_string().contains("PAT-9999"));
}
