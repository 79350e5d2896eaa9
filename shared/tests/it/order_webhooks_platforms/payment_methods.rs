//! Which payment method an order is charged with: in live mode only one the order carries; in test mode
//! the order's own, else the test payment method of the merchant's routing document.

use pivota_fakes::FakeShop;
use serde_json::{Value, json};

use super::{TEST_KEY, shopify, shopify_order};
use crate::fixtures::{Backend, drain_payment_queue};

const LIVE_KEY: &str = "sk_live_51PlatformsLiveKey0000";

on_both_backends!(
    live_mode_charges_only_orders_that_carry_a_payment_method,
    test_mode_charges_the_configured_test_payment_method,
);

fn paying_with(payment_method: &str) -> Value {
    json!({"note_attributes": [{"name": "pivota_payment_method", "value": payment_method}]})
}

async fn live_mode_charges_only_orders_that_carry_a_payment_method(backend: Backend) {
    let s = shopify(backend, LIVE_KEY, FakeShop::default()).await;
    let (_, connections) = s.m.send("GET", "/psp", None).await;
    assert_eq!(connections["items"][0]["mode"], "live", "{connections}");
    assert_eq!(s.deliver("orders/create", "evt-1", &shopify_order(1, json!({}))).await, 200);
    drain_payment_queue(&s.m.test.app).await;
    assert_eq!(s.m.order("1").await["status"], "awaiting_payment_method");
    assert_eq!(s.m.stripe.payment_intent_requests().len(), 0, "no charge was even attempted");

    let body = shopify_order(2, paying_with("pm_card_mastercard"));
    assert_eq!(s.deliver("orders/create", "evt-2", &body).await, 200);
    drain_payment_queue(&s.m.test.app).await;
    let paid = s.m.order("2").await;
    assert_eq!((paid["status"].as_str(), paid["write_back"].as_str()), (Some("paid"), Some("done")), "{paid}");
    assert_eq!(s.m.stripe.charges(), 1);
    assert_eq!(s.m.charged("payment_method"), ["pm_card_mastercard"]);
    assert_eq!(s.m.order("1").await["status"], "awaiting_payment_method", "still not charged");
}

async fn test_mode_charges_the_configured_test_payment_method(backend: Backend) {
    let s = shopify(backend, TEST_KEY, FakeShop::default()).await;
    let (status, routing) = s.m.send("GET", "/routing", None).await;
    assert_eq!((status, &routing["test_payment_method"]), (200, &Value::Null), "none configured yet: {routing}");
    for malformed in [json!("pm card visa"), json!(""), json!("x".repeat(256)), json!(42)] {
        let document = json!({"priority": ["stripe"], "test_payment_method": malformed});
        let (status, problem) = s.m.send("PUT", "/routing", Some(document)).await;
        assert_eq!(status, 422, "{malformed}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "test_payment_method", "{problem}");
    }
    let document = json!({"priority": ["stripe"], "test_payment_method": "pm_card_mastercard"});
    let (status, stored) = s.m.send("PUT", "/routing", Some(document)).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["test_payment_method"], "pm_card_mastercard");
    assert_eq!(s.m.send("GET", "/routing", None).await.1["test_payment_method"], "pm_card_mastercard");

    assert_eq!(s.deliver("orders/create", "evt-1", &shopify_order(1, json!({}))).await, 200);
    // The order's own payment method wins over the configured one.
    assert_eq!(s.deliver("orders/create", "evt-2", &shopify_order(2, paying_with("pm_card_amex"))).await, 200);
    drain_payment_queue(&s.m.test.app).await;
    assert_eq!(s.m.stripe.charges(), 2);
    let mut charged = s.m.charged("payment_method");
    charged.sort();
    assert_eq!(charged, ["pm_card_amex", "pm_card_mastercard"]);
    for id in ["1", "2"] {
        assert_eq!(s.m.order(id).await["status"], "paid");
    }
}
