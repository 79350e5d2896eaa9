//! Running a job: its lease taken, the platform's rate limit honoured, then the page phase, a page at a
//! time from the job's checkpointed cursor, each page's products written and stamped and the cursor
//! checkpointed, until the last page hands the job to its removal phase (`finishing.rs`) or time runs low.

use std::time::{Duration, Instant};

use super::finishing::{finish, remove_unseen};
use super::{Leased, RunOutcome, SAFETY_MARGIN, SyncJob, SyncMessage, SyncPhase, get_job};
use crate::catalog::products::{self, Product, product_key};
use crate::kernel::error::Error;
use crate::onboarding::merchant::MerchantId;
use crate::ports::HasClock;
use crate::ports::HasQueue;
use crate::ports::HasSecrets;
use crate::ports::HasTable;
use crate::ports::ItemKey;
use crate::record::Record;
use crate::stores::platforms::{self, PlatformError, ProductPage};
use crate::stores::url_safety::HasStoreUrls;
use crate::stores::{self, Store};

const MAX_CONSECUTIVE_FAILURES: u32 = 5;
/// Skipped products listed on a job (all are counted), and the length a reason is cut to: the job stays a
/// small item however much is skipped.
const MAX_SKIPPED_LISTED: usize = 50;
const MAX_SKIPPED_CHARS: usize = 300;

/// Runs a job until it finishes or `deadline` (minus a safety margin) comes near.
pub async fn run(
    app: &(impl HasTable + HasSecrets + HasClock + HasStoreUrls + HasQueue),
    message: &SyncMessage,
    deadline: Instant,
) -> Result<RunOutcome, Error> {
    let merchant_id = MerchantId::parse(&message.merchant_id)
        .ok_or_else(|| Error::bad_parameter("merchant_id", "is not a merchant id"))?;
    let Some(mut job) = get_job(app, &merchant_id, &message.job_id).await? else { return Ok(RunOutcome::Done) };
    if job.is_finished() {
        return Ok(RunOutcome::Done);
    }
    if !job.take_lease(app.clock().now()) || !job.checkpoint(app).await? {
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
    if let Some(wait) = not_before.map(|at| at - app.clock().now()).filter(|w| w.is_positive()) {
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
        job.not_before = (!wait.is_zero()).then(|| app.clock().now() + wait);
        job.renew_lease(app.clock().now());
        if last {
            job.phase = SyncPhase::Removal;
        }
        if !job.checkpoint(app).await? {
            // Another worker took the job over (our lease ran out): it carries on from its checkpoint.
            return Ok(RunOutcome::Done);
        }
        if last {
            return remove_unseen(app, &mut job, deadline).await;
        }
        // Every run does at least one page; it stops starting pages when little time is left.
        if deadline.saturating_duration_since(Instant::now()) < SAFETY_MARGIN {
            job.release_lease();
            job.checkpoint(app).await?;
            return Ok(RunOutcome::Continue { delay: wait });
        }
        let wait = wait.saturating_sub(answered.elapsed());
        if !wait.is_zero() && !pause(app, &mut job, wait, deadline).await? {
            return Ok(RunOutcome::Continue { delay: wait });
        }
    }
}

/// Waits `wait` if the invocation has time for it; otherwise checkpoints (releasing the lease) and says so.
async fn pause(
    app: &(impl HasTable + HasClock),
    job: &mut SyncJob,
    wait: Duration,
    deadline: Instant,
) -> Result<bool, Error> {
    if deadline.saturating_duration_since(Instant::now()) > wait + SAFETY_MARGIN {
        tokio::time::sleep(wait).await;
        return Ok(true);
    }
    job.release_lease();
    job.checkpoint(app).await?;
    Ok(false)
}

/// Writes one page: the changed products, and every product's stamp for the removal phase.
async fn apply_page(
    app: &(impl HasTable + HasClock + HasQueue),
    store: &Store,
    job: &mut SyncJob,
    page: ProductPage,
) -> Result<(), Error> {
    let merchant_id = &job.merchant_id;
    let keys: Vec<ItemKey> = page
        .products
        .iter()
        .map(|p| product_key(merchant_id, &products::product_id(&store.store_id, &p.external_id)))
        .collect();
    let existing: std::collections::HashMap<String, Product> = app
        .table()
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
