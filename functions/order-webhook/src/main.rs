//! `order-webhook`: POST /webhooks/{platform}/{store_id}.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    pivota::lambda::init_tracing();
    let app = pivota::lambda::aws_app_from_env().await?;
    pivota::lambda::serve_http(app, "order-webhook").await
}
