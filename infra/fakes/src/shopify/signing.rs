//! Webhook deliveries signed as Shopify signs them.
//!
//! Webhook deliveries ([`FakeShopify::delivery_headers`]) are signed like Shopify's: base64 HMAC-SHA256 of
//! the raw body with the app's client secret ("Verify webhook deliveries",
//! https://shopify.dev/docs/apps/build/webhooks/verify-deliveries), with the headers of "Webhooks delivery
//! structure" (https://shopify.dev/docs/apps/build/webhooks/delivery-structure): `X-Shopify-Shop-Domain`
//! (the `*.myshopify.com` domain), `X-Shopify-Event-Id`, `X-Shopify-Webhook-Id`, and
//! `X-Shopify-Triggered-At` (when the event happened, RFC 3339: now, for a first delivery).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::FakeShopify;

impl FakeShopify {
    /// The `X-Shopify-Hmac-Sha256` value for `body`: base64 HMAC-SHA256 keyed with the client secret.
    pub fn sign_webhook(&self, body: &[u8]) -> String {
        let secret = self.client_secret();
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
        mac.update(body);
        STANDARD.encode(mac.finalize().into_bytes())
    }

    /// The headers Shopify sends with a first delivery of `topic` (`orders/create`, …), triggered now.
    pub fn delivery_headers(&self, topic: &str, event_id: &str, body: &[u8]) -> Vec<(&'static str, String)> {
        let domain = self.lock().shop.domain.clone();
        let now = time::OffsetDateTime::now_utc();
        let triggered_at = now.format(&time::format_description::well_known::Rfc3339).expect("a current date formats");
        vec![
            ("content-type", "application/json".into()),
            ("x-shopify-topic", topic.into()),
            ("x-shopify-hmac-sha256", self.sign_webhook(body)),
            ("x-shopify-shop-domain", domain),
            ("x-shopify-api-version", "2026-07".into()),
            ("x-shopify-webhook-id", format!("{event_id}-delivery")),
            ("x-shopify-event-id", event_id.into()),
            ("x-shopify-triggered-at", triggered_at),
        ]
    }
}
