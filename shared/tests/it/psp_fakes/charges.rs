//! Charges at Stripe and Adyen: declines with the PSP's codes, fallback to the next PSP only when nothing
//! can have been charged, exactly one charge across retries, timeouts and concurrent requests, each PSP's
//! minor units, payments that need the shopper, and the payment's time budget.

use std::time::Duration;

use pivota_fakes::FakeFailure;
use serde_json::{Value, json};

use super::{STRIPE_KEY, setup, setup_with};
use crate::fixtures::{Backend, call, psps};

on_both_backends!(
    stripe_charges_and_declines_with_the_psps_codes,
    a_rate_limited_psp_falls_back_to_the_next_one,
    a_decline_or_a_5xx_never_falls_back_and_the_retry_charges_once,
    a_timeout_then_a_retry_charges_exactly_once,
    fifty_concurrent_requests_with_one_key_make_one_stripe_charge,
    amounts_go_to_each_psp_in_its_own_minor_units,
    a_payment_that_needs_the_shopper_is_requires_action_with_the_next_step,
    a_payment_answers_within_its_budget_whatever_the_psp_does,
);

async fn stripe_charges_and_declines_with_the_psps_codes(backend: Backend) {
    let s = setup(backend, None).await;
    s.connected_psp(psps::stripe(STRIPE_KEY)).await;
    let (status, paid) = s.pay("s-1", "pm_card_visa").await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!((paid["status"].as_str(), paid["psp"].as_str()), (Some("succeeded"), Some("stripe")));
    assert!(paid["psp_reference"].as_str().unwrap().starts_with("pi_"));
    let sent = &s.stripe.payment_intent_requests()[0];
    let param = |name: &str| sent.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!(param("metadata[order_id]"), Some("order-77"));
    assert_eq!(param("confirm"), Some("true"));
    assert_eq!(param("amount"), Some("4999"));
    let (status, declined) = s.pay("s-2", "pm_card_visa_chargeDeclinedInsufficientFunds").await;
    assert_eq!(status, 402, "{declined}");
    assert_eq!(declined["decline_code"], "insufficient_funds");
    assert_eq!(s.stripe.charges(), 1);
}

async fn a_rate_limited_psp_falls_back_to_the_next_one(backend: Backend) {
    let s = setup(backend, None).await;
    s.connect_both().await;
    s.stripe.fail_next(1, FakeFailure::Http429 { retry_after: Some(Duration::from_secs(1)) });
    // Adyen charges a stored method only under its shopper reference: the payment names its customer.
    let method = s.stripe.attach_payment_method("pm_card_visa", "cus_fallback");
    let (status, paid) = call(&s.test.app, "POST", "/payment/execute")
        .bearer(&s.key)
        .header("idempotency-key", "f-1")
        .json(json!({"order_id": "order-77", "amount": 4999, "currency": "EUR", "payment_method": method, "customer": "cus_fallback"}))
        .send()
        .await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["psp"], "adyen");
    let outcomes: Vec<(&str, &str)> = paid["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["psp"].as_str().unwrap(), a["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(outcomes, [("stripe", "not_processed"), ("adyen", "succeeded")]);
    assert_eq!((s.stripe.charges(), s.adyen.charges()), (0, 1));
}

async fn a_decline_or_a_5xx_never_falls_back_and_the_retry_charges_once(backend: Backend) {
    let s = setup(backend, None).await;
    s.connect_both().await;
    let adyen_calls = s.adyen.requests();
    let (status, declined) = s.pay("d-1", "pm_card_visa_chargeDeclined").await;
    assert_eq!(status, 402, "{declined}");
    assert_eq!(s.adyen.requests(), adyen_calls, "a decline never falls back");

    s.stripe.fail_next(1, FakeFailure::Http500);
    let (status, unknown) = s.pay("d-2", "pm_card_visa").await;
    assert_eq!(status, 502, "{unknown}");
    assert_eq!(unknown["payment_status"], "unknown");
    assert_eq!(s.adyen.requests(), adyen_calls, "a 5xx may have charged: no fallback");
    let (status, paid) = s.pay("d-2", "pm_card_visa").await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!((paid["psp"].as_str(), paid["payment_id"].as_str()), (Some("stripe"), unknown["payment_id"].as_str()));
    assert_eq!((s.stripe.charges(), s.adyen.charges()), (1, 0));
}

async fn a_timeout_then_a_retry_charges_exactly_once(backend: Backend) {
    let s = setup(backend, None).await;
    s.connected_psp(psps::stripe(STRIPE_KEY)).await;
    // The fake charges, then answers after our 700 ms timeout: the answer is lost, the money moved.
    s.stripe.fail_next(1, FakeFailure::Delay(Duration::from_secs(2)));
    let (status, lost) = s.pay("t-1", "pm_card_visa").await;
    assert_eq!(status, 502, "{lost}");
    assert_eq!(lost["payment_status"], "unknown");
    assert_eq!(s.stripe.charges(), 1);
    let (status, paid) = s.pay("t-1", "pm_card_visa").await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["status"], "succeeded");
    assert_eq!(s.stripe.charges(), 1, "the retry got Stripe's stored answer, not a second charge");
    let (status, replay) = s.pay("t-1", "pm_card_visa").await;
    assert_eq!((status, &replay), (200, &paid));
}

async fn fifty_concurrent_requests_with_one_key_make_one_stripe_charge(backend: Backend) {
    let s = std::sync::Arc::new(setup(backend, None).await);
    s.connected_psp(psps::stripe(STRIPE_KEY)).await;
    let calls = (0..50).map(|_| {
        let s = s.clone();
        tokio::spawn(async move { s.pay("one-key", "pm_card_visa").await })
    });
    let statuses: Vec<u16> = futures::future::join_all(calls).await.into_iter().map(|r| r.unwrap().0).collect();
    assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "{statuses:?}");
    assert_eq!(s.stripe.charges(), 1, "{statuses:?}");
    assert_eq!(s.stripe.payment_intent_requests().len(), 1, "only one request ever reached Stripe");
}

async fn amounts_go_to_each_psp_in_its_own_minor_units(backend: Backend) {
    let s = setup(backend, None).await;
    s.connected_psp(psps::stripe(STRIPE_KEY)).await;
    let pay = |key: &'static str, amount: i64, currency: &'static str| {
        call(&s.test.app, "POST", "/payment/execute")
            .bearer(&s.key)
            .header("idempotency-key", key)
            .json(json!({"order_id": key, "amount": amount, "currency": currency, "payment_method": "pm_card_visa"}))
    };
    // 10000 ISK (ISO exponent 0) is two-decimal at Stripe; JPY and KWD go as they are.
    for (key, amount, currency, wire) in
        [("isk", 10_000, "ISK", "1000000"), ("jpy", 500, "JPY", "500"), ("kwd", 1250, "KWD", "1250")]
    {
        let (status, body) = pay(key, amount, currency).send().await;
        assert_eq!(status, 200, "{currency}: {body}");
        let sent = s.stripe.payment_intent_requests().pop().unwrap();
        let param = sent.params.iter().find(|(k, _)| k == "amount").map(|(_, v)| v.clone());
        assert_eq!(param.as_deref(), Some(wire), "{currency}");
    }
    // 1255 KWD: Stripe needs the last of three decimals to be 0 → 422 naming amount, nothing sent
    let before = s.stripe.requests();
    let (status, problem) = pay("kwd-odd", 1255, "KWD").send().await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "amount");
    assert_eq!(s.stripe.requests(), before);
}

/// A card that needs its holder to authenticate is not a decline: the payment is `requires_action`
/// (402, `/problems/payment-requires-action`) with the next step, on-session (Stripe's `next_action`)
/// and off-session (`authentication_required`), at Stripe and at Adyen. Nothing is charged, and a retry
/// with the same key replays the same answer.
async fn a_payment_that_needs_the_shopper_is_requires_action_with_the_next_step(backend: Backend) {
    let s = setup(backend, None).await;
    s.connected_psp(psps::stripe(STRIPE_KEY)).await;
    let pay = |key: &'static str, body: Value| s.execute(key, body);
    let (status, on_session) = pay("ra-1", json!({"payment_method": "pm_card_authenticationRequired"})).send().await;
    assert_eq!(status, 402, "{on_session}");
    assert_eq!(on_session["type"], "/problems/payment-requires-action");
    assert_eq!(on_session["payment_status"], "requires_action");
    assert_eq!(on_session["next_action"]["type"], "use_stripe_sdk");
    assert!(on_session["psp_reference"].as_str().unwrap().starts_with("pi_"));
    assert!(on_session["decline_code"].is_null(), "not a decline: {on_session}");
    let (status, off_session) =
        pay("ra-2", json!({"payment_method": "pm_card_authenticationRequired", "off_session": true})).send().await;
    assert_eq!(status, 402, "{off_session}");
    assert_eq!(off_session["payment_status"], "requires_action");
    assert_eq!(off_session["next_action"]["type"], "authentication_required");
    assert!(off_session["detail"].as_str().unwrap().contains("on-session"), "{off_session}");
    let (_, replay) =
        pay("ra-2", json!({"payment_method": "pm_card_authenticationRequired", "off_session": true})).send().await;
    assert_eq!(replay, off_session);
    let (_, listed) = call(&s.test.app, "GET", &format!("/merchant/{}/payments?status=requires_action", s.id))
        .bearer(&s.key)
        .send()
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
    assert_eq!(s.stripe.charges(), 0);

    s.connected_psp(psps::adyen()).await;
    let (status, _) = call(&s.test.app, "PUT", &format!("/merchant/{}/routing", s.id))
        .bearer(&s.key)
        .json(json!({"priority": ["adyen"]}))
        .send()
        .await;
    assert_eq!(status, 200);
    let (status, challenged) =
        pay("ra-3", json!({"payment_method": "CHALLENGE", "customer": "shopper-3"})).send().await;
    assert_eq!(status, 402, "{challenged}");
    assert_eq!(
        (challenged["payment_status"].as_str(), challenged["next_action"]["type"].as_str()),
        (Some("requires_action"), Some("threeDS2"))
    );
    let (status, soft_declined) =
        pay("ra-4", json!({"payment_method": "CHALLENGE", "customer": "shopper-3", "off_session": true})).send().await;
    assert_eq!(status, 402, "{soft_declined}");
    assert_eq!(soft_declined["next_action"]["type"], "authentication_required");
    assert_eq!(s.adyen.charges(), 0);
}

/// `/payment/execute` answers within its budget (25 s on AWS, inside API Gateway's 30 s; 7 s here) even when
/// the PSP takes longer than a PSP call may: the payment is `unknown` (the PSP may have charged), its key
/// is released at once, and the retry asks the same PSP again, which replays its charge. The budget leaves
/// each request 4 s for its own reads and writes before the PSP must be called (2 s are kept for the
/// finish and a PSP is not called with under 1 s): on moto, shared with the other tests, they can take
/// over a second.
async fn a_payment_answers_within_its_budget_whatever_the_psp_does(backend: Backend) {
    let s = setup_with(backend, None, Duration::from_secs(20), Duration::from_secs(7)).await;
    s.connected_psp(psps::stripe(STRIPE_KEY)).await;
    s.stripe.fail_next(1, FakeFailure::Delay(Duration::from_secs(12)));
    let started = std::time::Instant::now();
    let (status, cut) = s.pay("budget-1", "pm_card_visa").await;
    let waited = started.elapsed();
    assert_eq!((status, cut["payment_status"].as_str()), (502, Some("unknown")), "{cut}");
    assert!(waited < Duration::from_secs(12), "answered only after the PSP did ({waited:?})");
    assert!(cut["detail"].as_str().unwrap().contains("time budget"), "{cut}");
    let (status, paid) = s.pay("budget-1", "pm_card_visa").await;
    assert_eq!((status, paid["payment_id"].as_str()), (200, cut["payment_id"].as_str()), "{paid}");
    assert_eq!(s.stripe.charges(), 1, "the retry got Stripe's first charge, not a second one");

    // A budget too short to call any PSP: nothing is sent, the payment failed (not unknown), retryable.
    let s = setup_with(backend, None, Duration::from_secs(20), Duration::from_millis(1500)).await;
    s.connected_psp(psps::stripe(STRIPE_KEY)).await;
    let verified = s.stripe.requests();
    let (status, failed) = s.pay("budget-2", "pm_card_visa").await;
    assert_eq!((status, failed["payment_status"].as_str()), (502, Some("failed")), "{failed}");
    assert_eq!(s.stripe.requests(), verified, "no PSP was asked");
}
