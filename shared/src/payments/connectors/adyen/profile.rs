//! What Pivota knows about Adyen outside its wire format.
//!
//! - Credentials: an API key, the merchant account it charges, the environment (`test` or `live`), and for
//!   live the prefix of the merchant's live endpoints ("Live endpoints",
//!   https://docs.adyen.com/development-resources/live-endpoints).
//! - Metadata (Checkout API v71 `PaymentRequest.metadata`): at most 20 pairs, keys of at most 20 characters,
//!   values of at most 80 characters; beyond that the payment fails with error 177 "Metadata size exceeds
//!   limit". (Pivota shortens its own `order_id` value to 80 characters there.)
//! - A stored payment method is found by (`shopperReference`, `storedPaymentMethodId`) ("Tokenization",
//!   https://docs.adyen.com/online-payments/tokenization): without the reference Adyen cannot charge it.
//! - Currencies: `currencies.rs`.

use super::{AdyenConnector, currencies, is_host_label};
use crate::kernel::connect_form::{ConnectForm, FormField};
use crate::kernel::money::Currency;
use crate::kernel::validation::FieldErrors;
use crate::payments::connectors::{
    CredentialFields, MetadataLimits, PspConnector, PspCredentials, PspCurrency, PspMode, PspProfile,
};

/// Adyen, as registered in `payments/psp.rs`.
pub struct Adyen;

impl PspProfile for Adyen {
    fn display_name(&self) -> &'static str {
        "Adyen"
    }

    fn api_base_setting(&self) -> Option<&'static str> {
        Some("PIVOTA_ADYEN_CHECKOUT_BASE")
    }

    fn connector(&self, http: reqwest::Client, api_base: Option<&str>) -> Box<dyn PspConnector> {
        Box::new(AdyenConnector::new(http, api_base))
    }

    fn currency(&self, currency: Currency) -> Option<PspCurrency> {
        currencies::currency(currency)
    }

    fn metadata_limits(&self) -> Option<MetadataLimits> {
        Some(MetadataLimits { pairs: 20, key_chars: 20, value_chars: 80, brackets_allowed: true })
    }

    fn connect_form(&self) -> ConnectForm {
        const FORM: ConnectForm = ConnectForm {
            title: "Adyen",
            intro: None,
            fields: &[
                FormField::secret("api_key", "API key"),
                FormField::text("merchant_account", "Merchant account"),
                FormField::choice("environment", "Environment", &[("test", "Test"), ("live", "Live")]),
                FormField::text("live_url_prefix", "Live URL prefix")
                    .optional()
                    .hint("Live only: the prefix from your Customer Area."),
            ],
            submit: "Connect Adyen",
        };
        FORM
    }

    fn credentials(&self, fields: CredentialFields, errors: &mut FieldErrors) -> Option<PspCredentials> {
        let api_key = errors.field("api_key", fields.api_key, bounded_token(1024));
        let merchant_account = errors.field("merchant_account", fields.merchant_account, bounded_token(255));
        let mode = errors.field("environment", fields.environment, |raw| match raw.trim() {
            "test" => Ok(PspMode::Test),
            "live" => Ok(PspMode::Live),
            _ => Err("must be test or live"),
        });
        let live_url_prefix = match mode {
            Some(PspMode::Live) => errors.field("live_url_prefix", fields.live_url_prefix, |raw| {
                let prefix = raw.trim();
                if prefix.len() <= 128 && is_host_label(prefix) {
                    Ok(prefix.to_owned())
                } else {
                    Err("must be the letters, digits and hyphens of your live prefix")
                }
            }),
            _ => None,
        };
        Some(PspCredentials {
            api_key: api_key?.into(),
            merchant_account: Some(merchant_account?),
            mode: mode?,
            live_url_prefix,
        })
    }

    fn customer_required(&self) -> Option<&'static str> {
        Some("the shopperReference the payment method was stored under")
    }
}

fn bounded_token(max: usize) -> impl Fn(&str) -> Result<String, String> {
    move |raw: &str| {
        let value = raw.trim();
        if value.is_empty() || value.len() > max || !value.bytes().all(|b| b.is_ascii_graphic()) {
            Err(format!("must be 1 to {max} printable characters without spaces"))
        } else {
            Ok(value.to_owned())
        }
    }
}
