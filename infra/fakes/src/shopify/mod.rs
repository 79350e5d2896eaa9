//! A stateful fake of Shopify's Admin GraphQL API (`POST /admin/api/{version}/graphql.json`), for what Pivota
//! calls: `shop`, `products` (and `product` for more variants), `productsCount`, `webhookSubscriptionCreate`,
//! `webhookSubscriptions`, `webhookSubscription`, `webhookSubscriptionDelete`, `orderMarkAsPaid`, `order`.
//!
//! The objects it answers are shaped as Shopify's published schema: the Admin GraphQL 2025-01 SDL in
//! `../shared/vendor-specs/shopify-admin-2025-01.graphql` (Shopify's introspection result, see that folder's
//! README), plus the fields Shopify added since for the 2026-07 version Pivota calls: `WebhookSubscription.uri`
//! and `WebhookSubscriptionInput.uri` ("webhookSubscriptionCreate and webhookSubscriptionUpdate support all URI
//! types", https://shopify.dev/changelog/consolidate-webhook-graphql-surfaces;
//! https://shopify.dev/docs/api/admin-graphql/2026-07/objects/WebhookSubscription). Pivota's own documents
//! are checked against that schema in `shared/tests/it/shopify/graphql_contract.rs`, from what this fake records
//! ([`FakeShopify::received_documents`]).
//!
//! This module holds the shop, the fake's handle and its state; [`endpoint`] answers requests (auth, injected
//! failures, the cost bucket), [`graphql`] parses documents and computes their cost, [`resolve`] and
//! [`catalog`] answer the fields, and [`signing`] signs webhook deliveries.
//!
//! Wire details reproduced, and where they come from:
//! - A product's image is its `featuredMedia` (the `Media` interface; "Product",
//!   https://shopify.dev/docs/api/admin-graphql/2025-01/objects/Product: `featuredImage` is deprecated, "Use
//!   `featuredMedia` instead."). Inline fragments answer only for their type (`... on MediaImage { image }`
//!   is `{}` for a video), as GraphQL executes them (https://spec.graphql.org/October2021/#sec-Inline-Fragments).
//! - `webhookSubscriptionCreate` for a topic and address that already exist answers `userErrors`
//!   `[{"field":["webhookSubscription","callbackUrl"],"message":"Address for this topic has already been
//!   taken"}]` and no subscription (the message Shopify's libraries report, e.g. Shopify/shopify_app#263).
//! - [`FakeShopify::uninstall_app`] does what an uninstall does: the access token is revoked at once, so every
//!   call answers the wrong-token 401 ([`endpoint`]; https://shopify.dev/docs/api/usage/response-codes; the uninstall case:
//!   https://community.shopify.com/t/expired-accesstoken-when-handling-app-uninstalled-webhook/105849), and
//!   the app's webhook subscriptions are deleted ("Uninstalling an app triggers cleanup tasks in Shopify. This
//!   includes deleting any registered webhooks",
//!   https://shopify.dev/docs/apps/build/authentication-authorization/app-installation/uninstall-app-api-request).
//!   `shop { id }` is `gid://shopify/Shop/<FakeShop::id>`.
//!
//! Not modelled: the userError texts of a second `orderMarkAsPaid` and of deleting an unknown subscription
//! are not documented; the fake answers plausible ones and the client does not depend on their wording. The
//! fake does not validate documents: an unknown root field is an error as on Shopify, but an unknown field
//! below it answers `null` where Shopify refuses the query ("Field 'x' doesn't exist on type 'Product'"); the
//! schema contract test catches those instead.

mod catalog;
mod endpoint;
mod graphql;
mod resolve;
mod signing;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde_json::Value;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer};

use self::catalog::{Catalog, currency_digits};
use self::endpoint::Endpoint;

use crate::failure::{FailurePlan, FakeFailure};

/// The shop a [`FakeShopify`] pretends to be.
#[derive(Clone, Debug)]
pub struct FakeShop {
    /// The numeric shop id (`gid://shopify/Shop/<id>`, `shop_id` in compliance payloads).
    pub id: u64,
    pub name: String,
    pub domain: String,
    pub currency: String,
    pub access_token: String,
    /// The app's client secret, which signs webhooks.
    pub client_secret: String,
    pub products: usize,
    pub maximum_available: f64,
    pub restore_rate: f64,
}

impl Default for FakeShop {
    fn default() -> Self {
        Self {
            id: 548380009,
            name: "Pivota Test Shop".into(),
            domain: "pivota-test.myshopify.com".into(),
            currency: "EUR".into(),
            access_token: "shpat_fake0123456789abcdef0123456789".into(),
            client_secret: "shpss_fake_client_secret".into(),
            products: 0,
            maximum_available: 2000.0,
            restore_rate: 100.0,
        }
    }
}

impl FakeShop {
    pub fn with_products(mut self, products: usize) -> Self {
        self.products = products;
        self
    }

    pub fn with_currency(mut self, currency: &str) -> Self {
        self.currency = currency.into();
        self
    }

    pub fn with_access_token(mut self, token: &str) -> Self {
        self.access_token = token.into();
        self
    }

    /// The cost bucket: its size in points and how many points a second it restores.
    pub fn with_bucket(mut self, maximum_available: f64, restore_rate: f64) -> Self {
        self.maximum_available = maximum_available;
        self.restore_rate = restore_rate;
        self
    }
}

/// A webhook subscription the fake holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeWebhookSubscription {
    pub id: String,
    /// `ORDERS_CREATE`, …
    pub topic: String,
    pub uri: String,
}

pub struct FakeShopify {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

struct State {
    shop: FakeShop,
    catalog: Catalog,
    available: f64,
    refilled_at: Instant,
    requests: usize,
    throttled: usize,
    pages_served: usize,
    points_requested: u64,
    points_charged: u64,
    failures: FailurePlan,
    subscriptions: BTreeMap<u64, FakeWebhookSubscription>,
    next_subscription: u64,
    orders_marked_paid: Vec<String>,
    documents: Vec<ReceivedDocument>,
    /// The app was uninstalled: the access token no longer works.
    token_revoked: bool,
}

/// A GraphQL request as the fake received it, for contract tests to check against Shopify's schema.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceivedDocument {
    pub query: String,
    /// `{}` when the request carried none.
    pub variables: Value,
}

impl FakeShopify {
    pub async fn start(shop: FakeShop) -> Self {
        let server = MockServer::start().await;
        let catalog =
            Catalog { len: shop.products, currency_digits: currency_digits(&shop.currency), ..Default::default() };
        let state = Arc::new(Mutex::new(State {
            available: shop.maximum_available,
            refilled_at: Instant::now(),
            shop,
            catalog,
            requests: 0,
            throttled: 0,
            pages_served: 0,
            points_requested: 0,
            points_charged: 0,
            failures: FailurePlan::default(),
            subscriptions: BTreeMap::new(),
            next_subscription: 1_047_000_000,
            orders_marked_paid: Vec::new(),
            documents: Vec::new(),
            token_revoked: false,
        }));
        Mock::given(method("POST"))
            .and(path_regex(r"^/admin/api/(\d{4}-\d{2}|unstable)/graphql\.json$"))
            .respond_with(Endpoint { state: state.clone() })
            .mount(&server)
            .await;
        Self { server, state }
    }

    /// The shop's base URL, e.g. `http://127.0.0.1:38211`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    pub fn access_token(&self) -> String {
        self.lock().shop.access_token.clone()
    }

    pub fn client_secret(&self) -> String {
        self.lock().shop.client_secret.clone()
    }

    /// The shop's `*.myshopify.com` domain.
    pub fn domain(&self) -> String {
        self.lock().shop.domain.clone()
    }

    /// The shop's numeric id.
    pub fn shop_id(&self) -> u64 {
        self.lock().shop.id
    }

    /// The merchant uninstalls the app: the access token is revoked and the subscriptions are deleted.
    pub fn uninstall_app(&self) {
        let mut state = self.lock();
        state.token_revoked = true;
        state.subscriptions.clear();
    }

    /// Every request received, refused ones included.
    pub fn requests(&self) -> usize {
        self.lock().requests
    }

    /// Requests refused with `THROTTLED`.
    pub fn throttled(&self) -> usize {
        self.lock().throttled
    }

    /// `products` queries answered.
    pub fn pages_served(&self) -> usize {
        self.lock().pages_served
    }

    /// The requested costs of the queries that ran (throttled ones excluded).
    pub fn points_requested(&self) -> u64 {
        self.lock().points_requested
    }

    /// The points the bucket kept: the actual costs of the queries that ran, after the refunds.
    pub fn points_charged(&self) -> u64 {
        self.lock().points_charged
    }

    /// The points in the bucket now.
    pub fn currently_available(&self) -> f64 {
        let mut state = self.lock();
        state.refill();
        state.available
    }

    /// Sets the bucket's level, e.g. to 0 to make the next query `THROTTLED`.
    pub fn set_currently_available(&self, points: f64) {
        let mut state = self.lock();
        state.refill();
        state.available = points.clamp(0.0, state.shop.maximum_available);
    }

    /// The next `n` requests get `failure` (500, 503, 429 with `Retry-After`, or a delay).
    pub fn fail_next(&self, n: usize, failure: FakeFailure) {
        self.lock().failures.queue(n, failure);
    }

    /// Product `index`'s id (`gid://shopify/Product/…`).
    pub fn product_id(&self, index: usize) -> String {
        format!("gid://shopify/Product/{}", catalog::PRODUCT_ID_BASE + index as u64)
    }

    /// Sets a variant's price, a decimal string as Shopify holds it (`"19.99"`), and marks the product updated.
    pub fn update_price(&self, product_index: usize, variant_index: usize, price: &str) {
        let mut state = self.lock();
        state.catalog.prices.insert((product_index, variant_index), price.to_owned());
        state.catalog.updated.insert(product_index);
    }

    /// Gives a product `variants` variants (by default it has 1–3).
    pub fn set_variant_count(&self, product_index: usize, variants: usize) {
        self.lock().catalog.variant_counts.insert(product_index, variants);
    }

    /// Pads the titles and SKUs of a product's variants to `chars` characters each. Shopify allows 255 (the
    /// largest product is 2,048 variants of those); more stands for a store sending what no item can hold.
    pub fn set_variant_text_length(&self, product_index: usize, chars: usize) {
        self.lock().catalog.text_lengths.insert(product_index, chars);
    }

    /// Product `index`'s `(vendor, productType)` as the shop has them (`""`: none set).
    pub fn product_labels(&self, product_index: usize) -> (String, String) {
        self.lock().catalog.labels(product_index)
    }

    /// The merchant changes a product's vendor and product type (`""`: none), which marks it updated.
    pub fn set_product_labels(&self, product_index: usize, vendor: &str, product_type: &str) {
        let mut state = self.lock();
        state.catalog.labels.insert(product_index, (vendor.to_owned(), product_type.to_owned()));
        state.catalog.updated.insert(product_index);
    }

    /// The body of the `products/update` webhook Shopify sends for product `index` as the shop has it now:
    /// the REST product resource (sign it with [`FakeShopify::delivery_headers`]).
    pub fn product_update_body(&self, product_index: usize) -> Vec<u8> {
        serde_json::to_vec(&self.lock().catalog.rest_product(product_index)).expect("JSON serialises")
    }

    pub fn remove_product(&self, product_index: usize) {
        self.lock().catalog.removed.insert(product_index);
    }

    pub fn subscriptions(&self) -> Vec<FakeWebhookSubscription> {
        self.lock().subscriptions.values().cloned().collect()
    }

    /// Every GraphQL document received with its variables, in order (refused and throttled ones included).
    pub fn received_documents(&self) -> Vec<ReceivedDocument> {
        self.lock().documents.clone()
    }

    /// The order GIDs `orderMarkAsPaid` succeeded for, in order.
    pub fn orders_marked_paid(&self) -> Vec<String> {
        self.lock().orders_marked_paid.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::catalog::format_minor;

    #[test]
    fn formats_prices_with_the_currency_digits() {
        assert_eq!(format_minor(1999, 2), "19.99");
        assert_eq!(format_minor(5, 2), "0.05");
        assert_eq!(format_minor(1000, 0), "1000");
        assert_eq!(format_minor(1234, 3), "1.234");
    }
}
