//! Writers: optimistic commits over the commit they started from.
//!
//! An attempt syncs `<cache_root>/<merchant>/write/` to S3's current commit (remembering its ETag, or
//! that there was none), applies the edit with the engine, uploads the files of the new commit the old
//! one did not have, and publishes `meta.json` only over the old one (`If-Match`, or `If-None-Match: *`).
//! Losing that race changes nothing readers see: the attempt tags what it uploaded obsolete, syncs to
//! the winner's commit and applies the same edit again (upserts and removals are idempotent), with
//! jittered backoff, a bounded number of times. The winner tags the files its commit dropped obsolete;
//! the bucket's lifecycle rule expires them.
//!
//! Segment files carry random names, but tantivy names a delete file `<segment>.<commit opstamp>.del`:
//! two writers on one commit can both make the same name with different contents. So a file is only
//! ever created (`If-None-Match: *`), never overwritten: a name already taken means another writer is
//! on the same commit, and this attempt is lost. Unless the occupant was given up, that is: tagged
//! obsolete by its writer, or older than any writer can live while `meta.json` is still our base (its
//! writer is gone and never published it). Then it is replaced, on its ETag (`If-Match`).

use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use rand::Rng;

use super::bucket::{MetaRead, PARALLEL_TRANSFERS, Written, outlived_its_writer};
use super::commit::{self, Commit, META};
use super::{S3Indexes, Side, blocking, engine};
use pivota::ports::{IndexChange, ProductDoc, SearchError};

/// This process's knowledge of the write directory: `None` until it synced it once (a directory left by
/// an earlier process may hold files of attempts that were never published).
#[derive(Default)]
pub(super) struct WriterState {
    synced: Option<Option<Commit>>,
}

#[derive(Clone)]
pub(super) enum Edit {
    Apply(Vec<IndexChange>),
    ReplaceAll(Vec<ProductDoc>),
}

enum Attempt {
    Published,
    Lost,
}

impl S3Indexes {
    pub(super) async fn write(&self, merchant_id: &str, edit: Edit) -> Result<(), SearchError> {
        let merchant = self.merchant(merchant_id)?;
        let mut state = merchant.writer.lock().await;
        for attempt in 0..self.write_attempts {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            match self.attempt(merchant_id, &mut state, edit.clone()).await {
                Ok(Attempt::Published) => return Ok(()),
                Ok(Attempt::Lost) => {}
                Err(err) => {
                    state.synced = None;
                    return Err(err);
                }
            }
        }
        Err(SearchError::Transient(format!(
            "merchant {merchant_id}'s index: other writers committed first {} times in a row",
            self.write_attempts
        )))
    }

    async fn attempt(&self, merchant_id: &str, state: &mut WriterState, edit: Edit) -> Result<Attempt, SearchError> {
        let dir = self.local_dir(merchant_id, Side::Write);
        let base = self.sync(merchant_id, &dir, state).await?;
        let meta = blocking({
            let dir = dir.clone();
            move || {
                let index = engine::open_or_create(&dir)?;
                match edit {
                    Edit::Apply(changes) => engine::apply(&index, changes)?,
                    Edit::ReplaceAll(docs) => engine::replace_all(&index, docs)?,
                }
                std::fs::read(dir.join(META)).map_err(super::bucket::local)
            }
        })
        .await?;
        let files = commit::files_named(&meta)?;
        let base_files = base.as_ref().map(|base| base.files.clone()).unwrap_or_default();
        let base_etag = base.as_ref().map(|base| base.etag.as_str());

        let new: Vec<String> = files.difference(&base_files).cloned().collect();
        let (uploaded, outcome) = self.upload(merchant_id, &dir, new, base_etag).await;
        let published = match outcome {
            Ok(true) => self.bucket.publish_meta(&commit::key(merchant_id, META), meta.clone(), base_etag).await,
            Ok(false) => Ok(Written::Lost),
            Err(err) => Err(err),
        };
        let etag = match published {
            Ok(Written::Done { etag }) => etag,
            lost_or_failed => {
                self.bucket.tag_obsolete(keys(merchant_id, uploaded.iter())).await;
                return lost_or_failed.map(|_| Attempt::Lost);
            }
        };
        self.bucket.tag_obsolete(keys(merchant_id, base_files.difference(&files))).await;
        state.synced = Some(Some(Commit { etag, meta, files }));
        Ok(Attempt::Published)
    }

    /// Makes `dir` hold S3's current commit and nothing else; returns it (`None`: no index yet).
    async fn sync(
        &self,
        merchant_id: &str,
        dir: &Path,
        state: &mut WriterState,
    ) -> Result<Option<Commit>, SearchError> {
        let held = match state.synced.take() {
            Some(held) => held,
            None => {
                commit::wipe(dir).await?;
                None
            }
        };
        let known = held.as_ref().map(|commit| commit.etag.as_str());
        let base = match self.bucket.read_meta(&commit::key(merchant_id, META), known).await? {
            MetaRead::Unchanged => held,
            MetaRead::Absent => None,
            MetaRead::Current { etag, bytes } => Some(Commit::new(etag, bytes)?),
        };
        match &base {
            None => commit::wipe(dir).await?,
            Some(base) => {
                // Drops what earlier attempts wrote and never published, before anything is fetched by name.
                commit::prune(dir, &base.files).await?;
                if let Some(missing) = commit::fetch_missing(&self.bucket, merchant_id, dir, base).await? {
                    return Err(SearchError::Transient(format!(
                        "merchant {merchant_id}'s index commit {} names {missing}, which bucket {} does not hold",
                        base.etag,
                        self.bucket.name()
                    )));
                }
                commit::write_meta(dir, &base.meta).await?;
            }
        }
        state.synced = Some(base.clone());
        Ok(base)
    }

    /// Uploads the new files: (those this attempt wrote to S3, `Ok(false)` if a name was taken).
    async fn upload(
        &self,
        merchant_id: &str,
        dir: &Path,
        names: Vec<String>,
        base_etag: Option<&str>,
    ) -> (Vec<String>, Result<bool, SearchError>) {
        let results: Vec<(String, Result<bool, SearchError>)> = futures::stream::iter(names)
            .map(|name: String| async move {
                let result = self.upload_one(merchant_id, dir, &name, base_etag).await;
                (name, result)
            })
            .buffer_unordered(PARALLEL_TRANSFERS)
            .collect()
            .await;
        let mut uploaded = Vec::new();
        let mut outcome = Ok(true);
        for (name, result) in results {
            match result {
                Ok(true) => uploaded.push(name),
                Ok(false) => outcome = outcome.map(|_| false),
                Err(err) => outcome = Err(err),
            }
        }
        (uploaded, outcome)
    }

    async fn upload_one(
        &self,
        merchant_id: &str,
        dir: &Path,
        name: &str,
        base_etag: Option<&str>,
    ) -> Result<bool, SearchError> {
        let (key, path) = (commit::key(merchant_id, name), dir.join(name));
        if let Written::Done { .. } = self.bucket.create(&key, &path).await? {
            return Ok(true);
        }
        let Some(occupant) = self.bucket.occupant(&key).await? else {
            // Expired meanwhile.
            return Ok(matches!(self.bucket.create(&key, &path).await?, Written::Done { .. }));
        };
        let given_up = occupant.obsolete
            || (outlived_its_writer(&occupant, self.abandoned_after) && self.still_at(merchant_id, base_etag).await?);
        if !given_up {
            return Ok(false);
        }
        tracing::info!(%key, "replacing an index file a lost or dead writer left");
        Ok(matches!(self.bucket.replace(&key, &path, &occupant.etag).await?, Written::Done { .. }))
    }

    /// Is `meta.json` still the commit this attempt started from?
    async fn still_at(&self, merchant_id: &str, base_etag: Option<&str>) -> Result<bool, SearchError> {
        Ok(match self.bucket.read_meta(&commit::key(merchant_id, META), base_etag).await? {
            MetaRead::Unchanged => true,
            MetaRead::Absent => base_etag.is_none(),
            MetaRead::Current { .. } => false,
        })
    }
}

fn keys<'a>(merchant_id: &str, names: impl Iterator<Item = &'a String>) -> Vec<String> {
    names.map(|name| commit::key(merchant_id, name)).collect()
}

/// Full jitter over an exponential ceiling: 100 ms, 200 ms, … capped at 2 s.
fn backoff(attempt: u32) -> Duration {
    let ceiling_ms = (100u64 << attempt.min(5)).min(2_000);
    Duration::from_millis(rand::thread_rng().gen_range(ceiling_ms / 4..=ceiling_ms))
}
