//! What the HTTP layer's failures mean for money, shared by the connectors.
//!
//! The line is whether the request could have reached the PSP: a failure to connect (refused, DNS, TLS
//! handshake, connect timeout) means nothing was sent, so nothing was processed; any failure after that (a
//! timeout waiting for the answer, a reset connection, an unreadable body) leaves the PSP's action unknown.

use std::time::Duration;

use super::ConnectorError;

/// Whether the call can move money, which decides how an unknown outcome is classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallKind {
    /// A read (credential verification): nothing is charged whatever happened, so every failure is
    /// "not processed".
    Read,
    /// A charge: a failure after sending is ambiguous.
    Charge,
}

/// Classifies a `reqwest` failure. The reason names the PSP and the failure kind only: never a URL, a
/// header, or a key.
pub(crate) fn send_failure(psp: &str, kind: CallKind, error: &reqwest::Error) -> ConnectorError {
    let not_sent = error.is_connect() || error.is_builder();
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "failed reading the response"
    } else {
        "failed in transit"
    };
    if not_sent {
        ConnectorError::NotProcessed {
            reason: format!("{psp}: the request {what}; nothing was sent"),
            retry_after: None,
        }
    } else if kind == CallKind::Read {
        ConnectorError::NotProcessed {
            reason: format!("{psp}: the request {what}; a read moves no money"),
            retry_after: None,
        }
    } else {
        ConnectorError::Ambiguous { reason: format!("{psp}: the request {what} after it was sent") }
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by the PSPs we call, and is ignored).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A header's value as text, if present and printable.
pub(crate) fn header(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}

/// The idempotency key as sent to a PSP that accepts at most `max_len` characters (Adyen 64, "API
/// idempotency"; Stripe 255, "Idempotent requests"). A longer key is replaced by its SHA-256 in hex (64
/// characters): still deterministic, so a retry sends the same key, and still unique in practice.
pub(crate) fn idempotency_key(key: &str, max_len: usize) -> String {
    use sha2::{Digest, Sha256};
    if key.len() <= max_len { key.to_owned() } else { hex::encode(Sha256::digest(key.as_bytes())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_idempotency_keys_are_hashed_deterministically() {
        assert_eq!(idempotency_key("short", 64), "short");
        let long = "k".repeat(300);
        let hashed = idempotency_key(&long, 64);
        assert_eq!(hashed.len(), 64);
        assert_eq!(hashed, idempotency_key(&long, 64));
        assert_ne!(hashed, idempotency_key(&"k".repeat(301), 64));
    }
}
