//! A Part-10 instance split in two for import: its header (file meta group and every top-level
//! attribute before Pixel Data, in memory) and the byte offset of the top-level Pixel Data
//! element. A reconciled instance is the rewritten header followed by the original bytes from
//! that offset to the end of the file, so pixel data is copied, never decoded or held in memory.

use std::cell::Cell;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileDicomObject, FileMetaTable, InMemDicomObject, OpenFileOptions};
use dicom_parser::dataset::DataToken;
use dicom_parser::dataset::read::DataSetReader;
use dicom_transfer_syntax_registry::TransferSyntaxIndex;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

/// A header read from a Part-10 file (meta group + data set up to Pixel Data).
pub type Header = FileDicomObject<InMemDicomObject>;

/// Why an instance file cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not a readable DICOM Part-10 file.
    #[error("{path}: not a readable DICOM Part-10 file: {reason}")]
    Malformed { path: PathBuf, reason: String },
    /// The file is DICOM but cannot be rewritten without decoding it whole.
    #[error("{path}: {reason}")]
    Unsupported { path: PathBuf, reason: String },
    /// The reconciled header cannot be encoded.
    #[error("{path}: the reconciled header cannot be written: {reason}")]
    Encode { path: PathBuf, reason: String },
}

/// An instance file split into its header and the offset where its pixel data starts.
#[derive(Debug)]
pub struct SplitInstance {
    pub path: PathBuf,
    pub header: Header,
    /// Offset of the top-level Pixel Data element's tag, or the file length when it has none.
    pub tail_offset: u64,
    /// Length of the file.
    pub file_len: u64,
}

impl SplitInstance {
    /// Reads the header of `path` and locates its Pixel Data.
    pub fn read(path: &Path) -> Result<SplitInstance, InstanceError> {
        let malformed = |reason: String| InstanceError::Malformed {
            path: path.to_path_buf(),
            reason,
        };
        let header = OpenFileOptions::new()
            .read_until(tags::PIXEL_DATA)
            .open_file(path)
            .map_err(|e| malformed(e.to_string()))?;
        let ts_uid = header.meta().transfer_syntax().trim_end_matches('\0');
        if [
            uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
            uids::JPIP_REFERENCED_DEFLATE,
            uids::JPIPHTJ2K_REFERENCED_DEFLATE,
        ]
        .contains(&ts_uid)
        {
            return Err(InstanceError::Unsupported {
                path: path.to_path_buf(),
                reason: format!("deflated transfer syntax {ts_uid} is not imported"),
            });
        }
        let file_len = std::fs::metadata(path)
            .map_err(|source| InstanceError::Io {
                path: path.to_path_buf(),
                source,
            })?
            .len();
        let tail_offset = pixel_data_offset(path, ts_uid)
            .map_err(malformed)?
            .unwrap_or(file_len);
        Ok(SplitInstance {
            path: path.to_path_buf(),
            header,
            tail_offset,
            file_len,
        })
    }

    /// The reconciled file's first bytes: preamble, file meta group and header data set.
    pub fn encode_header(&self) -> Result<Vec<u8>, InstanceError> {
        let mut out = Vec::with_capacity(4096);
        self.header
            .write_all(&mut out)
            .map_err(|e| InstanceError::Encode {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
        Ok(out)
    }

    /// Writes the reconciled file: the encoded header, then the original bytes from the Pixel
    /// Data element to the end, copied in chunks.
    pub fn write_to(&self, out: &mut impl std::io::Write) -> Result<u64, InstanceError> {
        let io = |source| InstanceError::Io {
            path: self.path.clone(),
            source,
        };
        let header = self.encode_header()?;
        out.write_all(&header).map_err(io)?;
        let mut file = File::open(&self.path).map_err(io)?;
        file.seek(SeekFrom::Start(self.tail_offset)).map_err(io)?;
        let copied = std::io::copy(&mut file, out).map_err(io)?;
        Ok(header.len() as u64 + copied)
    }
}

/// A reader counting the bytes taken from it.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Offset of the top-level Pixel Data element (None: the data set has none), found by reading
/// the data set token by token (values up to Pixel Data only) over a byte-counting source.
fn pixel_data_offset(path: &Path, ts_uid: &str) -> Result<Option<u64>, String> {
    let ts = TransferSyntaxRegistry
        .get(ts_uid)
        .ok_or_else(|| format!("unknown transfer syntax {ts_uid}"))?;
    let mut prefix = [0u8; 132];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut prefix))
        .map_err(|e| format!("shorter than a Part-10 preamble: {e}"))?;
    let meta_start: u64 = if &prefix[128..] == b"DICM" {
        128
    } else if &prefix[..4] == b"DICM" {
        0
    } else {
        return Err("no DICM prefix".to_owned());
    };
    let mut file = File::open(path).map_err(|e| e.to_string())?;
    file.seek(SeekFrom::Start(meta_start))
        .map_err(|e| e.to_string())?;
    let count = Rc::new(Cell::new(meta_start));
    let mut source = Counting {
        inner: BufReader::new(file),
        count: count.clone(),
    };
    FileMetaTable::from_reader(&mut source).map_err(|e| e.to_string())?;
    let mut reader = DataSetReader::new_with_ts(source, ts).map_err(|e| e.to_string())?;
    let mut depth = 0usize;
    loop {
        let before = count.get();
        let Some(token) = reader.next() else {
            return Ok(None);
        };
        match token.map_err(|e| e.to_string())? {
            DataToken::SequenceStart { .. } => depth += 1,
            DataToken::SequenceEnd => depth = depth.saturating_sub(1),
            DataToken::PixelSequenceStart if depth == 0 => return Ok(Some(before)),
            DataToken::ElementHeader(header) if depth == 0 && header.tag == tags::PIXEL_DATA => {
                return Ok(Some(before));
            }
            _ => {}
        }
    }
}
