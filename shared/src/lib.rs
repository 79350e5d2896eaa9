//! Pivota's domain crate.
//!
//! - Domain types and rules: [`merchant`], [`kyc`], [`api_key`], [`email`], [`country`].
//! - Ports (traits the domain needs from the world): [`ports`].
//! - Adapters behind the ports: [`aws`] for production, [`embedded`] for running locally.
//! - The HTTP API that every Lambda and the local runner share: [`api`].

pub mod aws;
pub mod embedded;
pub mod ports;
