//! `payment-worker`: pays store orders from SQS, then marks them paid in the store.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    pivota_lambda::init_tracing();
    let app = pivota_lambda::AwsApp::from_env()?.table().secrets().queue().build();
    pivota_lambda::serve_payment_worker(app).await
}
