//! Pivota's domain crate.
//!
//! - The shared kernel (money, email, country, secrets, validation, errors): [`kernel`].
//! - Ports (what the domain needs from the world) and the one record convention: [`ports`], [`record`].
//! - The bounded contexts: [`onboarding`] (merchants, KYC, API keys), [`payments`] (PSP connections,
//!   routing, idempotency, execute, connectors), [`stores`] (connections, URL safety, credentials,
//!   platforms), [`catalog`] (products, sync) and [`orders`] (webhook intake, order records, the payment
//!   worker, write-back).
//! - Adapters behind the ports: [`aws`] for production, [`embedded`] for running locally.
//! - The HTTP API that every Lambda and the local runner share: [`api`].

pub mod api;
pub mod app;
pub mod aws;
pub mod catalog;
pub mod console;
pub mod embedded;
pub mod invocation;
pub mod kernel;
pub mod lambda;
pub mod onboarding;
pub mod orders;
pub mod payments;
pub mod ports;
pub mod record;
pub mod settings;
pub mod stores;
