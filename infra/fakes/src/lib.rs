//! Stateful fakes of the PSP APIs Pivota calls, for tests that must not reach the real ones.
//!
//! Each fake is a [`wiremock::MockServer`] on 127.0.0.1 that answers the few endpoints our connectors call,
//! in the PSP's own wire format (status codes, headers, error JSON), and keeps the state a test needs to
//! assert on money: how many charges really happened, as opposed to replays of an idempotency key.
//!
//! - [`FakeStripe`]: `GET /v1/balance`, `POST /v1/payment_intents`.
//! - [`FakeAdyen`]: `POST /v71/paymentMethods`, `POST /v71/payments`.
//! - [`FakeWooCommerce`], [`FakeWix`], [`FakeCustomStore`]: the store platforms' catalog, webhook and
//!   order calls, with signers for their webhook deliveries.
//!
//! Both take the same failure knobs ([`FakeFailure`]): `fail_next(n, failure)` for the next `n` requests, and
//! `fail_randomly(percent, seed, failure)` for a seeded share of all requests (storm tests).

mod adyen;
mod custom_store;
mod failure;
mod ids;
mod shopify;
mod store_common;
mod stripe;
mod wix;
mod woocommerce;

pub use adyen::FakeAdyen;
pub use custom_store::{CustomWebhook, DEFAULT_CUSTOM_TOKEN, FakeCustomStore};
pub use failure::FakeFailure;
pub use shopify::{FakeShop, FakeShopify, FakeWebhookSubscription, ReceivedDocument};
pub use stripe::{FakeStripe, RecordedRequest};
pub use wix::{DEFAULT_WIX_API_KEY, DEFAULT_WIX_SITE_ID, FakeWix, WixCatalog};
pub use woocommerce::{DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET, FakeWooCommerce, WooWebhook};
