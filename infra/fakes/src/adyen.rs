//! A stateful fake of Adyen's Checkout API v71, for what Pivota calls: `POST /v71/paymentMethods` and
//! `POST /v71/payments`.
//!
//! Wire details reproduced, and where they come from:
//! - Authentication is the `X-API-Key` header (Checkout API reference, "Authentication",
//!   https://docs.adyen.com/api-explorer/Checkout/71/overview). A bad key gets 401
//!   `{"status":401,"errorCode":"000","message":"HTTP Status Response - Unauthorized","errorType":"security"}`
//!   ("Error codes and messages", https://docs.adyen.com/development-resources/error-codes: 000 "Unknown:
//!   Unauthorised: the API key or Auth credentials are incorrect").
//! - A merchant account the key may not use gets 403 `errorCode` "901" "Invalid Merchant Account",
//!   `errorType` "security".
//! - Missing fields are 422 `errorType` "validation" (e.g. errorCode 100 "Required object 'amount' is not
//!   provided"). `PaymentRequest`'s required fields are those of the Checkout v71 OpenAPI
//!   (`amount`, `merchantAccount`, `paymentMethod`, `reference`, `returnUrl`; the spec is
//!   `../shared/vendor-specs/adyen-checkout-v71.json`, beside the repository, and
//!   `shared/tests/it/psp_fakes/vendor_contract.rs` checks Pivota's requests against it).
//! - Metadata beyond 20 pairs, 20-character keys or 80-character values is refused with errorCode 177
//!   "Metadata size exceeds limit" (the OpenAPI's `PaymentRequest.metadata` description).
//! - `/payments` answers HTTP 200 for refusals too; the outcome is `resultCode` (Authorised, Refused, Error,
//!   Received, …) with `refusalReason` / `refusalReasonCode` ("Testing result codes and refusal reasons",
//!   https://docs.adyen.com/development-resources/testing/result-codes).
//! - Idempotency ("API idempotency", https://docs.adyen.com/development-resources/api-idempotency): a request
//!   repeated with the same `Idempotency-Key` gets the response to the first attempt, without a second charge,
//!   and the response echoes the `Idempotency-Key` header. Adyen's docs describe no error for a reused key
//!   with a different body, so the fake replays the first response whatever the body.
//!
//! Triggers. Adyen triggers test refusals through `paymentMethod.holderName` (e.g. `DECLINED`,
//! `NOT_ENOUGH_BALANCE`), but a payment with a stored token carries no holder name. So the fake reads the
//! same trigger values from `paymentMethod.storedPaymentMethodId` (a real one is an opaque 16-character id):
//!
//! | storedPaymentMethodId | resultCode       | refusalReason        | refusalReasonCode |
//! |-----------------------|------------------|----------------------|-------------------|
//! | `DECLINED`            | Refused          | Refused              | 2                 |
//! | `NOT_ENOUGH_BALANCE`  | Refused          | Not enough balance   | 12                |
//! | `CARD_EXPIRED`        | Refused          | Expired Card         | 6                 |
//! | `ERROR`               | Error            | Acquirer Error       | 4                 |
//! | `PENDING`             | Received         |                      |                   |
//! | `CHALLENGE`, shopper present (`Ecommerce`) | ChallengeShopper, with `action` `threeDS2` | | |
//! | `CHALLENGE`, shopper absent (`ContAuth`)   | Refused | Authentication required | 38    |
//! | anything else         | Authorised       |                      |                   |
//!
//! Only `Authorised` counts in [`FakeAdyen::charges`].
//!
//! Tokens ("Create and use tokens", https://docs.adyen.com/online-payments/tokenization/create-and-use-tokens):
//! a payment with a token carries the `shopperReference` it was stored under (at least 3 characters, the
//! OpenAPI's `minLength`) and a valid interaction: `ContAuth` with a `recurringProcessingModel` (shopper not
//! present), or `Ecommerce` with `CardOnFile` (one-click). Otherwise 422: a missing reference is errorCode
//! 000; another combination is 807 "Invalid combination of shopper interaction and recurring contract"
//! (Adyen Help Center, "Why do I receive a 807…"). A token stored with [`FakeAdyen::store_token`] is found
//! only under its own shopper; under another it is 422 errorCode 800 "Contract not found" ("Error codes and
//! messages"). Tokens a test did not store (the triggers above, any other id) are taken as stored under
//! whichever reference comes with them.
//!
//! Credentials: the valid key is [`FakeAdyen::API_KEY`] and the merchant account [`FakeAdyen::MERCHANT_ACCOUNT`]
//! unless changed with [`FakeAdyen::set_valid_keys`] / [`FakeAdyen::set_merchant_accounts`].

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::failure::{FailurePlan, FakeFailure, retry_after_header};
use crate::ids;

pub struct FakeAdyen {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

struct State {
    valid_keys: BTreeSet<String>,
    merchant_accounts: BTreeSet<String>,
    requests: usize,
    charges: usize,
    failures: FailurePlan,
    /// Idempotency key → the first response.
    saved: HashMap<String, (u16, Value)>,
    payment_requests: Vec<Value>,
    /// storedPaymentMethodId → the shopperReference it was stored under.
    tokens: HashMap<String, String>,
    /// Every JSON body received, with its endpoint (`payments`, `paymentMethods`), oldest first.
    bodies: Vec<(String, Value)>,
}

impl FakeAdyen {
    pub const API_KEY: &'static str = "AQEfake_adyen_test_api_key";
    pub const MERCHANT_ACCOUNT: &'static str = "PivotaTestECOM";

    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            valid_keys: BTreeSet::from([Self::API_KEY.to_owned()]),
            merchant_accounts: BTreeSet::from([Self::MERCHANT_ACCOUNT.to_owned()]),
            requests: 0,
            charges: 0,
            failures: FailurePlan::default(),
            saved: HashMap::new(),
            payment_requests: Vec::new(),
            tokens: HashMap::new(),
            bodies: Vec::new(),
        }));
        Mock::given(method("POST"))
            .and(path("/v71/paymentMethods"))
            .respond_with(Endpoint { state: state.clone(), handler: payment_methods })
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v71/payments"))
            .respond_with(Endpoint { state: state.clone(), handler: payments })
            .mount(&server)
            .await;
        Self { server, state }
    }

    /// The Checkout API base without the version, e.g. `http://127.0.0.1:40112` (what
    /// `PIVOTA_ADYEN_CHECKOUT_BASE` takes).
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Payments authorised, i.e. money moved. Replays and refusals do not count.
    pub fn charges(&self) -> usize {
        self.lock().charges
    }

    /// Every request received, failed and replayed ones included.
    pub fn requests(&self) -> usize {
        self.lock().requests
    }

    /// The JSON bodies received on `/v71/payments`, oldest first.
    pub fn payment_requests(&self) -> Vec<Value> {
        self.lock().payment_requests.clone()
    }

    /// Every JSON body received on any endpoint, as (endpoint, body): `("payments", {...})`.
    pub fn bodies(&self) -> Vec<(String, Value)> {
        self.lock().bodies.clone()
    }

    /// Stores `token` as a card of `shopper_reference`'s: it pays only under that reference from now on.
    pub fn store_token(&self, shopper_reference: &str, token: &str) {
        self.lock().tokens.insert(token.to_owned(), shopper_reference.to_owned());
    }

    /// The next `n` requests (any endpoint) get `failure`.
    pub fn fail_next(&self, n: usize, failure: FakeFailure) {
        self.lock().failures.queue(n, failure);
    }

    /// From now on, `percent`% of requests (drawn from an RNG seeded with `seed`) get `failure`.
    pub fn fail_randomly(&self, percent: u8, seed: u64, failure: FakeFailure) {
        self.lock().failures.randomly(percent, seed, failure);
    }

    /// Only these API keys are valid from now on.
    pub fn set_valid_keys<I: IntoIterator<Item = S>, S: Into<String>>(&self, keys: I) {
        self.lock().valid_keys = keys.into_iter().map(Into::into).collect();
    }

    /// Only these merchant accounts may be used from now on (others get 403 errorCode 901).
    pub fn set_merchant_accounts<I: IntoIterator<Item = S>, S: Into<String>>(&self, accounts: I) {
        self.lock().merchant_accounts = accounts.into_iter().map(Into::into).collect();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

type Handler = fn(&mut State, &Request, &Value) -> (u16, Value);

struct Endpoint {
    state: Arc<Mutex<State>>,
    handler: Handler,
}

fn error(status: u16, error_code: &str, message: &str, error_type: &str) -> (u16, Value) {
    (
        status,
        json!({
            "status": status,
            "errorCode": error_code,
            "message": message,
            "errorType": error_type,
            "pspReference": ids::adyen_psp_reference(),
        }),
    )
}

impl Respond for Endpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        state.requests += 1;
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let endpoint = request.url.path().rsplit('/').next().unwrap_or_default().to_owned();
        state.bodies.push((endpoint, body.clone()));
        let idempotency_key = request.headers.get("idempotency-key").and_then(|value| value.to_str().ok());
        let mut delay = None;
        let mut retry_after = None;
        // The bodies of Adyen's 429 and 5xx answers are not specified beyond the generic error shape; the
        // connectors rely on the status code only.
        let (status, reply) = match state.failures.next() {
            Some(FakeFailure::Http500) => error(500, "000", "Internal error", "internal"),
            Some(FakeFailure::Http503) => error(503, "000", "Service Unavailable", "internal"),
            Some(FakeFailure::Http429 { retry_after: after }) => {
                retry_after = after;
                error(429, "000", "Too Many Requests", "internal")
            }
            Some(FakeFailure::Delay(duration)) => {
                delay = Some(duration);
                self.handle(&mut state, request, &body, idempotency_key)
            }
            None => self.handle(&mut state, request, &body, idempotency_key),
        };
        drop(state);
        let mut template = ResponseTemplate::new(status).set_body_json(reply);
        if let Some(key) = idempotency_key {
            template = template.insert_header("idempotency-key", key);
        }
        if let Some(after) = retry_after {
            template = template.insert_header("retry-after", retry_after_header(after));
        }
        match delay {
            Some(delay) => template.set_delay(delay),
            None => template,
        }
    }
}

impl Endpoint {
    fn handle(
        &self,
        state: &mut State,
        request: &Request,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> (u16, Value) {
        let key = request.headers.get("x-api-key").and_then(|value| value.to_str().ok()).unwrap_or("");
        if !state.valid_keys.contains(key) {
            return error(401, "000", "HTTP Status Response - Unauthorized", "security");
        }
        if let Some(saved) = idempotency_key.and_then(|key| state.saved.get(key)) {
            return saved.clone();
        }
        let merchant_account = body["merchantAccount"].as_str().unwrap_or("");
        let reply = if state.merchant_accounts.contains(merchant_account) {
            (self.handler)(state, request, body)
        } else {
            error(403, "901", "Invalid Merchant Account", "security")
        };
        if let Some(key) = idempotency_key {
            state.saved.insert(key.to_owned(), reply.clone());
        }
        reply
    }
}

fn payment_methods(_state: &mut State, _request: &Request, _body: &Value) -> (u16, Value) {
    (
        200,
        json!({
            "paymentMethods": [
                { "brands": ["visa", "mc", "amex"], "name": "Cards", "type": "scheme" }
            ]
        }),
    )
}

fn payments(state: &mut State, _request: &Request, body: &Value) -> (u16, Value) {
    state.payment_requests.push(body.clone());
    let amount = &body["amount"];
    if !amount["value"].is_i64() || !amount["currency"].is_string() {
        return error(422, "100", "Required object 'amount' is not provided.", "validation");
    }
    if !body["reference"].is_string() {
        return error(422, "130", "Required field 'reference' is not provided.", "validation");
    }
    if !body["returnUrl"].is_string() {
        return error(422, "000", "Required field 'returnUrl' is not provided.", "validation");
    }
    if let Some(metadata) = body["metadata"].as_object()
        && (metadata.len() > 20
            || metadata
                .iter()
                .any(|(k, v)| k.chars().count() > 20 || v.as_str().is_some_and(|v| v.chars().count() > 80)))
    {
        return error(422, "177", "Metadata size exceeds limit", "validation");
    }
    let method = &body["paymentMethod"];
    let Some(token) = method["storedPaymentMethodId"].as_str() else {
        return error(422, "000", "Fake Adyen supports stored payment methods only.", "validation");
    };
    let Some(shopper_reference) = body["shopperReference"].as_str().filter(|reference| reference.chars().count() >= 3)
    else {
        return error(422, "000", "Required field 'shopperReference' is not provided.", "validation");
    };
    let shopper_present = match (body["shopperInteraction"].as_str(), body["recurringProcessingModel"].as_str()) {
        (Some("ContAuth"), Some("CardOnFile" | "Subscription" | "UnscheduledCardOnFile")) => false,
        (Some("Ecommerce") | None, Some("CardOnFile")) => true,
        _ => {
            return error(
                422,
                "807",
                "Invalid combination of shopper interaction and recurring contract",
                "validation",
            );
        }
    };
    if state.tokens.get(token).is_some_and(|stored_under| stored_under != shopper_reference) {
        return error(422, "800", "Contract not found", "validation");
    }
    let psp_reference = ids::adyen_psp_reference();
    let mut reply = json!({
        "pspReference": psp_reference,
        "merchantReference": body["reference"],
        "amount": amount,
    });
    let refused = |reply: &mut Value, result_code: &str, reason: &str, code: &str| {
        reply["resultCode"] = json!(result_code);
        reply["refusalReason"] = json!(reason);
        reply["refusalReasonCode"] = json!(code);
    };
    match token {
        "DECLINED" => refused(&mut reply, "Refused", "Refused", "2"),
        "NOT_ENOUGH_BALANCE" => refused(&mut reply, "Refused", "Not enough balance", "12"),
        "CARD_EXPIRED" => refused(&mut reply, "Refused", "Expired Card", "6"),
        "ERROR" => refused(&mut reply, "Error", "Acquirer Error", "4"),
        "PENDING" => reply["resultCode"] = json!("Received"),
        "CHALLENGE" if shopper_present => {
            reply["resultCode"] = json!("ChallengeShopper");
            reply["action"] = json!({ "type": "threeDS2", "paymentMethodType": "scheme" });
        }
        "CHALLENGE" => refused(&mut reply, "Refused", "Authentication required", "38"),
        _ => {
            state.charges += 1;
            reply["resultCode"] = json!("Authorised");
            reply["paymentMethod"] = json!({ "brand": "visa", "type": "scheme" });
        }
    }
    (200, reply)
}
