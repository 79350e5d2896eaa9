//! Long work on a store, run as jobs from the sync queue by the `sync-worker` (`crate::lifecycle`):
//! removing a disconnected or uninstalled store's products, and redacting orders (Shopify's
//! `customers/redact` and `shop/redact`). This module holds the task record and its queueing; the run is
//! `crate::lifecycle::store_tasks`, above the catalog and orders whose data it changes.
//!
//! | item       | pk              | sk                     | TTL     |
//! |------------|-----------------|------------------------|---------|
//! | store task | `MERCHANT#<id>` | `STORETASK#<task_id>`  | 30 days |
//!
//! The request or delivery that asks for the work writes the task record (in the same transaction as the
//! change that calls for it, such as the store's new status), then queues a [`TaskMessage`] and answers at
//! once. If the queueing fails, the record stays `queued` and the caller's retry queues it again
//! ([`requeue`]); a task queued twice runs once (the lease below, then the record's state).
//!
//! A run works a page at a time from the task's checkpointed cursor, saving the cursor and the count with
//! a write conditional on the task's version after each page, and stops starting pages when less than
//! [`SAFETY_MARGIN`] is left of the invocation: the worker then continues it with a new message, as it
//! continues a sync. A page redone after a lost checkpoint counts the products its lost run removed (they
//! carry the task's mark) once; an order redacted by a lost run is not counted again (redaction leaves no
//! mark to count by: personal data is gone, and the count is only history). Memory holds one page, whatever the size of the catalog or order history.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::kernel::error::Error;
use crate::onboarding::merchant::MerchantId;
use crate::ports::HasClock;
use crate::ports::HasQueue;
use crate::ports::HasTable;
use crate::ports::{ItemKey, PageCursor};
use crate::record::{FIRST_VERSION, Record, Written};

/// How long a worker owns a job or task before another may take it over ([`Leased`]).
pub(crate) const LEASE: time::Duration = time::Duration::minutes(5);
/// Stop starting pages when less than this is left of the invocation.
pub const SAFETY_MARGIN: Duration = Duration::from_secs(10);
/// A task record is kept this long after it was created (a finished task is only history).
const RETENTION: time::Duration = time::Duration::days(30);

/// Long work that one worker runs at a time, taken over by another when its lease runs out: a sync job
/// or a store task. Its state and lease are the record's own fields (written with each checkpoint); these
/// are the one set of rules for them.
pub trait Leased {
    /// The record's state and lease fields.
    fn lease_fields(&mut self) -> (&mut JobState, &mut Option<OffsetDateTime>);

    /// Takes the lease for [`LEASE`] from `now`, unless another worker holds it (the work is running and its
    /// lease has not run out): `false` then.
    fn take_lease(&mut self, now: OffsetDateTime) -> bool {
        let (state, until) = self.lease_fields();
        if *state == JobState::Running && until.is_some_and(|lease| lease > now) {
            return false;
        }
        *state = JobState::Running;
        *until = Some(now + LEASE);
        true
    }

    /// Extends the lease held, before a checkpoint.
    fn renew_lease(&mut self, now: OffsetDateTime) {
        *self.lease_fields().1 = Some(now + LEASE);
    }

    /// Lets the lease go (before the checkpoint of a run that stops early), so the next message runs the work
    /// at once.
    fn release_lease(&mut self) {
        *self.lease_fields().1 = None;
    }

    /// Ends the work, failed or succeeded, and lets the lease go.
    fn end(&mut self, failed: bool) {
        let (state, until) = self.lease_fields();
        *state = if failed { JobState::Failed } else { JobState::Succeeded };
        *until = None;
    }
}

/// Where a sync job or a store task is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
}

/// What a task does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaskKind {
    /// Marks every product of the store removed: the store was disconnected, or uninstalled Pivota's app.
    RemoveProducts,
    /// Removes one customer's personal data from the store's orders, found through the customer index
    /// (`orders::customer_index_keys`): one partition per identifier the request named.
    RedactCustomer { customer_keys: Vec<String> },
    /// Removes the personal data of every order of the store (Shopify's `shop/redact`).
    RedactShop,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreTask {
    pub task_id: String,
    pub merchant_id: MerchantId,
    pub store_id: String,
    #[serde(flatten)]
    pub kind: TaskKind,
    pub state: JobState,
    /// Where the next page starts; `None` before the first page of the current partition.
    #[serde(default)]
    pub cursor: Option<PageCursor>,
    /// `RedactCustomer`: which of its partitions is being walked.
    #[serde(default)]
    pub partition: usize,
    /// Products removed, or orders redacted.
    #[serde(default)]
    pub affected: u64,
    #[serde(default)]
    pub error: Option<String>,
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

/// The queue message that runs (or continues) a task. Its `task_id` tells it from a sync message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskMessage {
    pub merchant_id: String,
    pub store_id: String,
    pub task_id: String,
}

fn task_key(merchant_id: &MerchantId, task_id: &str) -> ItemKey {
    ItemKey::new(format!("MERCHANT#{merchant_id}"), format!("STORETASK#{task_id}"))
}

impl Record for StoreTask {
    fn key(&self) -> ItemKey {
        task_key(&self.merchant_id, &self.task_id)
    }

    /// A task is only history once done: kept for [`RETENTION`] after it was created.
    fn expires_at(&self) -> Option<i64> {
        Some((self.created_at + RETENTION).unix_timestamp())
    }

    crate::record::version_field!();
}

impl Leased for StoreTask {
    fn lease_fields(&mut self) -> (&mut JobState, &mut Option<OffsetDateTime>) {
        (&mut self.state, &mut self.lease_until)
    }
}

impl StoreTask {
    /// A new task, not yet stored: write [`StoreTask::create_op`] (with whatever calls for the task), then
    /// [`enqueue`] it.
    pub fn new(app: &impl HasClock, merchant_id: &MerchantId, store_id: &str, kind: TaskKind) -> Self {
        let now = app.clock().now();
        Self {
            task_id: format!("tsk_{}", ulid::Ulid::new()),
            merchant_id: merchant_id.clone(),
            store_id: store_id.to_owned(),
            kind,
            state: JobState::Queued,
            cursor: None,
            partition: 0,
            affected: 0,
            error: None,
            lease_until: None,
            created_at: now,
            updated_at: now,
            finished_at: None,
            version: FIRST_VERSION,
        }
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.state, JobState::Succeeded | JobState::Failed)
    }

    /// Saves the task, stamped with the time, if nobody else changed it since it was read. `false` when
    /// someone did.
    pub(crate) async fn checkpoint(&mut self, app: &(impl HasTable + HasClock)) -> Result<bool, Error> {
        self.updated_at = app.clock().now();
        Ok(self.save(app.table()).await? == Written::Done)
    }

    fn message(&self) -> TaskMessage {
        TaskMessage {
            merchant_id: self.merchant_id.to_string(),
            store_id: self.store_id.clone(),
            task_id: self.task_id.clone(),
        }
    }
}

pub async fn get(app: &impl HasTable, merchant_id: &MerchantId, task_id: &str) -> Result<Option<StoreTask>, Error> {
    app.table().get(&task_key(merchant_id, task_id)).await?.as_ref().map(StoreTask::from_item).transpose()
}

/// Writes a task on its own, then queues it.
pub async fn start(app: &(impl HasTable + HasQueue), task: &StoreTask) -> Result<(), Error> {
    app.table().transact(vec![task.create_op()?]).await?;
    enqueue(app, task).await
}

/// Queues a stored task's message. On failure the record stays `queued`; the caller answers with the error,
/// and its retry queues the task again ([`requeue`]).
pub async fn enqueue(app: &impl HasQueue, task: &StoreTask) -> Result<(), Error> {
    let body = serde_json::to_string(&task.message()).map_err(|e| Error::Internal(e.to_string()))?;
    app.queue().send(app.sync_queue(), &body, Duration::ZERO).await?;
    tracing::info!(merchant_id = %task.merchant_id, store_id = task.store_id, task_id = task.task_id, kind = ?task.kind, "store task queued");
    Ok(())
}

/// Queues a task again unless it finished: the retry of a request whose first attempt stored the task but
/// may have failed to queue it. A second message for a task that is running or done changes nothing.
pub async fn requeue(app: &(impl HasTable + HasQueue), merchant_id: &MerchantId, task_id: &str) -> Result<(), Error> {
    match get(app, merchant_id, task_id).await? {
        Some(task) if !task.is_finished() => enqueue(app, &task).await,
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Work {
        state: JobState,
        lease_until: Option<OffsetDateTime>,
    }

    impl Leased for Work {
        fn lease_fields(&mut self) -> (&mut JobState, &mut Option<OffsetDateTime>) {
            (&mut self.state, &mut self.lease_until)
        }
    }

    #[test]
    fn one_worker_holds_the_lease_until_it_runs_out_or_is_let_go() {
        let now = time::macros::datetime!(2026-11-30 12:00 UTC);
        let mut work = Work { state: JobState::Queued, lease_until: None };
        assert!(work.take_lease(now));
        assert_eq!((work.state, work.lease_until), (JobState::Running, Some(now + LEASE)));
        assert!(!work.take_lease(now + LEASE - time::Duration::SECOND), "held by the first worker");
        work.renew_lease(now + time::Duration::MINUTE);
        assert!(!work.take_lease(now + LEASE), "renewed");
        assert!(work.take_lease(now + time::Duration::MINUTE + LEASE), "ran out: taken over");
        work.release_lease();
        assert!(work.take_lease(now), "let go: taken at once");
        work.end(true);
        assert_eq!((work.state, work.lease_until), (JobState::Failed, None));
        work.end(false);
        assert_eq!(work.state, JobState::Succeeded);
    }
}
