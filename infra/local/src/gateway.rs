//! Plays API Gateway (HTTP API, payload format 2.0): each HTTP request becomes the same v2 event JSON
//! that API Gateway would send, parsed by `lambda_http`'s own deserializer, and is dispatched to the
//! handler of the function that owns the route. Handlers cannot tell the runner from Lambda.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body as AxumBody, to_bytes};
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use base64::Engine as _;
use pivota::app::App;
use pivota::kernel::error::Error;
use pivota_console as console;
use pivota_http::{self as api, RouteMatch};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// API Gateway's payload limit for HTTP APIs is 10 MB; nothing of ours is near it.
const MAX_BODY: usize = 10 * 1024 * 1024;

pub async fn handle(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: http::Request<AxumBody>,
) -> Response {
    let (parts, body) = request.into_parts();
    let refused = |error: Error| {
        let response = api::problem::error_response(&error, parts.uri.path(), "local-gateway");
        let (parts, body) = response.into_parts();
        Response::from_parts(parts, AxumBody::from(body.to_vec()))
    };
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return refused(Error::PayloadTooLarge { limit: MAX_BODY });
    };
    let event = api_gateway_event(&parts, &body, peer);
    let request = match lambda_http::request::from_str(&event.to_string()) {
        Ok(request) => request,
        Err(e) => return refused(Error::bad_parameter("request", format!("is malformed: {e}"))),
    };
    let response = if pivota_mcp::owns(request.uri().path()) {
        pivota_mcp::handle(Arc::clone(&app), request).await
    } else if console::owns(request.uri().path()) {
        console::handle(&app, request).await
    } else if request.uri().path() == "/" {
        console::redirect(console::PREFIX)
    } else {
        api::dispatch(&app, api::routes::table(), request).await
    };
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, AxumBody::from(body.to_vec()))
}

/// The API Gateway v2 event for a request, with the route key and path parameters of the matching route.
fn api_gateway_event(parts: &http::request::Parts, body: &[u8], peer: SocketAddr) -> Value {
    let path = parts.uri.path();
    let (route_key, path_parameters) = match api::find_route(api::routes::table(), &parts.method, path) {
        RouteMatch::Found(route, params) => (format!("{} {}", route.method, route.path), Some(params)),
        _ if pivota_mcp::owns(path) => (format!("{} {path}", parts.method), None),
        _ if path == console::PREFIX => (format!("GET {}", console::PREFIX), None),
        _ if console::owns(path) => {
            let proxy = path.trim_start_matches(console::PREFIX).trim_start_matches('/');
            (format!("ANY {}/{{proxy+}}", console::PREFIX), Some([("proxy".to_owned(), proxy.to_owned())].into()))
        }
        _ => ("$default".to_owned(), None),
    };
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let Ok(value) = value.to_str() else { continue };
        if name == http::header::COOKIE {
            cookies.extend(value.split(';').map(|c| Value::from(c.trim())));
            continue;
        }
        // API Gateway joins repeated headers with commas.
        match headers.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(value);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), value.into());
            }
        }
    }
    let raw_query = parts.uri.query().unwrap_or_default();
    let mut query = Map::new();
    for (key, value) in url::form_urlencoded::parse(raw_query.as_bytes()) {
        match query.get_mut(key.as_ref()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                query.insert(key.into_owned(), value.into_owned().into());
            }
        }
    }
    let (body, is_base64) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(body), true),
    };
    let now = OffsetDateTime::now_utc();
    let request_id = ulid::Ulid::new().to_string();
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
        "cookies": cookies,
        "headers": headers,
        "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
        "pathParameters": path_parameters,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost"),
            "domainPrefix": "local",
            "http": {
                "method": parts.method.as_str(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": peer.ip().to_string(),
                "userAgent": parts.headers.get(http::header::USER_AGENT).and_then(|h| h.to_str().ok()).unwrap_or(""),
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format(&time::format_description::well_known::Rfc2822).unwrap_or_default(),
            "timeEpoch": now.unix_timestamp() * 1000 + i64::from(now.millisecond()),
        },
        "body": if body.is_empty() { Value::Null } else { Value::String(body) },
        "isBase64Encoded": is_base64,
    })
}
