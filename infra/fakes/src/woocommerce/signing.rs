//! Webhook deliveries as WooCommerce makes them: the `X-WC-Webhook-Signature` HMAC, delivery ids and headers
//! (`WC_Webhook::deliver`, woocommerce/includes/class-wc-webhook.php).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::FakeWooCommerce;
use crate::store_common::lock;

impl FakeWooCommerce {
    /// `X-WC-Webhook-Signature` for `body` under `secret`: base64(HMAC-SHA256).
    pub fn sign_with(secret: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(body);
        BASE64.encode(mac.finalize().into_bytes())
    }

    /// The signature WooCommerce would send for `body` from the most recently created webhook.
    pub fn sign(&self, body: &[u8]) -> String {
        let state = lock(&self.state);
        let hook = state.webhooks.values().next_back().expect("no webhook was created, so nothing signs");
        Self::sign_with(&hook.secret, body)
    }

    /// A delivery id as WooCommerce makes one: `WC_Webhook::get_new_delivery_id()` is
    /// `wp_hash( $this->get_id() . strtotime( 'now' ) )` (woocommerce/includes/class-wc-webhook.php), a hash of
    /// the webhook id and the current second, so every delivery of one webhook within a second shares it.
    /// (`wp_hash` is an HMAC-MD5 under the site's salt; any deterministic hash of the same inputs behaves
    /// alike for a receiver.)
    pub fn delivery_id(webhook_id: u64, unix_second: i64) -> String {
        use sha2::Digest as _;
        hex::encode(&sha2::Sha256::digest(format!("{webhook_id}{unix_second}").as_bytes())[..16])
    }

    /// The headers of a delivery (`WC_Webhook::deliver`) of `body` on `topic`, signed with `secret`.
    pub fn delivery_headers(secret: &str, topic: &str, delivery_id: &str, body: &[u8]) -> Vec<(String, String)> {
        let (resource, event) = topic.split_once('.').unwrap_or((topic, ""));
        vec![
            ("content-type".into(), "application/json".into()),
            ("x-wc-webhook-source".into(), "https://shop.example/".into()),
            ("x-wc-webhook-topic".into(), topic.into()),
            ("x-wc-webhook-resource".into(), resource.into()),
            ("x-wc-webhook-event".into(), event.into()),
            ("x-wc-webhook-signature".into(), Self::sign_with(secret, body)),
            ("x-wc-webhook-id".into(), "1".into()),
            ("x-wc-webhook-delivery-id".into(), delivery_id.into()),
        ]
    }
}
