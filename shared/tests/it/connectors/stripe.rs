//! The Stripe connector against `FakeStripe`: verifying a key, and charges (declines, authentication,
//! rate limits, server errors, timeouts and idempotent replays).

use super::*;

// ---- Stripe: verify ----

#[tokio::test]
async fn stripe_verify_accepts_a_valid_key_in_test_mode() {
    let fake = FakeStripe::start().await;
    let stripe = stripe_connectors(&fake);
    let verified = stripe.get(PspKind::Stripe).verify(&stripe_credentials(STRIPE_KEY)).await.unwrap();
    assert_eq!(verified, VerifiedAccount { mode: PspMode::Test });
    assert_eq!(fake.charges(), 0);
}

#[tokio::test]
async fn stripe_verify_reports_live_mode_from_the_balance() {
    let fake = FakeStripe::start().await;
    fake.set_valid_keys(["sk_live_51LiveKey9999"]);
    let verified =
        stripe_connectors(&fake).get(PspKind::Stripe).verify(&stripe_credentials("sk_live_51LiveKey9999")).await;
    assert_eq!(verified.unwrap().mode, PspMode::Live);
}

#[tokio::test]
async fn stripe_verify_rejects_a_bad_key_without_echoing_it() {
    let fake = FakeStripe::start().await;
    let bad_key = "sk_test_invalid00000000wxyz";
    let error = stripe_connectors(&fake).get(PspKind::Stripe).verify(&stripe_credentials(bad_key)).await.unwrap_err();
    let ConnectorError::Rejected { reason } = &error else { panic!("expected Rejected, got {error:?}") };
    assert!(reason.contains("Invalid API Key provided"), "{reason}");
    assert_no_key_material(&error, bad_key);
}

#[tokio::test]
async fn stripe_verify_is_not_processed_when_stripe_is_unreachable_or_failing() {
    let unreachable = Connectors::new(&settings(&unreachable_base(), "http://127.0.0.1:9"));
    let error = unreachable.get(PspKind::Stripe).verify(&stripe_credentials(STRIPE_KEY)).await.unwrap_err();
    assert!(matches!(error, ConnectorError::NotProcessed { .. }), "{error:?}");
    assert_no_key_material(&error, STRIPE_KEY);

    let fake = FakeStripe::start().await;
    fake.fail_next(1, FakeFailure::Http503);
    let error = stripe_connectors(&fake).get(PspKind::Stripe).verify(&stripe_credentials(STRIPE_KEY)).await;
    assert!(matches!(error, Err(ConnectorError::NotProcessed { .. })), "{error:?}");
}

// ---- Stripe: charge ----

#[tokio::test]
async fn stripe_charge_succeeds_and_sends_stripes_wire_format() {
    let fake = FakeStripe::start().await;
    let charge = stripe_connectors(&fake)
        .get(PspKind::Stripe)
        .charge(&stripe_credentials(STRIPE_KEY), &charge_request("pm_card_visa", "idem-ok"))
        .await
        .unwrap();
    let ChargeOutcome::Succeeded { psp_reference } = &charge.outcome else { panic!("{charge:?}") };
    assert!(psp_reference.starts_with("pi_"), "{psp_reference}");
    assert!(charge.psp_request_id.as_deref().is_some_and(|id| id.starts_with("req_")), "{charge:?}");
    assert_eq!(fake.charges(), 1);

    let sent = fake.payment_intent_requests().pop().unwrap();
    let param = |name: &str| sent.params.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    assert_eq!(param("amount"), Some("2500"));
    assert_eq!(param("currency"), Some("eur"));
    assert_eq!(param("confirm"), Some("true"));
    assert_eq!(param("automatic_payment_methods[allow_redirects]"), Some("never"));
    assert_eq!(param("metadata[order_id]"), Some("order-42"));
    assert_eq!(param("metadata[payment_id]"), Some("pay_42"));
    assert_eq!(param("metadata[channel]"), Some("web"));
    assert_eq!(sent.headers.get("idempotency-key").map(String::as_str), Some("idem-ok"));
    assert_eq!(
        sent.headers.get("stripe-version").map(String::as_str),
        Some(pivota::payments::connectors::stripe::API_VERSION)
    );
}

#[tokio::test]
async fn stripe_card_declines_carry_the_decline_code() {
    let fake = FakeStripe::start().await;
    let stripe = stripe_connectors(&fake);
    let credentials = stripe_credentials(STRIPE_KEY);
    for (card, expected) in [
        ("pm_card_visa_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_visa_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card"),
    ] {
        let charge = stripe.get(PspKind::Stripe).charge(&credentials, &charge_request(card, card)).await.unwrap();
        let ChargeOutcome::Declined { decline_code, psp_reference, message } = &charge.outcome else {
            panic!("{card}: {charge:?}")
        };
        assert_eq!(decline_code, expected, "{card}");
        assert!(psp_reference.as_deref().is_some_and(|id| id.starts_with("pi_")), "{card}: {charge:?}");
        assert!(!message.is_empty());
    }
    assert_eq!(fake.charges(), 0);
}

#[tokio::test]
async fn stripe_cards_needing_authentication_require_action_on_and_off_session() {
    let fake = FakeStripe::start().await;
    let stripe = stripe_connectors(&fake);
    let credentials = stripe_credentials(STRIPE_KEY);
    let card = "pm_card_threeDSecure2Required";
    let on_session = stripe.get(PspKind::Stripe).charge(&credentials, &charge_request(card, "3ds-on")).await.unwrap();
    let ChargeOutcome::RequiresAction { psp_reference, next_action } = &on_session.outcome else {
        panic!("{on_session:?}")
    };
    assert!(psp_reference.as_deref().is_some_and(|id| id.starts_with("pi_")));
    assert_eq!(next_action.kind, "use_stripe_sdk");
    let off = ChargeRequest { off_session: true, ..charge_request(card, "3ds-off") };
    let off_session = stripe.get(PspKind::Stripe).charge(&credentials, &off).await.unwrap();
    let ChargeOutcome::RequiresAction { psp_reference, next_action } = &off_session.outcome else {
        panic!("{off_session:?}")
    };
    assert!(psp_reference.as_deref().is_some_and(|id| id.starts_with("pi_")));
    assert_eq!(next_action.kind, "authentication_required");
    assert_eq!(fake.charges(), 0);
}

#[tokio::test]
async fn stripe_rate_limit_is_not_processed_with_retry_after() {
    let fake = FakeStripe::start().await;
    fake.fail_next(1, FakeFailure::Http429 { retry_after: Some(Duration::from_secs(2)) });
    let error = stripe_connectors(&fake)
        .get(PspKind::Stripe)
        .charge(&stripe_credentials(STRIPE_KEY), &charge_request("pm_card_visa", "idem-429"))
        .await
        .unwrap_err();
    let ConnectorError::NotProcessed { retry_after, .. } = &error else { panic!("{error:?}") };
    assert_eq!(*retry_after, Some(Duration::from_secs(2)));
    assert_eq!(fake.charges(), 0);
}

#[tokio::test]
async fn stripe_server_errors_are_ambiguous() {
    let fake = FakeStripe::start().await;
    fake.fail_next(1, FakeFailure::Http500);
    let error = stripe_connectors(&fake)
        .get(PspKind::Stripe)
        .charge(&stripe_credentials(STRIPE_KEY), &charge_request("pm_card_visa", "idem-500"))
        .await
        .unwrap_err();
    assert!(matches!(error, ConnectorError::Ambiguous { .. }), "{error:?}");
}

#[tokio::test]
async fn stripe_timeout_after_the_charge_is_ambiguous_and_the_retry_replays_it() {
    let fake = FakeStripe::start().await;
    let stripe = stripe_connectors(&fake);
    let credentials = stripe_credentials(STRIPE_KEY);
    let request = charge_request("pm_card_visa", "idem-timeout");
    fake.fail_next(1, FakeFailure::Delay(Duration::from_secs(3)));

    let first = stripe.get(PspKind::Stripe).charge(&credentials, &request).await.unwrap_err();
    assert!(matches!(first, ConnectorError::Ambiguous { .. }), "{first:?}");
    assert_eq!(fake.charges(), 1, "the fake charged before the client gave up");

    let retry = stripe.get(PspKind::Stripe).charge(&credentials, &request).await.unwrap();
    let ChargeOutcome::Succeeded { psp_reference } = retry.outcome else { panic!("{retry:?}") };
    let again = stripe.get(PspKind::Stripe).charge(&credentials, &request).await.unwrap();
    assert_eq!(again.outcome, ChargeOutcome::Succeeded { psp_reference });
    assert_eq!(fake.charges(), 1, "replays never charge again");
    assert_eq!(fake.requests(), 3);
}

#[tokio::test]
async fn stripe_reusing_a_key_with_other_parameters_is_an_invalid_request() {
    let fake = FakeStripe::start().await;
    let stripe = stripe_connectors(&fake);
    let credentials = stripe_credentials(STRIPE_KEY);
    stripe.get(PspKind::Stripe).charge(&credentials, &charge_request("pm_card_visa", "idem-reuse")).await.unwrap();
    let mut changed = charge_request("pm_card_visa", "idem-reuse");
    changed.amount = Money::new(9900, Currency::parse("EUR").unwrap()).unwrap();
    let error = stripe.get(PspKind::Stripe).charge(&credentials, &changed).await.unwrap_err();
    let ConnectorError::InvalidRequest { reason } = &error else { panic!("{error:?}") };
    assert!(reason.contains("idempotency_error"), "{reason}");
    assert_eq!(fake.charges(), 1);
}

#[tokio::test]
async fn stripe_charge_with_a_bad_key_is_rejected_and_unreachable_is_not_processed() {
    let fake = FakeStripe::start().await;
    let bad_key = "sk_test_invalid11111111zyxw";
    let error = stripe_connectors(&fake)
        .get(PspKind::Stripe)
        .charge(&stripe_credentials(bad_key), &charge_request("pm_card_visa", "idem-bad-key"))
        .await
        .unwrap_err();
    assert!(matches!(error, ConnectorError::Rejected { .. }), "{error:?}");
    assert_no_key_material(&error, bad_key);

    let unreachable = Connectors::new(&settings(&unreachable_base(), "http://127.0.0.1:9"));
    let error = unreachable
        .get(PspKind::Stripe)
        .charge(&stripe_credentials(STRIPE_KEY), &charge_request("pm_card_visa", "idem-down"))
        .await
        .unwrap_err();
    assert!(matches!(error, ConnectorError::NotProcessed { .. }), "{error:?}");
}
