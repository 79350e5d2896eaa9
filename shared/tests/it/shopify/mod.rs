//! The Shopify platform module against the local fake of Shopify's Admin GraphQL API (`pivota-fakes`):
//! credentials, catalog paging paced by the cost bucket, webhook subscriptions and deliveries, and marking
//! orders paid; and every GraphQL document Pivota sends, checked against Shopify's published schema.

mod graphql_contract;

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
async fn subscribing_twice_leaves_one_subscription_per_topic() {
    let fake = FakeShopify::start(FakeShop::default()).await;
    let (endpoint, credentials) = (endpoint(&fake), credentials(&fake));
    let address = Url::parse("https://hooks.pivota.example/shopify/store_01").unwrap();
    let topics = [WebhookTopic::OrderCreated, WebhookTopic::ProductUpdated, WebhookTopic::AppUninstalled];
    let first = ShopifyPlatform.subscribe(&endpoint, &credentials, &address, &topics).await.unwrap();
    let second = ShopifyPlatform.subscribe(&endpoint, &credentials, &address, &topics).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(first.len(), 3);
    assert!(
        first.iter().all(|subscription| subscription.external_id.starts_with("gid://shopify/WebhookSubscription/"))
    );
    assert_eq!(first[0].address, address.as_str());
    let held: Vec<String> = fake.subscriptions().into_iter().map(|subscription| subscription.topic).collect();
    assert_eq!(held, ["ORDERS_CREATE", "PRODUCTS_UPDATE", "APP_UNINSTALLED"]);

    ShopifyPlatform.unsubscribe(&endpoint, &credentials, &first).await.unwrap();
    assert!(fake.subscriptions().is_empty());
    // Already gone counts as deleted.
    ShopifyPlatform.unsubscribe(&endpoint, &credentials, &first).await.unwrap();
}

const ORDER: &str = r##"{
  "id": 820982911946154508,
  "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
  "name": "#1001",
  "email": "jon@example.com",
  "currency": "EUR",
  "total_price": "59.98",
  "current_total_price": "49.98",
  "subtotal_price": "49.98",
  "financial_status": "pending",
  "note_attributes": [
    { "name": "gift_note", "value": "Happy birthday" },
    { "name": "pivota_payment_method", "value": "pm_card_visa" },
    { "name": "pivota_customer", "value": "cus_jon" }
  ],
  "line_items": [
    { "id": 466157049, "title": "Linen shirt", "quantity": 2, "sku": "LIN-M", "price": "19.99" },
    { "id": 466157050, "title": "Gift wrap", "quantity": 1, "sku": "", "price": "10.00" }
  ],
  "customer": { "id": 115310627314723954, "email": "jon@example.com", "first_name": "Jon", "last_name": "Doe" }
}"##;

#[tokio::test]
async fn a_signed_delivery_is_accepted_and_a_tampered_or_unsigned_one_refused() {
    let fake = FakeShopify::start(FakeShop::default()).await;
    let credentials = credentials(&fake);
    let headers = |body: &[u8]| {
        let mut map = http::HeaderMap::new();
        for (name, value) in fake.delivery_headers("orders/create", "evt-7f1c", body) {
            map.insert(name, value.parse().unwrap());
        }
        map
    };
    let body = ORDER.as_bytes();
    let delivery = ShopifyPlatform.verify_delivery(&credentials, &headers(body), body).unwrap();
    assert_eq!(delivery.event_id.as_deref(), Some("evt-7f1c"));
    assert_eq!(delivery.topic, DeliveryTopic::OrderCreated);

    let tampered = ORDER.replace("49.98", "0.01");
    let result = ShopifyPlatform.verify_delivery(&credentials, &headers(body), tampered.as_bytes());
    assert_eq!(result, Err(WebhookError::BadSignature));
    let mut unsigned = headers(body);
    unsigned.remove("x-shopify-hmac-sha256");
    assert_eq!(ShopifyPlatform.verify_delivery(&credentials, &unsigned, body), Err(WebhookError::BadSignature));
    let wrong_secret = stores::credentials(&fake.access_token(), "another-app-secret");
    assert_eq!(ShopifyPlatform.verify_delivery(&wrong_secret, &headers(body), body), Err(WebhookError::BadSignature));
}

#[test]
fn an_order_payload_is_read_in_minor_units() {
    let order = ShopifyPlatform.parse_order(ORDER.as_bytes()).unwrap();
    assert_eq!(order.external_id, "820982911946154508");
    assert_eq!(order.name.as_deref(), Some("#1001"));
    // The current total (after edits), not the original one.
    assert_eq!(order.total_minor, 4998);
    assert_eq!(order.currency.code(), "EUR");
    assert!(!order.already_paid);
    assert_eq!(order.payment_method.as_deref(), Some("pm_card_visa"));
    assert_eq!(order.payment_customer.as_deref(), Some("cus_jon"));
    assert_eq!(order.line_items.len(), 2);
    assert_eq!((order.line_items[0].quantity, order.line_items[0].price_minor), (2, 1999));
    assert_eq!(order.line_items[0].sku.as_deref(), Some("LIN-M"));
    assert_eq!(order.line_items[1].sku, None);
    let customer = order.customer.unwrap();
    assert_eq!(customer.external_id.as_deref(), Some("115310627314723954"));
    assert_eq!(customer.name.as_deref(), Some("Jon Doe"));

    let paid = ORDER.replace("\"pending\"", "\"paid\"").replace("\"current_total_price\": \"49.98\",", "");
    let order = ShopifyPlatform.parse_order(paid.as_bytes()).unwrap();
    assert!(order.already_paid);
    assert_eq!(order.total_minor, 5998);
    let too_precise = ORDER.replace("\"49.98\"", "\"49.985\"");
    assert!(matches!(ShopifyPlatform.parse_order(too_precise.as_bytes()), Err(WebhookError::Malformed(_))));
}

#[test]
fn a_product_payload_gets_the_synced_gid() {
    let body = r#"{
      "id": 7000000001, "title": "Linen shirt", "status": "draft", "updated_at": "2026-07-10T14:00:00+02:00",
      "image": { "src": "https://cdn.shopify.com/s/files/1/linen.jpg" },
      "variants": [ { "id": 41, "title": "M", "sku": "LIN-M", "price": "19.99", "inventory_quantity": 3 } ]
    }"#;
    let product =
        ShopifyPlatform.parse_product(body.as_bytes(), pivota::kernel::money::Currency::parse("EUR").unwrap()).unwrap();
    assert_eq!(product.external_id, "gid://shopify/Product/7000000001");
    assert_eq!(product.status, "draft");
    assert_eq!(product.image_url.as_deref(), Some("https://cdn.shopify.com/s/files/1/linen.jpg"));
    assert_eq!(product.variants[0].external_id, "gid://shopify/ProductVariant/41");
    assert_eq!(product.variants[0].price_minor, 1999);
    let yen = pivota::kernel::money::Currency::parse("JPY").unwrap();
    let body = body.replace("19.99", "1000");
    assert_eq!(ShopifyPlatform.parse_product(body.as_bytes(), yen).unwrap().variants[0].price_minor, 1000);
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

/// Connect, sync (with a product past the first page of variants), webhook setup and teardown, order
/// write-back, each twice where a retry takes another path: every document the fake received, with its
/// variables, keeps to Shopify's schema; and this drive sends every document Pivota has.
#[tokio::test]
async fn every_document_pivota_sends_keeps_to_shopifys_published_schema() {
    let fake = FakeShopify::start(roomy().with_products(60)).await;
    fake.set_variant_count(4, 40);
    let (endpoint, credentials) = (endpoint(&fake), credentials(&fake));
    ShopifyPlatform.verify(&endpoint, &credentials).await.unwrap();
    let (products, _) = sync_all(&fake).await;
    assert_eq!(products.len(), 60);
    let address = Url::parse("https://hooks.pivota.example/shopify/store_01").unwrap();
    let topics = [WebhookTopic::OrderCreated, WebhookTopic::ProductUpdated, WebhookTopic::AppUninstalled];
    let subscriptions = ShopifyPlatform.subscribe(&endpoint, &credentials, &address, &topics).await.unwrap();
    ShopifyPlatform.subscribe(&endpoint, &credentials, &address, &topics).await.unwrap();
    ShopifyPlatform.unsubscribe(&endpoint, &credentials, &subscriptions).await.unwrap();
    ShopifyPlatform.unsubscribe(&endpoint, &credentials, &subscriptions).await.unwrap();
    for _ in 0..2 {
        ShopifyPlatform.mark_order_paid(&endpoint, &credentials, "820982911946154508", "pi_3Mtw").await.unwrap();
    }
    // The shop's identity, read at webhook setup and to confirm an app/uninstalled delivery.
    ShopifyPlatform.installation(&endpoint, &credentials).await.unwrap();

    let schema = shopify_schema();
    let received = fake.received_documents();
    for document in &received {
        let problems = schema.problems(&document.query, &document.variables);
        assert!(problems.is_empty(), "{}\n{}\n{problems:#?}", document.query, document.variables);
    }
    let sent: BTreeSet<&str> = received.iter().map(|document| document.query.as_str()).collect();
    let listed: BTreeSet<&str> = DOCUMENTS.iter().copied().collect();
    assert_eq!(sent.difference(&listed).collect::<Vec<_>>(), Vec::<&&str>::new(), "sent but not in DOCUMENTS");
    assert_eq!(listed.difference(&sent).collect::<Vec<_>>(), Vec::<&&str>::new(), "in DOCUMENTS, not driven here");
}

/// The documents on their own (variables unchecked), so one not yet driven above is still validated.
#[test]
fn every_listed_document_validates_against_shopifys_published_schema() {
    let schema = shopify_schema();
    for document in DOCUMENTS {
        let problems: Vec<String> = schema
            .problems(document, &json!({}))
            .into_iter()
            .filter(|problem| !problem.starts_with("missing value for non-null variable"))
            .collect();
        assert!(problems.is_empty(), "{document}\n{problems:#?}");
    }
}

/// The checker refuses what Shopify would: it can fail.
#[test]
fn the_schema_check_refuses_deprecated_unknown_and_mistyped_requests() {
    let schema = shopify_schema();
    let refused = |query: &str, variables: Value, expected: &str| {
        let problems = schema.problems(query, &variables);
        assert!(problems.iter().any(|problem| problem.contains(expected)), "{query}: {problems:#?}");
    };
    // Deprecated ("Use `featuredMedia` instead.").
    refused(
        "query { products(first: 1) { nodes { featuredImage { url } } } }",
        json!({}),
        "Product.featuredImage is deprecated",
    );
    // Misspelt, and newer than 2025-01 without an allow-list entry (`WebhookSubscription.name`, 2026-07).
    refused("query { shop { nmae } }", json!({}), "nmae");
    refused(
        "query($id: ID!) { webhookSubscription(id: $id) { name } }",
        json!({ "id": "gid://shopify/WebhookSubscription/1" }),
        "name",
    );
    // Wrong variable types, a missing required one, an undeclared one, an unknown enum value.
    let variants =
        "query V($id: ID!, $after: String) { product(id: $id) { variants(first: 1, after: $after) { nodes { id } } } }";
    refused(variants, json!({ "id": true }), "could not coerce variable id");
    refused(variants, json!({ "id": "gid://shopify/Product/1", "after": 7 }), "could not coerce variable after");
    refused(variants, json!({ "after": "x" }), "missing value for non-null variable 'id'");
    refused(variants, json!({ "id": "gid://shopify/Product/1", "first": 5 }), "$first is sent but not declared");
    let create = "mutation($topic: WebhookSubscriptionTopic!, $url: URL!) { webhookSubscriptionCreate(topic: $topic, \
        webhookSubscription: { callbackUrl: $url, format: JSON }) { userErrors { message } } }";
    refused(
        create,
        json!({ "topic": "ORDER_CREATE", "url": "https://a.example/h" }),
        "could not coerce variable topic",
    );
    // A Shopify scalar's format, and input objects field by field.
    refused(create, json!({ "topic": "ORDERS_CREATE", "url": "not a url" }), "$url: \"not a url\" is not a URL");
    let script = "mutation($input: ScriptTagInput!) { scriptTagCreate(input: $input) { userErrors { message } } }";
    refused(
        script,
        json!({ "input": { "src": "https://a.example/s.js", "displayScope": "ALL" } }),
        "ScriptTagDisplayScope.ALL is deprecated",
    );
    refused(script, json!({ "input": { "src": "//nowhere" } }), "$input.src: \"//nowhere\" is not a URL");
    refused(script, json!({ "input": { "src": "https://a.example/s.js", "sauce": 1 } }), "sauce");
    // A deprecated enum value written in the document.
    let literal = "mutation { scriptTagCreate(input: { src: \"https://a.example/s.js\", displayScope: ALL }) { \
        userErrors { message } } }";
    refused(literal, json!({}), "ScriptTagDisplayScope.ALL is deprecated");
    // And the same requests done right pass.
    let accepted = |query: &str, variables: Value| {
        let problems = schema.problems(query, &variables);
        assert!(problems.is_empty(), "{query}: {problems:#?}");
    };
    accepted(variants, json!({ "id": "gid://shopify/Product/1", "after": null }));
    accepted(create, json!({ "topic": "ORDERS_CREATE", "url": "https://a.example/h" }));
    accepted(script, json!({ "input": { "src": "https://a.example/s.js", "displayScope": "ONLINE_STORE" } }));
}

#[test]
fn an_allow_list_entry_must_be_newer_than_the_schema_and_fit_it() {
    let schema = || {
        apollo_compiler::Schema::parse(
            "schema { query: QueryRoot } type QueryRoot { shop: Shop } type Shop { name: String }",
            "s",
        )
        .unwrap()
    };
    let entry = |coordinate| Newer { coordinate, ty: "String", changelog: "https://shopify.dev/changelog/example" };
    let error = ShopifySchema::with_newer(schema(), &[entry("Shop.name")]).err().unwrap();
    assert!(error.contains("is in the 2025-01 schema"), "{error}");
    assert!(ShopifySchema::with_newer(schema(), &[entry("Nowhere.name")]).is_err());
    let uncited = Newer { coordinate: "Shop.url", ty: "String", changelog: "trust me" };
    assert!(ShopifySchema::with_newer(schema(), &[uncited]).err().unwrap().contains("changelog"));
    let extended = ShopifySchema::with_newer(schema(), &[entry("Shop.url"), entry("QueryRoot.shop(id:)")]).unwrap();
    assert!(extended.problems("query { shop(id: \"1\") { name url } }", &json!({})).is_empty());
    let extended = ShopifySchema::with_newer(schema(), &[entry("Shop.url")]).unwrap();
    assert!(!extended.problems("query { shop { name email } }", &json!({})).is_empty());
}
