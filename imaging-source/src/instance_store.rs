//! The Imaging Document Source's own store of Part-10 files, laid out
//! `{root}/{study}/{series}/{sop}.dcm`; a file appears whole and durable or not at all
//! (temporary file, fsync, rename, directory fsync). Writers of many instances stage them all
//! and commit them as they go, so that their fsyncs overlap and the directory is synced once.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncRead, AsyncReadExt};

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
    /// The blocking task that syncs and renames a file ended abnormally.
    #[error("the store's worker stopped: {0}")]
    Worker(String),
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
        reader: impl AsyncRead + Unpin,
    ) -> Result<u64, InstanceStoreError> {
        let staged = self.stage(study_uid, series_uid, sop_uid, reader).await?;
        let size = staged.size;
        let path = staged.commit().await?;
        sync_dir(path.parent().unwrap_or(&self.root)).await?;
        Ok(size)
    }

    /// Writes an instance's Part-10 bytes read from `reader` under a temporary name in its
    /// directory, and starts writing them to disk without waiting; [`Staged::commit`] gives them
    /// their final name once durable. Many instances can be staged before the first is
    /// committed, so that the disk flushes them together.
    pub async fn stage(
        &self,
        study_uid: &str,
        series_uid: &str,
        sop_uid: &str,
        mut reader: impl AsyncRead + Unpin,
    ) -> Result<Staged, InstanceStoreError> {
        let path = self.path(study_uid, series_uid, sop_uid)?;
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.root.clone());
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(io("create directory", &dir))?;
        let temp = dir.join(format!(".{sop_uid}.{}.tmp", uuid::Uuid::new_v4().simple()));
        match write_temp(&temp, &mut reader).await {
            Ok((file, size)) => Ok(Staged {
                file,
                temp,
                path,
                size,
            }),
            Err(e) => {
                let _ = tokio::fs::remove_file(&temp).await;
                Err(e)
            }
        }
    }
}

/// An instance written under a temporary name, neither durable nor under its final name yet.
#[derive(Debug)]
pub struct Staged {
    file: std::fs::File,
    /// The temporary file holding the bytes.
    pub temp: PathBuf,
    /// The instance's final path.
    pub path: PathBuf,
    /// Bytes written.
    pub size: u64,
}

impl Staged {
    /// Waits until the bytes are on disk (fsync), then renames the file to its final name, so
    /// that a file under its final name is always whole and durable. The rename itself is
    /// durable once the directory is synced ([`sync_dir`]); until then a crash may only
    /// lose the name, never leave a name without its bytes. Returns the final path.
    pub async fn commit(self) -> Result<PathBuf, InstanceStoreError> {
        let Staged {
            file, temp, path, ..
        } = self;
        let outcome = tokio::task::spawn_blocking(move || {
            file.sync_all().map_err(io("fsync", &temp))?;
            drop(file);
            match std::fs::rename(&temp, &path) {
                Ok(()) => Ok(path),
                Err(source) => {
                    let _ = std::fs::remove_file(&temp);
                    Err(InstanceStoreError::Io {
                        action: "rename into",
                        path,
                        source,
                    })
                }
            }
        })
        .await;
        outcome.unwrap_or_else(|e| Err(InstanceStoreError::Worker(e.to_string())))
    }

    /// Removes the temporary file (the bytes are not wanted).
    pub async fn discard(self) {
        drop(self.file);
        let _ = tokio::fs::remove_file(&self.temp).await;
    }
}

/// Makes the names given in `dir` durable (fsync of the directory).
pub async fn sync_dir(dir: &Path) -> Result<(), InstanceStoreError> {
    let dir_handle = tokio::fs::File::open(dir)
        .await
        .map_err(io("open directory", dir))?;
    dir_handle
        .sync_all()
        .await
        .map_err(io("fsync directory", dir))
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

/// How long a temporary file stays untouched before [`InstanceStore::sweep_abandoned`] takes it
/// for the leftover of a writer that stopped (crash, kill): a live writer touches its file at
/// every write of at most [`WRITE_BUFFER`] bytes.
pub const ABANDONED_AFTER: Duration = Duration::from_secs(15 * 60);

impl InstanceStore {
    /// Removes the temporary files (`{study}/{series}/.{sop}.{id}.tmp`) that no write has
    /// touched for `older_than`: what a writer stopped between stage and commit left behind.
    /// Younger ones may belong to a live writer (another process may share the store) and are
    /// kept. Returns how many were removed.
    pub async fn sweep_abandoned(&self, older_than: Duration) -> Result<usize, InstanceStoreError> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || sweep_abandoned(&root, older_than))
            .await
            .map_err(|e| InstanceStoreError::Worker(e.to_string()))?
    }
}

fn sweep_abandoned(root: &Path, older_than: Duration) -> Result<usize, InstanceStoreError> {
    let cutoff = SystemTime::now()
        .checked_sub(older_than)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut removed = 0;
    for study in subdirectories(root)? {
        for series in subdirectories(&study)? {
            for entry in std::fs::read_dir(&series).map_err(io("list", &series))? {
                let entry = entry.map_err(io("list", &series))?;
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if !(name.starts_with('.') && name.ends_with(".tmp")) {
                    continue;
                }
                let path = entry.path();
                let modified = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .map_err(io("read the age of", &path))?;
                if modified < cutoff {
                    std::fs::remove_file(&path).map_err(io("remove", &path))?;
                    tracing::info!(path = %path.display(), "removed an abandoned temporary");
                    removed += 1;
                }
            }
        }
    }
    Ok(removed)
}

/// The directories directly under `dir` (none when `dir` does not exist yet).
fn subdirectories(dir: &Path) -> Result<Vec<PathBuf>, InstanceStoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io("list", dir)(e)),
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io("list", dir))?;
        if entry.file_type().map_err(io("list", dir))?.is_dir() {
            dirs.push(entry.path());
        }
    }
    Ok(dirs)
}

/// Bytes gathered before each write of a temporary file: one blocking-pool task per write
/// rather than one per network chunk (a task hand-over costs more than the copy).
const WRITE_BUFFER: usize = 4 << 20;

async fn write_temp(
    temp: &Path,
    reader: &mut (impl AsyncRead + Unpin),
) -> Result<(std::fs::File, u64), InstanceStoreError> {
    let mut file: Option<std::fs::File> = None;
    let mut size = 0u64;
    loop {
        let mut buffer = Vec::with_capacity(1 << 20);
        let read = (&mut *reader)
            .take(WRITE_BUFFER as u64)
            .read_to_end(&mut buffer)
            .await
            .map_err(io("write", temp))?;
        size += read as u64;
        let path = temp.to_path_buf();
        let written = tokio::task::spawn_blocking(move || {
            let mut out = match file {
                Some(out) => out,
                None => std::fs::File::create(&path).map_err(io("create", &path))?,
            };
            out.write_all(&buffer).map_err(io("write", &path))?;
            Ok(out)
        })
        .await
        .map_err(|e| InstanceStoreError::Worker(e.to_string()))??;
        if read < WRITE_BUFFER {
            return Ok((written, size));
        }
        file = Some(written);
    }
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

    /// A stage left by a writer that stopped, dated `age` ago.
    async fn abandoned_stage(store: &InstanceStore, sop: &str, age: Duration) -> PathBuf {
        let staged = store
            .stage("1.2", "1.2.3", sop, &b"DICM"[..])
            .await
            .unwrap();
        let temp = staged.temp.clone();
        let file = std::fs::File::options().write(true).open(&temp).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
        drop(staged);
        temp
    }

    #[tokio::test]
    async fn sweep_removes_temporaries_abandoned_longer_than_the_limit_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = InstanceStore::new(dir.path());
        store
            .put("1.2", "1.2.3", "1.2.3.1", &b"DICM"[..])
            .await
            .unwrap();
        let stale = abandoned_stage(&store, "1.2.3.2", ABANDONED_AFTER * 2).await;
        let live = abandoned_stage(&store, "1.2.3.3", Duration::from_secs(1)).await;

        assert_eq!(store.sweep_abandoned(ABANDONED_AFTER).await.unwrap(), 1);
        assert!(!stale.exists());
        assert!(live.exists(), "a young temporary may be a live writer's");
        assert!(store.path("1.2", "1.2.3", "1.2.3.1").unwrap().exists());
    }

    #[tokio::test]
    async fn sweep_of_a_store_not_created_yet_removes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = InstanceStore::new(dir.path().join("not-yet"));
        assert_eq!(store.sweep_abandoned(ABANDONED_AFTER).await.unwrap(), 0);
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

    #[tokio::test]
    async fn a_staged_instance_has_no_final_name_until_committed() {
        let dir = tempfile::tempdir().unwrap();
        let store = InstanceStore::new(dir.path());
        let staged = store
            .stage("1.2", "1.2.3", "1.2.3.4", &b"DICM-bytes"[..])
            .await
            .unwrap();
        let path = store.path("1.2", "1.2.3", "1.2.3.4").unwrap();
        assert!(!path.exists(), "no final name before the bytes are synced");
        assert_eq!(std::fs::read(&staged.temp).unwrap(), b"DICM-bytes");
        let committed = staged.commit().await.unwrap();
        assert_eq!(committed, path);
        assert_eq!(std::fs::read(&path).unwrap(), b"DICM-bytes");
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[tokio::test]
    async fn a_discarded_instance_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = InstanceStore::new(dir.path());
        let staged = store
            .stage("1.2", "1.2.3", "1.2.3.4", &b"not wanted"[..])
            .await
            .unwrap();
        let series_dir = staged.temp.parent().unwrap().to_path_buf();
        staged.discard().await;
        assert_eq!(std::fs::read_dir(series_dir).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn an_instance_larger_than_one_write_buffer_is_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = InstanceStore::new(dir.path());
        let bytes: Vec<u8> = (0..2 * WRITE_BUFFER + 12345)
            .map(|i| (i % 251) as u8)
            .collect();
        let size = store
            .put("1.2", "1.2.3", "1.2.3.4", &bytes[..])
            .await
            .unwrap();
        assert_eq!(size, bytes.len() as u64);
        let path = store.path("1.2", "1.2.3", "1.2.3.4").unwrap();
        assert!(std::fs::read(path).unwrap() == bytes);
    }
}
