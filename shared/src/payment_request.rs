//! The `/payment/execute` request: its body parsed field by field, its fingerprint, and its
//! `Idempotency-Key` header.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::money::{Currency, Money};
use crate::validation::FieldErrors;

/// The body of `POST /payment/execute` as sent.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ExecuteRequest {
    /// The merchant's order id.
    pub order_id: Option<String>,
    /// Integer minor units (1999 is 19.99 EUR).
    pub amount: Option<i64>,
    /// ISO 4217 code.
    pub currency: Option<String>,
    /// A PSP payment method: a Stripe `pm_…`, an Adyen stored payment method id, or a sandbox test card.
    pub payment_method: Option<String>,
    /// Up to 20 string pairs, passed to the PSP.
    pub metadata: Option<BTreeMap<String, String>>,
}

/// A payment request that passed validation.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentCommand {
    pub order_id: String,
    pub amount: Money,
    pub payment_method: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

impl PaymentCommand {
    pub fn parse(request: ExecuteRequest) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let order_id = errors.field("order_id", request.order_id, |raw| {
            let id = raw.trim();
            if id.is_empty() || id.len() > 255 || id.chars().any(char::is_control) {
                Err("must be 1 to 255 characters without control characters")
            } else {
                Ok(id.to_owned())
            }
        });
        let currency = errors.field("currency", request.currency, Currency::parse);
        let amount = match (request.amount, currency) {
            (None, _) => {
                errors.push("amount", "is required");
                None
            }
            (Some(amount), Some(currency)) => {
                Money::new(amount, currency).map_err(|e| errors.push("amount", e.to_string())).ok()
            }
            (Some(_), None) => None,
        };
        let payment_method = errors.optional("payment_method", request.payment_method, |raw| {
            let method = raw.trim();
            if method.is_empty() || method.len() > 255 || !method.bytes().all(|b| b.is_ascii_graphic()) {
                Err("must be 1 to 255 printable characters")
            } else {
                Ok(method.to_owned())
            }
        });
        let metadata = request.metadata.unwrap_or_default();
        if metadata.len() > 20 {
            errors.push("metadata", "must have at most 20 keys");
        }
        for (key, value) in &metadata {
            if key.is_empty() || key.chars().count() > 40 || value.chars().count() > 500 {
                errors.push(format!("metadata.{key}"), "keys must be 1 to 40 characters and values at most 500");
            }
        }
        match (order_id, amount) {
            (Some(order_id), Some(amount)) if errors.is_empty() => {
                Ok(Self { order_id, amount, payment_method, metadata })
            }
            _ => Err(errors),
        }
    }

    /// SHA-256 of the canonical request (serde_json with sorted metadata is deterministic).
    pub fn fingerprint(&self) -> String {
        hex::encode(Sha256::digest(serde_json::to_vec(self).unwrap_or_default()))
    }
}

/// Keeps the last four digits of a card number; other payment method references are not secret.
pub(crate) fn mask_payment_method(method: &Option<String>) -> Option<String> {
    method.as_ref().map(|m| {
        if m.len() >= 12 && m.bytes().all(|b| b.is_ascii_digit()) {
            format!("****{}", &m[m.len() - 4..])
        } else {
            m.clone()
        }
    })
}

/// An Idempotency-Key header: 1 to 255 printable ASCII characters.
pub fn parse_idempotency_key(raw: Option<&str>) -> Result<String, Error> {
    let key = raw.map(str::trim).unwrap_or_default();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::bad_parameter("Idempotency-Key", "the header is required: 1 to 255 printable characters"));
    }
    Ok(key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: serde_json::Value) -> ExecuteRequest {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_valid_request_parses_and_fingerprints_deterministically() {
        let json =
            serde_json::json!({"order_id": "o-1", "amount": 1999, "currency": "eur", "metadata": {"b": "2", "a": "1"}});
        let a = PaymentCommand::parse(request(json.clone())).unwrap();
        let b = PaymentCommand::parse(request(json)).unwrap();
        assert_eq!(a.amount.currency.code(), "EUR");
        assert_eq!(a.fingerprint(), b.fingerprint());
        let other =
            PaymentCommand::parse(request(serde_json::json!({"order_id": "o-1", "amount": 2000, "currency": "EUR"})))
                .unwrap();
        assert_ne!(a.fingerprint(), other.fingerprint());
    }

    #[test]
    fn each_invalid_field_is_named() {
        let errors = PaymentCommand::parse(request(serde_json::json!({"amount": 0, "currency": "EURO"}))).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["order_id", "currency"]);
        let errors =
            PaymentCommand::parse(request(serde_json::json!({"order_id": "o", "amount": -5, "currency": "EUR"})))
                .unwrap_err();
        assert_eq!(errors.iter().next().unwrap().field, "amount");
    }

    #[test]
    fn card_numbers_keep_only_their_last_four_digits() {
        assert_eq!(mask_payment_method(&Some("4242424242424242".into())), Some("****4242".into()));
        assert_eq!(mask_payment_method(&Some("pm_card_visa".into())), Some("pm_card_visa".into()));
    }

    #[test]
    fn idempotency_keys_are_required_and_bounded() {
        assert!(parse_idempotency_key(None).is_err());
        assert!(parse_idempotency_key(Some("  ")).is_err());
        assert!(parse_idempotency_key(Some(&"k".repeat(256))).is_err());
        assert_eq!(parse_idempotency_key(Some("order-1-attempt")).unwrap(), "order-1-attempt");
    }
}
