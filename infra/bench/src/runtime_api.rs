//! A minimal Lambda Runtime API (version 2018-06-01) on 127.0.0.1 that hands one invocation to one
//! function process and records what came back, and when.
//!
//! It follows the documented contract (docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):
//! - `GET /2018-06-01/runtime/invocation/next` answers with the event as body and the headers
//!   `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms`, `Lambda-Runtime-Invoked-Function-Arn`
//!   and `Lambda-Runtime-Trace-Id`. Once the one event is handed out, later calls are held open,
//!   as Lambda holds them while the environment is frozen.
//! - `POST /2018-06-01/runtime/invocation/{id}/response` and `…/{id}/error` answer 202 Accepted, or
//!   400 for an id that was never handed out. The error type is the `Lambda-Runtime-Function-Error-Type`
//!   header.
//! - `POST /2018-06-01/runtime/init/error` answers 202 Accepted.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const ERROR_TYPE_HEADER: &str = "lambda-runtime-function-error-type";

/// The one invocation the emulator hands out.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub function_arn: String,
    pub payload: Vec<u8>,
    /// How long the function may run, from the moment it receives the event.
    pub timeout: Duration,
}

/// What the function posted back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `POST /invocation/{id}/response`.
    Response { body: Vec<u8> },
    /// `POST /invocation/{id}/error`.
    Error { error_type: Option<String>, body: Vec<u8> },
    /// `POST /init/error`: the function failed before asking for an event.
    InitError { error_type: Option<String>, body: Vec<u8> },
}

/// When something happened, on both clocks: `Instant` for durations, `SystemTime` to line up with
/// timestamps taken by other processes (strace).
#[derive(Debug, Clone, Copy)]
pub struct Moment {
    pub instant: Instant,
    pub wall: SystemTime,
}

impl Moment {
    pub fn now() -> Self {
        Self { instant: Instant::now(), wall: SystemTime::now() }
    }
}

#[derive(Default)]
struct Exchange {
    /// `None` once handed out.
    pending: Option<Invocation>,
    request_id: String,
    first_next: Option<Moment>,
    outcome: Option<oneshot::Sender<(Moment, Outcome)>>,
}

type Shared = Arc<Mutex<Exchange>>;

/// A running emulator serving one invocation. Dropping it stops accepting connections.
pub struct RuntimeApi {
    address: SocketAddr,
    exchange: Shared,
    outcome: oneshot::Receiver<(Moment, Outcome)>,
    server: JoinHandle<()>,
}

impl RuntimeApi {
    /// Binds a free port on 127.0.0.1 and serves `invocation` to the first `next` call.
    pub async fn start(invocation: Invocation) -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let address = listener.local_addr()?;
        let (sender, receiver) = oneshot::channel();
        let exchange = Arc::new(Mutex::new(Exchange {
            request_id: invocation.request_id.clone(),
            pending: Some(invocation),
            first_next: None,
            outcome: Some(sender),
        }));
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(invocation_error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(Arc::clone(&exchange));
        let server = tokio::spawn(async move {
            // Serving ends only when the task is aborted; an accept error on loopback is not expected.
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { address, exchange, outcome: receiver, server })
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// When the function first asked for an event, i.e. when its init phase ended.
    pub fn first_next(&self) -> Option<Moment> {
        lock(&self.exchange).first_next
    }

    /// Waits for the function's response, invocation error or init error.
    pub async fn outcome(&mut self) -> Option<(Moment, Outcome)> {
        (&mut self.outcome).await.ok()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn lock(exchange: &Shared) -> std::sync::MutexGuard<'_, Exchange> {
    exchange.lock().unwrap_or_else(PoisonError::into_inner)
}

fn record(exchange: &Shared, outcome: Outcome) {
    let at = Moment::now();
    if let Some(sender) = lock(exchange).outcome.take() {
        let _ = sender.send((at, outcome));
    }
}

async fn next(State(exchange): State<Shared>) -> Response {
    let now = Moment::now();
    let invocation = {
        let mut exchange = lock(&exchange);
        exchange.first_next.get_or_insert(now);
        exchange.pending.take()
    };
    let Some(invocation) = invocation else {
        // The one event has been handed out: hold the call, as a frozen environment would.
        return std::future::pending().await;
    };
    let deadline = (now.wall + invocation.timeout).duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in [
        ("lambda-runtime-aws-request-id", invocation.request_id.clone()),
        ("lambda-runtime-deadline-ms", deadline.as_millis().to_string()),
        ("lambda-runtime-invoked-function-arn", invocation.function_arn.clone()),
        ("lambda-runtime-trace-id", trace_id(&invocation.request_id)),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    (StatusCode::OK, headers, invocation.payload).into_response()
}

/// An X-Ray header in the documented shape; the function only passes it on.
fn trace_id(request_id: &str) -> String {
    let digest: u64 =
        request_id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    format!("Root=1-00000000-{digest:024x};Parent={digest:016x};Sampled=0")
}

fn known_request(exchange: &Shared, id: &str) -> bool {
    lock(exchange).request_id == id
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, [(header::CONTENT_TYPE, "application/json")], r#"{"status":"OK"}"#).into_response()
}

fn invalid_request_id() -> Response {
    let body = r#"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#;
    (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn error_type(headers: &HeaderMap) -> Option<String> {
    headers.get(ERROR_TYPE_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

async fn response(State(exchange): State<Shared>, Path(id): Path<String>, body: Bytes) -> Response {
    if !known_request(&exchange, &id) {
        return invalid_request_id();
    }
    record(&exchange, Outcome::Response { body: body.to_vec() });
    accepted()
}

async fn invocation_error(
    State(exchange): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !known_request(&exchange, &id) {
        return invalid_request_id();
    }
    record(&exchange, Outcome::Error { error_type: error_type(&headers), body: body.to_vec() });
    accepted()
}

async fn init_error(State(exchange): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    record(&exchange, Outcome::InitError { error_type: error_type(&headers), body: body.to_vec() });
    accepted()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invocation() -> Invocation {
        Invocation {
            request_id: "req-1".into(),
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:f".into(),
            payload: br#"{"a":1}"#.to_vec(),
            timeout: Duration::from_secs(30),
        }
    }

    #[tokio::test]
    async fn hands_out_the_event_then_records_the_response() {
        let mut api = RuntimeApi::start(invocation()).await.unwrap();
        let base = format!("http://{}/2018-06-01/runtime", api.address());
        let client = pivota::kernel::http_client::builder().build().unwrap();

        let next = client.get(format!("{base}/invocation/next")).send().await.unwrap();
        assert_eq!(next.status(), 200);
        let headers = next.headers().clone();
        assert_eq!(headers["lambda-runtime-aws-request-id"], "req-1");
        assert_eq!(headers["lambda-runtime-invoked-function-arn"], "arn:aws:lambda:us-east-1:123456789012:function:f");
        assert!(headers["lambda-runtime-trace-id"].to_str().unwrap().starts_with("Root=1-"));
        let deadline: u128 = headers["lambda-runtime-deadline-ms"].to_str().unwrap().parse().unwrap();
        assert!(deadline > SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis());
        assert_eq!(next.bytes().await.unwrap().as_ref(), br#"{"a":1}"#);
        assert!(api.first_next().is_some());

        let wrong = client.post(format!("{base}/invocation/other/response")).body("{}").send().await.unwrap();
        assert_eq!(wrong.status(), 400);

        let posted =
            client.post(format!("{base}/invocation/req-1/response")).body("{\"ok\":true}").send().await.unwrap();
        assert_eq!(posted.status(), 202);
        let (_, outcome) = api.outcome().await.unwrap();
        assert_eq!(outcome, Outcome::Response { body: b"{\"ok\":true}".to_vec() });

        // The second `next` is held open.
        let held =
            tokio::time::timeout(Duration::from_millis(200), client.get(format!("{base}/invocation/next")).send());
        assert!(held.await.is_err());
    }

    /// A fresh Runtime API that received one error report on `path` (`invocation/req-1/error`, `init/error`).
    async fn reported(path: &str, error_type: &str) -> (RuntimeApi, Outcome) {
        let mut api = RuntimeApi::start(invocation()).await.unwrap();
        let posted = pivota::kernel::http_client::builder()
            .build()
            .unwrap()
            .post(format!("http://{}/2018-06-01/runtime/{path}", api.address()))
            .header("Lambda-Runtime-Function-Error-Type", error_type)
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), 202);
        let (_, outcome) = api.outcome().await.unwrap();
        (api, outcome)
    }

    #[tokio::test]
    async fn records_invocation_and_init_errors_with_their_type() {
        let (_, outcome) = reported("invocation/req-1/error", "KycTaskError").await;
        assert_eq!(outcome, Outcome::Error { error_type: Some("KycTaskError".into()), body: b"{}".to_vec() });

        let (api, outcome) = reported("init/error", "Runtime.InitError").await;
        assert_eq!(outcome, Outcome::InitError { error_type: Some("Runtime.InitError".into()), body: b"{}".to_vec() });
        assert!(api.first_next().is_none());
    }
}
