//! DICOMweb client of a PACS (DICOM PS3.18): QIDO-RS study search, WADO-RS study metadata (turned
//! into a [`Study`]) and WADO-RS instance retrieval streamed out of the multipart/related answer.

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use reqwest::header::{ACCEPT, CONTENT_TYPE};

use crate::study::{InstanceHeader, Study, StudyError, StudySet, is_valid_uid};

/// Why a DICOMweb exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum DicomWebError {
    /// The base URL is not an absolute http(s) URL.
    #[error("invalid DICOMweb base URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// A UID given is not a valid DICOM UID.
    #[error("{what} {value:?} is not a valid DICOM UID")]
    InvalidUid { what: &'static str, value: String },
    /// No connection, timeout, broken body.
    #[error("{url}: {reason}")]
    Http { url: String, reason: String },
    /// The PACS answered an HTTP error status.
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    /// The study (or instance) does not exist on the PACS.
    #[error("{url}: not found")]
    NotFound { url: String },
    /// The DICOM JSON answer cannot be read.
    #[error("{url}: invalid DICOM JSON: {reason}")]
    Json { url: String, reason: String },
    /// The multipart/related answer cannot be read.
    #[error("{url}: invalid multipart answer: {reason}")]
    Multipart { url: String, reason: String },
    /// An instance's metadata lacks the UIDs that place it in the study.
    #[error("{url}: {source}")]
    Metadata { url: String, source: StudyError },
}

/// A DICOMweb client for one PACS root (e.g. `http://pacs:8042/dicom-web`).
#[derive(Debug, Clone)]
pub struct DicomWebClient {
    base: String,
    http: reqwest::Client,
}

impl DicomWebClient {
    /// A client of the DICOMweb root `base_url`.
    pub fn new(base_url: &str) -> Result<Self, DicomWebError> {
        let url = reqwest::Url::parse(base_url).map_err(|e| DicomWebError::InvalidUrl {
            url: base_url.to_owned(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(DicomWebError::InvalidUrl {
                url: base_url.to_owned(),
                reason: "scheme must be http or https".to_owned(),
            });
        }
        Ok(DicomWebClient {
            base: base_url.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        })
    }

    /// QIDO-RS Search for Studies (`GET {root}/studies?…`): the DICOM JSON objects.
    pub async fn find_studies(
        &self,
        query: &[(&str, &str)],
    ) -> Result<Vec<serde_json::Value>, DicomWebError> {
        let url = format!("{}/studies", self.base);
        let response = self
            .http
            .get(&url)
            .query(query)
            .header(ACCEPT, "application/dicom+json")
            .send()
            .await
            .map_err(|e| http_error(&url, &e))?;
        self.json_array(&url, response).await
    }

    /// WADO-RS Retrieve Study Metadata (`GET {root}/studies/{S}/metadata`) as a [`Study`].
    pub async fn study(&self, study_uid: &str) -> Result<Study, DicomWebError> {
        check_uid("Study Instance UID", study_uid)?;
        let url = format!("{}/studies/{study_uid}/metadata", self.base);
        let response = self
            .http
            .get(&url)
            .header(ACCEPT, "application/dicom+json")
            .send()
            .await
            .map_err(|e| http_error(&url, &e))?;
        let instances = self.json_array(&url, response).await?;
        let mut set = StudySet::default();
        for value in instances {
            let ts = value
                .pointer("/00020010/Value/0")
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            let obj: dicom_object::InMemDicomObject =
                dicom_json::from_value(value).map_err(|e| DicomWebError::Json {
                    url: url.clone(),
                    reason: e.to_string(),
                })?;
            let header = InstanceHeader::from_object(&obj, ts.as_deref()).map_err(|source| {
                DicomWebError::Metadata {
                    url: url.clone(),
                    source,
                }
            })?;
            set.add(header);
        }
        set.studies
            .into_iter()
            .find(|s| s.study_instance_uid == study_uid)
            .ok_or(DicomWebError::NotFound { url })
    }

    /// WADO-RS Retrieve Instance: the Part-10 bytes of one instance, streamed out of the
    /// multipart/related answer as they arrive.
    pub async fn retrieve_instance(
        &self,
        study_uid: &str,
        series_uid: &str,
        sop_uid: &str,
    ) -> Result<BoxStream<'static, Result<Bytes, DicomWebError>>, DicomWebError> {
        check_uid("Study Instance UID", study_uid)?;
        check_uid("Series Instance UID", series_uid)?;
        check_uid("SOP Instance UID", sop_uid)?;
        let url = format!(
            "{}/studies/{study_uid}/series/{series_uid}/instances/{sop_uid}",
            self.base
        );
        let response = self
            .http
            .get(&url)
            .header(ACCEPT, "multipart/related; type=\"application/dicom\"")
            .send()
            .await
            .map_err(|e| http_error(&url, &e))?;
        let response = check_status(&url, response)?;
        let multipart_error = |reason: String| DicomWebError::Multipart {
            url: url.clone(),
            reason,
        };
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mime: mime::Mime = content_type
            .parse()
            .map_err(|e: mime::FromStrError| multipart_error(e.to_string()))?;
        if mime.type_() != mime::MULTIPART {
            return Err(multipart_error(format!(
                "Content-Type {content_type:?} is not multipart"
            )));
        }
        let boundary = mime
            .get_param(mime::BOUNDARY)
            .ok_or_else(|| multipart_error("no boundary".to_owned()))?
            .as_str()
            .to_owned();
        let mut multipart = multer::Multipart::new(response.bytes_stream(), boundary);
        let field = multipart
            .next_field()
            .await
            .map_err(|e| multipart_error(e.to_string()))?
            .ok_or_else(|| multipart_error("no part".to_owned()))?;
        let stream_url = url.clone();
        let chunks = futures::stream::unfold(Some((multipart, field)), move |state| {
            let url = stream_url.clone();
            async move {
                let (multipart, mut field) = state?;
                match field.chunk().await {
                    Ok(Some(chunk)) => Some((Ok(chunk), Some((multipart, field)))),
                    Ok(None) => None,
                    Err(e) => Some((
                        Err(DicomWebError::Multipart {
                            url,
                            reason: e.to_string(),
                        }),
                        None,
                    )),
                }
            }
        });
        Ok(chunks.boxed())
    }

    async fn json_array(
        &self,
        url: &str,
        response: reqwest::Response,
    ) -> Result<Vec<serde_json::Value>, DicomWebError> {
        let response = check_status(url, response)?;
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(Vec::new());
        }
        let body = response.bytes().await.map_err(|e| http_error(url, &e))?;
        if body.is_empty() {
            return Ok(Vec::new());
        }
        serde_json::from_slice(&body).map_err(|e| DicomWebError::Json {
            url: url.to_owned(),
            reason: e.to_string(),
        })
    }
}

fn check_status(
    url: &str,
    response: reqwest::Response,
) -> Result<reqwest::Response, DicomWebError> {
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        Err(DicomWebError::NotFound {
            url: url.to_owned(),
        })
    } else if !status.is_success() {
        Err(DicomWebError::Status {
            url: url.to_owned(),
            status: status.as_u16(),
        })
    } else {
        Ok(response)
    }
}

fn check_uid(what: &'static str, value: &str) -> Result<(), DicomWebError> {
    if is_valid_uid(value) {
        Ok(())
    } else {
        Err(DicomWebError::InvalidUid {
            what,
            value: value.to_owned(),
        })
    }
}

fn http_error(url: &str, error: &reqwest::Error) -> DicomWebError {
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        reason.push_str(": ");
        reason.push_str(&e.to_string());
        source = e.source();
    }
    DicomWebError::Http {
        url: url.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_must_be_http() {
        assert!(DicomWebClient::new("http://127.0.0.1:8042/dicom-web/").is_ok());
        assert!(matches!(
            DicomWebClient::new("ftp://pacs/dicom-web"),
            Err(DicomWebError::InvalidUrl { .. })
        ));
        assert!(DicomWebClient::new("not a url").is_err());
    }

    #[tokio::test]
    async fn uid_with_path_characters_is_refused_before_any_request() {
        let client = DicomWebClient::new("http://127.0.0.1:1/dicom-web").unwrap();
        assert!(matches!(
            client.study("1.2/../../x").await,
            Err(DicomWebError::InvalidUid { .. })
        ));
    }
}
