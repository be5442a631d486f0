//! DICOMweb client of the hospital PACS: QIDO-RS study search, WADO-RS study metadata, and
//! WADO-RS instance retrieval streamed out of the multipart answer.

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::Value;

use crate::study::{Instance, PatientInfo, Series, Study};

/// Why a DICOMweb exchange with the PACS failed.
#[derive(Debug, thiserror::Error)]
pub enum DicomWebError {
    #[error("invalid DICOMweb base URL {url:?}: {reason}")]
    BaseUrl { url: String, reason: String },
    #[error("DICOMweb request {url} failed: {source}")]
    Http { url: String, source: reqwest::Error },
    #[error("DICOMweb request {url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("DICOMweb answer of {url} is not understood: {reason}")]
    Answer { url: String, reason: String },
}

/// A DICOMweb (QIDO-RS, WADO-RS) client of one PACS.
#[derive(Debug, Clone)]
pub struct DicomWebClient {
    base: String,
    http: reqwest::Client,
}

impl DicomWebClient {
    /// A client of the DICOMweb service rooted at `base_url` (e.g. `http://pacs/dicom-web`).
    pub fn new(base_url: &str) -> Result<Self, DicomWebError> {
        let parsed = reqwest::Url::parse(base_url).map_err(|e| DicomWebError::BaseUrl {
            url: base_url.to_owned(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(DicomWebError::BaseUrl {
                url: base_url.to_owned(),
                reason: "not an http(s) URL".to_owned(),
            });
        }
        Ok(DicomWebClient {
            base: base_url.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        })
    }

    /// QIDO-RS `GET {base}/studies?{query}`: the matching studies as DICOM JSON objects.
    pub async fn find_studies(&self, query: &[(&str, &str)]) -> Result<Vec<Value>, DicomWebError> {
        let url = format!("{}/studies", self.base);
        let response = self.get(&url, "application/dicom+json", query).await?;
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(Vec::new());
        }
        json_array(&url, response).await
    }

    /// WADO-RS `GET {base}/studies/{uid}/metadata`: the study, its series and instances.
    pub async fn study(&self, study_uid: &str) -> Result<Study, DicomWebError> {
        let url = format!("{}/studies/{study_uid}/metadata", self.base);
        let response = self.get(&url, "application/dicom+json", &[]).await?;
        let body = response
            .bytes()
            .await
            .map_err(|source| DicomWebError::Http {
                url: url.clone(),
                source,
            })?;
        // Only the attributes the model needs are kept: the rest is skipped while parsing.
        let instances: Vec<MetadataObject> =
            serde_json::from_slice(&body).map_err(|e| DicomWebError::Answer {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        drop(body);
        let instances: Vec<Value> = instances
            .into_iter()
            .map(MetadataObject::into_value)
            .collect();
        study_from_metadata(study_uid, &instances).ok_or_else(|| DicomWebError::Answer {
            url,
            reason: "no instance of the study in the metadata".to_owned(),
        })
    }

    /// WADO-RS `GET {base}/studies/{s}/series/{se}/instances/{i}`: the instance's Part-10 bytes,
    /// streamed out of the multipart/related answer.
    pub async fn retrieve_instance(
        &self,
        study_uid: &str,
        series_uid: &str,
        sop_uid: &str,
    ) -> Result<BoxStream<'static, Result<Bytes, DicomWebError>>, DicomWebError> {
        let url = format!(
            "{}/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}",
            self.base
        );
        let response = self
            .get(&url, "multipart/related; type=\"application/dicom\"", &[])
            .await?;
        let answer = |reason: String| DicomWebError::Answer {
            url: url.clone(),
            reason,
        };
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mime: mime::Mime = content_type
            .parse()
            .map_err(|_| answer(format!("Content-Type {content_type:?}")))?;
        let boundary = mime
            .get_param(mime::BOUNDARY)
            .ok_or_else(|| answer(format!("no boundary in {content_type:?}")))?
            .as_str()
            .to_owned();
        let mut multipart = multer::Multipart::new(response.bytes_stream(), boundary);
        let field = multipart
            .next_field()
            .await
            .map_err(|e| answer(e.to_string()))?
            .ok_or_else(|| answer("empty multipart answer".to_owned()))?;
        let part_url = url.clone();
        Ok(field
            .map(move |chunk| {
                chunk.map_err(|e| DicomWebError::Answer {
                    url: part_url.clone(),
                    reason: e.to_string(),
                })
            })
            .boxed())
    }

    async fn get(
        &self,
        url: &str,
        accept: &str,
        query: &[(&str, &str)],
    ) -> Result<reqwest::Response, DicomWebError> {
        let response = self
            .http
            .get(url)
            .query(query)
            .header(reqwest::header::ACCEPT, accept)
            .send()
            .await
            .map_err(|source| DicomWebError::Http {
                url: url.to_owned(),
                source,
            })?;
        if !response.status().is_success() {
            return Err(DicomWebError::Status {
                url: url.to_owned(),
                status: response.status().as_u16(),
            });
        }
        Ok(response)
    }
}

async fn json_array(url: &str, response: reqwest::Response) -> Result<Vec<Value>, DicomWebError> {
    let body = response
        .bytes()
        .await
        .map_err(|source| DicomWebError::Http {
            url: url.to_owned(),
            source,
        })?;
    serde_json::from_slice(&body).map_err(|e| DicomWebError::Answer {
        url: url.to_owned(),
        reason: e.to_string(),
    })
}

/// The attributes of a WADO-RS metadata object that the study model reads; every other
/// attribute (sequences, bulk data) is skipped while parsing, unallocated.
#[derive(serde::Deserialize)]
struct MetadataObject {
    #[serde(rename = "00020010")]
    t00020010: Option<Attribute>,
    #[serde(rename = "00080016")]
    t00080016: Option<Attribute>,
    #[serde(rename = "00080018")]
    t00080018: Option<Attribute>,
    #[serde(rename = "00080020")]
    t00080020: Option<Attribute>,
    #[serde(rename = "00080030")]
    t00080030: Option<Attribute>,
    #[serde(rename = "00080050")]
    t00080050: Option<Attribute>,
    #[serde(rename = "00080060")]
    t00080060: Option<Attribute>,
    #[serde(rename = "00080080")]
    t00080080: Option<Attribute>,
    #[serde(rename = "00080090")]
    t00080090: Option<Attribute>,
    #[serde(rename = "0008103E")]
    t0008103e: Option<Attribute>,
    #[serde(rename = "00081030")]
    t00081030: Option<Attribute>,
    #[serde(rename = "00100010")]
    t00100010: Option<Attribute>,
    #[serde(rename = "00100020")]
    t00100020: Option<Attribute>,
    #[serde(rename = "00100021")]
    t00100021: Option<Attribute>,
    #[serde(rename = "00100030")]
    t00100030: Option<Attribute>,
    #[serde(rename = "00100040")]
    t00100040: Option<Attribute>,
    #[serde(rename = "00180015")]
    t00180015: Option<Attribute>,
    #[serde(rename = "0020000D")]
    t0020000d: Option<Attribute>,
    #[serde(rename = "0020000E")]
    t0020000e: Option<Attribute>,
    #[serde(rename = "00200010")]
    t00200010: Option<Attribute>,
    #[serde(rename = "00200011")]
    t00200011: Option<Attribute>,
    #[serde(rename = "00200013")]
    t00200013: Option<Attribute>,
}

/// One DICOM JSON attribute's values.
#[derive(serde::Deserialize)]
struct Attribute {
    #[serde(rename = "Value", default)]
    value: Vec<Value>,
}

impl MetadataObject {
    fn into_value(self) -> Value {
        let pairs = [
            ("00020010", self.t00020010),
            ("00080016", self.t00080016),
            ("00080018", self.t00080018),
            ("00080020", self.t00080020),
            ("00080030", self.t00080030),
            ("00080050", self.t00080050),
            ("00080060", self.t00080060),
            ("00080080", self.t00080080),
            ("00080090", self.t00080090),
            ("0008103E", self.t0008103e),
            ("00081030", self.t00081030),
            ("00100010", self.t00100010),
            ("00100020", self.t00100020),
            ("00100021", self.t00100021),
            ("00100030", self.t00100030),
            ("00100040", self.t00100040),
            ("00180015", self.t00180015),
            ("0020000D", self.t0020000d),
            ("0020000E", self.t0020000e),
            ("00200010", self.t00200010),
            ("00200011", self.t00200011),
            ("00200013", self.t00200013),
        ];
        Value::Object(
            pairs
                .into_iter()
                .filter_map(|(tag, attribute)| {
                    attribute.map(|a| (tag.to_owned(), serde_json::json!({ "Value": a.value })))
                })
                .collect(),
        )
    }
}

/// The first value of a tag (`"0020000D"`) of a DICOM JSON object, as text.
fn text(object: &Value, tag: &str) -> Option<String> {
    let value = object.get(tag)?.get("Value")?.get(0)?;
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(pn) => pn
            .get("Alphabetic")
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    }
}

fn number(object: &Value, tag: &str) -> Option<i32> {
    text(object, tag).and_then(|t| t.trim().parse().ok())
}

fn study_from_metadata(study_uid: &str, instances: &[Value]) -> Option<Study> {
    let first = instances.first()?;
    let mut series: Vec<Series> = Vec::new();
    for object in instances {
        let (Some(series_uid), Some(sop_uid)) =
            (text(object, "0020000E"), text(object, "00080018"))
        else {
            continue;
        };
        let instance = Instance {
            sop_class_uid: text(object, "00080016").unwrap_or_default(),
            sop_instance_uid: sop_uid,
            number: number(object, "00200013"),
            transfer_syntax_uid: text(object, "00020010"),
        };
        match series
            .iter_mut()
            .find(|s| s.series_instance_uid == series_uid)
        {
            Some(existing) => existing.instances.push(instance),
            None => series.push(Series {
                series_instance_uid: series_uid,
                modality: text(object, "00080060").unwrap_or_default(),
                body_part: text(object, "00180015"),
                description: text(object, "0008103E"),
                number: number(object, "00200011"),
                instances: vec![instance],
            }),
        }
    }
    Some(Study {
        study_instance_uid: study_uid.to_owned(),
        patient: PatientInfo {
            id: text(first, "00100020").unwrap_or_default(),
            issuer: text(first, "00100021"),
            name: text(first, "00100010"),
            birth_date: text(first, "00100030"),
            sex: text(first, "00100040"),
        },
        accession_number: text(first, "00080050"),
        accession_issuer: None,
        study_date: text(first, "00080020"),
        study_time: text(first, "00080030"),
        description: text(first, "00081030"),
        referring_physician: text(first, "00080090"),
        institution_name: text(first, "00080080"),
        study_id: text(first, "00200010"),
        series,
    })
}
