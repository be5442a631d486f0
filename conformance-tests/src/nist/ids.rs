//! The `ids` plans' fixture: the IHE XDS-I 2018 image set (or any folder of studies), the
//! in-process Imaging Document Source publishing a study of it (RAD-68) under the XDS patient
//! id a test maps its DICOM Patient ID to, and the Repository/Registry simulator the plans read
//! the submission from (`SimReference actor="rep" transaction="prb" pid=...`): it records each
//! RAD-68 request and forwards it unchanged to the repository.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bytes::Bytes;
use imaging_source::kos::AffinityPatient;
use imaging_source::publish::{PublishContext, publish};
use imaging_source::study::Study;
use schemas::mtom::{MtomReader, SoapContentType, cid_from_href};

use super::kos_metadata::submission_set_patient_id;
use super::tree::Element;

/// Why an `ids` plan step cannot run without the image set.
pub const NEEDS_IMAGE_SET: &str =
    "needs the IHE XDS-I 2018 image set (--ids-image-set DIR), not shipped in ../shared";

/// Largest RAD-68 request the simulator records (a manifest and its metadata).
const MAX_SUBMISSION_BYTES: usize = 16 * 1024 * 1024;

/// The studies of an image set folder, with their instance files.
#[derive(Debug, Clone)]
pub struct ImageSet {
    pub dir: PathBuf,
    pub studies: Vec<(Study, Vec<PathBuf>)>,
}

impl ImageSet {
    /// Scans `dir` (DICOMDIR or every file) for studies.
    pub async fn scan(dir: &Path) -> Result<ImageSet, String> {
        let folder = dir.to_path_buf();
        let scan = tokio::task::spawn_blocking(move || imaging_source::cd::scan_folder(&folder))
            .await
            .map_err(|e| format!("image set scan stopped: {e}"))?
            .map_err(|e| format!("image set: {e}"))?;
        if scan.studies.is_empty() {
            return Err(format!(
                "image set {}: no DICOM instance found",
                dir.display()
            ));
        }
        Ok(ImageSet {
            dir: dir.to_path_buf(),
            studies: scan.studies,
        })
    }

    /// The study with this Study Instance UID.
    pub fn study(&self, study_uid: &str) -> Option<&Study> {
        self.studies
            .iter()
            .map(|(study, _)| study)
            .find(|s| s.study_instance_uid == study_uid)
    }

    /// The standard images of a `StdDir` (`2018/C3L-00277/images`, relative to the toolkit's
    /// image cache): that folder of the image set when it has one (its files, not its
    /// sub-folders), else every instance of the patient the path names (`C3L-00277`).
    pub fn standard_images(&self, std_dir: &str) -> Result<Vec<PathBuf>, String> {
        let relative = Path::new(std_dir);
        let candidates = [
            Some(self.dir.join(relative)),
            relative
                .strip_prefix(relative.iter().next().unwrap_or_default())
                .ok()
                .map(|rest| self.dir.join(rest)),
        ];
        if let Some(folder) = candidates.into_iter().flatten().find(|p| p.is_dir()) {
            return super::dcm_images::files_in(&folder);
        }
        let patient = relative
            .iter()
            .rev()
            .find(|part| *part != "images")
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let files: Vec<PathBuf> = self
            .studies
            .iter()
            .filter(|(study, _)| study.patient.id == patient)
            .flat_map(|(_, files)| files.iter().cloned())
            .collect();
        if files.is_empty() {
            return Err(format!(
                "image set {} has neither a folder {std_dir} nor a study of patient {patient}",
                self.dir.display()
            ));
        }
        Ok(files)
    }
}

/// A RAD-68 submission as the simulator received it.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The `ProvideAndRegisterDocumentSetRequest`.
    pub request: Element,
    /// The manifest (the `application/dicom` document), Part-10 bytes.
    pub manifest: Bytes,
}

#[derive(Clone)]
struct SimulatorState {
    repository_url: String,
    client: reqwest::Client,
    recorded: Arc<Mutex<Vec<(String, Bytes)>>>,
}

/// The Repository/Registry simulator: records RAD-68 requests, forwards them to the repository.
pub struct Rad68Simulator {
    url: String,
    recorded: Arc<Mutex<Vec<(String, Bytes)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Rad68Simulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// RAD-68 as received: recorded, then forwarded; the repository's answer is returned as is.
async fn record_and_forward(
    State(state): State<SimulatorState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if let Ok(mut recorded) = state.recorded.lock() {
        recorded.push((content_type.clone(), body.clone()));
    }
    let answer = state
        .client
        .post(&state.repository_url)
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await;
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => {
            return (StatusCode::BAD_GATEWAY, format!("repository: {e}")).into_response();
        }
    };
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let answer_type = answer
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    match answer.bytes().await {
        Ok(body) => (status, [(header::CONTENT_TYPE, answer_type)], body).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, format!("repository: {e}")).into_response(),
    }
}

impl Rad68Simulator {
    /// Starts on a free loopback port, forwarding to `repository_url`.
    pub async fn start(repository_url: String) -> std::io::Result<Rad68Simulator> {
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let state = SimulatorState {
            repository_url,
            client: reqwest::Client::new(),
            recorded: recorded.clone(),
        };
        let app = axum::Router::new()
            .route("/", axum::routing::post(record_and_forward))
            .layer(DefaultBodyLimit::max(MAX_SUBMISSION_BYTES))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("http://{}/", listener.local_addr()?);
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("nist: RAD-68 simulator stopped: {e}");
            }
        });
        Ok(Rad68Simulator {
            url,
            recorded,
            task,
        })
    }

    /// Where the Imaging Document Source sends RAD-68.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The last submission recorded for this SubmissionSet.patientId.
    pub async fn submission_for(&self, patient: &str) -> Result<Option<Submission>, String> {
        let recorded = self
            .recorded
            .lock()
            .map(|r| r.clone())
            .map_err(|_| "harness: RAD-68 simulator lock poisoned".to_owned())?;
        for (content_type, body) in recorded.iter().rev() {
            let submission = read_submission(content_type, body.clone()).await?;
            if submission_set_patient_id(&submission.request) == patient {
                return Ok(Some(submission));
            }
        }
        Ok(None)
    }
}

/// Reads a recorded ITI-41/RAD-68 request: MTOM (documents as XOP parts) or plain SOAP
/// (documents inline, base64).
pub async fn read_submission(content_type: &str, body: Bytes) -> Result<Submission, String> {
    let bad = |reason: String| format!("RAD-68 request as received: {reason}");
    let (envelope, parts) = match SoapContentType::parse(content_type)
        .map_err(|e| bad(e.to_string()))?
    {
        SoapContentType::Plain { .. } => (body, Vec::new()),
        SoapContentType::Mtom(multipart) => {
            let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(body) });
            let mut reader = MtomReader::new(Box::pin(stream), &multipart);
            let root = reader
                .root(MAX_SUBMISSION_BYTES)
                .await
                .map_err(|e| bad(e.to_string()))?;
            let mut parts = Vec::new();
            while let Some(headers) = reader.next_part().await.map_err(|e| bad(e.to_string()))? {
                let mut content = Vec::new();
                while let Some(chunk) = reader.read_chunk().await.map_err(|e| bad(e.to_string()))? {
                    content.extend_from_slice(&chunk);
                }
                parts.push((headers.content_id.unwrap_or_default(), Bytes::from(content)));
            }
            (root.body, parts)
        }
    };
    let text =
        std::str::from_utf8(&envelope).map_err(|_| bad("envelope is not UTF-8".to_owned()))?;
    let document = roxmltree::Document::parse(text).map_err(|e| bad(e.to_string()))?;
    let node = document
        .descendants()
        .find(|n| n.has_tag_name("ProvideAndRegisterDocumentSetRequest"))
        .ok_or_else(|| bad("no ProvideAndRegisterDocumentSetRequest".to_owned()))?;
    let request = Element::from_node(node);
    let manifest_id = request
        .elements()
        .flat_map(Element::elements)
        .flat_map(Element::elements)
        .find(|e| {
            e.name == "ExtrinsicObject" && e.attribute("mimeType") == Some("application/dicom")
        })
        .and_then(|e| e.attribute("id"))
        .map(str::to_owned);
    let documents: Vec<&Element> = request
        .elements()
        .filter(|e| e.name == "Document")
        .collect();
    let document = documents
        .iter()
        .find(|d| manifest_id.is_some() && d.attribute("id") == manifest_id.as_deref())
        .or_else(|| documents.first())
        .ok_or_else(|| bad("no Document".to_owned()))?;
    let include = document.elements().find(|e| e.name == "Include");
    let manifest = match include
        .and_then(|i| i.attribute("href"))
        .and_then(cid_from_href)
    {
        Some(cid) => parts
            .into_iter()
            .find(|(id, _)| *id == cid)
            .map(|(_, content)| content)
            .ok_or_else(|| bad(format!("no MIME part {cid}")))?,
        None => Bytes::from(
            base64::engine::general_purpose::STANDARD
                .decode(document.text().trim())
                .map_err(|e| bad(format!("Document is not base64: {e}")))?,
        ),
    };
    Ok(Submission { request, manifest })
}

/// The image set and the source that publishes it.
pub struct ImagingFixture {
    pub image_set: ImageSet,
    pub simulator: Rad68Simulator,
    /// Repository (the simulator), registry, repositoryUniqueId, codes; the patient is
    /// replaced per publication.
    pub context: PublishContext,
}

impl ImagingFixture {
    /// A fixture publishing through a new simulator in front of `repository_url`.
    pub async fn start(
        image_set: ImageSet,
        repository_url: String,
        registry_url: String,
        imaging_source_unique_id: String,
    ) -> std::io::Result<ImagingFixture> {
        let simulator = Rad68Simulator::start(repository_url).await?;
        let context = PublishContext {
            affinity_patient: AffinityPatient {
                id: String::new(),
                assigning_authority: String::new(),
            },
            source_patient_id: None,
            repository_url: simulator.url().to_owned(),
            registry_url: Some(registry_url),
            imaging_source_unique_id,
            source_id: "1.3.6.1.4.1.21367.13.80.110.1".to_owned(),
            retrieve_ae_title: imaging_source::config::DEFAULT_AE_TITLE.to_owned(),
            retrieve_url: None,
            codes: imaging_source::metadata::CodeMappings::default(),
            report: None,
            timeout: Duration::from_secs(60),
        };
        Ok(ImagingFixture {
            image_set,
            simulator,
            context,
        })
    }

    /// RAD-68 of the image set's study `study_uid`, whose DICOM Patient ID must be
    /// `local_patient_id`, under the XDS patient id `patient` (`id^^^&oid&ISO`).
    pub async fn publish(
        &self,
        patient: &str,
        study_uid: &str,
        local_patient_id: &str,
    ) -> Result<(), String> {
        let study = self.image_set.study(study_uid).ok_or_else(|| {
            format!(
                "image set {} has no study {study_uid} (patient {local_patient_id})",
                self.image_set.dir.display()
            )
        })?;
        if study.patient.id != local_patient_id {
            return Err(format!(
                "image set study {study_uid} is of patient {}, the test maps {local_patient_id}",
                study.patient.id
            ));
        }
        let affinity_patient = AffinityPatient::parse_cx(patient)
            .map_err(|e| format!("harness: SimReference pid {patient}: {e}"))?;
        let context = PublishContext {
            affinity_patient,
            ..self.context.clone()
        };
        publish(study, &context)
            .await
            .map(|_| ())
            .map_err(|e| format!("RAD-68 of study {study_uid}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;
    use schemas::mtom::{Attachment, MtomWriter};

    const REQUEST: &str = r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007"><lcm:SubmitObjectsRequest xmlns:lcm="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"><rim:RegistryObjectList xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><rim:ExtrinsicObject id="kos" mimeType="application/dicom"/><rim:RegistryPackage id="ss"><rim:ExternalIdentifier identificationScheme="urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446" value="P^^^&amp;1.2&amp;ISO"/></rim:RegistryPackage></rim:RegistryObjectList></lcm:SubmitObjectsRequest><xdsb:Document id="kos"><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:kos@x"/></xdsb:Document></xdsb:ProvideAndRegisterDocumentSetRequest></env:Body></env:Envelope>"#;

    #[tokio::test]
    async fn a_recorded_mtom_submission_gives_its_metadata_and_manifest() {
        let writer = MtomWriter::new();
        let content_type = writer.content_type();
        let body: Vec<u8> = writer
            .into_body(
                REQUEST.to_owned(),
                vec![Attachment::from_bytes(
                    "kos@x",
                    "application/dicom",
                    Bytes::from_static(b"DICM"),
                )],
            )
            .unwrap()
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
            .concat();
        let submission = read_submission(&content_type, Bytes::from(body))
            .await
            .unwrap();
        assert_eq!(submission.manifest, Bytes::from_static(b"DICM"));
        assert_eq!(
            submission_set_patient_id(&submission.request),
            "P^^^&1.2&ISO"
        );
    }

    #[tokio::test]
    async fn a_plain_submission_carries_its_manifest_inline() {
        let request = REQUEST.replace(
            r#"<xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:kos@x"/>"#,
            "RElDTQ==",
        );
        let submission = read_submission("application/soap+xml", Bytes::from(request))
            .await
            .unwrap();
        assert_eq!(submission.manifest, Bytes::from_static(b"DICM"));
    }

    #[test]
    fn a_std_dir_without_a_folder_is_the_named_patients_instances() {
        let dir = tempfile::tempdir().unwrap();
        let study = |patient: &str| -> (Study, Vec<PathBuf>) {
            let json = format!(
                r#"{{"study_instance_uid":"1.2","patient":{{"id":"{patient}","issuer":null,"name":null,"birth_date":null,"sex":null}},"accession_number":null,"accession_issuer":null,"study_date":null,"study_time":null,"description":null,"referring_physician":null,"institution_name":null,"study_id":null,"series":[]}}"#
            );
            (
                serde_json::from_str(&json).unwrap(),
                vec![dir.path().join(format!("{patient}.dcm"))],
            )
        };
        let set = ImageSet {
            dir: dir.path().to_path_buf(),
            studies: vec![study("C3L-00277"), study("OTHER")],
        };
        assert_eq!(
            set.standard_images("2018/C3L-00277/images").unwrap(),
            [dir.path().join("C3L-00277.dcm")]
        );
        assert!(set.standard_images("2018/NOBODY/images").is_err());
        std::fs::create_dir_all(dir.path().join("C3L-00277/images")).unwrap();
        std::fs::write(dir.path().join("C3L-00277/images/a.dcm"), b"x").unwrap();
        assert_eq!(
            set.standard_images("2018/C3L-00277/images").unwrap(),
            [dir.path().join("C3L-00277/images/a.dcm")]
        );
    }
}
