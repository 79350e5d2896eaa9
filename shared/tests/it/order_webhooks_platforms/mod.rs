//! Order webhooks from Shopify, WooCommerce and Wix end to end, through `POST /webhooks/{platform}/{store_id}`
//! with the headers each platform sends, on both backends: setup on the (fake) store, signed deliveries,
//! one Stripe charge per order, the order marked paid in the store; already-paid orders, product updates,
//! uninstall and Shopify's compliance topics (`shopify_privacy`). Also live mode, and the test payment
//! method a merchant configures in its routing document (`payment_methods`).
//!
//! This module holds the Shopify shop the others start from.

mod payment_methods;
mod shopify;
mod shopify_privacy;
mod wix;
mod woocommerce;

use pivota_fakes::{FakeShop, FakeShopify};
use serde_json::{Value, json};

use crate::fixtures::{Backend, StripeMerchant, merged, stores};

const TEST_KEY: &str = "sk_test_51PlatformsTestKey0000";

struct Shopify {
    m: StripeMerchant,
    fake: FakeShopify,
    store_id: String,
}

async fn shopify(backend: Backend, stripe_key: &str, shop: FakeShop) -> Shopify {
    let m = StripeMerchant::connected(backend, stripe_key).await;
    let fake = FakeShopify::start(shop).await;
    let (store_id, _) = m.store_with_webhooks(stores::shopify(&fake)).await;
    Shopify { m, fake, store_id }
}

/// An `orders/create` payload as Shopify sends it (REST shape): 49.98 EUR after an edit, from customer `id + 1`.
fn shopify_order(id: u64, extra: Value) -> Vec<u8> {
    let order = json!({
        "id": id, "admin_graphql_api_id": format!("gid://shopify/Order/{id}"), "name": "#1001",
        "email": format!("buyer{id}@example.com"), "currency": "EUR", "total_price": "59.98",
        "current_total_price": "49.98", "subtotal_price": "49.98", "financial_status": "pending",
        "note_attributes": [{"name": "gift_note", "value": "Happy birthday"}],
        "line_items": [
            {"id": 466157049, "title": "Linen shirt", "quantity": 2, "sku": "LIN-M", "price": "19.99"},
            {"id": 466157050, "title": "Gift wrap", "quantity": 1, "sku": "", "price": "10.00"}
        ],
        "customer": {"id": id + 1, "email": format!("buyer{id}@example.com"), "first_name": "Jon", "last_name": "Doe"},
    });
    merged(order, extra)
}

impl Shopify {
    /// A delivery with exactly the headers Shopify sends, signed with the app's client secret.
    async fn deliver(&self, topic: &str, event_id: &str, body: &[u8]) -> u16 {
        self.deliver_with_hmac(topic, event_id, body, &self.fake.sign_webhook(body)).await.0
    }

    /// The same delivery, but with `hmac` as its `X-Shopify-Hmac-Sha256`.
    async fn deliver_with_hmac(&self, topic: &str, event_id: &str, body: &[u8], hmac: &str) -> (u16, Value) {
        self.deliver_with(topic, event_id, body, &[("x-shopify-hmac-sha256", Some(hmac.to_owned()))]).await
    }

    /// The delivery with some of Shopify's headers replaced (`Some`) or left out (`None`).
    async fn deliver_with(
        &self,
        topic: &str,
        event_id: &str,
        body: &[u8],
        changes: &[(&str, Option<String>)],
    ) -> (u16, Value) {
        let headers: Vec<(String, String)> = self
            .fake
            .delivery_headers(topic, event_id, body)
            .into_iter()
            .filter_map(|(name, value)| match changes.iter().find(|(changed, _)| *changed == name) {
                Some((_, replaced)) => replaced.clone().map(|value| (name.to_owned(), value)),
                None => Some((name.to_owned(), value)),
            })
            .collect();
        self.m.deliver("shopify", &self.store_id, &headers, body).await
    }

    /// The compliance payloads' common part: this shop.
    fn shop(&self) -> Value {
        json!({"shop_id": self.fake.shop_id(), "shop_domain": self.fake.domain()})
    }

    /// The `app/uninstalled` payload: the Shop resource.
    fn shop_resource(&self) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "id": self.fake.shop_id(), "name": "Pivota Test Shop", "domain": "shop.example",
            "myshopify_domain": self.fake.domain(), "currency": "EUR",
        }))
        .unwrap()
    }

    async fn connection_status(&self) -> Value {
        let (_, stores) = self.m.send("GET", "/stores", None).await;
        stores["items"][0]["connection_status"].clone()
    }
}

/// An HMAC Shopify never made: the right shape, keyed with another secret.
fn forged_hmac(body: &[u8]) -> String {
    use base64::Engine as _;
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"not-the-app-secret").unwrap();
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}
