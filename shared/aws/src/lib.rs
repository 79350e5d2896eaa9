//! AWS adapters: DynamoDB, SQS, Secrets Manager, Step Functions and S3 (the search index) behind the ports.
//!
//! Each adapter wraps an SDK client built from one [`aws_config::SdkConfig`]; [`load_sdk_config`] reads
//! it from the standard provider chain, so `AWS_ENDPOINT_URL` (a local emulator), the region and the
//! credentials all come from the environment. [`provision`] creates the resources the adapters expect,
//! for tests and local tooling; in production the SAM template declares the same ones.

pub mod call_log;
mod dynamodb;
mod lazy;
pub mod provision;
mod sdk_error;
mod search_s3;
mod secrets_manager;
mod sqs;
mod step_functions;

pub use dynamodb::DynamoTable;
pub use lazy::LazyAws;
pub use search_s3::{DEFAULT_SEARCH_CACHE_ROOT, OBSOLETE_TAG, S3Indexes, SEARCH_BUCKET_ENV};
pub use secrets_manager::SecretsManagerStore;
pub use sqs::SqsQueue;
pub use step_functions::StepFunctionsWorkflow;

/// The SDK configuration from the standard chain (environment, profile files, then the container or
/// instance credentials). Credentials are resolved lazily, on the first request, so loading does not
/// touch the network when `AWS_REGION` is set (it always is on Lambda).
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::load_from_env().await
}
