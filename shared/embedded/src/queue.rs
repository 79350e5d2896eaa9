//! [`Queue`] on SQLite, with standard SQS semantics: at-least-once delivery, `DelaySeconds`, a visibility
//! timeout per receive (which the consumer can change while the message is in flight), receipt handles
//! that go stale when the message is received again, and a redrive to the dead-letter queue when a receive
//! would exceed the max receive count.

use std::time::Duration;

use async_trait::async_trait;
use rand::RngCore;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use ulid::Ulid;

use super::SharedClock;
use super::db::{Db, duration_ms, epoch_ms};
use pivota::ports::{Queue, QueueError, QueueRef, ReceivedMessage};

use crate::db::SqlResult as _;

/// SQS's limits.
const MAX_RECEIVE_BATCH: u32 = 10;
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// SQS FIFO's deduplication interval: "If a message with a particular message deduplication ID is sent
/// successfully, any messages sent with the same message deduplication ID are accepted successfully but
/// aren't delivered during the 5-minute deduplication interval."
const DEDUP_INTERVAL_MS: i64 = 5 * 60 * 1000;

/// A queue's redrive policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    /// Receives after which the next receive moves the message to `dead_letter` instead. Ignored when
    /// there is no dead-letter queue (SQS keeps redelivering then).
    pub max_receive_count: u32,
    /// The dead-letter queue's name. It must be declared first, as SQS needs the DLQ's ARN.
    pub dead_letter: Option<String>,
}

/// How many messages a queue holds, for the local runner to report (SQS's approximate counts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Receivable now.
    pub visible: u64,
    /// Received and not yet deleted, or delayed.
    pub not_visible: u64,
}

#[derive(Debug)]
pub struct EmbeddedQueue {
    db: Db,
    clock: SharedClock,
}

impl EmbeddedQueue {
    pub(crate) fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }

    /// Creates the queue, or updates its redrive policy if it exists (so declaring at every start is
    /// idempotent). Returns the queue's reference.
    pub async fn declare(&self, name: &str, config: QueueConfig) -> Result<QueueRef, QueueError> {
        if name.is_empty() {
            return Err(QueueError::Other("a queue name cannot be empty".into()));
        }
        let name = name.to_owned();
        self.db
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).sql()?;
                if let Some(dead_letter) = &config.dead_letter {
                    if dead_letter != &name {
                        redrive_policy(&tx, dead_letter)?;
                    } else {
                        return Err(QueueError::Other(format!("queue {name} cannot be its own DLQ")));
                    }
                }
                tx.execute(
                    "INSERT INTO queues (name, max_receive_count, dead_letter) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET
                         max_receive_count = excluded.max_receive_count,
                         dead_letter = excluded.dead_letter",
                    params![name, config.max_receive_count, config.dead_letter],
                )
                .sql()?;
                tx.commit().sql()?;
                Ok(QueueRef(name))
            })
            .await
    }

    /// Counts the queue's messages; the local runner uses it to watch dead-letter queues.
    pub async fn depth(&self, queue: &QueueRef) -> Result<QueueDepth, QueueError> {
        let name = queue.0.clone();
        let now = epoch_ms(self.clock.now());
        self.db
            .run(move |conn| {
                redrive_policy(conn, &name)?;
                let (visible, not_visible): (i64, i64) = conn
                    .query_row(
                        "SELECT count(*) FILTER (WHERE visible_at_ms <= ?2),
                            count(*) FILTER (WHERE visible_at_ms > ?2)
                     FROM messages WHERE queue = ?1",
                        params![name, now],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .sql()?;
                Ok(QueueDepth { visible: visible as u64, not_visible: not_visible as u64 })
            })
            .await
    }
}

#[async_trait]
impl Queue for EmbeddedQueue {
    async fn send(&self, queue: &QueueRef, body: &str, delay: Duration) -> Result<String, QueueError> {
        if delay > MAX_DELAY {
            return Err(QueueError::Other(format!("delay {delay:?} exceeds SQS's {MAX_DELAY:?}")));
        }
        let (name, body) = (queue.0.clone(), body.to_owned());
        let visible_at = epoch_ms(self.clock.now()) + duration_ms(delay);
        let id = Ulid::new().to_string();
        self.db
            .run(move |conn| {
                redrive_policy(conn, &name)?;
                conn.execute(
                    "INSERT INTO messages (id, queue, body, visible_at_ms) VALUES (?1, ?2, ?3, ?4)",
                    params![id, name, body, visible_at],
                )
                .sql()?;
                Ok(id)
            })
            .await
    }

    async fn send_in_group(
        &self,
        queue: &QueueRef,
        body: &str,
        group: &str,
        dedup_id: &str,
    ) -> Result<String, QueueError> {
        let (name, body, group, dedup_id) = (queue.0.clone(), body.to_owned(), group.to_owned(), dedup_id.to_owned());
        let now = epoch_ms(self.clock.now());
        let id = Ulid::new().to_string();
        self.db
            .run(move |conn| {
                redrive_policy(conn, &name)?;
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).sql()?;
                tx.execute("DELETE FROM message_dedup WHERE sent_ms < ?1", params![now - DEDUP_INTERVAL_MS]).sql()?;
                let earlier: Option<String> = tx
                    .query_row(
                        "SELECT message_id FROM message_dedup WHERE queue = ?1 AND dedup_id = ?2",
                        params![name, dedup_id],
                        |r| r.get(0),
                    )
                    .optional()
                    .sql()?;
                if let Some(earlier) = earlier {
                    return Ok(earlier);
                }
                tx.execute(
                    "INSERT INTO messages (id, queue, body, visible_at_ms, group_id) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, name, body, now, group],
                )
                .sql()?;
                tx.execute(
                    "INSERT INTO message_dedup (queue, dedup_id, message_id, sent_ms) VALUES (?1, ?2, ?3, ?4)",
                    params![name, dedup_id, id, now],
                )
                .sql()?;
                tx.commit().sql()?;
                Ok(id)
            })
            .await
    }

    async fn receive(
        &self,
        queue: &QueueRef,
        max: u32,
        visibility_timeout: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        if !(1..=MAX_RECEIVE_BATCH).contains(&max) {
            return Err(QueueError::Other(format!("receive takes 1 to {MAX_RECEIVE_BATCH} messages, not {max}")));
        }
        QueueError::check_visibility(visibility_timeout)?;
        let name = queue.0.clone();
        let now = epoch_ms(self.clock.now());
        let hidden_until = now + duration_ms(visibility_timeout);
        self.db
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).sql()?;
                let policy = redrive_policy(&tx, &name)?;
                let mut received = Vec::new();
                // Candidates moved to the DLQ leave this queue, so each round finds new ones.
                while received.len() < max as usize {
                    let candidates = visible_messages(&tx, &name, now, max as usize - received.len())?;
                    if candidates.is_empty() {
                        break;
                    }
                    for candidate in candidates {
                        match &policy.dead_letter {
                            Some(dlq) if candidate.receive_count >= policy.max_receive_count => {
                                dead_letter(&tx, &candidate.id, dlq, now)?
                            }
                            _ => received.push(deliver(&tx, candidate, hidden_until)?),
                        }
                    }
                }
                tx.commit().sql()?;
                Ok(received)
            })
            .await
    }

    async fn delete(&self, queue: &QueueRef, receipt_handle: &str) -> Result<(), QueueError> {
        let (name, receipt) = (queue.0.clone(), receipt_handle.to_owned());
        self.db
            .run(move |conn| {
                redrive_policy(conn, &name)?;
                let deleted = conn
                    .execute("DELETE FROM messages WHERE queue = ?1 AND receipt = ?2", params![name, receipt])
                    .sql()?;
                if deleted == 0 { Err(QueueError::InvalidReceipt) } else { Ok(()) }
            })
            .await
    }

    async fn change_visibility(
        &self,
        queue: &QueueRef,
        receipt_handle: &str,
        visible_after: Duration,
    ) -> Result<(), QueueError> {
        QueueError::check_visibility(visible_after)?;
        let (name, receipt) = (queue.0.clone(), receipt_handle.to_owned());
        let now = epoch_ms(self.clock.now());
        let visible_at = now + duration_ms(visible_after);
        self.db
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).sql()?;
                redrive_policy(&tx, &name)?;
                // Only while in flight under this handle, as SQS: a deleted message has no row, one received
                // again has a new handle, and one whose timeout ran out is already receivable by anyone
                // (`MessageNotInflight`).
                let changed = tx
                    .execute(
                        "UPDATE messages SET visible_at_ms = ?4
                     WHERE queue = ?1 AND receipt = ?2 AND visible_at_ms > ?3",
                        params![name, receipt, now, visible_at],
                    )
                    .sql()?;
                if changed == 0 {
                    return Err(QueueError::InvalidReceipt);
                }
                tx.commit().sql()?;
                Ok(())
            })
            .await
    }
}

struct RedrivePolicy {
    max_receive_count: u32,
    dead_letter: Option<String>,
}

/// The queue's redrive policy, or `NoSuchQueue`.
fn redrive_policy(conn: &Connection, name: &str) -> Result<RedrivePolicy, QueueError> {
    conn.query_row("SELECT max_receive_count, dead_letter FROM queues WHERE name = ?1", [name], |r| {
        Ok(RedrivePolicy { max_receive_count: r.get(0)?, dead_letter: r.get(1)? })
    })
    .optional()
    .sql()?
    .ok_or_else(|| QueueError::NoSuchQueue(name.to_owned()))
}

struct Candidate {
    id: String,
    body: String,
    receive_count: u32,
}

fn visible_messages(conn: &Connection, queue: &str, now: i64, limit: usize) -> Result<Vec<Candidate>, QueueError> {
    let mut statement = conn
        .prepare_cached(
            // A FIFO message is deliverable only as the first of its group: while that one is in flight
            // (or waits to be retried), the group's later messages wait behind it.
            "SELECT id, body, receive_count FROM messages AS m
         WHERE queue = ?1 AND visible_at_ms <= ?2
           AND (group_id IS NULL OR NOT EXISTS (
                SELECT 1 FROM messages AS e WHERE e.queue = m.queue AND e.group_id = m.group_id AND e.seq < m.seq))
         ORDER BY visible_at_ms, seq LIMIT ?3",
        )
        .sql()?;
    let rows = statement
        .query_map(params![queue, now, limit as i64], |r| {
            Ok(Candidate { id: r.get(0)?, body: r.get(1)?, receive_count: r.get(2)? })
        })
        .sql()?;
    rows.collect::<Result<_, _>>().sql()
}

/// Hands the message out under a fresh receipt handle, which makes every earlier handle stale.
fn deliver(conn: &Connection, candidate: Candidate, hidden_until: i64) -> Result<ReceivedMessage, QueueError> {
    let mut token = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut token);
    let receipt = format!("{}.{}", candidate.id, hex::encode(token));
    let receive_count = candidate.receive_count + 1;
    conn.execute(
        "UPDATE messages SET receipt = ?2, receive_count = ?3, visible_at_ms = ?4 WHERE id = ?1",
        params![candidate.id, receipt, receive_count, hidden_until],
    )
    .sql()?;
    Ok(ReceivedMessage { message_id: candidate.id, receipt_handle: receipt, body: candidate.body, receive_count })
}

/// Moves the message to the dead-letter queue, keeping its id and body. The DLQ counts its own
/// receives from zero, so a DLQ with its own redrive policy gets a full set of tries.
fn dead_letter(conn: &Connection, id: &str, dlq: &str, now: i64) -> Result<(), QueueError> {
    conn.execute(
        "UPDATE messages SET queue = ?2, receipt = NULL, receive_count = 0, visible_at_ms = ?3 WHERE id = ?1",
        params![id, dlq, now],
    )
    .sql()?;
    tracing::warn!(message_id = id, dead_letter_queue = dlq, "message moved to its dead-letter queue");
    Ok(())
}
