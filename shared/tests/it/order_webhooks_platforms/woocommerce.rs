//! WooCommerce's order deliveries: the webhooks Pivota creates with a secret of its own, the creation ping,
//! signed deliveries charged once (two orders sharing a delivery id included) and already-paid orders.

use pivota_fakes::FakeWooCommerce;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::TEST_KEY;
use crate::fixtures::{Backend, StripeMerchant, drain_payment_queue, merged, partition, stores};

on_both_backends!(a_woocommerce_order_is_charged_once_and_marked_paid,);

/// An order-created payload (the `wc/v3` order): 42.50 EUR.
fn woo_order(id: u64, extra: Value) -> Vec<u8> {
    let order = json!({
        "id": id, "number": id.to_string(), "status": "pending", "currency": "EUR", "total": "42.50",
        "shipping_total": "2.50", "date_paid": null, "customer_id": 7,
        "billing": {"first_name": "Ada", "last_name": "Buyer", "email": "ada@example.com"},
        "meta_data": [{"id": 901, "key": "_wc_order_attribution_source_type", "value": "typein"}],
        "line_items": [{"id": 1, "name": "Mug", "product_id": 12, "quantity": 2, "subtotal": "40.00", "total": "40.00", "sku": "MUG", "price": 20}],
    });
    merged(order, extra)
}

async fn a_woocommerce_order_is_charged_once_and_marked_paid(backend: Backend) {
    let m = StripeMerchant::connected(backend, TEST_KEY).await;
    let fake = FakeWooCommerce::start().await.with_orders(&[5001, 5002, 5003, 5004]);
    let (store_id, setup) = m.store_with_webhooks(stores::woocommerce(&fake)).await;
    let hooks = fake.webhooks();
    let topics: Vec<&str> = hooks.iter().map(|h| h.topic.as_str()).collect();
    assert_eq!(topics, ["order.created", "product.updated"]);
    assert!(
        hooks.iter().all(|h| h.delivery_url == m.webhook_address("woocommerce", &store_id) && h.status == "active")
    );
    // Pivota generated the secret, and holds it only in the secret store.
    let secret = hooks[0].secret.clone();
    assert!(secret.len() >= 32 && hooks.iter().all(|h| h.secret == secret));
    assert!(!setup.to_string().contains(&secret));
    for pk in [format!("MERCHANT#{}", m.id), format!("STORE#{store_id}")] {
        for item in partition(&m.test.app, &pk).await {
            assert!(!serde_json::to_string(&item.attrs).unwrap().contains(&secret), "the secret in {:?}", item.key);
        }
    }
    let secret_ref = format!("{}/merchants/{}/stores/{store_id}", m.test.app.settings.secret_namespace, m.id);
    let held = m.test.app.secrets.get(&secret_ref).await.unwrap().expect("the store's secret");
    assert!(held.expose_secret().contains(&secret));

    // The creation ping: unsigned, a form body, nothing recorded.
    let ping = [("content-type".to_owned(), "application/x-www-form-urlencoded".to_owned())];
    assert_eq!(m.deliver("woocommerce", &store_id, &ping, b"webhook_id=1").await.0, 200);
    assert!(m.orders().await.is_empty());
    assert_eq!(drain_payment_queue(&m.test.app).await, 0);

    let body = woo_order(5001, json!({}));
    let headers = FakeWooCommerce::delivery_headers(&secret, "order.created", "d-1", &body);
    let tampered = String::from_utf8(body.clone()).unwrap().replace("42.50", "0.50").into_bytes();
    assert_eq!(m.deliver("woocommerce", &store_id, &headers, &tampered).await.0, 401);
    assert_eq!(m.deliver("woocommerce", &store_id, &headers, &body).await.0, 200);
    assert_eq!(m.deliver("woocommerce", &store_id, &headers, &body).await.0, 200, "the same Delivery-ID again");
    assert_eq!(m.orders().await.len(), 1, "no second order");
    drain_payment_queue(&m.test.app).await;

    assert_eq!(m.stripe.charges(), 1);
    assert_eq!(m.charged("amount"), ["4250"]);
    let paid = m.order("5001").await;
    assert_eq!((paid["status"].as_str(), paid["write_back"].as_str()), (Some("paid"), Some("done")), "{paid}");
    assert_eq!(paid["customer"]["email"], "ada@example.com");
    let reference = paid["psp_reference"].as_str().unwrap().to_owned();
    assert_eq!(fake.orders_marked_paid(), [("5001".to_owned(), reference)], "set_paid with the PSP reference");

    // Two orders delivered by one webhook within one second share WooCommerce's delivery id: both are
    // recorded and charged once.
    let same_second = FakeWooCommerce::delivery_id(1, 1_780_000_000);
    for id in [5003, 5004] {
        let body = woo_order(id, json!({}));
        let headers = FakeWooCommerce::delivery_headers(&secret, "order.created", &same_second, &body);
        assert_eq!(m.deliver("woocommerce", &store_id, &headers, &body).await.0, 200);
        assert_eq!(m.deliver("woocommerce", &store_id, &headers, &body).await.0, 200, "and a redelivery");
    }
    drain_payment_queue(&m.test.app).await;
    for id in ["5003", "5004"] {
        assert_eq!(m.order(id).await["status"], "paid", "order {id}");
    }
    assert_eq!(m.stripe.charges(), 3);

    // `date_paid` set: recorded, not charged, not written back.
    let already_paid = woo_order(5002, json!({"date_paid": "2026-07-10T12:00:00", "status": "processing"}));
    let headers = FakeWooCommerce::delivery_headers(&secret, "order.created", "d-2", &already_paid);
    assert_eq!(m.deliver("woocommerce", &store_id, &headers, &already_paid).await.0, 200);
    drain_payment_queue(&m.test.app).await;
    assert_eq!(m.order("5002").await["status"], "already_paid");
    assert_eq!(m.stripe.charges(), 3);
    assert_eq!(fake.orders_marked_paid().len(), 3);
}
