//! The webhook side of a platform (issue: order webhooks), which the same platform modules speak: the
//! topics Pivota subscribes to, a verified delivery and what is checked of it, the orders and product
//! events deliveries carry, and the [`StoreWebhooks`] trait.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use super::{ExternalProduct, PlatformError, StoreCredentials, StoreEndpoint};
use crate::kernel::money::Currency;

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
