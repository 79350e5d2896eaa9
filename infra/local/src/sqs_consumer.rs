//! Plays Lambda's SQS event source for the queue-fed functions (`sync-worker`, `payment-worker`,
//! `search-indexer`):
//! receives from the embedded queue with a visibility timeout, invokes the handler with an SQS event (batch size 1, as `template.yaml` sets it, and
//! up to [`CONCURRENCY`] invocations at once), deletes what succeeded, and leaves the reported failures to
//! come back after the visibility timeout; the queue dead-letters them after its max receive count.
//!
//! Like the event source mapping, it never touches a message's visibility itself: a handler may change it
//! with [`Queue::change_visibility`] and the record's `receipt_handle` (the app's queue is this same
//! embedded queue), and a failure it reports then comes back when the handler asked.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::BoxFuture;
use pivota::app::App;
use pivota::ports::{Queue, QueueRef};
use pivota_embedded::EmbeddedQueue;
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
    Box::pin(pivota::lifecycle::sync_worker::handle(app, event, deadline))
}

pub fn payment_worker(app: &App, event: SqsEvent, deadline: Instant) -> BoxFuture<'_, SqsBatchResponse> {
    Box::pin(pivota::orders::payment_worker::handle(app, event, deadline))
}

pub fn search_indexer(app: &App, event: SqsEvent, _deadline: Instant) -> BoxFuture<'_, SqsBatchResponse> {
    Box::pin(pivota::catalog::search::indexer::handle(app, event))
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use pivota::settings::Settings;
    use pivota_embedded::{EmbeddedBackend, QueueConfig};

    use super::*;

    static INVOCATIONS: AtomicU32 = AtomicU32::new(0);

    /// Fails the first delivery and asks for the message back in a second, as the payment worker does
    /// after a transient PSP failure; succeeds on the next.
    fn retry_in_a_second(app: &App, event: SqsEvent, _deadline: Instant) -> BoxFuture<'_, SqsBatchResponse> {
        Box::pin(async move {
            INVOCATIONS.fetch_add(1, Ordering::SeqCst);
            let mut response = SqsBatchResponse::default();
            for record in event.records {
                if record.attributes.get("ApproximateReceiveCount").map(String::as_str) == Some("1") {
                    let handle = record.receipt_handle.as_deref().expect("a receipt handle");
                    let queue = &app.settings.payment_queue;
                    app.queue.change_visibility(queue, handle, Duration::from_secs(1)).await.expect("change");
                    response.add_failure(record.message_id.unwrap_or_default());
                }
            }
            response
        })
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_failure_comes_back_when_the_handler_changed_its_visibility_to() {
        // GIVEN the consumer running over a queue holding one message, with a handler that fails it
        // once and shortens its visibility from 150 s to 1 s
        let dir = tempfile::tempdir().expect("temp dir");
        let backend = EmbeddedBackend::open(dir.path()).expect("open embedded backend");
        let settings = Settings::default();
        let queue_ref = settings.payment_queue.clone();
        let queue = backend.queue();
        queue.declare(&queue_ref.0, QueueConfig { max_receive_count: 0, dead_letter: None }).await.expect("declare");
        queue.send(&queue_ref, "pay", Duration::ZERO).await.expect("send");
        let ports = backend.ports();
        let app = Arc::new(App::new(ports, settings));
        let (stop, signal) = watch::channel(false);
        let started = Instant::now();
        let consumer = tokio::spawn(run(app, Arc::clone(&queue), queue_ref.clone(), retry_in_a_second, signal));

        // WHEN the consumer runs for a few seconds
        let mut depth = queue.depth(&queue_ref).await.expect("depth");
        while depth != Default::default() && started.elapsed() < Duration::from_secs(6) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            depth = queue.depth(&queue_ref).await.expect("depth");
        }

        // THEN the message came back after about a second, not 150, and its second run deleted it
        assert_eq!(depth, Default::default(), "the message is still queued");
        assert_eq!(INVOCATIONS.load(Ordering::SeqCst), 2);
        assert!(started.elapsed() >= Duration::from_secs(1), "redelivered after {:?}", started.elapsed());
        stop.send(true).expect("stop");
        consumer.await.expect("consumer");
    }
}
