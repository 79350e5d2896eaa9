//! The Adyen connector against `FakeAdyen`: verifying a key and merchant account, and payments (refusals
//! and actions with HTTP 200, failures classified by what they mean for money, timeouts and replays).

use super::*;

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
