//! A commit of a merchant's index, and the local directories that hold copies of one.
//!
//! A commit is its `meta.json` (S3's ETag of it, its bytes) and the files it names. A local directory holds
//! exactly one commit's files plus `meta.json`, written last: tantivy opens what `meta.json` names, so a
//! directory is never seen half-way. Files are cached by name; each is downloaded under a temporary name
//! and renamed once whole.

use std::collections::BTreeSet;
use std::path::Path;

use futures::{StreamExt, TryStreamExt};
use pivota_search::tantivy::{self, Directory, directory::RamDirectory};

use super::bucket::{IndexBucket, PARALLEL_TRANSFERS, local};
use super::engine;
use pivota::ports::SearchError;

pub(super) const META: &str = "meta.json";

#[derive(Clone, Debug)]
pub(super) struct Commit {
    pub etag: String,
    pub meta: Vec<u8>,
    /// The files `meta` names, besides itself.
    pub files: BTreeSet<String>,
}

impl Commit {
    pub fn new(etag: String, meta: Vec<u8>) -> Result<Self, SearchError> {
        let files = files_named(&meta)?;
        Ok(Self { etag, meta, files })
    }
}

/// The S3 key of one of a merchant's files.
pub(super) fn key(merchant_id: &str, name: &str) -> String {
    format!("indexes/{merchant_id}/{name}")
}

/// The files a `meta.json` names, besides itself: the engine lists them from an index opened on a
/// directory in memory that holds that `meta.json` alone (opening reads no segment).
pub(super) fn files_named(meta: &[u8]) -> Result<BTreeSet<String>, SearchError> {
    let unreadable = |err: &dyn std::fmt::Display| SearchError::Other(format!("an unreadable meta.json: {err}"));
    let directory = RamDirectory::create();
    directory.atomic_write(Path::new(META), meta).map_err(|err| unreadable(&err))?;
    let index = tantivy::Index::open(directory).map_err(|err| unreadable(&err))?;
    let mut files = BTreeSet::new();
    for path in engine::files_of(&index)? {
        let name = path.to_str().filter(|name| is_plain_name(name));
        match name {
            Some(META) => {}
            Some(name) => {
                files.insert(name.to_owned());
            }
            None => return Err(unreadable(&format!("it names {}, not a file of the index", path.display()))),
        }
    }
    Ok(files)
}

/// A name that is a file in the index's directory, nothing else: it becomes an S3 key and a local path.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\'])
}

/// Downloads the files of `commit` that `dir` lacks. `Ok(Some(name))`: S3 has no `name` (the commit
/// is not whole there), `dir` keeps what did arrive.
pub(super) async fn fetch_missing(
    bucket: &IndexBucket,
    merchant_id: &str,
    dir: &Path,
    commit: &Commit,
) -> Result<Option<String>, SearchError> {
    tokio::fs::create_dir_all(dir).await.map_err(local)?;
    let mut wanted = Vec::new();
    for name in &commit.files {
        if !tokio::fs::try_exists(dir.join(name)).await.map_err(local)? {
            wanted.push(name.clone());
        }
    }
    let fetched: Vec<(String, bool)> = futures::stream::iter(wanted)
        .map(|name: String| async move {
            let found = bucket.download(&key(merchant_id, &name), &dir.join(&name)).await?;
            Ok::<_, SearchError>((name, found))
        })
        .buffer_unordered(PARALLEL_TRANSFERS)
        .try_collect()
        .await?;
    Ok(fetched.into_iter().find(|(_, found)| !found).map(|(name, _)| name))
}

/// Writes `meta.json`, atomically.
pub(super) async fn write_meta(dir: &Path, meta: &[u8]) -> Result<(), SearchError> {
    let partial = dir.join(format!("{META}.part-{:08x}", rand::random::<u32>()));
    tokio::fs::write(&partial, meta).await.map_err(local)?;
    tokio::fs::rename(&partial, dir.join(META)).await.map_err(local)
}

/// Removes every file but `keep`, `meta.json` and tantivy's own dot-files (its lock files and the list of
/// the files it wrote). Readers still holding a removed file keep reading it: on Linux an unlinked file
/// lives on while it is mapped.
pub(super) async fn prune(dir: &Path, keep: &BTreeSet<String>) -> Result<(), SearchError> {
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(local(err)),
    };
    while let Some(entry) = entries.next_entry().await.map_err(local)? {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name != META && !name.starts_with('.') && !keep.contains(name.as_ref()) {
            tokio::fs::remove_file(entry.path()).await.map_err(local)?;
        }
    }
    Ok(())
}

/// Empties `dir` (creating it if need be).
pub(super) async fn wipe(dir: &Path) -> Result<(), SearchError> {
    match tokio::fs::remove_dir_all(dir).await {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(local(err)),
    }
    tokio::fs::create_dir_all(dir).await.map_err(local)
}
