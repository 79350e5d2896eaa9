//! The `sync-worker`: SQS events of the sync queue's messages, with partial batch failures
//! (`ReportBatchItemFailures`). A message runs a catalog sync (`catalog/sync/`) or a store task (`lifecycle/store_tasks.rs`:
//! removing a store's products, redacting orders); both run until done or the deadline comes near, and are
//! continued the same way.
//!
//! A message whose job finished, or that was continued by a new (possibly delayed) message, succeeds; so
//! does a duplicate of a job another worker holds (the holder's own message carries the job on, and
//! failing the duplicate would count a healthy job toward the DLQ). One that could not run (a transient
//! error, a malformed body) fails and comes back after the visibility timeout; after the queue's max
//! receive count it goes to the DLQ.

use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

use crate::catalog::sync::{self, RunOutcome, SyncMessage};
use crate::kernel::error::Error;
use crate::lifecycle::store_tasks;
use crate::ports::HasClock;
use crate::ports::HasQueue;
use crate::ports::HasSecrets;
use crate::ports::HasTable;
use crate::stores::tasks::TaskMessage;
use crate::stores::url_safety::HasStoreUrls;

/// A message of the sync queue. Untagged: a task message has a `task_id`, a sync message a `job_id`, so
/// sync messages keep the shape they had before tasks shared the queue.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum WorkerMessage {
    Task(TaskMessage),
    Sync(SyncMessage),
}

impl WorkerMessage {
    fn job_id(&self) -> &str {
        match self {
            WorkerMessage::Task(task) => &task.task_id,
            WorkerMessage::Sync(sync) => &sync.job_id,
        }
    }

    async fn run(
        &self,
        app: &(impl HasTable + HasSecrets + HasClock + HasStoreUrls + HasQueue),
        deadline: Instant,
    ) -> Result<RunOutcome, Error> {
        match self {
            WorkerMessage::Task(task) => store_tasks::run(app, task, deadline).await,
            WorkerMessage::Sync(sync) => sync::run(app, sync, deadline).await,
        }
    }
}

/// SQS's longest message delay.
const MAX_DELAY: Duration = Duration::from_secs(900);

pub async fn handle(
    app: &(impl HasTable + HasSecrets + HasQueue + HasClock + HasStoreUrls),
    event: SqsEvent,
    deadline: Instant,
) -> SqsBatchResponse {
    crate::invocation::serve_as("sync-worker", handle_batch(app, event, deadline)).await
}

async fn handle_batch(
    app: &(impl HasTable + HasSecrets + HasQueue + HasClock + HasStoreUrls),
    event: SqsEvent,
    deadline: Instant,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        let Some(message) = record.body.as_deref().and_then(|body| serde_json::from_str::<WorkerMessage>(body).ok())
        else {
            tracing::error!(message_id, "a sync queue message does not parse");
            response.add_failure(message_id);
            continue;
        };
        match message.run(app, deadline).await {
            Ok(RunOutcome::Done) => {}
            Ok(RunOutcome::Continue { delay }) => {
                let body = serde_json::to_string(&message).unwrap_or_default();
                if let Err(e) = app.queue().send(app.sync_queue(), &body, delay.min(MAX_DELAY)).await {
                    tracing::warn!(message_id, error = %e, "could not continue the job; the message will come back");
                    response.add_failure(message_id);
                }
            }
            Ok(RunOutcome::Busy) => {
                tracing::info!(
                    message_id,
                    job_id = message.job_id(),
                    "the job is held by another worker; duplicate message done"
                );
            }
            Err(e) => {
                tracing::warn!(message_id, job_id = message.job_id(), error = %e, "job run failed; the message will come back");
                response.add_failure(message_id);
            }
        }
    }
    response
}
