//! [`S3Indexes`]: the [`SearchIndex`] port on S3, one tantivy index per merchant.
//!
//! # Layout
//! A merchant's index is the files of one tantivy commit under `indexes/<merchant_id>/` in the search
//! bucket (`PIVOTA_SEARCH_BUCKET`): segment files, which never change once written, and `meta.json`,
//! which names the segments (and delete files) of the current commit. Publishing a commit is one PUT of
//! `meta.json`, after all the files it names are in the bucket, so an index read through `meta.json` is
//! always whole. Each function instance keeps copies in its local cache (`<cache_root>/<merchant_id>/`,
//! by default [`DEFAULT_SEARCH_CACHE_ROOT`] on Lambda's `/tmp`): `read/` for searches ([`reader`]), `write/` for
//! commits ([`writer`]). One `S3Indexes` per cache root and process.
//!
//! # Concurrency
//! Within a process, each merchant's reads are serialised while they refresh the cache (the search itself
//! runs on a snapshot), and its writes one at a time. Across processes, writes are serialised by the
//! index queue (SQS FIFO, one message group per merchant); when that fails (a redelivery while the first
//! delivery still runs), the conditional PUT of `meta.json` lets one writer win and the other start
//! again from the winner's commit: no change is lost, no commit is published over another.
//!
//! # Old files
//! Files a commit no longer names are tagged `pivota-obsolete=true`, not deleted: a reader that has just
//! read the previous `meta.json` may still be downloading them. The bucket's lifecycle rule expires tagged
//! objects. S3 counts a rule's days from the object's creation, not from its tagging, and acts
//! asynchronously (https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html):
//! an old segment tagged today can go within hours. A reader caught by that finds a file missing, keeps
//! its previous commit (or fails as transient) and takes the new commit on its next search.

mod bucket;
mod commit;
mod reader;
mod writer;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use pivota_search as engine;

use self::bucket::IndexBucket;
use self::reader::ReaderState;
use self::writer::{Edit, WriterState};
use pivota::ports::{IndexChange, ProductDoc, SearchError, SearchHits, SearchIndex, SearchQuery};

pub use self::bucket::OBSOLETE_TAG;

/// The environment variable naming the search bucket.
pub const SEARCH_BUCKET_ENV: &str = "PIVOTA_SEARCH_BUCKET";
/// Lambda's writable directory.
pub const DEFAULT_SEARCH_CACHE_ROOT: &str = "/tmp/pivota-search";
/// Commit attempts of one write before it fails as transient.
const WRITE_ATTEMPTS: u32 = 8;
/// Lambda's longest invocation (15 minutes) and a margin for clock skew: a file uploaded longer ago than
/// this belongs to a writer that is gone.
const ABANDONED_AFTER: Duration = Duration::from_secs(20 * 60);

pub struct S3Indexes {
    bucket: IndexBucket,
    cache_root: PathBuf,
    write_attempts: u32,
    abandoned_after: Duration,
    merchants: Mutex<HashMap<String, Arc<MerchantIndex>>>,
}

#[derive(Default)]
struct MerchantIndex {
    reader: tokio::sync::Mutex<ReaderState>,
    writer: tokio::sync::Mutex<WriterState>,
}

#[derive(Clone, Copy)]
enum Side {
    Read,
    Write,
}

impl S3Indexes {
    /// Indexes in `bucket`, cached under `cache_root`. Emulators need path-style addressing on the client
    /// (`force_path_style`), as `LazyAws` sets when an endpoint is configured.
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>, cache_root: impl Into<PathBuf>) -> Self {
        Self {
            bucket: IndexBucket::new(super::call_log::s3(client), bucket.into()),
            cache_root: cache_root.into(),
            write_attempts: WRITE_ATTEMPTS,
            abandoned_after: ABANDONED_AFTER,
            merchants: Mutex::default(),
        }
    }

    /// How many times one write may lose the race to publish before it fails as transient.
    pub fn with_write_attempts(mut self, attempts: u32) -> Self {
        self.write_attempts = attempts.max(1);
        self
    }

    fn merchant(&self, merchant_id: &str) -> Result<Arc<MerchantIndex>, SearchError> {
        // The id becomes an S3 prefix and a directory: nothing that could step outside either.
        let plain = !merchant_id.is_empty()
            && merchant_id.len() <= 128
            && merchant_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !plain {
            return Err(SearchError::Other(format!("{merchant_id:?} is not a merchant id")));
        }
        let mut merchants = self.merchants.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(Arc::clone(merchants.entry(merchant_id.to_owned()).or_default()))
    }

    fn local_dir(&self, merchant_id: &str, side: Side) -> PathBuf {
        let side = match side {
            Side::Read => "read",
            Side::Write => "write",
        };
        self.cache_root.join(merchant_id).join(side)
    }
}

#[async_trait]
impl SearchIndex for S3Indexes {
    async fn apply(&self, merchant_id: &str, changes: Vec<IndexChange>) -> Result<(), SearchError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.write(merchant_id, Edit::Apply(changes)).await
    }

    async fn replace_all(&self, merchant_id: &str, docs: Vec<ProductDoc>) -> Result<(), SearchError> {
        self.write(merchant_id, Edit::ReplaceAll(docs)).await
    }

    async fn search(&self, merchant_id: &str, query: &SearchQuery) -> Result<SearchHits, SearchError> {
        let Some(searcher) = self.current_searcher(merchant_id).await? else {
            return Ok(SearchHits::default());
        };
        let query = query.clone();
        blocking(move || engine::search(&searcher, &query)).await
    }
}

/// Runs tantivy's blocking work (file reads, indexing, searching) off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, SearchError> + Send + 'static,
) -> Result<T, SearchError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| SearchError::Other(format!("the search engine's task failed: {err}")))?
}
