//! The custom-store contract: verification, paging, throttling, webhooks, signed deliveries and orders
//! marked paid.

use std::time::Duration;

use http::HeaderMap;
use pivota::stores::platforms::custom::CustomStore;
use pivota::stores::platforms::{
    DeliveryTopic, PlatformError, StorePlatform, StoreWebhooks, WebhookError, WebhookTopic,
};
use pivota_fakes::{DEFAULT_CUSTOM_TOKEN, FakeCustomStore, FakeFailure};
use serde_json::json;
use url::Url;

use super::{WEBHOOK_SECRET, all_products, assert_each_once, credentials, headers};
use crate::fixtures::stores::endpoint;

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
