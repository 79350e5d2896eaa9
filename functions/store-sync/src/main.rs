//! `store-sync`: POST /merchant/{merchant_id}/store/{store_id}/sync and GET …/sync/{job_id}.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    pivota_lambda::init_tracing();
    let app = pivota_lambda::AwsApp::from_env()?.table().secrets().queue().build();
    pivota_lambda::serve_http(app, pivota_http::routes::STORE_SYNC).await
}
