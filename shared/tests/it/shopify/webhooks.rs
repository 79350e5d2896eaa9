//! Shopify webhooks: subscriptions (one per topic), signed deliveries, and reading order and product
//! payloads.

use super::*;

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
