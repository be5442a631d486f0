//! Import of one outside study named by its manifest's DocumentEntry: the Imaging Document
//! Consumer retrieves it (RAD-69 or WADO-RS) into a work folder, and each instance is reconciled
//! and stored in the local PACS as soon as it is written (retrieval and STOW-RS overlap);
//! instances already in the folder from an earlier run follow once the retrieval ends. What did
//! not arrive and what was not stored are both reported; a re-run with the same work folder
//! fetches only what is missing.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tokio::sync::mpsc;

use serde::Serialize;

use super::{ImportError, ImportOptions, ImportProgress, ImportReport, LocalPatient};
use crate::consumer::{
    self, ConsumerContext, ConsumerError, Progress, RetrievalReport, RetrievedInstance,
};

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

/// Passes retrieval progress on, and each written instance's file to the importer.
struct Forward<'a> {
    inner: &'a dyn Progress,
    written: mpsc::UnboundedSender<PathBuf>,
    sent: Mutex<HashSet<PathBuf>>,
}

impl Progress for Forward<'_> {
    fn start(&self, to_fetch: usize, already_present: usize) {
        self.inner.start(to_fetch, already_present);
    }

    fn instance_written(&self, instance: &RetrievedInstance, bytes: u64) {
        self.inner.instance_written(instance, bytes);
        if let Ok(mut sent) = self.sent.lock() {
            sent.insert(instance.path.clone());
        }
        let _ = self.written.send(instance.path.clone());
    }
}

/// Retrieves the study of `entry` into `work_dir` and imports what arrived as `patient`'s,
/// each instance as soon as it is written.
pub async fn import_entry(
    ctx: &ConsumerContext,
    entry: &str,
    work_dir: &Path,
    patient: &LocalPatient,
    options: &ImportOptions,
    retrieval_progress: &dyn Progress,
    import_progress: &dyn ImportProgress,
) -> Result<EntryImport, EntryImportError> {
    let (written, arriving) = mpsc::unbounded_channel();
    let retrieval = async move {
        let forward = Forward {
            inner: retrieval_progress,
            written,
            sent: Mutex::new(HashSet::new()),
        };
        let report = consumer::retrieve_entry(ctx, entry, work_dir, &forward).await;
        if let Ok(report) = &report {
            let sent = forward.sent.lock().map(|s| s.clone()).unwrap_or_default();
            for instance in report.instances.iter().filter(|i| !sent.contains(&i.path)) {
                let _ = forward.written.send(instance.path.clone());
            }
        }
        report
    };
    let paths = futures::stream::unfold(arriving, |mut rx| async move {
        rx.recv().await.map(|path| (path, rx))
    });
    let import = super::import_stream(Box::pin(paths), patient, options, import_progress);
    let (retrieval, import) = tokio::join!(retrieval, import);
    let retrieval = retrieval?;
    Ok(EntryImport {
        retrieval,
        import: import?,
    })
}
