//! The embedded adapter: each merchant's index in its own directory, `<root>/<merchant_id>/`.
//!
//! The first use of a merchant opens its index and a reader, kept for the life of the process. Writers
//! for one merchant take its mutex, so in-process writes queue instead of contending for tantivy's lock
//! file (which still guards against another process, see `index`). The reader reloads after each write
//! made here, and a search first compares `meta.json`'s segments with its searcher's, so a commit made by
//! another process on the same directory is seen by the next search; the check reads one small file,
//! where a file watcher would cost a polling thread per merchant.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use pivota::ports::{IndexChange, ProductDoc, SearchError, SearchHits, SearchIndex, SearchQuery};
use tantivy::{Index, IndexReader, ReloadPolicy};

use crate::{failure, index, page};

/// Longer ids are refused: the id is a directory name.
const MAX_MERCHANT_ID_LEN: usize = 128;

/// The embedded adapter: one index directory per merchant under `root` (`<root>/<merchant_id>/`).
#[derive(Clone)]
pub struct LocalIndexes {
    inner: Arc<Indexes>,
}

struct Indexes {
    root: PathBuf,
    open: Mutex<HashMap<String, Arc<MerchantIndex>>>,
}

struct MerchantIndex {
    index: Index,
    reader: IndexReader,
    writing: Mutex<()>,
}

impl std::fmt::Debug for LocalIndexes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalIndexes").field("root", &self.inner.root).finish_non_exhaustive()
    }
}

impl LocalIndexes {
    pub fn new(root: PathBuf) -> Self {
        Self { inner: Arc::new(Indexes { root, open: Mutex::new(HashMap::new()) }) }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        merchant_id: &str,
        work: impl FnOnce(&Indexes, &str) -> Result<T, SearchError> + Send + 'static,
    ) -> Result<T, SearchError> {
        let merchant_id = checked(merchant_id)?.to_owned();
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || work(&inner, &merchant_id))
            .await
            .map_err(|error| SearchError::Other(format!("the search task failed: {error}")))?
    }
}

#[async_trait]
impl SearchIndex for LocalIndexes {
    async fn apply(&self, merchant_id: &str, changes: Vec<IndexChange>) -> Result<(), SearchError> {
        self.blocking(merchant_id, move |indexes, merchant_id| {
            indexes.write(merchant_id, |index| index::apply(index, changes))
        })
        .await
    }

    async fn replace_all(&self, merchant_id: &str, docs: Vec<ProductDoc>) -> Result<(), SearchError> {
        self.blocking(merchant_id, move |indexes, merchant_id| {
            indexes.write(merchant_id, |index| index::replace_all(index, docs))
        })
        .await
    }

    async fn search(&self, merchant_id: &str, query: &SearchQuery) -> Result<SearchHits, SearchError> {
        let query = query.clone();
        self.blocking(merchant_id, move |indexes, merchant_id| match indexes.merchant(merchant_id, false)? {
            Some(merchant) => page::search(&merchant.current_searcher()?, &query),
            None => Ok(SearchHits::default()),
        })
        .await
    }
}

impl Indexes {
    /// The merchant's cached index. One that was never written is created if `create`, else `None`.
    fn merchant(&self, merchant_id: &str, create: bool) -> Result<Option<Arc<MerchantIndex>>, SearchError> {
        let mut open = lock(&self.open);
        if let Some(merchant) = open.get(merchant_id) {
            return Ok(Some(Arc::clone(merchant)));
        }
        let dir = self.root.join(merchant_id);
        if !create && !index::exists(&dir) {
            return Ok(None);
        }
        let merchant = Arc::new(MerchantIndex::open(index::open_or_create(&dir)?)?);
        open.insert(merchant_id.to_owned(), Arc::clone(&merchant));
        Ok(Some(merchant))
    }

    fn write(
        &self,
        merchant_id: &str,
        write: impl FnOnce(&Index) -> Result<(), SearchError>,
    ) -> Result<(), SearchError> {
        let Some(merchant) = self.merchant(merchant_id, true)? else {
            return Err(SearchError::Other(format!("no index for merchant {merchant_id}")));
        };
        let _writing = lock(&merchant.writing);
        write(&merchant.index)?;
        merchant.reader.reload().map_err(failure)
    }
}

impl MerchantIndex {
    fn open(index: Index) -> Result<Self, SearchError> {
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(failure)?;
        Ok(Self { index, reader, writing: Mutex::new(()) })
    }

    /// A searcher of the latest commit, reloading first if `meta.json` names other segments (another
    /// process committed).
    fn current_searcher(&self) -> Result<tantivy::Searcher, SearchError> {
        let searcher = self.reader.searcher();
        let metas = self.index.load_metas().map_err(failure)?;
        let held = searcher.generation().segments();
        let current = metas.segments.len() == held.len()
            && metas.segments.iter().all(|segment| held.get(&segment.id()) == Some(&segment.delete_opstamp()));
        if current {
            return Ok(searcher);
        }
        self.reader.reload().map_err(failure)?;
        Ok(self.reader.searcher())
    }
}

/// A merchant id names a directory under the root: only ASCII letters, digits, `_` and `-`, so it can
/// never climb out of it or name a hidden file.
fn checked(merchant_id: &str) -> Result<&str, SearchError> {
    let valid = !merchant_id.is_empty()
        && merchant_id.len() <= MAX_MERCHANT_ID_LEN
        && merchant_id.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
    if valid { Ok(merchant_id) } else { Err(SearchError::Other(format!("invalid merchant id {merchant_id:?}"))) }
}

/// A panic while holding a lock leaves nothing half-done here (tantivy rolls back an uncommitted writer).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
