//! Locating `../shared`, the read-only reference material (official XSDs, IHE samples, NIST testkit).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Environment variable that overrides the location of the shared reference folder.
pub const SHARED_DIR_ENV: &str = "HIE_SHARED_DIR";

/// Sub-folders of the shared folder that the conformance tests read.
pub const REQUIRED_SUBDIRS: [&str; 3] = [
    "ihe-schemas/schema",
    "ihe-samples/minimal",
    "nist-testkit/tests",
];

/// Why the shared reference folder cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SharedDirError {
    #[error(
        "the shared reference folder {path} (from {source_of_path}) does not exist or is not a \
         directory: set {env} to the folder that holds ihe-schemas/, ihe-samples/ and \
         nist-testkit/, or place it at <workspace root>/../shared",
        env = SHARED_DIR_ENV
    )]
    Missing {
        path: PathBuf,
        source_of_path: String,
    },
    #[error(
        "the shared reference folder {path} (from {source_of_path}) lacks {subdir}/: point \
         {env} at a complete copy of the shared folder",
        env = SHARED_DIR_ENV
    )]
    Incomplete {
        path: PathBuf,
        source_of_path: String,
        subdir: &'static str,
    },
}

/// The workspace root (the parent of this crate's manifest directory).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map_or_else(|| manifest.to_path_buf(), Path::to_path_buf)
}

/// The shared reference folder: `$HIE_SHARED_DIR`, else `<workspace root>/../shared`.
///
/// Fails with a message that names the missing folder and how to provide it.
pub fn shared_dir() -> Result<PathBuf, SharedDirError> {
    locate_shared_dir(std::env::var_os(SHARED_DIR_ENV))
}

/// [`shared_dir`] with the value of `$HIE_SHARED_DIR` given explicitly (`None`: unset).
pub fn locate_shared_dir(configured: Option<OsString>) -> Result<PathBuf, SharedDirError> {
    let (path, source_of_path) = match configured.filter(|v| !v.is_empty()) {
        Some(value) => (PathBuf::from(value), format!("${SHARED_DIR_ENV}")),
        None => (
            workspace_root().join("..").join("shared"),
            format!("the default <workspace root>/../shared, {SHARED_DIR_ENV} being unset"),
        ),
    };
    if !path.is_dir() {
        return Err(SharedDirError::Missing {
            path,
            source_of_path,
        });
    }
    if let Some(subdir) = REQUIRED_SUBDIRS
        .into_iter()
        .find(|subdir| !path.join(subdir).is_dir())
    {
        return Err(SharedDirError::Incomplete {
            path,
            source_of_path,
            subdir,
        });
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_shared_dir_names_the_environment_variable() {
        let error = locate_shared_dir(Some("/nonexistent/hie-shared".into()))
            .expect_err("a missing folder must be refused");
        let message = error.to_string();
        assert!(message.contains("HIE_SHARED_DIR"), "{message}");
        assert!(message.contains("/nonexistent/hie-shared"), "{message}");
    }

    #[test]
    fn incomplete_shared_dir_names_the_missing_subfolder() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("ihe-schemas/schema")).expect("mkdir");
        let error = locate_shared_dir(Some(dir.path().as_os_str().to_owned()))
            .expect_err("an incomplete folder must be refused");
        let message = error.to_string();
        assert!(message.contains("ihe-samples/minimal"), "{message}");
        assert!(message.contains("HIE_SHARED_DIR"), "{message}");
    }

    #[test]
    fn complete_shared_dir_is_accepted() {
        let dir = tempfile::tempdir().expect("temp dir");
        for subdir in REQUIRED_SUBDIRS {
            std::fs::create_dir_all(dir.path().join(subdir)).expect("mkdir");
        }
        let found = locate_shared_dir(Some(dir.path().as_os_str().to_owned())).expect("accepted");
        assert_eq!(found, dir.path());
    }
}
