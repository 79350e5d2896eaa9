//! What each function is sent and what it must answer to show it took the path meant, and the
//! environment it runs in.

use std::path::{Path, PathBuf};

use pivota_bench::runtime_api::{Outcome, RuntimeApi};
use serde_json::{Value, json};

/// What a function must answer to show it took the path we meant.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Expected {
    /// An API Gateway v2 response with this `statusCode`.
    Http(u16),
    /// An invocation error of this type.
    InvocationError(&'static str),
    /// The hello-world echo.
    Hello,
    /// An SQS batch response with no failed items.
    NoBatchFailures,
}

pub(crate) struct Case {
    pub(crate) function: String,
    pub(crate) bootstrap: PathBuf,
    pub(crate) payload: Vec<u8>,
    pub(crate) expected: Expected,
}

/// The API Gateway v2 event of `events/<file>`, changed by `edit` so the function refuses it before any
/// AWS call.
pub(crate) fn http_event(raw: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut event: Value = serde_json::from_str(raw).expect("events/*.json are valid JSON");
    edit(&mut event);
    serde_json::to_vec(&event).expect("a JSON value serializes")
}

pub(crate) fn without_authorization(event: &mut Value) {
    if let Some(headers) = event["headers"].as_object_mut() {
        headers.remove("authorization");
    }
}

/// The sample event `events/<file>` without its bearer token: 401 before the API key hasher secret or the
/// table is read.
macro_rules! unauthenticated {
    ($file:literal) => {
        (http_event(include_str!(concat!("../../../../../events/", $file)), without_authorization), Expected::Http(401))
    };
}

/// An SQS batch with no records: the worker answers with no failures, touching nothing.
fn empty_batch() -> (Vec<u8>, Expected) {
    (br#"{"Records": []}"#.to_vec(), Expected::NoBatchFailures)
}

pub(crate) fn case_for(function: &str, lambda_dir: &Path) -> Result<Case, String> {
    let (payload, expected) = match function {
        // Malformed JSON body: 400 from parsing, before the table or any secret is touched.
        "register" => (
            http_event(include_str!("../../../../../events/register.json"), |e| {
                e["body"] = json!("{\"business_name\": ")
            }),
            Expected::Http(400),
        ),
        // No bearer token: 401 before the API key hasher secret or the table is read.
        "merchant-get" => (
            http_event(include_str!("../../../../../events/merchant-get.json"), without_authorization),
            Expected::Http(401),
        ),
        // No bearer token: 401 before the admin token secret is read.
        "admin-merchants" => (
            http_event(include_str!("../../../../../events/admin-merchants.json"), without_authorization),
            Expected::Http(401),
        ),
        "admin-review" => (
            http_event(include_str!("../../../../../events/admin-review-approve.json"), without_authorization),
            Expected::Http(401),
        ),
        // Served from memory, gzipped at build time, to a client that accepts gzip (a browser, Swagger UI,
        // Python's requests).
        "openapi" => (http_event(include_str!("../../../../../events/openapi-gzip.json"), |_| ()), Expected::Http(200)),
        // The stylesheet: served before any session (or secret) is read.
        "console" => (
            http_event(include_str!("../../../../../events/console.json"), |e| {
                e["rawPath"] = json!("/console/static/app.css");
                e["requestContext"]["http"]["path"] = json!("/console/static/app.css");
                e["cookies"] = json!([]);
            }),
            Expected::Http(200),
        ),
        // Not a merchant id: a fatal task error before the table is read.
        "kyc-approve" => (
            serde_json::to_vec(&json!({ "merchant_id": "not-an-id", "wait_seconds": 5 })).expect("serializes"),
            Expected::InvocationError("KycTaskError"),
        ),
        "psp-connect" => unauthenticated!("psp-connect.json"),
        "psp-connections" => unauthenticated!("psp-connections-list.json"),
        "api-keys" => unauthenticated!("api-keys-list.json"),
        "routing" => unauthenticated!("routing-get.json"),
        "payment-execute" => unauthenticated!("payment-execute.json"),
        "payments-list" => unauthenticated!("payments-list.json"),
        "store-connect" => unauthenticated!("store-connect.json"),
        "stores-list" => unauthenticated!("stores-list.json"),
        "store-update" => unauthenticated!("store-update.json"),
        "store-disconnect" => unauthenticated!("store-disconnect.json"),
        "store-sync" => unauthenticated!("store-sync-start.json"),
        "products" => unauthenticated!("products-list.json"),
        "orders-list" => unauthenticated!("orders-list.json"),
        "webhooks-setup" => unauthenticated!("webhooks-setup.json"),
        "mcp" => unauthenticated!("mcp-tools-call.json"),
        // A platform Pivota has no webhooks for: 404 before the store is looked up.
        "order-webhook" => (
            http_event(include_str!("../../../../../events/order-webhook.json"), |e| {
                let path = e["rawPath"].as_str().unwrap_or_default().replacen("/custom/", "/magento/", 1);
                e["rawPath"] = json!(path);
                e["requestContext"]["http"]["path"] = json!(path);
                e["pathParameters"]["platform"] = json!("magento");
            }),
            Expected::Http(404),
        ),
        "sync-worker" | "payment-worker" | "search-indexer" => empty_batch(),
        "hello-lambda" => (b"{}".to_vec(), Expected::Hello),
        other => return Err(format!("no benchmark event for the function {other}")),
    };
    let bootstrap = lambda_dir.join(function).join("bootstrap");
    if !bootstrap.is_file() {
        return Err(format!("{} is missing: run `cargo lambda build --release` first", bootstrap.display()));
    }
    Ok(Case { function: function.to_owned(), bootstrap, payload, expected })
}

/// Checks the function's answer; `Ok` describes it for the table.
pub(crate) fn check(expected: Expected, outcome: &Outcome) -> Result<String, String> {
    let json = |body: &[u8]| serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
    let short = |body: &[u8]| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    match (expected, outcome) {
        (Expected::Http(status), Outcome::Response { body }) => match json(body)["statusCode"].as_u64() {
            Some(got) if got == u64::from(status) => Ok(format!("HTTP {got}")),
            Some(got) => Err(format!("HTTP {got}, expected {status}: {}", short(body))),
            None => Err(format!("not an API Gateway response: {}", short(body))),
        },
        (Expected::InvocationError(kind), Outcome::Error { error_type, body }) => {
            // lambda_runtime sends the type in the body; its header always says `unhandled`.
            let body_type = json(body)["errorType"].as_str().map(str::to_owned);
            match body_type.as_deref().or(error_type.as_deref()) {
                Some(got) if got == kind => Ok(format!("error {got}")),
                got => Err(format!("error {got:?}, expected {kind}: {}", short(body))),
            }
        }
        (Expected::Hello, Outcome::Response { body }) if json(body)["hello"] == "world" => Ok("hello world".into()),
        (Expected::NoBatchFailures, Outcome::Response { body })
            if json(body)["batchItemFailures"].as_array().is_some_and(Vec::is_empty) =>
        {
            Ok("no batch item failures".into())
        }
        (_, Outcome::InitError { error_type, body }) => Err(format!("init error {error_type:?}: {}", short(body))),
        (_, Outcome::Response { body }) => Err(format!("unexpected response: {}", short(body))),
        (_, Outcome::Error { error_type, body }) => Err(format!("unexpected error {error_type:?}: {}", short(body))),
    }
}

/// The environment Lambda gives a `provided.al2023` function, plus Pivota's configuration. The AWS
/// endpoint is a closed port, so an AWS call would show up as an error or as latency.
pub(crate) fn lambda_env(case: &Case, runtime_api: &RuntimeApi) -> Vec<(&'static str, String)> {
    vec![
        ("PATH", "/usr/local/bin:/usr/bin:/bin".into()),
        ("TZ", ":UTC".into()),
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.address().to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", case.function.clone()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", case.function)),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2025/11/26/[$LATEST]bench".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_DEFAULT_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "AKIDBENCHMARK0000000".into()),
        ("AWS_SECRET_ACCESS_KEY", "bench-secret-access-key".into()),
        ("AWS_SESSION_TOKEN", "bench-session-token".into()),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9".into()),
        ("PIVOTA_TABLE_NAME", "bench".into()),
        ("PIVOTA_KYC_STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:bench".into()),
    ]
}
