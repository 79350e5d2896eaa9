//! `payments-list`: GET /merchant/{merchant_id}/payments.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    pivota_lambda::init_tracing();
    let app = pivota_lambda::AwsApp::from_env()?.table().secrets().build();
    pivota_lambda::serve_http(app, pivota_http::routes::PAYMENTS_LIST).await
}
