//! Shared fixtures: a real registry and a repository pointing at it (both in-process on
//! loopback), ITI-41 requests modelled on the IHE minimal sample, and clients for ITI-41, ITI-43
//! and ITI-18.
// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

pub mod counting;
#[cfg(feature = "s3-tests")]
pub mod moto;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use registry::server::Registry;
use repository::config::Config;
use repository::server::RunningRepository;
use repository::storage::{DocumentStore, FileStore, IndexedDocument};
use schemas::ebrim::{
    RegistryResponse, SubmitObjectsRequest, read_adhoc_query_response, read_registry_response,
};
use schemas::ihe::{
    Document, DocumentContent, DocumentRequest, ProvideAndRegisterDocumentSetRequest,
    RemoveDocumentsRequest, RetrieveDocumentSetRequest, RetrieveDocumentSetResponse,
    read_retrieve_document_set_response,
};
use schemas::mtom::{Attachment, BodyStream, MtomReader, MtomWriter, SoapContentType};
use schemas::soap::{self, action};
use schemas::xds::{DocumentEntry, MetadataObjects};
use schemas::xml::Limits;
use sha1::{Digest, Sha1};
use tokio_util::sync::CancellationToken;

use counting::CountingStore;

pub const REPOSITORY_UID: &str = "1.3.6.1.4.1.21367.2010.1.2.1125";
pub const PATIENT: &str = "X1^^^&amp;1.3.6.1.4.1.21367.2005.13.20.1000&amp;ISO";
pub const PATIENT_VALUE: &str = "X1^^^&1.3.6.1.4.1.21367.2005.13.20.1000&ISO";
pub const HOME: &str = "urn:oid:1.3.6.1.4.1.21367.13.70.1";

/// A registry (unless `registry_down`) and a repository registering with it.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub registry: Option<Registry>,
    pub repository: RunningRepository,
    pub store: Arc<CountingStore>,
    pub shutdown: CancellationToken,
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Setup {
    /// Registry and repository, both up.
    pub async fn new() -> Self {
        Self::build(true).await
    }

    /// A repository whose registry URL points at a closed port.
    pub async fn with_registry_down() -> Self {
        Self::build(false).await
    }

    async fn build(registry_up: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let shutdown = CancellationToken::new();
        let (registry, registry_url) = if registry_up {
            let registry = start_registry(&dir.path().join("registry"), &shutdown).await;
            let url = registry.endpoint_url();
            (Some(registry), url)
        } else {
            let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}/xds/registry", closed.local_addr().unwrap());
            drop(closed);
            (None, url)
        };
        let store = Arc::new(CountingStore::new(
            FileStore::open(dir.path().join("documents")).await.unwrap(),
        ));
        let repository =
            start_repository(dir.path(), &registry_url, store.clone(), &shutdown).await;
        Setup {
            dir,
            registry,
            repository,
            store,
            shutdown,
        }
    }

    pub fn url(&self) -> String {
        self.repository.endpoint_url()
    }

    pub fn storage_root(&self) -> PathBuf {
        self.dir.path().join("documents")
    }

    /// Every committed document file (the `tmp/` folder included).
    pub fn stored_files(&self) -> Vec<PathBuf> {
        files_under(&self.storage_root())
    }

    /// Every index row.
    pub async fn index_rows(&self) -> Vec<IndexedDocument> {
        self.repository.repository.index.all().await.unwrap()
    }

    /// ITI-18 FindDocuments for [`PATIENT`] (Approved): the DocumentEntries the registry holds.
    pub async fn registered_entries(&self) -> Vec<DocumentEntry> {
        let Some(registry) = &self.registry else {
            return Vec::new();
        };
        let url = registry.endpoint_url();
        let query = format!(
            r#"<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">
  <query:ResponseOption returnComposedObjects="true" returnType="LeafClass"/>
  <rim:AdhocQuery id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d">
    <rim:Slot name="$XDSDocumentEntryPatientId"><rim:ValueList><rim:Value>'{PATIENT}'</rim:Value></rim:ValueList></rim:Slot>
    <rim:Slot name="$XDSDocumentEntryStatus"><rim:ValueList><rim:Value>('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')</rim:Value></rim:ValueList></rim:Slot>
  </rim:AdhocQuery>
</query:AdhocQueryRequest>"#
        );
        let (envelope, _) =
            soap::write_request_envelope(action::REGISTRY_STORED_QUERY, &url, &query);
        let body = reqwest::Client::new()
            .post(&url)
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
        MetadataObjects::from_object_list(&answer.objects)
            .unwrap()
            .document_entries
    }
}

/// A real registry in-process on loopback, its data under `dir`, accepting unknown patients.
pub async fn start_registry(dir: &Path, shutdown: &CancellationToken) -> Registry {
    let config = registry::config::Config {
        http_port: 0,
        mllp_port: 0,
        accept_unknown_patients: true,
        ..registry::config::Config::default()
    };
    std::fs::create_dir_all(dir).unwrap();
    registry::server::start(&config, [127, 0, 0, 1].into(), dir, shutdown.clone())
        .await
        .expect("registry starts")
}

/// Starts a repository on `data_dir` and `store`, registering with `registry_url`.
pub async fn start_repository(
    data_dir: &Path,
    registry_url: &str,
    store: Arc<dyn DocumentStore>,
    shutdown: &CancellationToken,
) -> RunningRepository {
    let config = Config {
        http_port: 0,
        registry_url: registry_url.to_owned(),
        registry_timeout_seconds: 10,
        ..Config::default()
    };
    repository::server::start_with_store(
        &config,
        [127, 0, 0, 1].into(),
        data_dir,
        store,
        shutdown.clone(),
    )
    .await
    .expect("repository starts")
}

pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// A Stable DocumentEntry modelled on the IHE minimal sample, without hash, size and
/// repositoryUniqueId (the repository fills them in); one child per line so a test can add
/// or drop one.
pub fn document_entry(id: &str, unique_id: &str) -> String {
    format!(
        r#"<rim:ExtrinsicObject id="{id}" mimeType="text/plain" objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1">
<rim:Slot name="creationTime"><rim:ValueList><rim:Value>20261101093000</rim:Value></rim:ValueList></rim:Slot>
<rim:Slot name="languageCode"><rim:ValueList><rim:Value>en-US</rim:Value></rim:ValueList></rim:Slot>
<rim:Slot name="serviceStartTime"><rim:ValueList><rim:Value>20261101090000</rim:Value></rim:ValueList></rim:Slot>
<rim:Slot name="sourcePatientId"><rim:ValueList><rim:Value>SRC-1^^^&amp;1.2.3.4.5.6.7.8.1&amp;ISO</rim:Value></rim:ValueList></rim:Slot>
<rim:Name><rim:LocalizedString value="CT CHEST WITH CONTRAST"/></rim:Name>
<rim:Classification classificationScheme="urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d" classifiedObject="{id}" id="{id}-author" nodeRepresentation=""><rim:Slot name="authorPerson"><rim:ValueList><rim:Value>^Welby^Marcus^^^Dr</rim:Value></rim:ValueList></rim:Slot></rim:Classification>
<rim:Classification classificationScheme="urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a" classifiedObject="{id}" id="{id}-classCode" nodeRepresentation="IMAGES"><rim:Slot name="codingScheme"><rim:ValueList><rim:Value>1.3.6.1.4.1.19376.1.2.6.1</rim:Value></rim:ValueList></rim:Slot></rim:Classification>
<rim:Classification classificationScheme="urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f" classifiedObject="{id}" id="{id}-confidentialityCode" nodeRepresentation="N"><rim:Slot name="codingScheme"><rim:ValueList><rim:Value>2.16.840.1.113883.5.25</rim:Value></rim:ValueList></rim:Slot></rim:Classification>
<rim:Classification classificationScheme="urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4" classifiedObject="{id}" id="{id}-eventCode" nodeRepresentation="CT"><rim:Slot name="codingScheme"><rim:ValueList><rim:Value>1.2.840.10008.2.16.4</rim:Value></rim:ValueList></rim:Slot></rim:Classification>
<rim:Classification classificationScheme="urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d" classifiedObject="{id}" id="{id}-formatCode" nodeRepresentation="1.2.840.10008.5.1.4.1.1.88.59"><rim:Slot name="codingScheme"><rim:ValueList><rim:Value>1.2.840.10008.2.6.1</rim:Value></rim:ValueList></rim:Slot></rim:Classification>
<rim:Classification classificationScheme="urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1" classifiedObject="{id}" id="{id}-healthcareFacilityTypeCode" nodeRepresentation="22232009"><rim:Slot name="codingScheme"><rim:ValueList><rim:Value>2.16.840.1.113883.6.96</rim:Value></rim:ValueList></rim:Slot></rim:Classification>
<rim:Classification classificationScheme="urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead" classifiedObject="{id}" id="{id}-practiceSettingCode" nodeRepresentation="394914008"><rim:Slot name="codingScheme"><rim:ValueList><rim:Value>2.16.840.1.113883.6.96</rim:Value></rim:ValueList></rim:Slot></rim:Classification>
<rim:Classification classificationScheme="urn:uuid:f0306f51-975f-434e-a61c-c59651d33983" classifiedObject="{id}" id="{id}-typeCode" nodeRepresentation="18748-4"><rim:Slot name="codingScheme"><rim:ValueList><rim:Value>2.16.840.1.113883.6.1</rim:Value></rim:ValueList></rim:Slot></rim:Classification>
<rim:ExternalIdentifier id="{id}-patientId" identificationScheme="urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427" registryObject="{id}" value="{PATIENT}"/>
<rim:ExternalIdentifier id="{id}-uniqueId" identificationScheme="urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab" registryObject="{id}" value="{unique_id}"/>
</rim:ExtrinsicObject>
"#
    )
}

/// `entry` with a slot added as its first child.
pub fn with_slot(entry: &str, name: &str, value: &str) -> String {
    let (first, rest) = entry.split_once('\n').unwrap();
    format!(
        "{first}\n<rim:Slot name=\"{name}\"><rim:ValueList><rim:Value>{value}</rim:Value></rim:ValueList></rim:Slot>\n{rest}"
    )
}

/// `xml` without the lines containing `word`.
pub fn without(xml: &str, word: &str) -> String {
    xml.lines()
        .filter(|l| !l.contains(word))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A SubmissionSet with its marker classification, and HasMember associations to `members`.
pub fn submission_set(unique_id: &str, members: &[&str]) -> String {
    let id = "SubmissionSet01";
    let mut xml = format!(
        r#"<rim:RegistryPackage id="{id}">
<rim:Slot name="submissionTime"><rim:ValueList><rim:Value>20261101093100</rim:Value></rim:ValueList></rim:Slot>
<rim:Classification classificationScheme="urn:uuid:aa543740-bdda-424e-8c96-df4873be8500" classifiedObject="{id}" id="{id}-contentTypeCode" nodeRepresentation="18748-4"><rim:Slot name="codingScheme"><rim:ValueList><rim:Value>2.16.840.1.113883.6.1</rim:Value></rim:ValueList></rim:Slot></rim:Classification>
<rim:ExternalIdentifier id="{id}-uniqueId" identificationScheme="urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8" registryObject="{id}" value="{unique_id}"/>
<rim:ExternalIdentifier id="{id}-sourceId" identificationScheme="urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832" registryObject="{id}" value="1.2.3.4.5.6.7.8.9"/>
<rim:ExternalIdentifier id="{id}-patientId" identificationScheme="urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446" registryObject="{id}" value="{PATIENT}"/>
</rim:RegistryPackage>
<rim:Classification classifiedObject="{id}" classificationNode="urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd" id="{id}-marker"/>
"#
    );
    for (n, member) in members.iter().enumerate() {
        xml.push_str(&format!(
            "<rim:Association associationType=\"urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember\" id=\"as{n:02}\" sourceObject=\"{id}\" targetObject=\"{member}\"><rim:Slot name=\"SubmissionSetStatus\"><rim:ValueList><rim:Value>Original</rim:Value></rim:ValueList></rim:Slot></rim:Association>\n"
        ));
    }
    xml
}

/// The SubmitObjectsRequest of `entries` (ExtrinsicObject XML) in one SubmissionSet holding
/// `members`.
pub fn submit(entries: &[String], members: &[&str]) -> SubmitObjectsRequest {
    let xml = format!(
        "<lcm:SubmitObjectsRequest xmlns:lcm=\"urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0\" xmlns:rim=\"urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0\"><rim:RegistryObjectList>{}{}</rim:RegistryObjectList></lcm:SubmitObjectsRequest>",
        entries.concat(),
        submission_set(&format!("1.2.3.4.{}", uuid_number()), members)
    );
    SubmitObjectsRequest::from_xml(xml.as_bytes(), Limits::default()).unwrap()
}

/// A unique number for uniqueIds.
pub fn uuid_number() -> u128 {
    uuid::Uuid::new_v4().as_u128()
}

/// A fresh document uniqueId.
pub fn new_unique_id() -> String {
    format!("2.25.{}", uuid_number())
}

/// The usual one-document submission: entry `Document01` with `unique_id`.
pub fn one_document_submission(unique_id: &str) -> SubmitObjectsRequest {
    submit(&[document_entry("Document01", unique_id)], &["Document01"])
}

/// Content of one Document of an ITI-41 request.
pub enum Content {
    /// An MTOM part.
    Part(BodyStream),
    /// Inline base64 in the envelope.
    Inline(Vec<u8>),
    /// An `xop:Include` naming a part that is not in the message.
    MissingPart,
}

impl Content {
    pub fn bytes(bytes: &[u8]) -> Self {
        Content::Part(Box::pin(futures::stream::once(futures::future::ready(Ok(
            Bytes::copy_from_slice(bytes),
        )))))
    }
}

/// ITI-41 over MTOM: `documents` as (Document id, content); the RegistryResponse answered.
pub async fn provide_and_register(
    url: &str,
    submit: SubmitObjectsRequest,
    documents: Vec<(&str, Content)>,
) -> RegistryResponse {
    provide_and_register_with(&reqwest::Client::new(), url, submit, documents).await
}

/// [`provide_and_register`] through an existing HTTP client (the benchmark reuses one).
pub async fn provide_and_register_with(
    client: &reqwest::Client,
    url: &str,
    submit: SubmitObjectsRequest,
    documents: Vec<(&str, Content)>,
) -> RegistryResponse {
    let response = send_provide_and_register_with(client, url, submit, documents, true)
        .await
        .unwrap();
    registry_response_of(response).await
}

/// [`provide_and_register`] with a Content-Type that does not announce the action (only the
/// envelope's WS-Addressing Action names it).
pub async fn provide_and_register_unannounced(
    url: &str,
    submit: SubmitObjectsRequest,
    documents: Vec<(&str, Content)>,
) -> RegistryResponse {
    let response =
        send_provide_and_register_with(&reqwest::Client::new(), url, submit, documents, false)
            .await
            .unwrap();
    registry_response_of(response).await
}

async fn registry_response_of(response: reqwest::Response) -> RegistryResponse {
    let (envelope, _) = read_answer(response).await;
    let mut message = soap::read_response_envelope(&envelope, Limits::default()).unwrap();
    assert_eq!(
        message.headers.action,
        action::PROVIDE_AND_REGISTER_DOCUMENT_SET_B_RESPONSE
    );
    read_registry_response(&mut message.reader, &message.body).unwrap()
}

/// ITI-41 over MTOM, the HTTP answer as it comes (or why none came).
pub async fn send_provide_and_register(
    url: &str,
    submit: SubmitObjectsRequest,
    documents: Vec<(&str, Content)>,
) -> reqwest::Result<reqwest::Response> {
    send_provide_and_register_with(&reqwest::Client::new(), url, submit, documents, true).await
}

async fn send_provide_and_register_with(
    client: &reqwest::Client,
    url: &str,
    submit: SubmitObjectsRequest,
    documents: Vec<(&str, Content)>,
    announce_action: bool,
) -> reqwest::Result<reqwest::Response> {
    let mut attachments = Vec::new();
    let mut docs = Vec::new();
    for (id, content) in documents {
        let content = match content {
            Content::Inline(bytes) => DocumentContent::Inline(bytes),
            Content::MissingPart => DocumentContent::Include {
                content_id: schemas::mtom::content_id(),
            },
            Content::Part(body) => {
                let content_id = schemas::mtom::content_id();
                attachments.push(Attachment {
                    content_id: content_id.clone(),
                    content_type: "text/plain".into(),
                    body,
                });
                DocumentContent::Include { content_id }
            }
        };
        docs.push(Document {
            id: id.to_owned(),
            content,
        });
    }
    let request = ProvideAndRegisterDocumentSetRequest {
        submit,
        documents: docs,
    };
    let (envelope, _) = soap::write_request_envelope(
        action::PROVIDE_AND_REGISTER_DOCUMENT_SET_B,
        url,
        &request.to_xml(),
    );
    let writer = if announce_action {
        MtomWriter::new()
            .with_action(action::PROVIDE_AND_REGISTER_DOCUMENT_SET_B)
            .unwrap()
    } else {
        MtomWriter::new()
    };
    let content_type = writer.content_type();
    let body = writer.into_body(envelope, attachments).unwrap();
    client
        .post(url)
        .header("content-type", content_type)
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
}

/// ITI-41 as plain SOAP (inline documents only).
pub async fn provide_and_register_plain(
    url: &str,
    submit: SubmitObjectsRequest,
    documents: Vec<(&str, Vec<u8>)>,
) -> RegistryResponse {
    let request = ProvideAndRegisterDocumentSetRequest {
        submit,
        documents: documents
            .into_iter()
            .map(|(id, bytes)| Document {
                id: id.to_owned(),
                content: DocumentContent::Inline(bytes),
            })
            .collect(),
    };
    let (envelope, _) = soap::write_request_envelope(
        action::PROVIDE_AND_REGISTER_DOCUMENT_SET_B,
        url,
        &request.to_xml(),
    );
    let body = reqwest::Client::new()
        .post(url)
        .header(
            "content-type",
            soap::content_type(action::PROVIDE_AND_REGISTER_DOCUMENT_SET_B),
        )
        .body(envelope)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut message = soap::read_response_envelope(&body, Limits::default()).unwrap();
    read_registry_response(&mut message.reader, &message.body).unwrap()
}

/// A document retrieved with ITI-43: its Content-ID, SHA-1, size and (when small) bytes.
#[derive(Debug)]
pub struct RetrievedPart {
    pub content_id: String,
    pub sha1: String,
    pub size: u64,
    pub bytes: Vec<u8>,
}

/// Parts up to this size keep their bytes; larger ones only their hash and size.
const KEEP_BYTES_UP_TO: u64 = 1024 * 1024;

/// ITI-43 for `(repositoryUniqueId, uniqueId)` pairs, with [`HOME`] as homeCommunityId.
pub async fn retrieve(
    url: &str,
    wanted: &[(&str, &str)],
) -> (RetrieveDocumentSetResponse, Vec<RetrievedPart>) {
    let request = RetrieveDocumentSetRequest {
        requests: wanted
            .iter()
            .map(|(repository, document)| DocumentRequest {
                home_community_id: Some(HOME.to_owned()),
                repository_unique_id: (*repository).to_owned(),
                document_unique_id: (*document).to_owned(),
            })
            .collect(),
    };
    let (envelope, _) =
        soap::write_request_envelope(action::RETRIEVE_DOCUMENT_SET, url, &request.to_xml());
    let response = reqwest::Client::new()
        .post(url)
        .header(
            "content-type",
            soap::content_type(action::RETRIEVE_DOCUMENT_SET),
        )
        .body(envelope)
        .send()
        .await
        .unwrap();
    let (envelope, parts) = read_answer(response).await;
    let mut message = soap::read_response_envelope(&envelope, Limits::default()).unwrap();
    assert_eq!(
        message.headers.action,
        action::RETRIEVE_DOCUMENT_SET_RESPONSE
    );
    let answer = read_retrieve_document_set_response(&mut message.reader, &message.body).unwrap();
    (answer, parts)
}

/// ITI-86 Remove Documents for `(repositoryUniqueId, uniqueId)` pairs: the RegistryResponse.
pub async fn remove_documents(url: &str, wanted: &[(&str, &str)]) -> RegistryResponse {
    let request = RemoveDocumentsRequest {
        documents: wanted
            .iter()
            .map(|(repository, document)| DocumentRequest {
                home_community_id: Some(HOME.to_owned()),
                repository_unique_id: (*repository).to_owned(),
                document_unique_id: (*document).to_owned(),
            })
            .collect(),
    };
    let (envelope, _) =
        soap::write_request_envelope(action::REMOVE_DOCUMENTS, url, &request.to_xml());
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", soap::content_type(action::REMOVE_DOCUMENTS))
        .body(envelope)
        .send()
        .await
        .unwrap();
    let (envelope, _) = read_answer(response).await;
    let mut message = soap::read_response_envelope(&envelope, Limits::default()).unwrap();
    assert_eq!(message.headers.action, action::REMOVE_DOCUMENTS_RESPONSE);
    read_registry_response(&mut message.reader, &message.body).unwrap()
}

/// The envelope of an answer (plain or MTOM) and its attachments, hashed as they stream in.
async fn read_answer(response: reqwest::Response) -> (Bytes, Vec<RetrievedPart>) {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    match SoapContentType::parse(&content_type).unwrap() {
        SoapContentType::Plain { .. } => (response.bytes().await.unwrap(), Vec::new()),
        SoapContentType::Mtom(multipart) => {
            let stream = Box::pin(response.bytes_stream());
            let mut reader = MtomReader::new(stream, &multipart);
            let root = reader.root(16 * 1024 * 1024).await.unwrap();
            let mut parts = Vec::new();
            while let Some(headers) = reader.next_part().await.unwrap() {
                let mut hasher = Sha1::new();
                let mut size = 0u64;
                let mut bytes = Vec::new();
                while let Some(chunk) = reader.read_chunk().await.unwrap() {
                    hasher.update(&chunk);
                    size += chunk.len() as u64;
                    if size <= KEEP_BYTES_UP_TO {
                        bytes.extend_from_slice(&chunk);
                    }
                }
                parts.push(RetrievedPart {
                    content_id: headers.content_id.unwrap_or_default(),
                    sha1: hex::encode(hasher.finalize()),
                    size,
                    bytes: if size <= KEEP_BYTES_UP_TO {
                        bytes
                    } else {
                        Vec::new()
                    },
                });
            }
            (root.body, parts)
        }
    }
}

/// SHA-1 (hex) of `bytes`.
pub fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

/// The error codes of a RegistryResponse.
pub fn error_codes(response: &RegistryResponse) -> Vec<&str> {
    response
        .errors
        .iter()
        .map(|e| e.error_code.as_str())
        .collect()
}

/// A stream of `total` bytes in `chunk`-byte pieces of a deterministic pattern, generated as it
/// is polled, and the SHA-1 of the whole.
pub fn generated_document(total: usize, chunk: usize) -> (BodyStream, String) {
    let piece = |n: usize, len: usize| -> Bytes {
        Bytes::from(
            (0..len)
                .map(|i| ((n * 31 + i * 7) % 251) as u8)
                .collect::<Vec<u8>>(),
        )
    };
    let count = total.div_ceil(chunk);
    let mut hasher = Sha1::new();
    for n in 0..count {
        hasher.update(piece(n, chunk.min(total - n * chunk)));
    }
    let stream =
        futures::stream::iter(0..count).map(move |n| Ok(piece(n, chunk.min(total - n * chunk))));
    (Box::pin(stream), hex::encode(hasher.finalize()))
}
