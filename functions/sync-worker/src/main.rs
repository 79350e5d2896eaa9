//! `sync-worker`: catalog sync jobs from SQS, with partial batch failures.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    pivota_lambda::init_tracing();
    let app = pivota_lambda::AwsApp::from_env()?.table().secrets().queue().build();
    pivota_lambda::serve_sync_worker(app).await
}
