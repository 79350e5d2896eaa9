//! Pivota's MCP server: the merchant's catalog, orders, payments and stores as tools an AI assistant can
//! call, served by the `mcp` function at `POST /mcp` (and by the local runner at the same path).
//!
//! - **Transport.** MCP's Streamable HTTP transport, from the official Rust SDK (`rmcp`), stateless
//!   (`legacy_session_mode: false`, no session manager) with JSON responses: any Lambda instance answers
//!   any request, and there is no session to lose. `GET` and `DELETE /mcp` (a server-sent stream, ending a
//!   session) answer 405, as the transport specifies for a server that offers neither.
//! - **Auth.** `Authorization: Bearer <Pivota API key>`, checked before the SDK sees the request, exactly
//!   as the REST API checks it (`pivota_http::require_merchant`): the key's merchant and mode scope every
//!   tool. Without a valid key: 401 with `WWW-Authenticate: Bearer resource_metadata="…"` (MCP's
//!   authorization spec, RFC 9728 §5.1), pointing at the protected-resource metadata served at
//!   [`METADATA_PATH`], which says how to obtain a key.
//! - **Tools.** [`tools`]; what they answer with, [`views`].
//!
//! The SDK's `Host` check (against DNS rebinding of servers on a developer's machine that trust whoever
//! reaches them) is off: this server trusts no one without an API key, which a rebound page cannot send,
//! and behind API Gateway the `Host` is the API's own domain or a custom one.

pub mod tools;
pub mod views;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use http_body_util::{BodyExt as _, Full};
use lambda_http::{Body, Request, Response};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tracing::{Instrument as _, info, info_span};

use pivota::app::App;
use pivota::kernel::error::Error;
use pivota_http::problem;
use tools::PivotaMcp;

/// The Lambda function that serves MCP.
pub const FUNCTION: &str = "mcp";
/// The MCP endpoint.
pub const PATH: &str = "/mcp";
/// The protected-resource metadata (RFC 9728) of the MCP endpoint, at the well-known path for the
/// resource `…/mcp` (§3.1), and at the host's root well-known path, which clients also try.
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource/mcp";
pub const ROOT_METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// The API Gateway routes of the `mcp` function, as declared in `template.yaml`.
pub const GATEWAY_ROUTES: [(&str, &str); 5] =
    [("POST", PATH), ("GET", PATH), ("DELETE", PATH), ("GET", METADATA_PATH), ("GET", ROOT_METADATA_PATH)];

/// The largest JSON-RPC message accepted: a tool call's arguments are small.
const MAX_BODY: usize = 64 * 1024;

/// Whether a request path is the MCP function's.
pub fn owns(path: &str) -> bool {
    path == PATH || path == METADATA_PATH || path == ROOT_METADATA_PATH
}

/// Serves one request to the MCP function.
pub async fn handle(app: Arc<App>, req: Request) -> Response<Body> {
    let request_id = pivota_http::request::request_id(&req);
    let span = info_span!("request", request_id = %request_id, method = %req.method(), path = %req.uri().path());
    let answered = async move {
        let started = Instant::now();
        let path = req.uri().path().to_owned();
        let mut response = match (req.method(), path.as_str()) {
            (&Method::GET, METADATA_PATH | ROOT_METADATA_PATH) => metadata(&app, &req, &request_id),
            (
                &Method::HEAD | &Method::POST | &Method::PUT | &Method::PATCH | &Method::DELETE,
                METADATA_PATH | ROOT_METADATA_PATH,
            ) => with_allow(problem::error_response(&Error::MethodNotAllowed, &path, &request_id), "GET"),
            (_, PATH) => match serve(app, req, &request_id).await {
                Ok(response) => response,
                Err((error, base)) => refused(&error, base.as_deref(), &request_id),
            },
            _ => problem::error_response(&Error::NotFound("route"), &path, &request_id),
        };
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert("x-request-id", value);
        }
        info!(status = response.status().as_u16(), latency_us = started.elapsed().as_micros() as u64, "handled");
        response
    }
    .instrument(span);
    pivota::invocation::serve_as(FUNCTION, answered).await
}

type Refusal = (Error, Option<String>);

/// Authenticates the key, then hands the request to the SDK's Streamable HTTP service, with a server for
/// this caller.
async fn serve(app: Arc<App>, req: Request, request_id: &str) -> Result<Response<Body>, Refusal> {
    let base = pivota_http::request::public_base(&app, &req).map_err(|e| (e, None))?;
    let caller = pivota_http::require_merchant(&app, &req).await.map_err(|e| (e, Some(base.clone())))?;
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_BODY {
        return Err((Error::PayloadTooLarge { limit: MAX_BODY }, Some(base)));
    }
    let (parts, body) = req.into_parts();
    let body = Bytes::copy_from_slice(body.as_ref());
    let mut forwarded = http::Request::builder().method(parts.method).uri(parts.uri);
    for (name, value) in &parts.headers {
        forwarded = forwarded.header(name, value);
    }
    let forwarded = forwarded.body(Full::new(body)).map_err(|e| (Error::Internal(e.to_string()), None))?;

    let server = PivotaMcp::new(app, caller, base, request_id.to_owned());
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_max_request_body_bytes(MAX_BODY)
        .disable_allowed_hosts();
    let service =
        StreamableHttpService::new(move || Ok(server.clone()), Arc::new(NeverSessionManager::default()), config);
    let answered = service.handle(forwarded).await;
    let (mut parts, body) = answered.into_parts();
    let bytes = body.collect().await.map(|collected| collected.to_bytes()).unwrap_or_default();
    let body = match String::from_utf8(bytes.to_vec()) {
        Ok(text) if is_plain_refusal(&parts) => {
            parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(problem::PROBLEM_JSON));
            Body::Text(transport_problem(parts.status, &text, request_id))
        }
        Ok(text) if text.is_empty() => Body::Empty,
        Ok(text) => Body::Text(text),
        Err(raw) => Body::Binary(raw.into_bytes()),
    };
    let mut response = Response::from_parts(parts, body);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// A refusal of the transport's own (a wrong method, no `Accept` of JSON and event streams, a body that is
/// not JSON), which the SDK answers in plain text rather than JSON-RPC.
fn is_plain_refusal(parts: &http::response::Parts) -> bool {
    let json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/event-stream"));
    (parts.status.is_client_error() || parts.status.is_server_error()) && !json
}

/// The transport's refusal as problem+json, like every other refusal, with the SDK's words as the detail.
fn transport_problem(status: StatusCode, text: &str, request_id: &str) -> String {
    let title = status.canonical_reason().unwrap_or("Refused");
    let problem = problem::Problem {
        kind: format!("/problems/{}", title.to_ascii_lowercase().replace(' ', "-")),
        title: title.to_owned(),
        status: status.as_u16(),
        detail: text.trim().chars().take(500).collect(),
        instance: PATH.to_owned(),
        request_id: request_id.to_owned(),
        errors: Vec::new(),
        extensions: Default::default(),
    };
    serde_json::to_string(&problem).unwrap_or_default()
}

/// A refusal before the SDK: problem+json, and for a missing or bad key the challenge MCP clients follow.
fn refused(error: &Error, base: Option<&str>, request_id: &str) -> Response<Body> {
    let mut response = problem::error_response(error, PATH, request_id);
    if matches!(error, Error::Unauthenticated) {
        let challenge = match base {
            Some(base) => format!(
                "Bearer realm=\"pivota\", resource_metadata=\"{base}{METADATA_PATH}\", error=\"invalid_token\", \
                 error_description=\"a Pivota API key is required: Authorization: Bearer <key>\""
            ),
            None => "Bearer realm=\"pivota\"".to_owned(),
        };
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
    }
    response
}

fn with_allow(mut response: Response<Body>, allow: &'static str) -> Response<Body> {
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// The protected-resource metadata (RFC 9728 §2): the resource, that keys go in the `Authorization`
/// header, and how to get one. There is no authorization server: a key is created in the console or with
/// `POST /merchant/{merchant_id}/api-keys`.
fn metadata(app: &App, req: &Request, request_id: &str) -> Response<Body> {
    let base = match pivota_http::request::public_base(app, req) {
        Ok(base) => base,
        Err(error) => return problem::error_response(&error, req.uri().path(), request_id),
    };
    let document = serde_json::json!({
        "resource": format!("{base}{PATH}"),
        "resource_name": "Pivota MCP server",
        "authorization_servers": [],
        "bearer_methods_supported": ["header"],
        "resource_documentation": format!("{base}/console/api-keys"),
        "pivota_api_key": {
            "how_to_obtain": "Create an API key in the Pivota console (API keys page), or with POST /merchant/{merchant_id}/api-keys using your owner credential. Send it as Authorization: Bearer <key>. A test key (pvk_test_…) acts in test mode, a live key in live mode.",
            "console": format!("{base}/console/api-keys"),
            "endpoint": format!("{base}/merchant/{{merchant_id}}/api-keys"),
        },
    });
    let mut response = Response::new(Body::Text(document.to_string()));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}
