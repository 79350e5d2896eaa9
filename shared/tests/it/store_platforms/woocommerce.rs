//! WooCommerce: keys verified, the catalog paged with its variations (throttled requests retried alone,
//! a page that cannot wait keeping what it completed), webhooks, signed deliveries and orders.

use std::time::{Duration, Instant};

use http::HeaderMap;
use pivota::stores::platforms::woocommerce::WooCommerce;
use pivota::stores::platforms::{
    DeliveryTopic, ExternalProduct, PlatformError, StoreCredentials, StoreEndpoint, StorePlatform, StoreWebhooks,
    WebhookError, WebhookTopic,
};
use pivota_fakes::{DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET, FakeFailure, FakeWooCommerce};
use secrecy::SecretString;
use serde_json::json;
use url::Url;

use super::{WEBHOOK_SECRET, all_products, assert_each_once, credentials, headers};
use crate::fixtures::stores::endpoint;

fn woo_credentials() -> StoreCredentials {
    StoreCredentials {
        consumer_key: Some(SecretString::from(DEFAULT_CONSUMER_KEY.to_owned())),
        consumer_secret: Some(SecretString::from(DEFAULT_CONSUMER_SECRET.to_owned())),
        ..credentials("")
    }
}

#[tokio::test]
async fn woocommerce_verifies_and_refuses_bad_keys_with_their_message() {
    let fake = FakeWooCommerce::start().await.with_products(3).with_currency("USD");
    let store = endpoint(&fake.uri());
    let info = WooCommerce.verify(&store, &woo_credentials()).await.unwrap();
    assert_eq!(info.name, "Fake Woo Store");
    assert_eq!(info.currency.map(|c| c.code()), Some("USD"));

    // The keys may also come as one token, `ck_…:cs_…`.
    let joined = credentials(&format!("{DEFAULT_CONSUMER_KEY}:{DEFAULT_CONSUMER_SECRET}"));
    assert!(WooCommerce.verify(&store, &joined).await.is_ok());

    let wrong_secret = StoreCredentials {
        consumer_secret: Some(SecretString::from("cs_wrong_secret_value".to_owned())),
        ..woo_credentials()
    };
    match WooCommerce.verify(&store, &wrong_secret).await {
        Err(PlatformError::Unauthorized { reason }) => {
            assert!(reason.contains("Consumer secret is invalid."), "{reason}");
            assert!(!reason.contains("cs_wrong_secret_value"));
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn woocommerce_pages_a_250_product_catalog_with_variations_in_minor_units() {
    let fake = FakeWooCommerce::start().await.with_products(250);
    let store = endpoint(&fake.uri());
    let products = all_products(&WooCommerce, &store, &woo_credentials()).await;
    assert_each_once(&products, 250);
    assert_eq!(products.iter().map(|p| p.variants.len()).sum::<usize>(), fake.variant_count());

    let simple = products.iter().find(|p| p.external_id == "7").unwrap();
    assert_eq!(simple.status, "draft");
    assert_eq!(simple.variants[0].price_minor, FakeWooCommerce::expected_price_minor(7, None));
    assert_eq!(simple.variants[0].inventory_quantity, Some(7));
    assert_eq!(simple.image_url.as_deref(), Some("https://shop.example/wp-content/uploads/p7.jpg"));
    assert!(simple.updated_at.is_some());

    let variable = products.iter().find(|p| p.external_id == "10").unwrap();
    assert_eq!(variable.status, "active");
    let titles: Vec<&str> = variable.variants.iter().map(|v| v.title.as_str()).collect();
    assert_eq!(titles, ["S", "M", "L"]);
    assert_eq!(variable.variants[2].price_minor, FakeWooCommerce::expected_price_minor(10, Some(2)));
}

#[tokio::test]
async fn woocommerce_throttling_and_outages_are_classified() {
    let fake = FakeWooCommerce::start().await.with_products(5);
    let store = endpoint(&fake.uri());
    fake.fail_next(1, FakeFailure::Http429 { retry_after: Some(Duration::from_secs(7)) });
    assert_eq!(
        WooCommerce.products_page(&store, &woo_credentials(), Some("1:EUR")).await,
        Err(PlatformError::Throttled { retry_after: Duration::from_secs(7) })
    );
    fake.fail_next(1, FakeFailure::Http503);
    assert!(matches!(WooCommerce.verify(&store, &woo_credentials()).await, Err(PlatformError::Unavailable { .. })));
}

/// A store of `products` behind a host that throttles every `nth` request, asking to wait `seconds`.
async fn throttled_woocommerce(products: u64, nth: usize, seconds: u64) -> (FakeWooCommerce, StoreEndpoint) {
    let fake = FakeWooCommerce::start().await.with_products(products);
    fake.fail_every(nth, FakeFailure::Http429 { retry_after: Some(Duration::from_secs(seconds)) });
    let store = endpoint(&fake.uri());
    (fake, store)
}

#[tokio::test]
async fn a_throttled_woocommerce_request_is_retried_alone_and_the_page_completes() {
    let (fake, store) = throttled_woocommerce(60, 3, 1).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let page = WooCommerce.products_page_until(&store, &woo_credentials(), None, deadline).await.unwrap();
    assert_each_once(&page.products, 60);
    assert_eq!(page.products.iter().map(|p| p.variants.len()).sum::<usize>(), fake.variant_count());
    assert_eq!((page.next, page.wait_before_next), (None, Duration::ZERO));
    // The currency, the list and 12 variation reads: 14 answers, and every 3rd request throttled.
    assert_eq!(fake.requests() - fake.failures_injected(), 14);
    assert!(fake.failures_injected() >= 4, "{} throttled answers", fake.failures_injected());
    assert_eq!(fake.currency_reads(), 1);
}

#[tokio::test]
async fn a_woocommerce_page_that_cannot_wait_keeps_what_it_completed() {
    // A wait longer than a call waits out (30 s) is handed back to the caller, however far its deadline.
    let (fake, store) = throttled_woocommerce(12, 2, 60).await;
    let deadline = Instant::now() + Duration::from_secs(600);

    // The first call reads the currency (request 1); the list (request 2) is throttled: the page keeps the
    // currency, so the job does not read it again.
    let first = WooCommerce.products_page_until(&store, &woo_credentials(), None, deadline).await.unwrap();
    assert!(first.products.is_empty());
    assert_eq!((first.next.as_deref(), first.wait_before_next), (Some("1:EUR"), Duration::from_secs(60)));

    // The list (request 3) comes back; of the variation reads of products 5 and 10 (requests 4 and 5, in
    // parallel) one is throttled: the products before it are complete and kept.
    let second =
        WooCommerce.products_page_until(&store, &woo_credentials(), first.next.as_deref(), deadline).await.unwrap();
    let kept: Vec<String> = second.products.iter().map(|p| p.external_id.clone()).collect();
    let stopped_after = kept.len() as u64;
    assert!(stopped_after == 4 || stopped_after == 9, "kept {kept:?}");
    assert_eq!(kept, (1..=stopped_after).map(|id| id.to_string()).collect::<Vec<_>>());
    assert_eq!(second.next, Some(format!("1:EUR:{stopped_after}")));
    assert_eq!(second.wait_before_next, Duration::from_secs(60));

    // The rest of the page, once the host lets requests through: each product exactly once in all.
    fake.fail_every(0, FakeFailure::Http500);
    let rest =
        WooCommerce.products_page_until(&store, &woo_credentials(), second.next.as_deref(), deadline).await.unwrap();
    assert_eq!(rest.next, None);
    let all: Vec<ExternalProduct> = second.products.into_iter().chain(rest.products).collect();
    assert_each_once(&all, 12);
    assert_eq!(all.iter().map(|p| p.variants.len()).sum::<usize>(), fake.variant_count());
    assert_eq!(fake.currency_reads(), 1);
}

#[tokio::test]
async fn woocommerce_webhooks_are_idempotent_and_deletable() {
    let fake = FakeWooCommerce::start().await;
    let store = endpoint(&fake.uri());
    let address = Url::parse("https://hooks.pivota.example/woocommerce/store-1").unwrap();
    let topics = [WebhookTopic::OrderCreated, WebhookTopic::ProductUpdated];
    let first = WooCommerce.subscribe(&store, &woo_credentials(), &address, &topics).await.unwrap();
    let second = WooCommerce.subscribe(&store, &woo_credentials(), &address, &topics).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(fake.webhooks_created(), 2);
    let hooks = fake.webhooks();
    assert_eq!(hooks.len(), 2);
    assert!(hooks.iter().all(|hook| hook.secret == WEBHOOK_SECRET && hook.delivery_url == address.as_str()));

    WooCommerce.unsubscribe(&store, &woo_credentials(), &first).await.unwrap();
    assert!(fake.webhooks().is_empty());
    // Already gone: still fine.
    WooCommerce.unsubscribe(&store, &woo_credentials(), &first).await.unwrap();
    assert_eq!(fake.webhooks_deleted().len(), 2);
}

#[tokio::test]
async fn woocommerce_deliveries_need_the_signature_except_the_exact_ping() {
    let creds = woo_credentials();
    let body = br#"{"id":5001,"status":"pending"}"#;
    let signed = headers(&FakeWooCommerce::delivery_headers(WEBHOOK_SECRET, "order.created", "d-77", body));
    let delivery = WooCommerce.verify_delivery(&creds, &signed, body).unwrap();
    assert_eq!(delivery.topic, DeliveryTopic::OrderCreated);
    // The event is what was delivered (WooCommerce's Delivery-ID is per webhook and second): the same body
    // is the same event whatever its delivery id, another body is another event with the same id.
    let event = delivery.event_id.clone().unwrap();
    assert!(event.starts_with("body-"), "{event}");
    let again = headers(&FakeWooCommerce::delivery_headers(WEBHOOK_SECRET, "order.created", "d-78", body));
    assert_eq!(WooCommerce.verify_delivery(&creds, &again, body).unwrap().event_id, Some(event.clone()));
    let other = br#"{"id":5002,"status":"pending"}"#;
    let same_id = headers(&FakeWooCommerce::delivery_headers(WEBHOOK_SECRET, "order.created", "d-77", other));
    assert_ne!(WooCommerce.verify_delivery(&creds, &same_id, other).unwrap().event_id, Some(event));

    assert_eq!(
        WooCommerce.verify_delivery(&creds, &signed, br#"{"id":5001,"status":"paid!"}"#),
        Err(WebhookError::BadSignature)
    );
    let mut unsigned = signed.clone();
    unsigned.remove("x-wc-webhook-signature");
    assert_eq!(WooCommerce.verify_delivery(&creds, &unsigned, body), Err(WebhookError::BadSignature));
    let forged = headers(&FakeWooCommerce::delivery_headers("another-secret", "order.created", "d-78", body));
    assert_eq!(WooCommerce.verify_delivery(&creds, &forged, body), Err(WebhookError::BadSignature));

    let ping = WooCommerce.verify_delivery(&creds, &HeaderMap::new(), b"webhook_id=12").unwrap();
    assert_eq!(ping.topic, DeliveryTopic::Ping);
    // Anything else unsigned is refused, even if it looks like a ping.
    assert_eq!(WooCommerce.verify_delivery(&creds, &unsigned, b"webhook_id=12"), Err(WebhookError::BadSignature));
    assert_eq!(
        WooCommerce.verify_delivery(&creds, &HeaderMap::new(), b"webhook_id=12&status=paid"),
        Err(WebhookError::BadSignature)
    );
}

#[tokio::test]
async fn woocommerce_orders_parse_and_get_marked_paid() {
    let payload = json!({
        "id": 727, "parent_id": 0, "number": "727", "status": "pending", "currency": "EUR",
        "date_created": "2024-05-01T10:00:00", "date_paid": null, "total": "54.90", "customer_id": 26,
        "billing": { "first_name": "Ana", "last_name": "Ruiz", "email": "ana@example.com" },
        "meta_data": [{ "id": 1, "key": "_wc_order_attribution", "value": "x" },
                      { "id": 2, "key": "pivota_payment_method", "value": "pm_card_visa" },
                      { "id": 3, "key": "pivota_customer", "value": "cus_ana" }],
        "line_items": [
            { "id": 1, "name": "Hoodie - L", "product_id": 10, "variation_id": 100102, "quantity": 2,
              "subtotal": "40.00", "total": "40.00", "sku": "SKU-10-L", "price": 20 },
            { "id": 2, "name": "Cap", "product_id": 3, "quantity": 1, "subtotal": "14.90", "total": "14.90",
              "sku": "", "price": 14.9 }
        ]
    });
    let order = WooCommerce.parse_order(payload.to_string().as_bytes()).unwrap();
    assert_eq!(order.external_id, "727");
    assert_eq!(order.name.as_deref(), Some("#727"));
    assert_eq!(order.total_minor, 5490);
    assert_eq!(order.currency.code(), "EUR");
    assert!(!order.already_paid);
    assert_eq!(order.payment_method.as_deref(), Some("pm_card_visa"));
    assert_eq!(order.payment_customer.as_deref(), Some("cus_ana"));
    assert_eq!(order.line_items[0].price_minor, 2000);
    assert_eq!(order.line_items[0].quantity, 2);
    assert_eq!(order.line_items[1].sku, None);
    let customer = order.customer.unwrap();
    assert_eq!(customer.external_id.as_deref(), Some("26"));
    assert_eq!(customer.name.as_deref(), Some("Ana Ruiz"));

    let mut paid = payload.clone();
    paid["date_paid"] = json!("2024-05-01T10:01:00");
    assert!(WooCommerce.parse_order(paid.to_string().as_bytes()).unwrap().already_paid);

    let fake = FakeWooCommerce::start().await.with_orders(&[727]);
    let store = endpoint(&fake.uri());
    WooCommerce.mark_order_paid(&store, &woo_credentials(), "727", "pi_3Abc").await.unwrap();
    assert_eq!(fake.orders_marked_paid(), vec![("727".to_owned(), "pi_3Abc".to_owned())]);
    assert!(matches!(
        WooCommerce.mark_order_paid(&store, &woo_credentials(), "999", "pi_x").await,
        Err(PlatformError::Invalid { .. })
    ));
}

#[tokio::test]
async fn woocommerce_product_updates_parse() {
    let product = json!({ "id": 3, "name": "Cap", "type": "simple", "status": "publish", "sku": "CAP",
        "price": "14.90", "stock_quantity": 4, "images": [], "date_modified_gmt": "2024-05-01T10:00:00" });
    let parsed = WooCommerce
        .parse_product(product.to_string().as_bytes(), pivota::kernel::money::Currency::parse("EUR").unwrap())
        .unwrap();
    assert_eq!(parsed.variants[0].price_minor, 1490);
    assert_eq!(parsed.status, "active");
}
