//! Money safety end to end on both backends: orders Pivota cannot charge are acknowledged and recorded,
//! never retried into a switched-off webhook; a queue failure loses no order; card numbers never stay;
//! a suspended merchant is stopped; a leaked test key never gets a live store's order marked paid.

use pivota_fakes::FakeCustomStore;
use serde_json::{Value, json};

use crate::fixtures::shop::{Shop, order, shop};
use crate::fixtures::{
    ADMIN_TOKEN, Backend, approved_merchant_with_owner, call, connect_psp, connect_store, drain_payment_queue,
    live_key, partition, psps, queue_failing_once, setup_webhooks, stores, unique_email,
};

on_both_backends!(
    orders_that_cannot_be_charged_are_acknowledged_and_recorded,
    card_numbers_are_refused_everywhere_and_never_stored,
    a_queue_failure_after_the_order_is_recorded_loses_nothing,
    a_suspended_merchant_is_stopped_until_reinstated,
    a_leaked_test_key_never_gets_a_live_order_marked_paid,
    order_payments_are_off_session_and_a_card_needing_its_holder_is_requires_action,
);

async fn order_by_external_id(s: &Shop, external_id: &str) -> Value {
    s.orders().await.into_iter().find(|o| o["external_id"] == external_id).expect("the order is recorded")
}

async fn orders_that_cannot_be_charged_are_acknowledged_and_recorded(backend: Backend) {
    let s = shop(backend).await;
    // A free order, and one over the largest amount Pivota charges.
    assert_eq!(s.deliver(&order(1, json!({"total_minor": 0})), "e-1", None).await, 200);
    assert_eq!(s.deliver(&order(2, json!({"total_minor": 10_000_000_000_000i64})), "e-2", None).await, 200);
    // A currency no routed PSP takes (Stripe has no STN).
    assert_eq!(s.deliver(&order(3, json!({"currency": "STN"})), "e-3", None).await, 200);
    drain_payment_queue(&s.test.app).await;
    for (id, why) in [("1", "total"), ("2", "total"), ("3", "currency")] {
        let recorded = order_by_external_id(&s, id).await;
        assert_eq!(recorded["status"], "not_chargeable", "{recorded}");
        assert!(recorded["reason"].as_str().unwrap().contains(why), "{recorded}");
    }
    assert_eq!(s.stripe.charges(), 0);
    assert!(s.store.orders_marked_paid().is_empty());
    // The list filters by the new status.
    let (status, list) = call(&s.test.app, "GET", &format!("/merchant/{}/orders?status=not_chargeable", s.id))
        .bearer(&s.key)
        .send()
        .await;
    assert_eq!((status, list["items"].as_array().map(Vec::len)), (200, Some(3)), "{list}");
}

async fn card_numbers_are_refused_everywhere_and_never_stored(backend: Backend) {
    let s = shop(backend).await;
    let numbers = ["4111111111111111", "4111-1111-1111-1111", "5555 5555 5555 4444"];
    for (i, number) in numbers.iter().enumerate() {
        // /payment/execute
        let (status, problem) = call(&s.test.app, "POST", "/payment/execute")
            .bearer(&s.key)
            .header("idempotency-key", &format!("card-{i}"))
            .json(json!({"order_id": "o", "amount": 100, "currency": "EUR", "payment_method": number}))
            .send()
            .await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["errors"][0]["field"], "payment_method");
        // the routing document's test payment method
        let (status, problem) = call(&s.test.app, "PUT", &format!("/merchant/{}/routing", s.id))
            .bearer(&s.key)
            .json(json!({"priority": ["stripe"], "test_payment_method": number}))
            .send()
            .await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["errors"][0]["field"], "test_payment_method");
        // the storefront's order attribute: acknowledged, recorded as not chargeable, never charged
        let id = 100 + i as u32;
        assert_eq!(s.deliver(&order(id, json!({"payment_method": number})), &format!("c-{id}"), None).await, 200);
    }
    drain_payment_queue(&s.test.app).await;
    for i in 0..numbers.len() {
        let recorded = order_by_external_id(&s, &(100 + i).to_string()).await;
        assert_eq!(recorded["status"], "not_chargeable", "{recorded}");
        assert!(recorded["reason"].as_str().unwrap().contains("card number"), "{recorded}");
    }
    assert_eq!(s.stripe.charges(), 0);
    // A sandbox test card is charged by the sandbox only: this store's orders go to Stripe, so it is not
    // chargeable, and the card is not kept on the order either.
    assert_eq!(s.deliver(&order(200, json!({"payment_method": "4242424242424242"})), "c-200", None).await, 200);
    drain_payment_queue(&s.test.app).await;
    let recorded = order_by_external_id(&s, "200").await;
    assert_eq!(recorded["status"], "not_chargeable", "{recorded}");
    assert!(recorded["reason"].as_str().unwrap().contains("sandbox"), "{recorded}");
    // Nothing card-like in any stored item of the merchant or of its store, nor in the idempotency records.
    let mut stored = String::new();
    for pk in [format!("MERCHANT#{}", s.id), format!("STORE#{}", s.store_id), format!("IDEMPOTENCY#{}", s.id)] {
        for item in partition(&s.test.app, &pk).await {
            stored.push_str(&serde_json::to_string(&item.attrs).unwrap());
        }
    }
    assert!(!stored.is_empty());
    for digits in ["4111111111111111", "5555555555554444", "1111-1111", "5555 5555", "4242424242424242"] {
        assert!(!stored.contains(digits), "{digits} is stored");
    }
}

async fn a_queue_failure_after_the_order_is_recorded_loses_nothing(backend: Backend) {
    let s = shop(backend).await;
    let shared = &s.test.app;
    let failing = queue_failing_once(shared);
    let body = order(7, json!({}));
    // GIVEN the order is recorded but its payment message cannot be queued: a 5xx, so the store retries
    let status = s.deliver_to(&failing, &body, "evt-7", None).await;
    assert!(status >= 500, "the store must retry: {status}");
    assert_eq!(order_by_external_id(&s, "7").await["status"], "received");
    // WHEN the store retries the same event THEN it is not taken for a duplicate: the order is queued
    assert_eq!(s.deliver_to(&failing, &body, "evt-7", None).await, 200);
    drain_payment_queue(shared).await;
    let paid = order_by_external_id(&s, "7").await;
    assert_eq!((paid["status"].as_str(), paid["write_back"].as_str()), (Some("paid"), Some("done")), "{paid}");
    assert_eq!(s.stripe.charges(), 1, "charged once");
    // … and a later duplicate of the same event changes nothing
    assert_eq!(s.deliver_to(&failing, &body, "evt-7", None).await, 200);
    drain_payment_queue(shared).await;
    assert_eq!(s.stripe.charges(), 1);
}

async fn admin(s: &Shop, action: &str, body: Value) -> (u16, Value) {
    call(&s.test.app, "POST", &format!("/admin/merchants/{}/{action}", s.id))
        .bearer(ADMIN_TOKEN)
        .json(body)
        .send()
        .await
}

async fn a_suspended_merchant_is_stopped_until_reinstated(backend: Backend) {
    let s = shop(backend).await;
    // A reason is required, and only an approved merchant can be suspended.
    let (status, problem) = admin(&s, "suspend", json!({})).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("reason")), "{problem}");
    let (status, problem) = admin(&s, "reinstate", json!({})).await;
    assert_eq!(status, 409, "not suspended: {problem}");
    let (status, suspended) = admin(&s, "suspend", json!({"reason": "chargeback spike", "reviewer": "alice"})).await;
    assert_eq!((status, suspended["status"].as_str()), (200, Some("suspended")), "{suspended}");
    assert_eq!(suspended["decisions"].as_array().unwrap().last().unwrap()["reason"], "chargeback spike");

    // Its keys get 403 on every route.
    for (method, path) in [
        ("GET", format!("/merchant/{}", s.id)),
        ("GET", format!("/merchant/{}/orders", s.id)),
        ("GET", format!("/merchant/{}/api-keys", s.id)),
        ("POST", "/payment/execute".to_owned()),
    ] {
        let (status, problem) = call(&s.test.app, method, &path)
            .bearer(&s.key)
            .header("idempotency-key", "k")
            .json(json!({"order_id": "o", "amount": 100, "currency": "EUR", "payment_method": "pm_card_visa"}))
            .send()
            .await;
        assert_eq!(status, 403, "{method} {path}: {problem}");
        assert!(problem["detail"].as_str().unwrap().contains("suspended"), "{problem}");
    }
    // Its orders are acknowledged and recorded, not charged.
    assert_eq!(s.deliver(&order(5, json!({})), "e-5", None).await, 200);
    drain_payment_queue(&s.test.app).await;
    assert_eq!(s.stripe.charges(), 0);
    // The admin list shows it.
    let (_, list) = call(&s.test.app, "GET", "/admin/merchants?status=suspended").bearer(ADMIN_TOKEN).send().await;
    assert!(list["items"].as_array().unwrap().iter().any(|m| m["merchant_id"] == s.id.as_str()), "{list}");

    let (status, reinstated) = admin(&s, "reinstate", json!({"reason": "resolved"})).await;
    assert_eq!((status, reinstated["status"].as_str()), (200, Some("approved")), "{reinstated}");
    let (status, _) = call(&s.test.app, "GET", &format!("/merchant/{}", s.id)).bearer(&s.key).send().await;
    assert_eq!(status, 200);
    let recorded = order_by_external_id(&s, "5").await;
    assert_eq!(recorded["status"], "not_chargeable", "{recorded}");
    assert!(recorded["reason"].as_str().unwrap().contains("suspended"), "{recorded}");
    // Approving is a KYC decision: a reinstated merchant is not "approved again" through it.
    assert_eq!(admin(&s, "approve", json!({})).await.0, 409);
}

async fn a_leaked_test_key_never_gets_a_live_order_marked_paid(backend: Backend) {
    // GIVEN a merchant whose store is live (connected with a live key from the owner credential), and an
    // attacker holding its test key, who connects Stripe in test mode
    let s = shop(backend).await;
    let app = &s.test.app;
    let (id, test_key, owner) = approved_merchant_with_owner(app, &unique_email("live.example")).await;
    let live_key = live_key(app, &id, &owner).await;
    let store = FakeCustomStore::start().await.with_products(1);
    let (status, connected) = connect_store(app, &id, &live_key, stores::custom(&store)).await;
    assert_eq!((status, connected["mode"].as_str()), (201, Some("live")), "{connected}");
    let store_id = connected["store_id"].as_str().unwrap().to_owned();
    setup_webhooks(app, &id, &live_key, &store_id).await;
    let (status, _) = connect_psp(app, &id, &test_key, psps::stripe("sk_test_51AttackerKey00000000")).await;
    assert_eq!(status, 201, "a test connection is allowed: it only ever charges test payments");
    // The attacker cannot make the store a test store, nor connect another live one
    let mut live_store = stores::custom(&store);
    live_store["mode"] = json!("live");
    let (status, _) = connect_store(app, &id, &test_key, live_store).await;
    assert_eq!(status, 403);

    // WHEN a store order arrives, paying with a token
    let secret = store.webhooks().first().map(|w| w.secret.clone()).unwrap();
    let body = order(9, json!({"payment_method": "pm_card_visa"}));
    let (status, _) = call(&s.test.app, "POST", &format!("/webhooks/custom/{store_id}"))
        .header("x-pivota-topic", "order.created")
        .header("x-pivota-event-id", "live-9")
        .header("x-pivota-signature", &FakeCustomStore::sign_with(&secret, "order.created", &body))
        .raw(body)
        .send()
        .await;
    assert_eq!(status, 200);
    drain_payment_queue(&s.test.app).await;

    // THEN it is not charged on the test connection and never marked paid in the store
    let (_, orders) = call(&s.test.app, "GET", &format!("/merchant/{id}/orders")).bearer(&live_key).send().await;
    let recorded = &orders["items"][0];
    assert_eq!(recorded["status"], "not_chargeable", "{recorded}");
    assert!(recorded["reason"].as_str().unwrap().contains("live-mode"), "{recorded}");
    assert!(store.orders_marked_paid().is_empty(), "a live store's order marked paid without a live payment");
    assert_eq!(s.stripe.charges(), 0);
}

/// The queue pays orders with no shopper present: Stripe is told `off_session=true`. A card whose issuer
/// wants its holder to authenticate is then not a decline: the order is `requires_action`, with the next
/// step (bring the shopper back), nothing is charged and nothing is marked paid.
async fn order_payments_are_off_session_and_a_card_needing_its_holder_is_requires_action(backend: Backend) {
    let s = shop(backend).await;
    assert_eq!(s.deliver(&order(1, json!({"payment_method": "pm_card_visa"})), "e-1", None).await, 200);
    assert_eq!(
        s.deliver(&order(2, json!({"payment_method": "pm_card_authenticationRequired"})), "e-2", None).await,
        200
    );
    // A card the buyer saved with the merchant's Stripe: the order names its Customer too.
    let saved = s.stripe.attach_payment_method("pm_card_visa", "cus_buyer3");
    let with_customer = json!({"payment_method": saved, "payment_customer": "cus_buyer3"});
    assert_eq!(s.deliver(&order(3, with_customer), "e-3", None).await, 200);
    drain_payment_queue(&s.test.app).await;
    for sent in s.stripe.payment_intent_requests() {
        assert!(sent.params.contains(&("off_session".to_owned(), "true".to_owned())), "{:?}", sent.params);
    }
    assert_eq!(order_by_external_id(&s, "1").await["status"], "paid");
    assert_eq!(order_by_external_id(&s, "3").await["status"], "paid");
    let sent_customers: Vec<String> = s
        .stripe
        .payment_intent_requests()
        .iter()
        .filter_map(|sent| sent.params.iter().find(|(key, _)| key == "customer").map(|(_, value)| value.clone()))
        .collect();
    assert_eq!(sent_customers, ["cus_buyer3"], "the order's customer goes with its payment method");
    let waiting = order_by_external_id(&s, "2").await;
    assert_eq!(waiting["status"], "requires_action", "{waiting}");
    assert_eq!(waiting["next_action"]["type"], "authentication_required", "{waiting}");
    assert!(waiting["next_action"]["description"].as_str().unwrap().contains("on-session"), "{waiting}");
    assert!(waiting["decline_code"].is_null());
    assert_eq!(s.stripe.charges(), 2);
    assert_eq!(s.store.orders_marked_paid().len(), 2);
    let (status, list) = call(&s.test.app, "GET", &format!("/merchant/{}/orders?status=requires_action", s.id))
        .bearer(&s.key)
        .send()
        .await;
    assert_eq!((status, list["items"].as_array().map(Vec::len)), (200, Some(1)), "{list}");
}
