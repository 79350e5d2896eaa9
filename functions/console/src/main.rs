//! `console`: the web console's pages, GET /console and ANY /console/{proxy+}.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    pivota_lambda::init_tracing();
    let app = pivota_lambda::AwsApp::from_env()?.table().secrets().queue().workflow().search().build();
    pivota_lambda::serve_requests(app, |app, req| async move { pivota_console::handle(&app, req).await }).await
}
