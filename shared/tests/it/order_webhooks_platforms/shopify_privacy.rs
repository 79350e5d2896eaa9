//! Shopify's `app/uninstalled` and compliance topics (`customers/data_request`, `customers/redact`,
//! `shop/redact`): acknowledged at once, acted on by queued tasks, verified even after the merchant or the
//! shop let go of the store, and a customer's orders found through keyed-hash customer links.

use std::time::Duration;

use pivota_fakes::FakeShop;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::{TEST_KEY, forged_hmac, shopify, shopify_order};
use crate::fixtures::{Backend, drain_sync_queue, merged, partition};

on_both_backends!(
    shopify_app_uninstalled_disconnects_the_store,
    shopify_app_uninstalled_applies_only_once_the_token_is_revoked,
    shopify_compliance_topics_redact_personal_data_and_refuse_bad_hmacs,
    shopify_compliance_topics_still_reach_a_store_the_merchant_disconnected,
    a_customer_redaction_finds_the_customers_orders_through_the_index,
);

async fn shopify_app_uninstalled_disconnects_the_store(backend: Backend) {
    let s = shopify(backend, TEST_KEY, FakeShop::default().with_products(2)).await;
    let (status, job) = s.m.send("POST", &format!("/store/{}/sync", s.store_id), None).await;
    assert_eq!(status, 202, "{job}");
    drain_sync_queue(&s.m.test.app, Duration::from_secs(60)).await;
    assert_eq!(s.m.products().await.iter().filter(|p| p["status"] == "active").count(), 2);
    assert_eq!(s.deliver("orders/create", "evt-before", &shopify_order(5, json!({}))).await, 200);
    // The merchant uninstalls the app: Shopify revokes the token, then notifies.
    s.fake.uninstall_app();
    assert_eq!(s.deliver("app/uninstalled", "evt-u", &s.shop_resource()).await, 200);
    // Acknowledged at once: the products' removal is a queued task.
    assert_eq!(s.m.products().await.iter().filter(|p| p["status"] == "active").count(), 2);
    // A retry of the notice (its first attempt's queueing may have failed) is acknowledged too.
    assert_eq!(s.deliver("app/uninstalled", "evt-u", &s.shop_resource()).await, 200);
    drain_sync_queue(&s.m.test.app, Duration::from_secs(60)).await;
    // The uninstalled store stays listed, as such, with no webhooks left, for the merchant to reconnect.
    let (_, stores) = s.m.send("GET", "/stores", None).await;
    assert_eq!(stores["items"].as_array().unwrap().len(), 1, "{stores}");
    assert_eq!(stores["items"][0]["connection_status"], "uninstalled", "{stores}");
    assert_eq!(stores["items"][0]["webhooks"], json!([]), "{stores}");
    // As after a disconnect by the merchant, the store's products leave the catalog.
    let products = s.m.products().await;
    assert!(products.iter().all(|p| p["status"] == "removed"), "{products:?}");
    let (status, problem) = s.m.send("POST", &format!("/store/{}/webhooks/setup", s.store_id), None).await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("uninstalled"), "{problem}");
    let (status, problem) = s.m.send("POST", &format!("/store/{}/sync", s.store_id), None).await;
    assert_eq!(status, 409, "nothing syncs from an uninstalled store: {problem}");
    // Orders to an uninstalled store are refused.
    assert_eq!(s.deliver("orders/create", "evt-after", &shopify_order(7, json!({}))).await, 401);
    assert_eq!(s.m.orders().await.len(), 1);

    // Shopify sends shop/redact 48 hours after the uninstall: still verified, and acted on.
    let shop_redact = serde_json::to_vec(&s.shop()).unwrap();
    assert_eq!(s.deliver_with_hmac("shop/redact", "evt-r", &shop_redact, &forged_hmac(&shop_redact)).await.0, 401);
    assert!(s.m.order("5").await["customer"].is_object());
    assert_eq!(s.deliver("shop/redact", "evt-r", &shop_redact).await, 200);
    drain_sync_queue(&s.m.test.app, Duration::from_secs(60)).await;
    assert!(s.m.order("5").await["customer"].is_null(), "the customer's data is gone");
}

async fn shopify_app_uninstalled_applies_only_once_the_token_is_revoked(backend: Backend) {
    let s = shopify(backend, TEST_KEY, FakeShop::default()).await;
    let notice = s.shop_resource();
    // A genuine notice (a reinstall since, or a replay) while the shop still accepts the token: ignored.
    assert_eq!(s.deliver("app/uninstalled", "evt-u1", &notice).await, 200);
    assert_eq!(s.connection_status().await, "connected");
    assert_eq!(s.fake.subscriptions().len(), 3, "the subscriptions are kept");
    // Shopify cannot be asked: 503, so that Shopify delivers it again.
    s.fake.fail_next(1, pivota_fakes::FakeFailure::Http503);
    let (status, problem) = s.deliver_with("app/uninstalled", "evt-u2", &notice, &[]).await;
    assert_eq!(status, 503, "{problem}");
    assert_eq!(s.connection_status().await, "connected");
    // Uninstalled: the token is refused (401), which confirms it.
    s.fake.uninstall_app();
    assert_eq!(s.deliver("app/uninstalled", "evt-u2", &notice).await, 200);
    assert_eq!(s.connection_status().await, "uninstalled");
}

async fn shopify_compliance_topics_redact_personal_data_and_refuse_bad_hmacs(backend: Backend) {
    let s = shopify(backend, TEST_KEY, FakeShop::default()).await;
    for id in [11, 21, 31] {
        assert_eq!(s.deliver("orders/create", &format!("evt-{id}"), &shopify_order(id, json!({}))).await, 200);
    }
    let shop = s.shop();
    let data_request = merged(
        shop.clone(),
        json!({"orders_requested": [11], "customer": {"id": 12, "email": "buyer11@example.com", "phone": null}, "data_request": {"id": 9999}}),
    );
    let customer_redact = merged(
        shop.clone(),
        json!({"customer": {"id": 12, "email": "buyer11@example.com", "phone": null}, "orders_to_redact": [11]}),
    );
    let shop_redact = serde_json::to_vec(&shop).unwrap();
    let topics = [
        ("customers/data_request", &data_request),
        ("customers/redact", &customer_redact),
        ("shop/redact", &shop_redact),
    ];
    for (topic, body) in topics {
        assert_eq!(s.deliver_with_hmac(topic, "evt-c", body, &forged_hmac(body)).await.0, 401, "{topic}");
    }
    let customers = |orders: Vec<Value>| -> Vec<(String, Value)> {
        let mut all: Vec<(String, Value)> = orders
            .into_iter()
            .map(|o| (o["external_id"].as_str().unwrap().to_owned(), o["customer"].clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    };
    let held = customers(s.m.orders().await);
    assert!(
        held.iter().all(|(_, customer)| customer["email"].is_string() && customer["name"] == "Jon Doe"),
        "{held:?}"
    );

    assert_eq!(s.deliver("customers/data_request", "evt-c1", &data_request).await, 200);
    assert_eq!(customers(s.m.orders().await), held, "a data request changes nothing");
    assert_eq!(s.deliver("customers/redact", "evt-c2", &customer_redact).await, 200);
    assert_eq!(customers(s.m.orders().await), held, "acknowledged before the redaction task runs");
    drain_sync_queue(&s.m.test.app, Duration::from_secs(60)).await;
    let after = customers(s.m.orders().await);
    assert_eq!(after[0], ("11".to_owned(), Value::Null), "that customer's data is gone");
    assert_eq!(after[1..], held[1..], "the other customers' data is kept");
    assert!(!serde_json::to_string(&s.m.orders().await).unwrap().contains("buyer11@example.com"));

    assert_eq!(s.deliver("shop/redact", "evt-c3", &shop_redact).await, 200);
    drain_sync_queue(&s.m.test.app, Duration::from_secs(60)).await;
    assert!(customers(s.m.orders().await).iter().all(|(_, customer)| customer.is_null()));
    assert!(!serde_json::to_string(&s.m.orders().await).unwrap().contains("@example.com"));
}

async fn shopify_compliance_topics_still_reach_a_store_the_merchant_disconnected(backend: Backend) {
    let s = shopify(backend, TEST_KEY, FakeShop::default()).await;
    for id in [41, 51] {
        assert_eq!(s.deliver("orders/create", &format!("evt-{id}"), &shopify_order(id, json!({}))).await, 200);
    }
    let (status, _) = s.m.send("DELETE", &format!("/store/{}", s.store_id), None).await;
    assert_eq!(status, 204);
    // The access token is gone, the webhook secret kept alone: orders are refused, compliance is served.
    let secrets = &s.m.test.app.secrets;
    let main = format!("{}/merchants/{}/stores/{}", s.m.test.app.settings.secret_namespace, s.m.id, s.store_id);
    assert!(secrets.get(&main).await.unwrap().is_none());
    let alone = secrets.get(&format!("{main}/webhook-only")).await.unwrap().expect("the webhook secret is kept");
    assert!(!alone.expose_secret().contains(&s.fake.access_token()), "no credential that reaches the store");
    assert_eq!(s.deliver("orders/create", "evt-61", &shopify_order(61, json!({}))).await, 401);
    let shop = s.shop();
    let customer_redact = merged(
        shop.clone(),
        json!({"customer": {"id": 42, "email": "buyer41@example.com", "phone": null}, "orders_to_redact": [41]}),
    );
    assert_eq!(
        s.deliver_with_hmac("customers/redact", "evt-r1", &customer_redact, &forged_hmac(&customer_redact)).await.0,
        401
    );
    let (status, answer) = s
        .deliver_with_hmac("customers/redact", "evt-r1", &customer_redact, &s.fake.sign_webhook(&customer_redact))
        .await;
    assert_eq!(status, 200, "{answer}");
    drain_sync_queue(&s.m.test.app, Duration::from_secs(60)).await;
    assert!(s.m.order("41").await["customer"].is_null(), "that customer's data is gone");
    assert!(s.m.order("51").await["customer"].is_object(), "the other customer's stays");
    // shop/redact is the shop's last delivery: it redacts everything, and the secret goes too.
    let shop_redact = serde_json::to_vec(&shop).unwrap();
    assert_eq!(s.deliver("shop/redact", "evt-r2", &shop_redact).await, 200);
    drain_sync_queue(&s.m.test.app, Duration::from_secs(60)).await;
    assert!(s.m.order("51").await["customer"].is_null());
    assert_eq!(s.deliver("customers/redact", "evt-r3", &customer_redact).await, 401, "nothing left to verify with");
}

/// `customers/redact` reads the customer links of the identifiers it names (keyed hashes: no personal data
/// in any key), never the store's other orders, and runs as a task after the acknowledgement.
async fn a_customer_redaction_finds_the_customers_orders_through_the_index(backend: Backend) {
    let s = shopify(backend, TEST_KEY, FakeShop::default()).await;
    let customer = |id: u64, email: &str| json!({"customer": {"id": id, "email": email, "first_name": "Jon"}});
    // GIVEN customer 12's orders (one under its e-mail in capitals), another customer's, and one of a
    // customer record that shares customer 12's e-mail
    let orders = [
        (11, customer(12, "buyer11@example.com")),
        (13, customer(12, "BUYER11@example.com")),
        (21, customer(22, "buyer21@example.com")),
        (31, customer(99, "buyer11@example.com")),
    ];
    for (id, who) in orders {
        assert_eq!(s.deliver("orders/create", &format!("evt-{id}"), &shopify_order(id, who)).await, 200);
    }
    let app: &pivota::app::App = &s.m.test.app;
    let merchant_id = pivota::onboarding::merchant::MerchantId::parse(&s.m.id).unwrap();
    let store = pivota::stores::get(app, &merchant_id, &s.store_id).await.unwrap();
    let credentials = pivota::stores::credentials(app, &store).await.unwrap();
    let wanted = pivota::stores::platforms::Customer {
        external_id: Some("12".into()),
        email: Some("buyer11@example.com".into()),
        name: None,
    };
    let keys = pivota::orders::redaction::customer_index_keys(&credentials, &s.store_id, &wanted);
    assert_eq!(keys.len(), 2, "one link partition per identifier");
    let store_id = s.store_id.clone();
    let links = |key: String| {
        let pk = format!("CUSTOMER#{store_id}#{key}");
        async move {
            let items = partition(app, &pk).await;
            items.iter().map(|item| item.attrs["order_id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    let order_id = |external: &str| pivota::orders::order_id(&s.store_id, external);
    let mut by_id = links(keys[0].clone()).await;
    by_id.sort();
    let mut expected = vec![order_id("11"), order_id("13")];
    expected.sort();
    assert_eq!(by_id, expected, "the customer id's links");
    assert_eq!(links(keys[1].clone()).await.len(), 3, "the e-mail's links, case aside");
    for key in &keys {
        assert!(!key.contains("buyer") && !key.contains('@') && key.len() == 32, "a keyed hash: {key}");
    }

    // WHEN the redaction request comes THEN it is acknowledged before anything is redacted
    let request =
        merged(s.shop(), json!({"customer": {"id": 12, "email": "buyer11@example.com"}, "orders_to_redact": [11, 13]}));
    assert_eq!(s.deliver("customers/redact", "evt-cr", &request).await, 200);
    assert!(s.m.order("11").await["customer"].is_object(), "nothing redacted inside the delivery");
    drain_sync_queue(app, Duration::from_secs(60)).await;

    // THEN the linked orders are redacted, the other customer's kept, the links gone, each order counted once
    for external in ["11", "13", "31"] {
        assert!(s.m.order(external).await["customer"].is_null(), "order {external}");
    }
    assert!(s.m.order("21").await["customer"].is_object(), "the other customer's data is kept");
    for key in keys {
        assert!(links(key).await.is_empty());
    }
    let tasks: Vec<Value> = partition(app, &format!("MERCHANT#{}", s.m.id))
        .await
        .into_iter()
        .filter(|item| item.key.sk.starts_with("STORETASK#"))
        .map(|item| Value::Object(item.attrs))
        .collect();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!((tasks[0]["state"].as_str(), tasks[0]["affected"].as_u64()), (Some("succeeded"), Some(3)), "{tasks:?}");
    assert!(!serde_json::to_string(&tasks).unwrap().contains("buyer11"), "no personal data in the task");
}
