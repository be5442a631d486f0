//! The text rendering of a DICOM SR report (Basic Text, Enhanced or Comprehensive SR) published
//! as `text/plain`: XDS-I.b shares reports in a display-ready form (text or PDF) that an EHR
//! consumer reads without a DICOM SR viewer, so the content tree (PS3.3 C.17.3) is rendered the
//! way PS3.3 A.35.1 describes a textual report: the document title, then each container's
//! concept name as a heading with its content items indented below it (`Concept: value` for
//! TEXT, CODE, NUM, DATE, TIME, DATETIME, PNAME and UIDREF, the SOP Instance UID for IMAGE,
//! COMPOSITE and WAVEFORM references). Spatial and temporal coordinates (graphics on an image)
//! and by-reference relationships have no text form and are left out.

use std::fmt::Write as _;

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::study::{item_text, text};

/// Nesting deeper than this is refused (a real report nests a few levels).
const MAX_DEPTH: usize = 32;

/// An SR that has no text rendering.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SrTextError {
    /// The root content item is not a CONTAINER (PS3.3 C.17.3: an SR document is a tree under
    /// a root container).
    #[error("the root content item is not a CONTAINER")]
    RootNotContainer,
    /// The content tree nests deeper than [`MAX_DEPTH`].
    #[error("the content tree nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// No content item has a text rendering.
    #[error("the content tree holds no text, code, numeric or date value")]
    Empty,
}

/// The rendering of an SR document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrText {
    /// The document title: the root container's concept name.
    pub title: Option<String>,
    /// The report as text, lines separated by `\n`.
    pub text: String,
}

/// Renders the SR document `obj`: a header (title, patient, study, completion and verification)
/// and the content tree.
pub fn render(obj: &InMemDicomObject) -> Result<SrText, SrTextError> {
    if text(obj, tags::VALUE_TYPE).as_deref() != Some("CONTAINER") {
        return Err(SrTextError::RootNotContainer);
    }
    let mut body = String::new();
    for item in items(obj, tags::CONTENT_SEQUENCE) {
        render_item(item, Place::default(), &mut body)?;
    }
    if body.is_empty() {
        return Err(SrTextError::Empty);
    }
    let title = concept_name(obj);
    let mut out = String::new();
    out.push_str(title.as_deref().unwrap_or("Structured report"));
    out.push('\n');
    if let Some(name) = text(obj, tags::PATIENT_NAME) {
        let id = text(obj, tags::PATIENT_ID)
            .map(|id| format!(" (ID {id})"))
            .unwrap_or_default();
        let _ = writeln!(out, "Patient: {}{id}", person_name(&name));
    }
    let study: Vec<String> = [
        text(obj, tags::STUDY_DESCRIPTION),
        text(obj, tags::STUDY_DATE).map(|d| date(&d)),
        text(obj, tags::ACCESSION_NUMBER).map(|a| format!("accession {a}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !study.is_empty() {
        let _ = writeln!(out, "Study: {}", study.join(", "));
    }
    let status: Vec<String> = [
        text(obj, tags::COMPLETION_FLAG).map(|f| format!("completion {f}")),
        text(obj, tags::VERIFICATION_FLAG).map(|f| format!("verification {f}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !status.is_empty() {
        let _ = writeln!(out, "Status: {}", status.join(", "));
    }
    for verifier in items(obj, tags::VERIFYING_OBSERVER_SEQUENCE) {
        if let Some(name) = text(verifier, tags::VERIFYING_OBSERVER_NAME) {
            let when = text(verifier, tags::VERIFICATION_DATE_TIME)
                .map(|dt| format!(" on {}", date_time(&dt)))
                .unwrap_or_default();
            let _ = writeln!(out, "Verified by: {}{when}", person_name(&name));
        }
    }
    out.push('\n');
    out.push_str(&body);
    Ok(SrText { title, text: out })
}

/// Where a content item is in the tree: its nesting level under the root, and its indentation
/// level (a container without a concept name gives no heading, hence no indentation).
#[derive(Debug, Clone, Copy, Default)]
struct Place {
    nesting: usize,
    indent: usize,
}

impl Place {
    fn child(self, indented: bool) -> Place {
        Place {
            nesting: self.nesting + 1,
            indent: self.indent + usize::from(indented),
        }
    }
}

/// Renders one content item and its children (two spaces of indentation per level); a container
/// with nothing to render below it is left out.
fn render_item(item: &InMemDicomObject, place: Place, out: &mut String) -> Result<(), SrTextError> {
    if place.nesting >= MAX_DEPTH {
        return Err(SrTextError::TooDeep);
    }
    if item.get(tags::REFERENCED_CONTENT_ITEM_IDENTIFIER).is_some() {
        return Ok(());
    }
    let indent = "  ".repeat(place.indent);
    let name = concept_name(item);
    let value_type = text(item, tags::VALUE_TYPE).unwrap_or_default();
    let value = match value_type.as_str() {
        "CONTAINER" => {
            let mut children = String::new();
            for child in items(item, tags::CONTENT_SEQUENCE) {
                render_item(child, place.child(name.is_some()), &mut children)?;
            }
            if !children.is_empty() {
                if let Some(heading) = &name {
                    let _ = writeln!(out, "{indent}{heading}:");
                }
                out.push_str(&children);
            }
            return Ok(());
        }
        "TEXT" => text(item, tags::TEXT_VALUE),
        "CODE" => item_text(item, tags::CONCEPT_CODE_SEQUENCE, tags::CODE_MEANING),
        "NUM" => items(item, tags::MEASURED_VALUE_SEQUENCE)
            .first()
            .and_then(measurement),
        "DATE" => text(item, tags::DATE).map(|d| date(&d)),
        "TIME" => text(item, tags::TIME).map(|t| time(&t)),
        "DATETIME" => text(item, tags::DATE_TIME).map(|dt| date_time(&dt)),
        "PNAME" => text(item, tags::PERSON_NAME).map(|n| person_name(&n)),
        "UIDREF" => text(item, tags::UID),
        "IMAGE" | "COMPOSITE" | "WAVEFORM" => item_text(
            item,
            tags::REFERENCED_SOP_SEQUENCE,
            tags::REFERENCED_SOP_INSTANCE_UID,
        )
        .map(|uid| format!("{} {uid}", value_type.to_lowercase())),
        _ => return Ok(()),
    };
    let Some(value) = value else {
        return Ok(());
    };
    let mut lines = value.lines();
    let first = lines.next().unwrap_or_default();
    match &name {
        Some(name) => {
            let _ = writeln!(out, "{indent}{name}: {first}");
        }
        None => {
            let _ = writeln!(out, "{indent}{first}");
        }
    }
    for line in lines {
        let _ = writeln!(out, "{indent}  {}", line.trim_end());
    }
    for child in items(item, tags::CONTENT_SEQUENCE) {
        render_item(child, place.child(true), out)?;
    }
    Ok(())
}

fn items(obj: &InMemDicomObject, tag: Tag) -> &[InMemDicomObject] {
    obj.get(tag).and_then(|e| e.items()).unwrap_or_default()
}

fn concept_name(item: &InMemDicomObject) -> Option<String> {
    item_text(item, tags::CONCEPT_NAME_CODE_SEQUENCE, tags::CODE_MEANING)
}

/// A Measured Value Sequence item: the number and its unit (the UCUM code, which is what a
/// reader expects next to a number, else the unit's meaning; no unit for UCUM `1`).
fn measurement(measured: &InMemDicomObject) -> Option<String> {
    let number = text(measured, tags::NUMERIC_VALUE)?;
    let unit = items(measured, tags::MEASUREMENT_UNITS_CODE_SEQUENCE)
        .first()
        .and_then(|unit| {
            let code = text(unit, tags::CODE_VALUE);
            if text(unit, tags::CODING_SCHEME_DESIGNATOR).as_deref() == Some("UCUM") {
                code.filter(|c| c != "1")
            } else {
                text(unit, tags::CODE_MEANING).or(code)
            }
        });
    Some(match unit {
        Some(unit) => format!("{number} {unit}"),
        None => number,
    })
}

/// A DICOM PN (`Family^Given^Middle^Prefix^Suffix`, alphabetic group) in reading order.
fn person_name(pn: &str) -> String {
    let alphabetic = pn.split('=').next().unwrap_or_default();
    let parts: Vec<&str> = alphabetic.split('^').map(str::trim).collect();
    let part = |i: usize| parts.get(i).copied().unwrap_or_default();
    [part(3), part(1), part(2), part(0), part(4)]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A DA `YYYYMMDD` as `YYYY-MM-DD` (other forms as given).
fn date(da: &str) -> String {
    match (da.get(0..4), da.get(4..6), da.get(6..8)) {
        (Some(y), Some(m), Some(d)) if da.len() == 8 && da.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{y}-{m}-{d}")
        }
        _ => da.to_owned(),
    }
}

/// A TM `HHMM[SS[.F]]` as `HH:MM[:SS]` (other forms as given).
fn time(tm: &str) -> String {
    let whole = tm.split('.').next().unwrap_or_default();
    if !whole.bytes().all(|b| b.is_ascii_digit()) {
        return tm.to_owned();
    }
    match whole.len() {
        4 => format!("{}:{}", &whole[0..2], &whole[2..4]),
        6 => format!("{}:{}:{}", &whole[0..2], &whole[2..4], &whole[4..6]),
        _ => tm.to_owned(),
    }
}

/// A DT `YYYYMMDDHHMM[SS[.F]][&ZZXX]` as `YYYY-MM-DD HH:MM[:SS]` (offset left out).
fn date_time(dt: &str) -> String {
    let local = dt.split(['+', '-']).next().unwrap_or_default();
    match (local.get(0..8), local.get(8..)) {
        (Some(day), Some(clock)) if !clock.is_empty() => {
            format!("{} {}", date(day), time(clock))
        }
        (Some(day), _) => date(day),
        _ => dt.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(children: Vec<InMemDicomObject>) -> InMemDicomObject {
        use dicom_core::value::DataSetSequence;
        use dicom_core::{DataElement, VR};
        InMemDicomObject::from_element_iter([
            DataElement::new(tags::VALUE_TYPE, VR::CS, "CONTAINER"),
            DataElement::new(
                tags::CONTENT_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(children),
            ),
        ])
    }

    #[test]
    fn content_nested_deeper_than_32_levels_is_refused_even_without_headings() {
        let text = InMemDicomObject::from_element_iter([
            dicom_core::DataElement::new(tags::VALUE_TYPE, dicom_core::VR::CS, "TEXT"),
            dicom_core::DataElement::new(tags::TEXT_VALUE, dicom_core::VR::UT, "deep"),
        ]);
        let nest =
            |levels: usize| (0..levels).fold(text.clone(), |inner, _| container(vec![inner]));
        assert_eq!(
            render(&nest(MAX_DEPTH)).map(|r| r.text.ends_with("deep\n")),
            Ok(true)
        );
        assert_eq!(render(&nest(MAX_DEPTH + 1)), Err(SrTextError::TooDeep));
    }

    #[test]
    fn person_name_is_written_in_reading_order() {
        assert_eq!(person_name("Doe^Jane^Q^Dr^MD"), "Dr Jane Q Doe MD");
        assert_eq!(person_name("Smith^John"), "John Smith");
        assert_eq!(person_name("Yamada^Tarou=山田^太郎"), "Tarou Yamada");
    }

    #[test]
    fn dicom_dates_and_times_are_written_with_separators() {
        assert_eq!(date("20261101"), "2026-11-01");
        assert_eq!(time("093000.123"), "09:30:00");
        assert_eq!(time("0930"), "09:30");
        assert_eq!(date_time("20261101093000+0100"), "2026-11-01 09:30:00");
        assert_eq!(date("2026"), "2026");
    }
}
