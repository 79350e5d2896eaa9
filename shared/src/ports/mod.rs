//! The ports: what the domain needs from the world.
//!
//! Every port has two adapters: `pivota_aws` (DynamoDB, SQS, Secrets Manager, Step Functions) for
//! production and `pivota_embedded` (SQLite in a data directory) for running locally. Both pass the same
//! conformance suite in `shared/tests/it/conformance`.

mod search;

pub use search::*;

use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

// ---------------------------------------------------------------------------------------------------
// Table: one DynamoDB-style table (single-table design, see `shared/ACCESS_PATTERNS.md`).
// ---------------------------------------------------------------------------------------------------

/// A primary or secondary key: partition key plus sort key. (The default, both empty, is no item's key:
/// a record whose key is not among its attributes starts with it until it is read or keyed.)
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ItemKey {
    pub pk: String,
    pub sk: String,
}

impl ItemKey {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self { pk: pk.into(), sk: sk.into() }
    }
}

/// The item's own attributes. Names reserved by the adapters (`pk`, `sk`, `gsi1pk`, `gsi1sk`, `gsi2pk`,
/// `gsi2sk`, `version`, `expires_at`) must not be used here.
pub type Attributes = serde_json::Map<String, serde_json::Value>;

pub const RESERVED_ATTRIBUTES: &[&str] = &["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "version", "expires_at"];

/// One item of the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub key: ItemKey,
    /// Keys in the first global secondary index (`gsi1pk`/`gsi1sk`), if the item is projected there.
    pub gsi1: Option<ItemKey>,
    /// Keys in the second global secondary index (`gsi2pk`/`gsi2sk`).
    pub gsi2: Option<ItemKey>,
    /// Optimistic-concurrency version. Adapters store it as given; records are written by the one rule of
    /// [`crate::record::Record`] (created at 1 if absent, saved one up if still at the version read).
    pub version: u64,
    /// DynamoDB TTL (`expires_at`, epoch seconds). Expired items may still be returned until the store
    /// purges them, exactly as on DynamoDB, so readers that care check it.
    pub expires_at: Option<i64>,
    pub attrs: Attributes,
}

impl Item {
    pub fn new(key: ItemKey, attrs: Attributes) -> Self {
        Self { key, gsi1: None, gsi2: None, version: 1, expires_at: None, attrs }
    }
}

/// Which key a query runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Index {
    Primary,
    Gsi1,
    Gsi2,
}

/// A condition on the item currently stored under a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// Write unconditionally.
    None,
    /// No item exists under the key.
    NotExists,
    /// An item exists under the key.
    Exists,
    /// An item exists and its `version` equals this.
    VersionIs(u64),
}

/// One write inside a transaction.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteOp {
    Put {
        item: Item,
        condition: Condition,
    },
    Delete {
        key: ItemKey,
        condition: Condition,
    },
    /// Asserts a condition without writing.
    Check {
        key: ItemKey,
        condition: Condition,
    },
}

/// A query: all items whose index partition key equals `pk`, optionally with a sort-key prefix, in
/// sort-key order.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub index: Index,
    pub pk: String,
    pub sk_prefix: Option<String>,
    /// At most this many items per page (1..=1000).
    pub limit: u32,
    /// Where the previous page stopped.
    pub cursor: Option<PageCursor>,
    pub descending: bool,
}

impl Query {
    pub fn new(index: Index, pk: impl Into<String>, limit: u32) -> Self {
        Self { index, pk: pk.into(), sk_prefix: None, limit, cursor: None, descending: false }
    }
}

/// The position after the last item of a page: the item's primary key and, on an index, its index key.
/// It is the adapters' `LastEvaluatedKey`; the API layer seals it into an opaque string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageCursor {
    pub key: ItemKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_key: Option<ItemKey>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    pub items: Vec<Item>,
    /// `Some` when there may be more items (like DynamoDB, possibly followed by an empty page).
    pub next: Option<PageCursor>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A single write's condition did not hold. Nothing was written.
    #[error("the write's condition did not hold")]
    ConditionFailed,
    /// A transaction was cancelled because the condition of operation `index` did not hold (or, when
    /// `index` is `None`, because of a conflicting concurrent transaction). Nothing was written.
    #[error("the transaction was cancelled (operation {index:?})")]
    TransactionCancelled { index: Option<usize> },
    /// The cursor does not belong to this query.
    #[error("the page cursor does not fit this query")]
    InvalidCursor,
    /// Throttling, a timeout or a network fault: safe to retry.
    #[error("transient store failure: {0}")]
    Transient(String),
    #[error("store failure: {0}")]
    Other(String),
}

#[async_trait]
pub trait Table: Send + Sync {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError>;
    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError>;
    async fn delete(&self, key: &ItemKey, condition: Condition) -> Result<(), StoreError>;
    /// All or nothing, at most 100 operations on distinct keys (DynamoDB's TransactWriteItems limit).
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError>;
    async fn query(&self, query: Query) -> Result<Page, StoreError>;
    /// The items that exist under `keys` (in no particular order; missing keys are left out), in chunks of
    /// 100 with unprocessed keys retried (BatchGetItem). Strongly consistent reads.
    async fn batch_get(&self, keys: Vec<ItemKey>) -> Result<Vec<Item>, StoreError>;
    /// Unconditional puts of many items, in chunks of 25 with unprocessed items retried (BatchWriteItem).
    /// Not atomic as a whole.
    async fn batch_put(&self, items: Vec<Item>) -> Result<(), StoreError>;
}

// ---------------------------------------------------------------------------------------------------
// Queue: SQS semantics (at-least-once, visibility timeout, dead-letter after N receives).
// ---------------------------------------------------------------------------------------------------

/// Names a queue: the queue URL on AWS, the queue's name in the embedded store.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QueueRef(pub String);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    /// How many times the message has been received, this time included (`ApproximateReceiveCount`).
    pub receive_count: u32,
}

/// The longest a message can stay hidden, on a receive or a change of visibility: SQS's 12 hours
/// (`VisibilityTimeout` at most 43200 s).
pub const MAX_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(12 * 60 * 60);

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("no such queue: {0}")]
    NoSuchQueue(String),
    /// The message is gone for this receipt handle: deleted, received again since, or (for
    /// [`Queue::change_visibility`]) no longer in flight because its visibility timeout ran out. SQS says
    /// `ReceiptHandleIsInvalid` or `MessageNotInflight`. Nothing is left for the handle to act on.
    #[error("the receipt handle is no longer valid: the message is gone or no longer in flight")]
    InvalidReceipt,
    /// A visibility timeout beyond [`MAX_VISIBILITY_TIMEOUT`], refused before the queue sees it
    /// ([`QueueError::check_visibility`]).
    #[error("visibility timeout {0:?} exceeds SQS's maximum of 12 hours")]
    VisibilityTimeoutTooLong(Duration),
    #[error("transient queue failure: {0}")]
    Transient(String),
    #[error("queue failure: {0}")]
    Other(String),
}

impl QueueError {
    /// SQS's limit on a visibility timeout, enforced by every adapter before the queue is asked.
    pub fn check_visibility(timeout: Duration) -> Result<(), QueueError> {
        if timeout > MAX_VISIBILITY_TIMEOUT { Err(QueueError::VisibilityTimeoutTooLong(timeout)) } else { Ok(()) }
    }
}

#[async_trait]
pub trait Queue: Send + Sync {
    /// Returns the message id.
    async fn send(&self, queue: &QueueRef, body: &str, delay: Duration) -> Result<String, QueueError>;
    /// Sends to a FIFO queue (SQS's `.fifo`): messages of one `group` are received in the order sent, and
    /// none while an earlier one of its group is in flight, so a group's consumer runs one at a time. A
    /// `dedup_id` sent again within five minutes is accepted and never delivered (SQS's deduplication
    /// interval). Returns a message id (for a duplicate, the first message's or one of its own: SQS does
    /// not say which, and moto returns a new one).
    async fn send_in_group(
        &self,
        queue: &QueueRef,
        body: &str,
        group: &str,
        dedup_id: &str,
    ) -> Result<String, QueueError>;
    /// Up to `max` (1..=10) visible messages, hidden for `visibility_timeout` after this receive. A message
    /// received more often than the queue's max receive count moves to its dead-letter queue instead.
    async fn receive(
        &self,
        queue: &QueueRef,
        max: u32,
        visibility_timeout: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError>;
    /// Acknowledges a message: the handle of its latest receive always deletes it. A stale handle (the
    /// message was received again since) may be refused with `InvalidReceipt` (embedded) or accepted, as
    /// SQS accepts it ("succeeds, but the message might not be deleted"); consumers are idempotent, so
    /// either is safe.
    async fn delete(&self, queue: &QueueRef, receipt_handle: &str) -> Result<(), QueueError>;
    /// Makes an in-flight message receivable again `visible_after` from now (zero: at once), instead of
    /// when its current visibility timeout ends (SQS's ChangeMessageVisibility): a consumer that failed
    /// transiently retries after its own backoff. `receipt_handle` is the one of its latest receive, as for
    /// [`Queue::delete`]. The next receive counts toward the max receive count like any other. SQS takes
    /// whole seconds, so the AWS adapter rounds up.
    ///
    /// Errors: `VisibilityTimeoutTooLong` beyond [`MAX_VISIBILITY_TIMEOUT`]; `InvalidReceipt` when the
    /// message was deleted or is no longer in flight under this handle.
    async fn change_visibility(
        &self,
        queue: &QueueRef,
        receipt_handle: &str,
        visible_after: Duration,
    ) -> Result<(), QueueError>;
}

// ---------------------------------------------------------------------------------------------------
// Secrets: Secrets Manager semantics (versions with AWSCURRENT / AWSPREVIOUS).
// ---------------------------------------------------------------------------------------------------

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("transient secrets failure: {0}")]
    Transient(String),
    /// The name belongs to a deleted secret. Secrets Manager keeps a deleted secret scheduled for
    /// deletion and refuses its name meanwhile, so callers give every new secret a name of its own.
    #[error("the secret name {0} belongs to a deleted secret and is not used again")]
    NameDeleted(String),
    #[error("secrets failure: {0}")]
    Other(String),
}

#[async_trait]
pub trait Secrets: Send + Sync {
    /// Creates the secret, or adds a new current version to it (rotation: the old current version
    /// becomes the previous one). Returns the new version id.
    async fn put(&self, name: &str, value: &SecretString) -> Result<String, SecretsError>;
    /// The current version, or `None` when there is no such secret (or it was deleted: a secret scheduled
    /// for deletion reads as absent).
    async fn get(&self, name: &str) -> Result<Option<SecretString>, SecretsError>;
    /// The version before the current one, if any.
    async fn get_previous(&self, name: &str) -> Result<Option<SecretString>, SecretsError>;
    /// Deletes the secret and all its versions at once, without a recovery window. Deleting a secret
    /// that does not exist succeeds.
    async fn delete(&self, name: &str) -> Result<(), SecretsError>;
}

// ---------------------------------------------------------------------------------------------------
// Workflow: the KYC wait (a Step Functions Wait state, or an embedded durable timer).
// ---------------------------------------------------------------------------------------------------

/// The state machine's input, and so the `kyc-approve` task's input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KycWaitInput {
    pub merchant_id: String,
    /// Read by the Wait state's `SecondsPath`.
    pub wait_seconds: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitStatus {
    /// Started and not yet handed to `kyc-approve`.
    Waiting,
    /// `kyc-approve` ran to completion.
    Completed,
    /// Gave up after retries.
    Failed,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error("transient workflow failure: {0}")]
    Transient(String),
    #[error("workflow failure: {0}")]
    Other(String),
}

#[async_trait]
pub trait Workflow: Send + Sync {
    /// Starts the KYC wait for a merchant. Idempotent per merchant: starting it again while one exists is
    /// a no-op (Step Functions execution names are unique; embedded timers have the merchant's id).
    async fn start_kyc_wait(&self, input: &KycWaitInput) -> Result<(), WorkflowError>;
    /// The state of the merchant's KYC wait, `None` if none was started.
    async fn kyc_wait_status(&self, merchant_id: &str) -> Result<Option<WaitStatus>, WorkflowError>;
}

// ---------------------------------------------------------------------------------------------------
// Clock.
// ---------------------------------------------------------------------------------------------------

pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

// ---------------------------------------------------------------------------------------------------
// Capabilities: what a service asks of its caller. A service takes `&(impl HasTable + HasClock)`, say,
// naming the ports it uses and no others; `App` provides every capability, a test may provide a few.
// Contexts declare their own (`HasConnectors`, `HasKycRules`, …) next to what they configure.
// ---------------------------------------------------------------------------------------------------

pub trait HasTable {
    fn table(&self) -> &dyn Table;
}

pub trait HasSecrets {
    fn secrets(&self) -> &dyn Secrets;
}

/// The queue port, and the platform's two queues.
pub trait HasQueue {
    fn queue(&self) -> &dyn Queue;
    /// Catalog syncs and store tasks.
    fn sync_queue(&self) -> &QueueRef;
    /// Store orders waiting to be paid.
    fn payment_queue(&self) -> &QueueRef;
    /// Product changes for the search index (FIFO, the merchant as message group).
    fn index_queue(&self) -> &QueueRef;
}

pub trait HasWorkflow {
    fn workflow(&self) -> &dyn Workflow;
}

pub trait HasClock {
    fn clock(&self) -> &dyn Clock;
}

/// What this deployment is called: the namespace of its per-merchant secrets, and where stores and
/// shoppers reach it.
pub trait HasDeployment {
    fn secret_namespace(&self) -> &str;
    /// Empty when not configured.
    fn public_base_url(&self) -> &str;
}
