//! A stateful fake of the WooCommerce REST API (`/wp-json/wc/v3`), for what Pivota calls.
//!
//! This module holds the fake's handle, its state and its knobs; [`routes`] answers the requests (with the
//! WooCommerce docs each answer follows) and [`signing`] makes webhook deliveries as WooCommerce signs them.
//!
//! The catalog ([`FakeWooCommerce::with_products`]) is deterministic: product `i` (ids 1..=n) is
//! variable with three variations (`S`/`M`/`L`) when `i % 5 == 0`, a draft when `i % 7 == 0`; see
//! [`FakeWooCommerce::expected_price_minor`] for the prices.

mod routes;
mod signing;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use wiremock::matchers::any;
use wiremock::{Mock, MockServer};

use crate::failure::{FailurePlan, FakeFailure};
use crate::store_common::{Router, lock};

pub const DEFAULT_CONSUMER_KEY: &str = "ck_fake0000000000000000000000000000000000";
pub const DEFAULT_CONSUMER_SECRET: &str = "cs_fake0000000000000000000000000000000000";

/// A webhook as the fake stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WooWebhook {
    pub id: u64,
    pub name: String,
    pub topic: String,
    pub delivery_url: String,
    pub secret: String,
    pub status: String,
}

pub struct FakeWooCommerce {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

struct State {
    key: String,
    secret: String,
    site_name: String,
    currency: String,
    products: u64,
    requests: usize,
    currency_reads: usize,
    failures: FailurePlan,
    webhooks: BTreeMap<u64, WooWebhook>,
    next_webhook_id: u64,
    webhooks_created: usize,
    webhooks_deleted: Vec<u64>,
    orders: Vec<u64>,
    orders_marked_paid: Vec<(String, String)>,
}

impl FakeWooCommerce {
    /// A store with no products, the default keys, named "Fake Woo Store", in EUR.
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            key: DEFAULT_CONSUMER_KEY.into(),
            secret: DEFAULT_CONSUMER_SECRET.into(),
            site_name: "Fake Woo Store".into(),
            currency: "EUR".into(),
            products: 0,
            requests: 0,
            currency_reads: 0,
            failures: FailurePlan::default(),
            webhooks: BTreeMap::new(),
            next_webhook_id: 1,
            webhooks_created: 0,
            webhooks_deleted: Vec::new(),
            orders: Vec::new(),
            orders_marked_paid: Vec::new(),
        }));
        Mock::given(any()).respond_with(Router { state: state.clone() }).mount(&server).await;
        Self { server, state }
    }

    /// The store URL, e.g. `http://127.0.0.1:38211`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Replaces the valid consumer key and secret.
    pub fn with_credentials(self, key: &str, secret: &str) -> Self {
        {
            let mut state = lock(&self.state);
            state.key = key.into();
            state.secret = secret.into();
        }
        self
    }

    /// A deterministic catalog of `n` products (ids 1..=n).
    pub fn with_products(self, n: u64) -> Self {
        lock(&self.state).products = n;
        self
    }

    /// The store's currency (`woocommerce_currency`).
    pub fn with_currency(self, code: &str) -> Self {
        lock(&self.state).currency = code.into();
        self
    }

    /// Orders that exist (for `PUT /orders/{id}`).
    pub fn with_orders(self, ids: &[u64]) -> Self {
        lock(&self.state).orders.extend_from_slice(ids);
        self
    }

    /// Whether product `id` is variable (three variations).
    pub fn is_variable(id: u64) -> bool {
        id.is_multiple_of(5)
    }

    /// The price in cents of product `id` (simple) or of its variation `k` (0..3, variable).
    pub fn expected_price_minor(id: u64, variation: Option<u64>) -> i64 {
        match variation {
            None => ((5 + id % 50) * 100 + id % 100) as i64,
            Some(k) => ((10 + k) * 100 + id % 100) as i64,
        }
    }

    /// The id of variation `k` (0..3) of variable product `id`.
    pub fn variation_id(id: u64, k: u64) -> u64 {
        100_000 + id * 10 + k
    }

    /// What Pivota should hold for product `id` once synced: each variant's id, price in cents and stock (a
    /// simple product is its own variant).
    pub fn expected_variants(id: u64) -> Vec<(String, i64, Option<i64>)> {
        if Self::is_variable(id) {
            (0..3)
                .map(|k| {
                    (
                        Self::variation_id(id, k).to_string(),
                        Self::expected_price_minor(id, Some(k)),
                        Some((k * 5) as i64),
                    )
                })
                .collect()
        } else {
            vec![(id.to_string(), Self::expected_price_minor(id, None), Some((id % 20) as i64))]
        }
    }

    /// The number of variants the catalog holds (one per simple product, three per variable one).
    pub fn variant_count(&self) -> usize {
        let n = lock(&self.state).products;
        (1..=n).map(|id| if Self::is_variable(id) { 3 } else { 1 }).sum()
    }

    pub fn requests(&self) -> usize {
        lock(&self.state).requests
    }

    pub fn fail_next(&self, n: usize, failure: FakeFailure) {
        lock(&self.state).failures.queue(n, failure);
    }

    pub fn fail_randomly(&self, percent: u8, seed: u64, failure: FakeFailure) {
        lock(&self.state).failures.randomly(percent, seed, failure);
    }

    /// Every `nth` request from now on gets `failure`, e.g. a host answering every 4th request
    /// `429` with `Retry-After: 1`; `0` stops it.
    pub fn fail_every(&self, nth: usize, failure: FakeFailure) {
        lock(&self.state).failures.every(nth, failure);
    }

    /// How many requests got an injected failure (a throttled answer, a 5xx, …).
    pub fn failures_injected(&self) -> usize {
        lock(&self.state).failures.injected()
    }

    /// How many times the currency setting was served (`GET /settings/general/woocommerce_currency`).
    pub fn currency_reads(&self) -> usize {
        lock(&self.state).currency_reads
    }

    /// The webhooks that exist now.
    pub fn webhooks(&self) -> Vec<WooWebhook> {
        lock(&self.state).webhooks.values().cloned().collect()
    }

    /// How many webhooks were ever created (`POST /webhooks`).
    pub fn webhooks_created(&self) -> usize {
        lock(&self.state).webhooks_created
    }

    /// The ids of deleted webhooks, in order.
    pub fn webhooks_deleted(&self) -> Vec<u64> {
        lock(&self.state).webhooks_deleted.clone()
    }

    /// `(order id, transaction_id)` for every `set_paid: true` update, in order.
    pub fn orders_marked_paid(&self) -> Vec<(String, String)> {
        lock(&self.state).orders_marked_paid.clone()
    }
}
