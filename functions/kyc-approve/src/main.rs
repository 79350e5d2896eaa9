//! `kyc-approve`: the KYC state machine's task, run after the wait.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    pivota_lambda::init_tracing();
    let app = pivota_lambda::AwsApp::from_env()?.table().build();
    pivota_lambda::serve_kyc_task(app).await
}
