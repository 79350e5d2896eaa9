//! Opening an index directory, writing to it, and naming the files of its current commit.
//!
//! Every write takes tantivy's writer lock (a lock file in the directory, so it also guards against
//! another process), applies its changes, commits once and waits for the merges the commit started: when
//! it returns, `meta.json` names only finished segments, and the lock is free. A replacement of a product
//! is a delete by its `product_id` term followed by an add; tantivy orders both by opstamp, so a batch
//! that upserts one product twice keeps the second.

use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use pivota::ports::{IndexChange, ProductDoc, SearchError};
use tantivy::directory::MmapDirectory;
use tantivy::directory::error::LockError;
use tantivy::index::SegmentComponent;
use tantivy::tokenizer::TokenizerManager;
use tantivy::{Index, IndexBuilder, IndexWriter, TantivyError};

use crate::failure;
use crate::schema::{self, Fields, TOKENIZER};

/// One indexing thread with this much memory; tantivy's floor is 15 MB. Beyond it, tantivy flushes a
/// segment and the merge policy folds segments together.
const WRITER_MEMORY_BYTES: usize = 32_000_000;
/// Another writer (another process, or a caller that skips `LocalIndexes`' mutex) holds the lock: it is
/// retried for about two seconds, then the write fails as transient so the queue redelivers it.
const LOCK_ATTEMPTS: u32 = 20;
const LOCK_PAUSE: Duration = Duration::from_millis(100);
const META_FILE: &str = "meta.json";

/// Opens the index in `dir`, creating an empty one with Pivota's schema if there is none.
pub fn open_or_create(dir: &Path) -> Result<tantivy::Index, SearchError> {
    std::fs::create_dir_all(dir)
        .map_err(|error| SearchError::Other(format!("creating the index directory {}: {error}", dir.display())))?;
    let directory = MmapDirectory::open(dir).map_err(|error| SearchError::Other(error.to_string()))?;
    let tokenizers = TokenizerManager::default();
    tokenizers.register(TOKENIZER, schema::analyzer());
    IndexBuilder::new().schema(schema::schema()).tokenizers(tokenizers).open_or_create(directory).map_err(failure)
}

/// Applies the changes with one writer and commits; returns once committed.
pub fn apply(index: &tantivy::Index, changes: Vec<IndexChange>) -> Result<(), SearchError> {
    if changes.is_empty() {
        return Ok(());
    }
    let fields = Fields::of(&index.schema())?;
    let writer = writer(index)?;
    for change in changes {
        match change {
            IndexChange::Upsert(product) => {
                writer.delete_term(fields.id_term(&product.product_id));
                writer.add_document(fields.document(&product)).map_err(failure)?;
            }
            IndexChange::Remove { product_id } => {
                writer.delete_term(fields.id_term(&product_id));
            }
        }
    }
    commit(writer)
}

/// Deletes every document and adds these, in one commit.
pub fn replace_all(index: &tantivy::Index, docs: Vec<ProductDoc>) -> Result<(), SearchError> {
    let fields = Fields::of(&index.schema())?;
    let writer = writer(index)?;
    writer.delete_all_documents().map_err(failure)?;
    for product in &docs {
        writer.add_document(fields.document(product)).map_err(failure)?;
    }
    commit(writer)
}

/// The files the index's current commit names (each segment's files and delete files, plus "meta.json"),
/// as relative paths.
pub fn files_of(index: &tantivy::Index) -> Result<Vec<PathBuf>, SearchError> {
    let metas = index.load_metas().map_err(failure)?;
    let mut files = metas.list_segment_files();
    for segment in &metas.segments {
        // tantivy lists a delete file for every segment; only those with deletes have one.
        if segment.delete_opstamp().is_none() {
            files.remove(&segment.relative_path(SegmentComponent::Delete));
        }
    }
    let mut files: Vec<PathBuf> = files.into_iter().collect();
    files.push(PathBuf::from(META_FILE));
    files.sort();
    Ok(files)
}

/// Whether `dir` holds a committed index, without creating anything.
pub(crate) fn exists(dir: &Path) -> bool {
    dir.join(META_FILE).is_file()
}

fn writer(index: &Index) -> Result<IndexWriter, SearchError> {
    schema::register_analyzer(index);
    let mut attempt = 1;
    loop {
        match index.writer_with_num_threads(1, WRITER_MEMORY_BYTES) {
            Ok(writer) => return Ok(writer),
            Err(TantivyError::LockFailure(LockError::LockBusy, _)) if attempt < LOCK_ATTEMPTS => {
                attempt += 1;
                thread::sleep(LOCK_PAUSE);
            }
            Err(TantivyError::LockFailure(LockError::LockBusy, _)) => {
                return Err(SearchError::Transient("another writer holds the index lock".into()));
            }
            Err(error) => return Err(failure(error)),
        }
    }
}

fn commit(mut writer: IndexWriter) -> Result<(), SearchError> {
    writer.commit().map_err(failure)?;
    writer.wait_merging_threads().map_err(failure)
}
