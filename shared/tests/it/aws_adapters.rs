//! AWS-only behaviour the shared conformance suite cannot express: how faults are classified, and the
//! adapters' own guards (BatchWriteItem's duplicate keys, cursors outside a prefix).

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;
use pivota::ports::{
    Index, Item, ItemKey, KycWaitInput, PageCursor, Query, Queue, QueueError, QueueRef, SearchError, SearchIndex,
    SearchQuery, Secrets, SecretsError, StoreError, Table, Workflow, WorkflowError,
};
use pivota_aws::{DynamoTable, S3Indexes, SecretsManagerStore, SqsQueue, StepFunctionsWorkflow, provision};
use serde_json::json;
use ulid::Ulid;

use crate::fixtures::{moto, unreachable_base};

/// An endpoint where nothing listens, without SDK retries so the failure comes at once.
async fn unreachable_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .endpoint_url(unreachable_base())
        .retry_config(RetryConfig::disabled())
        .load()
        .await
}

#[tokio::test]
async fn an_unreachable_service_is_a_transient_failure_for_every_adapter() {
    let config = unreachable_config().await;
    let table = DynamoTable::new(aws_sdk_dynamodb::Client::new(&config), "t");
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&config));
    let secrets = SecretsManagerStore::new(aws_sdk_secretsmanager::Client::new(&config));
    let workflow = StepFunctionsWorkflow::new(
        aws_sdk_sfn::Client::new(&config),
        "arn:aws:states:us-east-1:123456789012:stateMachine:kyc",
    );

    let got = table.get(&ItemKey::new("a", "b")).await;
    assert!(matches!(got, Err(StoreError::Transient(_))), "got {got:?}");
    let got = queue.send(&QueueRef("http://127.0.0.1:1/1/q".into()), "x", Default::default()).await;
    assert!(matches!(got, Err(QueueError::Transient(_))), "got {got:?}");
    let got = secrets.get("s").await;
    assert!(matches!(got, Err(SecretsError::Transient(_))), "got {got:?}");
    let got = workflow.start_kyc_wait(&KycWaitInput { merchant_id: "mer_1".into(), wait_seconds: 1 }).await;
    assert!(matches!(got, Err(WorkflowError::Transient(_))), "got {got:?}");
    let cache = tempfile::tempdir().unwrap();
    let s3 = aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build();
    let indexes = S3Indexes::new(aws_sdk_s3::Client::from_conf(s3), "b", cache.path());
    let got = indexes.search("mer_1", &SearchQuery { limit: 10, ..Default::default() }).await;
    assert!(matches!(got, Err(SearchError::Transient(_))), "got {got:?}");
    let got = indexes.replace_all("mer_1", vec![]).await;
    assert!(matches!(got, Err(SearchError::Transient(_))), "got {got:?}");
}

async fn moto_table() -> DynamoTable {
    let client = aws_sdk_dynamodb::Client::new(&moto::sdk_config().await);
    let name = format!("pivota-adapters-{}", Ulid::new().to_string().to_lowercase());
    provision::create_table(&client, &name).await.expect("create the table");
    DynamoTable::new(client, name)
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_put_keeps_the_last_of_duplicate_keys_like_sequential_puts() {
    // GIVEN 30 puts over 3 keys (BatchWriteItem itself refuses a key twice in one call)
    let table = moto_table().await;
    let items: Vec<Item> = (0..30)
        .map(|n| Item::new(ItemKey::new("P", format!("K{}", n % 3)), json!({"n": n}).as_object().unwrap().clone()))
        .collect();

    // WHEN batch-put, THEN each key holds its last value
    table.batch_put(items).await.expect("batch_put");
    for (sk, n) in [("K0", 27), ("K1", 28), ("K2", 29)] {
        let stored = table.get(&ItemKey::new("P", sk)).await.unwrap().expect("stored");
        assert_eq!(stored.attrs["n"], n);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cursor_outside_the_sort_key_prefix_is_rejected_before_dynamodb_sees_it() {
    let table = moto_table().await;
    let mut query = Query::new(Index::Primary, "P", 10);
    query.sk_prefix = Some("ORDER#".into());
    query.cursor = Some(PageCursor { key: ItemKey::new("P", "REFUND#1"), index_key: None });
    let got = table.query(query).await;
    assert!(matches!(got, Err(StoreError::InvalidCursor)), "got {got:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn reserved_attribute_names_never_reach_the_table() {
    let table = moto_table().await;
    let item = Item::new(ItemKey::new("P", "S"), json!({"gsi1pk": "sneaky"}).as_object().unwrap().clone());
    let got = table.put(item, pivota::ports::Condition::None).await;
    assert!(matches!(got, Err(StoreError::Other(_))), "got {got:?}");
    assert_eq!(table.get(&ItemKey::new("P", "S")).await.unwrap(), None);
}

/// Secrets Manager keeps a deleted secret scheduled for deletion and answers `InvalidRequestException` to
/// reads and writes of it (moto accepts the writes). With AWS's own answers, served by a stand-in endpoint:
/// the secret reads as absent, a second delete is done, and writing its name is `NameDeleted`.
#[tokio::test]
async fn a_secret_scheduled_for_deletion_reads_as_absent_and_its_name_is_refused() {
    use wiremock::matchers::{header, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let aws = MockServer::start().await;
    let answer = |message: &str| {
        ResponseTemplate::new(400)
            .insert_header("x-amzn-errortype", "InvalidRequestException")
            .insert_header("content-type", "application/x-amz-json-1.1")
            .set_body_json(json!({"__type": "InvalidRequestException", "Message": message}))
    };
    for (target, message) in [
        ("GetSecretValue", "You can't perform this operation on the secret because it was marked for deletion."),
        ("PutSecretValue", "You can't perform this operation on the secret because it was marked for deletion."),
        (
            "CreateSecret",
            "You can't create this secret because a secret with this name is already scheduled for deletion.",
        ),
        ("DeleteSecret", "You tried to perform the operation on a secret that's currently marked deleted."),
    ] {
        Mock::given(method("POST"))
            .and(header("x-amz-target", format!("secretsmanager.{target}").as_str()))
            .respond_with(answer(message))
            .mount(&aws)
            .await;
    }
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .endpoint_url(aws.uri())
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    let secrets = SecretsManagerStore::new(aws_sdk_secretsmanager::Client::new(&config));
    assert!(secrets.get("pivota/merchants/m/psp/stripe/test/01").await.unwrap().is_none());
    assert!(secrets.get_previous("pivota/merchants/m/psp/stripe/test/01").await.unwrap().is_none());
    secrets.delete("pivota/merchants/m/psp/stripe/test/01").await.unwrap();
    let put = secrets.put("pivota/merchants/m/psp/stripe/test/01", &"{}".to_owned().into()).await;
    assert!(matches!(put, Err(SecretsError::NameDeleted(_))), "{put:?}");
}

/// With a customer-managed key (the template's `MerchantSecretsKey`, `PIVOTA_SECRETS_KMS_KEY_ID`), a new
/// secret is encrypted under it, and its value reads back through it.
#[tokio::test(flavor = "multi_thread")]
async fn new_secrets_are_encrypted_under_the_customer_managed_key() {
    let config = moto::sdk_config().await;
    // moto's KMS through its JSON protocol (the SDK's KMS crate is not a dependency of Pivota).
    let created: serde_json::Value = pivota::kernel::http_client::builder()
        .build()
        .unwrap()
        .post(moto::endpoint())
        .header("x-amz-target", "TrentService.CreateKey")
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(r#"{"Description": "pivota merchant secrets (test)"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key_arn = created["KeyMetadata"]["Arn"].as_str().expect("moto created a key").to_owned();
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let secrets = SecretsManagerStore::new(client.clone()).with_kms_key(Some(key_arn.clone()));
    let name = format!("pivota-kms-{}/merchants/m/psp/stripe/test/1", Ulid::new().to_string().to_lowercase());
    secrets.put(&name, &"{\"api_key\":\"sk_test_x\"}".to_owned().into()).await.unwrap();
    let described = client.describe_secret().secret_id(&name).send().await.unwrap();
    assert_eq!(described.kms_key_id(), Some(key_arn.as_str()));
    let read = secrets.get(&name).await.unwrap().expect("the value reads back");
    assert_eq!(secrecy::ExposeSecret::expose_secret(&read), "{\"api_key\":\"sk_test_x\"}");
}
