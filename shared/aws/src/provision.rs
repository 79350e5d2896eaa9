//! Creates the resources the adapters expect, exactly as `template.yaml` declares them. Used by the tests
//! against the emulator and by local tooling; production resources come from the SAM template.

use std::collections::HashMap;

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;

use super::sdk_error::describe;
use pivota::ports::QueueRef;

/// Why provisioning failed (these are setup steps, so a message is all a caller needs).
#[derive(Debug, thiserror::Error)]
#[error("provisioning failed: {0}")]
pub struct ProvisionError(String);

/// The single table: hash `pk`, range `sk`, GSIs `gsi1`/`gsi2` (projection ALL), on-demand billing, TTL
/// on `expires_at`. Returns once the table can be used.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str) -> Result<(), ProvisionError> {
    let key = |attribute: &str, key_type| {
        KeySchemaElement::builder().attribute_name(attribute).key_type(key_type).build().map_err(built)
    };
    let string_attribute = |attribute: &str| {
        AttributeDefinition::builder()
            .attribute_name(attribute)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(built)
    };
    let gsi = |index: &str, pk: &str, sk: &str| -> Result<GlobalSecondaryIndex, ProvisionError> {
        GlobalSecondaryIndex::builder()
            .index_name(index)
            .key_schema(key(pk, KeyType::Hash)?)
            .key_schema(key(sk, KeyType::Range)?)
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .map_err(built)
    };
    let mut request = client.create_table().table_name(name).billing_mode(BillingMode::PayPerRequest);
    for attribute in ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"] {
        request = request.attribute_definitions(string_attribute(attribute)?);
    }
    request
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .global_secondary_indexes(gsi("gsi1", "gsi1pk", "gsi1sk")?)
        .global_secondary_indexes(gsi("gsi2", "gsi2pk", "gsi2sk")?)
        .send()
        .await
        .map_err(|err| ProvisionError(describe("CreateTable", &err)))?;

    client
        .wait_until_table_exists()
        .table_name(name)
        .wait(std::time::Duration::from_secs(60))
        .await
        .map_err(|err| ProvisionError(format!("waiting for table {name}: {err}")))?;

    let ttl = TimeToLiveSpecification::builder().attribute_name("expires_at").enabled(true).build().map_err(built)?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map_err(|err| ProvisionError(describe("UpdateTimeToLive", &err)))?;
    Ok(())
}

/// A dead-letter queue `<name>-dlq` and a work queue `<name>` that moves a message there after
/// `max_receive_count` receives. Returns (work queue, dead-letter queue) URLs.
pub async fn create_queue_with_dlq(
    client: &aws_sdk_sqs::Client,
    name: &str,
    max_receive_count: u32,
) -> Result<(QueueRef, QueueRef), ProvisionError> {
    queue_pair(client, name, "", HashMap::new(), max_receive_count).await
}

/// A FIFO work queue `<name>.fifo` and its FIFO dead-letter queue `<name>-dlq.fifo` (a FIFO queue's DLQ
/// must be FIFO too), without content-based deduplication: senders give a deduplication id.
pub async fn create_fifo_queue_with_dlq(
    client: &aws_sdk_sqs::Client,
    name: &str,
    max_receive_count: u32,
) -> Result<(QueueRef, QueueRef), ProvisionError> {
    let fifo = HashMap::from([
        (QueueAttributeName::FifoQueue, "true".to_owned()),
        (QueueAttributeName::ContentBasedDeduplication, "false".to_owned()),
    ]);
    queue_pair(client, name, ".fifo", fifo, max_receive_count).await
}

async fn queue_pair(
    client: &aws_sdk_sqs::Client,
    name: &str,
    suffix: &str,
    attributes: HashMap<QueueAttributeName, String>,
    max_receive_count: u32,
) -> Result<(QueueRef, QueueRef), ProvisionError> {
    let dlq_url = create_queue(client, &format!("{name}-dlq{suffix}"), attributes.clone()).await?;
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|err| ProvisionError(describe("GetQueueAttributes", &err)))?
        .attributes
        .and_then(|mut attributes| attributes.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| ProvisionError(format!("queue {name}-dlq{suffix} has no ARN")))?;
    let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count});
    let mut attributes = attributes;
    attributes.insert(QueueAttributeName::RedrivePolicy, redrive.to_string());
    let work_url = create_queue(client, &format!("{name}{suffix}"), attributes).await?;
    Ok((QueueRef(work_url), QueueRef(dlq_url)))
}

/// A standard queue; returns its URL.
pub async fn create_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    attributes: HashMap<QueueAttributeName, String>,
) -> Result<String, ProvisionError> {
    client
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attributes))
        .send()
        .await
        .map_err(|err| ProvisionError(describe("CreateQueue", &err)))?
        .queue_url
        .ok_or_else(|| ProvisionError(format!("CreateQueue {name} returned no URL")))
}

/// The search index bucket, with the lifecycle rules of `template.yaml`'s `SearchIndexBucket`: objects
/// tagged obsolete ([`crate::OBSOLETE_TAG`]) expire after a day, incomplete multipart uploads are aborted
/// after a day. (moto stores the rules but never runs them; S3 does, once a day.) The template's other
/// controls (encryption, public access block, a bucket policy refusing plain HTTP and unconditional writes)
/// are AWS's to enforce: moto does not.
pub async fn create_search_bucket(client: &aws_sdk_s3::Client, name: &str) -> Result<(), ProvisionError> {
    use aws_sdk_s3::types::{
        AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration,
        LifecycleRule, LifecycleRuleFilter, Tag,
    };
    let s3_built = |err: aws_sdk_s3::error::BuildError| ProvisionError(format!("building a request: {err}"));
    client.create_bucket().bucket(name).send().await.map_err(|err| ProvisionError(describe("CreateBucket", &err)))?;
    let (key, value) = crate::OBSOLETE_TAG;
    let obsolete = LifecycleRule::builder()
        .id("expire-obsolete-index-files")
        .status(ExpirationStatus::Enabled)
        .filter(
            LifecycleRuleFilter::builder().tag(Tag::builder().key(key).value(value).build().map_err(s3_built)?).build(),
        )
        .expiration(LifecycleExpiration::builder().days(1).build())
        .build()
        .map_err(s3_built)?;
    let uploads = LifecycleRule::builder()
        .id("abort-incomplete-uploads")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .abort_incomplete_multipart_upload(AbortIncompleteMultipartUpload::builder().days_after_initiation(1).build())
        .build()
        .map_err(s3_built)?;
    let rules = BucketLifecycleConfiguration::builder().rules(obsolete).rules(uploads).build().map_err(s3_built)?;
    client
        .put_bucket_lifecycle_configuration()
        .bucket(name)
        .lifecycle_configuration(rules)
        .send()
        .await
        .map_err(|err| ProvisionError(describe("PutBucketLifecycleConfiguration", &err)))?;
    Ok(())
}

/// A standard state machine from an ASL definition whose `${…}` substitutions are already applied;
/// returns its ARN.
pub async fn create_state_machine(
    client: &aws_sdk_sfn::Client,
    name: &str,
    definition: &str,
    role_arn: &str,
) -> Result<String, ProvisionError> {
    Ok(client
        .create_state_machine()
        .name(name)
        .definition(definition)
        .role_arn(role_arn)
        .send()
        .await
        .map_err(|err| ProvisionError(describe("CreateStateMachine", &err)))?
        .state_machine_arn)
}

/// Applies SAM-style `DefinitionSubstitutions` (`${Name}` → value) to an ASL definition.
pub fn substitute_definition(definition: &str, substitutions: &[(&str, &str)]) -> String {
    substitutions.iter().fold(definition.to_owned(), |text, (name, value)| text.replace(&format!("${{{name}}}"), value))
}

fn built(err: aws_sdk_dynamodb::error::BuildError) -> ProvisionError {
    ProvisionError(format!("building a request: {err}"))
}
