//! The Stripe and Adyen connectors against the local fakes of both PSPs (`pivota-fakes`): what each answer
//! means for money, and that a retry after an ambiguous failure never charges twice.
//!
//! Here the shared setup (settings, credentials, requests); [`stripe`] and [`adyen`] hold each PSP's cases.

mod adyen;
mod stripe;

use std::collections::BTreeMap;
use std::time::Duration;

use pivota::kernel::money::{Currency, Money};
use pivota::payments::connectors::{
    ChargeOutcome, ChargeRequest, ConnectorError, PspCredentials, PspMode, VerifiedAccount,
};
use pivota::payments::psp::{ConnectorSettings, Connectors, PspKind};
use pivota_fakes::{FakeAdyen, FakeFailure, FakeStripe};

use crate::fixtures::unreachable_base;

const STRIPE_KEY: &str = "sk_test_51PivotaFakeKey0000abcd";

fn settings(stripe: &str, adyen: &str) -> ConnectorSettings {
    ConnectorSettings {
        request_timeout: Duration::from_millis(700),
        connect_timeout: Duration::from_millis(500),
        payment_budget: Duration::from_secs(25),
        ..ConnectorSettings::default()
    }
    .with_api_base(PspKind::Stripe, stripe)
    .with_api_base(PspKind::Adyen, adyen)
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
