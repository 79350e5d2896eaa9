//! What Pivota knows about Stripe outside its wire format.
//!
//! - Credentials: a secret key (`sk_test_…`, `sk_live_…`) or a restricted key (`rk_…`); the mode is the
//!   key's ("API keys", https://docs.stripe.com/keys). A publishable key (`pk_…`) cannot charge.
//! - Metadata ("Metadata", API reference, https://docs.stripe.com/api/metadata): at most 50 keys, keys of at
//!   most 40 characters that contain no square brackets, values of at most 500 characters.
//! - Currencies: `currencies.rs`.

use super::{StripeConnector, currencies};
use crate::kernel::connect_form::{ConnectForm, FormField};
use crate::kernel::money::Currency;
use crate::kernel::validation::FieldErrors;
use crate::payments::connectors::{
    CredentialFields, MetadataLimits, PspConnector, PspCredentials, PspCurrency, PspMode, PspProfile,
};

/// Stripe, as registered in `payments/psp.rs`.
pub struct Stripe;

/// Stripe's own API base, unless `PIVOTA_STRIPE_API_BASE` says otherwise.
pub const API_BASE: &str = "https://api.stripe.com";

impl PspProfile for Stripe {
    fn display_name(&self) -> &'static str {
        "Stripe"
    }

    fn api_base_setting(&self) -> Option<&'static str> {
        Some("PIVOTA_STRIPE_API_BASE")
    }

    fn connector(&self, http: reqwest::Client, api_base: Option<&str>) -> Box<dyn PspConnector> {
        Box::new(StripeConnector::new(http, api_base.unwrap_or(API_BASE)))
    }

    fn currency(&self, currency: Currency) -> Option<PspCurrency> {
        currencies::currency(currency)
    }

    fn metadata_limits(&self) -> Option<MetadataLimits> {
        Some(MetadataLimits { pairs: 50, key_chars: 40, value_chars: 500, brackets_allowed: false })
    }

    fn connect_form(&self) -> ConnectForm {
        const FORM: ConnectForm = ConnectForm {
            title: "Stripe",
            intro: None,
            fields: &[
                FormField::secret("api_key", "Secret key").hint("sk_test_… or sk_live_…, or a restricted key rk_…")
            ],
            submit: "Connect Stripe",
        };
        FORM
    }

    fn credentials(&self, fields: CredentialFields, errors: &mut FieldErrors) -> Option<PspCredentials> {
        let (key, mode) = errors.field("api_key", fields.api_key, secret_key)?;
        Some(PspCredentials { api_key: key.into(), merchant_account: None, mode, live_url_prefix: None })
    }
}

/// A secret or restricted key, and the mode it names.
fn secret_key(raw: &str) -> Result<(String, PspMode), String> {
    let key = raw.trim();
    if key.starts_with("pk_") {
        return Err(
            "is a publishable key (pk_…); connecting needs a secret key (sk_…) or a restricted key (rk_…)".into()
        );
    }
    let mode = match key.get(..8) {
        Some("sk_test_" | "rk_test_") => PspMode::Test,
        Some("sk_live_" | "rk_live_") => PspMode::Live,
        _ => {
            return Err(
                "must be a Stripe secret key (sk_test_…, sk_live_…) or restricted key (rk_test_…, rk_live_…)".into()
            );
        }
    };
    // Stripe does not promise a key length; only refuse what cannot be a key.
    if key.len() < 12 || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err("is not a well-formed Stripe key".into());
    }
    Ok((key.to_owned(), mode))
}
