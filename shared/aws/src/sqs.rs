//! [`SqsQueue`]: the [`Queue`] port on SQS. A [`QueueRef`] is the queue URL.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};

use super::sdk_error::{OperationError, code, describe, is_transient};
use pivota::ports::{Queue, QueueError, QueueRef, ReceivedMessage};

/// Codes SQS answers with for a missing queue: the JSON protocol's and the legacy query protocol's.
const NO_SUCH_QUEUE_CODES: &[&str] = &["QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"];

#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: Client,
}

impl SqsQueue {
    pub fn new(client: Client) -> Self {
        Self { client: super::call_log::sqs(client) }
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, queue: &QueueRef, body: &str, delay: Duration) -> Result<String, QueueError> {
        let output = self
            .client
            .send_message()
            .queue_url(&queue.0)
            .message_body(body)
            .delay_seconds(seconds(delay))
            .send()
            .await
            .map_err(|err| queue_error("SendMessage", queue, &err))?;
        output.message_id.ok_or_else(|| QueueError::Other("SendMessage returned no message id".into()))
    }

    async fn send_in_group(
        &self,
        queue: &QueueRef,
        body: &str,
        group: &str,
        dedup_id: &str,
    ) -> Result<String, QueueError> {
        let output = self
            .client
            .send_message()
            .queue_url(&queue.0)
            .message_body(body)
            .message_group_id(group)
            .message_deduplication_id(dedup_id)
            .send()
            .await
            .map_err(|err| queue_error("SendMessage", queue, &err))?;
        output.message_id.ok_or_else(|| QueueError::Other("SendMessage returned no message id".into()))
    }

    async fn receive(
        &self,
        queue: &QueueRef,
        max: u32,
        visibility_timeout: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        QueueError::check_visibility(visibility_timeout)?;
        let output = self
            .client
            .receive_message()
            .queue_url(&queue.0)
            .max_number_of_messages(max as i32)
            .visibility_timeout(seconds(visibility_timeout))
            // Short polling: callers (Lambda's event source mapping, the local runner) own the waiting.
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|err| queue_error("ReceiveMessage", queue, &err))?;
        output.messages.unwrap_or_default().into_iter().map(received).collect()
    }

    async fn delete(&self, queue: &QueueRef, receipt_handle: &str) -> Result<(), QueueError> {
        match self.client.delete_message().queue_url(&queue.0).receipt_handle(receipt_handle).send().await {
            Ok(_) => Ok(()),
            // DeleteMessage takes only the queue and the handle, so an invalid parameter is the handle.
            Err(err) if matches!(code(&err), Some("ReceiptHandleIsInvalid" | "InvalidParameterValue")) => {
                Err(QueueError::InvalidReceipt)
            }
            Err(err) => Err(queue_error("DeleteMessage", queue, &err)),
        }
    }

    async fn change_visibility(
        &self,
        queue: &QueueRef,
        receipt_handle: &str,
        visible_after: Duration,
    ) -> Result<(), QueueError> {
        QueueError::check_visibility(visible_after)?;
        let result = self
            .client
            .change_message_visibility()
            .queue_url(&queue.0)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds(visible_after))
            .send()
            .await;
        let Err(err) = result else { return Ok(()) };
        let service = err.as_service_error();
        let invalid_parameter = |name: &str| {
            code(&err).is_some_and(|code| code.ends_with("InvalidParameterValue"))
                && service.and_then(|e| e.meta().message()).is_some_and(|message| message.contains(name))
        };
        // SQS refuses the handle of a deleted or expired message either with its own codes or with "Value …
        // for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for
        // visibility timeout change."
        if service.is_some_and(|e| e.is_receipt_handle_is_invalid() || e.is_message_not_inflight())
            || invalid_parameter("ReceiptHandle")
        {
            Err(QueueError::InvalidReceipt)
        } else if invalid_parameter("VisibilityTimeout") {
            // Within 12 hours for this call, but past SQS's 12 hours in total for the message.
            Err(QueueError::VisibilityTimeoutTooLong(visible_after))
        } else {
            Err(queue_error("ChangeMessageVisibility", queue, &err))
        }
    }
}

fn received(message: Message) -> Result<ReceivedMessage, QueueError> {
    let receive_count = message
        .attributes
        .as_ref()
        .and_then(|attributes| attributes.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|count| count.parse().ok())
        .ok_or_else(|| QueueError::Other("ReceiveMessage returned no ApproximateReceiveCount".into()))?;
    let missing = |field: &str| QueueError::Other(format!("ReceiveMessage returned a message without {field}"));
    Ok(ReceivedMessage {
        message_id: message.message_id.ok_or_else(|| missing("an id"))?,
        receipt_handle: message.receipt_handle.ok_or_else(|| missing("a receipt handle"))?,
        body: message.body.unwrap_or_default(),
        receive_count,
    })
}

/// SQS takes whole seconds; round up so a sub-second delay or timeout is not silently dropped.
fn seconds(duration: Duration) -> i32 {
    let whole = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    i32::try_from(whole).unwrap_or(i32::MAX)
}

fn queue_error<E: OperationError>(
    operation: &str,
    queue: &QueueRef,
    err: &aws_sdk_sqs::error::SdkError<E, aws_sdk_sqs::config::http::HttpResponse>,
) -> QueueError {
    if code(err).is_some_and(|code| NO_SUCH_QUEUE_CODES.contains(&code)) {
        QueueError::NoSuchQueue(queue.0.clone())
    } else if is_transient(err) {
        QueueError::Transient(describe(operation, err))
    } else {
        QueueError::Other(describe(operation, err))
    }
}
