//! Running a store task: a page at a time from its checkpoint, under a lease, until it is done or the
//! invocation's time runs low (the task record and its queueing are `crate::stores::tasks`, whose module
//! doc tells the whole protocol).

use std::time::{Duration, Instant};

use crate::catalog::products;
use crate::catalog::sync::RunOutcome;
use crate::kernel::error::Error;
use crate::onboarding::merchant::MerchantId;
use crate::orders::redaction;
use crate::ports::HasClock;
use crate::ports::HasQueue;
use crate::ports::HasTable;
use crate::ports::PageCursor;
use crate::stores;
use crate::stores::tasks::{Leased, SAFETY_MARGIN, StoreTask, TaskKind, TaskMessage, get};

/// Runs a task until it finishes or `deadline` (minus [`SAFETY_MARGIN`]) comes near.
pub async fn run(
    app: &(impl HasTable + HasClock + HasQueue),
    message: &TaskMessage,
    deadline: Instant,
) -> Result<RunOutcome, Error> {
    let merchant_id = MerchantId::parse(&message.merchant_id)
        .ok_or_else(|| Error::bad_parameter("merchant_id", "is not a merchant id"))?;
    let Some(mut task) = get(app, &merchant_id, &message.task_id).await? else { return Ok(RunOutcome::Done) };
    if task.is_finished() {
        return Ok(RunOutcome::Done);
    }
    if !task.take_lease(app.clock().now()) || !task.checkpoint(app).await? {
        return Ok(RunOutcome::Busy);
    }
    if task.kind == TaskKind::RemoveProducts {
        let store = stores::get(app, &merchant_id, &task.store_id).await?;
        // A store is never connected again under its id; this guards the catalog all the same.
        if store.connection_status.is_active() {
            return finish(app, &mut task, Some("the store is connected".into())).await;
        }
    }
    loop {
        let (affected, next) = step(app, &task).await?;
        task.affected += affected;
        task.cursor = next;
        let done = match &task.kind {
            TaskKind::RedactCustomer { customer_keys } if task.cursor.is_none() => {
                task.partition += 1;
                task.partition >= customer_keys.len()
            }
            _ => task.cursor.is_none(),
        };
        if done {
            return finish(app, &mut task, None).await;
        }
        task.renew_lease(app.clock().now());
        if !task.checkpoint(app).await? {
            // Another worker took the task over (our lease ran out): it carries on from its checkpoint.
            return Ok(RunOutcome::Done);
        }
        if deadline.saturating_duration_since(Instant::now()) < SAFETY_MARGIN {
            task.release_lease();
            task.checkpoint(app).await?;
            return Ok(RunOutcome::Continue { delay: Duration::ZERO });
        }
    }
}

/// One page of a task's work from its cursor: how many items it changed, and where the next page starts.
async fn step(
    app: &(impl HasTable + HasClock + HasQueue),
    task: &StoreTask,
) -> Result<(u64, Option<PageCursor>), Error> {
    let (merchant_id, store_id, cursor) = (&task.merchant_id, task.store_id.as_str(), task.cursor.clone());
    match &task.kind {
        TaskKind::RemoveProducts => {
            products::remove_page(app, merchant_id, store_id, &task.task_id, cursor, |_| true).await
        }
        TaskKind::RedactCustomer { customer_keys } => match customer_keys.get(task.partition) {
            Some(customer_key) => {
                redaction::redact_customer_page(app, merchant_id, store_id, customer_key, cursor).await
            }
            None => Ok((0, None)),
        },
        TaskKind::RedactShop => redaction::redact_store_page(app, merchant_id, store_id, cursor).await,
    }
}

async fn finish(
    app: &(impl HasTable + HasClock),
    task: &mut StoreTask,
    error: Option<String>,
) -> Result<RunOutcome, Error> {
    let now = app.clock().now();
    task.end(error.is_some());
    task.error = error;
    task.finished_at = Some(now);
    if task.checkpoint(app).await? {
        tracing::info!(task_id = task.task_id, state = ?task.state, kind = ?task.kind, affected = task.affected, "store task finished");
    }
    Ok(RunOutcome::Done)
}
