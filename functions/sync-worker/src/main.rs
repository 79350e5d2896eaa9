//! `sync-worker`: catalog sync jobs from SQS, with partial batch failures.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    pivota::lambda::init_tracing();
    let app = pivota::lambda::aws_app_from_env().await?;
    pivota::lambda::serve_sync_worker(app).await
}
