//! The fake's HTTP endpoint: injected failures, the access-token check, the cost bucket, and the GraphQL
//! answer with its `extensions.cost`.
//!
//! - `X-Shopify-Access-Token` authenticates; a wrong or missing one is a 401
//!   `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`.
//! - The cost bucket ("GraphQL Admin API rate limits",
//!   https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits): a leaky bucket of
//!   `maximumAvailable` points restoring `restoreRate` points a second, in real time. A query's requested
//!   cost is computed from the document (see `graphql.rs`); the bucket must hold it or the answer is an HTTP
//!   200 `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED","documentation":…}}],
//!   "extensions":{"cost":{…,"actualQueryCost":null,…}}}`; otherwise the requested cost is taken and the
//!   difference to the actual cost refunded. Above 1000 requested points the query is refused with
//!   `MAX_COST_EXCEEDED`. Every answer carries `extensions.cost` shaped as Shopify's.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

use super::{ReceivedDocument, State, graphql, resolve};
use crate::failure::{FakeFailure, retry_after_header};

/// The single-query limit, enforced on the requested cost before anything runs.
const MAX_SINGLE_QUERY_COST: u64 = 1000;
const RATE_LIMITS_DOC: &str = "https://shopify.dev/api/usage/rate-limits";

impl State {
    pub(super) fn refill(&mut self) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.refilled_at).as_secs_f64();
        self.available = (self.available + elapsed * self.shop.restore_rate).min(self.shop.maximum_available);
        self.refilled_at = now;
    }

    pub(super) fn cost(&self, requested: u64, actual: Option<u64>) -> Value {
        json!({
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": self.shop.maximum_available,
                "currentlyAvailable": self.available.floor() as i64,
                "restoreRate": self.shop.restore_rate,
            },
        })
    }
}

pub(super) struct Endpoint {
    pub(super) state: Arc<Mutex<State>>,
}

impl Respond for Endpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        state.requests += 1;
        let mut delay = None;
        match state.failures.next() {
            Some(FakeFailure::Http500) => return json_reply(500, json!({ "errors": "Internal Server Error" })),
            Some(FakeFailure::Http503) => {
                return json_reply(503, json!({ "errors": "Service Unavailable" }));
            }
            Some(FakeFailure::Http429 { retry_after }) => {
                let mut reply = json_reply(429, json!({ "errors": "Too Many Requests" }));
                if let Some(retry_after) = retry_after {
                    reply = reply.insert_header("retry-after", retry_after_header(retry_after));
                }
                return reply;
            }
            Some(FakeFailure::Delay(duration)) => delay = Some(duration),
            None => {}
        }
        let token = request.headers.get("x-shopify-access-token").and_then(|value| value.to_str().ok());
        if state.token_revoked || token != Some(state.shop.access_token.as_str()) {
            return json_reply(
                401,
                json!({ "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)" }),
            );
        }
        let reply = graphql_reply(&mut state, &request.body);
        match delay {
            Some(delay) => reply.set_delay(delay),
            None => reply,
        }
    }
}

fn json_reply(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

fn error(message: &str, code: &str) -> Value {
    json!({ "message": message, "extensions": { "code": code } })
}

fn graphql_reply(state: &mut State, body: &[u8]) -> ResponseTemplate {
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let Some(document) = request.get("query").and_then(Value::as_str) else {
        return json_reply(400, json!({ "errors": { "query": "Required parameter missing or invalid" } }));
    };
    let variables = request.get("variables").cloned().unwrap_or(Value::Null);
    let received = if variables.is_null() { json!({}) } else { variables.clone() };
    state.documents.push(ReceivedDocument { query: document.to_owned(), variables: received });
    let operation = match graphql::parse(document, &variables) {
        Ok(operation) => operation,
        Err(reason) => {
            return json_reply(200, json!({ "errors": [error(&format!("Parse error: {reason}"), "parseError")] }));
        }
    };
    let requested = graphql::requested_cost(&operation);
    if requested > MAX_SINGLE_QUERY_COST {
        let message = format!(
            "Query cost is {requested}, which exceeds the single query max cost limit ({MAX_SINGLE_QUERY_COST})."
        );
        let mut error = error(&message, "MAX_COST_EXCEEDED");
        error["extensions"]["cost"] = json!(requested);
        error["extensions"]["maxCost"] = json!(MAX_SINGLE_QUERY_COST);
        error["extensions"]["documentation"] = json!(RATE_LIMITS_DOC);
        return json_reply(200, json!({ "errors": [error] }));
    }
    state.refill();
    if state.available < requested as f64 {
        state.throttled += 1;
        let mut error = error("Throttled", "THROTTLED");
        error["extensions"]["documentation"] = json!(RATE_LIMITS_DOC);
        return json_reply(200, json!({ "errors": [error], "extensions": { "cost": state.cost(requested, None) } }));
    }
    state.available -= requested as f64;
    let mut data = serde_json::Map::new();
    let mut errors = Vec::new();
    for field in &operation.fields {
        match resolve::resolve(state, operation.kind, field) {
            Ok(value) => {
                data.insert(field.key().to_owned(), graphql::project(&value, &field.selection));
            }
            Err(message) => errors.push(error(&message, "undefinedField")),
        }
    }
    let data = Value::Object(data);
    let actual = graphql::actual_cost(&operation, &data).min(requested);
    state.points_requested += requested;
    state.points_charged += actual;
    state.available = (state.available + (requested - actual) as f64).min(state.shop.maximum_available);
    let mut body = json!({ "data": data, "extensions": { "cost": state.cost(requested, Some(actual)) } });
    if !errors.is_empty() {
        body["errors"] = Value::Array(errors);
    }
    json_reply(200, body)
}
