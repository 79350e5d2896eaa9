//! A stateful fake of a store implementing Pivota's custom store contract (`/pivota/v1`, documented in
//! `shared/src/stores/platforms/custom/mod.rs`).
//!
//! Product `i` (ids `p1`..`pn`) has two variants (`p<i>-a`, `p<i>-b`) when `i % 4 == 0`, else one; see
//! [`FakeCustomStore::expected_price_minor`]. Cursors are opaque offsets. Deliveries are signed as the
//! contract says ([`FakeCustomStore::sign_with`]): `X-Pivota-Signature: t=<unix seconds>,v1=<hex
//! HMAC-SHA256 of "<t>.<topic>.<body>">`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request};

use crate::failure::{FailurePlan, FakeFailure};
use crate::store_common::{Reply, Router, StoreState, header, lock, query, segments_after};

pub const DEFAULT_CUSTOM_TOKEN: &str = "pivota-custom-token-0000";

/// A webhook as the fake stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomWebhook {
    pub id: String,
    pub topic: String,
    pub url: String,
    pub secret: String,
}

pub struct FakeCustomStore {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

struct State {
    token: String,
    products: u64,
    requests: usize,
    failures: FailurePlan,
    webhooks: BTreeMap<String, CustomWebhook>,
    next_webhook_id: u64,
    webhooks_created: usize,
    webhooks_deleted: Vec<String>,
    orders_marked_paid: Vec<(String, String)>,
}

impl FakeCustomStore {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            token: DEFAULT_CUSTOM_TOKEN.into(),
            products: 0,
            requests: 0,
            failures: FailurePlan::default(),
            webhooks: BTreeMap::new(),
            next_webhook_id: 1,
            webhooks_created: 0,
            webhooks_deleted: Vec::new(),
            orders_marked_paid: Vec::new(),
        }));
        Mock::given(any()).respond_with(Router { state: state.clone() }).mount(&server).await;
        Self { server, state }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    pub fn with_token(self, token: &str) -> Self {
        lock(&self.state).token = token.into();
        self
    }

    pub fn with_products(self, n: u64) -> Self {
        lock(&self.state).products = n;
        self
    }

    /// The price of variant `k` of product `i`.
    pub fn expected_price_minor(i: u64, k: u64) -> i64 {
        (1000 + i * 3 + k * 50) as i64
    }

    pub fn variant_count(&self) -> usize {
        let n = lock(&self.state).products;
        (1..=n).map(|i| if i % 4 == 0 { 2 } else { 1 }).sum()
    }

    pub fn requests(&self) -> usize {
        lock(&self.state).requests
    }

    pub fn fail_next(&self, n: usize, failure: FakeFailure) {
        lock(&self.state).failures.queue(n, failure);
    }

    pub fn webhooks(&self) -> Vec<CustomWebhook> {
        lock(&self.state).webhooks.values().cloned().collect()
    }

    pub fn webhooks_created(&self) -> usize {
        lock(&self.state).webhooks_created
    }

    pub fn webhooks_deleted(&self) -> Vec<String> {
        lock(&self.state).webhooks_deleted.clone()
    }

    /// `(order id, psp_reference)` for every `POST /orders/{id}/paid`, in order.
    pub fn orders_marked_paid(&self) -> Vec<(String, String)> {
        lock(&self.state).orders_marked_paid.clone()
    }

    /// `X-Pivota-Signature` for a delivery of `topic` with `body` under `secret`, signed now:
    /// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<topic>.<body>">`, as the contract says.
    pub fn sign_with(secret: &str, topic: &str, body: &[u8]) -> String {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970");
        Self::sign_at(secret, topic, now.as_secs() as i64, body)
    }

    /// The same, signed at `timestamp` (unix seconds).
    pub fn sign_at(secret: &str, topic: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(format!("{timestamp}.{topic}.").as_bytes());
        mac.update(body);
        format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
    }

    /// The signature the store would send from its most recently created webhook.
    pub fn sign(&self, topic: &str, body: &[u8]) -> String {
        let state = lock(&self.state);
        let hook = state.webhooks.values().next_back().expect("no webhook was created, so nothing signs");
        Self::sign_with(&hook.secret, topic, body)
    }
}

fn error(status: u16, message: &str) -> Reply {
    Reply::json(status, json!({ "message": message }))
}

fn product(i: u64) -> Value {
    let variants: Vec<Value> = (0..if i.is_multiple_of(4) { 2 } else { 1 })
        .map(|k| {
            json!({
                "id": format!("p{i}-{}", ["a", "b"][k as usize]),
                "title": if k == 0 { "Default" } else { "Large" },
                "sku": format!("C-{i}-{k}"),
                "price_minor": FakeCustomStore::expected_price_minor(i, k),
                "inventory_quantity": i % 9,
            })
        })
        .collect();
    json!({
        "id": format!("p{i}"),
        "title": format!("Custom product {i}"),
        "status": if i.is_multiple_of(6) { "draft" } else { "active" },
        "image_url": format!("https://custom.example/img/{i}.png"),
        "updated_at": "2024-02-01T12:00:00Z",
        "variants": variants,
    })
}

impl StoreState for State {
    fn requests(&mut self) -> &mut usize {
        &mut self.requests
    }

    fn failures(&mut self) -> &mut FailurePlan {
        &mut self.failures
    }

    fn failure_body(&self, status: u16) -> Value {
        json!({ "message": if status == 429 { "slow down" } else { "internal error" } })
    }

    fn route(&mut self, request: &Request) -> Reply {
        let Some(segments) = segments_after(request, "/pivota/v1") else { return error(404, "not found") };
        if header(request, "authorization") != Some(format!("Bearer {}", self.token).as_str()) {
            return error(401, "invalid API token");
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        match (request.method.as_str(), segments.as_slice()) {
            ("GET", ["store"]) => Reply::json(200, json!({ "name": "Fake Custom Store", "currency": "USD" })),
            ("GET", ["products"]) => {
                let limit = query(request, "limit").and_then(|l| l.parse::<u64>().ok()).unwrap_or(50).clamp(1, 100);
                let Some(offset) = query(request, "cursor").map_or(Some(0), |c| c.parse::<u64>().ok()) else {
                    return error(400, "bad cursor");
                };
                let end = (offset + limit).min(self.products);
                let products: Vec<Value> = (offset + 1..=end).map(product).collect();
                let next = (end < self.products).then(|| end.to_string());
                Reply::json(200, json!({ "products": products, "next_cursor": next }))
            }
            ("POST", ["webhooks"]) => {
                let (Some(topic), Some(url), Some(secret)) =
                    (body["topic"].as_str(), body["url"].as_str(), body["secret"].as_str())
                else {
                    return error(400, "topic, url and secret are required");
                };
                if let Some(hook) = self.webhooks.values_mut().find(|hook| hook.topic == topic && hook.url == url) {
                    hook.secret = secret.to_owned();
                    return Reply::json(200, json!({ "id": hook.id }));
                }
                let id = format!("wh_{}", self.next_webhook_id);
                self.next_webhook_id += 1;
                self.webhooks_created += 1;
                self.webhooks.insert(
                    id.clone(),
                    CustomWebhook { id: id.clone(), topic: topic.into(), url: url.into(), secret: secret.into() },
                );
                Reply::json(201, json!({ "id": id }))
            }
            ("DELETE", ["webhooks", id]) => match self.webhooks.remove(*id) {
                Some(hook) => {
                    self.webhooks_deleted.push(hook.id);
                    Reply::empty(204)
                }
                None => error(404, "no such webhook"),
            },
            ("POST", ["orders", id, "paid"]) => {
                let Some(reference) = body["psp_reference"].as_str() else {
                    return error(400, "psp_reference is required");
                };
                self.orders_marked_paid.push(((*id).to_owned(), reference.to_owned()));
                Reply::empty(204)
            }
            _ => error(404, "not found"),
        }
    }
}
