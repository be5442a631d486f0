//! `sameDcmImgs`: the DICOM instances a retrieve returned (RAD-69 attachments, RAD-55 bodies)
//! against the "gold standard" images, by the rules of the NIST toolkit's `DetailDcmSetContent`:
//! instances matched by SOP Instance UID, every returned instance in the standard and every
//! standard instance returned, and each `TagList` attribute the same (absent counting as
//! empty); `HASH` compares the whole files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dicom_core::Tag;
use dicom_core::dictionary::DataDictionary as _;
use dicom_dictionary_std::tags;
use dicom_object::{InMemDicomObject, OpenFileOptions};
use sha1::{Digest, Sha1};

use super::kos::text;

/// One `TagList` entry: an attribute compared, or the whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compared {
    Attribute(Tag),
    WholeFile,
}

/// The `TagList` names the toolkit knows (its `tagMap`), `HASH`, or `Tag hex="gggg,eeee"`.
pub fn compared_of(name: &str, hex: Option<&str>) -> Result<Compared, String> {
    let tag = match name {
        "SOPClassUID" => tags::SOP_CLASS_UID,
        "SOPInstanceUID" => tags::SOP_INSTANCE_UID,
        "PatientName" => tags::PATIENT_NAME,
        "PatientID" => tags::PATIENT_ID,
        "PatientBirthDate" => tags::PATIENT_BIRTH_DATE,
        "PatientSex" => tags::PATIENT_SEX,
        "StudyInstanceUID" => tags::STUDY_INSTANCE_UID,
        "SeriesInstanceUID" => tags::SERIES_INSTANCE_UID,
        "AccessionNumber" => tags::ACCESSION_NUMBER,
        "Modality" => tags::MODALITY,
        "ContentSequence" => tags::CONTENT_SEQUENCE,
        _ if name.eq_ignore_ascii_case("HASH") => return Ok(Compared::WholeFile),
        _ if name.eq_ignore_ascii_case("Tag") => {
            let hex = hex.ok_or("TagList Tag without hex")?;
            let parse = |part: &str| u16::from_str_radix(part.trim(), 16).ok();
            return match hex.split_once(',') {
                Some((group, element)) => match (parse(group), parse(element)) {
                    (Some(g), Some(e)) => Ok(Compared::Attribute(Tag(g, e))),
                    _ => Err(format!("TagList Tag hex {hex:?} is not gggg,eeee")),
                },
                None => Err(format!("TagList Tag hex {hex:?} is not gggg,eeee")),
            };
        }
        other => return Err(format!("TagList names an unknown DICOM attribute {other}")),
    };
    Ok(Compared::Attribute(tag))
}

/// An instance read for comparison: its header (up to Pixel Data) and the file's digest.
pub struct Instance {
    pub path: PathBuf,
    pub header: InMemDicomObject,
    pub sha1: Option<String>,
}

/// Reads an instance's header (and digests the file when `HASH` is compared).
pub fn read_instance(path: &Path, whole_file: bool) -> Result<Instance, String> {
    let object = OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .map_err(|e| format!("{} is not a DICOM file: {e}", path.display()))?;
    let sha1 = if whole_file {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Some(super::wire::hex_digest(&Sha1::digest(&bytes)))
    } else {
        None
    };
    Ok(Instance {
        path: path.to_path_buf(),
        header: object.into_inner(),
        sha1,
    })
}

/// Reads every file as an instance.
pub fn read_instances(paths: &[PathBuf], compared: &[Compared]) -> Result<Vec<Instance>, String> {
    let whole_file = compared.contains(&Compared::WholeFile);
    paths.iter().map(|p| read_instance(p, whole_file)).collect()
}

fn name_of(compared: Compared) -> String {
    match compared {
        Compared::WholeFile => "file content (HASH)".to_owned(),
        Compared::Attribute(tag) => dicom_dictionary_std::StandardDataDictionary
            .by_tag(tag)
            .map_or_else(|| tag.to_string(), |entry| entry.alias.to_owned()),
    }
}

/// `sameDcmImgs`: every rule the returned instances break against the standard ones.
pub fn same_images(
    returned: &[Instance],
    standard: &[Instance],
    compared: &[Compared],
) -> Vec<String> {
    let uid = |i: &Instance| text(&i.header, tags::SOP_INSTANCE_UID).filter(|u| !u.is_empty());
    let mut failures = Vec::new();
    let mut by_uid: BTreeMap<String, &Instance> = BTreeMap::new();
    for instance in standard {
        match uid(instance) {
            Some(u) => {
                by_uid.insert(u, instance);
            }
            None => failures.push(format!(
                "standard image {} has no SOP Instance UID",
                instance.path.display()
            )),
        }
    }
    if returned.is_empty() {
        failures.push("no image was returned".to_owned());
    }
    for instance in returned {
        let Some(u) = uid(instance) else {
            failures.push("a returned image has no SOP Instance UID".to_owned());
            continue;
        };
        let Some(expected) = by_uid.remove(&u) else {
            failures.push(format!("returned image {u} is not in the standard"));
            continue;
        };
        for &check in compared {
            let (found, wanted) = match check {
                Compared::WholeFile => (instance.sha1.clone(), expected.sha1.clone()),
                Compared::Attribute(tag) => (
                    Some(text(&instance.header, tag).unwrap_or_default()),
                    Some(text(&expected.header, tag).unwrap_or_default()),
                ),
            };
            if found != wanted {
                failures.push(format!(
                    "image {u}: {} [{}] differs from the standard's [{}]",
                    name_of(check),
                    found.unwrap_or_default(),
                    wanted.unwrap_or_default()
                ));
            }
        }
    }
    failures.extend(
        by_uid
            .keys()
            .map(|u| format!("standard image {u} was not returned")),
    );
    failures
}

/// The files directly in `dir` (sub-folders ignored, as the toolkit lists a `StdDir`).
pub fn files_in(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, PrimitiveValue, VR};

    fn instance(sop: &str, patient: &str, sha1: &str) -> Instance {
        let mut header = InMemDicomObject::new_empty();
        header.put(DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(sop),
        ));
        header.put(DataElement::new(
            tags::PATIENT_ID,
            VR::LO,
            PrimitiveValue::from(patient),
        ));
        Instance {
            path: PathBuf::from(format!("{sop}.dcm")),
            header,
            sha1: Some(sha1.to_owned()),
        }
    }

    const PATIENT_ID: Compared = Compared::Attribute(tags::PATIENT_ID);

    #[test]
    fn the_same_instances_pass() {
        let standard = [instance("1.1", "P", "aa"), instance("1.2", "P", "bb")];
        let returned = [instance("1.2", "P", "bb"), instance("1.1", "P", "aa")];
        assert!(same_images(&returned, &standard, &[PATIENT_ID, Compared::WholeFile]).is_empty());
    }

    #[test]
    fn a_listed_attribute_must_be_the_same() {
        let failures = same_images(
            &[instance("1.1", "Q", "aa")],
            &[instance("1.1", "P", "aa")],
            &[PATIENT_ID],
        );
        assert_eq!(
            failures,
            ["image 1.1: PatientID [Q] differs from the standard's [P]"]
        );
    }

    #[test]
    fn hash_compares_the_whole_file() {
        let failures = same_images(
            &[instance("1.1", "P", "aa")],
            &[instance("1.1", "P", "ab")],
            &[Compared::WholeFile],
        );
        assert_eq!(
            failures,
            ["image 1.1: file content (HASH) [aa] differs from the standard's [ab]"]
        );
    }

    #[test]
    fn every_standard_image_must_be_returned_and_nothing_else() {
        let failures = same_images(
            &[instance("1.3", "P", "aa")],
            &[instance("1.1", "P", "aa")],
            &[PATIENT_ID],
        );
        assert_eq!(
            failures,
            [
                "returned image 1.3 is not in the standard",
                "standard image 1.1 was not returned"
            ]
        );
        assert_eq!(
            same_images(&[], &[instance("1.1", "P", "aa")], &[])[0],
            "no image was returned"
        );
    }

    #[test]
    fn tag_list_names_hash_and_hex_tags_are_understood() {
        assert_eq!(
            compared_of("PatientSex", None),
            Ok(Compared::Attribute(tags::PATIENT_SEX))
        );
        assert_eq!(compared_of("HASH", None), Ok(Compared::WholeFile));
        assert_eq!(
            compared_of("Tag", Some("0020,0020")),
            Ok(Compared::Attribute(Tag(0x0020, 0x0020)))
        );
        assert!(compared_of("Tag", Some("x")).is_err());
        assert!(compared_of("Rows", None).is_err());
    }
}
