//! Identifiers in the shapes the PSPs use.

use rand::Rng;
use rand::distributions::Alphanumeric;

fn alphanumeric(len: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

/// Stripe ids: a type prefix and a random alphanumeric tail (`pi_3Mtw…`, `req_8Xb…`).
pub fn stripe(prefix: &str, len: usize) -> String {
    format!("{prefix}_{}", alphanumeric(len))
}

/// Adyen's `pspReference`: a 16-character string, globally unique (uppercase letters and digits).
pub fn adyen_psp_reference() -> String {
    alphanumeric(16).to_ascii_uppercase()
}
