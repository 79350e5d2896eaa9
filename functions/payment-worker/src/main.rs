//! `payment-worker`: pays store orders from SQS, then marks them paid in the store.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    pivota::lambda::init_tracing();
    let app = pivota::lambda::aws_app_from_env().await?;
    pivota::lambda::serve_payment_worker(app).await
}
