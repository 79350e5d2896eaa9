//! Glue for the Lambda binaries: build the [`App`] on the AWS adapters a function uses ([`AwsApp`]) and
//! run a handler under the Lambda runtime. Nothing here makes a network call or loads the AWS SDK: the
//! adapters, and the secrets, are set up on first use.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_http::{Body, Request, Response, service_fn};
use lambda_runtime::{Diagnostic, LambdaEvent};

use pivota::app::App;
use pivota::onboarding::kyc_task;
use pivota_http::Route;

mod logging;
mod wiring;
pub use wiring::{AwsApp, Unwired};

/// Logs as JSON when Lambda's `AWS_LAMBDA_LOG_FORMAT` is `JSON`, at `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`'s
/// directives ([`logging`]).
pub fn init_tracing() {
    logging::init();
}

/// Serves one function's HTTP routes (its list in `pivota_http::routes`).
pub async fn serve_http(app: App, routes: &'static [Route]) -> Result<(), lambda_http::Error> {
    let app = Arc::new(app);
    // Collected once: every request matches against the same list.
    let routes: Arc<[&'static Route]> = routes.iter().collect();
    lambda_http::run(service_fn(move |req: Request| {
        let (app, routes) = (Arc::clone(&app), Arc::clone(&routes));
        async move { Ok::<_, Infallible>(pivota_http::dispatch(&app, &routes, req).await) }
    }))
    .await
}

/// Serves HTTP requests with `handler` (the console, which answers every path under `/console` itself).
pub async fn serve_requests<F, Fut>(app: App, handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(Arc<App>, Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send,
{
    let app = Arc::new(app);
    let handler = Arc::new(handler);
    lambda_http::run(service_fn(move |req: Request| {
        let (app, handler) = (Arc::clone(&app), Arc::clone(&handler));
        async move { Ok::<_, Infallible>(handler(app, req).await) }
    }))
    .await
}

/// Serves the `sync-worker`: SQS batches with partial failures, each run bounded by the invocation's
/// deadline.
pub async fn serve_sync_worker(app: App) -> Result<(), lambda_http::Error> {
    serve_queue(app, |app, event, deadline| Box::pin(pivota::lifecycle::sync_worker::handle(app, event, deadline)))
        .await
}

/// Serves the `payment-worker`: store orders from SQS, with partial batch failures.
pub async fn serve_payment_worker(app: App) -> Result<(), lambda_http::Error> {
    serve_queue(app, |app, event, deadline| Box::pin(pivota::orders::payment_worker::handle(app, event, deadline)))
        .await
}

/// Serves the `search-indexer`: product changes from the index queue (FIFO, one merchant's messages one at
/// a time), with partial batch failures.
pub async fn serve_search_indexer(app: App) -> Result<(), lambda_http::Error> {
    serve_queue(app, |app, event, _| Box::pin(pivota::catalog::search::indexer::handle(app, event))).await
}

/// A queue-fed function's handler: a batch, and the invocation's deadline.
type QueueHandler =
    for<'a> fn(&'a App, SqsEvent, std::time::Instant) -> Pin<Box<dyn Future<Output = SqsBatchResponse> + Send + 'a>>;

async fn serve_queue(app: App, handler: QueueHandler) -> Result<(), lambda_http::Error> {
    let app = Arc::new(app);
    lambda_runtime::run(lambda_runtime::service_fn(move |event: LambdaEvent<SqsEvent>| {
        let app = Arc::clone(&app);
        async move {
            let deadline = instant_of(event.context.deadline);
            Ok::<_, Infallible>(handler(app.as_ref(), event.payload, deadline).await)
        }
    }))
    .await
}

/// Lambda's deadline (milliseconds since the Unix epoch) as an `Instant`.
fn instant_of(deadline_ms: u64) -> std::time::Instant {
    let now_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
    std::time::Instant::now() + std::time::Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

/// Serves the `kyc-approve` task, invoked by the KYC state machine.
pub async fn serve_kyc_task(app: App) -> Result<(), lambda_http::Error> {
    let app = Arc::new(app);
    lambda_runtime::run(lambda_runtime::service_fn(move |event: LambdaEvent<kyc_task::KycTaskInput>| {
        let app = Arc::clone(&app);
        async move {
            kyc_task::handle_event(app.as_ref(), event.payload).await.map_err(|error| Diagnostic {
                error_type: error.error_type().to_owned(),
                error_message: error.to_string(),
            })
        }
    }))
    .await
}
