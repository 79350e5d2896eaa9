//! Test support: an [`App`] on either backend, and calls through the HTTP API as API Gateway makes them.

#![allow(dead_code)]

#[path = "../conformance/moto.rs"]
pub mod moto;
pub mod shop;

use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use pivota::app::{App, Ports};
use pivota::kernel::secret::{SecretString, random_token};
use pivota::onboarding::kyc_task;
use pivota::ports::{KycWaitInput, Secrets, SystemClock};
use pivota::settings::Settings;
use pivota_aws::{DynamoTable, SecretsManagerStore, SqsQueue, StepFunctionsWorkflow, provision};
use pivota_embedded::EmbeddedBackend;
use pivota_http::{self as api};
use serde_json::Value;

/// Declares each named case as a test on the embedded backend and on moto: `async fn case(backend: Backend)`,
/// or, after `app:`, `async fn case(test: TestApp)` given an app with the default settings. The one
/// definition every test file uses (`#[macro_use] mod support;`).
#[allow(unused_macros)]
macro_rules! on_both_backends {
    (app: $($case:ident),* $(,)?) => {
        mod embedded { $(#[tokio::test(flavor = "multi_thread")] async fn $case() { super::$case(super::support::app_on(super::support::Backend::Embedded, pivota::settings::Settings::default()).await).await })* }
        mod moto { $(#[tokio::test(flavor = "multi_thread")] async fn $case() { super::$case(super::support::app_on(super::support::Backend::Moto, pivota::settings::Settings::default()).await).await })* }
    };
    ($($case:ident),* $(,)?) => {
        mod embedded { $(#[tokio::test(flavor = "multi_thread")] async fn $case() { super::$case(super::support::Backend::Embedded).await })* }
        mod moto { $(#[tokio::test(flavor = "multi_thread")] async fn $case() { super::$case(super::support::Backend::Moto).await })* }
    };
}

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

pub struct TestApp {
    pub app: App,
    /// The embedded backend, when the app runs on it.
    pub backend: Option<EmbeddedBackend>,
    _dir: Option<tempfile::TempDir>,
}

async fn with_platform_secrets(secrets: &dyn Secrets, settings: &Settings) {
    secrets.put(&settings.api_key_pepper_secret_id, &random_token(32)).await.unwrap();
    secrets.put(&settings.admin_token_secret_id, &SecretString::from(ADMIN_TOKEN)).await.unwrap();
}

/// An app on the embedded backend in a temporary directory.
pub async fn embedded_app(settings: Settings) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let backend = EmbeddedBackend::open(dir.path()).unwrap();
    declare_sync_queue(&backend, &settings).await;
    with_platform_secrets(backend.secrets().as_ref(), &settings).await;
    let ports = backend.ports();
    TestApp { app: App::new(ports, settings), backend: Some(backend), _dir: Some(dir) }
}

/// The embedded work queues (sync, payments), each with a dead-letter queue after 5 receives, as the local
/// runner declares them.
pub async fn declare_sync_queue(backend: &EmbeddedBackend, settings: &Settings) {
    let queue = backend.queue();
    for work in [&settings.sync_queue, &settings.payment_queue] {
        let dead_letter = format!("{}-dlq", work.0);
        let config = pivota_embedded::QueueConfig { max_receive_count: 0, dead_letter: None };
        queue.declare(&dead_letter, config).await.unwrap();
        // More receives than production's 5 before dead-lettering: tests inject failures on purpose.
        let config = pivota_embedded::QueueConfig { max_receive_count: 12, dead_letter: Some(dead_letter) };
        queue.declare(&work.0, config).await.unwrap();
    }
}

/// An app on the AWS adapters against moto, with its own table, secrets and state machine.
pub async fn moto_app(mut settings: Settings) -> TestApp {
    let config = moto::sdk_config().await;
    let run = ulid::Ulid::new().to_string().to_lowercase();
    let table_name = format!("pivota-{run}");
    provision::create_table(&aws_sdk_dynamodb::Client::new(&config), &table_name).await.unwrap();
    let sfn = aws_sdk_sfn::Client::new(&config);
    let definition = moto::kyc_definition(&moto::kyc_approve_function_arn());
    let state_machine =
        provision::create_state_machine(&sfn, &format!("kyc-{run}"), &definition, &moto::state_machine_role_arn())
            .await
            .unwrap();
    settings.admin_token_secret_id = format!("{run}/admin-token");
    settings.api_key_pepper_secret_id = format!("{run}/pepper");
    settings.secret_namespace = run.clone();
    let (sync_queue, _) =
        provision::create_queue_with_dlq(&aws_sdk_sqs::Client::new(&config), &format!("sync-{run}"), 5).await.unwrap();
    settings.sync_queue = sync_queue;
    let (payment_queue, _) =
        provision::create_queue_with_dlq(&aws_sdk_sqs::Client::new(&config), &format!("pay-{run}"), 12).await.unwrap();
    settings.payment_queue = payment_queue;
    let secrets = SecretsManagerStore::new(aws_sdk_secretsmanager::Client::new(&config));
    with_platform_secrets(&secrets, &settings).await;
    let ports = Ports {
        table: Arc::new(DynamoTable::new(aws_sdk_dynamodb::Client::new(&config), table_name)),
        secrets: Arc::new(secrets),
        workflow: Arc::new(StepFunctionsWorkflow::new(sfn, state_machine)),
        queue: Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(&config))),
        clock: Arc::new(SystemClock),
    };
    TestApp { app: App::new(ports, settings), backend: None, _dir: None }
}

/// Which adapters a test runs on.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Embedded,
    Moto,
}

pub async fn app_on(backend: Backend, settings: Settings) -> TestApp {
    match backend {
        Backend::Embedded => embedded_app(settings).await,
        Backend::Moto => moto_app(settings).await,
    }
}

/// An app talking to local fakes: store URLs may be `http://127.0.0.1:…`, and Stripe is at
/// `stripe_api_base`.
pub async fn app_with_fakes(backend: Backend, stripe_api_base: String) -> TestApp {
    let settings = Settings {
        store_urls: pivota::stores::url_safety::StoreUrlPolicy { allow_insecure: true },
        connectors: pivota::payments::connectors::ConnectorSettings {
            stripe_api_base,
            request_timeout: std::time::Duration::from_secs(5),
            ..Default::default()
        },
        ..Settings::default()
    };
    app_on(backend, settings).await
}

/// Every item in one partition of the table (for checks that no secret is stored, or of item sizes).
pub async fn partition(app: &App, pk: &str) -> Vec<pivota::ports::Item> {
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let mut query = pivota::ports::Query::new(pivota::ports::Index::Primary, pk, 1000);
        query.cursor = cursor;
        let page = app.table.query(query).await.unwrap();
        items.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return items,
        }
    }
}

/// A call through every route, as the local runner and API Gateway make it.
pub struct Call<'a> {
    app: &'a App,
    builder: http::request::Builder,
    body: Option<Body>,
}

pub fn call<'a>(app: &'a App, method: &str, path: &str) -> Call<'a> {
    Call { app, builder: http::Request::builder().method(method).uri(path), body: None }
}

impl Call<'_> {
    pub fn bearer(mut self, token: &str) -> Self {
        self.builder = self.builder.header("authorization", format!("Bearer {token}"));
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.builder = self.builder.header("content-type", "application/json");
        self.body = Some(Body::Text(body.to_string()));
        self
    }

    /// A body of raw bytes (webhook deliveries, whose signature covers these exact bytes), sent as JSON
    /// unless a content type was set.
    pub fn raw(mut self, body: Vec<u8>) -> Self {
        if !self.builder.headers_ref().is_some_and(|headers| headers.contains_key("content-type")) {
            self.builder = self.builder.header("content-type", "application/json");
        }
        self.body = Some(Body::Binary(body));
        self
    }

    pub async fn send(self) -> (u16, Value) {
        let response = self.response().await;
        let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
        (response.status().as_u16(), body)
    }

    pub async fn response(self) -> Response<Body> {
        let body = self.body.unwrap_or(Body::Empty);
        let request: Request = self.builder.body(body).unwrap();
        // Query strings reach handlers as API Gateway passes them: parsed.
        let query: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes()).into_owned().collect();
        let request = lambda_http::RequestExt::with_query_string_parameters(request, query);
        let routes: Vec<&api::Route> = api::routes::all().collect();
        api::dispatch(self.app, &routes, request).await
    }
}

/// Every item of a paginated list (`{items, next_cursor}`) at `path`, following the cursors.
pub async fn list_all(app: &App, key: &str, path: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    let separator = if path.contains('?') { '&' } else { '?' };
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}{separator}limit=100&cursor={c}"),
            None => format!("{path}{separator}limit=100"),
        };
        let (status, page) = call(app, "GET", &url).bearer(key).send().await;
        assert_eq!(status, 200, "{page}");
        all.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return all,
        }
    }
}

/// Registers a merchant and runs its KYC task: an approved merchant and its first (test) key.
pub async fn approved_merchant(app: &App, email: &str) -> (String, String) {
    let (id, key, _owner) = approved_merchant_with_owner(app, email).await;
    (id, key)
}

/// As [`approved_merchant`], also returning the owner credential shown at registration.
pub async fn approved_merchant_with_owner(app: &App, email: &str) -> (String, String, String) {
    let (status, body) = call(app, "POST", "/merchant/register")
        .json(serde_json::json!({"business_name": "Acme", "email": email, "country": "DE", "website": "https://acme.example"}))
        .send()
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["merchant_id"].as_str().unwrap().to_owned();
    kyc_task::handle(app, KycWaitInput { merchant_id: id.clone(), wait_seconds: 0 }).await.unwrap();
    let owner = body["owner_credential"].as_str().unwrap().to_owned();
    assert!(owner.starts_with("pvo_"), "{body}");
    (id, body["api_key"].as_str().unwrap().to_owned(), owner)
}

/// Plays the sync worker's event source until the queue is empty: each message is one invocation with
/// `deadline_after` of time, deleted unless reported as failed. Returns the invocations made.
pub async fn drain_sync_queue(app: &App, deadline_after: std::time::Duration) -> usize {
    let mut invocations = 0;
    let mut idle_rounds = 0;
    while idle_rounds < 3 {
        let messages =
            app.queue.receive(&app.settings.sync_queue, 1, std::time::Duration::from_secs(60)).await.unwrap();
        let Some(message) = messages.into_iter().next() else {
            idle_rounds += 1;
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            continue;
        };
        idle_rounds = 0;
        invocations += 1;
        let mut record = aws_lambda_events::event::sqs::SqsMessage::default();
        record.message_id = Some(message.message_id.clone());
        record.body = Some(message.body.clone());
        let mut event = aws_lambda_events::event::sqs::SqsEvent::default();
        event.records.push(record);
        let response =
            pivota::catalog::sync_worker::handle(app, event, std::time::Instant::now() + deadline_after).await;
        assert!(response.batch_item_failures.is_empty(), "a sync invocation failed: {response:?}");
        app.queue.delete(&app.settings.sync_queue, &message.receipt_handle).await.unwrap();
    }
    invocations
}

/// Plays the payment worker's event source until the payment queue stays empty for 2.4 s: batches of up
/// to 10, a 1 s visibility timeout so failed messages come back quickly (the worker's own backoff brings a
/// failed message back after 1 s, then 2 s, …). Returns the invocations made.
pub async fn drain_payment_queue(app: &App) -> usize {
    let mut invocations = 0;
    let mut idle_rounds = 0;
    while idle_rounds < 6 {
        let messages =
            app.queue.receive(&app.settings.payment_queue, 10, std::time::Duration::from_secs(1)).await.unwrap();
        if messages.is_empty() {
            idle_rounds += 1;
            tokio::time::sleep(std::time::Duration::from_millis(400)).await;
            continue;
        }
        idle_rounds = 0;
        invocations += 1;
        let mut event = aws_lambda_events::event::sqs::SqsEvent::default();
        for message in &messages {
            let mut record = aws_lambda_events::event::sqs::SqsMessage::default();
            record.message_id = Some(message.message_id.clone());
            record.receipt_handle = Some(message.receipt_handle.clone());
            record.attributes.insert("ApproximateReceiveCount".into(), message.receive_count.to_string());
            record.body = Some(message.body.clone());
            event.records.push(record);
        }
        // As Lambda gives the worker: a deadline (the function's 120 s timeout, less here).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let response = pivota::orders::payment_worker::handle(app, event, deadline).await;
        for message in messages {
            if !response.batch_item_failures.iter().any(|f| f.item_identifier == message.message_id) {
                app.queue.delete(&app.settings.payment_queue, &message.receipt_handle).await.unwrap();
            }
        }
    }
    invocations
}

/// The app's queue, failing the first `send` (as an SQS outage would) and then working.
struct FailingOnce {
    inner: Arc<dyn pivota::ports::Queue>,
    sends: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl pivota::ports::Queue for FailingOnce {
    async fn send(
        &self,
        queue: &pivota::ports::QueueRef,
        body: &str,
        delay: std::time::Duration,
    ) -> Result<String, pivota::ports::QueueError> {
        if self.sends.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            return Err(pivota::ports::QueueError::Transient("injected: the queue is briefly unavailable".into()));
        }
        self.inner.send(queue, body, delay).await
    }
    async fn receive(
        &self,
        queue: &pivota::ports::QueueRef,
        max: u32,
        visibility: std::time::Duration,
    ) -> Result<Vec<pivota::ports::ReceivedMessage>, pivota::ports::QueueError> {
        self.inner.receive(queue, max, visibility).await
    }
    async fn delete(
        &self,
        queue: &pivota::ports::QueueRef,
        receipt_handle: &str,
    ) -> Result<(), pivota::ports::QueueError> {
        self.inner.delete(queue, receipt_handle).await
    }
    async fn change_visibility(
        &self,
        queue: &pivota::ports::QueueRef,
        receipt_handle: &str,
        visible_after: std::time::Duration,
    ) -> Result<(), pivota::ports::QueueError> {
        self.inner.change_visibility(queue, receipt_handle, visible_after).await
    }
}

/// An app on `shared`'s table, secrets and queue whose first queue `send` fails.
pub fn queue_failing_once(shared: &App) -> App {
    App::new(
        Ports {
            table: shared.table.clone(),
            secrets: shared.secrets.clone(),
            workflow: shared.workflow.clone(),
            queue: Arc::new(FailingOnce { inner: shared.queue.clone(), sends: Default::default() }),
            clock: shared.clock.clone(),
        },
        shared.settings.clone(),
    )
}
