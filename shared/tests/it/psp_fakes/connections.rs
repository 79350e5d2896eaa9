//! Connecting Stripe and Adyen: keys and merchant accounts checked with the PSP, stored only as secrets,
//! nothing stored when the PSP cannot be reached, and a secret of its own for each new connection.

use pivota_fakes::FakeAdyen;
use serde_json::json;

use super::{STRIPE_KEY, Setup, setup};
use crate::fixtures::{Backend, call, partition, psps, unreachable_base};

on_both_backends!(
    stripe_keys_are_checked_live_and_stored_only_as_secrets,
    adyen_merchant_accounts_are_checked,
    an_unreachable_psp_is_a_502_and_stores_nothing,
    a_psp_reconnected_after_a_disconnect_gets_a_secret_of_its_own,
);

async fn stripe_keys_are_checked_live_and_stored_only_as_secrets(backend: Backend) {
    let s = setup(backend, None).await;
    let (status, problem) = s.connect_psp(psps::stripe("sk_test_invalid000000000000")).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "api_key");
    assert!(problem["detail"].as_str().unwrap().contains("Invalid API Key"), "the PSP's reason: {problem}");
    assert!(!problem.to_string().contains("sk_test_invalid"), "the key is never echoed: {problem}");
    let (status, problem) = s.connect_psp(psps::stripe("pk_test_51Habcdefgh")).await;
    assert_eq!(status, 422);
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("secret key"));

    let (status, connected) = s.connect_psp(psps::stripe(STRIPE_KEY)).await;
    assert_eq!(status, 201, "{connected}");
    assert_eq!((connected["mode"].as_str(), connected["last4"].as_str()), (Some("test"), Some("wxyz")));
    let items = partition(&s.test.app, &format!("MERCHANT#{}", s.id)).await;
    assert!(!items.is_empty());
    for item in items {
        assert!(
            !serde_json::to_string(&item.attrs).unwrap().contains(STRIPE_KEY),
            "a key in a table item: {:?}",
            item.key
        );
    }
}

async fn adyen_merchant_accounts_are_checked(backend: Backend) {
    let s = setup(backend, None).await;
    let body = |key: &str, account: &str| json!({"psp": "adyen", "api_key": key, "merchant_account": account, "environment": "test"});
    let (status, problem) = s.connect_psp(body(FakeAdyen::API_KEY, "SomeoneElseECOM")).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "merchant_account");
    assert!(problem["detail"].as_str().unwrap().contains("invalid merchant account"));
    let (status, problem) = s.connect_psp(body("AQEwrong", FakeAdyen::MERCHANT_ACCOUNT)).await;
    assert_eq!(status, 400);
    assert_eq!(problem["errors"][0]["field"], "api_key");
    assert_eq!(s.connect_psp(body(FakeAdyen::API_KEY, FakeAdyen::MERCHANT_ACCOUNT)).await.0, 201);
}

async fn an_unreachable_psp_is_a_502_and_stores_nothing(backend: Backend) {
    let s = setup(backend, Some(unreachable_base())).await;
    let (status, problem) = s.connect_psp(psps::stripe(STRIPE_KEY)).await;
    assert_eq!(status, 502, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("retry"));
    let (_, list) = call(&s.test.app, "GET", &format!("/merchant/{}/psp", s.id)).bearer(&s.key).send().await;
    assert_eq!(list["items"], json!([]));
}

/// Secrets Manager keeps a deleted secret's name scheduled for deletion, so a reconnection right after a
/// disconnection must not write to that name: each new connection's secret has a name of its own (a
/// rotation adds a version to the same one), and the payment that follows is charged with the new key.
async fn a_psp_reconnected_after_a_disconnect_gets_a_secret_of_its_own(backend: Backend) {
    let s = setup(backend, None).await;
    let connect = || s.connect_psp(psps::stripe(STRIPE_KEY));
    let secret_ref = |item: &Option<pivota::ports::Item>| {
        item.as_ref().and_then(|item| item.attrs.get("secret_ref")?.as_str().map(str::to_owned))
    };
    let (status, first) = connect().await;
    assert_eq!(status, 201, "{first}");
    let original = secret_ref(&stored_connection(&s).await).expect("the item names its secret");
    let (status, _) = connect().await;
    assert_eq!(status, 200, "a rotation");
    assert_eq!(secret_ref(&stored_connection(&s).await), Some(original.clone()), "a rotation keeps the secret");
    let (status, _) =
        call(&s.test.app, "DELETE", &format!("/merchant/{}/psp/stripe", s.id)).bearer(&s.key).send().await;
    assert_eq!(status, 204);
    let (status, again) = connect().await;
    assert_eq!(status, 201, "{again}");
    let renewed = secret_ref(&stored_connection(&s).await).unwrap();
    assert_ne!(renewed, original, "a deleted secret's name is never written again");
    assert_eq!(s.pay("after-reconnect", "pm_card_visa").await.0, 200);
}

async fn stored_connection(s: &Setup) -> Option<pivota::ports::Item> {
    partition(&s.test.app, &format!("MERCHANT#{}", s.id)).await.into_iter().find(|item| item.key.sk.starts_with("PSP#"))
}
