//! A stateful fake of the Stripe API, for what Pivota calls: `GET /v1/balance` and `POST /v1/payment_intents`.
//!
//! Wire details reproduced, and where they come from:
//! - Errors are `{"error": {"type", "code", "decline_code", "message", "param", "payment_intent", …}}` with
//!   the documented statuses: 400 invalid request, 401 no valid API key, 402 the request failed (a card
//!   decline), 429 too many requests, 5xx Stripe's servers (Stripe API reference, "Errors",
//!   https://docs.stripe.com/api/errors).
//! - An unknown key gets 401 `invalid_request_error` "Invalid API Key provided: sk_test_****abcd": Stripe
//!   echoes the key masked to its prefix and last four characters.
//! - Idempotency ("Idempotent requests", https://docs.stripe.com/api/idempotent_requests, and "Advanced error
//!   handling", https://docs.stripe.com/error-low-level): the status and body of the first request that began
//!   executing are saved and replayed for the same key (we mark replays with `Idempotent-Replayed: true`);
//!   the same key with different parameters is a 400 `idempotency_error` ("Keys for idempotent requests can
//!   only be used with the same parameters they were first used with…"); requests that fail validation, a
//!   401, or a 429 (the rate limiter runs before the idempotency layer) are not saved.
//! - Every response carries a `Request-Id: req_…` header.
//! - Test PaymentMethods ("Testing", https://docs.stripe.com/testing): `pm_card_visa`, `pm_card_mastercard`
//!   succeed; `pm_card_visa_chargeDeclined` is a 402 `card_declined` / `generic_decline`;
//!   `pm_card_visa_chargeDeclinedInsufficientFunds` a 402 `card_declined` / `insufficient_funds`;
//!   `pm_card_chargeDeclinedExpiredCard` a 402 `expired_card`; `pm_card_threeDSecure2Required` and
//!   `pm_card_authenticationRequired` need authentication: on-session they leave the PaymentIntent in
//!   `requires_action` with `next_action.type` `use_stripe_sdk` (HTTP 200); with `off_session=true` they fail
//!   with a 402 `card_error` whose `code` and `decline_code` are `authentication_required`, the PaymentIntent
//!   left in `requires_payment_method` ("Charge the saved payment method later",
//!   https://docs.stripe.com/payments/save-during-payment; "Decline codes", https://docs.stripe.com/declines/codes).
//! - `off_session` "can only be used with `confirm=true`" (API reference, PaymentIntent create): 400 otherwise.
//! - Customers: [`FakeStripe::attach_payment_method`] makes a `pm_…` attached to a `cus_…` that behaves like
//!   a test PaymentMethod. Confirming it without `customer` is a 400 `parameter_missing` ("The `payment_method`
//!   parameter supplied pm_… belongs to the Customer cus_…. Please include the Customer in the `customer`
//!   parameter on the PaymentIntent.", as Stripe answers it: reported in
//!   https://github.com/202-ecommerce/stripe_official/issues/84); with another customer a 400 (Stripe's
//!   wording for that case is not published; the fake's is ours); an unknown `customer` is a 400
//!   `resource_missing` "No such customer: 'cus_…'".
//!
//! Keys: by default any key starting `sk_test_` or `rk_test_` is valid unless it contains `invalid`;
//! [`FakeStripe::set_valid_keys`] replaces that rule with an exact list (where `sk_live_…` keys make the
//! balance report `livemode: true`). Idempotency keys are global to the fake (Stripe scopes them per account).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::failure::{FailurePlan, FakeFailure, retry_after_header};
use crate::ids;

/// A request the fake received on `POST /v1/payment_intents`, for assertions on the wire format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The form fields, decoded, in the order sent (`metadata[order_id]` etc.).
    pub params: Vec<(String, String)>,
    /// Header name (lowercase) → value, without `authorization`.
    pub headers: BTreeMap<String, String>,
}

pub struct FakeStripe {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    valid_keys: Option<BTreeSet<String>>,
    requests: usize,
    charges: usize,
    failures: FailurePlan,
    /// Idempotency key → the saved first response.
    saved: HashMap<String, Saved>,
    payment_intent_requests: Vec<RecordedRequest>,
    customers: BTreeSet<String>,
    /// `pm_…` attached to a Customer → (the test PaymentMethod it behaves like, the customer).
    attached: HashMap<String, (String, String)>,
}

#[derive(Clone)]
struct Saved {
    params: Vec<(String, String)>,
    status: u16,
    body: Value,
}

impl FakeStripe {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State::default()));
        Mock::given(method("GET"))
            .and(path("/v1/balance"))
            .respond_with(Endpoint { state: state.clone(), handler: balance })
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1/payment_intents"))
            .respond_with(Endpoint { state: state.clone(), handler: create_payment_intent })
            .mount(&server)
            .await;
        Self { server, state }
    }

    /// The base URL, e.g. `http://127.0.0.1:38211` (what `PIVOTA_STRIPE_API_BASE` takes).
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// PaymentIntents that succeeded, i.e. money moved. Replays and declines do not count.
    pub fn charges(&self) -> usize {
        self.lock().charges
    }

    /// Every request received, failed and replayed ones included.
    pub fn requests(&self) -> usize {
        self.lock().requests
    }

    /// The `POST /v1/payment_intents` requests received, oldest first.
    pub fn payment_intent_requests(&self) -> Vec<RecordedRequest> {
        self.lock().payment_intent_requests.clone()
    }

    /// A PaymentMethod attached to `customer` (created if new) that behaves like `test_payment_method`
    /// (`pm_card_visa`, `pm_card_authenticationRequired`, …). Returns its `pm_…` id.
    pub fn attach_payment_method(&self, test_payment_method: &str, customer: &str) -> String {
        assert!(test_card(test_payment_method).is_some(), "{test_payment_method} is not a test PaymentMethod");
        let id = ids::stripe("pm", 24);
        let mut state = self.lock();
        state.customers.insert(customer.to_owned());
        state.attached.insert(id.clone(), (test_payment_method.to_owned(), customer.to_owned()));
        id
    }

    /// The next `n` requests (any endpoint) get `failure`.
    pub fn fail_next(&self, n: usize, failure: FakeFailure) {
        self.lock().failures.queue(n, failure);
    }

    /// From now on, `percent`% of requests (drawn from an RNG seeded with `seed`) get `failure`.
    pub fn fail_randomly(&self, percent: u8, seed: u64, failure: FakeFailure) {
        self.lock().failures.randomly(percent, seed, failure);
    }

    /// Only these keys are valid from now on (replaces the default `sk_test_`/`rk_test_` rule).
    pub fn set_valid_keys<I, S>(&self, keys: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.lock().valid_keys = Some(keys.into_iter().map(Into::into).collect());
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

type Handler = fn(&mut State, &Request) -> Reply;

struct Endpoint {
    state: Arc<Mutex<State>>,
    handler: Handler,
}

/// What an endpoint answers, before the common headers are added.
struct Reply {
    status: u16,
    body: Value,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn new(status: u16, body: Value) -> Self {
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

fn error_body(kind: &str, code: Option<&str>, message: &str) -> Value {
    let mut error = json!({ "type": kind, "message": message });
    if let Some(code) = code {
        error["code"] = json!(code);
        error["doc_url"] = json!(format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-")));
    }
    json!({ "error": error })
}

fn param_error(code: &str, param: &str, message: &str) -> Reply {
    let mut body = error_body("invalid_request_error", Some(code), message);
    body["error"]["param"] = json!(param);
    Reply::new(400, body)
}

/// Checks `Authorization: Bearer <key>`; the error reply Stripe gives otherwise.
fn authenticate(state: &State, request: &Request) -> Result<String, Reply> {
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

fn livemode(key: &str) -> bool {
    key.starts_with("sk_live_") || key.starts_with("rk_live_")
}

fn balance(state: &mut State, request: &Request) -> Reply {
    let key = match authenticate(state, request) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    let funds = json!([{ "amount": 0, "currency": "usd", "source_types": { "card": 0 } }]);
    Reply::new(200, json!({ "object": "balance", "available": funds, "pending": funds, "livemode": livemode(&key) }))
}

/// How a test PaymentMethod behaves when confirmed.
enum TestCard {
    Succeeds,
    Declines { code: &'static str, decline_code: Option<&'static str>, message: &'static str },
    RequiresAction,
}

fn test_card(payment_method: &str) -> Option<TestCard> {
    Some(match payment_method {
        "pm_card_visa" | "pm_card_mastercard" | "pm_card_amex" => TestCard::Succeeds,
        "pm_card_visa_chargeDeclined" => TestCard::Declines {
            code: "card_declined",
            decline_code: Some("generic_decline"),
            message: "Your card was declined.",
        },
        "pm_card_visa_chargeDeclinedInsufficientFunds" => TestCard::Declines {
            code: "card_declined",
            decline_code: Some("insufficient_funds"),
            message: "Your card has insufficient funds.",
        },
        "pm_card_chargeDeclinedExpiredCard" => {
            TestCard::Declines { code: "expired_card", decline_code: None, message: "Your card has expired." }
        }
        "pm_card_threeDSecure2Required" | "pm_card_authenticationRequired" => TestCard::RequiresAction,
        _ => return None,
    })
}

fn create_payment_intent(state: &mut State, request: &Request) -> Reply {
    let mut params: Vec<(String, String)> = serde_urlencoded::from_bytes(&request.body).unwrap_or_default();
    let headers = request
        .headers
        .iter()
        .filter(|(name, _)| name.as_str() != "authorization")
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    state.payment_intent_requests.push(RecordedRequest { params: params.clone(), headers });
    let key = match authenticate(state, request) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    let idempotency_key =
        request.headers.get("idempotency-key").and_then(|value| value.to_str().ok()).map(str::to_owned);
    // Stripe compares parameters, not their encoding order.
    params.sort();
    if let Some((idempotency_key, saved)) = idempotency_key.as_ref().and_then(|key| Some((key, state.saved.get(key)?)))
    {
        if saved.params == params {
            let mut reply = Reply::new(saved.status, saved.body.clone());
            reply.headers.push(("idempotent-replayed", "true".into()));
            return reply;
        }
        let message = format!(
            "Keys for idempotent requests can only be used with the same parameters they were first used with. \
             Try using a key other than '{idempotency_key}' if you meant to execute a different request."
        );
        return Reply::new(400, error_body("idempotency_error", None, &message));
    }
    let intent = match validate(state, &params) {
        Ok(intent) => intent,
        Err(reply) => return reply,
    };
    let reply = confirm(state, intent, livemode(&key));
    if let Some(idempotency_key) = idempotency_key {
        state.saved.insert(idempotency_key, Saved { params, status: reply.status, body: reply.body.clone() });
    }
    reply
}

struct NewIntent {
    amount: i64,
    currency: String,
    payment_method: String,
    customer: Option<String>,
    card: TestCard,
    confirm: bool,
    off_session: bool,
    metadata: BTreeMap<String, String>,
    automatic_payment_methods: Value,
}

/// Parameter validation: failures are 400s that Stripe does not save under the idempotency key.
fn validate(state: &State, params: &[(String, String)]) -> Result<NewIntent, Reply> {
    let get = |name: &str| params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    let amount =
        get("amount").ok_or_else(|| param_error("parameter_missing", "amount", "Missing required param: amount."))?;
    let amount: i64 = amount.parse().ok().filter(|amount| *amount >= 1).ok_or_else(|| {
        param_error("parameter_invalid_integer", "amount", "Invalid integer: amount must be a positive integer.")
    })?;
    let currency = get("currency")
        .ok_or_else(|| param_error("parameter_missing", "currency", "Missing required param: currency."))?;
    if currency.len() != 3 || !currency.bytes().all(|byte| byte.is_ascii_lowercase()) {
        return Err(param_error("parameter_invalid_string", "currency", &format!("Invalid currency: {currency}.")));
    }
    let payment_method = get("payment_method")
        .ok_or_else(|| param_error("parameter_missing", "payment_method", "Missing required param: payment_method."))?;
    let customer = get("customer");
    if let Some(customer) = customer
        && !state.customers.contains(customer)
    {
        return Err(param_error("resource_missing", "customer", &format!("No such customer: '{customer}'")));
    }
    let (behaves_like, owner) = match state.attached.get(payment_method) {
        Some((test_method, owner)) => (test_method.as_str(), Some(owner.as_str())),
        None => (payment_method, None),
    };
    match (owner, customer) {
        (Some(owner), None) => {
            return Err(param_error(
                "parameter_missing",
                "payment_method",
                &format!(
                    "The `payment_method` parameter supplied {payment_method} belongs to the Customer {owner}. \
                     Please include the Customer in the `customer` parameter on the PaymentIntent."
                ),
            ));
        }
        (Some(owner), Some(customer)) if owner != customer => {
            return Err(param_error(
                "invalid_request_error",
                "payment_method",
                &format!("The PaymentMethod {payment_method} does not belong to the Customer {customer}."),
            ));
        }
        _ => {}
    }
    let card = test_card(behaves_like).ok_or_else(|| {
        let mut reply =
            param_error("resource_missing", "payment_method", &format!("No such PaymentMethod: '{payment_method}'"));
        reply.body["error"]["doc_url"] = json!("https://stripe.com/docs/error-codes/resource-missing");
        reply
    })?;
    let confirm = get("confirm") == Some("true");
    let off_session = match get("off_session") {
        None | Some("false") => false,
        Some("true" | "one_off" | "recurring") if confirm => true,
        Some("true" | "one_off" | "recurring") => {
            return Err(param_error(
                "parameter_invalid_empty",
                "off_session",
                "You can only pass `off_session` when `confirm=true`.",
            ));
        }
        Some(other) => {
            return Err(param_error(
                "parameter_invalid_string",
                "off_session",
                &format!("Invalid off_session: {other}"),
            ));
        }
    };
    let apm_enabled = get("automatic_payment_methods[enabled]") == Some("true");
    let allow_redirects = get("automatic_payment_methods[allow_redirects]").unwrap_or("always");
    // Confirming with redirect-capable automatic payment methods needs somewhere to send the customer back to.
    if confirm && apm_enabled && allow_redirects != "never" && get("return_url").is_none() {
        return Err(param_error(
            "parameter_missing",
            "return_url",
            "This PaymentIntent is configured to accept payment methods enabled in your Dashboard, some of which \
             may require a full page redirect to succeed. If you do not want to accept redirect-based payment \
             methods, set `automatic_payment_methods[enabled]` to `true` and \
             `automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment \
             Intents.",
        ));
    }
    let metadata = params
        .iter()
        .filter_map(|(key, value)| {
            let name = key.strip_prefix("metadata[")?.strip_suffix(']')?;
            Some((name.to_owned(), value.clone()))
        })
        .collect();
    Ok(NewIntent {
        amount,
        currency: currency.to_owned(),
        payment_method: payment_method.to_owned(),
        customer: customer.map(str::to_owned),
        card,
        confirm,
        off_session,
        metadata,
        automatic_payment_methods: if apm_enabled {
            json!({ "enabled": true, "allow_redirects": allow_redirects })
        } else {
            Value::Null
        },
    })
}

fn confirm(state: &mut State, intent: NewIntent, livemode: bool) -> Reply {
    let id = ids::stripe("pi", 24);
    let created = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs();
    let mut object = json!({
        "id": id,
        "object": "payment_intent",
        "amount": intent.amount,
        "amount_capturable": 0,
        "amount_received": 0,
        "automatic_payment_methods": intent.automatic_payment_methods,
        "capture_method": "automatic_async",
        "client_secret": format!("{id}_secret_{}", ids::stripe("x", 24).trim_start_matches("x_")),
        "confirmation_method": "automatic",
        "created": created,
        "currency": intent.currency,
        "customer": intent.customer,
        "last_payment_error": null,
        "latest_charge": null,
        "livemode": livemode,
        "metadata": intent.metadata,
        "next_action": null,
        "payment_method": intent.payment_method,
        "payment_method_types": ["card"],
        "status": "requires_confirmation",
    });
    if !intent.confirm {
        return Reply::new(200, object);
    }
    match intent.card {
        TestCard::Succeeds => {
            state.charges += 1;
            object["status"] = json!("succeeded");
            object["amount_received"] = json!(intent.amount);
            object["latest_charge"] = json!(ids::stripe("ch", 24));
            Reply::new(200, object)
        }
        TestCard::RequiresAction if !intent.off_session => {
            object["status"] = json!("requires_action");
            object["next_action"] = json!({ "type": "use_stripe_sdk", "use_stripe_sdk": {} });
            Reply::new(200, object)
        }
        TestCard::RequiresAction => decline(
            object,
            "authentication_required",
            Some("authentication_required"),
            "Your card was declined. This transaction requires authentication.",
        ),
        TestCard::Declines { code, decline_code, message } => decline(object, code, decline_code, message),
    }
}

/// A 402 `card_error` whose `payment_intent` is left in `requires_payment_method`.
fn decline(mut object: Value, code: &str, decline_code: Option<&str>, message: &str) -> Reply {
    let charge = ids::stripe("ch", 24);
    let mut error = json!({
        "type": "card_error",
        "code": code,
        "message": message,
        "charge": charge,
        "doc_url": format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-")),
    });
    if let Some(decline_code) = decline_code {
        error["decline_code"] = json!(decline_code);
    }
    object["status"] = json!("requires_payment_method");
    object["latest_charge"] = json!(charge);
    object["last_payment_error"] = error.clone();
    error["payment_intent"] = object;
    Reply::new(402, json!({ "error": error }))
}
