//! Stripe and Adyen end to end through the HTTP API, against their local fakes (`pivota-fakes`), on both
//! backends: live key checks, routing fallback only when no money can have moved, and exactly one
//! charge across retries, timeouts and concurrent requests.

mod support;

use std::time::Duration;

use pivota::connectors::ConnectorSettings;
use pivota::settings::Settings;
use pivota_fakes::{FakeAdyen, FakeFailure, FakeStripe};
use serde_json::{Value, json};
use support::{Backend, TestApp, app_on, approved_merchant, call, partition};

const STRIPE_KEY: &str = "sk_test_51PivotaE2eKey000000wxyz";

macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod embedded { $(#[tokio::test(flavor = "multi_thread")] async fn $case() { super::$case(super::Backend::Embedded).await })* }
        mod moto { $(#[tokio::test(flavor = "multi_thread")] async fn $case() { super::$case(super::Backend::Moto).await })* }
    };
}

on_both_backends!(
    stripe_keys_are_checked_live_and_stored_only_as_secrets,
    adyen_merchant_accounts_are_checked,
    an_unreachable_psp_is_a_502_and_stores_nothing,
    stripe_charges_and_declines_with_the_psps_codes,
    a_rate_limited_psp_falls_back_to_the_next_one,
    a_decline_or_a_5xx_never_falls_back_and_the_retry_charges_once,
    a_timeout_then_a_retry_charges_exactly_once,
    fifty_concurrent_requests_with_one_key_make_one_stripe_charge,
);

struct Setup {
    test: TestApp,
    stripe: FakeStripe,
    adyen: FakeAdyen,
    id: String,
    key: String,
}

async fn setup(backend: Backend, stripe_base: Option<String>) -> Setup {
    let (stripe, adyen) = (FakeStripe::start().await, FakeAdyen::start().await);
    let settings = Settings {
        connectors: ConnectorSettings {
            stripe_api_base: stripe_base.unwrap_or_else(|| stripe.uri()),
            adyen_checkout_base: Some(adyen.uri()),
            adyen_management_base: None,
            request_timeout: Duration::from_millis(700),
            connect_timeout: Duration::from_millis(500),
        },
        ..Settings::default()
    };
    let test = app_on(backend, settings).await;
    let (id, key) =
        approved_merchant(&test.app, &format!("{}@acme.example", ulid::Ulid::new().to_string().to_lowercase())).await;
    Setup { test, stripe, adyen, id, key }
}

impl Setup {
    async fn connect(&self, body: Value) -> (u16, Value) {
        call(&self.test.app, "POST", &format!("/merchant/{}/psp/connect", self.id))
            .bearer(&self.key)
            .json(body)
            .send()
            .await
    }

    async fn connect_both(&self) {
        assert_eq!(self.connect(json!({"psp": "stripe", "api_key": STRIPE_KEY})).await.0, 201);
        let adyen = json!({"psp": "adyen", "api_key": FakeAdyen::API_KEY, "merchant_account": FakeAdyen::MERCHANT_ACCOUNT, "environment": "test"});
        assert_eq!(self.connect(adyen).await.0, 201);
        let (status, body) = call(&self.test.app, "PUT", &format!("/merchant/{}/routing", self.id))
            .bearer(&self.key)
            .json(json!({"priority": ["stripe", "adyen"]}))
            .send()
            .await;
        assert_eq!(status, 200, "{body}");
    }

    async fn pay(&self, idempotency_key: &str, method: &str) -> (u16, Value) {
        call(&self.test.app, "POST", "/payment/execute")
            .bearer(&self.key)
            .header("idempotency-key", idempotency_key)
            .json(json!({"order_id": "order-77", "amount": 4999, "currency": "EUR", "payment_method": method}))
            .send()
            .await
    }
}

async fn stripe_keys_are_checked_live_and_stored_only_as_secrets(backend: Backend) {
    let s = setup(backend, None).await;
    let (status, problem) = s.connect(json!({"psp": "stripe", "api_key": "sk_test_invalid000000000000"})).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "api_key");
    assert!(problem["detail"].as_str().unwrap().contains("Invalid API Key"), "the PSP's reason: {problem}");
    assert!(!problem.to_string().contains("sk_test_invalid"), "the key is never echoed: {problem}");
    let (status, problem) = s.connect(json!({"psp": "stripe", "api_key": "pk_test_51Habcdefgh"})).await;
    assert_eq!(status, 422);
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("secret key"));

    let (status, connected) = s.connect(json!({"psp": "stripe", "api_key": STRIPE_KEY})).await;
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
    let (status, problem) = s.connect(body(FakeAdyen::API_KEY, "SomeoneElseECOM")).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "merchant_account");
    assert!(problem["detail"].as_str().unwrap().contains("invalid merchant account"));
    let (status, problem) = s.connect(body("AQEwrong", FakeAdyen::MERCHANT_ACCOUNT)).await;
    assert_eq!(status, 400);
    assert_eq!(problem["errors"][0]["field"], "api_key");
    assert_eq!(s.connect(body(FakeAdyen::API_KEY, FakeAdyen::MERCHANT_ACCOUNT)).await.0, 201);
}

async fn an_unreachable_psp_is_a_502_and_stores_nothing(backend: Backend) {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port())
    };
    let s = setup(backend, Some(closed)).await;
    let (status, problem) = s.connect(json!({"psp": "stripe", "api_key": STRIPE_KEY})).await;
    assert_eq!(status, 502, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("retry"));
    let (_, list) = call(&s.test.app, "GET", &format!("/merchant/{}/psp", s.id)).bearer(&s.key).send().await;
    assert_eq!(list["items"], json!([]));
}

async fn stripe_charges_and_declines_with_the_psps_codes(backend: Backend) {
    let s = setup(backend, None).await;
    assert_eq!(s.connect(json!({"psp": "stripe", "api_key": STRIPE_KEY})).await.0, 201);
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
    let (status, paid) = s.pay("f-1", "pm_card_visa").await;
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
    assert_eq!(s.connect(json!({"psp": "stripe", "api_key": STRIPE_KEY})).await.0, 201);
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
    assert_eq!(s.connect(json!({"psp": "stripe", "api_key": STRIPE_KEY})).await.0, 201);
    let calls = (0..50).map(|_| {
        let s = s.clone();
        tokio::spawn(async move { s.pay("one-key", "pm_card_visa").await })
    });
    let statuses: Vec<u16> = futures::future::join_all(calls).await.into_iter().map(|r| r.unwrap().0).collect();
    assert!(statuses.iter().all(|s| *s == 200 || *s == 409), "{statuses:?}");
    assert_eq!(s.stripe.charges(), 1, "{statuses:?}");
    assert_eq!(s.stripe.payment_intent_requests().len(), 1, "only one request ever reached Stripe");
}
