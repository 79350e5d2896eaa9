//! `admin-review`: POST /admin/merchants/{merchant_id}/approve, …/reject, …/suspend, …/reinstate, and
//! …/search-index/rebuild (queued for the search indexer).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    pivota_lambda::init_tracing();
    let app = pivota_lambda::AwsApp::from_env()?.table().secrets().queue().build();
    pivota_lambda::serve_http(app, pivota_http::routes::ADMIN_REVIEW).await
}
