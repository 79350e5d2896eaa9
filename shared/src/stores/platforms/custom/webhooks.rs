//! The custom store's webhook side: subscriptions (`POST /pivota/v1/webhooks`, idempotent per topic and
//! URL), verified deliveries (`X-Pivota-Signature` over the time, the topic and the body, in the scheme of
//! Stripe's `Stripe-Signature`, https://docs.stripe.com/webhooks#verify-manually, and refused outside
//! [`SIGNATURE_TOLERANCE`]), orders and products as deliveries carry them, and the order write-back
//! (`POST /pivota/v1/orders/{id}/paid`). The contract is in the parent module.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;
use url::Url;

use super::catalog::Product;
use super::{CustomStore, call, parse, url};
use crate::kernel::money::Currency;
use crate::stores::platforms::store_http::hmac_sha256_matches;
use crate::stores::platforms::{
    Customer, Delivery, DeliveryContext, DeliveryTopic, ExternalOrder, ExternalProduct, OrderLine, PlatformError,
    Screening, StoreCredentials, StoreEndpoint, StoreWebhooks, WebhookError, WebhookSubscription, WebhookTopic,
};

/// How far a delivery's signed timestamp may be from Pivota's clock, before or after (Stripe's default
/// tolerance too): wide enough for clock skew and a slow network, narrow enough that a captured delivery
/// cannot be replayed later.
pub const SIGNATURE_TOLERANCE: Duration = Duration::from_secs(300);

const TOPIC: &str = "x-pivota-topic";

fn header<'h>(headers: &'h http::HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|value| value.to_str().ok()).map(str::trim)
}

/// `X-Pivota-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, read; `None` when it is not of that form.
struct Signature {
    timestamp: i64,
    macs: Vec<Vec<u8>>,
}

impl Signature {
    fn read(headers: &http::HeaderMap) -> Option<Self> {
        let mut timestamp = None;
        let mut macs = Vec::new();
        for part in header(headers, "x-pivota-signature")?.split(',') {
            match part.trim().split_once('=')? {
                ("t", value) => timestamp = Some(value.parse::<i64>().ok()?),
                ("v1", value) => macs.push(hex::decode(value).ok()?),
                // Other schemes may be added later; ignored, as Stripe's are.
                _ => {}
            }
        }
        (!macs.is_empty()).then_some(Self { timestamp: timestamp?, macs })
    }
}

fn topic_name(topic: WebhookTopic) -> Option<&'static str> {
    match topic {
        WebhookTopic::OrderCreated => Some("order.created"),
        WebhookTopic::ProductUpdated => Some("product.updated"),
        WebhookTopic::AppUninstalled => None,
    }
}

#[derive(Deserialize)]
struct Created {
    id: serde_json::Value,
}

#[derive(Deserialize)]
struct Order {
    id: String,
    #[serde(default)]
    number: Option<String>,
    currency: String,
    total_minor: i64,
    #[serde(default)]
    paid: bool,
    #[serde(default)]
    payment_method: Option<String>,
    #[serde(default)]
    payment_customer: Option<String>,
    #[serde(default)]
    line_items: Vec<Line>,
    #[serde(default)]
    customer: Option<OrderCustomer>,
}

#[derive(Deserialize)]
struct Line {
    title: String,
    quantity: i64,
    #[serde(default)]
    sku: Option<String>,
    price_minor: i64,
}

#[derive(Deserialize)]
struct OrderCustomer {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[async_trait]
impl StoreWebhooks for CustomStore {
    /// The contract makes creation idempotent per topic and URL, so this simply creates each topic.
    /// `AppUninstalled` has no custom-store topic and is skipped.
    async fn subscribe(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        address: &Url,
        topics: &[WebhookTopic],
    ) -> Result<Vec<WebhookSubscription>, PlatformError> {
        let secret = credentials.webhook_secret.as_ref().ok_or_else(|| PlatformError::Invalid {
            reason: "no webhook secret was generated for this custom store".into(),
        })?;
        let mut subscriptions: Vec<WebhookSubscription> = Vec::new();
        for &topic in topics {
            let Some(name) = topic_name(topic) else { continue };
            if subscriptions.iter().any(|subscription| subscription.topic == topic) {
                continue;
            }
            let request = endpoint.http.post(url(&endpoint.base, "webhooks")).json(&json!({
                "topic": name,
                "url": address.as_str(),
                "secret": secret.expose_secret(),
            }));
            let body = call(request, credentials, false).await?.unwrap_or_default();
            let created: Created = parse(&body, "webhook")?;
            let external_id = match created.id {
                serde_json::Value::String(id) => id,
                serde_json::Value::Number(id) => id.to_string(),
                other => return Err(PlatformError::Invalid { reason: format!("webhook id {other} is not an id") }),
            };
            subscriptions.push(WebhookSubscription { topic, external_id, address: address.to_string() });
        }
        Ok(subscriptions)
    }

    async fn unsubscribe(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        subscriptions: &[WebhookSubscription],
    ) -> Result<(), PlatformError> {
        for subscription in subscriptions {
            let mut target = Url::parse(&url(&endpoint.base, "webhooks"))
                .map_err(|_| PlatformError::Invalid { reason: "the store URL cannot take a path".into() })?;
            target
                .path_segments_mut()
                .map_err(|_| PlatformError::Invalid { reason: "the store URL cannot take a path".into() })?
                .push(&subscription.external_id);
            call(endpoint.http.delete(target), credentials, true).await?;
        }
        Ok(())
    }

    fn verify_delivery(
        &self,
        credentials: &StoreCredentials,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<Delivery, WebhookError> {
        let secret = credentials.webhook_secret.as_ref().ok_or(WebhookError::BadSignature)?;
        let signature = Signature::read(headers).ok_or(WebhookError::BadSignature)?;
        // The topic is signed, so it must be there to check the signature at all.
        let topic = header(headers, TOPIC).ok_or(WebhookError::BadSignature)?;
        let signed = [signature.timestamp.to_string().as_bytes(), b".", topic.as_bytes(), b".", body].concat();
        if !signature.macs.iter().any(|mac| hmac_sha256_matches(secret.expose_secret().as_bytes(), &signed, mac)) {
            return Err(WebhookError::BadSignature);
        }
        let topic = match topic {
            "order.created" => DeliveryTopic::OrderCreated,
            "product.updated" => DeliveryTopic::ProductUpdated,
            other => DeliveryTopic::Other(other.to_owned()),
        };
        Ok(Delivery { event_id: header(headers, "x-pivota-event-id").map(str::to_owned), topic })
    }

    /// The signed timestamp must be within [`SIGNATURE_TOLERANCE`] of now, either way.
    fn screen(
        &self,
        _delivery: &Delivery,
        context: &DeliveryContext<'_>,
        headers: &http::HeaderMap,
        _body: &[u8],
    ) -> Result<Screening, WebhookError> {
        let signature = Signature::read(headers).ok_or(WebhookError::BadSignature)?;
        let off_by = (context.now.unix_timestamp() - signature.timestamp).unsigned_abs();
        if off_by > SIGNATURE_TOLERANCE.as_secs() {
            return Err(WebhookError::BadHeader {
                header: "X-Pivota-Signature",
                reason: format!(
                    "its timestamp t={} is {off_by} s from Pivota's clock, more than the {} s allowed; sign each \
                     delivery (retries included) when it is sent",
                    signature.timestamp,
                    SIGNATURE_TOLERANCE.as_secs()
                ),
            });
        }
        Ok(Screening::Act)
    }

    fn parse_order(&self, body: &[u8]) -> Result<ExternalOrder, WebhookError> {
        let order: Order =
            serde_json::from_slice(body).map_err(|error| WebhookError::Malformed(format!("not an order: {error}")))?;
        let currency = Currency::parse(&order.currency)
            .map_err(|_| WebhookError::Malformed(format!("unknown currency {:?}", order.currency)))?;
        Ok(ExternalOrder {
            external_id: order.id,
            name: order.number,
            total_minor: order.total_minor,
            currency,
            already_paid: order.paid,
            payment_method: order.payment_method,
            payment_customer: order.payment_customer,
            line_items: order
                .line_items
                .into_iter()
                .map(|line| OrderLine {
                    title: line.title,
                    quantity: line.quantity,
                    sku: line.sku,
                    price_minor: line.price_minor,
                })
                .collect(),
            customer: order.customer.map(|customer| Customer {
                external_id: customer.id,
                email: customer.email,
                name: customer.name,
            }),
        })
    }

    /// Custom stores send integer minor units, so the currency is not needed to read them.
    fn parse_product(&self, body: &[u8], _currency: Currency) -> Result<ExternalProduct, WebhookError> {
        let product: Product =
            serde_json::from_slice(body).map_err(|error| WebhookError::Malformed(format!("not a product: {error}")))?;
        product.normalise().map_err(WebhookError::Malformed)
    }

    async fn mark_order_paid(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        order_id: &str,
        psp_reference: &str,
    ) -> Result<(), PlatformError> {
        let mut target = Url::parse(&url(&endpoint.base, "orders"))
            .map_err(|_| PlatformError::Invalid { reason: "the store URL cannot take a path".into() })?;
        target
            .path_segments_mut()
            .map_err(|_| PlatformError::Invalid { reason: "the store URL cannot take a path".into() })?
            .push(order_id)
            .push("paid");
        let request = endpoint.http.post(target).json(&json!({ "psp_reference": psp_reference }));
        call(request, credentials, false).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;
    use time::OffsetDateTime;

    use super::*;
    use crate::stores::platforms::store_http::hmac_sha256;

    const SECRET: &str = "whsec-custom-0123456789";

    fn credentials() -> StoreCredentials {
        StoreCredentials {
            api_token: SecretString::from("token"),
            consumer_key: None,
            consumer_secret: None,
            site_id: None,
            webhook_secret: Some(SecretString::from(SECRET)),
        }
    }

    fn v1(secret: &str, signed: &str) -> String {
        hex::encode(hmac_sha256(secret.as_bytes(), signed.as_bytes()))
    }

    fn headers(topic: &str, signature: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-pivota-topic", topic.parse().unwrap());
        headers.insert("x-pivota-signature", signature.parse().unwrap());
        headers
    }

    #[test]
    fn the_signature_covers_the_time_the_topic_and_the_body() {
        let body = r#"{"id":"o-1"}"#;
        let good = format!("t=1700000000,v1={}", v1(SECRET, &format!("1700000000.order.created.{body}")));
        let delivery = CustomStore.verify_delivery(&credentials(), &headers("order.created", &good), body.as_bytes());
        assert_eq!(delivery.map(|d| d.topic), Ok(DeliveryTopic::OrderCreated));
        // While a secret changes, the store may send one entry per secret; one matching is enough.
        let rotating = format!("t=1700000000,v1={},{}", v1("old-secret", "x"), &good["t=1700000000,".len()..]);
        assert!(
            CustomStore.verify_delivery(&credentials(), &headers("order.created", &rotating), body.as_bytes()).is_ok()
        );
        let refused = [
            ("product.updated", good.clone()),
            ("order.created", good.replace("t=1700000000", "t=1700000001")),
            ("order.created", format!("v1={}", v1(SECRET, &format!("1700000000.order.created.{body}")))),
            ("order.created", format!("t=1700000000,v1={}", v1(SECRET, body))),
            ("order.created", "t=1700000000".to_owned()),
            ("order.created", format!("sha256={}", v1(SECRET, body))),
        ];
        for (topic, signature) in refused {
            let result = CustomStore.verify_delivery(&credentials(), &headers(topic, &signature), body.as_bytes());
            assert_eq!(result, Err(WebhookError::BadSignature), "{topic} {signature}");
        }
    }

    #[test]
    fn a_timestamp_outside_the_tolerance_is_refused_either_way() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let context = DeliveryContext { shop: None, now };
        let delivery = Delivery { event_id: None, topic: DeliveryTopic::OrderCreated };
        let screen =
            |t: i64| CustomStore.screen(&delivery, &context, &headers("order.created", &format!("t={t},v1=00")), b"");
        assert_eq!(screen(1_700_000_000 - 300), Ok(Screening::Act));
        assert_eq!(screen(1_700_000_000 + 300), Ok(Screening::Act));
        for t in [1_700_000_000 - 301, 1_700_000_000 + 301] {
            assert!(matches!(screen(t), Err(WebhookError::BadHeader { header: "X-Pivota-Signature", .. })), "{t}");
        }
    }
}
