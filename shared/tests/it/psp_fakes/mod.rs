//! Stripe and Adyen end to end through the HTTP API, against their local fakes (`pivota-fakes`), on both
//! backends: connections with live key checks (`connections`); charges, with routing fallback only when no
//! money can have moved, and exactly one charge across retries, timeouts and concurrent requests
//! (`charges`); test and live mode kept apart (`modes`); and every request keeping to the vendor's published
//! definitions (`vendor_contract`).

mod charges;
mod connections;
mod modes;
mod vendor_contract;

use std::ops::Deref;
use std::time::Duration;

use pivota::payments::psp::{ConnectorSettings, PspKind};
use pivota::settings::Settings;
use pivota_fakes::{FakeAdyen, FakeStripe};
use serde_json::{Value, json};

use crate::fixtures::{Backend, Merchant, app_on, call, psps};

const STRIPE_KEY: &str = "sk_test_51PivotaE2eKey000000wxyz";
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
            request_timeout,
            connect_timeout: Duration::from_millis(500),
            payment_budget,
            ..ConnectorSettings::default()
        }
        .with_api_base(PspKind::Stripe, stripe_base.unwrap_or_else(|| stripe.uri()))
        .with_api_base(PspKind::Adyen, adyen.uri()),
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
