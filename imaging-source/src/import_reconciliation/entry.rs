//! Import of one outside study named by its manifest's DocumentEntry: the Imaging Document
//! Consumer retrieves it (RAD-69 or WADO-RS) into a work folder, then each retrieved instance is
//! reconciled and stored in the local PACS. What did not arrive and what was not stored are both
//! reported; a re-run with the same work folder fetches only what is missing.

use std::path::Path;

use serde::Serialize;

use super::{ImportError, ImportOptions, ImportProgress, ImportReport, LocalPatient};
use crate::consumer::{self, ConsumerContext, ConsumerError, Progress, RetrievalReport};

/// The retrieval and the import of one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryImport {
    pub retrieval: RetrievalReport,
    pub import: ImportReport,
}

impl EntryImport {
    /// Every instance of the manifest retrieved and stored.
    pub fn is_complete(&self) -> bool {
        self.retrieval.is_complete() && self.import.is_complete()
    }
}

/// Why an entry was not imported at all.
#[derive(Debug, thiserror::Error)]
pub enum EntryImportError {
    #[error("retrieve: {0}")]
    Retrieve(#[from] ConsumerError),
    #[error("import: {0}")]
    Import(#[from] ImportError),
}

/// Retrieves the study of `entry` into `work_dir` and imports what arrived as `patient`'s.
pub async fn import_entry(
    ctx: &ConsumerContext,
    entry: &str,
    work_dir: &Path,
    patient: &LocalPatient,
    options: &ImportOptions,
    retrieval_progress: &dyn Progress,
    import_progress: &dyn ImportProgress,
) -> Result<EntryImport, EntryImportError> {
    let retrieval = consumer::retrieve_entry(ctx, entry, work_dir, retrieval_progress).await?;
    let paths = retrieval.instances.iter().map(|i| i.path.clone()).collect();
    let import = super::import_instances(paths, patient, options, import_progress).await?;
    Ok(EntryImport { retrieval, import })
}
