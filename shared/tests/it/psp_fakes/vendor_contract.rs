//! Every request Pivota sent to Stripe and Adyen checked against the vendors' own definitions (the `stripe`
//! package's parameters, Adyen's Checkout OpenAPI), by `infra/contract/vendor_requests.py`.

use serde_json::{Value, json};

use super::{STRIPE_KEY, setup};
use crate::fixtures::{Backend, call, psps};

on_both_backends!(adyen_requests_keep_the_published_contract, stripe_requests_keep_the_published_contract,);

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
