//! The AWS call log: every IAM request the adapters make, with the function that made it
//! ([`pivota::invocation`]), so a test can check each one against that function's policy in
//! `template.yaml` (`infra/iam/check.py`).
//!
//! Off unless `PIVOTA_AWS_CALL_LOG` names a directory: then every SDK client an adapter is built with gets
//! an interceptor that appends one JSON line per distinct request to `<dir>/calls-<pid>.jsonl`. Unset
//! (production), the clients are left as they are and nothing runs per call.
//!
//! A line is what IAM authorizes, not what the SDK sends: a `TransactWriteItems` of a put and a condition
//! check is authorized as `dynamodb:PutItem` and `dynamodb:ConditionCheckItem` on each item's table (the
//! transaction has no IAM action of its own), so it is logged as those; an S3 `GetObject` or `HeadObject`
//! also as `s3:ListBucket` on the bucket, which S3 requires before it answers 404 for a missing key
//! rather than 403. Resources are logged as the program named them (table name, queue URL, secret id,
//! state machine or execution ARN, `bucket/key`, bucket); the check maps them onto the template's
//! resources. An operation this module does not know is logged with no
//! resource, which the check refuses, so a new kind of call cannot pass unexamined.

use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use serde_json::json;

/// The directory the call log is written to; unset, nothing is recorded.
pub const ENV: &str = "PIVOTA_AWS_CALL_LOG";

/// The log of this process, if one was asked for.
fn log() -> Option<&'static CallLog> {
    static LOG: OnceLock<Option<CallLog>> = OnceLock::new();
    LOG.get_or_init(|| {
        let dir = PathBuf::from(std::env::var_os(ENV).filter(|dir| !dir.is_empty())?);
        Some(CallLog { path: dir.join(format!("calls-{}.jsonl", std::process::id())), state: Mutex::default() })
    })
    .as_ref()
}

struct CallLog {
    path: PathBuf,
    state: Mutex<LogState>,
}

#[derive(Default)]
struct LogState {
    file: Option<File>,
    written: HashSet<String>,
}

impl CallLog {
    fn append(&self, line: String) -> std::io::Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if state.written.contains(&line) {
            return Ok(());
        }
        if state.file.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            state.file = Some(File::options().create(true).append(true).open(&self.path)?);
        }
        if let Some(file) = state.file.as_mut() {
            file.write_all(format!("{line}\n").as_bytes())?;
        }
        state.written.insert(line);
        Ok(())
    }
}

/// The client, with the recording interceptor when the call log is on.
macro_rules! instrument_fn {
    ($name:ident, $sdk:ident) => {
        pub(crate) fn $name(client: $sdk::Client) -> $sdk::Client {
            if log().is_none() {
                return client;
            }
            $sdk::Client::from_conf(client.config().to_builder().interceptor(CallRecorder).build())
        }
    };
}
instrument_fn!(dynamodb, aws_sdk_dynamodb);
instrument_fn!(sqs, aws_sdk_sqs);
instrument_fn!(secrets_manager, aws_sdk_secretsmanager);
instrument_fn!(step_functions, aws_sdk_sfn);
instrument_fn!(s3, aws_sdk_s3);

/// One request as IAM sees it: the action and what the program named its resource.
#[derive(Debug, PartialEq, Eq)]
struct IamRequest {
    action: String,
    /// `table`, `index` (`<table>/index/<name>`), `queue` (URL), `secret` (id), `state-machine`, `execution`,
    /// `object` (`<bucket>/<key>`), `bucket`.
    kind: &'static str,
    resource: Option<String>,
    /// The KMS key a new secret is encrypted under.
    kms_key: Option<String>,
}

impl IamRequest {
    fn on(action: &str, kind: &'static str, resource: Option<&str>) -> Self {
        Self { action: action.to_owned(), kind, resource: resource.map(str::to_owned), kms_key: None }
    }
}

#[derive(Debug)]
struct CallRecorder;

impl Intercept for CallRecorder {
    fn name(&self) -> &'static str {
        "PivotaCallRecorder"
    }

    // Not `read_before_execution`: a client's interceptors see that before the operation's own
    // configuration (its name) is in the bag.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(log) = log() else { return Ok(()) };
        let Some(metadata) = cfg.load::<Metadata>() else { return Ok(()) };
        let input = context.input();
        let function = pivota::invocation::current();
        for request in iam_requests(metadata.service(), metadata.name(), input) {
            let line = json!({
                "function": function,
                "action": request.action,
                "kind": request.kind,
                "resource": request.resource,
                "kms_key": request.kms_key,
            });
            // A log that cannot be written fails the call: a check reading a partial log would pass
            // calls it never saw.
            log.append(line.to_string()).map_err(|err| format!("writing the AWS call log: {err}"))?;
        }
        Ok(())
    }
}

/// The IAM requests one SDK operation makes.
fn iam_requests(
    service: &str,
    operation: &str,
    input: &aws_smithy_runtime_api::client::interceptors::context::Input,
) -> Vec<IamRequest> {
    use aws_sdk_dynamodb::operation as ddb;
    use aws_sdk_s3::operation as s3;
    use aws_sdk_secretsmanager::operation as sm;
    use aws_sdk_sfn::operation as sfn;
    use aws_sdk_sqs::operation as sqs;

    let prefix = match service.to_ascii_lowercase().replace(' ', "").as_str() {
        "dynamodb" => "dynamodb",
        "sqs" => "sqs",
        "secretsmanager" => "secretsmanager",
        "sfn" => "states",
        "s3" => "s3",
        other => return vec![IamRequest::on(&format!("{other}:{operation}"), "unknown", None)],
    };
    let action = |name: &str| format!("{prefix}:{name}");
    let one = |kind, resource: Option<&str>| vec![IamRequest::on(&action(operation), kind, resource)];

    if let Some(i) = input.downcast_ref::<ddb::get_item::GetItemInput>() {
        return one("table", i.table_name());
    }
    if let Some(i) = input.downcast_ref::<ddb::put_item::PutItemInput>() {
        return one("table", i.table_name());
    }
    if let Some(i) = input.downcast_ref::<ddb::delete_item::DeleteItemInput>() {
        return one("table", i.table_name());
    }
    if let Some(i) = input.downcast_ref::<ddb::update_item::UpdateItemInput>() {
        return one("table", i.table_name());
    }
    if let Some(i) = input.downcast_ref::<ddb::query::QueryInput>() {
        return match (i.table_name(), i.index_name()) {
            (Some(table), Some(index)) => one("index", Some(&format!("{table}/index/{index}"))),
            (table, None) => one("table", table),
            (None, Some(_)) => one("table", None),
        };
    }
    if let Some(i) = input.downcast_ref::<ddb::batch_get_item::BatchGetItemInput>() {
        return tables(&action(operation), i.request_items().map(|items| items.keys()));
    }
    if let Some(i) = input.downcast_ref::<ddb::batch_write_item::BatchWriteItemInput>() {
        return tables(&action(operation), i.request_items().map(|items| items.keys()));
    }
    if let Some(i) = input.downcast_ref::<ddb::transact_write_items::TransactWriteItemsInput>() {
        // Authorized item by item, each as its own action.
        return i
            .transact_items()
            .iter()
            .flat_map(|item| {
                [
                    item.put().map(|p| ("PutItem", p.table_name())),
                    item.delete().map(|d| ("DeleteItem", d.table_name())),
                    item.condition_check().map(|c| ("ConditionCheckItem", c.table_name())),
                    item.update().map(|u| ("UpdateItem", u.table_name())),
                ]
            })
            .flatten()
            .map(|(name, table)| IamRequest::on(&action(name), "table", Some(table)))
            .collect();
    }
    if let Some(i) = input.downcast_ref::<sqs::send_message::SendMessageInput>() {
        return one("queue", i.queue_url());
    }
    if let Some(i) = input.downcast_ref::<sqs::receive_message::ReceiveMessageInput>() {
        return one("queue", i.queue_url());
    }
    if let Some(i) = input.downcast_ref::<sqs::delete_message::DeleteMessageInput>() {
        return one("queue", i.queue_url());
    }
    if let Some(i) = input.downcast_ref::<sqs::change_message_visibility::ChangeMessageVisibilityInput>() {
        return one("queue", i.queue_url());
    }
    if let Some(i) = input.downcast_ref::<sm::get_secret_value::GetSecretValueInput>() {
        return one("secret", i.secret_id());
    }
    if let Some(i) = input.downcast_ref::<sm::put_secret_value::PutSecretValueInput>() {
        return one("secret", i.secret_id());
    }
    if let Some(i) = input.downcast_ref::<sm::describe_secret::DescribeSecretInput>() {
        return one("secret", i.secret_id());
    }
    if let Some(i) = input.downcast_ref::<sm::delete_secret::DeleteSecretInput>() {
        return one("secret", i.secret_id());
    }
    if let Some(i) = input.downcast_ref::<sm::create_secret::CreateSecretInput>() {
        let mut request = IamRequest::on(&action(operation), "secret", i.name());
        request.kms_key = i.kms_key_id().map(str::to_owned);
        return vec![request];
    }
    let object = |bucket: Option<&str>, key: Option<&str>| match (bucket, key) {
        (Some(bucket), Some(key)) => Some(format!("{bucket}/{key}")),
        _ => None,
    };
    // Reads: GetObject also authorizes HeadObject; a missing key is 404 only with ListBucket (see above).
    let read = |bucket: Option<&str>, key: Option<&str>| {
        vec![
            IamRequest::on(&action("GetObject"), "object", object(bucket, key).as_deref()),
            IamRequest::on(&action("ListBucket"), "bucket", bucket),
        ]
    };
    if let Some(i) = input.downcast_ref::<s3::get_object::GetObjectInput>() {
        return read(i.bucket(), i.key());
    }
    if let Some(i) = input.downcast_ref::<s3::head_object::HeadObjectInput>() {
        return read(i.bucket(), i.key());
    }
    if let Some(i) = input.downcast_ref::<s3::put_object::PutObjectInput>() {
        return one("object", object(i.bucket(), i.key()).as_deref());
    }
    if let Some(i) = input.downcast_ref::<s3::put_object_tagging::PutObjectTaggingInput>() {
        return one("object", object(i.bucket(), i.key()).as_deref());
    }
    if let Some(i) = input.downcast_ref::<s3::get_object_tagging::GetObjectTaggingInput>() {
        return one("object", object(i.bucket(), i.key()).as_deref());
    }
    if let Some(i) = input.downcast_ref::<sfn::start_execution::StartExecutionInput>() {
        return one("state-machine", i.state_machine_arn());
    }
    if let Some(i) = input.downcast_ref::<sfn::describe_execution::DescribeExecutionInput>() {
        return one("execution", i.execution_arn());
    }
    one("unknown", None)
}

fn tables<'a>(action: &str, names: Option<impl Iterator<Item = &'a String>>) -> Vec<IamRequest> {
    match names {
        Some(names) => names.map(|table| IamRequest::on(action, "table", Some(table))).collect(),
        None => vec![IamRequest::on(action, "table", None)],
    }
}
