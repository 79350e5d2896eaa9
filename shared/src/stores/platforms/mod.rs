//! Store platforms: one module per platform (Shopify, WooCommerce, Wix, a custom contract), and the wire
//! format lives there and only there.
//!
//! Each platform verifies a connection, pages through the catalog, and (for order webhooks) manages
//! webhook subscriptions and marks orders paid. Every call goes through a [`StoreEndpoint`]: the store's
//! checked URL and an HTTP client pinned to the address that was checked (see `stores/url_safety.rs`).
//!
//! This module holds what every platform shares, the registration of each, and the catalog side
//! ([`StorePlatform`]); the webhook side ([`StoreWebhooks`] and what it speaks) is in `store_webhooks.rs`,
//! and what connecting needs ([`PlatformProfile`]) in `profile.rs`, both re-exported here. Nothing outside
//! a platform's module names the platform.

pub mod shopify;

use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use crate::kernel::money::Currency;
use crate::kernel::registry::registry;

pub mod custom;
mod profile;
mod store_http;
mod store_webhooks;
pub mod wix;
pub mod woocommerce;

pub use profile::{CredentialFields, PlatformProfile, secret_text};
pub use store_webhooks::{
    Customer, Delivery, DeliveryContext, DeliveryTopic, ExternalOrder, Installation, OrderLine, ProductEvent,
    Screening, ShopIdentity, StoreWebhooks, WebhookError, WebhookSubscription, WebhookTopic,
};

// Adding a platform is its module (above) plus one line here.
registry! {
    /// A store platform Pivota connects to.
    pub enum Platform: dyn PlatformProfile {
        Shopify = "shopify" => shopify::ShopifyPlatform,
        WooCommerce = "woocommerce" => woocommerce::WooCommerce,
        Wix = "wix" => wix::Wix,
        Custom = "custom" => custom::CustomStore,
    }
}

impl Platform {
    /// The catalog side of the platform.
    pub fn catalog(self) -> &'static dyn StorePlatform {
        self.profile()
    }

    /// The webhook side of the platform.
    pub fn webhooks(self) -> &'static dyn StoreWebhooks {
        self.profile()
    }
}

/// A store's credentials, kept in the secret store only (one JSON secret per store).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoreCredentials {
    /// Shopify: the Admin API access token. WooCommerce: `consumer_key:consumer_secret` when given as one
    /// token. Wix: the API key. Custom: the bearer token.
    #[serde(with = "crate::kernel::secret::serde_secret")]
    pub api_token: SecretString,
    /// WooCommerce REST API keys.
    #[serde(default, with = "crate::kernel::secret::serde_optional_secret", skip_serializing_if = "Option::is_none")]
    pub consumer_key: Option<SecretString>,
    #[serde(default, with = "crate::kernel::secret::serde_optional_secret", skip_serializing_if = "Option::is_none")]
    pub consumer_secret: Option<SecretString>,
    /// Wix: the site the API key acts on (`wix-site-id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<String>,
    /// Shopify: the app's client secret, which signs its webhooks. WooCommerce: the secret Pivota
    /// generated for its webhooks.
    #[serde(default, with = "crate::kernel::secret::serde_optional_secret", skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<SecretString>,
}

/// The catalog side of a platform.
pub fn catalog(platform: Platform) -> &'static dyn StorePlatform {
    platform.catalog()
}

/// The webhook side of a platform.
pub fn webhooks(platform: Platform) -> &'static dyn StoreWebhooks {
    platform.webhooks()
}

/// Where a store is reached: its checked base URL and a client pinned to the checked address.
#[derive(Clone, Debug)]
pub struct StoreEndpoint {
    pub base: Url,
    pub http: reqwest::Client,
}

/// What verifying a connection learned about the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreInfo {
    pub name: String,
    /// The shop's currency, when the platform says (Shopify `currencyCode`, WooCommerce's settings).
    pub currency: Option<Currency>,
}

/// A product as the platform has it, normalised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalProduct {
    pub external_id: String,
    pub title: String,
    /// `active`, `draft` or `archived`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub updated_at: Option<OffsetDateTime>,
    pub variants: Vec<ExternalVariant>,
    /// Who makes or sells the product, where the platform says (Shopify's `vendor`, Wix's brand). Skipped
    /// when absent, so the content hash of a product without one is what it was before the field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// The merchant's own category name, where the platform has one (Shopify's `productType`); not a
    /// physical/digital or simple/variable kind. Skipped when absent, as `vendor` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_type: Option<String>,
}

/// A platform's label (a vendor, a product type) as the catalog keeps it: trimmed, and `None` when blank.
/// Shopify's `vendor` and `productType` are non-null strings, `""` when the merchant set none.
pub fn label(raw: Option<String>) -> Option<String> {
    raw.map(|raw| raw.trim().to_owned()).filter(|label| !label.is_empty())
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalVariant {
    pub external_id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// Integer minor units of the page's currency.
    pub price_minor: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_quantity: Option<i64>,
}

/// One page of the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductPage {
    pub products: Vec<ExternalProduct>,
    pub currency: Currency,
    /// Where the next page starts (a cursor or page number, opaque to the sync); `None` on the last page.
    pub next: Option<String>,
    /// How long to wait before asking for the next page to stay within the platform's rate limit, as
    /// read from this response (Shopify's cost bucket, `Retry-After`). Zero when there is no need.
    pub wait_before_next: Duration,
    /// How many products the store has in all, when the platform says (WooCommerce's `X-WP-Total`, Wix's
    /// `totalResults`): what a sync's progress is measured against.
    pub total: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// The credentials were refused. `reason` is the platform's, without secrets.
    #[error("the store refused the credentials: {reason}")]
    Unauthorized { reason: String },
    /// Rate limited (HTTP 429, Shopify `THROTTLED`): retry after the wait.
    #[error("rate limited by the store; retry after {retry_after:?}")]
    Throttled { retry_after: Duration },
    /// Unreachable, timed out, or a 5xx: retry later.
    #[error("the store is unavailable: {reason}")]
    Unavailable { reason: String },
    /// The store answered with something we cannot use.
    #[error("the store's answer was not understood: {reason}")]
    Invalid { reason: String },
}

#[async_trait]
pub trait StorePlatform: Send + Sync {
    fn platform(&self) -> Platform;
    /// Checks the credentials live, reading the store's name (and currency where available).
    async fn verify(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
    ) -> Result<StoreInfo, PlatformError>;
    /// One page of products with their variants, starting at `cursor` (`None`: the first page).
    async fn products_page(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        cursor: Option<&str>,
    ) -> Result<ProductPage, PlatformError>;
    /// One product as the store has it now, priced in `currency`; `None` when the store no longer has it.
    /// For product events that name a product without carrying it ([`ProductEvent::Named`]).
    async fn product(
        &self,
        _endpoint: &StoreEndpoint,
        _credentials: &StoreCredentials,
        external_id: &str,
        _currency: Currency,
    ) -> Result<Option<ExternalProduct>, PlatformError> {
        Err(PlatformError::Invalid { reason: format!("{} cannot read product {external_id} alone", self.platform()) })
    }
    /// [`products_page`](Self::products_page) for a caller that can wait until `deadline`. A platform that
    /// retries a throttled request itself (WooCommerce) waits out a `Retry-After` only when the retry starts
    /// before it; otherwise it answers with what the page completed and a `wait_before_next`.
    async fn products_page_until(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        cursor: Option<&str>,
        deadline: std::time::Instant,
    ) -> Result<ProductPage, PlatformError> {
        let _ = deadline;
        self.products_page(endpoint, credentials, cursor).await
    }
}

#[cfg(test)]
mod tests {
    use super::{Platform, label};

    #[test]
    fn every_platform_parses_from_its_name_and_serialises_to_it() {
        for platform in Platform::ALL {
            assert_eq!(Platform::parse(platform.as_str()), Some(platform));
            assert_eq!(serde_json::to_value(platform).unwrap(), platform.as_str());
            assert_eq!(platform.catalog().platform(), platform);
        }
        assert_eq!(Platform::names(), "shopify, woocommerce, wix, custom");
    }

    /// A platform's connect form asks for the store URL and exactly what its credentials need: an empty
    /// request is refused on each required credential field of the form and on nothing else.
    #[test]
    fn each_platforms_form_asks_for_what_its_credentials_need() {
        for platform in Platform::ALL {
            let profile = platform.profile();
            let mut errors = crate::kernel::validation::FieldErrors::default();
            assert!(profile.credentials(Default::default(), &mut errors).is_none(), "{platform}");
            let refused: Vec<String> = errors.iter().map(|e| e.field.clone()).collect();
            let form = profile.connect_form();
            assert_eq!(form.fields.first().map(|f| f.name), Some("store_url"), "{platform}");
            let required: Vec<&str> = form.fields[1..].iter().filter(|f| !f.optional).map(|f| f.name).collect();
            assert_eq!(refused, required, "{platform}");
        }
    }

    #[test]
    fn a_blank_label_is_none_and_a_label_is_trimmed() {
        assert_eq!(label(Some("Acme".into())).as_deref(), Some("Acme"));
        assert_eq!(label(Some(" Acme Co ".into())).as_deref(), Some("Acme Co"));
        assert_eq!(label(Some(String::new())), None);
        assert_eq!(label(Some(" \t".into())), None);
        assert_eq!(label(None), None);
    }
}
