//! Finishing a job: the removal phase (a walk over the store's index from a checkpointed cursor, marking
//! removed what no page of the job stamped), and the outcome recorded on the job and its store together.

use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::{Leased, RunOutcome, SAFETY_MARGIN, SyncJob};
use crate::catalog::products::{self, Product};
use crate::kernel::error::Error;
use crate::ports::HasClock;
use crate::ports::HasQueue;
use crate::ports::HasTable;
use crate::ports::StoreError;
use crate::record::Record;
use crate::stores::{self, ConnectionStatus, Store};

/// Ends a job: records the outcome on the job and the store in one transaction, so nobody ever sees a
/// finished job next to a store that does not show its result.
pub(super) async fn finish(
    app: &(impl HasTable + HasClock),
    job: &mut SyncJob,
    error: Option<String>,
) -> Result<RunOutcome, Error> {
    let now = app.clock().now();
    job.end(error.is_some());
    job.error = error.clone();
    job.finished_at = Some(now);
    job.updated_at = now;
    for _ in 0..8 {
        let mut store = stores::get(app, &job.merchant_id, &job.store_id).await?;
        record_outcome(&mut store, job, error.as_deref(), now);
        store.updated_at = now;
        match app.table().transact(vec![job.save_op()?, store.save_op()?]).await {
            Ok(()) => {
                job.saved();
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
pub(super) async fn remove_unseen(
    app: &(impl HasTable + HasClock + HasQueue),
    job: &mut SyncJob,
    deadline: Instant,
) -> Result<RunOutcome, Error> {
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
        job.renew_lease(app.clock().now());
        if !job.checkpoint(app).await? {
            return Ok(RunOutcome::Done);
        }
        if done {
            return finish(app, job, None).await;
        }
        if deadline.saturating_duration_since(Instant::now()) < SAFETY_MARGIN {
            job.release_lease();
            job.checkpoint(app).await?;
            return Ok(RunOutcome::Continue { delay: Duration::ZERO });
        }
    }
}
