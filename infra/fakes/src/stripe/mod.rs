//! A stateful fake of the Stripe API, for what Pivota calls: `GET /v1/balance` and `POST /v1/payment_intents`.
//!
//! This module holds the fake's handle, its state and the balance endpoint; [`wire`] the response envelope
//! (errors, `Request-Id`, failure injection, API-key checks) and [`payment_intents`] PaymentIntent creation
//! (idempotency, test PaymentMethods, customers), each with the Stripe docs it follows.
//!
//! Keys: by default any key starting `sk_test_` or `rk_test_` is valid unless it contains `invalid`;
//! [`FakeStripe::set_valid_keys`] replaces that rule with an exact list (where `sk_live_…` keys make the
//! balance report `livemode: true`). Idempotency keys are global to the fake (Stripe scopes them per account).

mod payment_intents;
mod wire;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request};

use crate::failure::{FailurePlan, FakeFailure};
use crate::ids;
use payment_intents::{create_payment_intent, test_card};
use wire::{Endpoint, Reply, authenticate, livemode};

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

fn balance(state: &mut State, request: &Request) -> Reply {
    let key = match authenticate(state, request) {
        Ok(key) => key,
        Err(reply) => return reply,
    };
    let funds = json!([{ "amount": 0, "currency": "usd", "source_types": { "card": 0 } }]);
    Reply::new(200, json!({ "object": "balance", "available": funds, "pending": funds, "livemode": livemode(&key) }))
}
