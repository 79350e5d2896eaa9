//! Catalog sync: a job per store, run from a queue, resumable and paced to the platform's rate limit.
//!
//! | item           | pk                 | sk                   |
//! |----------------|--------------------|----------------------|
//! | sync job       | `MERCHANT#<id>`    | `SYNCJOB#<job_id>`   |
//!
//! A run reads pages from the job's checkpointed cursor. For each page it reads the stored products
//! (one batch get), writes the products whose content hash changed and stamps every product of the page
//! with the job's id (`seen_by_job`; an unchanged product's write changes only the stamp), in transactions
//! of 25 conditional on each product's version, then checkpoints the cursor and counters with a write
//! conditional on the job's version.
//! A worker killed mid-page redoes that page, which now finds its products unchanged: nothing is lost
//! and nothing is counted twice as written. When little time is left, or the platform asks for a wait
//! longer than the time left, the run returns [`RunOutcome::Continue`] and its caller sends a
//! continuation message (delayed by the wait). A platform that waits out a throttled request itself
//! (WooCommerce) is given the deadline minus the margin, and past it answers with what the page completed.
//!
//! After the last page the job enters its removal phase: it walks the store's products (gsi1
//! `STORE#<id>#PRODUCTS`) a page at a time from a checkpointed index cursor and marks removed those whose
//! stamp is not the job's, saving the cursor and the count with each step as it saves the page cursor, and
//! continuing by message when time runs low. No page's ids are held anywhere, so a worker's memory does not
//! grow with the catalog. A product written since the job was created (a `products/update` delivery for a
//! product the pages had passed) is not the job's to judge, and stays.
//!
//! This module holds the job, its storage and its start; running it (the page phase) is in `running.rs`,
//! the removal phase and the job's end in `finishing.rs`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::catalog::products::SkippedProduct;
use crate::kernel::error::Error;
use crate::onboarding::merchant::MerchantId;
use crate::ports::HasClock;
use crate::ports::HasQueue;
use crate::ports::HasTable;
use crate::ports::{ItemKey, PageCursor, StoreError};
use crate::record::{FIRST_VERSION, Record, Written};
pub use crate::stores::tasks::{JobState, Leased};
use crate::stores::{self, ConnectionStatus, SyncProgress};

mod finishing;
mod running;

pub use running::run;

/// A queued job that has not moved for this long is considered lost (its message was dropped): a new
/// sync request replaces it instead of returning it. Longer than the sync queue's visibility timeout (30
/// minutes, `template.yaml`) plus a run: until then a crashed run's message may still come back and take
/// its job up again. (A replaced job's message that comes back later finds its job superseded and ends it.)
const STALE_AFTER: time::Duration = time::Duration::minutes(40);
/// Stop starting pages when less than this is left of the invocation.
const SAFETY_MARGIN: Duration = Duration::from_secs(10);

/// Where a job is: reading the platform's pages, or removing what they did not list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncPhase {
    #[default]
    Pages,
    Removal,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncJob {
    pub job_id: String,
    pub merchant_id: MerchantId,
    pub store_id: String,
    pub state: JobState,
    /// Where the next page starts; `None` before the first page.
    pub cursor: Option<String>,
    #[serde(default)]
    pub phase: SyncPhase,
    /// In the removal phase, where the next step of the walk over the store's products starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removal_cursor: Option<PageCursor>,
    pub progress: SyncProgress,
    #[serde(default)]
    pub error: Option<String>,
    /// The first products the table could not hold, with the reason.
    #[serde(default)]
    pub skipped: Vec<SkippedProduct>,
    #[serde(default)]
    pub consecutive_failures: u32,
    /// When the platform's rate limit lets the next request through (from the last page's answer).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub not_before: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub lease_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    #[serde(skip)]
    pub version: u64,
}

/// The queue message that runs (or continues) a job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncMessage {
    pub merchant_id: String,
    pub store_id: String,
    pub job_id: String,
}

fn job_key(merchant_id: &MerchantId, job_id: &str) -> ItemKey {
    ItemKey::new(format!("MERCHANT#{merchant_id}"), format!("SYNCJOB#{job_id}"))
}

impl Record for SyncJob {
    fn key(&self) -> ItemKey {
        job_key(&self.merchant_id, &self.job_id)
    }

    crate::record::version_field!();
}

impl Leased for SyncJob {
    fn lease_fields(&mut self) -> (&mut JobState, &mut Option<OffsetDateTime>) {
        (&mut self.state, &mut self.lease_until)
    }
}

impl SyncJob {
    pub fn is_finished(&self) -> bool {
        matches!(self.state, JobState::Succeeded | JobState::Failed)
    }

    /// Saves the job, stamped with the time, if nobody else changed it since it was read. `false` when
    /// someone did.
    async fn checkpoint(&mut self, app: &(impl HasTable + HasClock)) -> Result<bool, Error> {
        self.updated_at = app.clock().now();
        Ok(self.save(app.table()).await? == Written::Done)
    }

    pub fn view(&self) -> serde_json::Value {
        let rfc3339 = |t: &OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        serde_json::json!({
            "job_id": self.job_id,
            "store_id": self.store_id,
            "state": self.state,
            "progress": self.progress,
            "error": self.error,
            "skipped": self.skipped,
            "created_at": rfc3339(&self.created_at),
            "updated_at": rfc3339(&self.updated_at),
            "finished_at": self.finished_at.as_ref().map(rfc3339),
        })
    }
}

pub async fn get_job(app: &impl HasTable, merchant_id: &MerchantId, job_id: &str) -> Result<Option<SyncJob>, Error> {
    app.table().get(&job_key(merchant_id, job_id)).await?.as_ref().map(SyncJob::from_item).transpose()
}

/// Starts a sync of a store, or returns the one already running. `(job, true)` when it was created.
pub async fn start(
    app: &(impl HasTable + HasQueue + HasClock),
    merchant_id: &MerchantId,
    store_id: &str,
) -> Result<(SyncJob, bool), Error> {
    for _ in 0..5 {
        let store = stores::get(app, merchant_id, store_id).await?;
        if !store.connection_status.is_active() {
            return Err(Error::Conflict(format!(
                "the store is {}; connect it again to sync",
                store.connection_status.as_str()
            )));
        }
        let now = app.clock().now();
        if let Some(active) = &store.last_job_id
            && let Some(job) = get_job(app, merchant_id, active).await?
            && !job.is_finished()
            && now - job.updated_at < STALE_AFTER
        {
            return Ok((job, false));
        }
        let job = SyncJob {
            job_id: format!("job_{}", ulid::Ulid::new()),
            merchant_id: merchant_id.clone(),
            store_id: store_id.to_owned(),
            state: JobState::Queued,
            cursor: None,
            phase: SyncPhase::Pages,
            removal_cursor: None,
            progress: SyncProgress::default(),
            error: None,
            skipped: Vec::new(),
            consecutive_failures: 0,
            not_before: None,
            lease_until: None,
            created_at: now,
            updated_at: now,
            finished_at: None,
            version: FIRST_VERSION,
        };
        let mut updated = store.clone();
        updated.last_job_id = Some(job.job_id.clone());
        updated.connection_status = ConnectionStatus::Syncing;
        updated.updated_at = now;
        let ops = vec![job.create_op()?, updated.save_op()?];
        match app.table().transact(ops).await {
            Ok(()) => {}
            // Another request started one first: return it on the next round.
            Err(StoreError::TransactionCancelled { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
        let message = SyncMessage {
            merchant_id: merchant_id.to_string(),
            store_id: store_id.to_owned(),
            job_id: job.job_id.clone(),
        };
        let body = serde_json::to_string(&message).map_err(|e| Error::Internal(e.to_string()))?;
        if let Err(e) = app.queue().send(app.sync_queue(), &body, Duration::ZERO).await {
            let mut failed = job.clone();
            failed.state = JobState::Failed;
            failed.error = Some("the job could not be queued".into());
            failed.checkpoint(app).await?;
            return Err(e.into());
        }
        tracing::info!(%merchant_id, store_id, job_id = job.job_id, "sync queued");
        return Ok((job, true));
    }
    Err(Error::Conflict("the store kept changing; retry".into()))
}

/// What a run of a job ended with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// The job is finished (or was already, or belongs to another worker now).
    Done,
    /// Send the message again after this delay: time ran low, or the platform asked to wait.
    Continue { delay: Duration },
    /// Another worker holds the job: this message is a duplicate (the holder continues the job with its own
    /// message), so it is done.
    Busy,
}
