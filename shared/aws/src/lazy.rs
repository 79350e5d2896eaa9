//! The AWS adapters, built on first use.
//!
//! Loading the SDK configuration builds its HTTPS client, which reads and parses the system's root
//! certificates: milliseconds that would otherwise be spent in every cold start, even by invocations that
//! never reach AWS (a request refused for a missing key, the OpenAPI document). [`LazyAws`] defers all
//! of it to the first call of any port, once per process.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use tokio::sync::OnceCell;

use super::{DynamoTable, SecretsManagerStore, SqsQueue, StepFunctionsWorkflow, load_sdk_config};
use pivota::ports::{
    Condition, Item, ItemKey, KycWaitInput, Page, Query, Queue, QueueError, QueueRef, ReceivedMessage, Secrets,
    SecretsError, StoreError, Table, WaitStatus, Workflow, WorkflowError, WriteOp,
};

struct Adapters {
    table: DynamoTable,
    secrets: SecretsManagerStore,
    workflow: StepFunctionsWorkflow,
    queue: SqsQueue,
}

/// Every AWS port behind one lazily loaded SDK configuration.
pub struct LazyAws {
    table_name: String,
    state_machine_arn: String,
    secrets_kms_key: Option<String>,
    adapters: OnceCell<Adapters>,
}

impl LazyAws {
    pub fn new(table_name: impl Into<String>, state_machine_arn: impl Into<String>) -> Self {
        Self {
            table_name: table_name.into(),
            state_machine_arn: state_machine_arn.into(),
            secrets_kms_key: None,
            adapters: OnceCell::new(),
        }
    }

    /// New secrets are encrypted under this KMS key (id, ARN or alias) instead of Secrets Manager's own.
    pub fn with_secrets_kms_key(mut self, key: Option<String>) -> Self {
        self.secrets_kms_key = key;
        self
    }

    async fn adapters(&self) -> &Adapters {
        self.adapters
            .get_or_init(|| async {
                let config = load_sdk_config().await;
                Adapters {
                    table: DynamoTable::new(aws_sdk_dynamodb::Client::new(&config), self.table_name.clone()),
                    secrets: SecretsManagerStore::new(aws_sdk_secretsmanager::Client::new(&config))
                        .with_kms_key(self.secrets_kms_key.clone()),
                    workflow: StepFunctionsWorkflow::new(
                        aws_sdk_sfn::Client::new(&config),
                        self.state_machine_arn.clone(),
                    ),
                    queue: SqsQueue::new(aws_sdk_sqs::Client::new(&config)),
                }
            })
            .await
    }
}

#[async_trait]
impl Table for LazyAws {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        self.adapters().await.table.get(key).await
    }
    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        self.adapters().await.table.put(item, condition).await
    }
    async fn delete(&self, key: &ItemKey, condition: Condition) -> Result<(), StoreError> {
        self.adapters().await.table.delete(key, condition).await
    }
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.adapters().await.table.transact(ops).await
    }
    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.adapters().await.table.query(query).await
    }
    async fn batch_get(&self, keys: Vec<ItemKey>) -> Result<Vec<Item>, StoreError> {
        self.adapters().await.table.batch_get(keys).await
    }
    async fn batch_put(&self, items: Vec<Item>) -> Result<(), StoreError> {
        self.adapters().await.table.batch_put(items).await
    }
}

#[async_trait]
impl Secrets for LazyAws {
    async fn put(&self, name: &str, value: &SecretString) -> Result<String, SecretsError> {
        self.adapters().await.secrets.put(name, value).await
    }
    async fn get(&self, name: &str) -> Result<Option<SecretString>, SecretsError> {
        self.adapters().await.secrets.get(name).await
    }
    async fn get_previous(&self, name: &str) -> Result<Option<SecretString>, SecretsError> {
        self.adapters().await.secrets.get_previous(name).await
    }
    async fn delete(&self, name: &str) -> Result<(), SecretsError> {
        self.adapters().await.secrets.delete(name).await
    }
}

#[async_trait]
impl Workflow for LazyAws {
    async fn start_kyc_wait(&self, input: &KycWaitInput) -> Result<(), WorkflowError> {
        self.adapters().await.workflow.start_kyc_wait(input).await
    }
    async fn kyc_wait_status(&self, merchant_id: &str) -> Result<Option<WaitStatus>, WorkflowError> {
        self.adapters().await.workflow.kyc_wait_status(merchant_id).await
    }
}

#[async_trait]
impl Queue for LazyAws {
    async fn send(&self, queue: &QueueRef, body: &str, delay: Duration) -> Result<String, QueueError> {
        self.adapters().await.queue.send(queue, body, delay).await
    }
    async fn receive(
        &self,
        queue: &QueueRef,
        max: u32,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        self.adapters().await.queue.receive(queue, max, visibility).await
    }
    async fn delete(&self, queue: &QueueRef, receipt_handle: &str) -> Result<(), QueueError> {
        self.adapters().await.queue.delete(queue, receipt_handle).await
    }
    async fn change_visibility(
        &self,
        queue: &QueueRef,
        receipt_handle: &str,
        visible_after: Duration,
    ) -> Result<(), QueueError> {
        self.adapters().await.queue.change_visibility(queue, receipt_handle, visible_after).await
    }
}
