//! A registry and a repository in-process on loopback (port 0), as `hie up` wires them, and an
//! ITI-18 client to see what was registered.

use std::time::Duration;

use imaging_source::kos::AffinityPatient;
use imaging_source::metadata::CodeMappings;
use imaging_source::publish::PublishContext;
use schemas::constants::status;
use schemas::ebrim::{
    AdhocQueryRequest, RegistryObject, ReturnType, Slot, read_adhoc_query_response,
};
use schemas::soap::{self, action};
use schemas::xds::{Association, DocumentEntry, MetadataObjects};
use schemas::xml::Limits;
use tokio_util::sync::CancellationToken;

pub const IDS_UID: &str = "1.3.6.1.4.1.21367.13.80.110";

pub struct Xds {
    pub dir: tempfile::TempDir,
    pub registry_url: String,
    pub repository_url: String,
    pub shutdown: CancellationToken,
    _registry: registry::server::Registry,
    _repository: repository::server::RunningRepository,
}

impl Drop for Xds {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Xds {
    pub async fn start() -> Xds {
        let dir = tempfile::tempdir().unwrap();
        let shutdown = CancellationToken::new();
        let registry_config = registry::config::Config {
            http_port: 0,
            mllp_port: 0,
            accept_unknown_patients: true,
            ..registry::config::Config::default()
        };
        let registry_dir = dir.path().join("registry");
        std::fs::create_dir_all(&registry_dir).unwrap();
        let registry = registry::server::start(
            &registry_config,
            [127, 0, 0, 1].into(),
            &registry_dir,
            shutdown.clone(),
        )
        .await
        .expect("registry starts");
        let registry_url = registry.endpoint_url();
        let repository_config = repository::config::Config {
            http_port: 0,
            registry_url: registry_url.clone(),
            registry_timeout_seconds: 10,
            ..repository::config::Config::default()
        };
        let repository_dir = dir.path().join("repository");
        std::fs::create_dir_all(&repository_dir).unwrap();
        let repository = repository::server::start(
            &repository_config,
            [127, 0, 0, 1].into(),
            &repository_dir,
            shutdown.clone(),
        )
        .await
        .expect("repository starts");
        let repository_url = repository.endpoint_url();
        Xds {
            dir,
            registry_url,
            repository_url,
            shutdown,
            _registry: registry,
            _repository: repository,
        }
    }

    pub fn context(&self, patient: AffinityPatient) -> PublishContext {
        PublishContext {
            affinity_patient: patient,
            source_patient_id: None,
            repository_url: self.repository_url.clone(),
            registry_url: Some(self.registry_url.clone()),
            imaging_source_unique_id: IDS_UID.into(),
            source_id: "1.3.6.1.4.1.21367.13.80.111".into(),
            retrieve_ae_title: "HIE-IDS".into(),
            retrieve_url: None,
            codes: CodeMappings::default(),
            report: None,
            timeout: Duration::from_secs(20),
        }
    }

    /// ITI-18 GetAll-like FindDocuments for `patient` with these statuses: entries and associations.
    pub async fn find_documents(
        &self,
        patient: &AffinityPatient,
        statuses: &[&str],
    ) -> (Vec<DocumentEntry>, Vec<Association>) {
        let list = statuses
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(",");
        let request = AdhocQueryRequest {
            id: None,
            comment: None,
            request_slots: Vec::new(),
            return_type: ReturnType::LeafClass,
            return_composed_objects: true,
            federated: false,
            federation: None,
            start_index: 0,
            max_results: None,
            query: RegistryObject {
                id: "urn:uuid:10b545ea-725c-446d-9b95-8aeb444eddf3".into(), // GetAll
                slots: vec![
                    Slot::new("$patientId", [format!("'{}'", patient.to_cx())]),
                    Slot::new("$XDSDocumentEntryStatus", [format!("({list})")]),
                    Slot::new(
                        "$XDSSubmissionSetStatus",
                        [format!("('{}')", status::APPROVED)],
                    ),
                    Slot::new("$XDSFolderStatus", [format!("('{}')", status::APPROVED)]),
                ],
                ..RegistryObject::default()
            },
        };
        let (envelope, _) = soap::write_request_envelope(
            action::REGISTRY_STORED_QUERY,
            &self.registry_url,
            &request.to_xml(),
        );
        let body = reqwest::Client::new()
            .post(&self.registry_url)
            .header(
                "content-type",
                soap::content_type(action::REGISTRY_STORED_QUERY),
            )
            .body(envelope)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let mut message = soap::read_response_envelope(&body, Limits::default()).unwrap();
        let answer = read_adhoc_query_response(&mut message.reader, &message.body).unwrap();
        assert!(
            answer.response.errors.is_empty(),
            "{:?}",
            answer.response.errors
        );
        let objects = MetadataObjects::from_object_list(&answer.objects).unwrap();
        (objects.document_entries, objects.associations)
    }
}

/// The entry of `entries` whose uniqueId is `unique_id` (a publication's report, ...).
pub fn entry_with_unique_id<'a>(
    entries: &'a [DocumentEntry],
    unique_id: Option<&String>,
) -> &'a DocumentEntry {
    entries
        .iter()
        .find(|e| Some(&e.unique_id.value) == unique_id)
        .unwrap_or_else(|| panic!("no entry {unique_id:?} among {entries:?}"))
}
