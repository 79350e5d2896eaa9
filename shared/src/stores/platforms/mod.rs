//! Store platforms: one module per platform (Shopify, WooCommerce, Wix, a custom contract), and the wire
//! format lives there and only there.
//!
//! Each platform verifies a connection, pages through the catalog, and (for order webhooks) manages
//! webhook subscriptions and marks orders paid. Every call goes through a [`StoreEndpoint`]: the store's
//! checked URL and an HTTP client pinned to the address that was checked (see `store_url.rs`).

pub mod shopify;

use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use crate::kernel::money::Currency;

pub mod custom;
mod store_http;
pub mod wix;
pub mod woocommerce;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Shopify,
    #[serde(rename = "woocommerce")]
    WooCommerce,
    Wix,
    Custom,
}

impl Platform {
    pub const ALL: [Platform; 4] = [Platform::Shopify, Platform::WooCommerce, Platform::Wix, Platform::Custom];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Shopify => "shopify",
            Platform::WooCommerce => "woocommerce",
            Platform::Wix => "wix",
            Platform::Custom => "custom",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == raw)
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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
    match platform {
        Platform::Shopify => &shopify::ShopifyPlatform,
        Platform::WooCommerce => &woocommerce::WooCommerce,
        Platform::Wix => &wix::Wix,
        Platform::Custom => &custom::CustomStore,
    }
}

/// The webhook side of a platform.
pub fn webhooks(platform: Platform) -> &'static dyn StoreWebhooks {
    match platform {
        Platform::Shopify => &shopify::ShopifyPlatform,
        Platform::WooCommerce => &woocommerce::WooCommerce,
        Platform::Wix => &wix::Wix,
        Platform::Custom => &custom::CustomStore,
    }
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

// ---------------------------------------------------------------------------------------------------
// Order webhooks (issue: order webhooks) — the same platform modules speak them.
// ---------------------------------------------------------------------------------------------------

/// What Pivota subscribes to on a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookTopic {
    OrderCreated,
    ProductUpdated,
    /// Shopify only.
    AppUninstalled,
}

/// A subscription Pivota created on the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookSubscription {
    pub topic: WebhookTopic,
    /// The platform's id of the subscription (Shopify GID, WooCommerce webhook id, …).
    pub external_id: String,
    pub address: String,
}

/// A verified delivery's kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryTopic {
    OrderCreated,
    ProductUpdated,
    AppUninstalled,
    /// Shopify compliance topics.
    CustomersDataRequest,
    CustomersRedact,
    ShopRedact,
    /// WooCommerce's unsigned creation ping (`webhook_id=…` form body).
    Ping,
    Other(String),
}

/// A delivery whose signature checked out, on the raw body bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The platform's id of this delivery, for deduplication (`X-Shopify-Event-Id`,
    /// `X-WC-Webhook-Delivery-ID`, the Wix event id).
    pub event_id: Option<String>,
    pub topic: DeliveryTopic,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// Missing or wrong signature: 401, no side effect.
    #[error("the webhook signature is missing or invalid")]
    BadSignature,
    /// Signed, but not something we can read.
    #[error("the webhook payload is not understood: {0}")]
    Malformed(String),
    /// Signed, but for another shop than the store's (`X-Shopify-Shop-Domain`, a payload's `shop_domain` or
    /// `shop_id`): 403, not acted on.
    #[error("{0}")]
    WrongShop(String),
    /// Signed and readable, but not the payload its topic has (an order sent as `customers/redact`): 422.
    #[error("the payload is not a {topic} payload: {reason}")]
    NotTopicPayload { topic: String, reason: String },
    /// A header the delivery needs is missing or wrong (a timestamp out of range, say): 400, naming it.
    #[error("{header}: {reason}")]
    BadHeader { header: &'static str, reason: String },
}

/// The shop a store is, as its platform names it (Shopify: the shop's `*.myshopify.com` domain and its
/// numeric id): a delivery that names another shop is not acted on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopIdentity {
    /// Lowercase, e.g. `acme.myshopify.com`.
    pub domain: String,
    /// The numeric id (`548380009` of `gid://shopify/Shop/548380009`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl ShopIdentity {
    /// A domain as a header or payload writes it, in the form recorded (lowercase, no trailing dot).
    pub fn normalise_domain(raw: &str) -> String {
        raw.trim().trim_end_matches('.').to_ascii_lowercase()
    }
}

/// What a verified delivery is checked against: the store's shop (when known) and the time it arrived.
#[derive(Clone, Copy, Debug)]
pub struct DeliveryContext<'a> {
    pub shop: Option<&'a ShopIdentity>,
    pub now: OffsetDateTime,
}

/// What a platform's checks of a verified delivery concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screening {
    /// For this store, of the right shape, recent: act on it.
    Act,
    /// Triggered longer ago than the platform's retries last: acknowledged, not acted on.
    TooOld { triggered_at: OffsetDateTime },
}

/// Whether the store still accepts Pivota's credentials, asked live: what confirms an uninstall notice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Installation {
    /// The credentials work; the shop, when its answer said.
    Installed(Option<ShopIdentity>),
    /// The store refuses the credentials as unknown (Shopify: 401 once the app is uninstalled).
    Revoked,
}

/// An order as the platform sent it, normalised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalOrder {
    pub external_id: String,
    /// The order's name or number as the merchant sees it (`#1001`).
    #[serde(default)]
    pub name: Option<String>,
    /// The total to charge, in integer minor units of `currency`.
    pub total_minor: i64,
    pub currency: Currency,
    /// Already paid in the store (Shopify `financial_status: paid`, WooCommerce `date_paid` set).
    pub already_paid: bool,
    /// The payment method the storefront attached (the `pivota_payment_method` note attribute / meta).
    #[serde(default)]
    pub payment_method: Option<String>,
    /// The PSP customer that payment method is stored under (the `pivota_customer` attribute beside it):
    /// a Stripe `cus_…`, or the Adyen `shopperReference`.
    #[serde(default)]
    pub payment_customer: Option<String>,
    #[serde(default)]
    pub line_items: Vec<OrderLine>,
    /// Personal data, redacted on request.
    #[serde(default)]
    pub customer: Option<Customer>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub title: String,
    pub quantity: i64,
    #[serde(default)]
    pub sku: Option<String>,
    pub price_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// What a verified product event says about one product.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProductEvent {
    /// The product as the event carries it.
    Changed(ExternalProduct),
    /// The event names the product without carrying it (Wix): its current state is read from the store.
    Named { external_id: String },
    /// The store deleted the product.
    Deleted { external_id: String },
}

/// The webhook side of a platform.
#[async_trait]
pub trait StoreWebhooks: Send + Sync {
    /// Subscribes `address` to `topics`. Idempotent: calling it again leaves one subscription per topic
    /// (Shopify's "address already taken" counts as success and returns the existing subscription).
    async fn subscribe(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        address: &Url,
        topics: &[WebhookTopic],
    ) -> Result<Vec<WebhookSubscription>, PlatformError>;
    /// Deletes subscriptions; one that is already gone counts as deleted.
    async fn unsubscribe(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        subscriptions: &[WebhookSubscription],
    ) -> Result<(), PlatformError>;
    /// Checks a delivery's signature on the raw body bytes, in constant time, before anything parses it.
    fn verify_delivery(
        &self,
        credentials: &StoreCredentials,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<Delivery, WebhookError>;
    /// The platform's checks of a verified delivery before anything acts on it, beyond its signature: that
    /// it is for this store's shop, that its payload has its topic's shape, that it is recent. Default: none.
    fn screen(
        &self,
        _delivery: &Delivery,
        _context: &DeliveryContext<'_>,
        _headers: &http::HeaderMap,
        _body: &[u8],
    ) -> Result<Screening, WebhookError> {
        Ok(Screening::Act)
    }
    /// Asks the store whether it still accepts the credentials (and which shop they reach). Default: the
    /// platform has no such question (no uninstall topic), which is `Invalid`.
    async fn installation(
        &self,
        _endpoint: &StoreEndpoint,
        _credentials: &StoreCredentials,
    ) -> Result<Installation, PlatformError> {
        Err(PlatformError::Invalid { reason: "the platform has no installation to confirm".into() })
    }
    /// Reads an order-created payload (after verification).
    fn parse_order(&self, body: &[u8]) -> Result<ExternalOrder, WebhookError>;
    /// Reads a product-updated payload (after verification). Payloads do not say their currency, so the
    /// store's (known from the connection) is given to read prices in the right minor units.
    fn parse_product(&self, body: &[u8], currency: Currency) -> Result<ExternalProduct, WebhookError>;
    /// Reads a product event (after verification): by default, a product-updated payload that carries
    /// the product.
    fn parse_product_event(&self, body: &[u8], currency: Currency) -> Result<ProductEvent, WebhookError> {
        self.parse_product(body, currency).map(ProductEvent::Changed)
    }
    /// Marks the store's order paid with the PSP reference.
    async fn mark_order_paid(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        order_id: &str,
        psp_reference: &str,
    ) -> Result<(), PlatformError>;
}
