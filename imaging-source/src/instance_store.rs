//! The Imaging Document Source's own store of Part-10 files, laid out
//! `{root}/{study}/{series}/{sop}.dcm`; a file appears whole or not at all (temporary file,
//! fsync, rename, directory fsync).

use std::path::{Path, PathBuf};

use tokio::io::{AsyncRead, AsyncWriteExt};

use crate::study::is_valid_uid;

/// Why the store refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum InstanceStoreError {
    /// A UID is not a valid DICOM UID (and so cannot name a file).
    #[error("{what} {value:?} is not a valid DICOM UID")]
    InvalidUid { what: &'static str, value: String },
    /// A file system operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The store rooted at one directory.
#[derive(Debug, Clone)]
pub struct InstanceStore {
    root: PathBuf,
}

impl InstanceStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        InstanceStore { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of a study.
    pub fn study_dir(&self, study_uid: &str) -> Result<PathBuf, InstanceStoreError> {
        check("Study Instance UID", study_uid)?;
        Ok(self.root.join(study_uid))
    }

    /// The file of an instance.
    pub fn path(
        &self,
        study_uid: &str,
        series_uid: &str,
        sop_uid: &str,
    ) -> Result<PathBuf, InstanceStoreError> {
        check("Series Instance UID", series_uid)?;
        check("SOP Instance UID", sop_uid)?;
        Ok(self
            .study_dir(study_uid)?
            .join(series_uid)
            .join(format!("{sop_uid}.dcm")))
    }

    /// Stores an instance's Part-10 bytes read from `reader`; replaces an earlier copy
    /// atomically. Returns the number of bytes written.
    pub async fn put(
        &self,
        study_uid: &str,
        series_uid: &str,
        sop_uid: &str,
        mut reader: impl AsyncRead + Unpin,
    ) -> Result<u64, InstanceStoreError> {
        let path = self.path(study_uid, series_uid, sop_uid)?;
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.root.clone());
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(io("create directory", &dir))?;
        let temp = dir.join(format!(".{sop_uid}.{}.tmp", uuid::Uuid::new_v4().simple()));
        let result = write_temp(&temp, &mut reader).await;
        let size = match result {
            Ok(size) => size,
            Err(e) => {
                let _ = tokio::fs::remove_file(&temp).await;
                return Err(e);
            }
        };
        if let Err(source) = tokio::fs::rename(&temp, &path).await {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(InstanceStoreError::Io {
                action: "rename into",
                path,
                source,
            });
        }
        let dir_handle = tokio::fs::File::open(&dir)
            .await
            .map_err(io("open directory", &dir))?;
        dir_handle
            .sync_all()
            .await
            .map_err(io("fsync directory", &dir))?;
        Ok(size)
    }
}

impl InstanceStore {
    /// Copies the instance files of `study` (as listed by [`crate::cd::scan_folder`], one file per
    /// instance in instance order) into the store, calling `on_file` with each file's size.
    /// Returns the total number of bytes copied.
    pub async fn import_study(
        &self,
        study: &crate::study::Study,
        files: &[PathBuf],
        mut on_file: impl FnMut(u64),
    ) -> Result<u64, InstanceStoreError> {
        let mut total = 0;
        let instances = study
            .series
            .iter()
            .flat_map(|s| s.instances.iter().map(move |i| (s, i)));
        for ((series, instance), file) in instances.zip(files) {
            let reader = tokio::fs::File::open(file)
                .await
                .map_err(io("open", file))?;
            let size = self
                .put(
                    &study.study_instance_uid,
                    &series.series_instance_uid,
                    &instance.sop_instance_uid,
                    tokio::io::BufReader::with_capacity(256 * 1024, reader),
                )
                .await?;
            total += size;
            on_file(size);
        }
        Ok(total)
    }
}

async fn write_temp(
    temp: &Path,
    reader: &mut (impl AsyncRead + Unpin),
) -> Result<u64, InstanceStoreError> {
    let mut file = tokio::fs::File::create(temp)
        .await
        .map_err(io("create", temp))?;
    let size = tokio::io::copy(reader, &mut file)
        .await
        .map_err(io("write", temp))?;
    file.flush().await.map_err(io("flush", temp))?;
    file.sync_all().await.map_err(io("fsync", temp))?;
    Ok(size)
}

fn check(what: &'static str, uid: &str) -> Result<(), InstanceStoreError> {
    if is_valid_uid(uid) {
        Ok(())
    } else {
        Err(InstanceStoreError::InvalidUid {
            what,
            value: uid.to_owned(),
        })
    }
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> InstanceStoreError {
    let path = path.to_path_buf();
    move |source| InstanceStoreError::Io {
        action,
        path,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_is_study_series_sop_dcm() {
        let store = InstanceStore::new("/data");
        assert_eq!(
            store.path("1.2", "1.2.3", "1.2.3.4").unwrap(),
            PathBuf::from("/data/1.2/1.2.3/1.2.3.4.dcm")
        );
    }

    #[test]
    fn uid_with_path_characters_is_refused() {
        let store = InstanceStore::new("/data");
        assert!(matches!(
            store.path("1.2", "../..", "1"),
            Err(InstanceStoreError::InvalidUid {
                what: "Series Instance UID",
                ..
            })
        ));
        assert!(store.study_dir("1.2/3").is_err());
    }

    #[tokio::test]
    async fn put_writes_the_file_whole_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let store = InstanceStore::new(dir.path());
        let size = store
            .put("1.2", "1.2.3", "1.2.3.4", &b"DICM-bytes"[..])
            .await
            .unwrap();
        assert_eq!(size, 10);
        let series_dir = dir.path().join("1.2").join("1.2.3");
        let names: Vec<String> = std::fs::read_dir(&series_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["1.2.3.4.dcm"]);
        assert_eq!(
            std::fs::read(series_dir.join("1.2.3.4.dcm")).unwrap(),
            b"DICM-bytes"
        );
    }
}
