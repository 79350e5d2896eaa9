//! The WooCommerce, Wix and custom-store platform modules against their local fakes (127.0.0.1 only).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderName, HeaderValue};
use pivota::stores::platforms::custom::CustomStore;
use pivota::stores::platforms::wix::Wix;
use pivota::stores::platforms::woocommerce::WooCommerce;
use pivota::stores::platforms::{
    DeliveryTopic, ExternalProduct, PlatformError, ProductEvent, StoreCredentials, StoreEndpoint, StorePlatform,
    StoreWebhooks, WebhookError, WebhookTopic,
};
use pivota_fakes::{
    DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET, DEFAULT_CUSTOM_TOKEN, DEFAULT_WIX_API_KEY, DEFAULT_WIX_SITE_ID,
    FakeCustomStore, FakeFailure, FakeWix, FakeWooCommerce, WixCatalog,
};
use secrecy::SecretString;
use serde_json::json;
use url::Url;

use crate::fixtures::stores::{self, endpoint};

const WEBHOOK_SECRET: &str = "pivota-generated-webhook-secret-0123456789";

fn credentials(token: &str) -> StoreCredentials {
    stores::credentials(token, WEBHOOK_SECRET)
}

fn woo_credentials() -> StoreCredentials {
    StoreCredentials {
        consumer_key: Some(SecretString::from(DEFAULT_CONSUMER_KEY.to_owned())),
        consumer_secret: Some(SecretString::from(DEFAULT_CONSUMER_SECRET.to_owned())),
        ..credentials("")
    }
}

fn wix_credentials() -> StoreCredentials {
    StoreCredentials {
        site_id: Some(DEFAULT_WIX_SITE_ID.to_owned()),
        webhook_secret: Some(SecretString::from(FakeWix::public_key_pem().to_owned())),
        ..credentials(DEFAULT_WIX_API_KEY)
    }
}

fn headers(pairs: &[(String, String)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(name, value)| (HeaderName::try_from(name.as_str()).unwrap(), HeaderValue::from_str(value).unwrap()))
        .collect()
}

/// Pages through the whole catalog.
async fn all_products(
    platform: &dyn StorePlatform,
    endpoint: &StoreEndpoint,
    credentials: &StoreCredentials,
) -> Vec<ExternalProduct> {
    let mut products = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let page = platform.products_page(endpoint, credentials, cursor.as_deref()).await.unwrap();
        products.extend(page.products);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return products,
        }
    }
    panic!("the catalog never ended");
}

fn assert_each_once(products: &[ExternalProduct], expected: usize) {
    let ids: BTreeSet<&str> = products.iter().map(|product| product.external_id.as_str()).collect();
    assert_eq!(products.len(), expected);
    assert_eq!(ids.len(), expected, "a product came twice");
}

// ---------------------------------------------------------------------------------------------------
// WooCommerce
// ---------------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------------
// Wix
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn wix_verifies_and_refuses_bad_keys() {
    let fake = FakeWix::start().await.with_products(2);
    let api = endpoint(&fake.uri());
    let info = Wix.verify(&api, &wix_credentials()).await.unwrap();
    assert_eq!(info.name, "Fake Wix Shop");
    assert_eq!(info.currency.map(|c| c.code()), Some("USD"));

    let wrong = StoreCredentials { api_token: SecretString::from("IST.wrong-key".to_owned()), ..wix_credentials() };
    match Wix.verify(&api, &wrong).await {
        Err(PlatformError::Unauthorized { reason }) => {
            assert!(reason.contains("API key is invalid"), "{reason}");
            assert!(!reason.contains("IST.wrong-key"));
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn wix_pages_a_250_product_catalog_with_variants_in_minor_units() {
    let fake = FakeWix::start().await.with_products(250);
    let api = endpoint(&fake.uri());
    let products = all_products(&Wix, &api, &wix_credentials()).await;
    assert_each_once(&products, 250);
    assert_eq!(products.iter().map(|p| p.variants.len()).sum::<usize>(), fake.variant_count());

    let with_options = products.iter().find(|p| p.external_id == FakeWix::product_id(8)).unwrap();
    assert_eq!(with_options.variants.len(), 2);
    assert_eq!(with_options.variants[1].title, "L");
    assert_eq!(with_options.variants[1].price_minor, FakeWix::expected_price_minor(8, 1));
    assert_eq!(with_options.variants[1].inventory_quantity, Some(4));
    assert!(with_options.variants[0].external_id.starts_with(&FakeWix::product_id(8)));

    let plain = products.iter().find(|p| p.external_id == FakeWix::product_id(9)).unwrap();
    assert_eq!(plain.status, "draft");
    assert_eq!(plain.variants[0].price_minor, FakeWix::expected_price_minor(9, 0));
    assert_eq!(plain.variants[0].inventory_quantity, None);
}

#[tokio::test]
async fn wix_throttling_is_classified() {
    let fake = FakeWix::start().await.with_products(3);
    let api = endpoint(&fake.uri());
    fake.fail_next(1, FakeFailure::Http429 { retry_after: Some(Duration::from_secs(3)) });
    assert_eq!(
        Wix.products_page(&api, &wix_credentials(), None).await,
        Err(PlatformError::Throttled { retry_after: Duration::from_secs(3) })
    );
    fake.fail_next(1, FakeFailure::Http500);
    assert!(matches!(Wix.products_page(&api, &wix_credentials(), None).await, Err(PlatformError::Unavailable { .. })));
}

fn wix_order() -> serde_json::Value {
    json!({
        "id": "3d0b3b5f-0000-4000-8000-00000000a001", "number": "10001", "currency": "USD",
        "paymentStatus": "NOT_PAID",
        "priceSummary": { "subtotal": { "amount": "29.99" }, "total": { "amount": "29.99", "formattedAmount": "$29.99" } },
        "lineItems": [{ "id": "li-1", "productName": { "original": "T-Shirt" }, "quantity": 1,
                        "physicalProperties": { "sku": "TS-1", "shippable": true },
                        "price": { "amount": "29.99", "formattedAmount": "$29.99" } }],
        "buyerInfo": { "contactId": "c-1", "email": "kim@example.com" },
        "billingInfo": { "contactDetails": { "firstName": "Kim", "lastName": "Lee" } },
        "customFields": [{ "title": "pivota_payment_method", "value": "pm_card_visa" },
                         { "title": "pivota_customer", "value": "cus_kim" }]
    })
}

#[tokio::test]
async fn wix_deliveries_are_verified_jwts_and_orders_parse() {
    let token = FakeWix::sign_created_event("wix.ecom.v1.order_created", "evt-123", &wix_order());
    let delivery = Wix.verify_delivery(&wix_credentials(), &HeaderMap::new(), token.as_bytes()).unwrap();
    assert_eq!(delivery.topic, DeliveryTopic::OrderCreated);
    assert_eq!(delivery.event_id.as_deref(), Some("evt-123"));

    // A changed payload breaks the signature; so does a missing or foreign token.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].chars().rev().collect();
    let tampered = parts.join(".");
    assert_eq!(
        Wix.verify_delivery(&wix_credentials(), &HeaderMap::new(), tampered.as_bytes()),
        Err(WebhookError::BadSignature)
    );
    assert_eq!(Wix.verify_delivery(&wix_credentials(), &HeaderMap::new(), b""), Err(WebhookError::BadSignature));
    let not_the_key = StoreCredentials { webhook_secret: None, ..wix_credentials() };
    assert_eq!(Wix.verify_delivery(&not_the_key, &HeaderMap::new(), token.as_bytes()), Err(WebhookError::BadSignature));

    let order = Wix.parse_order(token.as_bytes()).unwrap();
    assert_eq!(order.total_minor, 2999);
    assert_eq!(
        (order.payment_method.as_deref(), order.payment_customer.as_deref()),
        (Some("pm_card_visa"), Some("cus_kim"))
    );
    assert_eq!(order.name.as_deref(), Some("#10001"));
    assert!(!order.already_paid);
    assert_eq!(order.payment_method.as_deref(), Some("pm_card_visa"));
    assert_eq!(order.line_items[0].sku.as_deref(), Some("TS-1"));
    assert_eq!(order.customer.unwrap().name.as_deref(), Some("Kim Lee"));
}

#[tokio::test]
async fn wix_subscriptions_are_dashboard_managed_and_paid_orders_get_a_payment_record() {
    let fake = FakeWix::start().await.with_order("order-1", "29.99");
    let api = endpoint(&fake.uri());
    let address = Url::parse("https://hooks.pivota.example/wix/store-2").unwrap();
    assert!(Wix.subscribe(&api, &wix_credentials(), &address, &[WebhookTopic::OrderCreated]).await.unwrap().is_empty());
    Wix.unsubscribe(&api, &wix_credentials(), &[]).await.unwrap();

    Wix.mark_order_paid(&api, &wix_credentials(), "order-1", "pi_9").await.unwrap();
    // Already paid: nothing more is added.
    Wix.mark_order_paid(&api, &wix_credentials(), "order-1", "pi_9").await.unwrap();
    assert_eq!(fake.orders_marked_paid(), vec![("order-1".to_owned(), "pi_9".to_owned())]);
}

#[tokio::test]
async fn wix_v3_site_verifies_and_pages_through_catalog_v3_with_variants_prices_and_stock() {
    let fake = FakeWix::start().await.with_catalog(WixCatalog::V3).with_products(250);
    let api = endpoint(&fake.uri());
    let info = Wix.verify(&api, &wix_credentials()).await.unwrap();
    assert_eq!(info.currency.map(|c| c.code()), Some("USD"));

    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = Wix.products_page(&api, &wix_credentials(), cursor.as_deref()).await.unwrap();
        assert_eq!(page.currency.code(), "USD");
        assert_eq!(page.total, None, "Catalog V3 gives no total");
        cursor = page.next.clone();
        pages.push(page);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(pages.len(), 3, "100 products a page");
    let products: Vec<ExternalProduct> = pages.into_iter().flat_map(|page| page.products).collect();
    assert_each_once(&products, 250);
    assert_eq!(products.iter().map(|p| p.variants.len()).sum::<usize>(), fake.variant_count());

    let with_options = products.iter().find(|p| p.external_id == FakeWix::product_id(12)).unwrap();
    assert_eq!(with_options.variants.iter().map(|v| v.title.as_str()).collect::<Vec<_>>(), ["S", "L"]);
    assert_eq!(with_options.variants[1].price_minor, FakeWix::expected_price_minor(12, 1));
    assert_eq!(with_options.variants[1].sku.as_deref(), Some("W-12-1"));
    assert_eq!(
        with_options.variants[1].external_id,
        format!("{}-{}", FakeWix::product_id(12), FakeWix::v3_variant_id(12, 1))
    );
    assert_eq!(with_options.variants[1].inventory_quantity, fake.expected_quantity(12, 1));
    assert_eq!(with_options.variants[1].inventory_quantity, Some(4));
    assert_eq!(with_options.image_url.as_deref(), Some("https://static.wixstatic.com/media/p12.jpg"));
    // Stock in two locations is added up.
    let two_locations = products.iter().find(|p| p.external_id == FakeWix::product_id(16)).unwrap();
    assert_eq!(two_locations.variants[0].inventory_quantity, Some(13));

    let plain = products.iter().find(|p| p.external_id == FakeWix::product_id(9)).unwrap();
    assert_eq!(plain.status, "draft");
    assert_eq!(plain.title, "Wix product 9");
    assert_eq!(plain.variants.len(), 1);
    assert_eq!(plain.variants[0].title, "Wix product 9");
    assert_eq!(plain.variants[0].price_minor, FakeWix::expected_price_minor(9, 0));
    assert_eq!(plain.variants[0].inventory_quantity, None, "stock is not tracked");

    let calls = fake.calls();
    assert!(calls.iter().all(|call| !call.contains("/v1/")), "no Catalog V1 call on a V3 site: {calls:?}");
    assert!(calls.iter().any(|call| call == "POST /stores/v3/products/query-variants"), "{calls:?}");
}

#[tokio::test]
async fn wix_v1_site_is_synced_through_catalog_v1_and_a_site_without_stores_is_refused() {
    let fake = FakeWix::start().await.with_products(3);
    let api = endpoint(&fake.uri());
    let products = all_products(&Wix, &api, &wix_credentials()).await;
    assert_each_once(&products, 3);
    let calls = fake.calls();
    assert_eq!(calls.first().map(String::as_str), Some("GET /stores/v3/provision/version"));
    assert!(calls.iter().all(|call| !call.contains("/stores/v3/products")), "{calls:?}");

    let bare = FakeWix::start().await.with_catalog(WixCatalog::NotInstalled).with_products(3);
    match Wix.verify(&endpoint(&bare.uri()), &wix_credentials()).await {
        Err(PlatformError::Invalid { reason }) => assert!(reason.contains("not installed"), "{reason}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn the_wix_fake_answers_the_other_catalogs_api_with_428() {
    let v1 = FakeWix::start().await.with_products(1);
    let v3 = FakeWix::start().await.with_catalog(WixCatalog::V3).with_products(1);
    let http = reqwest::Client::new();
    let post = |fake: &FakeWix, path: &str| {
        http.post(format!("{}/{path}", fake.uri()))
            .header("authorization", DEFAULT_WIX_API_KEY)
            .header("wix-site-id", DEFAULT_WIX_SITE_ID)
            .json(&json!({ "query": {} }))
            .send()
    };
    assert_eq!(post(&v1, "stores/v3/products/query").await.unwrap().status(), 428);
    assert_eq!(post(&v3, "stores-reader/v1/products/query").await.unwrap().status(), 428);
    assert_eq!(post(&v3, "stores/v3/products/query").await.unwrap().status(), 200);
    assert_eq!(post(&v1, "stores-reader/v1/products/query").await.unwrap().status(), 200);
}

#[tokio::test]
async fn wix_v1_hidden_products_come_only_when_asked_for_and_are_synced_as_drafts() {
    let fake = FakeWix::start().await.with_products(9);
    let query = |body: serde_json::Value| {
        reqwest::Client::new()
            .post(format!("{}/stores-reader/v1/products/query", fake.uri()))
            .header("authorization", DEFAULT_WIX_API_KEY)
            .header("wix-site-id", DEFAULT_WIX_SITE_ID)
            .json(&body)
            .send()
    };
    let visible: serde_json::Value = query(json!({ "query": {} })).await.unwrap().json().await.unwrap();
    assert_eq!(visible["totalResults"], 8, "product 9 is hidden");
    let all: serde_json::Value =
        query(json!({ "query": {}, "includeHiddenProducts": true })).await.unwrap().json().await.unwrap();
    assert_eq!(all["totalResults"], 9);

    let products = all_products(&Wix, &endpoint(&fake.uri()), &wix_credentials()).await;
    assert_each_once(&products, 9);
    let hidden = products.iter().find(|p| p.external_id == FakeWix::product_id(9)).unwrap();
    assert_eq!(hidden.status, "draft");
}

#[tokio::test]
async fn wix_product_events_of_both_catalogs_name_the_product_and_others_are_not_product_events() {
    let usd = pivota::kernel::money::Currency::parse("USD").unwrap();
    let fake = FakeWix::start().await.with_catalog(WixCatalog::V3).with_products(3);
    let id = FakeWix::product_id(2);
    let cases = [
        (
            fake.sign_v3_product_event("created", "evt-c", 2),
            Some("evt-c"),
            ProductEvent::Named { external_id: id.clone() },
        ),
        (
            fake.sign_v3_product_event("updated", "evt-u", 2),
            Some("evt-u"),
            ProductEvent::Named { external_id: id.clone() },
        ),
        (
            fake.sign_v3_product_event("deleted", "evt-d", 2),
            Some("evt-d"),
            ProductEvent::Deleted { external_id: id.clone() },
        ),
        (fake.sign_v1_product_event("ProductCreated", 2), None, ProductEvent::Named { external_id: id.clone() }),
        (fake.sign_v1_product_event("ProductChanged", 2), None, ProductEvent::Named { external_id: id.clone() }),
        (fake.sign_v1_product_event("ProductDeleted", 2), None, ProductEvent::Deleted { external_id: id.clone() }),
    ];
    for (token, event_id, expected) in cases {
        let delivery = Wix.verify_delivery(&wix_credentials(), &HeaderMap::new(), token.as_bytes()).unwrap();
        assert_eq!(delivery.topic, DeliveryTopic::ProductUpdated);
        assert_eq!(delivery.event_id.as_deref(), event_id);
        assert_eq!(Wix.parse_product_event(token.as_bytes(), usd), Ok(expected));
    }

    // A type Pivota does not use is acknowledged as another topic; an event without the product is refused.
    let other = FakeWix::sign_event("wix.stores.catalog.v3.inventory_item_updated", &json!({ "id": "evt-i" }));
    let delivery = Wix.verify_delivery(&wix_credentials(), &HeaderMap::new(), other.as_bytes()).unwrap();
    assert_eq!(delivery.topic, DeliveryTopic::Other("wix.stores.catalog.v3.inventory_item_updated".into()));
    let no_id = FakeWix::sign_event("com.wix.ecommerce.catalog.api.v1.ProductChanged", &json!({ "changedFields": [] }));
    assert!(matches!(Wix.parse_product_event(no_id.as_bytes(), usd), Err(WebhookError::Malformed(_))));
}

#[tokio::test]
async fn wix_reads_one_product_as_the_site_has_it_now_on_either_catalog() {
    let usd = pivota::kernel::money::Currency::parse("USD").unwrap();
    for catalog in [WixCatalog::V1, WixCatalog::V3] {
        let fake = FakeWix::start().await.with_catalog(catalog).with_products(8);
        let api = endpoint(&fake.uri());
        fake.edit_product(8, "Renamed mug", 1234);
        let product = Wix.product(&api, &wix_credentials(), &FakeWix::product_id(8), usd).await.unwrap().unwrap();
        assert_eq!(product.title, "Renamed mug", "{catalog:?}");
        assert!(product.variants.iter().all(|v| v.price_minor == 1234), "{catalog:?}: {product:?}");
        assert_eq!(product.variants.iter().map(|v| v.title.as_str()).collect::<Vec<_>>(), ["S", "L"], "{catalog:?}");
        assert_eq!(product.variants[0].inventory_quantity, fake.expected_quantity(8, 0), "{catalog:?}");

        fake.delete_product(8);
        assert_eq!(Wix.product(&api, &wix_credentials(), &FakeWix::product_id(8), usd).await, Ok(None), "{catalog:?}");
    }
}

// ---------------------------------------------------------------------------------------------------
// Custom store contract
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn custom_store_verifies_pages_and_classifies_errors() {
    let fake = FakeCustomStore::start().await.with_products(250);
    let store = endpoint(&fake.uri());
    let creds = credentials(DEFAULT_CUSTOM_TOKEN);
    let info = CustomStore.verify(&store, &creds).await.unwrap();
    assert_eq!((info.name.as_str(), info.currency.map(|c| c.code())), ("Fake Custom Store", Some("USD")));

    match CustomStore.verify(&store, &credentials("wrong-token-123")).await {
        Err(PlatformError::Unauthorized { reason }) => assert_eq!(reason, "invalid API token"),
        other => panic!("expected Unauthorized, got {other:?}"),
    }

    let products = all_products(&CustomStore, &store, &creds).await;
    assert_each_once(&products, 250);
    assert_eq!(products.iter().map(|p| p.variants.len()).sum::<usize>(), fake.variant_count());
    let p8 = products.iter().find(|p| p.external_id == "p8").unwrap();
    assert_eq!(p8.variants[1].price_minor, FakeCustomStore::expected_price_minor(8, 1));

    fake.fail_next(1, FakeFailure::Http429 { retry_after: Some(Duration::from_secs(11)) });
    assert_eq!(
        CustomStore.products_page(&store, &creds, None).await,
        Err(PlatformError::Throttled { retry_after: Duration::from_secs(11) })
    );
    fake.fail_next(1, FakeFailure::Http500);
    assert!(matches!(CustomStore.verify(&store, &creds).await, Err(PlatformError::Unavailable { .. })));
}

#[tokio::test]
async fn custom_store_webhooks_deliveries_and_paid_orders() {
    let fake = FakeCustomStore::start().await;
    let store = endpoint(&fake.uri());
    let creds = credentials(DEFAULT_CUSTOM_TOKEN);
    let address = Url::parse("https://hooks.pivota.example/custom/store-3").unwrap();
    let topics = [WebhookTopic::OrderCreated, WebhookTopic::ProductUpdated, WebhookTopic::AppUninstalled];
    let first = CustomStore.subscribe(&store, &creds, &address, &topics).await.unwrap();
    let second = CustomStore.subscribe(&store, &creds, &address, &topics).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(first.len(), 2);
    assert_eq!(fake.webhooks().len(), 2);
    CustomStore.unsubscribe(&store, &creds, &first).await.unwrap();
    CustomStore.unsubscribe(&store, &creds, &first).await.unwrap();
    assert!(fake.webhooks().is_empty());

    let body = json!({ "id": "o-9", "number": "1009", "currency": "USD", "total_minor": 4200, "paid": false,
        "payment_method": "pm_card_visa",
        "line_items": [{ "title": "Mug", "quantity": 2, "sku": "MUG", "price_minor": 2100 }],
        "customer": { "id": "cu-1", "email": "lee@example.com", "name": "Lee" } })
    .to_string();
    let signed = headers(&[
        ("x-pivota-topic".into(), "order.created".into()),
        ("x-pivota-event-id".into(), "ev-1".into()),
        ("x-pivota-signature".into(), FakeCustomStore::sign_with(WEBHOOK_SECRET, "order.created", body.as_bytes())),
    ]);
    let delivery = CustomStore.verify_delivery(&creds, &signed, body.as_bytes()).unwrap();
    assert_eq!((delivery.topic, delivery.event_id.as_deref()), (DeliveryTopic::OrderCreated, Some("ev-1")));
    assert_eq!(
        CustomStore.verify_delivery(&creds, &signed, body.replace("4200", "1").as_bytes()),
        Err(WebhookError::BadSignature)
    );
    assert_eq!(
        CustomStore.verify_delivery(&creds, &HeaderMap::new(), body.as_bytes()),
        Err(WebhookError::BadSignature)
    );

    let order = CustomStore.parse_order(body.as_bytes()).unwrap();
    assert_eq!((order.total_minor, order.line_items[0].price_minor), (4200, 2100));

    CustomStore.mark_order_paid(&store, &creds, "o-9", "pi_42").await.unwrap();
    assert_eq!(fake.orders_marked_paid(), vec![("o-9".to_owned(), "pi_42".to_owned())]);
}
