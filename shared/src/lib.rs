//! Pivota's domain crate.
//!
//! - The shared kernel (money, email, country, secrets, validation, errors): [`kernel`].
//! - Ports (what the domain needs from the world) and the one record convention: [`ports`], [`record`].
//! - The bounded contexts: [`onboarding`] (merchants, KYC, API keys), [`payments`] (PSP connections,
//!   routing, idempotency, execute, connectors), [`stores`] (connections, URL safety, credentials,
//!   platforms), [`catalog`] (products, sync) and [`orders`] (webhook intake, order records, the payment
//!   worker, write-back).
//!
//! Around it, each depending on this crate and never the reverse: the adapters behind the ports
//! (`pivota-aws` for production, `pivota-embedded` for running locally), the HTTP API (`pivota-http`), the
//! console (`pivota-console`) and the Lambda glue (`pivota-lambda`).

pub mod app;
pub mod catalog;
pub mod invocation;
pub mod kernel;
pub mod lifecycle;
pub mod onboarding;
pub mod orders;
pub mod payments;
pub mod ports;
pub mod record;
pub mod settings;
pub mod stores;
