//! Plays Lambda's SQS event source for the queue-fed functions (`sync-worker`, `payment-worker`):
//! receives from the embedded queue with a visibility timeout, invokes the handler with an SQS event (batch size 1, as `template.yaml` sets it, and
//! up to [`CONCURRENCY`] invocations at once), deletes what succeeded, and leaves the reported failures to
//! come back after the visibility timeout; the queue dead-letters them after its max receive count.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::BoxFuture;
use pivota::app::App;
use pivota::embedded::EmbeddedQueue;
use pivota::ports::{Queue, QueueRef};
use tokio::sync::watch;
use tracing::warn;

/// Invocations at once.
pub const CONCURRENCY: u32 = 4;
/// Each invocation's deadline, like the function's timeout.
pub const INVOCATION_TIMEOUT: Duration = Duration::from_secs(120);
/// Longer than an invocation, so a message is not redelivered while its invocation still runs.
pub const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(150);
const IDLE_POLL: Duration = Duration::from_millis(200);

/// A queue-fed function's handler.
pub type Handler = for<'a> fn(&'a App, SqsEvent, Instant) -> BoxFuture<'a, SqsBatchResponse>;

pub fn sync_worker(app: &App, event: SqsEvent, deadline: Instant) -> BoxFuture<'_, SqsBatchResponse> {
    Box::pin(pivota::sync_worker::handle(app, event, deadline))
}

pub fn payment_worker(app: &App, event: SqsEvent, deadline: Instant) -> BoxFuture<'_, SqsBatchResponse> {
    Box::pin(pivota::payment_worker::handle(app, event, deadline))
}

pub async fn run(
    app: Arc<App>,
    queue: Arc<EmbeddedQueue>,
    queue_ref: QueueRef,
    handler: Handler,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY as usize));
    loop {
        let free = slots.available_permits() as u32;
        let received = if free == 0 {
            Vec::new()
        } else {
            match queue.receive(&queue_ref, free.min(10), VISIBILITY_TIMEOUT).await {
                Ok(messages) => messages,
                Err(e) => {
                    warn!(error = %e, "could not receive sync messages");
                    Vec::new()
                }
            }
        };
        let idle = received.is_empty();
        for message in received {
            let Ok(permit) = Arc::clone(&slots).acquire_owned().await else { return };
            let (app, queue, queue_ref) = (Arc::clone(&app), Arc::clone(&queue), queue_ref.clone());
            tokio::spawn(async move {
                let mut record = SqsMessage::default();
                record.message_id = Some(message.message_id.clone());
                record.receipt_handle = Some(message.receipt_handle.clone());
                record.body = Some(message.body.clone());
                record.attributes.insert("ApproximateReceiveCount".into(), message.receive_count.to_string());
                let mut event = SqsEvent::default();
                event.records.push(record);
                let response = handler(&app, event, Instant::now() + INVOCATION_TIMEOUT).await;
                let failed = response.batch_item_failures.iter().any(|f| f.item_identifier == message.message_id);
                if !failed && let Err(e) = queue.delete(&queue_ref, &message.receipt_handle).await {
                    warn!(error = %e, "could not delete a processed sync message");
                }
                drop(permit);
            });
        }
        if idle {
            tokio::select! {
                _ = tokio::time::sleep(IDLE_POLL) => {}
                _ = shutdown.changed() => return,
            }
        } else if *shutdown.borrow() {
            return;
        }
    }
}
