//! Completes the generated document with what every operation shares, so no operation can forget it:
//! - the error statuses each operation can return, from what it has (credentials, a body, path or query
//!   parameters), each with the problem+json schema: 400, 401 (with `WWW-Authenticate`), 403, 404, 405
//!   (with `Allow`), 413, 415, 422, 500 and 503 (with `Retry-After`);
//! - the problem+json schema on error responses annotated with a content type only;
//! - the webhook signature schemes on the store webhook;
//! - OpenAPI links from each operation that creates a resource to those that read or change it, so a
//!   client (and schemathesis' stateful phase) can chain them.
//!
//! It works on the document as JSON (utoipa's types drop a link's `operationId` on the way back): what it
//! adds is plain OpenAPI, and the result is checked against the
//! OpenAPI 3.1 schema by the contract test (`infra/scripts/api-contract-test.sh`).

use serde_json::{Map, Value, json};

const PROBLEM_REF: &str = "#/components/schemas/Problem";
const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];

/// The webhook signature schemes: each platform signs with the store's webhook secret (the raw body; the
/// custom contract also the topic and a timestamp).
const WEBHOOK_SCHEMES: [(&str, &str, &str); 3] = [
    ("shopify_webhook_hmac", "X-Shopify-Hmac-Sha256", "Shopify: base64 HMAC-SHA256 of the raw body"),
    ("woocommerce_webhook_signature", "X-WC-Webhook-Signature", "WooCommerce: base64 HMAC-SHA256 of the raw body"),
    (
        "custom_webhook_signature",
        "X-Pivota-Signature",
        "The custom store contract: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<X-Pivota-Topic>.<raw body>\">; \
         a t more than 300 s from Pivota's clock is refused",
    ),
];

pub fn complete(document: &mut Value) {
    add_webhook_schemes(document);
    let Some(paths) = document["paths"].as_object_mut() else { return };
    for (path, item) in paths.iter_mut() {
        let allowed: Vec<String> =
            METHODS.iter().filter(|m| item.get(**m).is_some()).map(|m| m.to_uppercase()).collect();
        for method in METHODS {
            if let Some(operation) = item.get_mut(method) {
                complete_operation(path, operation, &allowed.join(", "));
            }
        }
    }
    add_links(document);
}

fn add_webhook_schemes(document: &mut Value) {
    let schemes = &mut document["components"]["securitySchemes"];
    for (name, header, description) in WEBHOOK_SCHEMES {
        schemes[name] = json!({"type": "apiKey", "in": "header", "name": header, "description": description});
    }
    if let Some(operation) = document["paths"]["/webhooks/{platform}/{store_id}"].get_mut("post") {
        let alternatives: Vec<Value> = WEBHOOK_SCHEMES.iter().map(|(name, ..)| json!({ *name: [] })).collect();
        operation["security"] = Value::Array(alternatives);
        let description = operation["description"].as_str().unwrap_or_default().to_owned();
        operation["description"] = format!(
            "{description}\n\nWix deliveries are a JWT signed with the app's public key, sent as the body; the other \
             platforms sign the raw body with the store's webhook secret (the security schemes)."
        )
        .trim()
        .into();
    }
}

fn complete_operation(path: &str, operation: &mut Value, allowed: &str) {
    let schemes: Vec<String> = operation["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|requirement| requirement.keys().cloned())
        .collect();
    let merchant = schemes.iter().any(|s| s == "merchant_api_key");
    let authenticated = !schemes.is_empty();
    let has_body = operation.get("requestBody").is_some();
    let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
    let has_query = parameters.iter().any(|p| p["in"] == "query");
    let has_path = path.contains('{');
    let has_header = parameters.iter().any(|p| p["in"] == "header" && p["required"] == true);
    let is_document = path == "/openapi.json";
    // The paging parameters are read by one function (`request::paging`) for every listing.
    for parameter in operation.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
        match (parameter["in"].as_str(), parameter["name"].as_str()) {
            (Some("query"), Some("limit")) => {
                parameter["schema"] = json!({"type": "integer", "minimum": 1, "maximum": 100})
            }
            (Some("query"), Some("cursor")) => parameter["schema"] = json!({"type": "string"}),
            _ => {}
        }
    }

    let responses = operation["responses"].as_object_mut().expect("every operation has responses");
    let mut add = |status: &str, description: &str, headers: Option<Value>| {
        let response = responses.entry(status.to_owned()).or_insert_with(|| json!({ "description": description }));
        if status.starts_with(['4', '5']) {
            response["content"] = json!({ super::super::problem::PROBLEM_JSON: { "schema": { "$ref": PROBLEM_REF } } });
        }
        if let Some(headers) = headers {
            let existing = response.as_object_mut().expect("a response object").entry("headers").or_insert(json!({}));
            if let (Some(existing), Some(added)) = (existing.as_object_mut(), headers.as_object()) {
                existing.extend(added.clone());
            }
        }
    };
    if has_body || has_query || has_header {
        add("400", "A malformed body or an invalid parameter, named in `errors`", None);
    }
    if authenticated {
        add(
            "401",
            "Missing or invalid credentials",
            Some(json!({"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}})),
        );
    }
    if merchant {
        add("403", "The key may not do this: a test key acting on live resources, or a suspended merchant", None);
    }
    if has_path {
        add("404", "No such resource, or not the caller's", None);
    }
    add(
        "405",
        "The path exists with other methods",
        Some(json!({"Allow": {"description": format!("`{allowed}`"), "schema": {"type": "string"}}})),
    );
    if has_body {
        add("413", "The body is larger than 64 KiB", None);
        add("415", "The body is not `application/json`", None);
        add("422", "Invalid fields, each named in `errors`", None);
    }
    if !is_document {
        add("500", "A bug or a misconfiguration; quote the `request_id`", None);
        add(
            "503",
            "A dependency is briefly unavailable; retry",
            Some(json!({"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}})),
        );
    }
    // Error responses annotated with a content type and no schema get the problem schema.
    for (status, response) in responses.iter_mut() {
        if status.starts_with(['4', '5'])
            && let Some(content) = response.get_mut("content").and_then(Value::as_object_mut)
        {
            for media in content.values_mut() {
                if media.get("schema").is_none() {
                    media["schema"] = json!({ "$ref": PROBLEM_REF });
                }
            }
        }
    }
}

/// (operation id, status, link name, target operation id, parameters): each creating operation points at
/// the operations that read or change what it created.
type Link = (&'static str, &'static str, &'static str, &'static str, &'static [(&'static str, &'static str)]);

const LINKS: &[Link] = &[
    (
        "registerMerchant",
        "201",
        "ApproveMerchant",
        "approveMerchant",
        &[("merchant_id", "$response.body#/merchant_id")],
    ),
    ("registerMerchant", "201", "RejectMerchant", "rejectMerchant", &[("merchant_id", "$response.body#/merchant_id")]),
    ("approveMerchant", "200", "SuspendMerchant", "suspendMerchant", &[("merchant_id", "$request.path.merchant_id")]),
    (
        "suspendMerchant",
        "200",
        "ReinstateMerchant",
        "reinstateMerchant",
        &[("merchant_id", "$request.path.merchant_id")],
    ),
    (
        "createApiKey",
        "201",
        "RevokeApiKey",
        "revokeApiKey",
        &[("merchant_id", "$request.path.merchant_id"), ("key_id", "$response.body#/key_id")],
    ),
    ("createApiKey", "201", "ListApiKeys", "listApiKeys", &[("merchant_id", "$request.path.merchant_id")]),
    (
        "connectPsp",
        "201",
        "DisconnectPsp",
        "disconnectPsp",
        &[("merchant_id", "$request.path.merchant_id"), ("psp", "$response.body#/psp")],
    ),
    ("connectPsp", "201", "ListPspConnections", "listPspConnections", &[("merchant_id", "$request.path.merchant_id")]),
    ("putRouting", "200", "GetRouting", "getRouting", &[("merchant_id", "$request.path.merchant_id")]),
    (
        "connectStore",
        "201",
        "UpdateStore",
        "updateStore",
        &[("merchant_id", "$request.path.merchant_id"), ("store_id", "$response.body#/store_id")],
    ),
    (
        "connectStore",
        "201",
        "DisconnectStore",
        "disconnectStore",
        &[("merchant_id", "$request.path.merchant_id"), ("store_id", "$response.body#/store_id")],
    ),
    (
        "connectStore",
        "201",
        "StartStoreSync",
        "startStoreSync",
        &[("merchant_id", "$request.path.merchant_id"), ("store_id", "$response.body#/store_id")],
    ),
    (
        "connectStore",
        "201",
        "SetUpStoreWebhooks",
        "setUpStoreWebhooks",
        &[("merchant_id", "$request.path.merchant_id"), ("store_id", "$response.body#/store_id")],
    ),
    ("connectStore", "201", "ListStores", "listStores", &[("merchant_id", "$request.path.merchant_id")]),
    (
        "startStoreSync",
        "202",
        "GetSyncJob",
        "getSyncJob",
        &[
            ("merchant_id", "$request.path.merchant_id"),
            ("store_id", "$request.path.store_id"),
            ("job_id", "$response.body#/job_id"),
        ],
    ),
];

fn add_links(document: &mut Value) {
    let Some(paths) = document["paths"].as_object_mut() else { return };
    let mut by_id: Map<String, Value> = Map::new();
    for item in paths.values() {
        for method in METHODS {
            if let Some(id) = item.get(method).and_then(|op| op["operationId"].as_str()) {
                by_id.insert(id.to_owned(), json!([]));
            }
        }
    }
    for (source, status, name, target, parameters) in LINKS {
        assert!(
            by_id.contains_key(*source) && by_id.contains_key(*target),
            "link {source} → {target}: unknown operation"
        );
        let link = json!({
            "operationId": target,
            "parameters": parameters.iter().map(|(k, v)| ((*k).to_owned(), Value::from(*v))).collect::<Map<_, _>>(),
        });
        for item in paths.values_mut() {
            for method in METHODS {
                let Some(operation) = item.get_mut(method) else { continue };
                if operation["operationId"] != *source {
                    continue;
                }
                let response = &mut operation["responses"][*status];
                assert!(response.is_object(), "link {source} → {target}: {source} has no {status}");
                response["links"][*name] = link.clone();
            }
        }
    }
}
