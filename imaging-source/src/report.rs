//! The optional radiology report of a RAD-68 submission set: a PDF or text file the operator
//! names, or the DICOM Encapsulated PDF found in the study itself (RAD TF-3 4.68.4.1.2: the
//! report travels in the same submission set as the manifest).

use std::path::{Path, PathBuf};

use bytes::Bytes;
use dicom_dictionary_std::tags;

use crate::metadata::CodeSpec;
use crate::publish::ReportDocument;
use crate::study::Study;

/// SOP Class UID of Encapsulated PDF Storage.
pub const ENCAPSULATED_PDF_SOP_CLASS: &str = "1.2.840.10008.5.1.4.1.1.104.1";

/// A report file that cannot be published.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The file cannot be read.
    #[error("cannot read report {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A DICOM file that is not an Encapsulated PDF, or whose document cannot be read.
    #[error("report {path} is a DICOM object without an encapsulated PDF: {reason}")]
    NotEncapsulatedPdf { path: PathBuf, reason: String },
    /// Neither PDF, nor DICOM, nor UTF-8 text.
    #[error("report {path} is neither a PDF, an Encapsulated PDF DICOM object nor UTF-8 text")]
    UnsupportedFormat { path: PathBuf },
}

/// The report in `path`: a PDF (`%PDF-`), a DICOM Encapsulated PDF (its PDF is published), or
/// UTF-8 text; the format is read from the content, not from the file name.
pub fn report_from_file(path: &Path, title: Option<String>) -> Result<ReportDocument, ReportError> {
    let content = read(path)?;
    if content.starts_with(b"%PDF-") {
        return Ok(pdf_report(Bytes::from(content), title));
    }
    if content.get(128..132) == Some(b"DICM") {
        return encapsulated_pdf(path, &content, title);
    }
    if std::str::from_utf8(&content).is_ok() {
        return Ok(ReportDocument {
            content: Bytes::from(content),
            mime_type: "text/plain".to_owned(),
            format_code: CodeSpec::new(
                "urn:ihe:rad:TEXT",
                RAD_FORMAT_SCHEME,
                "Radiology report, text",
            ),
            type_code: report_type_code(),
            class_code: report_class_code(),
            title,
        });
    }
    Err(ReportError::UnsupportedFormat {
        path: path.to_owned(),
    })
}

/// The first Encapsulated PDF instance of `study` (`files` in the order of its instances, as
/// `cd::FolderScan` lists them), as the study's report; `None` when the study holds none.
pub fn report_in_study(
    study: &Study,
    files: &[PathBuf],
) -> Result<Option<ReportDocument>, ReportError> {
    let instances = study.series.iter().flat_map(|series| &series.instances);
    for (instance, file) in instances.zip(files) {
        if instance.sop_class_uid == ENCAPSULATED_PDF_SOP_CLASS {
            let title = study
                .description
                .as_ref()
                .map(|description| format!("{description} report"));
            return encapsulated_pdf(file, &read(file)?, title).map(Some);
        }
    }
    Ok(None)
}

fn read(path: &Path) -> Result<Vec<u8>, ReportError> {
    std::fs::read(path).map_err(|source| ReportError::Read {
        path: path.to_owned(),
        source,
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

/// The PDF inside the Encapsulated PDF Part-10 file `content` (read from `path`), element
/// (0042,0011) without the padding byte an odd length gets (PS3.3 C.24.2.1: the document ends
/// at its `%%EOF`).
fn encapsulated_pdf(
    path: &Path,
    content: &[u8],
    title: Option<String>,
) -> Result<ReportDocument, ReportError> {
    let not_pdf = |reason: String| ReportError::NotEncapsulatedPdf {
        path: path.to_owned(),
        reason,
    };
    let part10 = content
        .get(128..)
        .ok_or_else(|| not_pdf("shorter than the Part-10 preamble".to_owned()))?;
    let obj = dicom_object::from_reader(part10).map_err(|e| not_pdf(e.to_string()))?;
    let sop_class = obj.meta().media_storage_sop_class_uid();
    if sop_class.trim_end_matches('\0') != ENCAPSULATED_PDF_SOP_CLASS {
        return Err(not_pdf(format!(
            "SOP Class {sop_class} is not Encapsulated PDF"
        )));
    }
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
