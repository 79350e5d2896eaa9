//! A merchant with Stripe (test mode) and a custom store whose order webhooks are set up: the fixture of
//! the order-webhook and money-safety tests.

use std::time::Duration;

use pivota::app::App;
use pivota_fakes::{DEFAULT_CUSTOM_TOKEN, FakeCustomStore, FakeStripe};
use serde_json::{Value, json};

use super::{Backend, TestApp, app_with_fakes, approved_merchant, call, list_all};

pub struct Shop {
    pub test: TestApp,
    pub store: FakeCustomStore,
    pub stripe: FakeStripe,
    pub id: String,
    pub key: String,
    pub store_id: String,
    pub secret: String,
}

/// A merchant with Stripe (test mode) and a custom store whose webhooks are set up.
pub async fn shop(backend: Backend) -> Shop {
    let stripe = FakeStripe::start().await;
    let test = app_with_fakes(backend, stripe.uri()).await;
    let email = format!("{}@shop.example", ulid::Ulid::new().to_string().to_lowercase());
    let (id, key) = approved_merchant(&test.app, &email).await;
    let (status, body) = call(&test.app, "POST", &format!("/merchant/{id}/psp/connect"))
        .bearer(&key)
        .json(json!({"psp": "stripe", "api_key": "sk_test_51StormTestKey0000"}))
        .send()
        .await;
    assert_eq!(status, 201, "{body}");
    let store = FakeCustomStore::start().await.with_products(1);
    let (status, connected) = call(&test.app, "POST", &format!("/merchant/{id}/store/connect"))
        .bearer(&key)
        .json(json!({"platform": "custom", "store_url": store.uri(), "api_token": DEFAULT_CUSTOM_TOKEN}))
        .send()
        .await;
    assert_eq!(status, 201, "{connected}");
    let store_id = connected["store_id"].as_str().unwrap().to_owned();
    let (status, setup) =
        call(&test.app, "POST", &format!("/merchant/{id}/store/{store_id}/webhooks/setup")).bearer(&key).send().await;
    assert_eq!(status, 200, "{setup}");
    let secret =
        store.webhooks().first().map(|w| w.secret.clone()).expect("the store holds our webhook and its secret");
    Shop { test, store, stripe, id, key, store_id, secret }
}

pub fn order(id: u32, extra: Value) -> Vec<u8> {
    let mut order = json!({
        "id": id.to_string(), "number": format!("#{id}"), "currency": "EUR", "total_minor": 1000 + id as i64, "paid": false,
        "line_items": [{"title": "Trail shoe", "quantity": 1, "sku": "TS-42", "price_minor": 1000 + id as i64}],
        "customer": {"id": format!("c-{id}"), "email": format!("buyer{id}@example.com"), "name": "Ada Buyer"},
    });
    if let (Some(order), Some(extra)) = (order.as_object_mut(), extra.as_object()) {
        order.extend(extra.clone());
    }
    serde_json::to_vec(&order).unwrap()
}

impl Shop {
    pub async fn deliver(&self, body: &[u8], event_id: &str, signature: Option<String>) -> u16 {
        self.deliver_to(&self.test.app, body, event_id, signature).await
    }

    /// An order delivery handled by `app` (another process, say).
    pub async fn deliver_to(&self, app: &App, body: &[u8], event_id: &str, signature: Option<String>) -> u16 {
        self.deliver_topic_to(app, "order.created", body, event_id, signature).await
    }

    pub async fn deliver_topic_to(
        &self,
        app: &App,
        topic: &str,
        body: &[u8],
        event_id: &str,
        signature: Option<String>,
    ) -> u16 {
        let mut request = call(app, "POST", &format!("/webhooks/custom/{}", self.store_id))
            .header("x-pivota-topic", topic)
            .header("x-pivota-event-id", event_id)
            .raw(body.to_vec());
        if let Some(signature) = signature.or_else(|| Some(FakeCustomStore::sign_with(&self.secret, topic, body))) {
            request = request.header("x-pivota-signature", &signature);
        }
        request.send().await.0
    }

    /// Delivers like a store does: a 5xx answer is retried (Shopify retries 8 times over 4 hours).
    pub async fn deliver_with_retries(&self, body: &[u8], event_id: &str) -> u16 {
        let mut status = 0;
        for _ in 0..8 {
            status = self.deliver(body, event_id, None).await;
            if status < 500 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        status
    }

    pub async fn orders(&self) -> Vec<Value> {
        list_all(&self.test.app, &self.key, &format!("/merchant/{}/orders", self.id)).await
    }
}
