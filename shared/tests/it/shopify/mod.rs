//! The Shopify platform module against the local fake of Shopify's Admin GraphQL API (`pivota-fakes`):
//! credentials, catalog paging paced by the cost bucket, webhook subscriptions and deliveries, and marking
//! orders paid; and every GraphQL document Pivota sends, checked against Shopify's published schema.
//!
//! Here credentials, catalog paging and marking orders paid; [`webhooks`] holds subscriptions, deliveries
//! and payloads, [`documents`] the checks of Pivota's GraphQL documents against the schema.

mod documents;
mod graphql_contract;
mod webhooks;

use std::collections::BTreeSet;
use std::time::Duration;

use graphql_contract::{Newer, ShopifySchema, shopify_schema};
use pivota::stores::platforms::shopify::{DOCUMENTS, ShopifyPlatform};
use pivota::stores::platforms::{
    DeliveryTopic, ExternalProduct, PlatformError, StoreCredentials, StoreEndpoint, StorePlatform, StoreWebhooks,
    WebhookError, WebhookTopic,
};
use pivota_fakes::{FakeFailure, FakeShop, FakeShopify};
use serde_json::{Value, json};
use url::Url;

use crate::fixtures::stores;

fn endpoint(fake: &FakeShopify) -> StoreEndpoint {
    stores::endpoint(&fake.uri())
}

fn credentials(fake: &FakeShopify) -> StoreCredentials {
    stores::credentials(&fake.access_token(), &fake.client_secret())
}

/// A bucket so large the functional tests never wait on it.
fn roomy() -> FakeShop {
    FakeShop::default().with_bucket(100_000.0, 100_000.0)
}

/// Pages through the whole catalog, sleeping as each page says. Returns the products and the total wait.
async fn sync_all(fake: &FakeShopify) -> (Vec<ExternalProduct>, Duration) {
    let (endpoint, credentials) = (endpoint(fake), credentials(fake));
    let mut products = Vec::new();
    let mut cursor: Option<String> = None;
    let mut waited = Duration::ZERO;
    loop {
        let page = ShopifyPlatform.products_page(&endpoint, &credentials, cursor.as_deref()).await.unwrap();
        products.extend(page.products);
        let Some(next) = page.next else { break };
        cursor = Some(next);
        waited += page.wait_before_next;
        tokio::time::sleep(page.wait_before_next).await;
    }
    (products, waited)
}

#[tokio::test]
async fn verify_reads_the_shop_name_and_currency() {
    let fake = FakeShopify::start(FakeShop::default().with_currency("JPY")).await;
    let info = ShopifyPlatform.verify(&endpoint(&fake), &credentials(&fake)).await.unwrap();
    assert_eq!(info.name, "Pivota Test Shop");
    assert_eq!(info.currency.unwrap().code(), "JPY");
}

#[tokio::test]
async fn a_wrong_access_token_is_unauthorized() {
    let fake = FakeShopify::start(FakeShop::default()).await;
    let error = ShopifyPlatform.verify(&endpoint(&fake), &stores::credentials("shpat_wrong", "x")).await.unwrap_err();
    let PlatformError::Unauthorized { reason } = error else { panic!("{error:?}") };
    assert!(reason.contains("Invalid API key or access token"), "{reason}");
}

#[tokio::test]
async fn rate_limits_and_outages_are_classified() {
    let fake = FakeShopify::start(FakeShop::default()).await;
    let (endpoint, credentials) = (endpoint(&fake), credentials(&fake));
    fake.fail_next(1, FakeFailure::Http429 { retry_after: Some(Duration::from_secs(3)) });
    let error = ShopifyPlatform.verify(&endpoint, &credentials).await.unwrap_err();
    assert_eq!(error, PlatformError::Throttled { retry_after: Duration::from_secs(3) });
    fake.fail_next(1, FakeFailure::Http503);
    let error = ShopifyPlatform.verify(&endpoint, &credentials).await.unwrap_err();
    assert!(matches!(error, PlatformError::Unavailable { .. }), "{error:?}");
    assert!(ShopifyPlatform.verify(&endpoint, &credentials).await.is_ok());
}

#[tokio::test]
async fn paging_returns_every_product_once_with_variants_in_minor_units() {
    let fake = FakeShopify::start(roomy().with_products(600)).await;
    fake.update_price(0, 0, "19.99");
    fake.update_price(2, 2, "1.5");
    fake.remove_product(7);
    let (products, _) = sync_all(&fake).await;

    assert_eq!(products.len(), 599);
    let ids: BTreeSet<&str> = products.iter().map(|product| product.external_id.as_str()).collect();
    assert_eq!(ids.len(), 599, "a product came twice");
    assert!(!ids.contains(fake.product_id(7).as_str()));
    assert!(products.iter().all(|product| (1..=3).contains(&product.variants.len())));
    assert!(products.iter().flat_map(|product| &product.variants).all(|variant| variant.price_minor >= 100));
    // 600 products at 50 a page.
    assert_eq!(fake.pages_served(), 12);

    let first = &products[0];
    assert_eq!(first.external_id, fake.product_id(0));
    assert!(first.external_id.starts_with("gid://shopify/Product/"));
    assert_eq!(first.status, "active");
    assert_eq!(first.variants[0].price_minor, 1999);
    assert_eq!(first.variants[0].title, "Default Title");
    assert!(first.variants[0].external_id.starts_with("gid://shopify/ProductVariant/"));
    assert!(first.updated_at.is_some() && first.image_url.is_some());
    assert_eq!(products[2].variants[2].price_minor, 150);
    assert_eq!(products[2].variants[1].title, "Medium");
    let by_index = |index: usize| products.iter().find(|product| product.external_id == fake.product_id(index));
    assert_eq!(by_index(9).unwrap().status, "draft");
    assert_eq!(by_index(24).unwrap().status, "archived");
    assert_eq!(by_index(3).unwrap().image_url, None);
    // Its featured media is a video: no product image.
    assert_eq!(by_index(6).unwrap().image_url, None);
    assert!(by_index(5).unwrap().image_url.as_deref().is_some_and(|url| url.ends_with("/product-5.jpg")));
}

#[tokio::test]
async fn a_product_with_more_variants_than_a_page_holds_gets_them_all() {
    let fake = FakeShopify::start(roomy().with_products(60)).await;
    fake.set_variant_count(5, 300);
    let (products, _) = sync_all(&fake).await;
    let product = products.iter().find(|product| product.external_id == fake.product_id(5)).unwrap();
    assert_eq!(product.variants.len(), 300);
    let ids: BTreeSet<&str> = product.variants.iter().map(|variant| variant.external_id.as_str()).collect();
    assert_eq!(ids.len(), 300);
}

#[tokio::test]
async fn a_full_pass_that_sleeps_as_told_is_never_throttled_by_a_small_bucket() {
    // 1000 points restoring 500/s: each 955-point page leaves too little for the next one, so every page
    // has to wait.
    let fake = FakeShopify::start(FakeShop::default().with_products(600).with_bucket(1000.0, 500.0)).await;
    let (products, waited) = sync_all(&fake).await;
    assert_eq!(products.len(), 600);
    assert_eq!(fake.throttled(), 0);
    assert_eq!(fake.pages_served(), 12);
    assert!(waited > Duration::ZERO);
}

#[tokio::test]
async fn a_throttled_answer_says_when_the_query_will_fit() {
    let fake = FakeShopify::start(FakeShop::default().with_products(100).with_bucket(1000.0, 50.0)).await;
    fake.set_currently_available(0.0);
    let error = ShopifyPlatform.products_page(&endpoint(&fake), &credentials(&fake), None).await.unwrap_err();
    let PlatformError::Throttled { retry_after } = error else { panic!("{error:?}") };
    // 955 points at 50/s from (almost) empty: about 19.1 s.
    assert!(retry_after > Duration::from_secs(18) && retry_after <= Duration::from_millis(19_120), "{retry_after:?}");
    assert_eq!(fake.throttled(), 1);

    // And a caller that does not wait is refused on its second page.
    fake.set_currently_available(1000.0);
    let (endpoint, credentials) = (endpoint(&fake), credentials(&fake));
    let page = ShopifyPlatform.products_page(&endpoint, &credentials, None).await.unwrap();
    assert!(page.wait_before_next > Duration::ZERO);
    let error = ShopifyPlatform.products_page(&endpoint, &credentials, page.next.as_deref()).await.unwrap_err();
    assert!(matches!(error, PlatformError::Throttled { .. }), "{error:?}");
    assert_eq!(fake.throttled(), 2);
}

/// The benchmark's catalog: 100,000 products served lazily (run with `--ignored`).
#[tokio::test]
#[ignore = "slow: pages through 100,000 products"]
async fn a_hundred_thousand_products_page_through() {
    let fake = FakeShopify::start(roomy().with_products(100_000)).await;
    let started = std::time::Instant::now();
    let (products, _) = sync_all(&fake).await;
    assert_eq!(products.len(), 100_000);
    assert_eq!(fake.throttled(), 0);
    eprintln!("100,000 products in {} pages, {:?}", fake.pages_served(), started.elapsed());
}

#[tokio::test]
async fn marking_an_order_paid_is_recorded_once_and_a_retry_succeeds() {
    let fake = FakeShopify::start(FakeShop::default()).await;
    let (endpoint, credentials) = (endpoint(&fake), credentials(&fake));
    ShopifyPlatform.mark_order_paid(&endpoint, &credentials, "820982911946154508", "pi_3Mtw").await.unwrap();
    // A retry after a lost answer: Shopify refuses (already paid), which is the outcome we wanted.
    ShopifyPlatform.mark_order_paid(&endpoint, &credentials, "820982911946154508", "pi_3Mtw").await.unwrap();
    assert_eq!(fake.orders_marked_paid(), ["gid://shopify/Order/820982911946154508"]);
    let error = ShopifyPlatform.mark_order_paid(&endpoint, &credentials, "not-an-id", "pi_3Mtw").await.unwrap_err();
    assert!(matches!(error, PlatformError::Invalid { .. }));
}
