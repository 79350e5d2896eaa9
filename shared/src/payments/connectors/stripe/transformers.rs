//! Stripe's wire format: the PaymentIntent create form, and the objects and errors Stripe answers with.
//!
//! Sources: Stripe API reference "Create a PaymentIntent" and "The PaymentIntent object"
//! (https://docs.stripe.com/api/payment_intents), "Errors" (https://docs.stripe.com/api/errors),
//! "Balance" (https://docs.stripe.com/api/balance).

use serde::Deserialize;

use crate::payments::connectors::ChargeRequest;
use crate::payments::connectors::minor_units::{AmountRefusal, psp_amount};

/// Stripe's default test PaymentMethod (a Visa that succeeds; "Testing", https://docs.stripe.com/testing).
pub const TEST_PAYMENT_METHOD: &str = "pm_card_visa";

/// The form fields of `POST /v1/payment_intents`, in order.
///
/// - `amount` is in Stripe's minor unit of the currency ([`psp_amount`]: 10000 ISK is `1000000`), and
///   `currency` is the lowercase ISO code. An amount Stripe cannot represent exactly is refused.
/// - `confirm=true` creates and confirms in one call.
/// - `customer` when the payment method belongs to one (Stripe refuses a Customer's PaymentMethod without
///   it: "The `payment_method` parameter supplied … belongs to the Customer …").
/// - `off_session=true` when no shopper is present (order payments): the issuer is told so, and a card that
///   still wants authentication fails with `authentication_required` instead of waiting for a challenge
///   ("Charge the saved payment method later", https://docs.stripe.com/payments/save-during-payment).
/// - `automatic_payment_methods[enabled]=true` with `[allow_redirects]=never`: card-like methods only, so
///   confirming needs no `return_url` and never ends in a redirect we could not follow.
/// - Metadata: the request's own keys, then `order_id` and `payment_id`, which win over same-named ones.
pub fn payment_intent_form(request: &ChargeRequest) -> Result<Vec<(String, String)>, AmountRefusal> {
    let amount = psp_amount(&super::Stripe, &request.amount)?;
    let mut form = vec![
        ("amount".to_owned(), amount.to_string()),
        ("currency".to_owned(), request.amount.currency.code().to_ascii_lowercase()),
        ("payment_method".to_owned(), request.payment_method.clone().unwrap_or_else(|| TEST_PAYMENT_METHOD.into())),
        ("confirm".to_owned(), "true".to_owned()),
        ("automatic_payment_methods[enabled]".to_owned(), "true".to_owned()),
        ("automatic_payment_methods[allow_redirects]".to_owned(), "never".to_owned()),
    ];
    if let Some(customer) = &request.customer {
        form.push(("customer".to_owned(), customer.clone()));
    }
    if request.off_session {
        form.push(("off_session".to_owned(), "true".to_owned()));
    }
    for (key, value) in &request.metadata {
        if key != "order_id" && key != "payment_id" {
            form.push((format!("metadata[{key}]"), value.clone()));
        }
    }
    form.push(("metadata[order_id]".to_owned(), request.order_id.clone()));
    form.push(("metadata[payment_id]".to_owned(), request.payment_id.clone()));
    Ok(form)
}

#[derive(Debug, Deserialize)]
pub struct Balance {
    pub livemode: bool,
}

#[derive(Debug, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub last_payment_error: Option<ErrorObject>,
    #[serde(default)]
    pub next_action: Option<StripeNextAction>,
}

/// `PaymentIntent.next_action`: `type` names the step; `redirect_to_url.url` is where a redirect goes.
#[derive(Debug, Deserialize)]
pub struct StripeNextAction {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub redirect_to_url: Option<RedirectToUrl>,
}

#[derive(Debug, Deserialize)]
pub struct RedirectToUrl {
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ErrorEnvelope {
    pub error: ErrorObject,
}

/// Stripe's error object. Only the fields we use; all but `type` are nullable.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorObject {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub decline_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub payment_intent: Option<PaymentIntentRef>,
}

#[derive(Debug, Deserialize)]
pub struct PaymentIntentRef {
    pub id: String,
}

impl ErrorObject {
    /// Parses an error body; a body that is not Stripe's error JSON yields an empty error object.
    pub fn parse(body: &[u8]) -> Self {
        serde_json::from_slice::<ErrorEnvelope>(body).map(|envelope| envelope.error).unwrap_or_default()
    }

    /// `type` / `code` and the message, with any key material removed.
    pub fn describe(&self, api_key: &str) -> String {
        let message = redact_keys(self.message.as_deref().unwrap_or("no message"), api_key);
        match (&self.kind, &self.code) {
            (kind, Some(code)) if !kind.is_empty() => format!("{kind} ({code}): {message}"),
            (kind, None) if !kind.is_empty() => format!("{kind}: {message}"),
            _ => message,
        }
    }
}

/// Removes API key material from a Stripe message. Stripe echoes a masked key ("Invalid API Key provided:
/// sk_test_****abcd"); even masked, we drop every word that is or contains a Stripe key (`sk_`, `rk_`, `pk_`
/// prefixes) and any occurrence of the key itself.
pub fn redact_keys(message: &str, api_key: &str) -> String {
    let message = if api_key.len() >= 8 { message.replace(api_key, "[redacted]") } else { message.to_owned() };
    message
        .split(' ')
        .map(|word| if ["sk_", "rk_", "pk_"].iter().any(|prefix| word.contains(prefix)) { "[redacted]" } else { word })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::kernel::money::{Currency, Money};

    #[test]
    fn a_masked_key_is_removed_from_the_message() {
        let redacted = redact_keys("Invalid API Key provided: sk_test_****abcd", "sk_test_123456789abcd");
        assert_eq!(redacted, "Invalid API Key provided: [redacted]");
        let quoted = redact_keys("The provided key 'rk_live_****wxyz' does not have permission", "x");
        assert!(!quoted.contains("rk_live") && !quoted.contains("wxyz"), "{quoted}");
        assert_eq!(redact_keys("leaked secretkey123 here", "secretkey123"), "leaked [redacted] here");
    }

    #[test]
    fn the_form_sends_lowercase_currency_and_our_metadata_wins() {
        let request = ChargeRequest {
            amount: Money::new(1999, Currency::parse("EUR").unwrap()).unwrap(),
            payment_method: None,
            order_id: "order-7".into(),
            payment_id: "pay_7".into(),
            idempotency_key: "k".into(),
            customer: None,
            off_session: false,
            return_url: "https://pivota.example/console".into(),
            metadata: BTreeMap::from([("order_id".into(), "spoofed".into()), ("channel".into(), "web".into())]),
        };
        let form = payment_intent_form(&request).unwrap();
        let get = |name: &str| form.iter().filter(|(key, _)| key == name).map(|(_, v)| v.as_str()).collect::<Vec<_>>();
        assert_eq!(get("currency"), ["eur"]);
        assert_eq!(get("amount"), ["1999"]);
        assert_eq!(get("payment_method"), [TEST_PAYMENT_METHOD]);
        assert_eq!(get("metadata[order_id]"), ["order-7"]);
        assert_eq!(get("metadata[channel]"), ["web"]);
        assert!(get("customer").is_empty() && get("off_session").is_empty());
        let order_payment = ChargeRequest { customer: Some("cus_9".into()), off_session: true, ..request };
        let form = payment_intent_form(&order_payment).unwrap();
        let get = |name: &str| form.iter().filter(|(key, _)| key == name).map(|(_, v)| v.as_str()).collect::<Vec<_>>();
        assert_eq!((get("customer"), get("off_session")), (vec!["cus_9"], vec!["true"]));
    }

    #[test]
    fn the_form_carries_stripes_amount_or_nothing() {
        let request = |amount_minor, code| ChargeRequest {
            amount: Money { amount_minor, currency: Currency::parse(code).unwrap() },
            payment_method: None,
            order_id: "order-7".into(),
            payment_id: "pay_7".into(),
            idempotency_key: "k".into(),
            customer: None,
            off_session: false,
            return_url: "https://pivota.example/console".into(),
            metadata: BTreeMap::new(),
        };
        let amount = |form: Vec<(String, String)>| form.into_iter().find(|(key, _)| key == "amount").unwrap().1;
        assert_eq!(amount(payment_intent_form(&request(10_000, "ISK")).unwrap()), "1000000");
        assert_eq!(amount(payment_intent_form(&request(500, "JPY")).unwrap()), "500");
        assert_eq!(payment_intent_form(&request(1255, "KWD")).unwrap_err().field, "amount");
    }
}
