//! `openapi`: GET /openapi.json.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    pivota_lambda::init_tracing();
    let app = pivota_lambda::AwsApp::from_env()?.build();
    pivota_lambda::serve_http(app, pivota_http::routes::OPENAPI).await
}
