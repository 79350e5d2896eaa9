//! The embedded backend under the conformance suite: a fresh data directory per fixture.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pivota::ports::{Queue, QueueRef, Secrets, Table, Workflow};
use pivota_embedded::{EmbeddedBackend, QueueConfig};
use tempfile::TempDir;
use time::OffsetDateTime;
use ulid::Ulid;

use crate::fixture::Fixture;

/// How long a claimed timer stays leased to the (simulated) runner.
const LEASE: Duration = Duration::from_secs(30);

pub struct EmbeddedFixture {
    /// `None` only for the instant of a restart.
    backend: Option<EmbeddedBackend>,
    dir: TempDir,
}

impl EmbeddedFixture {
    fn backend(&self) -> &EmbeddedBackend {
        self.backend.as_ref().expect("backend is open")
    }
}

#[async_trait]
impl Fixture for EmbeddedFixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let backend = EmbeddedBackend::open(dir.path()).expect("open embedded backend");
        Self { backend: Some(backend), dir }
    }

    fn table(&self) -> Arc<dyn Table> {
        self.backend().table()
    }

    fn queue(&self) -> Arc<dyn Queue> {
        self.backend().queue()
    }

    async fn queue_with_dlq(&self, max_receive_count: u32) -> (QueueRef, QueueRef) {
        let queues = self.backend().queue();
        let no_redrive = QueueConfig { max_receive_count: 0, dead_letter: None };
        let dead_letter = queues.declare(&format!("dlq-{}", Ulid::new()), no_redrive).await.expect("declare DLQ");
        let redrive = QueueConfig { max_receive_count, dead_letter: Some(dead_letter.0.clone()) };
        let work = queues.declare(&format!("work-{}", Ulid::new()), redrive).await.expect("declare queue");
        (work, dead_letter)
    }

    fn secrets(&self) -> Arc<dyn Secrets> {
        self.backend().secrets()
    }

    fn workflow(&self) -> Arc<dyn Workflow> {
        self.backend().workflow()
    }

    async fn restart(&mut self) {
        drop(self.backend.take());
        self.backend = Some(EmbeddedBackend::open(self.dir.path()).expect("reopen embedded backend"));
    }

    /// Plays the local runner: claims due timers, "runs" kyc-approve by recording the merchant, and
    /// completes them, until the budget is spent.
    async fn fire_due_waits(&self, budget: Duration) -> Vec<String> {
        let workflow = self.backend().workflow();
        let deadline = Instant::now() + budget;
        let mut fired = Vec::new();
        loop {
            for input in workflow.claim_due(OffsetDateTime::now_utc(), LEASE).await.expect("claim_due") {
                fired.push(input.merchant_id.clone());
                workflow.complete(&input.merchant_id).await.expect("complete");
            }
            if Instant::now() >= deadline {
                return fired;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

conformance_cases!(EmbeddedFixture);
