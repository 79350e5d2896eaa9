//! The AWS adapters, built on first use.
//!
//! Loading the SDK configuration builds its HTTPS client, which reads and parses the system's root
//! certificates: milliseconds that would otherwise be spent in every cold start, even by invocations that
//! never reach AWS (a request refused for a missing key, the OpenAPI document). Each [`Lazy`] adapter
//! defers all of it to its first call, and the adapters of one [`LazyAws`] share one configuration,
//! loaded once per process.
//!
//! Each port is its own type, so a function's binary links only the SDK clients of the ports its
//! `main.rs` asks for (`pivota_lambda::AwsApp`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use secrecy::SecretString;
use tokio::sync::OnceCell;

use super::{
    DEFAULT_SEARCH_CACHE_ROOT, DynamoTable, S3Indexes, SecretsManagerStore, SqsQueue, StepFunctionsWorkflow,
    load_sdk_config,
};
use pivota::ports::{
    Condition, IndexChange, Item, ItemKey, KycWaitInput, Page, ProductDoc, Query, Queue, QueueError, QueueRef,
    ReceivedMessage, SearchError, SearchHits, SearchIndex, SearchQuery, Secrets, SecretsError, StoreError, Table,
    WaitStatus, Workflow, WorkflowError, WriteOp,
};

/// The AWS side of a process: the table's name, the state machine, the secrets' KMS key, the search
/// bucket and its local cache, and the one SDK configuration its adapters share.
#[derive(Clone)]
pub struct LazyAws {
    table_name: String,
    state_machine_arn: String,
    secrets_kms_key: Option<String>,
    search_bucket: Option<String>,
    search_cache_root: PathBuf,
    config: Arc<OnceCell<SdkConfig>>,
}

/// One adapter, built from the shared configuration on its first call.
pub struct Lazy<A> {
    config: Arc<OnceCell<SdkConfig>>,
    build: Box<dyn Fn(&SdkConfig) -> A + Send + Sync>,
    adapter: OnceCell<A>,
}

impl<A> Lazy<A> {
    async fn adapter(&self) -> &A {
        self.adapter
            .get_or_init(|| async {
                let config = self.config.get_or_init(load_sdk_config).await;
                (self.build)(config)
            })
            .await
    }
}

impl LazyAws {
    pub fn new(table_name: impl Into<String>, state_machine_arn: impl Into<String>) -> Self {
        Self {
            table_name: table_name.into(),
            state_machine_arn: state_machine_arn.into(),
            secrets_kms_key: None,
            search_bucket: None,
            search_cache_root: PathBuf::from(DEFAULT_SEARCH_CACHE_ROOT),
            config: Arc::new(OnceCell::new()),
        }
    }

    /// New secrets are encrypted under this KMS key (id, ARN or alias) instead of Secrets Manager's own.
    pub fn with_secrets_kms_key(mut self, key: Option<String>) -> Self {
        self.secrets_kms_key = key;
        self
    }

    /// Search indexes live in this bucket (`PIVOTA_SEARCH_BUCKET`); without one, every search call fails.
    pub fn with_search_bucket(mut self, bucket: Option<String>) -> Self {
        self.search_bucket = bucket;
        self
    }

    /// Where search indexes are cached locally (default `/tmp/pivota-search`).
    pub fn with_search_cache_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.search_cache_root = root.into();
        self
    }

    fn lazy<A>(&self, build: impl Fn(&SdkConfig) -> A + Send + Sync + 'static) -> Lazy<A> {
        Lazy { config: Arc::clone(&self.config), build: Box::new(build), adapter: OnceCell::new() }
    }

    /// The table on DynamoDB.
    pub fn table(&self) -> Lazy<DynamoTable> {
        let name = self.table_name.clone();
        self.lazy(move |config| DynamoTable::new(aws_sdk_dynamodb::Client::new(config), name.clone()))
    }

    /// Secrets in Secrets Manager.
    pub fn secrets(&self) -> Lazy<SecretsManagerStore> {
        let kms_key = self.secrets_kms_key.clone();
        self.lazy(move |config| {
            SecretsManagerStore::new(aws_sdk_secretsmanager::Client::new(config)).with_kms_key(kms_key.clone())
        })
    }

    /// The KYC wait on Step Functions.
    pub fn workflow(&self) -> Lazy<StepFunctionsWorkflow> {
        let arn = self.state_machine_arn.clone();
        self.lazy(move |config| StepFunctionsWorkflow::new(aws_sdk_sfn::Client::new(config), arn.clone()))
    }

    /// Queues on SQS.
    pub fn queue(&self) -> Lazy<SqsQueue> {
        self.lazy(|config| SqsQueue::new(aws_sdk_sqs::Client::new(config)))
    }

    /// Merchants' search indexes in S3, cached locally.
    pub fn search_index(&self) -> Lazy<Result<S3Indexes, String>> {
        let (bucket, root) = (self.search_bucket.clone(), self.search_cache_root.clone());
        self.lazy(move |config| {
            let bucket =
                bucket.clone().ok_or_else(|| format!("no search bucket: {} is not set", super::SEARCH_BUCKET_ENV))?;
            // An emulator (moto) answers on one host: bucket names go in the path, not the host name.
            let s3 =
                aws_sdk_s3::config::Builder::from(config).force_path_style(config.endpoint_url().is_some()).build();
            Ok(S3Indexes::new(aws_sdk_s3::Client::from_conf(s3), bucket, root.clone()))
        })
    }
}

#[async_trait]
impl Table for Lazy<DynamoTable> {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        self.adapter().await.get(key).await
    }
    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        self.adapter().await.put(item, condition).await
    }
    async fn delete(&self, key: &ItemKey, condition: Condition) -> Result<(), StoreError> {
        self.adapter().await.delete(key, condition).await
    }
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.adapter().await.transact(ops).await
    }
    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.adapter().await.query(query).await
    }
    async fn batch_get(&self, keys: Vec<ItemKey>) -> Result<Vec<Item>, StoreError> {
        self.adapter().await.batch_get(keys).await
    }
    async fn batch_put(&self, items: Vec<Item>) -> Result<(), StoreError> {
        self.adapter().await.batch_put(items).await
    }
}

#[async_trait]
impl Secrets for Lazy<SecretsManagerStore> {
    async fn put(&self, name: &str, value: &SecretString) -> Result<String, SecretsError> {
        self.adapter().await.put(name, value).await
    }
    async fn get(&self, name: &str) -> Result<Option<SecretString>, SecretsError> {
        self.adapter().await.get(name).await
    }
    async fn get_previous(&self, name: &str) -> Result<Option<SecretString>, SecretsError> {
        self.adapter().await.get_previous(name).await
    }
    async fn delete(&self, name: &str) -> Result<(), SecretsError> {
        self.adapter().await.delete(name).await
    }
}

#[async_trait]
impl Workflow for Lazy<StepFunctionsWorkflow> {
    async fn start_kyc_wait(&self, input: &KycWaitInput) -> Result<(), WorkflowError> {
        self.adapter().await.start_kyc_wait(input).await
    }
    async fn kyc_wait_status(&self, merchant_id: &str) -> Result<Option<WaitStatus>, WorkflowError> {
        self.adapter().await.kyc_wait_status(merchant_id).await
    }
}

#[async_trait]
impl Queue for Lazy<SqsQueue> {
    async fn send(&self, queue: &QueueRef, body: &str, delay: Duration) -> Result<String, QueueError> {
        self.adapter().await.send(queue, body, delay).await
    }
    async fn send_in_group(
        &self,
        queue: &QueueRef,
        body: &str,
        group: &str,
        dedup_id: &str,
    ) -> Result<String, QueueError> {
        self.adapter().await.send_in_group(queue, body, group, dedup_id).await
    }
    async fn receive(
        &self,
        queue: &QueueRef,
        max: u32,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        self.adapter().await.receive(queue, max, visibility).await
    }
    async fn delete(&self, queue: &QueueRef, receipt_handle: &str) -> Result<(), QueueError> {
        self.adapter().await.delete(queue, receipt_handle).await
    }
    async fn change_visibility(
        &self,
        queue: &QueueRef,
        receipt_handle: &str,
        visible_after: Duration,
    ) -> Result<(), QueueError> {
        self.adapter().await.change_visibility(queue, receipt_handle, visible_after).await
    }
}

impl Lazy<Result<S3Indexes, String>> {
    async fn indexes(&self) -> Result<&S3Indexes, SearchError> {
        self.adapter().await.as_ref().map_err(|why| SearchError::Other(why.clone()))
    }
}

#[async_trait]
impl SearchIndex for Lazy<Result<S3Indexes, String>> {
    async fn apply(&self, merchant_id: &str, changes: Vec<IndexChange>) -> Result<(), SearchError> {
        self.indexes().await?.apply(merchant_id, changes).await
    }
    async fn replace_all(&self, merchant_id: &str, docs: Vec<ProductDoc>) -> Result<(), SearchError> {
        self.indexes().await?.replace_all(merchant_id, docs).await
    }
    async fn search(&self, merchant_id: &str, query: &SearchQuery) -> Result<SearchHits, SearchError> {
        self.indexes().await?.search(merchant_id, query).await
    }
}
