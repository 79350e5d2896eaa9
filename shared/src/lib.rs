//! Pivota's domain crate.
//!
//! - Domain types and rules: [`merchant`], [`kyc`], [`api_key`], [`email`], [`country`].
//! - Ports (traits the domain needs from the world): [`ports`].
//! - Adapters behind the ports: [`aws`] for production, [`embedded`] for running locally.
//! - The HTTP API that every Lambda and the local runner share: [`api`].

pub mod api;
pub mod api_key;
pub mod api_keys;
pub mod app;
pub mod aws;
pub mod card;
pub mod connectors;
pub mod console;
pub mod country;
pub mod email;
pub mod embedded;
pub mod error;
pub mod invocation;
pub mod item;
pub mod kyc;
pub mod kyc_task;
pub mod lambda;
pub mod merchant;
pub mod merchants;
pub mod money;
pub mod onboarding;
pub mod order_redaction;
pub mod order_webhooks;
pub mod orders;
pub mod payment_worker;
pub mod payments;
pub mod platforms;
pub mod ports;
pub mod product_items;
pub mod products;
pub mod psp;
pub mod psp_connections;
pub mod routing;
pub mod secret;
pub mod settings;
pub mod store_tasks;
pub mod store_url;
pub mod stores;
pub mod sync;
pub mod sync_worker;
pub mod table_limits;
pub mod validation;
