//! The local store of DICOM instances received by C-STORE or imported from CDs, as Part-10 files
//! laid out `{root}/{study}/{series}/{sop}.dcm`.

use std::path::PathBuf;

use tokio::io::{AsyncRead, AsyncWriteExt};

/// Why an instance cannot be stored or located.
#[derive(Debug, thiserror::Error)]
pub enum InstanceStoreError {
    #[error("{kind} {value:?} is not a DICOM UID (1 to 64 digits and dots)")]
    InvalidUid { kind: &'static str, value: String },
    #[error("instance store I/O on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Part-10 files under one root folder.
#[derive(Debug, Clone)]
pub struct InstanceStore {
    root: PathBuf,
}

impl InstanceStore {
    /// A store rooted at `root` (created on the first `put`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        InstanceStore { root: root.into() }
    }

    /// Where the instance's file is (whether or not it exists); the UIDs are validated so that no
    /// path can leave the root.
    pub fn path(
        &self,
        study_uid: &str,
        series_uid: &str,
        sop_uid: &str,
    ) -> Result<PathBuf, InstanceStoreError> {
        Ok(self
            .study_dir(study_uid)?
            .join(valid_uid("Series Instance UID", series_uid)?)
            .join(format!("{}.dcm", valid_uid("SOP Instance UID", sop_uid)?)))
    }

    /// The folder of a study.
    pub fn study_dir(&self, study_uid: &str) -> Result<PathBuf, InstanceStoreError> {
        Ok(self.root.join(valid_uid("Study Instance UID", study_uid)?))
    }

    /// Streams `reader` into the instance's file (written aside, then renamed into place), and
    /// returns its size.
    pub async fn put(
        &self,
        study_uid: &str,
        series_uid: &str,
        sop_uid: &str,
        mut reader: impl AsyncRead + Unpin,
    ) -> Result<u64, InstanceStoreError> {
        let path = self.path(study_uid, series_uid, sop_uid)?;
        let partial = path.with_extension(format!("partial-{}", uuid::Uuid::new_v4().simple()));
        let written = async {
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent).await?;
            }
            let mut file = tokio::fs::File::create(&partial).await?;
            let size = tokio::io::copy(&mut reader, &mut file).await?;
            file.flush().await?;
            file.sync_all().await?;
            tokio::fs::rename(&partial, &path).await?;
            Ok::<u64, std::io::Error>(size)
        }
        .await;
        match written {
            Ok(size) => Ok(size),
            Err(source) => {
                let _ = tokio::fs::remove_file(&partial).await;
                Err(InstanceStoreError::Io { path, source })
            }
        }
    }
}

fn valid_uid<'a>(kind: &'static str, value: &'a str) -> Result<&'a str, InstanceStoreError> {
    let valid = !value.is_empty()
        && value.len() <= 64
        && value.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && !value.starts_with('.')
        && !value.ends_with('.')
        && !value.contains("..");
    if valid {
        Ok(value)
    } else {
        Err(InstanceStoreError::InvalidUid {
            kind,
            value: value.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_that_could_leave_the_root_are_refused() {
        let store = InstanceStore::new("/tmp/x");
        for bad in ["", "..", "1/2", "1..2", "a.b", ".1"] {
            assert!(store.path(bad, "1", "2").is_err(), "{bad:?}");
        }
        assert_eq!(
            store.path("1.2", "1.3", "1.4").unwrap(),
            PathBuf::from("/tmp/x/1.2/1.3/1.4.dcm")
        );
    }
}
