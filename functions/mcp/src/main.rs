//! `mcp`: Pivota's MCP server, POST /mcp (GET and DELETE answer 405), and its protected-resource metadata
//! at /.well-known/oauth-protected-resource[/mcp].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    pivota_lambda::init_tracing();
    let app = pivota_lambda::AwsApp::from_env()?.table().secrets().queue().search().build();
    pivota_lambda::serve_requests(app, pivota_mcp::handle).await
}
