use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pivota::ports::{Queue, QueueRef, Secrets, Table, Workflow};

/// Fresh, isolated resources of one backend (unique table, queue and secret names per fixture, so cases
/// run in parallel).
#[async_trait]
pub trait Fixture: Send + Sync + Sized + 'static {
    async fn new() -> Self;
    fn table(&self) -> Arc<dyn Table>;
    fn queue(&self) -> Arc<dyn Queue>;
    /// A work queue whose messages move to the returned dead-letter queue after `max_receive_count`
    /// receives: (work queue, dead-letter queue).
    async fn queue_with_dlq(&self, max_receive_count: u32) -> (QueueRef, QueueRef);
    fn secrets(&self) -> Arc<dyn Secrets>;
    fn workflow(&self) -> Arc<dyn Workflow>;
    /// Simulates a process restart: drops every adapter and opens new ones over the same durable state.
    async fn restart(&mut self);
    /// Runs whatever fires due KYC waits, for at most `budget`, and returns the merchant ids whose
    /// `kyc-approve` task was invoked during this call (once per invocation, so duplicates show).
    async fn fire_due_waits(&self, budget: Duration) -> Vec<String>;
}
