//! `kyc-approve`: the KYC state machine's task, run after the wait.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    pivota::lambda::init_tracing();
    let app = pivota::lambda::aws_app_from_env().await?;
    pivota::lambda::serve_kyc_task(app).await
}
