//! `products`: GET /merchant/{merchant_id}/products and PATCH …/products/{product_id}.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    pivota_lambda::init_tracing();
    let app = pivota_lambda::AwsApp::from_env()?.table().secrets().queue().search().build();
    pivota_lambda::serve_http(app, pivota_http::routes::PRODUCTS).await
}
