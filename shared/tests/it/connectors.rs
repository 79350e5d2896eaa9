//! The Stripe and Adyen connectors against the local fakes of both PSPs (`pivota-fakes`): what each answer
//! means for money, and that a retry after an ambiguous failure never charges twice.

use std::collections::BTreeMap;
use std::time::Duration;

use pivota::kernel::money::{Currency, Money};
use pivota::payments::connectors::{
    ChargeOutcome, ChargeRequest, ConnectorError, ConnectorSettings, Connectors, PspCredentials, VerifiedAccount,
};
use pivota::payments::psp::{PspKind, PspMode};
use pivota_fakes::{FakeAdyen, FakeFailure, FakeStripe};

use crate::fixtures::unreachable_base;

const STRIPE_KEY: &str = "sk_test_51PivotaFakeKey0000abcd";

fn settings(stripe: &str, adyen: &str) -> ConnectorSettings {
    ConnectorSettings {
        stripe_api_base: stripe.to_owned(),
        adyen_checkout_base: Some(adyen.to_owned()),
        request_timeout: Duration::from_millis(700),
        connect_timeout: Duration::from_millis(500),
        payment_budget: Duration::from_secs(25),
    }
}

fn stripe_connectors(fake: &FakeStripe) -> Connectors {
    Connectors::new(&settings(&fake.uri(), "http://127.0.0.1:9"))
}

fn adyen_connectors(fake: &FakeAdyen) -> Connectors {
    Connectors::new(&settings("http://127.0.0.1:9", &fake.uri()))
}

fn stripe_credentials(key: &str) -> PspCredentials {
    PspCredentials { api_key: key.into(), merchant_account: None, mode: PspMode::Test, live_url_prefix: None }
}

fn adyen_credentials(key: &str, merchant_account: &str) -> PspCredentials {
    PspCredentials {
        api_key: key.into(),
        merchant_account: Some(merchant_account.into()),
        mode: PspMode::Test,
        live_url_prefix: None,
    }
}

fn charge_request(payment_method: &str, idempotency_key: &str) -> ChargeRequest {
    ChargeRequest {
        amount: Money::new(2500, Currency::parse("EUR").unwrap()).unwrap(),
        payment_method: Some(payment_method.into()),
        order_id: "order-42".into(),
        payment_id: "pay_42".into(),
        idempotency_key: idempotency_key.into(),
        customer: None,
        off_session: false,
        metadata: BTreeMap::from([("channel".into(), "web".into())]),
        return_url: "https://pivota.example/console".into(),
    }
}

/// An order payment through Adyen: the token's shopper reference, no shopper present.
fn adyen_request(token: &str, idempotency_key: &str) -> ChargeRequest {
    ChargeRequest { customer: Some("shopper-42".into()), off_session: true, ..charge_request(token, idempotency_key) }
}

fn assert_no_key_material(error: &ConnectorError, key: &str) {
    let text = format!("{error} {error:?}");
    assert!(!text.contains(key), "the key leaked: {text}");
    assert!(!text.contains(&key[key.len() - 4..]), "the key's tail leaked: {text}");
    assert!(!text.contains("sk_test"), "a key prefix leaked: {text}");
}

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

// ---- Adyen: verify ----

#[tokio::test]
async fn adyen_verify_accepts_the_key_and_merchant_account() {
    let fake = FakeAdyen::start().await;
    let verified = adyen_connectors(&fake)
        .get(PspKind::Adyen)
        .verify(&adyen_credentials(FakeAdyen::API_KEY, FakeAdyen::MERCHANT_ACCOUNT))
        .await
        .unwrap();
    assert_eq!(verified, VerifiedAccount { mode: PspMode::Test });
}

#[tokio::test]
async fn adyen_verify_tells_a_bad_key_from_a_bad_merchant_account() {
    let fake = FakeAdyen::start().await;
    let adyen = adyen_connectors(&fake);
    let bad_key = "AQEbad_adyen_key_000000";
    let error = adyen.get(PspKind::Adyen).verify(&adyen_credentials(bad_key, FakeAdyen::MERCHANT_ACCOUNT)).await;
    let error = error.unwrap_err();
    assert!(matches!(error, ConnectorError::Rejected { .. }), "{error:?}");
    assert!(!format!("{error:?}").contains(bad_key));

    let error = adyen.get(PspKind::Adyen).verify(&adyen_credentials(FakeAdyen::API_KEY, "SomeoneElsesECOM")).await;
    let Err(ConnectorError::InvalidMerchantAccount { reason }) = &error else { panic!("{error:?}") };
    assert!(reason.contains("901"), "{reason}");
}

#[tokio::test]
async fn adyen_verify_is_not_processed_when_adyen_is_unreachable_or_failing() {
    let unreachable = Connectors::new(&settings("http://127.0.0.1:9", &unreachable_base()));
    let credentials = adyen_credentials(FakeAdyen::API_KEY, FakeAdyen::MERCHANT_ACCOUNT);
    let error = unreachable.get(PspKind::Adyen).verify(&credentials).await;
    assert!(matches!(error, Err(ConnectorError::NotProcessed { .. })), "{error:?}");

    let fake = FakeAdyen::start().await;
    fake.fail_next(1, FakeFailure::Http500);
    let error = adyen_connectors(&fake).get(PspKind::Adyen).verify(&credentials).await;
    assert!(matches!(error, Err(ConnectorError::NotProcessed { .. })), "{error:?}");
}

// ---- Adyen: charge ----

#[tokio::test]
async fn adyen_authorised_is_succeeded_with_the_psp_reference() {
    let fake = FakeAdyen::start().await;
    let credentials = adyen_credentials(FakeAdyen::API_KEY, FakeAdyen::MERCHANT_ACCOUNT);
    let charge = adyen_connectors(&fake)
        .get(PspKind::Adyen)
        .charge(&credentials, &adyen_request("8415718415172204", "adyen-ok"))
        .await
        .unwrap();
    let ChargeOutcome::Succeeded { psp_reference } = &charge.outcome else { panic!("{charge:?}") };
    assert_eq!(psp_reference.len(), 16);
    assert_eq!(charge.psp_request_id.as_ref(), Some(psp_reference));
    assert_eq!(fake.charges(), 1);

    let sent = fake.payment_requests().pop().unwrap();
    assert_eq!(sent["amount"], serde_json::json!({ "value": 2500, "currency": "EUR" }));
    assert_eq!(sent["reference"], "pay_42");
    assert_eq!(sent["paymentMethod"]["storedPaymentMethodId"], "8415718415172204");
    assert_eq!(sent["shopperInteraction"], "ContAuth");
}

#[tokio::test]
async fn adyen_refusals_and_actions_arrive_with_http_200() {
    let fake = FakeAdyen::start().await;
    let adyen = adyen_connectors(&fake);
    let credentials = adyen_credentials(FakeAdyen::API_KEY, FakeAdyen::MERCHANT_ACCOUNT);
    for (token, expected) in [("NOT_ENOUGH_BALANCE", "not_enough_balance"), ("DECLINED", "refused")] {
        let charge = adyen.get(PspKind::Adyen).charge(&credentials, &adyen_request(token, token)).await.unwrap();
        let ChargeOutcome::Declined { decline_code, psp_reference, .. } = &charge.outcome else {
            panic!("{token}: {charge:?}")
        };
        assert_eq!(decline_code, expected);
        assert!(psp_reference.is_some());
    }
    // A card that wants its holder: a challenge on-session, a soft decline (refusalReasonCode 38) off-session.
    let on_session = ChargeRequest { off_session: false, ..adyen_request("CHALLENGE", "challenge-on") };
    for (request, kind) in
        [(on_session, "threeDS2"), (adyen_request("CHALLENGE", "challenge-off"), "authentication_required")]
    {
        let charge = adyen.get(PspKind::Adyen).charge(&credentials, &request).await.unwrap();
        let ChargeOutcome::RequiresAction { next_action, .. } = &charge.outcome else { panic!("{charge:?}") };
        assert_eq!(next_action.kind, kind);
    }
    assert_eq!(fake.charges(), 0);

    let pending = adyen.get(PspKind::Adyen).charge(&credentials, &adyen_request("PENDING", "pending")).await;
    assert!(matches!(pending.unwrap().outcome, ChargeOutcome::Succeeded { .. }));
}

#[tokio::test]
async fn adyen_failures_are_classified_by_what_they_mean_for_money() {
    let fake = FakeAdyen::start().await;
    let adyen = adyen_connectors(&fake);
    let credentials = adyen_credentials(FakeAdyen::API_KEY, FakeAdyen::MERCHANT_ACCOUNT);
    let charge = |key: &'static str| {
        let adyen = &adyen;
        let credentials = &credentials;
        async move { adyen.get(PspKind::Adyen).charge(credentials, &adyen_request("8415718415172204", key)).await }
    };

    fake.fail_next(1, FakeFailure::Http429 { retry_after: Some(Duration::from_secs(1)) });
    let error = charge("adyen-429").await.unwrap_err();
    assert!(matches!(error, ConnectorError::NotProcessed { retry_after: Some(_), .. }), "{error:?}");

    fake.fail_next(1, FakeFailure::Http503);
    assert!(matches!(charge("adyen-503").await, Err(ConnectorError::Ambiguous { .. })));

    let requests = fake.requests();
    let no_token = ChargeRequest { payment_method: None, ..adyen_request("x", "adyen-none") };
    let error = adyen.get(PspKind::Adyen).charge(&credentials, &no_token).await;
    assert!(matches!(error, Err(ConnectorError::InvalidRequest { .. })), "{error:?}");
    // A token is found only with its shopper reference: none, nothing is sent.
    let no_shopper = ChargeRequest { customer: None, ..adyen_request("8415718415172204", "adyen-no-shopper") };
    let error = adyen.get(PspKind::Adyen).charge(&credentials, &no_shopper).await;
    assert!(matches!(error, Err(ConnectorError::InvalidRequest { .. })), "{error:?}");
    assert_eq!(fake.requests(), requests);
    fake.store_token("shopper-7", "8415718415172204");
    let error = adyen.get(PspKind::Adyen).charge(&credentials, &adyen_request("8415718415172204", "adyen-800")).await;
    assert!(matches!(&error, Err(ConnectorError::InvalidRequest { reason }) if reason.contains("800")), "{error:?}");

    let wrong_account = adyen_credentials(FakeAdyen::API_KEY, "SomeoneElsesECOM");
    let error = adyen.get(PspKind::Adyen).charge(&wrong_account, &adyen_request("8415718415172204", "adyen-901")).await;
    assert!(matches!(error, Err(ConnectorError::InvalidMerchantAccount { .. })), "{error:?}");
    assert_eq!(fake.charges(), 0);
}

#[tokio::test]
async fn adyen_timeout_after_the_charge_is_ambiguous_and_the_retry_replays_it() {
    let fake = FakeAdyen::start().await;
    let adyen = adyen_connectors(&fake);
    let credentials = adyen_credentials(FakeAdyen::API_KEY, FakeAdyen::MERCHANT_ACCOUNT);
    let request = adyen_request("8415718415172204", "adyen-timeout");
    fake.fail_next(1, FakeFailure::Delay(Duration::from_secs(3)));

    let first = adyen.get(PspKind::Adyen).charge(&credentials, &request).await.unwrap_err();
    assert!(matches!(first, ConnectorError::Ambiguous { .. }), "{first:?}");
    assert_eq!(fake.charges(), 1);

    let retry = adyen.get(PspKind::Adyen).charge(&credentials, &request).await.unwrap();
    let again = adyen.get(PspKind::Adyen).charge(&credentials, &request).await.unwrap();
    assert!(matches!(retry.outcome, ChargeOutcome::Succeeded { .. }));
    assert_eq!(retry.outcome, again.outcome);
    assert_eq!(fake.charges(), 1);
}
