//! What a Shopify delivery must also satisfy once its HMAC checks out, before anything acts on it.
//!
//! The HMAC covers the body only ("Verify webhook deliveries",
//! https://shopify.dev/docs/apps/build/webhooks/verify-deliveries), and the headers — topic, shop, time — are
//! not signed. So a captured body could be replayed under another topic or to another store's address. Hence:
//!
//! 1. **The shop.** `X-Shopify-Shop-Domain` (the shop's `*.myshopify.com` domain, "Webhooks delivery
//!    structure", https://shopify.dev/docs/apps/build/webhooks/delivery-structure) must be the store's shop,
//!    compared lowercase. Another shop's delivery is refused (403).
//! 2. **The shape.** The body must be its topic's payload (the "Webhooks" reference,
//!    https://shopify.dev/docs/api/webhooks): an order for `orders/create`, a product (with `variants`) for
//!    `products/update`, the Shop resource (`id`, `myshopify_domain`) for `app/uninstalled`, and the
//!    compliance shapes ("Privacy law compliance",
//!    https://shopify.dev/docs/apps/build/compliance/privacy-law-compliance): `customers/redact` has
//!    `shop_id`, `shop_domain`, `customer` and `orders_to_redact`; `customers/data_request` has `shop_id`,
//!    `shop_domain`, `customer` and `orders_requested`; `shop/redact` has `shop_id` and `shop_domain` and
//!    nothing of a customer. The shop a payload names must be the store's too (domain, and id when
//!    recorded). A payload of the wrong shape is refused (422; 400 for `orders/create`, which always refused
//!    a body it cannot read as an order so): an order body sent as `customers/redact` or `app/uninstalled`
//!    redacts or uninstalls nothing.
//! 3. **The time.** `X-Shopify-Triggered-At` says when the event happened, and a retry keeps it ("Updates to
//!    webhook retry mechanism", https://shopify.dev/changelog/updates-to-webhook-retry-mechanism: "retried a
//!    total of 8 times over 4 hours … delivered with the original payload from the time they were
//!    triggered. Partners should utilize the `X-Shopify-Triggered-At` timestamp … to determine if the payload
//!    is stale"). A delivery triggered more than [`DELIVERY_WINDOW`] ago is acknowledged (so Shopify stops)
//!    and not acted on. Shopify sends the header on every delivery of current API versions, so a missing or
//!    unreadable one is refused (400), as is one more than [`CLOCK_SKEW`] in the future.
//!
//! What this does not stop: a body replayed under its own topic, to its own shop, with a fresh
//! `X-Shopify-Triggered-At` and a new event id. Order creation is idempotent per (store, order id), and a
//! product update applies only when newer than what is stored; an uninstall is confirmed with Shopify before
//! it is applied (`installation.rs`).

use serde::Deserialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::webhooks::{id_text, parse_order};
use crate::stores::platforms::{Delivery, DeliveryContext, DeliveryTopic, Screening, ShopIdentity, WebhookError};

/// How old a delivery may be and still be acted on. Shopify's retries of one event span 4 hours (8 attempts,
/// exponential backoff) and keep the original `X-Shopify-Triggered-At`, so anything shorter would drop the
/// last legitimate retries; the 2 hours on top cover delivery queueing on Shopify's side and clock skew.
const DELIVERY_WINDOW: Duration = Duration::hours(6);

/// How far in the future a `X-Shopify-Triggered-At` may be (clocks differ a little; Shopify's are not ahead
/// by minutes).
const CLOCK_SKEW: Duration = Duration::minutes(5);

const SHOP_DOMAIN: &str = "X-Shopify-Shop-Domain";
const TRIGGERED_AT: &str = "X-Shopify-Triggered-At";

pub(super) fn screen(
    delivery: &Delivery,
    context: &DeliveryContext<'_>,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<Screening, WebhookError> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::trim);
    let shop = context.shop.ok_or_else(|| {
        WebhookError::WrongShop("the store's shop is not known yet; set up its webhooks again".into())
    })?;
    let claimed = header(SHOP_DOMAIN)
        .filter(|domain| !domain.is_empty())
        .ok_or(WebhookError::BadHeader { header: SHOP_DOMAIN, reason: "is missing".into() })?;
    if ShopIdentity::normalise_domain(claimed) != shop.domain {
        return Err(WebhookError::WrongShop(format!("{SHOP_DOMAIN} `{claimed}` is not this store's shop")));
    }
    let triggered_at = header(TRIGGERED_AT)
        .ok_or_else(|| WebhookError::BadHeader { header: TRIGGERED_AT, reason: "is missing".into() })
        .and_then(|raw| {
            OffsetDateTime::parse(raw, &Rfc3339).map_err(|_| WebhookError::BadHeader {
                header: TRIGGERED_AT,
                reason: format!("`{raw}` is not RFC 3339"),
            })
        })?;
    if triggered_at > context.now + CLOCK_SKEW {
        return Err(WebhookError::BadHeader { header: TRIGGERED_AT, reason: "is in the future".into() });
    }
    check_shape(&delivery.topic, body, shop)?;
    if context.now - triggered_at > DELIVERY_WINDOW {
        return Ok(Screening::TooOld { triggered_at });
    }
    Ok(Screening::Act)
}

/// `products/update`: a product has a title and its variants; an order has neither.
#[derive(Deserialize)]
struct ProductShape {
    #[serde(rename = "id")]
    _id: Value,
    #[serde(rename = "title")]
    _title: String,
    #[serde(rename = "variants")]
    _variants: Vec<Value>,
}

/// `app/uninstalled`: the Shop resource.
#[derive(Deserialize)]
struct ShopResource {
    id: Value,
    myshopify_domain: String,
}

/// The compliance topics' common part.
#[derive(Deserialize)]
struct CompliancePayload {
    shop_id: Value,
    shop_domain: String,
    #[serde(default)]
    customer: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    orders_to_redact: Option<Vec<Value>>,
    #[serde(default)]
    orders_requested: Option<Vec<Value>>,
}

fn check_shape(topic: &DeliveryTopic, body: &[u8], shop: &ShopIdentity) -> Result<(), WebhookError> {
    let topic_name = match topic {
        DeliveryTopic::OrderCreated => "orders/create",
        DeliveryTopic::ProductUpdated => "products/update",
        DeliveryTopic::AppUninstalled => "app/uninstalled",
        DeliveryTopic::CustomersDataRequest => "customers/data_request",
        DeliveryTopic::CustomersRedact => "customers/redact",
        DeliveryTopic::ShopRedact => "shop/redact",
        DeliveryTopic::Ping | DeliveryTopic::Other(_) => return Ok(()),
    };
    let wrong = |reason: String| WebhookError::NotTopicPayload { topic: topic_name.into(), reason };
    let parse_error = |error: serde_json::Error| wrong(error.to_string());
    match topic {
        // Unreadable as an order: 400, as it always was.
        DeliveryTopic::OrderCreated => parse_order(body).map(drop),
        DeliveryTopic::ProductUpdated => serde_json::from_slice::<ProductShape>(body).map(drop).map_err(parse_error),
        DeliveryTopic::AppUninstalled => {
            let resource: ShopResource = serde_json::from_slice(body).map_err(parse_error)?;
            same_shop(shop, &resource.myshopify_domain, &resource.id, "myshopify_domain", "id")
        }
        _ => {
            let payload: CompliancePayload = serde_json::from_slice(body).map_err(parse_error)?;
            let missing = |field: &str| wrong(format!("missing field `{field}`"));
            match topic {
                DeliveryTopic::CustomersRedact => {
                    payload.customer.as_ref().ok_or_else(|| missing("customer"))?;
                    payload.orders_to_redact.as_ref().ok_or_else(|| missing("orders_to_redact"))?;
                }
                DeliveryTopic::CustomersDataRequest => {
                    payload.customer.as_ref().ok_or_else(|| missing("customer"))?;
                    payload.orders_requested.as_ref().ok_or_else(|| missing("orders_requested"))?;
                }
                // The shop alone: a customer's request replayed as `shop/redact` would erase every customer.
                _ if payload.customer.is_some()
                    || payload.orders_to_redact.is_some()
                    || payload.orders_requested.is_some() =>
                {
                    return Err(wrong("it names a customer or orders".into()));
                }
                _ => {}
            }
            same_shop(shop, &payload.shop_domain, &payload.shop_id, "shop_domain", "shop_id")
        }
    }
}

/// The shop a payload names must be the store's: its domain always, its id when the store's is recorded.
fn same_shop(
    shop: &ShopIdentity,
    domain: &str,
    id: &Value,
    domain_field: &str,
    id_field: &str,
) -> Result<(), WebhookError> {
    if ShopIdentity::normalise_domain(domain) != shop.domain {
        return Err(WebhookError::WrongShop(format!(
            "the payload's {domain_field} `{domain}` is not this store's shop"
        )));
    }
    let named = id_text(id);
    match (&shop.id, named) {
        (_, None) => Err(WebhookError::WrongShop(format!("the payload's {id_field} is not a shop id"))),
        (Some(recorded), Some(named)) if *recorded != named => {
            Err(WebhookError::WrongShop(format!("the payload's {id_field} `{named}` is not this store's shop")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn shop() -> ShopIdentity {
        ShopIdentity { domain: "acme.myshopify.com".into(), id: Some("954889".into()) }
    }

    fn shape(topic: DeliveryTopic, body: Value) -> Result<(), WebhookError> {
        check_shape(&topic, &serde_json::to_vec(&body).unwrap(), &shop())
    }

    #[test]
    fn each_topic_takes_its_own_shape_only() {
        let order = json!({"id": 1, "currency": "EUR", "total_price": "1.00", "customer": {"id": 2}});
        let product = json!({"id": 3, "title": "Shirt", "variants": []});
        let uninstalled = json!({"id": 954889, "name": "Acme", "myshopify_domain": "acme.myshopify.com"});
        let shop_redact = json!({"shop_id": 954889, "shop_domain": "acme.myshopify.com"});
        let customers_redact = json!({"shop_id": 954889, "shop_domain": "acme.myshopify.com",
            "customer": {"id": 2, "email": "a@example.com"}, "orders_to_redact": [1]});
        let data_request = json!({"shop_id": 954889, "shop_domain": "acme.myshopify.com",
            "customer": {"id": 2}, "orders_requested": [1], "data_request": {"id": 9}});
        let cases = [
            (DeliveryTopic::OrderCreated, &order),
            (DeliveryTopic::ProductUpdated, &product),
            (DeliveryTopic::AppUninstalled, &uninstalled),
            (DeliveryTopic::ShopRedact, &shop_redact),
            (DeliveryTopic::CustomersRedact, &customers_redact),
            (DeliveryTopic::CustomersDataRequest, &data_request),
        ];
        for (topic, _) in &cases {
            for (other, other_body) in &cases {
                let result = shape(topic.clone(), (*other_body).clone());
                if topic == other {
                    assert_eq!(result, Ok(()), "{topic:?}");
                } else if *topic == DeliveryTopic::OrderCreated {
                    assert!(
                        matches!(result, Err(WebhookError::Malformed(_))),
                        "{other:?}'s body as an order: {result:?}"
                    );
                } else {
                    assert!(
                        matches!(result, Err(WebhookError::NotTopicPayload { .. })),
                        "{other:?}'s body as {topic:?}: {result:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_window_covers_shopifys_retries_and_no_more() {
        let now = OffsetDateTime::parse("2026-07-10T12:00:00Z", &Rfc3339).unwrap();
        let shop = shop();
        let context = DeliveryContext { shop: Some(&shop), now };
        let delivery = Delivery { event_id: None, topic: DeliveryTopic::Other("orders/paid".into()) };
        let screen = |triggered_at: OffsetDateTime| {
            let mut headers = http::HeaderMap::new();
            headers.insert("x-shopify-shop-domain", "Acme.myshopify.com".parse().unwrap());
            headers.insert("x-shopify-triggered-at", triggered_at.format(&Rfc3339).unwrap().parse().unwrap());
            screen(&delivery, &context, &headers, b"{}")
        };
        // Shopify's last retry, 4 hours on, still acts.
        assert_eq!(screen(now - Duration::hours(4)), Ok(Screening::Act));
        assert_eq!(screen(now - DELIVERY_WINDOW), Ok(Screening::Act));
        let late = now - DELIVERY_WINDOW - Duration::seconds(1);
        assert_eq!(screen(late), Ok(Screening::TooOld { triggered_at: late }));
        assert_eq!(screen(now + CLOCK_SKEW), Ok(Screening::Act));
        let ahead = screen(now + CLOCK_SKEW + Duration::seconds(1));
        assert!(matches!(ahead, Err(WebhookError::BadHeader { header: TRIGGERED_AT, .. })), "{ahead:?}");
    }

    #[test]
    fn a_payload_for_another_shop_is_refused() {
        let other_domain = json!({"shop_id": 954889, "shop_domain": "other.myshopify.com"});
        let other_id = json!({"shop_id": 1, "shop_domain": "ACME.myshopify.com"});
        for body in [other_domain, other_id] {
            assert!(matches!(shape(DeliveryTopic::ShopRedact, body), Err(WebhookError::WrongShop(_))));
        }
        let uninstalled = json!({"id": 2, "myshopify_domain": "acme.myshopify.com"});
        assert!(matches!(shape(DeliveryTopic::AppUninstalled, uninstalled), Err(WebhookError::WrongShop(_))));
        // No recorded id: the domain alone decides.
        let unrecorded = ShopIdentity { id: None, ..shop() };
        let body = serde_json::to_vec(&json!({"shop_id": 1, "shop_domain": "acme.myshopify.com"})).unwrap();
        assert_eq!(check_shape(&DeliveryTopic::ShopRedact, &body, &unrecorded), Ok(()));
    }
}
