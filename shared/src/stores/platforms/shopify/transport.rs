//! One GraphQL call to the Admin API, and how its HTTP status and GraphQL errors are classified (the table
//! in the parent module).

use std::time::Duration;

use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::wire::{QueryCost, Response, retry_after_throttled};
use super::{API_VERSION, ShopifyPlatform};
use crate::payments::connectors::transport::MAX_RETRY_AFTER;
use crate::stores::platforms::{PlatformError, StoreCredentials, StoreEndpoint, store_http};

/// A successful answer: its `data` and what it cost.
pub(super) struct Answer<T> {
    pub data: T,
    pub cost: Option<QueryCost>,
}

impl ShopifyPlatform {
    pub(super) async fn graphql<T: DeserializeOwned>(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        query: &str,
        variables: Value,
    ) -> Result<Answer<T>, PlatformError> {
        let response = post(endpoint, credentials, &json!({ "query": query, "variables": variables }))
            .await?
            .map_err(|error| unavailable(&error))?;
        let status = response.status().as_u16();
        let retry_after = store_http::retry_after(response.headers());
        let body = store_http::read_body("Shopify", response, store_http::STORE_BODY_LIMIT).await?;
        let reason = || error_text(&body).unwrap_or_else(|| format!("HTTP {status}"));
        match status {
            200 => {}
            401 => return Err(PlatformError::Unauthorized { reason: reason() }),
            402 => {
                return Err(unauthorized("402 Payment Required: the shop is frozen until its bill is paid", reason()));
            }
            403 => return Err(unauthorized("403 Forbidden", reason())),
            423 => return Err(unauthorized("423 Locked: the shop is locked", reason())),
            429 => return Err(PlatformError::Throttled { retry_after: retry_after.unwrap_or(Duration::from_secs(1)) }),
            500..=599 => return Err(PlatformError::Unavailable { reason: format!("Shopify answered {}", reason()) }),
            _ => return Err(PlatformError::Invalid { reason: format!("Shopify answered {status}: {}", reason()) }),
        }
        let parsed: Response<T> = serde_json::from_slice(&body)
            .map_err(|error| PlatformError::Invalid { reason: format!("unexpected GraphQL answer: {error}") })?;
        let cost = parsed.extensions.and_then(|extensions| extensions.cost);
        if let Some(errors) = parsed.errors.as_ref().and_then(Value::as_array).filter(|errors| !errors.is_empty()) {
            return Err(classify_errors(errors, cost.as_ref()));
        }
        let data =
            parsed.data.ok_or_else(|| PlatformError::Invalid { reason: "a GraphQL answer without data".into() })?;
        Ok(Answer { data, cost })
    }
}

/// Sends one GraphQL request to the shop's Admin API. The outer error is a URL that cannot be built; the
/// inner one the transport's, for the caller to classify.
pub(super) async fn post(
    endpoint: &StoreEndpoint,
    credentials: &StoreCredentials,
    request: &Value,
) -> Result<Result<reqwest::Response, reqwest::Error>, PlatformError> {
    let url = endpoint
        .base
        .join(&format!("admin/api/{API_VERSION}/graphql.json"))
        .map_err(|error| PlatformError::Invalid { reason: format!("the shop URL cannot be extended: {error}") })?;
    Ok(endpoint
        .http
        .post(url)
        .header("X-Shopify-Access-Token", credentials.api_token.expose_secret())
        .json(request)
        .send()
        .await)
}

fn unauthorized(what: &str, reason: String) -> PlatformError {
    PlatformError::Unauthorized { reason: format!("{what}: {reason}") }
}

/// A transport failure, named by kind only: never the URL or a header.
fn unavailable(error: &reqwest::Error) -> PlatformError {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "failed reading the response"
    } else {
        "failed in transit"
    };
    PlatformError::Unavailable { reason: format!("Shopify: the request {what}") }
}

/// Shopify's `errors` as text: a string on 4xx, or the messages of an array.
fn error_text(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    match value.get("errors")? {
        Value::String(text) => Some(text.clone()),
        Value::Array(errors) => Some(messages(errors)),
        other => Some(other.to_string()),
    }
}

fn messages(errors: &[Value]) -> String {
    let texts: Vec<&str> = errors.iter().filter_map(|error| error.get("message")?.as_str()).collect();
    texts.join("; ")
}

fn classify_errors(errors: &[Value], cost: Option<&QueryCost>) -> PlatformError {
    let has_code =
        |code: &str| errors.iter().any(|error| error.pointer("/extensions/code").and_then(Value::as_str) == Some(code));
    let reason = messages(errors);
    if has_code("THROTTLED") {
        // Computed from the bucket Shopify reports; bounded like a `Retry-After` header.
        PlatformError::Throttled { retry_after: retry_after_throttled(cost).min(MAX_RETRY_AFTER) }
    } else if has_code("ACCESS_DENIED") || has_code("SHOP_INACTIVE") {
        PlatformError::Unauthorized { reason }
    } else if has_code("INTERNAL_SERVER_ERROR") {
        PlatformError::Unavailable { reason: format!("Shopify: {reason}") }
    } else {
        PlatformError::Invalid { reason: format!("Shopify refused the query: {reason}") }
    }
}
