//! `api-keys`: POST, GET /merchant/{merchant_id}/api-keys and DELETE …/api-keys/{key_id}.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    pivota_lambda::init_tracing();
    let app = pivota_lambda::AwsApp::from_env()?.table().secrets().build();
    pivota_lambda::serve_http(app, pivota_http::routes::API_KEYS).await
}
