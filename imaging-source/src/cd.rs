//! Import of a folder of DICOM files (an IHE PDI CD/DVD, or a study directory of the
//! [`crate::instance_store::InstanceStore`]): the DICOMDIR is followed when present and
//! consistent, otherwise every file is scanned. Only headers are read (parsing stops before Pixel
//! Data); every file that cannot be used is reported, never dropped silently.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use dicom_object::{InMemDicomObject, OpenFileOptions};

use crate::study::{InstanceHeader, Study, StudySet, text};

/// A folder that cannot be scanned at all.
#[derive(Debug, thiserror::Error)]
pub enum CdError {
    /// The folder cannot be listed.
    #[error("cannot read folder {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What a scan found: the studies with their instance files, and the files it could not use.
#[derive(Debug, Clone, Default)]
pub struct FolderScan {
    /// Each study with the files of its instances (same order as the instances).
    pub studies: Vec<(Study, Vec<PathBuf>)>,
    /// Files (or the DICOMDIR) that could not be used, with the reason.
    pub problems: Vec<FileProblem>,
    /// True when the instance list came from the DICOMDIR (false: file scan).
    pub from_dicomdir: bool,
}

/// A file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub kind: ProblemKind,
    /// Detail (parser message).
    pub detail: String,
}

/// Kinds of [`FileProblem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// Not a DICOM Part-10 file (no `DICM` marker after the preamble).
    NotDicom,
    /// A Part-10 file whose header cannot be parsed, or a file that cannot be read.
    Unreadable,
    /// A DICOM file without the UIDs that place it in a study.
    MissingAttribute,
    /// A second file with the SOP Instance UID of a file already read (the first is kept).
    Duplicate,
    /// The DICOMDIR is unreadable or names files that are missing or differ; the folder was
    /// scanned file by file instead.
    DicomdirInconsistent,
}

/// Scans `dir`: the DICOMDIR when present and consistent, else every file below `dir`.
pub fn scan_folder(dir: &Path) -> Result<FolderScan, CdError> {
    let entries = std::fs::read_dir(dir).map_err(|source| CdError::Folder {
        path: dir.to_path_buf(),
        source,
    })?;
    let dicomdir = entries.filter_map(Result::ok).map(|e| e.path()).find(|p| {
        p.file_name()
            .is_some_and(|n| n.eq_ignore_ascii_case("DICOMDIR"))
    });
    let mut problems = Vec::new();
    if let Some(dicomdir) = dicomdir {
        match dicomdir_files(dir, &dicomdir) {
            Ok(files) => {
                let mut scan = read_headers(files.into_iter().map(|(path, _)| path));
                scan.from_dicomdir = true;
                return Ok(scan);
            }
            Err(detail) => problems.push(FileProblem {
                path: dicomdir.clone(),
                kind: ProblemKind::DicomdirInconsistent,
                detail,
            }),
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files, &mut problems)?;
    files.retain(|p| {
        !p.file_name()
            .is_some_and(|n| n.eq_ignore_ascii_case("DICOMDIR"))
    });
    files.sort();
    let mut scan = read_headers(files.into_iter());
    problems.append(&mut scan.problems);
    scan.problems = problems;
    Ok(scan)
}

/// The instance files a DICOMDIR names (with their Referenced SOP Instance UID in File), each
/// checked to exist; an error describes the first inconsistency.
fn dicomdir_files(dir: &Path, dicomdir: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let obj = dicom_object::open_file(dicomdir).map_err(|e| format!("unreadable DICOMDIR: {e}"))?;
    let records = obj
        .get(tags::DIRECTORY_RECORD_SEQUENCE)
        .and_then(|e| e.items())
        .ok_or_else(|| "DICOMDIR has no Directory Record Sequence".to_owned())?;
    let mut files = Vec::new();
    for record in records {
        let Some(file_id) = record.get(tags::REFERENCED_FILE_ID) else {
            continue;
        };
        let components = file_id
            .to_multi_str()
            .map_err(|e| format!("unreadable Referenced File ID: {e}"))?;
        let mut path = dir.to_path_buf();
        for component in components.iter() {
            let component = component.trim_end_matches('\0').trim();
            if component.is_empty() || component == "." || component == ".." {
                return Err(format!(
                    "Referenced File ID {components:?} is not a plain path"
                ));
            }
            path = resolve_case(&path, component);
        }
        if !path.is_file() {
            return Err(format!("names {} which does not exist", path.display()));
        }
        let sop = text(record, tags::REFERENCED_SOP_INSTANCE_UID_IN_FILE).unwrap_or_default();
        files.push((path, sop));
    }
    if files.is_empty() {
        return Err("DICOMDIR names no file".to_owned());
    }
    Ok(files)
}

/// `dir/component`, matching the component case-insensitively when the exact name is absent
/// (ISO 9660 media written on one system and read on another).
fn resolve_case(dir: &Path, component: &str) -> PathBuf {
    let exact = dir.join(component);
    if exact.exists() {
        return exact;
    }
    std::fs::read_dir(dir)
        .ok()
        .and_then(|entries| {
            entries
                .filter_map(Result::ok)
                .find(|e| e.file_name().eq_ignore_ascii_case(component))
                .map(|e| e.path())
        })
        .unwrap_or(exact)
}

fn walk(
    dir: &Path,
    files: &mut Vec<PathBuf>,
    problems: &mut Vec<FileProblem>,
) -> Result<(), CdError> {
    let entries = std::fs::read_dir(dir).map_err(|source| CdError::Folder {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                problems.push(FileProblem {
                    path: dir.to_path_buf(),
                    kind: ProblemKind::Unreadable,
                    detail: e.to_string(),
                });
                continue;
            }
        };
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, files, problems)?,
            Ok(t) if t.is_file() => files.push(path),
            Ok(_) => {}
            Err(e) => problems.push(FileProblem {
                path,
                kind: ProblemKind::Unreadable,
                detail: e.to_string(),
            }),
        }
    }
    Ok(())
}

/// Reads the header of each file and groups the instances into studies.
fn read_headers(files: impl Iterator<Item = PathBuf>) -> FolderScan {
    let mut set = StudySet::default();
    let mut paths: HashMap<String, PathBuf> = HashMap::new();
    let mut problems = Vec::new();
    for path in files {
        match read_header(&path) {
            Ok(header) => {
                let sop = header.instance.sop_instance_uid.clone();
                if let Some(first) = paths.get(&sop) {
                    problems.push(FileProblem {
                        detail: format!(
                            "SOP Instance UID {sop} already read from {}",
                            first.display()
                        ),
                        path,
                        kind: ProblemKind::Duplicate,
                    });
                    continue;
                }
                set.add(header);
                paths.insert(sop, path);
            }
            Err(problem) => problems.push(problem),
        }
    }
    let studies = set
        .studies
        .into_iter()
        .map(|study| {
            let files = study
                .series
                .iter()
                .flat_map(|s| &s.instances)
                .filter_map(|i| paths.remove(&i.sop_instance_uid))
                .collect();
            (study, files)
        })
        .collect();
    FolderScan {
        studies,
        problems,
        from_dicomdir: false,
    }
}

/// Reads one file's header, stopping before Pixel Data.
pub fn read_header(path: &Path) -> Result<InstanceHeader, FileProblem> {
    let problem = |kind, detail: String| FileProblem {
        path: path.to_path_buf(),
        kind,
        detail,
    };
    match has_part10_marker(path) {
        Ok(true) => {}
        Ok(false) => {
            return Err(problem(
                ProblemKind::NotDicom,
                "no DICM marker after the 128-byte preamble".to_owned(),
            ));
        }
        Err(e) => return Err(problem(ProblemKind::Unreadable, e.to_string())),
    }
    let obj = OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .map_err(|e| problem(ProblemKind::Unreadable, e.to_string()))?;
    let ts = obj.meta().transfer_syntax().to_owned();
    let header: &InMemDicomObject = &obj;
    InstanceHeader::from_object(header, Some(&ts))
        .map_err(|e| problem(ProblemKind::MissingAttribute, e.to_string()))
}

fn has_part10_marker(path: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 132];
    let mut file = std::fs::File::open(path)?;
    let mut read = 0;
    while read < head.len() {
        let n = file.read(&mut head[read..])?;
        if n == 0 {
            return Ok(false);
        }
        read += n;
    }
    Ok(&head[128..] == b"DICM")
}

/// One line per study for a listing: patient, birth date, study date, modalities, counts.
pub fn describe(study: &Study) -> String {
    let patient = &study.patient;
    format!(
        "study {uid}: patient {name} (id {id}{issuer}, born {birth}), date {date}, accession {acc}, {modalities}, {series} series, {images} instances{desc}",
        uid = study.study_instance_uid,
        name = patient.name.as_deref().unwrap_or("?"),
        id = if patient.id.is_empty() {
            "?"
        } else {
            &patient.id
        },
        issuer = patient
            .issuer
            .as_deref()
            .map(|i| format!(" issuer {i}"))
            .unwrap_or_default(),
        birth = patient.birth_date.as_deref().unwrap_or("?"),
        date = study.study_date.as_deref().unwrap_or("?"),
        acc = study.accession_number.as_deref().unwrap_or("-"),
        modalities = study.modalities().join("/"),
        series = study.series.len(),
        images = study.instance_count(),
        desc = study
            .description
            .as_deref()
            .map(|d| format!(", \"{d}\""))
            .unwrap_or_default(),
    )
}
