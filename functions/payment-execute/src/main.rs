//! `payment-execute`: POST /payment/execute.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    pivota_lambda::init_tracing();
    let app = pivota_lambda::aws_app_from_env().await?;
    pivota_lambda::serve_http(app, pivota_http::routes::PAYMENT_EXECUTE).await
}
