//! The MCP server in process, on both backends: JSON-RPC over `POST /mcp` as the Streamable HTTP transport
//! carries it, into `pivota_mcp::handle` as the `mcp` function's Lambda handler and the local runner call it.
//! The client's side here is written by hand to reach every path; the official TypeScript SDK's client
//! drives the same server through the local runner in `pivota-local`'s `mcp_client` test.

mod tools;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use lambda_http::{Body, Request};
use pivota::app::App;
use pivota::settings::Settings;
use pivota::stores::url_safety::StoreUrlPolicy;
use serde_json::{Value, json};

use crate::fixtures::{Backend, Merchant, app_on, drain_index_queue};

on_both_backends!(
    initialize_names_pivota_and_lists_ten_tools_with_schemas,
    a_missing_or_bad_key_is_401_with_the_challenge,
    the_sample_events_initialize_and_call_a_tool,
    transport_refusals_are_problems,
);

/// The protocol version the requests here ask for (one the SDK supports).
const PROTOCOL: &str = "2025-06-18";

/// An approved merchant on an app whose store URLs may be the fakes' `http://127.0.0.1:…`.
pub(super) async fn merchant(backend: Backend) -> Merchant {
    let settings = Settings { store_urls: StoreUrlPolicy { allow_insecure: true }, ..Settings::default() };
    Merchant::approved(app_on(backend, settings).await).await
}

/// One HTTP request to the MCP function: its status, headers and body (JSON, or `null`).
pub(super) async fn post(app: &Arc<App>, key: Option<&str>, body: &Value) -> (u16, http::HeaderMap, Value) {
    let mut request = http::Request::builder()
        .method("POST")
        .uri("/mcp")
        .header("host", "api.pivota.example")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    // Sent after initialization, as the transport asks (the initialize request names its version itself).
    if body["method"] != "initialize" {
        request = request.header("mcp-protocol-version", PROTOCOL);
    }
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let request: Request = request.body(Body::Text(body.to_string())).unwrap();
    let response = pivota_mcp::handle(Arc::clone(app), request).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    (status, headers, body)
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A JSON-RPC request with `key`: its `result`, which must be there.
pub(super) async fn rpc(app: &Arc<App>, key: &str, method: &str, params: Value) -> Value {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let (status, _, body) =
        post(app, Some(key), &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await;
    assert_eq!(status, 200, "{method}: {body}");
    assert_eq!(body["id"], id, "{body}");
    body.get("result").cloned().unwrap_or_else(|| panic!("{method} has no result: {body}"))
}

/// `tools/call`: `Ok(structured content)`, or `Err(the problem body)` for a tool error.
pub(super) async fn call_tool(app: &Arc<App>, key: &str, name: &str, arguments: Value) -> Result<Value, Value> {
    // A search reads the index: the indexer first catches up, as in `fixtures::api`.
    if ["search_products", "list_low_stock"].contains(&name) {
        drain_index_queue(app).await;
    }
    let result = rpc(app, key, "tools/call", json!({"name": name, "arguments": arguments})).await;
    let text = result["content"][0]["text"].as_str().unwrap_or_default();
    if result["isError"] == true {
        return Err(serde_json::from_str(text)
            .unwrap_or_else(|_| panic!("{name}: a tool error that is not a problem: {result}")));
    }
    let structured = result["structuredContent"].clone();
    assert!(structured.is_object(), "{name}: no structured content: {result}");
    // The text content carries the same JSON, for clients without structured output.
    assert_eq!(serde_json::from_str::<Value>(text).unwrap(), structured, "{name}");
    Ok(structured)
}

/// The fields a refusal names.
pub(super) fn fields(problem: &Value) -> Vec<&str> {
    problem["errors"].as_array().map(|e| e.iter().filter_map(|f| f["field"].as_str()).collect()).unwrap_or_default()
}

async fn initialize_names_pivota_and_lists_ten_tools_with_schemas(backend: Backend) {
    let m = merchant(backend).await;
    let app = &m.test.app;
    let init = rpc(
        app,
        &m.key,
        "initialize",
        json!({"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "it", "version": "1"}}),
    )
    .await;
    assert_eq!(init["serverInfo"]["name"], "pivota");
    assert_eq!(init["serverInfo"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(init["protocolVersion"], PROTOCOL, "the SDK agrees to a version it supports");
    assert!(init["capabilities"]["tools"].is_object());
    // An unknown future version gets one the SDK supports instead.
    let later = rpc(
        app,
        &m.key,
        "initialize",
        json!({"protocolVersion": "2999-01-01", "capabilities": {}, "clientInfo": {"name": "it", "version": "1"}}),
    )
    .await;
    assert_ne!(later["protocolVersion"], "2999-01-01");

    let tools = rpc(app, &m.key, "tools/list", json!({})).await;
    let tools = tools["tools"].as_array().unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "execute_payment",
            "get_order",
            "get_payment",
            "get_product",
            "get_sync_job",
            "list_low_stock",
            "list_orders",
            "list_stores",
            "search_products",
            "sync_store"
        ]
    );
    for tool in tools {
        let name = tool["name"].as_str().unwrap();
        assert_eq!(tool["inputSchema"]["type"], "object", "{name}");
        assert_eq!(tool["outputSchema"]["type"], "object", "{name}");
        let changes_state = ["execute_payment", "sync_store"].contains(&name);
        assert_eq!(tool["annotations"]["readOnlyHint"], !changes_state, "{name}");
    }
    let tool = |name: &str| tools.iter().find(|t| t["name"] == name).unwrap().clone();
    assert_eq!(tool("execute_payment")["annotations"]["destructiveHint"], true);
    assert_eq!(tool("execute_payment")["inputSchema"]["required"], json!(["idempotency_key"]));
    assert_eq!(tool("get_sync_job")["inputSchema"]["required"], json!(["store_id", "job_id"]));
    let order_fields =
        tool("get_order")["outputSchema"]["properties"].as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    for field in ["status", "payment_id", "psp_reference", "decline_code", "reason", "write_back"] {
        assert!(order_fields.iter().any(|f| f == field), "get_order's output names {field}");
    }
}

async fn a_missing_or_bad_key_is_401_with_the_challenge(backend: Backend) {
    let m = merchant(backend).await;
    let app = &m.test.app;
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    for key in [None, Some("pvk_test_not-a-key"), Some(m.owner.as_str())] {
        let (status, headers, body) = post(app, key, &list).await;
        if key == Some(m.owner.as_str()) {
            // The owner credential manages keys only, as on the REST API.
            assert_eq!(status, 403, "{body}");
            continue;
        }
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["type"], "/problems/unauthenticated");
        let challenge = headers["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Bearer "), "{challenge}");
        let metadata_url = format!("{}/.well-known/oauth-protected-resource/mcp", app.settings.public_base_url);
        assert!(challenge.contains(&format!("resource_metadata=\"{metadata_url}\"")), "{challenge}");
    }
    // The protected-resource metadata (RFC 9728) it points at.
    let request: Request = http::Request::builder()
        .uri("/.well-known/oauth-protected-resource/mcp")
        .header("host", "api.pivota.example")
        .body(Body::Empty)
        .unwrap();
    let response = pivota_mcp::handle(Arc::clone(app), request).await;
    assert_eq!(response.status(), 200);
    let metadata: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    assert_eq!(metadata["resource"], format!("{}/mcp", app.settings.public_base_url));
    assert_eq!(metadata["bearer_methods_supported"], json!(["header"]));
    assert!(metadata["pivota_api_key"]["endpoint"].as_str().unwrap().ends_with("/merchant/{merchant_id}/api-keys"));
    // The merchant's own API key gets through.
    let (status, _, _) = post(app, Some(&m.key), &list).await;
    assert_eq!(status, 200);
}

/// The `events/mcp-*.json` samples, as API Gateway delivers them to the `mcp` function.
async fn the_sample_events_initialize_and_call_a_tool(backend: Backend) {
    let m = merchant(backend).await;
    let invoke = |file: &str| {
        let text = std::fs::read_to_string(format!("{}/../events/{file}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .replace("mer_01EXAMPLE00000000000000000", &m.id)
            .replace("pvk_test_EXAMPLE000000000000000000000000", &m.key);
        let request = lambda_http::request::from_str(&text).unwrap();
        pivota_mcp::handle(Arc::clone(&m.test.app), request)
    };
    let response = invoke("mcp-initialize.json").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("mcp-session-id").is_none(), "stateless: no session");
    let init: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    assert_eq!(init["result"]["serverInfo"]["name"], "pivota");
    let response = invoke("mcp-tools-call.json").await;
    assert_eq!(response.status(), 200);
    let called: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
    assert_eq!(called["result"]["structuredContent"], json!({"items": [], "next_cursor": null}), "{called}");
}

/// The transport's own refusals (a GET for a server-sent stream this stateless server does not offer, a
/// request that does not accept JSON) are problem+json like every other refusal.
async fn transport_refusals_are_problems(backend: Backend) {
    let m = merchant(backend).await;
    let send = |method: &str, accept: &str| {
        let request: Request = http::Request::builder()
            .method(method)
            .uri("/mcp")
            .header("host", "api.pivota.example")
            .header("authorization", format!("Bearer {}", m.key))
            .header("content-type", "application/json")
            .header("accept", accept)
            .body(Body::Text(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string()))
            .unwrap();
        pivota_mcp::handle(Arc::clone(&m.test.app), request)
    };
    for (method, accept, status) in
        [("GET", "text/event-stream", 405), ("DELETE", "*/*", 405), ("POST", "text/html", 406)]
    {
        let response = send(method, accept).await;
        assert_eq!(response.status(), status, "{method} {accept}");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let problem: Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!((problem["status"].as_u64(), problem["instance"].as_str()), (Some(status.into()), Some("/mcp")));
        if status == 405 {
            assert_eq!(response.headers()["allow"], "POST");
        }
    }
}
