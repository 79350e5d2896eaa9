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

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::app::App;
use crate::catalog::products::{self, Product, SkippedProduct, product_key};
use crate::kernel::error::Error;
use crate::onboarding::merchant::MerchantId;
use crate::ports::{Condition, Item, ItemKey, PageCursor, StoreError, WriteOp};
use crate::record::{from_item, to_attributes};
use crate::stores::platforms::{self, PlatformError, ProductPage};
use crate::stores::{self, ConnectionStatus, Store, SyncProgress};

/// A queued job that has not moved for this long is considered lost (its message was dropped): a new
/// sync request replaces it instead of returning it. Longer than the sync queue's visibility timeout (30
/// minutes, `template.yaml`) plus a run: until then a crashed run's message may still come back and take
/// its job up again. (A replaced job's message that comes back later finds its job superseded and ends it.)
const STALE_AFTER: time::Duration = time::Duration::minutes(40);
/// How long a worker owns a job before another may take it over.
const LEASE: time::Duration = time::Duration::minutes(5);
/// Stop starting pages when less than this is left of the invocation.
const SAFETY_MARGIN: Duration = Duration::from_secs(10);
const MAX_CONSECUTIVE_FAILURES: u32 = 5;
/// Skipped products listed on a job (all are counted), and the length a reason is cut to: the job stays a
/// small item however much is skipped.
const MAX_SKIPPED_LISTED: usize = 50;
const MAX_SKIPPED_CHARS: usize = 300;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
}

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

impl SyncJob {
    fn to_item(&self, version: u64) -> Result<Item, Error> {
        let mut item = Item::new(job_key(&self.merchant_id, &self.job_id), to_attributes(self)?);
        item.version = version;
        Ok(item)
    }

    fn from_item(item: &Item) -> Result<Self, Error> {
        let mut job: Self = from_item(item)?;
        job.version = item.version;
        Ok(job)
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.state, JobState::Succeeded | JobState::Failed)
    }

    /// Saves the job if nobody else changed it since it was read. `false` when someone did.
    async fn save(&mut self, app: &App) -> Result<bool, Error> {
        self.updated_at = app.clock.now();
        let item = self.to_item(self.version + 1)?;
        match app.table.put(item, Condition::VersionIs(self.version)).await {
            Ok(()) => {
                self.version += 1;
                Ok(true)
            }
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e.into()),
        }
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

pub async fn get_job(app: &App, merchant_id: &MerchantId, job_id: &str) -> Result<Option<SyncJob>, Error> {
    app.table.get(&job_key(merchant_id, job_id)).await?.as_ref().map(SyncJob::from_item).transpose()
}

/// Starts a sync of a store, or returns the one already running. `(job, true)` when it was created.
pub async fn start(app: &App, merchant_id: &MerchantId, store_id: &str) -> Result<(SyncJob, bool), Error> {
    for _ in 0..5 {
        let store = stores::get(app, merchant_id, store_id).await?;
        if !store.connection_status.is_active() {
            return Err(Error::Conflict(format!(
                "the store is {}; connect it again to sync",
                store.connection_status.as_str()
            )));
        }
        let now = app.clock.now();
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
            version: 1,
        };
        let mut updated = store.clone();
        updated.last_job_id = Some(job.job_id.clone());
        updated.connection_status = ConnectionStatus::Syncing;
        updated.updated_at = now;
        let ops = vec![WriteOp::Put { item: job.to_item(1)?, condition: Condition::NotExists }, updated.update_op()?];
        match app.table.transact(ops).await {
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
        if let Err(e) = app.queue.send(&app.settings.sync_queue, &body, Duration::ZERO).await {
            let mut failed = job.clone();
            failed.state = JobState::Failed;
            failed.error = Some("the job could not be queued".into());
            failed.save(app).await?;
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

/// Runs a job until it finishes or `deadline` (minus a safety margin) comes near.
pub async fn run(app: &App, message: &SyncMessage, deadline: Instant) -> Result<RunOutcome, Error> {
    let merchant_id = MerchantId::parse(&message.merchant_id)
        .ok_or_else(|| Error::bad_parameter("merchant_id", "is not a merchant id"))?;
    let Some(mut job) = get_job(app, &merchant_id, &message.job_id).await? else { return Ok(RunOutcome::Done) };
    if job.is_finished() {
        return Ok(RunOutcome::Done);
    }
    let now = app.clock.now();
    if job.state == JobState::Running && job.lease_until.is_some_and(|lease| lease > now) {
        return Ok(RunOutcome::Busy);
    }
    job.state = JobState::Running;
    job.lease_until = Some(now + LEASE);
    if !job.save(app).await? {
        return Ok(RunOutcome::Busy);
    }
    let store = stores::get(app, &merchant_id, &job.store_id).await?;
    if !store.connection_status.is_active() {
        return finish(app, &mut job, Some("the store was disconnected".into())).await;
    }
    // A newer sync replaced this job (it was taken for lost): one job per store runs, never two side by side.
    if store.last_job_id.as_deref() != Some(job.job_id.as_str()) {
        return finish(app, &mut job, Some("replaced by a newer sync of the store".into())).await;
    }
    if job.phase == SyncPhase::Removal {
        return remove_unseen(app, &mut job, deadline).await;
    }
    let credentials = stores::credentials(app, &store).await?;
    let url = url::Url::parse(&store.store_url).map_err(|e| Error::Internal(e.to_string()))?;
    let endpoint = stores::endpoint(app, &url, Duration::from_secs(30)).await?;
    let platform = platforms::catalog(store.platform);
    // Honour the rate limit the previous job (or this one's previous run) ended on.
    let not_before = job.not_before.max(store.rate_limited_until);
    if let Some(wait) = not_before.map(|at| at - app.clock.now()).filter(|w| w.is_positive()) {
        let wait = Duration::try_from(wait).unwrap_or_default();
        if !pause(app, &mut job, wait, deadline).await? {
            return Ok(RunOutcome::Continue { delay: wait });
        }
    }

    // A page may wait out a throttled request only while the margin stays free (see `pause`).
    let page_deadline = deadline.checked_sub(SAFETY_MARGIN).unwrap_or_else(Instant::now);
    loop {
        let cursor = job.cursor.as_deref();
        let page = match platform.products_page_until(&endpoint, &credentials, cursor, page_deadline).await {
            Ok(page) => page,
            Err(PlatformError::Throttled { retry_after }) => {
                job.progress.errors += 1;
                if !pause(app, &mut job, retry_after, deadline).await? {
                    return Ok(RunOutcome::Continue { delay: retry_after });
                }
                continue;
            }
            Err(PlatformError::Unauthorized { reason }) => {
                return finish(app, &mut job, Some(format!("the store refused the credentials: {reason}"))).await;
            }
            Err(e @ (PlatformError::Unavailable { .. } | PlatformError::Invalid { .. })) => {
                job.progress.errors += 1;
                job.consecutive_failures += 1;
                if job.consecutive_failures >= MAX_CONSECUTIVE_FAILURES {
                    return finish(app, &mut job, Some(e.to_string())).await;
                }
                let backoff = Duration::from_secs(2u64.pow(job.consecutive_failures));
                if !pause(app, &mut job, backoff, deadline).await? {
                    return Ok(RunOutcome::Continue { delay: backoff });
                }
                continue;
            }
        };
        job.consecutive_failures = 0;
        // The wait counts from the platform's answer: the time spent writing this page is part of it.
        let answered = Instant::now();
        let wait = page.wait_before_next;
        let last = page.next.is_none();
        apply_page(app, &store, &mut job, page).await?;
        job.not_before = (!wait.is_zero()).then(|| app.clock.now() + wait);
        job.lease_until = Some(app.clock.now() + LEASE);
        if last {
            job.phase = SyncPhase::Removal;
        }
        if !job.save(app).await? {
            // Another worker took the job over (our lease ran out): it carries on from its checkpoint.
            return Ok(RunOutcome::Done);
        }
        if last {
            return remove_unseen(app, &mut job, deadline).await;
        }
        // Every run does at least one page; it stops starting pages when little time is left.
        if deadline.saturating_duration_since(Instant::now()) < SAFETY_MARGIN {
            job.lease_until = None;
            job.save(app).await?;
            return Ok(RunOutcome::Continue { delay: wait });
        }
        let wait = wait.saturating_sub(answered.elapsed());
        if !wait.is_zero() && !pause(app, &mut job, wait, deadline).await? {
            return Ok(RunOutcome::Continue { delay: wait });
        }
    }
}

/// Waits `wait` if the invocation has time for it; otherwise checkpoints (releasing the lease) and says so.
async fn pause(app: &App, job: &mut SyncJob, wait: Duration, deadline: Instant) -> Result<bool, Error> {
    if deadline.saturating_duration_since(Instant::now()) > wait + SAFETY_MARGIN {
        tokio::time::sleep(wait).await;
        return Ok(true);
    }
    job.lease_until = None;
    job.save(app).await?;
    Ok(false)
}

/// Writes one page: the changed products, and every product's stamp for the removal phase.
async fn apply_page(app: &App, store: &Store, job: &mut SyncJob, page: ProductPage) -> Result<(), Error> {
    let merchant_id = &job.merchant_id;
    let keys: Vec<ItemKey> = page
        .products
        .iter()
        .map(|p| product_key(merchant_id, &products::product_id(&store.store_id, &p.external_id)))
        .collect();
    let existing: std::collections::HashMap<String, Product> = app
        .table
        .batch_get(keys)
        .await?
        .iter()
        .map(|item| Product::from_item(item).map(|p| (p.product_id.clone(), p)))
        .collect::<Result<_, _>>()?;
    let seen = page.products.len() as u64;
    let outcome = products::save_from_store(
        app,
        merchant_id,
        &store.store_id,
        page.currency,
        page.products,
        existing,
        Some(&job.job_id),
    )
    .await?;
    let skipped = outcome.skipped.len() as u64;
    job.progress.products_seen += seen;
    job.progress.expected = page.total.or(job.progress.expected);
    job.progress.written += outcome.written;
    job.progress.skipped += skipped;
    job.progress.unchanged += seen - outcome.written - skipped;
    for mut product in outcome.skipped {
        tracing::warn!(job_id = job.job_id, product = product.external_id, reason = product.reason, "product skipped");
        if job.skipped.len() < MAX_SKIPPED_LISTED {
            product.external_id = product.external_id.chars().take(MAX_SKIPPED_CHARS).collect();
            product.reason = product.reason.chars().take(MAX_SKIPPED_CHARS).collect();
            job.skipped.push(product);
        }
    }
    job.progress.pages += 1;
    job.cursor = page.next;
    Ok(())
}

/// Ends a job: records the outcome on the job and the store in one transaction, so nobody ever sees a
/// finished job next to a store that does not show its result.
async fn finish(app: &App, job: &mut SyncJob, error: Option<String>) -> Result<RunOutcome, Error> {
    let now = app.clock.now();
    job.state = if error.is_some() { JobState::Failed } else { JobState::Succeeded };
    job.error = error.clone();
    job.finished_at = Some(now);
    job.lease_until = None;
    job.updated_at = now;
    for _ in 0..8 {
        let mut store = stores::get(app, &job.merchant_id, &job.store_id).await?;
        record_outcome(&mut store, job, error.as_deref(), now);
        store.updated_at = now;
        let job_write =
            WriteOp::Put { item: job.to_item(job.version + 1)?, condition: Condition::VersionIs(job.version) };
        match app.table.transact(vec![job_write, store.update_op()?]).await {
            Ok(()) => {
                job.version += 1;
                tracing::info!(job_id = job.job_id, state = ?job.state, progress = ?job.progress, "sync finished");
                return Ok(RunOutcome::Done);
            }
            // Someone else changed the job (a newer run took it over): theirs is the outcome to keep.
            Err(StoreError::TransactionCancelled { index: Some(0) }) => return Ok(RunOutcome::Done),
            // The store changed under us (an edit, a disconnect): read it again and retry.
            Err(StoreError::TransactionCancelled { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Conflict("the store kept changing while the sync finished; the job will be retried".into()))
}

/// What a finished job changes on its store: only the store's latest job speaks for it, and a disconnected
/// store stays disconnected.
fn record_outcome(store: &mut Store, job: &SyncJob, error: Option<&str>, now: OffsetDateTime) {
    store.rate_limited_until = job.not_before.max(store.rate_limited_until);
    if store.last_job_id.as_deref() != Some(&job.job_id) || !store.connection_status.is_active() {
        return;
    }
    match error {
        None => {
            store.connection_status = ConnectionStatus::Connected;
            store.last_sync_at = Some(now);
            store.product_count = job.progress.products_seen;
            store.last_error = None;
        }
        Some(reason) => {
            store.connection_status = ConnectionStatus::Error;
            store.last_error = Some(reason.to_owned());
        }
    }
}

/// The removal phase, from its checkpoint: marks removed every product of the store that no page of this
/// job stamped, a page of the store's index per step, each step's cursor and count saved with the job's
/// version (a step redone after a lost checkpoint counts the products its lost run removed, once).
/// Every run does at least one step; it stops starting steps when little time is left.
async fn remove_unseen(app: &App, job: &mut SyncJob, deadline: Instant) -> Result<RunOutcome, Error> {
    let job_id = job.job_id.clone();
    let started = job.created_at;
    let unseen =
        |product: &Product| product.seen_by_job.as_deref() != Some(job_id.as_str()) && product.synced_at < started;
    loop {
        let (removed, next) =
            products::remove_page(app, &job.merchant_id, &job.store_id, &job_id, job.removal_cursor.take(), unseen)
                .await?;
        job.progress.removed += removed;
        let done = next.is_none();
        job.removal_cursor = next;
        job.lease_until = Some(app.clock.now() + LEASE);
        if !job.save(app).await? {
            return Ok(RunOutcome::Done);
        }
        if done {
            return finish(app, job, None).await;
        }
        if deadline.saturating_duration_since(Instant::now()) < SAFETY_MARGIN {
            job.lease_until = None;
            job.save(app).await?;
            return Ok(RunOutcome::Continue { delay: Duration::ZERO });
        }
    }
}
