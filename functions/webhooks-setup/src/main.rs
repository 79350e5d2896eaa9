//! `webhooks-setup`: POST /merchant/{merchant_id}/store/{store_id}/webhooks/setup.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    pivota_lambda::init_tracing();
    let app = pivota_lambda::AwsApp::from_env()?.table().secrets().build();
    pivota_lambda::serve_http(app, pivota_http::routes::WEBHOOKS_SETUP).await
}
