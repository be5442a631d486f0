//! Validating documents against an official XSD with `xmllint --noout --nonet --schema`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Why a document could not be shown schema-valid.
#[derive(Debug, thiserror::Error)]
pub enum Report {
    #[error(
        "xmllint is not installed (needed to validate against the official XSDs): install \
         libxml2-utils, e.g. `apt-get update && apt-get install -y libxml2-utils`"
    )]
    XmllintMissing,
    #[error("cannot run xmllint: {0}")]
    Io(#[from] std::io::Error),
    #[error("xmllint cannot compile the schema {xsd}: {stderr}")]
    SchemaUnusable { xsd: PathBuf, stderr: String },
    #[error("not valid against {xsd}:\n{messages}")]
    Invalid { xsd: PathBuf, messages: String },
}

/// Validates one document, written to a temporary file, against `xsd`.
pub fn validate(xml: &str, xsd: &Path) -> Result<(), Report> {
    let mut file = tempfile::Builder::new()
        .prefix("hie-conformance-")
        .suffix(".xml")
        .tempfile()?;
    file.write_all(xml.as_bytes())?;
    file.flush()?;
    let path = file.path().to_path_buf();
    let mut outcomes = validate_files(std::slice::from_ref(&path), xsd)?;
    match outcomes.pop() {
        Some((_, outcome)) => outcome,
        None => Err(Report::Invalid {
            xsd: xsd.to_path_buf(),
            messages: "xmllint reported nothing".to_owned(),
        }),
    }
}

/// One file's outcome in [`validate_files`].
pub type FileOutcome = (PathBuf, Result<(), Report>);

/// Validates many files against one `xsd` in a single xmllint run (the schema is compiled once).
///
/// Returns one outcome per file, in the order given. Errors that concern the run as a whole
/// (xmllint missing, schema not compilable) are the outer `Err`.
pub fn validate_files(files: &[PathBuf], xsd: &Path) -> Result<Vec<FileOutcome>, Report> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let output = run_xmllint(files, xsd)?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(5) {
        return Err(Report::SchemaUnusable {
            xsd: xsd.to_path_buf(),
            stderr: stderr.trim().to_owned(),
        });
    }
    Ok(files
        .iter()
        .map(|file| {
            let outcome = outcome_of(file, &stderr, xsd);
            (file.clone(), outcome)
        })
        .collect())
}

fn run_xmllint(files: &[PathBuf], xsd: &Path) -> Result<Output, Report> {
    Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(xsd)
        .args(files)
        .output()
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => Report::XmllintMissing,
            _ => Report::Io(error),
        })
}

/// A file passed iff xmllint printed `<file> validates`; otherwise every line about it is kept.
fn outcome_of(file: &Path, stderr: &str, xsd: &Path) -> Result<(), Report> {
    let name = file.display().to_string();
    let validates = format!("{name} validates");
    if stderr.lines().any(|line| line == validates) {
        return Ok(());
    }
    let about_file = format!("{name}:");
    let external = format!("\"{name}\"");
    let mut messages: Vec<&str> = stderr
        .lines()
        .filter(|line| {
            line.starts_with(&about_file)
                || line.contains(&external)
                || line.strip_prefix(name.as_str()) == Some(" fails to validate")
        })
        .collect();
    if messages.is_empty() {
        messages.push("xmllint did not say the document validates");
    }
    Err(Report::Invalid {
        xsd: xsd.to_path_buf(),
        messages: messages.join("\n"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const XSD: &str = "/schemas/rs.xsd";

    #[test]
    fn a_file_validates_only_when_xmllint_says_so() {
        let stderr = "/t/a.xml validates\n/t/ab.xml:1: element X: Schemas validity error : bad\n\
                      /t/ab.xml fails to validate\n";
        assert!(outcome_of(Path::new("/t/a.xml"), stderr, Path::new(XSD)).is_ok());
        let error =
            outcome_of(Path::new("/t/ab.xml"), stderr, Path::new(XSD)).expect_err("ab.xml failed");
        let message = error.to_string();
        assert!(message.contains("element X"), "{message}");
        assert!(message.contains("fails to validate"), "{message}");
        assert!(!message.contains("/t/a.xml validates"), "{message}");
    }

    #[test]
    fn a_file_xmllint_cannot_parse_is_invalid() {
        let stderr = "/t/b.xml:2: parser error : Couldn't find end of Start Tag a line 1\n";
        let error =
            outcome_of(Path::new("/t/b.xml"), stderr, Path::new(XSD)).expect_err("not parsed");
        assert!(error.to_string().contains("parser error"));
    }

    #[test]
    fn silence_about_a_file_is_not_validity() {
        assert!(outcome_of(Path::new("/t/c.xml"), "", Path::new(XSD)).is_err());
    }
}
