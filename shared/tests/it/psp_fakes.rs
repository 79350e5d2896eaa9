//! Stripe and Adyen end to end through the HTTP API, against their local fakes (`pivota-fakes`), on both
//! backends: live key checks, routing fallback only when no money can have moved, and exactly one
//! charge across retries, timeouts and concurrent requests.

use std::ops::Deref;
use std::time::Duration;

use pivota::payments::connectors::ConnectorSettings;
use pivota::settings::Settings;
use pivota_fakes::{FakeAdyen, FakeFailure, FakeStripe};
use serde_json::{Value, json};

use crate::fixtures::{Backend, Merchant, app_on, call, connect_psp, partition, psps, unreachable_base};

const STRIPE_KEY: &str = "sk_test_51PivotaE2eKey000000wxyz";

on_both_backends!(
    stripe_keys_are_checked_live_and_stored_only_as_secrets,
    adyen_merchant_accounts_are_checked,
    an_unreachable_psp_is_a_502_and_stores_nothing,
    stripe_charges_and_declines_with_the_psps_codes,
    a_rate_limited_psp_falls_back_to_the_next_one,
    a_decline_or_a_5xx_never_falls_back_and_the_retry_charges_once,
    a_timeout_then_a_retry_charges_exactly_once,
    fifty_concurrent_requests_with_one_key_make_one_stripe_charge,
    a_test_key_cannot_touch_what_live_payments_depend_on,
    a_test_and_a_live_request_with_one_idempotency_key_are_two_payments,
    amounts_go_to_each_psp_in_its_own_minor_units,
    adyen_requests_keep_the_published_contract,
    stripe_requests_keep_the_published_contract,
    a_payment_that_needs_the_shopper_is_requires_action_with_the_next_step,
    a_payment_answers_within_its_budget_whatever_the_psp_does,
    a_psp_reconnected_after_a_disconnect_gets_a_secret_of_its_own,
);

const STRIPE_LIVE_KEY: &str = "sk_live_51PivotaLiveKey00000live";

/// An approved merchant (through `Deref`) on an app whose Stripe and Adyen are the fakes; no PSP connected.
struct Setup {
    merchant: Merchant,
    stripe: FakeStripe,
    adyen: FakeAdyen,
}

async fn setup(backend: Backend, stripe_base: Option<String>) -> Setup {
    setup_with(backend, stripe_base, Duration::from_millis(700), Duration::from_secs(25)).await
}

async fn setup_with(
    backend: Backend,
    stripe_base: Option<String>,
    request_timeout: Duration,
    payment_budget: Duration,
) -> Setup {
    let (stripe, adyen) = (FakeStripe::start().await, FakeAdyen::start().await);
    let settings = Settings {
        connectors: ConnectorSettings {
            stripe_api_base: stripe_base.unwrap_or_else(|| stripe.uri()),
            adyen_checkout_base: Some(adyen.uri()),
            request_timeout,
            connect_timeout: Duration::from_millis(500),
            payment_budget,
        },
        ..Settings::default()
    };
    let merchant = Merchant::approved(app_on(backend, settings).await).await;
    Setup { merchant, stripe, adyen }
}

impl Deref for Setup {
    type Target = Merchant;

    fn deref(&self) -> &Merchant {
        &self.merchant
    }
}

impl Setup {
    /// Stripe and Adyen connected, Stripe first in the routing.
    async fn connect_both(&self) {
        self.connected_psp(psps::stripe(STRIPE_KEY)).await;
        self.connected_psp(psps::adyen()).await;
        let (status, body) = self.send("PUT", "/routing", Some(json!({"priority": ["stripe", "adyen"]}))).await;
        assert_eq!(status, 200, "{body}");
    }

    /// `POST /payment/execute` of 25.00 EUR for order `key`, with `fields` added to the body.
    fn execute(&self, key: &str, fields: Value) -> crate::fixtures::Call<'_> {
        let mut request = json!({"order_id": key, "amount": 2500, "currency": "EUR"});
        request.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
        call(&self.test.app, "POST", "/payment/execute").bearer(&self.key).header("idempotency-key", key).json(request)
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

/// Runs `infra/contract/vendor_requests.py` (the vendors' own definitions: the `stripe` package's
/// parameters, Adyen's OpenAPI) on `requests`; its findings, one per line, or `Ok` when they conform.
fn vendor_check(vendor: &str, requests: &Value) -> Result<(), String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec(requests).unwrap()).unwrap();
    // The test command's virtualenv holds the pinned `stripe` and `openapi-schema-validator`.
    let venv_python = format!("{root}/.venv/bin/python");
    let python = if std::path::Path::new(&venv_python).exists() { venv_python } else { "python3".to_owned() };
    let mut command = std::process::Command::new(python);
    command.arg(format!("{root}/infra/contract/vendor_requests.py")).arg(vendor).arg(file.path());
    if vendor == "adyen" {
        command.arg(format!("{root}/../shared/vendor-specs/adyen-checkout-v71.json"));
    }
    let output = command.output().expect("python runs (infra/scripts/test.sh sets up .venv)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("Traceback"), "the checker failed to run (is .venv set up?): {stderr}");
    if output.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&output.stdout).into_owned()) }
}

/// The checkers can fail: requests that break each vendor's definitions are refused, naming the field.
#[test]
fn the_vendor_checks_refuse_what_the_vendors_would() {
    let stripe = json!([{"endpoint": "POST /v1/payment_intents", "stripe_version": pivota::payments::connectors::stripe::API_VERSION, "form": [
        ["amount", "19.99"], ["payment_method", "pm_card_visa"], ["confirm", "yes"], ["customer_id", "cus_1"],
        ["automatic_payment_methods[allow_redirects]", "never"]]}]);
    let findings = vendor_check("stripe", &stripe).unwrap_err();
    for expected in [
        "currency: required",
        "amount: '19.99' is not an integer",
        "confirm: 'yes'",
        "customer_id: not a parameter",
        "automatic_payment_methods[enabled]: required",
    ] {
        assert!(findings.contains(expected), "{expected} missing from:\n{findings}");
    }
    let adyen = json!([{"endpoint": "payments", "body": {"amount": {"value": "1000", "currency": "EUR"}, "reference": "pay_1",
        "paymentMethod": {"type": "scheme", "storedPaymentMethodId": "8415718415172204"}, "shopperReference": "ab", "shopperInteraction": "Sometimes"}}]);
    let findings = vendor_check("adyen", &adyen).unwrap_err();
    for expected in [
        "amount/value",
        "'merchantAccount' is a required property",
        "'returnUrl' is a required property",
        "shopperReference: 'ab' is too short",
        "shopperInteraction",
    ] {
        assert!(findings.contains(expected), "{expected} missing from:\n{findings}");
    }
}

/// Every body Pivota sent to Adyen (`/paymentMethods` on connect, `/payments` on charges, on- and
/// off-session) is valid against its schema in Adyen's own Checkout v71 OpenAPI (`shared/vendor-specs/`),
/// required fields included. The shopper reference is the payment's `customer` (a token pays only under the
/// one it was stored with); without one Adyen is not asked. Oversized metadata is refused before Adyen is
/// called.
async fn adyen_requests_keep_the_published_contract(backend: Backend) {
    let s = setup(backend, None).await;
    s.connected_psp(psps::adyen()).await;
    s.adyen.store_token("shopper-9", "8415995487234100");
    let pay = |key: &'static str, customer: Option<&str>, metadata: Value| {
        let mut body = json!({"order_id": "o-".repeat(60), "amount": 1200, "currency": "EUR", "payment_method": "8415995487234100", "metadata": metadata});
        if let Some(customer) = customer {
            body["customer"] = json!(customer);
        }
        call(&s.test.app, "POST", "/payment/execute").bearer(&s.key).header("idempotency-key", key).json(body)
    };
    let (status, paid) = pay("a-1", Some("shopper-9"), json!({"channel": "web"})).send().await;
    assert_eq!(status, 200, "{paid}");
    let sent = s.adyen.payment_requests().pop().unwrap();
    assert_eq!(sent["returnUrl"], format!("{}/console", s.test.app.settings.public_base_url));
    assert_eq!(sent["shopperReference"], "shopper-9");
    assert_eq!(sent["shopperInteraction"], "Ecommerce", "the shopper is present unless off_session");
    assert!(sent["metadata"].as_object().unwrap().values().all(|v| v.as_str().unwrap().chars().count() <= 80));
    let body = json!({"order_id": "o-2", "amount": 1200, "currency": "EUR", "payment_method": "8415995487234100", "customer": "shopper-9", "off_session": true});
    let (status, paid) = call(&s.test.app, "POST", "/payment/execute")
        .bearer(&s.key)
        .header("idempotency-key", "a-off")
        .json(body)
        .send()
        .await;
    assert_eq!(status, 200, "{paid}");
    let sent = s.adyen.payment_requests().pop().unwrap();
    assert_eq!(
        (sent["shopperInteraction"].as_str(), sent["recurringProcessingModel"].as_str()),
        (Some("ContAuth"), Some("UnscheduledCardOnFile"))
    );

    // Under another shopper the token is not found (Adyen 800): refused, nothing charged.
    let (status, refused) = pay("a-other", Some("shopper-1"), json!({})).send().await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused["detail"].as_str().unwrap().contains("Contract not found"), "{refused}");
    let bodies: Vec<Value> =
        s.adyen.bodies().into_iter().map(|(endpoint, body)| json!({"endpoint": endpoint, "body": body})).collect();
    assert!(
        bodies.iter().any(|b| b["endpoint"] == "paymentMethods") && bodies.iter().any(|b| b["endpoint"] == "payments")
    );
    vendor_check("adyen", &Value::Array(bodies)).unwrap();

    // Without a customer, no routed PSP can take the stored method: 422 naming `customer`, Adyen not asked.
    let requests = s.adyen.requests();
    let (status, problem) = pay("a-none", None, json!({})).send().await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "customer", "{problem}");
    // 19 pairs of the merchant's + Pivota's 2 > Adyen's 20; a 21-character key; an 81-character value.
    let nineteen: serde_json::Map<String, Value> = (0..19).map(|i| (format!("k{i}"), json!("v"))).collect();
    for (key, metadata, field) in [
        ("a-2", Value::Object(nineteen), "metadata".to_owned()),
        ("a-3", json!({"k".repeat(21): "v"}), format!("metadata.{}", "k".repeat(21))),
        ("a-4", json!({"note": "v".repeat(81)}), "metadata.note".to_owned()),
    ] {
        let (status, problem) = pay(key, Some("shopper-9"), metadata).send().await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["errors"][0]["field"], field.as_str(), "{problem}");
    }
    assert_eq!(s.adyen.requests(), requests, "refused before Adyen is called");
}

/// Every PaymentIntent form Pivota sent is valid against the parameter definitions in Stripe's own
/// `stripe` package (generated from Stripe's OpenAPI spec): on- and off-session, with a Customer's
/// PaymentMethod and its `customer`, with metadata. A Customer's PaymentMethod without `customer` is what
/// Stripe refuses; with it, it pays.
async fn stripe_requests_keep_the_published_contract(backend: Backend) {
    let s = setup(backend, None).await;
    s.connected_psp(psps::stripe(STRIPE_KEY)).await;
    let saved = s.stripe.attach_payment_method("pm_card_visa", "cus_ada");
    let pay = |key: &'static str, body: Value| s.execute(key, body);
    let (status, paid) =
        pay("st-1", json!({"payment_method": "pm_card_visa", "metadata": {"channel": "web"}})).send().await;
    assert_eq!(status, 200, "{paid}");
    let (status, paid) =
        pay("st-2", json!({"payment_method": saved, "customer": "cus_ada", "off_session": true})).send().await;
    assert_eq!(status, 200, "{paid}");
    let sent = s.stripe.payment_intent_requests().pop().unwrap();
    let param = |name: &str| sent.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    assert_eq!((param("customer").as_deref(), param("off_session").as_deref()), (Some("cus_ada"), Some("true")));
    let (status, refused) = pay("st-3", json!({"payment_method": saved})).send().await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused["detail"].as_str().unwrap().contains("customer"), "{refused}");

    let forms: Vec<Value> = s
        .stripe
        .payment_intent_requests()
        .into_iter()
        .map(|sent| json!({"endpoint": "POST /v1/payment_intents", "stripe_version": sent.headers["stripe-version"], "form": sent.params}))
        .collect();
    assert_eq!(forms.len(), 3);
    vendor_check("stripe", &Value::Array(forms)).unwrap();
    assert_eq!(s.stripe.charges(), 2);
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

/// `/payment/execute` answers within its budget (25 s on AWS, inside API Gateway's 30 s; 4 s here) even when
/// the PSP takes longer than a PSP call may: the payment is `unknown` (the PSP may have charged), its key
/// is released at once, and the retry asks the same PSP again, which replays its charge.
async fn a_payment_answers_within_its_budget_whatever_the_psp_does(backend: Backend) {
    let s = setup_with(backend, None, Duration::from_secs(20), Duration::from_secs(4)).await;
    s.connected_psp(psps::stripe(STRIPE_KEY)).await;
    s.stripe.fail_next(1, FakeFailure::Delay(Duration::from_secs(6)));
    let started = std::time::Instant::now();
    let (status, cut) = s.pay("budget-1", "pm_card_visa").await;
    let waited = started.elapsed();
    assert_eq!((status, cut["payment_status"].as_str()), (502, Some("unknown")), "{cut}");
    assert!(waited < Duration::from_secs(6), "answered only after the PSP did ({waited:?})");
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
