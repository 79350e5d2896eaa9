//! The `/payment/execute` request: its body parsed field by field, its fingerprint, and its
//! `Idempotency-Key` header.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::kernel::error::Error;
use crate::kernel::money::{Currency, Money};
use crate::kernel::validation::FieldErrors;

/// The body of `POST /payment/execute` as sent.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ExecuteRequest {
    /// The merchant's order id.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 255)]
    pub order_id: Option<String>,
    /// Integer minor units (1999 is 19.99 EUR).
    #[schema(value_type = i64, required = true, minimum = 1)]
    pub amount: Option<i64>,
    /// ISO 4217 code.
    #[schema(value_type = String, required = true, pattern = "^[A-Za-z]{3}$")]
    pub currency: Option<String>,
    /// A PSP payment method: a Stripe `pm_…`, an Adyen stored payment method id, or a sandbox test card.
    #[schema(value_type = Option<String>, min_length = 1, max_length = 255, pattern = "^\\s*[!-~]+\\s*$")]
    pub payment_method: Option<String>,
    /// The PSP customer the payment method is stored under: a Stripe Customer id (`cus_…`), or the Adyen
    /// `shopperReference` the token was stored with. Stripe refuses a Customer's PaymentMethod without it;
    /// Adyen needs it for every stored payment method.
    #[schema(value_type = Option<String>, min_length = 3, max_length = 255, pattern = "^\\s*[!-~]+\\s*$")]
    pub customer: Option<String>,
    /// `true` when the shopper is not present to authenticate (a charge your server makes on its own):
    /// the PSP is told so, and a card that still needs authentication comes back `requires_action`.
    /// Default `false`: the shopper is on your checkout and can complete a `next_action`.
    pub off_session: Option<bool>,
    /// Up to 20 string pairs, passed to the PSP. Each routed PSP's own limits apply too (Adyen: keys of at
    /// most 20 characters, values of at most 80; Stripe: no square brackets in keys).
    pub metadata: Option<BTreeMap<String, String>>,
}

/// A payment request that passed validation.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentCommand {
    pub order_id: String,
    pub amount: Money,
    pub payment_method: Option<String>,
    // Left out of the fingerprint when unset, so requests made before this field existed keep theirs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    // Not part of the fingerprint: it says how to call the PSP, not what to charge, and the payment worker
    // sends it for every order, so an order whose payment began before it existed must keep its
    // fingerprint (a mismatch would record an order whose charge may be in flight as not chargeable).
    #[serde(skip_serializing)]
    pub off_session: bool,
    pub metadata: BTreeMap<String, String>,
    /// Where a shopper would come back (Pivota's public base): the request's when
    /// `PIVOTA_PUBLIC_BASE_URL` is empty. Not part of the fingerprint.
    #[serde(skip)]
    pub return_base: Option<String>,
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
        let payment_method = errors.optional("payment_method", request.payment_method, parse_payment_method);
        let customer = errors.optional("customer", request.customer, parse_psp_customer);
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
            (Some(order_id), Some(amount)) if errors.is_empty() => Ok(Self {
                order_id,
                amount,
                payment_method,
                customer,
                off_session: request.off_session.unwrap_or(false),
                metadata,
                return_base: None,
            }),
            _ => Err(errors),
        }
    }

    /// HMAC-SHA256 of the canonical request (serde_json with sorted metadata is deterministic) under the
    /// server-side pepper: a stored fingerprint cannot be used to test guesses of a request offline.
    pub fn fingerprint(&self, hasher: &crate::onboarding::api_key::ApiKeyHasher) -> String {
        hasher.keyed_digest("idempotency-fingerprint", &serde_json::to_vec(self).unwrap_or_default())
    }
}

/// A payment method as given by a merchant or a storefront: a PSP token (1 to 255 printable characters),
/// never a card number, except the sandbox's test cards (normalised to their digits; whether one may be
/// charged, test mode and the sandbox, is decided where the payment is routed).
pub fn parse_payment_method(raw: &str) -> Result<String, &'static str> {
    if crate::payments::card::is_sandbox_test_card(raw) {
        return Ok(raw.chars().filter(char::is_ascii_digit).collect());
    }
    if crate::payments::card::is_card_number(raw) {
        return Err(crate::payments::card::REFUSAL);
    }
    let method = raw.trim();
    if method.is_empty() || method.len() > 255 || !method.bytes().all(|b| b.is_ascii_graphic()) {
        Err("must be 1 to 255 printable characters")
    } else {
        Ok(method.to_owned())
    }
}

/// A PSP customer reference (Stripe `cus_…`, an Adyen `shopperReference`): 3 to 255 printable characters
/// (Adyen's minimum is 3).
pub fn parse_psp_customer(raw: &str) -> Result<String, &'static str> {
    let customer = raw.trim();
    if customer.len() < 3 || customer.len() > 255 || !customer.bytes().all(|b| b.is_ascii_graphic()) {
        Err("must be 3 to 255 printable characters")
    } else {
        Ok(customer.to_owned())
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
        let hasher = crate::onboarding::api_key::ApiKeyHasher::new("pepper".into());
        assert_eq!(a.fingerprint(&hasher), b.fingerprint(&hasher));
        let other =
            PaymentCommand::parse(request(serde_json::json!({"order_id": "o-1", "amount": 2000, "currency": "EUR"})))
                .unwrap();
        assert_ne!(a.fingerprint(&hasher), other.fingerprint(&hasher));
        // Keyed: the same request under another pepper fingerprints differently, and the fingerprint is
        // not a plain digest of the body.
        let other_pepper = crate::onboarding::api_key::ApiKeyHasher::new("another pepper".into());
        assert_ne!(a.fingerprint(&hasher), a.fingerprint(&other_pepper));
        use sha2::Digest as _;
        let plain = hex::encode(sha2::Sha256::digest(serde_json::to_vec(&a).unwrap()));
        assert_ne!(a.fingerprint(&hasher), plain);
    }

    /// Requests made before `customer` and `off_session` existed keep their fingerprint: an order whose
    /// payment began then is paid by the worker (which now sends `off_session`) under the same key.
    #[test]
    fn the_fields_added_later_keep_earlier_fingerprints() {
        let hasher = crate::onboarding::api_key::ApiKeyHasher::new("pepper".into());
        let json = serde_json::json!({"order_id": "o-1", "amount": 1999, "currency": "EUR", "payment_method": "pm_1"});
        let before = PaymentCommand::parse(request(json.clone())).unwrap();
        // PaymentCommand as it was, field for field.
        #[derive(Serialize)]
        struct Earlier {
            order_id: &'static str,
            amount: Money,
            payment_method: Option<&'static str>,
            metadata: BTreeMap<String, String>,
        }
        let earlier =
            Earlier { order_id: "o-1", amount: before.amount, payment_method: Some("pm_1"), metadata: BTreeMap::new() };
        let earlier = hasher.keyed_digest("idempotency-fingerprint", &serde_json::to_vec(&earlier).unwrap());
        assert_eq!(before.fingerprint(&hasher), earlier, "the same bytes as before the fields existed");
        let off_session = PaymentCommand { off_session: true, ..before };
        assert_eq!(off_session.fingerprint(&hasher), earlier);
        let with_customer = PaymentCommand { customer: Some("cus_1".into()), ..off_session };
        assert_ne!(with_customer.fingerprint(&hasher), earlier, "a customer changes what is charged");
    }

    #[test]
    fn card_numbers_are_refused_in_every_form_and_tokens_pass() {
        for number in ["4111111111111111", "4111-1111-1111-1111", "4111 1111 1111 1111", "5555555555554444"] {
            let errors = PaymentCommand::parse(request(
                serde_json::json!({"order_id": "o", "amount": 100, "currency": "EUR", "payment_method": number}),
            ))
            .unwrap_err();
            let error = errors.iter().next().unwrap();
            assert_eq!(error.field, "payment_method");
            assert!(error.message.contains("card number") && !error.message.contains("1111"), "{}", error.message);
        }
        for token in ["pm_card_visa", "8415995487234100", "4242-4242-4242-4242"] {
            let command = PaymentCommand::parse(request(
                serde_json::json!({"order_id": "o", "amount": 100, "currency": "EUR", "payment_method": token}),
            ))
            .unwrap_or_else(|e| panic!("{token}: {e:?}"));
            assert!(command.payment_method.is_some());
        }
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
