//! Configuration read from the environment. The same names apply on Lambda and in the local runner.

use crate::onboarding::kyc::{DEFAULT_RESTRICTED_COUNTRIES, KycRules};
use crate::payments::psp::ConnectorSettings;
use crate::ports::QueueRef;
use crate::stores::url_safety::StoreUrlPolicy;

/// Default Secrets Manager ids of the platform's own secrets.
pub const DEFAULT_ADMIN_TOKEN_SECRET_ID: &str = "pivota/admin-token";
pub const DEFAULT_API_KEY_PEPPER_SECRET_ID: &str = "pivota/api-key-pepper";

#[derive(Clone, Debug)]
pub struct Settings {
    /// `PIVOTA_KYC_WAIT_SECONDS` (default 5): how long KYC waits before the automatic checks.
    pub kyc_wait_seconds: u64,
    /// `PIVOTA_KYC_RESTRICTED_COUNTRIES`, `PIVOTA_KYC_BLOCKED_EMAIL_DOMAINS`.
    pub kyc_rules: KycRules,
    /// `PIVOTA_ADMIN_TOKEN_SECRET_ID`: the secret holding the admin bearer token.
    pub admin_token_secret_id: String,
    /// `PIVOTA_API_KEY_PEPPER_SECRET_ID`: the secret holding the HMAC key that API keys are hashed under.
    pub api_key_pepper_secret_id: String,
    /// `PIVOTA_SYNC_QUEUE_URL`: the catalog sync jobs' queue (its URL on AWS; locally the embedded queue
    /// `pivota-sync`).
    pub sync_queue: QueueRef,
    /// `PIVOTA_PAYMENT_QUEUE_URL`: store orders waiting to be paid (locally the embedded queue
    /// `pivota-payments`).
    pub payment_queue: QueueRef,
    /// `PIVOTA_INDEX_QUEUE_URL`: product changes for the search index, an SQS FIFO queue with the merchant
    /// as message group (locally the embedded queue `pivota-index.fifo`).
    pub index_queue: QueueRef,
    /// `PIVOTA_PUBLIC_BASE_URL`: where stores reach Pivota's webhooks (default `http://127.0.0.1:3000`).
    pub public_base_url: String,
    /// `PIVOTA_ALLOW_INSECURE_STORE_URLS=1` lifts the store URL safety rules (local testing only).
    pub store_urls: StoreUrlPolicy,
    /// `PIVOTA_SECRET_NAMESPACE` (default `pivota`): the first segment of the names of per-merchant secrets
    /// (`<namespace>/merchants/<id>/…`), so several stacks can share an account. The SAM template sets the
    /// stack name.
    pub secret_namespace: String,
    /// `PIVOTA_STRIPE_API_BASE`, `PIVOTA_ADYEN_CHECKOUT_BASE`.
    pub connectors: ConnectorSettings,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct SettingsError(pub String);

impl Settings {
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let connectors = ConnectorSettings::from_lookup(&lookup);
        let kyc_wait_seconds = match lookup("PIVOTA_KYC_WAIT_SECONDS") {
            None => 5,
            Some(raw) => raw.trim().parse::<u64>().ok().filter(|s| *s <= 86_400).ok_or_else(|| {
                SettingsError(format!("PIVOTA_KYC_WAIT_SECONDS must be 0..=86400 seconds, got {raw:?}"))
            })?,
        };
        let restricted =
            lookup("PIVOTA_KYC_RESTRICTED_COUNTRIES").unwrap_or_else(|| DEFAULT_RESTRICTED_COUNTRIES.to_owned());
        let blocked = lookup("PIVOTA_KYC_BLOCKED_EMAIL_DOMAINS").unwrap_or_default();
        let kyc_rules = KycRules::parse(&restricted, &blocked).map_err(|e| SettingsError(e.to_string()))?;
        Ok(Self {
            kyc_wait_seconds,
            kyc_rules,
            admin_token_secret_id: lookup("PIVOTA_ADMIN_TOKEN_SECRET_ID")
                .unwrap_or_else(|| DEFAULT_ADMIN_TOKEN_SECRET_ID.to_owned()),
            api_key_pepper_secret_id: lookup("PIVOTA_API_KEY_PEPPER_SECRET_ID")
                .unwrap_or_else(|| DEFAULT_API_KEY_PEPPER_SECRET_ID.to_owned()),
            sync_queue: QueueRef(lookup("PIVOTA_SYNC_QUEUE_URL").unwrap_or_else(|| "pivota-sync".to_owned())),
            payment_queue: QueueRef(lookup("PIVOTA_PAYMENT_QUEUE_URL").unwrap_or_else(|| "pivota-payments".to_owned())),
            index_queue: QueueRef(lookup("PIVOTA_INDEX_QUEUE_URL").unwrap_or_else(|| "pivota-index.fifo".to_owned())),
            // Set but empty (the template's default): the API's own domain, from each request.
            public_base_url: lookup("PIVOTA_PUBLIC_BASE_URL")
                .unwrap_or_else(|| "http://127.0.0.1:3000".to_owned())
                .trim_end_matches('/')
                .to_owned(),
            store_urls: StoreUrlPolicy {
                allow_insecure: lookup("PIVOTA_ALLOW_INSECURE_STORE_URLS").is_some_and(|v| v.trim() == "1"),
            },
            secret_namespace: lookup("PIVOTA_SECRET_NAMESPACE").unwrap_or_else(|| "pivota".to_owned()),
            connectors,
        })
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self::from_lookup(|_| None).expect("defaults are valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let settings = Settings::default();
        assert_eq!(settings.kyc_wait_seconds, 5);
        assert_eq!(settings.admin_token_secret_id, DEFAULT_ADMIN_TOKEN_SECRET_ID);
        assert_eq!(settings.kyc_rules.restricted_countries.len(), 4);
    }

    #[test]
    fn invalid_values_are_refused_with_the_variable_named() {
        let err = Settings::from_lookup(|n| (n == "PIVOTA_KYC_WAIT_SECONDS").then(|| "soon".into())).unwrap_err();
        assert!(err.to_string().contains("PIVOTA_KYC_WAIT_SECONDS"));
        let err = Settings::from_lookup(|n| (n == "PIVOTA_KYC_RESTRICTED_COUNTRIES").then(|| "ZZ".into())).unwrap_err();
        assert!(err.to_string().contains("PIVOTA_KYC_RESTRICTED_COUNTRIES"));
    }
}
