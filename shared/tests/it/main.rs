//! `pivota-shared`'s integration tests: one binary, one module per area. Run them all with
//! `cargo test -p pivota-shared --test it`, or one area with a filter (`… --test it merchant_api::`).
//!
//! `fixtures` builds what the tests start from (an app on the embedded backend or on moto, an approved
//! merchant, a connected PSP or store, the fakes' webhook deliveries) and declares `on_both_backends!`.

#[macro_use]
mod fixtures;

mod aws_adapters;
mod conformance;
mod connectors;
mod console;
mod contract;
mod events;
mod mcp;
mod merchant_api;
mod money_safety;
mod order_webhooks;
mod order_webhooks_platforms;
mod psp_fakes;
mod search;
mod search_s3;
mod shopify;
mod state_machine;
mod store_platforms;
mod stores_sync;
