//! Test and live mode kept apart: a test key cannot touch what live payments depend on, and a test and a
//! live request under one idempotency key are two payments.

use serde_json::{Value, json};

use super::{STRIPE_KEY, STRIPE_LIVE_KEY, Setup, setup};
use crate::fixtures::{Backend, call, connect_psp, psps};

on_both_backends!(
    a_test_key_cannot_touch_what_live_payments_depend_on,
    a_test_and_a_live_request_with_one_idempotency_key_are_two_payments,
);

/// The setup and the merchant's owner credential, with a Stripe that takes the test and the live key.
async fn with_owner(backend: Backend) -> (Setup, String) {
    let s = setup(backend, None).await;
    s.stripe.set_valid_keys([STRIPE_KEY, STRIPE_LIVE_KEY]);
    let owner = s.owner.clone();
    (s, owner)
}

async fn a_test_key_cannot_touch_what_live_payments_depend_on(backend: Backend) {
    // GIVEN an approved merchant with its test key and its owner credential
    let (s, owner) = with_owner(backend).await;
    let app = &s.test.app;
    let forbidden = |status: u16, problem: &Value| {
        assert_eq!(status, 403, "{problem}");
        assert_eq!(problem["type"], "/problems/forbidden");
    };

    // WHEN the test key asks for a live key THEN 403, and no key is made
    let (status, problem) = call(app, "POST", &format!("/merchant/{}/api-keys", s.id))
        .bearer(&s.key)
        .json(json!({"name": "sneaky", "mode": "live"}))
        .send()
        .await;
    forbidden(status, &problem);
    let (_, keys) = call(app, "GET", &format!("/merchant/{}/api-keys", s.id)).bearer(&s.key).send().await;
    assert_eq!(keys["items"].as_array().unwrap().len(), 1, "{keys}");

    // WHEN the test key connects live Stripe credentials THEN 403 before Stripe is even asked
    let requests_before = s.stripe.requests();
    let (status, problem) = s.connect_psp(psps::stripe(STRIPE_LIVE_KEY)).await;
    forbidden(status, &problem);
    assert_eq!(s.stripe.requests(), requests_before);

    // The owner credential mints the first live key, and does nothing else
    let live = s.live_key().await;
    assert!(live.starts_with("pvk_live_"));
    let (status, problem) = call(app, "GET", &format!("/merchant/{}", s.id)).bearer(&owner).send().await;
    forbidden(status, &problem);
    let (status, problem) = connect_psp(app, &s.id, &owner, psps::stripe(STRIPE_LIVE_KEY)).await;
    forbidden(status, &problem);

    // GIVEN a live connection (live key) and a test connection (test key) of the same PSP
    let (status, body) = connect_psp(app, &s.id, &live, psps::stripe(STRIPE_LIVE_KEY)).await;
    assert_eq!((status, body["mode"].as_str()), (201, Some("live")), "{body}");
    let (status, body) = s.connect_psp(psps::stripe(STRIPE_KEY)).await;
    assert_eq!((status, body["mode"].as_str()), (201, Some("test")), "a test connection is its own: {body}");
    let (_, list) = call(app, "GET", &format!("/merchant/{}/psp", s.id)).bearer(&s.key).send().await;
    let mut modes: Vec<&str> = list["items"].as_array().unwrap().iter().map(|c| c["mode"].as_str().unwrap()).collect();
    modes.sort_unstable();
    assert_eq!(modes, ["live", "test"], "{list}");

    // WHEN the test key disconnects Stripe THEN only the test connection goes
    let (status, _) = call(app, "DELETE", &format!("/merchant/{}/psp/stripe", s.id)).bearer(&s.key).send().await;
    assert_eq!(status, 204);
    let (_, list) = call(app, "GET", &format!("/merchant/{}/psp", s.id)).bearer(&live).send().await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["items"][0]["mode"], "live");
    // … and a live payment still charges the live connection
    let (status, paid) = call(app, "POST", "/payment/execute")
        .bearer(&live)
        .header("idempotency-key", "live-1")
        .json(json!({"order_id": "o-live", "amount": 1000, "currency": "EUR", "payment_method": "pm_card_visa"}))
        .send()
        .await;
    assert_eq!((status, paid["mode"].as_str()), (200, Some("live")), "{paid}");

    // WHEN the test key revokes the live key, or connects a live store THEN 403
    let (_, keys) = call(app, "GET", &format!("/merchant/{}/api-keys", s.id)).bearer(&live).send().await;
    let live_id = keys["items"].as_array().unwrap().iter().find(|k| k["mode"] == "live").unwrap()["key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, problem) =
        call(app, "DELETE", &format!("/merchant/{}/api-keys/{live_id}", s.id)).bearer(&s.key).send().await;
    forbidden(status, &problem);
    let (status, problem) = s
        .connect_store(json!({"platform": "shopify", "store_url": "https://acme.myshopify.com", "api_token": "shpat_x", "webhook_secret": "whsec", "mode": "live"}))
        .await;
    forbidden(status, &problem);
    // … and the live key still works
    let (status, _) = call(app, "GET", &format!("/merchant/{}", s.id)).bearer(&live).send().await;
    assert_eq!(status, 200);
}

async fn a_test_and_a_live_request_with_one_idempotency_key_are_two_payments(backend: Backend) {
    let (s, _) = with_owner(backend).await;
    let live = s.live_key().await;
    let app = &s.test.app;
    s.connected_psp(psps::stripe(STRIPE_KEY)).await;
    let (status, _) = connect_psp(app, &s.id, &live, psps::stripe(STRIPE_LIVE_KEY)).await;
    assert_eq!(status, 201);
    let body = json!({"order_id": "o-1", "amount": 2500, "currency": "EUR", "payment_method": "pm_card_visa"});
    let pay = |key: String| {
        let body = body.clone();
        async move {
            call(app, "POST", "/payment/execute")
                .bearer(&key)
                .header("idempotency-key", "same-key")
                .json(body)
                .send()
                .await
        }
    };
    // GIVEN a test payment under a key WHEN a live request comes with the same key and body
    let (status, test_payment) = pay(s.key.clone()).await;
    assert_eq!((status, test_payment["mode"].as_str()), (200, Some("test")), "{test_payment}");
    let (status, live_payment) = pay(live.clone()).await;
    // THEN it is its own live payment, charged live, not the test one replayed
    assert_eq!((status, live_payment["mode"].as_str()), (200, Some("live")), "{live_payment}");
    assert_ne!(test_payment["payment_id"], live_payment["payment_id"]);
    assert_eq!(s.stripe.charges(), 2);
    // … and each replays only to its own mode
    assert_eq!(pay(s.key.clone()).await.1["payment_id"], test_payment["payment_id"]);
    assert_eq!(pay(live).await.1["payment_id"], live_payment["payment_id"]);
    assert_eq!(s.stripe.charges(), 2);
}
