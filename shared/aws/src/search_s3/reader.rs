//! Readers: the merchant's current commit, cached in `<cache_root>/<merchant>/read/`.
//!
//! Each search asks S3 for `meta.json` with the ETag it serves (`If-None-Match`): a warm function that is
//! up to date gets `304 Not Modified` and no body. On a new commit it downloads the files its cache lacks
//! (segment files never change under a name, so a warm function downloads only new segments and delete
//! files), writes `meta.json`, and opens the new commit. A commit whose files S3 does not all have is not
//! served: the previous one is kept (if there is none, the search fails as transient and is retried).

use std::path::PathBuf;

use pivota_search::tantivy::{IndexReader, ReloadPolicy, Searcher};

use super::bucket::MetaRead;
use super::commit::{self, Commit, META};
use super::{S3Indexes, Side, blocking, engine};
use pivota::ports::SearchError;

#[derive(Default)]
pub(super) struct ReaderState {
    serving: Option<Serving>,
}

struct Serving {
    etag: String,
    reader: IndexReader,
}

impl S3Indexes {
    /// A searcher on the merchant's current commit; `None` when the merchant has no index.
    pub(super) async fn current_searcher(&self, merchant_id: &str) -> Result<Option<Searcher>, SearchError> {
        let merchant = self.merchant(merchant_id)?;
        let mut state = merchant.reader.lock().await;
        self.refresh(merchant_id, &mut state).await?;
        Ok(state.serving.as_ref().map(|serving| serving.reader.searcher()))
    }

    async fn refresh(&self, merchant_id: &str, state: &mut ReaderState) -> Result<(), SearchError> {
        let known = state.serving.as_ref().map(|serving| serving.etag.as_str());
        let commit = match self.bucket.read_meta(&commit::key(merchant_id, META), known).await? {
            MetaRead::Unchanged => return Ok(()),
            MetaRead::Absent => {
                state.serving = None;
                return Ok(());
            }
            MetaRead::Current { etag, bytes } => Commit::new(etag, bytes)?,
        };
        let dir = self.local_dir(merchant_id, Side::Read);
        if let Some(missing) = commit::fetch_missing(&self.bucket, merchant_id, &dir, &commit).await? {
            let why = format!(
                "merchant {merchant_id}'s index commit {} names {missing}, which bucket {} does not hold",
                commit.etag,
                self.bucket.name()
            );
            if state.serving.is_none() {
                return Err(SearchError::Transient(why));
            }
            tracing::warn!("{why}: still serving the previous commit");
            return Ok(());
        }
        commit::write_meta(&dir, &commit.meta).await?;
        let reader = open_reader(dir.clone()).await?;
        commit::prune(&dir, &commit.files).await?;
        state.serving = Some(Serving { etag: commit.etag, reader });
        Ok(())
    }
}

/// Each commit gets its own `Index`, opened by the engine (which registers its text analysis); nothing
/// reloads behind our back (`ReloadPolicy::Manual`: tantivy would otherwise watch `meta.json`).
async fn open_reader(dir: PathBuf) -> Result<IndexReader, SearchError> {
    blocking(move || {
        let index = engine::open_or_create(&dir)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into();
        reader.map_err(|err| SearchError::Other(format!("opening {}: {err}", dir.display())))
    })
    .await
}
