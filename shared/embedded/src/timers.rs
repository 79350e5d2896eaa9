//! [`Workflow`] as durable timers: the KYC wait is a row that comes due after `wait_seconds`, and the
//! local runner plays Step Functions by claiming due timers, running `kyc-approve`, and completing or
//! retrying them.
//!
//! A timer's states: `waiting` (until due) → `running` (claimed under a lease) → `completed`, or back to
//! `waiting` with a backoff, or `failed` after the last attempt. A lease that runs out (the runner died
//! mid-task) makes the timer claimable again, so `kyc-approve` runs at least once, as a Step Functions
//! task retry would.

use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use super::SharedClock;
use super::db::{Db, duration_ms, epoch_ms};
use pivota::ports::{KycWaitInput, WaitStatus, Workflow, WorkflowError};

use crate::db::SqlResult as _;

#[derive(Debug)]
pub struct EmbeddedWorkflow {
    db: Db,
    clock: SharedClock,
}

impl EmbeddedWorkflow {
    pub(crate) fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }

    /// Claims every timer due at `now` (and every running one whose lease has run out) for `lease`.
    /// One statement does the claim, so two claimers never get the same timer.
    pub async fn claim_due(&self, now: OffsetDateTime, lease: Duration) -> Result<Vec<KycWaitInput>, WorkflowError> {
        let now = epoch_ms(now);
        let lease_until = now + duration_ms(lease);
        self.db
            .run(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "UPDATE kyc_timers
                     SET state = 'running', lease_until_ms = ?2, attempts = attempts + 1
                     WHERE (state = 'waiting' AND due_ms <= ?1) OR (state = 'running' AND lease_until_ms <= ?1)
                     RETURNING merchant_id, wait_seconds",
                    )
                    .sql()?;
                let claimed = statement
                    .query_map(params![now, lease_until], |r| {
                        Ok(KycWaitInput { merchant_id: r.get(0)?, wait_seconds: r.get::<_, i64>(1)? as u64 })
                    })
                    .sql()?;
                claimed.collect::<Result<Vec<_>, _>>().sql()
            })
            .await
    }

    /// Marks the merchant's timer done after `kyc-approve` succeeded.
    pub async fn complete(&self, merchant_id: &str) -> Result<(), WorkflowError> {
        let merchant_id = merchant_id.to_owned();
        self.db
            .run(move |conn| {
                let updated = conn
                    .execute(
                        "UPDATE kyc_timers SET state = 'completed', lease_until_ms = NULL, last_error = NULL
                     WHERE merchant_id = ?1",
                        [&merchant_id],
                    )
                    .sql()?;
                if updated == 0 {
                    return Err(WorkflowError::Other(format!("no KYC wait for merchant {merchant_id}")));
                }
                Ok(())
            })
            .await
    }

    /// Records a failed `kyc-approve` attempt. Until `max_attempts` attempts have been made, the timer
    /// comes due again after `backoff` doubled per attempt so far (Step Functions' default BackoffRate
    /// of 2); then it is `Failed`. Returns the resulting status.
    pub async fn retry_or_fail(
        &self,
        merchant_id: &str,
        error: &str,
        max_attempts: u32,
        backoff: Duration,
    ) -> Result<WaitStatus, WorkflowError> {
        let (merchant_id, error) = (merchant_id.to_owned(), error.to_owned());
        let now = epoch_ms(self.clock.now());
        self.db
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).sql()?;
                let attempts: u32 = tx
                    .query_row("SELECT attempts FROM kyc_timers WHERE merchant_id = ?1", [&merchant_id], |r| r.get(0))
                    .optional()
                    .sql()?
                    .ok_or_else(|| WorkflowError::Other(format!("no KYC wait for merchant {merchant_id}")))?;
                let status = if attempts >= max_attempts {
                    tx.execute(
                        "UPDATE kyc_timers SET state = 'failed', lease_until_ms = NULL, last_error = ?2
                         WHERE merchant_id = ?1",
                        params![merchant_id, error],
                    )
                    .sql()?;
                    tracing::warn!(merchant_id, attempts, error, "KYC wait failed after its last attempt");
                    WaitStatus::Failed
                } else {
                    let factor = 2u32.saturating_pow(attempts.saturating_sub(1));
                    let due = now + duration_ms(backoff.saturating_mul(factor));
                    tx.execute(
                        "UPDATE kyc_timers SET state = 'waiting', due_ms = ?2, lease_until_ms = NULL, last_error = ?3
                         WHERE merchant_id = ?1",
                        params![merchant_id, due, error],
                    )
                    .sql()?;
                    WaitStatus::Waiting
                };
                tx.commit().sql()?;
                Ok(status)
            })
            .await
    }
}

#[async_trait]
impl Workflow for EmbeddedWorkflow {
    async fn start_kyc_wait(&self, input: &KycWaitInput) -> Result<(), WorkflowError> {
        let wait_seconds = i64::try_from(input.wait_seconds)
            .map_err(|_| WorkflowError::Other(format!("wait of {} s is out of range", input.wait_seconds)))?;
        let due = epoch_ms(self.clock.now()).saturating_add(wait_seconds.saturating_mul(1000));
        let merchant_id = input.merchant_id.clone();
        self.db
            .run(move |conn| {
                // Like a Step Functions execution name, the merchant id makes a second start a no-op.
                conn.execute(
                    "INSERT INTO kyc_timers (merchant_id, wait_seconds, state, due_ms)
                     VALUES (?1, ?2, 'waiting', ?3) ON CONFLICT (merchant_id) DO NOTHING",
                    params![merchant_id, wait_seconds, due],
                )
                .sql()?;
                Ok(())
            })
            .await
    }

    async fn kyc_wait_status(&self, merchant_id: &str) -> Result<Option<WaitStatus>, WorkflowError> {
        let merchant_id = merchant_id.to_owned();
        let state: Option<String> = self
            .db
            .run(move |conn| {
                conn.query_row("SELECT state FROM kyc_timers WHERE merchant_id = ?1", [&merchant_id], |r| r.get(0))
                    .optional()
            })
            .await
            .sql()?;
        state
            .map(|state| match state.as_str() {
                "waiting" | "running" => Ok(WaitStatus::Waiting),
                "completed" => Ok(WaitStatus::Completed),
                "failed" => Ok(WaitStatus::Failed),
                other => Err(WorkflowError::Other(format!("unknown KYC timer state {other:?}"))),
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use pivota::ports::SystemClock;

    fn workflow() -> (EmbeddedWorkflow, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("pivota.sqlite3")).unwrap();
        (EmbeddedWorkflow::new(db, SharedClock(Arc::new(SystemClock))), dir)
    }

    fn input(merchant_id: &str) -> KycWaitInput {
        KycWaitInput { merchant_id: merchant_id.into(), wait_seconds: 0 }
    }

    #[tokio::test]
    async fn an_expired_lease_makes_the_timer_claimable_again() {
        let (workflow, _dir) = workflow();
        workflow.start_kyc_wait(&input("m1")).await.unwrap();
        let now = OffsetDateTime::now_utc();

        let first = workflow.claim_due(now, Duration::from_secs(60)).await.unwrap();
        let during_lease = workflow.claim_due(now, Duration::from_secs(60)).await.unwrap();
        let after_lease = workflow.claim_due(now + Duration::from_secs(61), Duration::from_secs(60)).await.unwrap();

        assert_eq!(first, [input("m1")]);
        assert!(during_lease.is_empty());
        assert_eq!(after_lease, [input("m1")]);
    }

    #[tokio::test]
    async fn retries_back_off_then_fail() {
        let (workflow, _dir) = workflow();
        workflow.start_kyc_wait(&input("m1")).await.unwrap();
        let now = OffsetDateTime::now_utc();

        workflow.claim_due(now, Duration::from_secs(60)).await.unwrap();
        let status = workflow.retry_or_fail("m1", "psp down", 2, Duration::from_secs(30)).await.unwrap();
        assert_eq!(status, WaitStatus::Waiting);
        assert!(workflow.claim_due(now + Duration::from_secs(5), Duration::from_secs(60)).await.unwrap().is_empty());

        let again = workflow.claim_due(now + Duration::from_secs(31), Duration::from_secs(60)).await.unwrap();
        assert_eq!(again, [input("m1")]);
        let status = workflow.retry_or_fail("m1", "psp down", 2, Duration::from_secs(30)).await.unwrap();
        assert_eq!(status, WaitStatus::Failed);
        assert_eq!(workflow.kyc_wait_status("m1").await.unwrap(), Some(WaitStatus::Failed));
        assert!(workflow.claim_due(now + Duration::from_secs(3600), Duration::from_secs(60)).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn concurrent_claimers_split_the_timers() {
        let (workflow, _dir) = workflow();
        let workflow = Arc::new(workflow);
        for n in 0..20 {
            workflow.start_kyc_wait(&input(&format!("m{n}"))).await.unwrap();
        }
        let now = OffsetDateTime::now_utc();
        let claimers = (0..4).map(|_| {
            let workflow = Arc::clone(&workflow);
            tokio::spawn(async move { workflow.claim_due(now, Duration::from_secs(60)).await.unwrap() })
        });
        let mut claimed: Vec<String> = futures::future::join_all(claimers)
            .await
            .into_iter()
            .flat_map(|c| c.unwrap())
            .map(|i| i.merchant_id)
            .collect();
        claimed.sort();
        let mut expected: Vec<String> = (0..20).map(|n| format!("m{n}")).collect();
        expected.sort();
        assert_eq!(claimed, expected);
    }
}
