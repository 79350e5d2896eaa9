//! `console`: the web console's pages, GET /console and ANY /console/{proxy+}.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    pivota::lambda::init_tracing();
    let app = pivota::lambda::aws_app_from_env().await?;
    pivota::lambda::serve_console(app).await
}
