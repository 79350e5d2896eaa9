//! `register`: POST /merchant/register.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    pivota_lambda::init_tracing();
    let app = pivota_lambda::AwsApp::from_env()?.table().secrets().workflow().build();
    pivota_lambda::serve_http(app, pivota_http::routes::REGISTER).await
}
