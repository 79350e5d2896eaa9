//! The PSPs Pivota can charge through, and where each is reached.
//!
//! Adding a PSP is one module in `connectors/` (its [`PspProfile`] and [`PspConnector`]) plus one line in
//! the `registry!` below; everything else (the `psp` field's values, routing, eligibility, the
//! connectors, their base-URL settings) follows from the registration.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::kernel::registry::registry;
use crate::payments::connectors::{self, PspConnector, PspProfile};

// Adding a PSP is its module in `connectors/` plus one line here.
registry! {
    /// A PSP Pivota can charge through.
    pub enum PspKind: dyn PspProfile {
        Stripe = "stripe" => connectors::stripe::Stripe,
        Adyen = "adyen" => connectors::adyen::Adyen,
        /// Built in and deterministic, for demonstrations and tests without PSP accounts.
        Sandbox = "sandbox" => connectors::sandbox::Sandbox,
    }
    // Every process reads the settings; only the functions that charge or verify link the connectors.
    static fn api_base_setting -> Option<&'static str>;
}

/// Where each PSP is reached. Every base URL is configurable so tests can point at local fakes.
#[derive(Clone, Debug)]
pub struct ConnectorSettings {
    /// API bases overriding a PSP's own, by the setting its profile names
    /// ([`PspProfile::api_base_setting`]): `PIVOTA_STRIPE_API_BASE` (default `https://api.stripe.com`),
    /// `PIVOTA_ADYEN_CHECKOUT_BASE` (default: derived from the connection's environment,
    /// `https://checkout-test.adyen.com` or `https://{prefix}-checkout-live.adyenpayments.com/checkout`).
    pub api_bases: BTreeMap<String, String>,
    /// Total time one PSP call may take before it counts as ambiguous.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// How long `/payment/execute` may take in all, whatever the PSPs do: 25 s, inside API Gateway's 30 s.
    pub payment_budget: Duration,
}

impl ConnectorSettings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let settings = PspKind::ALL.into_iter().filter_map(PspKind::api_base_setting);
        Self {
            api_bases: settings.filter_map(|name| Some((name.to_owned(), lookup(name)?))).collect(),
            request_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(3),
            payment_budget: Duration::from_secs(25),
        }
    }

    /// These settings with `psp`'s API base set to `base` (a test's fake).
    pub fn with_api_base(mut self, psp: PspKind, base: impl Into<String>) -> Self {
        let setting = psp.api_base_setting().expect("the PSP has an API base setting");
        self.api_bases.insert(setting.to_owned(), base.into());
        self
    }
}

impl Default for ConnectorSettings {
    fn default() -> Self {
        Self::from_lookup(|_| None)
    }
}

/// Every connector, built once per process (they share one HTTP client and its connection pool).
pub struct Connectors {
    /// In [`PspKind::ALL`]'s order.
    by_psp: Vec<Box<dyn PspConnector>>,
}

impl Connectors {
    pub fn new(settings: &ConnectorSettings) -> Self {
        let http = crate::kernel::http_client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .user_agent(concat!("pivota/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client's TLS backend initialises");
        let by_psp = PspKind::ALL.map(|psp| {
            let profile = psp.profile();
            let api_base = profile.api_base_setting().and_then(|setting| settings.api_bases.get(setting));
            profile.connector(http.clone(), api_base.map(String::as_str))
        });
        Self { by_psp: by_psp.into() }
    }

    pub fn get(&self, psp: PspKind) -> &dyn PspConnector {
        self.by_psp[psp as usize].as_ref()
    }
}

/// The PSP connectors (one HTTP connection pool for all) and how long a charge may take.
pub trait HasConnectors {
    fn connectors(&self) -> &Connectors;
    /// A charge's time budget: past it, a charge is left for the worker's retry or a replay.
    fn payment_budget(&self) -> Duration;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_psp_parses_from_its_name_and_serialises_to_it() {
        for psp in PspKind::ALL {
            assert_eq!(PspKind::parse(psp.as_str()), Some(psp));
            assert_eq!(serde_json::to_value(psp).unwrap(), psp.as_str());
        }
        assert_eq!(PspKind::names(), "stripe, adyen, sandbox");
        assert_eq!(PspKind::parse("paypal"), None);
    }

    /// A PSP's connect form asks for exactly what its credentials need: an empty request is refused on each
    /// required field of the form and on nothing else.
    #[test]
    fn each_psps_form_asks_for_what_its_credentials_need() {
        for psp in PspKind::ALL {
            let profile = psp.profile();
            let mut errors = crate::kernel::validation::FieldErrors::default();
            let credentials = profile.credentials(Default::default(), &mut errors);
            let refused: Vec<String> = errors.iter().map(|e| e.field.clone()).collect();
            let required: Vec<&str> =
                profile.connect_form().fields.iter().filter(|f| !f.optional).map(|f| f.name).collect();
            assert_eq!(refused, required, "{psp}");
            assert_eq!(credentials.is_some(), required.is_empty(), "{psp}");
            assert!(!profile.display_name().is_empty() && !profile.connect_form().title.is_empty(), "{psp}");
        }
    }

    #[test]
    fn api_base_settings_are_read_by_the_names_the_profiles_give() {
        let settings = ConnectorSettings::from_lookup(|name| Some(format!("http://127.0.0.1:1/{name}")));
        assert_eq!(
            settings.api_bases.keys().map(String::as_str).collect::<Vec<_>>(),
            ["PIVOTA_ADYEN_CHECKOUT_BASE", "PIVOTA_STRIPE_API_BASE"]
        );
        // The registry's static call answers what each profile says.
        for psp in PspKind::ALL {
            assert_eq!(psp.api_base_setting(), psp.profile().api_base_setting(), "{psp}");
        }
    }
}
