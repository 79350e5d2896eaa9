//! Wix: keys verified, Catalog V1 and V3 sites paged with variants, prices and stock, deliveries as
//! verified JWTs, orders, and product events of both catalogs.

use std::time::Duration;

use http::HeaderMap;
use pivota::stores::platforms::wix::Wix;
use pivota::stores::platforms::{
    DeliveryTopic, ExternalProduct, PlatformError, ProductEvent, StoreCredentials, StorePlatform, StoreWebhooks,
    WebhookError, WebhookTopic,
};
use pivota_fakes::{DEFAULT_WIX_API_KEY, DEFAULT_WIX_SITE_ID, FakeFailure, FakeWix, WixCatalog};
use secrecy::SecretString;
use serde_json::json;
use url::Url;

use super::{all_products, assert_each_once, credentials};
use crate::fixtures::stores::endpoint;

fn wix_credentials() -> StoreCredentials {
    StoreCredentials {
        site_id: Some(DEFAULT_WIX_SITE_ID.to_owned()),
        webhook_secret: Some(SecretString::from(FakeWix::public_key_pem().to_owned())),
        ..credentials(DEFAULT_WIX_API_KEY)
    }
}

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
    let http = pivota::kernel::http_client::builder().build().unwrap();
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
        pivota::kernel::http_client::builder()
            .build()
            .unwrap()
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

#[tokio::test]
async fn wix_brands_of_both_catalogs_are_the_vendor_and_no_product_type_is_made_up() {
    let usd = pivota::kernel::money::Currency::parse("USD").unwrap();
    assert_eq!(FakeWix::expected_brand(5), None, "the fake leaves a product without a brand");
    for catalog in [WixCatalog::V1, WixCatalog::V3] {
        let fake = FakeWix::start().await.with_catalog(catalog).with_products(6);
        let api = endpoint(&fake.uri());
        let products = all_products(&Wix, &api, &wix_credentials()).await;
        for i in 1..=6 {
            let product = products.iter().find(|p| p.external_id == FakeWix::product_id(i)).unwrap();
            assert_eq!(product.vendor.as_deref(), FakeWix::expected_brand(i), "{catalog:?} product {i}");
            // `productType` is physical/digital on both catalogs: a kind, not the merchant's category.
            assert_eq!(product.product_type, None, "{catalog:?} product {i}");
        }
        // A product event reads the product alone (V3: Get Product), brand included.
        let one = Wix.product(&api, &wix_credentials(), &FakeWix::product_id(2), usd).await.unwrap().unwrap();
        assert_eq!(one.vendor.as_deref(), FakeWix::expected_brand(2), "{catalog:?}");
    }
}
