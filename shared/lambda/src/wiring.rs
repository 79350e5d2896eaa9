//! Which AWS services a function's binary is wired to. A function's `main.rs` names the ports it uses
//! ([`AwsApp::table`], …); the rest are [`Unwired`], so the binary links no SDK client it never calls.
//! The IAM check (`infra/iam/check.py`) compares each `main.rs` with the services its role grants, which
//! in turn must match the calls the tests recorded, so a port that is used but not wired fails the tests,
//! not a cold start.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;

use pivota::app::{App, Ports};
use pivota::ports::{
    Condition, IndexChange, Item, ItemKey, KycWaitInput, Page, ProductDoc, Query, Queue, QueueError, QueueRef,
    ReceivedMessage, SearchError, SearchHits, SearchIndex, SearchQuery, Secrets, SecretsError, StoreError, SystemClock,
    Table, WaitStatus, Workflow, WorkflowError, WriteOp,
};
use pivota::settings::Settings;
use pivota_aws::LazyAws;

/// An [`App`] on the AWS adapters a function names: DynamoDB (`PIVOTA_TABLE_NAME`), Secrets Manager (new
/// secrets encrypted under the customer-managed key `PIVOTA_SECRETS_KMS_KEY_ID` when set), SQS and Step
/// Functions (`PIVOTA_KYC_STATE_MACHINE_ARN`), and merchants' search indexes in S3 (`PIVOTA_SEARCH_BUCKET`,
/// cached under `/tmp/pivota-search`). The AWS endpoint, region and credentials come from the standard AWS
/// configuration (`AWS_ENDPOINT_URL`, …). Nothing is loaded before the first call.
pub struct AwsApp {
    aws: LazyAws,
    settings: Settings,
    ports: Ports,
}

impl AwsApp {
    pub fn from_env() -> Result<Self, lambda_http::Error> {
        let settings = Settings::from_env()?;
        let table_name = std::env::var("PIVOTA_TABLE_NAME")
            .map_err(|_| "the environment variable PIVOTA_TABLE_NAME is not set".to_owned())?;
        let state_machine = std::env::var("PIVOTA_KYC_STATE_MACHINE_ARN").unwrap_or_default();
        let kms_key = std::env::var("PIVOTA_SECRETS_KMS_KEY_ID").ok().filter(|key| !key.is_empty());
        let search_bucket = std::env::var(pivota_aws::SEARCH_BUCKET_ENV).ok().filter(|bucket| !bucket.is_empty());
        let aws =
            LazyAws::new(table_name, state_machine).with_secrets_kms_key(kms_key).with_search_bucket(search_bucket);
        let unwired = Arc::new(Unwired);
        let ports = Ports {
            table: unwired.clone(),
            secrets: unwired.clone(),
            workflow: unwired.clone(),
            queue: unwired.clone(),
            search: unwired,
            clock: Arc::new(SystemClock),
        };
        Ok(Self { aws, settings, ports })
    }

    /// The table, on DynamoDB.
    pub fn table(mut self) -> Self {
        self.ports.table = Arc::new(self.aws.table());
        self
    }

    /// Secrets (the platform's and the merchants'), in Secrets Manager.
    pub fn secrets(mut self) -> Self {
        self.ports.secrets = Arc::new(self.aws.secrets());
        self
    }

    /// Queues, on SQS.
    pub fn queue(mut self) -> Self {
        self.ports.queue = Arc::new(self.aws.queue());
        self
    }

    /// The KYC wait, on Step Functions.
    pub fn workflow(mut self) -> Self {
        self.ports.workflow = Arc::new(self.aws.workflow());
        self
    }

    /// Merchants' search indexes, in S3.
    pub fn search(mut self) -> Self {
        self.ports.search = Arc::new(self.aws.search_index());
        self
    }

    pub fn build(self) -> App {
        App::new(self.ports, self.settings)
    }
}

/// A port the function's `main.rs` did not wire: every call fails, naming the port.
pub struct Unwired;

fn unwired(port: &str) -> String {
    format!("this function is not wired to the {port} port (see its main.rs)")
}

#[async_trait]
impl Table for Unwired {
    async fn get(&self, _: &ItemKey) -> Result<Option<Item>, StoreError> {
        Err(StoreError::Other(unwired("table")))
    }
    async fn put(&self, _: Item, _: Condition) -> Result<(), StoreError> {
        Err(StoreError::Other(unwired("table")))
    }
    async fn delete(&self, _: &ItemKey, _: Condition) -> Result<(), StoreError> {
        Err(StoreError::Other(unwired("table")))
    }
    async fn transact(&self, _: Vec<WriteOp>) -> Result<(), StoreError> {
        Err(StoreError::Other(unwired("table")))
    }
    async fn query(&self, _: Query) -> Result<Page, StoreError> {
        Err(StoreError::Other(unwired("table")))
    }
    async fn batch_get(&self, _: Vec<ItemKey>) -> Result<Vec<Item>, StoreError> {
        Err(StoreError::Other(unwired("table")))
    }
    async fn batch_put(&self, _: Vec<Item>) -> Result<(), StoreError> {
        Err(StoreError::Other(unwired("table")))
    }
}

#[async_trait]
impl Secrets for Unwired {
    async fn put(&self, _: &str, _: &SecretString) -> Result<String, SecretsError> {
        Err(SecretsError::Other(unwired("secrets")))
    }
    async fn get(&self, _: &str) -> Result<Option<SecretString>, SecretsError> {
        Err(SecretsError::Other(unwired("secrets")))
    }
    async fn get_previous(&self, _: &str) -> Result<Option<SecretString>, SecretsError> {
        Err(SecretsError::Other(unwired("secrets")))
    }
    async fn delete(&self, _: &str) -> Result<(), SecretsError> {
        Err(SecretsError::Other(unwired("secrets")))
    }
}

#[async_trait]
impl Workflow for Unwired {
    async fn start_kyc_wait(&self, _: &KycWaitInput) -> Result<(), WorkflowError> {
        Err(WorkflowError::Other(unwired("workflow")))
    }
    async fn kyc_wait_status(&self, _: &str) -> Result<Option<WaitStatus>, WorkflowError> {
        Err(WorkflowError::Other(unwired("workflow")))
    }
}

#[async_trait]
impl Queue for Unwired {
    async fn send(&self, _: &QueueRef, _: &str, _: Duration) -> Result<String, QueueError> {
        Err(QueueError::Other(unwired("queue")))
    }
    async fn send_in_group(&self, _: &QueueRef, _: &str, _: &str, _: &str) -> Result<String, QueueError> {
        Err(QueueError::Other(unwired("queue")))
    }
    async fn receive(&self, _: &QueueRef, _: u32, _: Duration) -> Result<Vec<ReceivedMessage>, QueueError> {
        Err(QueueError::Other(unwired("queue")))
    }
    async fn delete(&self, _: &QueueRef, _: &str) -> Result<(), QueueError> {
        Err(QueueError::Other(unwired("queue")))
    }
    async fn change_visibility(&self, _: &QueueRef, _: &str, _: Duration) -> Result<(), QueueError> {
        Err(QueueError::Other(unwired("queue")))
    }
}

#[async_trait]
impl SearchIndex for Unwired {
    async fn apply(&self, _: &str, _: Vec<IndexChange>) -> Result<(), SearchError> {
        Err(SearchError::Other(unwired("search index")))
    }
    async fn replace_all(&self, _: &str, _: Vec<ProductDoc>) -> Result<(), SearchError> {
        Err(SearchError::Other(unwired("search index")))
    }
    async fn search(&self, _: &str, _: &SearchQuery) -> Result<SearchHits, SearchError> {
        Err(SearchError::Other(unwired("search index")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unwired_port_fails_every_call_naming_the_port() {
        let error = Table::get(&Unwired, &ItemKey::new("pk", "sk")).await.unwrap_err();
        assert!(error.to_string().contains("not wired to the table port"), "{error}");
        let error = Queue::delete(&Unwired, &QueueRef("q".into()), "r").await.unwrap_err();
        assert!(error.to_string().contains("not wired to the queue port"), "{error}");
    }
}
