//! `webhooks-setup`: POST /merchant/{merchant_id}/store/{store_id}/webhooks/setup.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    pivota::lambda::init_tracing();
    let app = pivota::lambda::aws_app_from_env().await?;
    pivota::lambda::serve_http(app, "webhooks-setup").await
}
