//! The shared kernel: value types and rules every context uses (money, email, country, secrets,
//! validation, connect forms), the one domain error, and the outbound HTTPS client.

pub mod connect_form;
pub mod country;
pub mod email;
pub mod error;
pub mod http_client;
pub mod money;
pub mod registry;
pub mod secret;
pub mod validation;
