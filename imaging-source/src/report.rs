//! The optional radiology report of a RAD-68 submission set (RAD TF-3 4.68.4.1.2: the report
//! travels in the same submission set as the manifest): a PDF or text file the operator names,
//! or the report the study itself holds, a DICOM Encapsulated PDF (its PDF is published) or a
//! Basic Text / Enhanced / Comprehensive SR (published as its text rendering, `sr_text`), found
//! in a CD or instance store folder or, for a PACS-held study, by the SOP Class its WADO-RS
//! metadata gives (only that instance is fetched).

mod sr_text;

use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use futures::StreamExt;

pub use sr_text::SrTextError;

use crate::dicomweb::{DicomWebClient, DicomWebError};
use crate::metadata::CodeSpec;
use crate::publish::ReportDocument;
use crate::study::{Instance, Series, Study};

/// SOP Class UID of Encapsulated PDF Storage.
pub const ENCAPSULATED_PDF_SOP_CLASS: &str = "1.2.840.10008.5.1.4.1.1.104.1";
/// SOP Class UID of Basic Text SR Storage.
pub const BASIC_TEXT_SR_SOP_CLASS: &str = "1.2.840.10008.5.1.4.1.1.88.11";
/// SOP Class UID of Enhanced SR Storage.
pub const ENHANCED_SR_SOP_CLASS: &str = "1.2.840.10008.5.1.4.1.1.88.22";
/// SOP Class UID of Comprehensive SR Storage.
pub const COMPREHENSIVE_SR_SOP_CLASS: &str = "1.2.840.10008.5.1.4.1.1.88.33";

/// The SR SOP Classes of textual reports; other SR classes (Key Object Selection, CAD, dose,
/// measurement reports) are not radiology reports.
pub const REPORT_SR_SOP_CLASSES: [&str; 3] = [
    BASIC_TEXT_SR_SOP_CLASS,
    ENHANCED_SR_SOP_CLASS,
    COMPREHENSIVE_SR_SOP_CLASS,
];

/// A report fetched from a PACS larger than this is refused (a report is text or a few pages).
pub const MAX_PACS_REPORT_BYTES: usize = 64 * 1024 * 1024;

/// A report that cannot be published.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The file cannot be read.
    #[error("cannot read report {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A DICOM object that cannot be parsed.
    #[error("report {origin} is an unreadable DICOM object: {reason}")]
    UnreadableDicom { origin: String, reason: String },
    /// A DICOM object that is neither an Encapsulated PDF nor a textual SR.
    #[error(
        "report {origin} is a DICOM object of SOP Class {sop_class}, neither an Encapsulated PDF nor a Basic Text, Enhanced or Comprehensive SR"
    )]
    NotAReport { origin: String, sop_class: String },
    /// An Encapsulated PDF whose document cannot be read.
    #[error("report {origin} is an Encapsulated PDF without a readable PDF: {reason}")]
    NotEncapsulatedPdf { origin: String, reason: String },
    /// An SR whose content tree has no text rendering.
    #[error("report {origin} is an SR without a text rendering: {source}")]
    Sr { origin: String, source: SrTextError },
    /// Neither PDF, nor DICOM, nor UTF-8 text.
    #[error("report {path} is neither a PDF, a DICOM Encapsulated PDF or SR nor UTF-8 text")]
    UnsupportedFormat { path: PathBuf },
    /// The PACS did not deliver the report instance.
    #[error("report instance {sop} of study {study}: {source}")]
    Retrieve {
        study: String,
        sop: String,
        source: DicomWebError,
    },
    /// The PACS delivered a report instance larger than [`MAX_PACS_REPORT_BYTES`].
    #[error("report instance {sop} of study {study} is larger than {MAX_PACS_REPORT_BYTES} bytes")]
    TooLarge { study: String, sop: String },
}

/// The report in `path`: a PDF (`%PDF-`), a DICOM Encapsulated PDF (its PDF) or textual SR (its
/// text rendering), or UTF-8 text; the format is read from the content, not from the file name.
pub fn report_from_file(path: &Path, title: Option<String>) -> Result<ReportDocument, ReportError> {
    let content = read(path)?;
    if content.starts_with(b"%PDF-") {
        return Ok(pdf_report(Bytes::from(content), title));
    }
    if let Some(dataset) = part10_dataset(&content) {
        return report_from_dicom(&path.display().to_string(), dataset, title);
    }
    match String::from_utf8(content) {
        Ok(text) => Ok(text_report(text, title)),
        Err(_) => Err(ReportError::UnsupportedFormat {
            path: path.to_owned(),
        }),
    }
}

/// The report instance of `study`, as the position of the instance (in the order of the
/// study's series and instances) with its series: its Encapsulated PDF if it holds one (the
/// report as the reporting system laid it out), else its first Basic Text, Enhanced or
/// Comprehensive SR; `None` when it holds neither.
pub fn report_instance(study: &Study) -> Option<(usize, &Series, &Instance)> {
    let instances = || {
        study
            .series
            .iter()
            .flat_map(|series| series.instances.iter().map(move |i| (series, i)))
            .enumerate()
            .map(|(index, (series, instance))| (index, series, instance))
    };
    instances()
        .find(|(_, _, i)| i.sop_class_uid == ENCAPSULATED_PDF_SOP_CLASS)
        .or_else(|| {
            instances().find(|(_, _, i)| REPORT_SR_SOP_CLASSES.contains(&i.sop_class_uid.as_str()))
        })
}

/// The report `study` holds (see [`report_instance`]) read from its file, `files` in the order
/// of its instances (as `cd::FolderScan` lists them, for a CD or the instance store); `None`
/// when the study holds no report.
pub fn report_in_study(
    study: &Study,
    files: &[PathBuf],
) -> Result<Option<ReportDocument>, ReportError> {
    let Some(file) = report_instance(study).and_then(|(index, _, _)| files.get(index)) else {
        return Ok(None);
    };
    let content = read(file)?;
    let origin = file.display().to_string();
    let dataset = part10_dataset(&content).ok_or_else(|| ReportError::UnreadableDicom {
        origin: origin.clone(),
        reason: "no DICM marker after the 128-byte preamble".to_owned(),
    })?;
    report_from_dicom(&origin, dataset, study_report_title(study)).map(Some)
}

/// The report of a study the PACS holds (see [`report_instance`], from the SOP Classes of its
/// WADO-RS metadata): only that instance is fetched (WADO-RS Retrieve Instance); `None` when the
/// study holds no report.
pub async fn report_in_pacs_study(
    client: &DicomWebClient,
    study: &Study,
) -> Result<Option<ReportDocument>, ReportError> {
    let Some((_, series, instance)) = report_instance(study) else {
        return Ok(None);
    };
    let study_uid = &study.study_instance_uid;
    let sop = &instance.sop_instance_uid;
    let retrieve_error = |source| ReportError::Retrieve {
        study: study_uid.clone(),
        sop: sop.clone(),
        source,
    };
    let mut stream = client
        .retrieve_instance(study_uid, &series.series_instance_uid, sop)
        .await
        .map_err(retrieve_error)?;
    let mut content = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(retrieve_error)?;
        if content.len() + chunk.len() > MAX_PACS_REPORT_BYTES {
            return Err(ReportError::TooLarge {
                study: study_uid.clone(),
                sop: sop.clone(),
            });
        }
        content.extend_from_slice(&chunk);
    }
    let origin = format!("instance {sop} of study {study_uid} (PACS)");
    let dataset = part10_dataset(&content).ok_or_else(|| ReportError::UnreadableDicom {
        origin: origin.clone(),
        reason: "the PACS answer is not a DICOM Part-10 object".to_owned(),
    })?;
    report_from_dicom(&origin, dataset, study_report_title(study)).map(Some)
}

fn study_report_title(study: &Study) -> Option<String> {
    study
        .description
        .as_ref()
        .map(|description| format!("{description} report"))
}

fn read(path: &Path) -> Result<Vec<u8>, ReportError> {
    std::fs::read(path).map_err(|source| ReportError::Read {
        path: path.to_owned(),
        source,
    })
}

/// The Part-10 object in `content` from its `DICM` marker: after the 128-byte preamble, or at
/// the start when a sender left the preamble out.
fn part10_dataset(content: &[u8]) -> Option<&[u8]> {
    if content.get(128..132) == Some(b"DICM") {
        content.get(128..)
    } else if content.starts_with(b"DICM") {
        Some(content)
    } else {
        None
    }
}

/// The report in the Part-10 object `part10` (from its `DICM` marker), by its SOP Class.
fn report_from_dicom(
    origin: &str,
    part10: &[u8],
    title: Option<String>,
) -> Result<ReportDocument, ReportError> {
    let obj = dicom_object::from_reader(part10).map_err(|e| ReportError::UnreadableDicom {
        origin: origin.to_owned(),
        reason: e.to_string(),
    })?;
    let sop_class = obj
        .meta()
        .media_storage_sop_class_uid()
        .trim_end_matches('\0')
        .trim()
        .to_owned();
    if sop_class == ENCAPSULATED_PDF_SOP_CLASS {
        return encapsulated_pdf(origin, &obj, title);
    }
    if REPORT_SR_SOP_CLASSES.contains(&sop_class.as_str()) {
        let rendered = sr_text::render(&obj).map_err(|source| ReportError::Sr {
            origin: origin.to_owned(),
            source,
        })?;
        return Ok(text_report(rendered.text, title.or(rendered.title)));
    }
    Err(ReportError::NotAReport {
        origin: origin.to_owned(),
        sop_class,
    })
}

const RAD_FORMAT_SCHEME: &str = "1.3.6.1.4.1.19376.1.2.3";

fn report_type_code() -> CodeSpec {
    CodeSpec::new(
        "18782-3",
        "2.16.840.1.113883.6.1",
        "Radiology Study observation (narrative)",
    )
}

fn report_class_code() -> CodeSpec {
    CodeSpec::new("REPORTS", "1.3.6.1.4.1.19376.1.2.6.1", "Reports")
}

fn pdf_report(content: Bytes, title: Option<String>) -> ReportDocument {
    ReportDocument {
        content,
        mime_type: "application/pdf".to_owned(),
        format_code: CodeSpec::new(
            "urn:ihe:rad:PDF",
            RAD_FORMAT_SCHEME,
            "Radiology report, PDF",
        ),
        type_code: report_type_code(),
        class_code: report_class_code(),
        title,
    }
}

fn text_report(text: String, title: Option<String>) -> ReportDocument {
    ReportDocument {
        content: Bytes::from(text),
        mime_type: "text/plain".to_owned(),
        format_code: CodeSpec::new(
            "urn:ihe:rad:TEXT",
            RAD_FORMAT_SCHEME,
            "Radiology report, text",
        ),
        type_code: report_type_code(),
        class_code: report_class_code(),
        title,
    }
}

/// The PDF inside an Encapsulated PDF object, element (0042,0011) without the padding byte an
/// odd length gets (PS3.3 C.24.2.1: the document ends at its `%%EOF`).
fn encapsulated_pdf(
    origin: &str,
    obj: &InMemDicomObject,
    title: Option<String>,
) -> Result<ReportDocument, ReportError> {
    let not_pdf = |reason: String| ReportError::NotEncapsulatedPdf {
        origin: origin.to_owned(),
        reason,
    };
    let document = obj
        .element(tags::ENCAPSULATED_DOCUMENT)
        .map_err(|e| not_pdf(e.to_string()))?
        .to_bytes()
        .map_err(|e| not_pdf(e.to_string()))?;
    let mut pdf = document.to_vec();
    if pdf.last() == Some(&0) {
        pdf.pop();
    }
    if !pdf.starts_with(b"%PDF-") {
        return Err(not_pdf("Encapsulated Document is not a PDF".to_owned()));
    }
    Ok(pdf_report(Bytes::from(pdf), title))
}
