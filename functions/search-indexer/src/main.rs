//! `search-indexer`: product changes from the index queue (SQS FIFO, the merchant as message group) into
//! each merchant's search index in S3, and rebuilds of an index from the table.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    pivota_lambda::init_tracing();
    let app = pivota_lambda::AwsApp::from_env()?.table().search().build();
    pivota_lambda::serve_search_indexer(app).await
}
