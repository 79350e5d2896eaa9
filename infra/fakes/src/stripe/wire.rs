//! The envelope of every fake Stripe response: error bodies, the `Request-Id` header, injected failures, and
//! the API-key check.
//!
//! - Errors are `{"error": {"type", "code", "decline_code", "message", "param", "payment_intent", …}}` with
//!   the documented statuses: 400 invalid request, 401 no valid API key, 402 the request failed (a card
//!   decline), 429 too many requests, 5xx Stripe's servers (Stripe API reference, "Errors",
//!   https://docs.stripe.com/api/errors).
//! - An unknown key gets 401 `invalid_request_error` "Invalid API Key provided: sk_test_****abcd": Stripe
//!   echoes the key masked to its prefix and last four characters.
//! - Every response carries a `Request-Id: req_…` header.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

use super::State;
use crate::failure::{FakeFailure, retry_after_header};
use crate::ids;

pub(super) type Handler = fn(&mut State, &Request) -> Reply;

pub(super) struct Endpoint {
    pub(super) state: Arc<Mutex<State>>,
    pub(super) handler: Handler,
}

/// What an endpoint answers, before the common headers are added.
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) body: Value,
    pub(super) headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub(super) fn new(status: u16, body: Value) -> Self {
        Self { status, body, headers: Vec::new() }
    }
}

impl Respond for Endpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        state.requests += 1;
        let mut delay = None;
        let reply = match state.failures.next() {
            Some(FakeFailure::Http500) => {
                Reply::new(500, error_body("api_error", None, "An unknown error occurred on Stripe's end."))
            }
            Some(FakeFailure::Http503) => {
                Reply::new(503, error_body("api_error", None, "Stripe is temporarily unavailable. Please retry."))
            }
            Some(FakeFailure::Http429 { retry_after }) => {
                let mut reply = Reply::new(
                    429,
                    error_body(
                        "invalid_request_error",
                        Some("rate_limit"),
                        "Request rate limit exceeded. Learn more about rate limits here \
                         https://stripe.com/docs/rate-limits.",
                    ),
                );
                if let Some(retry_after) = retry_after {
                    reply.headers.push(("retry-after", retry_after_header(retry_after)));
                }
                reply
            }
            Some(FakeFailure::Delay(duration)) => {
                delay = Some(duration);
                (self.handler)(&mut state, request)
            }
            None => (self.handler)(&mut state, request),
        };
        drop(state);
        let mut template = ResponseTemplate::new(reply.status)
            .set_body_json(reply.body)
            .insert_header("request-id", ids::stripe("req", 14));
        for (name, value) in reply.headers {
            template = template.insert_header(name, value);
        }
        match delay {
            Some(delay) => template.set_delay(delay),
            None => template,
        }
    }
}

pub(super) fn error_body(kind: &str, code: Option<&str>, message: &str) -> Value {
    let mut error = json!({ "type": kind, "message": message });
    if let Some(code) = code {
        error["code"] = json!(code);
        error["doc_url"] = json!(format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-")));
    }
    json!({ "error": error })
}

pub(super) fn param_error(code: &str, param: &str, message: &str) -> Reply {
    let mut body = error_body("invalid_request_error", Some(code), message);
    body["error"]["param"] = json!(param);
    Reply::new(400, body)
}

/// Checks `Authorization: Bearer <key>`; the error reply Stripe gives otherwise.
pub(super) fn authenticate(state: &State, request: &Request) -> Result<String, Reply> {
    let Some(key) = request
        .headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|key| !key.is_empty())
    else {
        return Err(Reply::new(
            401,
            error_body(
                "invalid_request_error",
                None,
                "You did not provide an API key. You need to provide your API key in the Authorization header, \
                 using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            ),
        ));
    };
    let valid = match &state.valid_keys {
        Some(keys) => keys.contains(key),
        None => (key.starts_with("sk_test_") || key.starts_with("rk_test_")) && !key.contains("invalid"),
    };
    if valid {
        Ok(key.to_owned())
    } else {
        let message = format!("Invalid API Key provided: {}", masked(key));
        Err(Reply::new(401, error_body("invalid_request_error", None, &message)))
    }
}

/// `sk_test_4eC39HqLyjWDarjtT1zdp7dc` → `sk_test_****p7dc`, as Stripe shows it.
fn masked(key: &str) -> String {
    let prefix_len = ["sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_"]
        .iter()
        .find(|prefix| key.starts_with(*prefix))
        .map_or(0, |prefix| prefix.len());
    let tail: String = key.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    format!("{}****{tail}", &key[..prefix_len])
}

pub(super) fn livemode(key: &str) -> bool {
    key.starts_with("sk_live_") || key.starts_with("rk_live_")
}
