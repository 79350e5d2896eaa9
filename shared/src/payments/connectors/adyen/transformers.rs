//! Adyen Checkout API v71 wire format: the `/paymentMethods` and `/payments` requests, the payment response,
//! and Adyen's error body.
//!
//! Sources: Checkout API v71 reference (https://docs.adyen.com/api-explorer/Checkout/71/post/payments and
//! `/post/paymentMethods`); "Create and use tokens"
//! (https://docs.adyen.com/online-payments/tokenization/create-and-use-tokens); "Error codes and messages"
//! (https://docs.adyen.com/development-resources/error-codes).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::payments::connectors::ChargeRequest;
use crate::payments::connectors::minor_units::{AmountRefusal, psp_amount};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentMethodsRequest<'a> {
    pub merchant_account: &'a str,
}

#[derive(Debug, Serialize)]
pub struct Amount<'a> {
    /// Adyen's minor units of the currency ("Currency codes and minor units"), which are not always ISO's.
    pub value: i64,
    pub currency: &'a str,
}

/// A card stored with Adyen (a token), paid without the shopper present.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredCard<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub stored_payment_method_id: &'a str,
}

/// `POST /payments` with a token. Adyen's token guide: later payments with a token carry the token's
/// `shopperReference` (the one it was stored under: a token is found by the pair), and the interaction:
/// - no shopper present (order payments): `shopperInteraction: ContAuth` with
///   `recurringProcessingModel: UnscheduledCardOnFile`, Adyen's model for charges on a non-fixed schedule;
/// - the shopper present (a one-click payment): `Ecommerce` with `CardOnFile`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequest<'a> {
    pub amount: Amount<'a>,
    pub reference: &'a str,
    pub merchant_account: &'a str,
    pub payment_method: StoredCard<'a>,
    pub shopper_reference: &'a str,
    pub shopper_interaction: &'static str,
    pub recurring_processing_model: &'static str,
    pub metadata: BTreeMap<String, String>,
    /// Required by `PaymentRequest` (Checkout API v71); no redirection happens for a stored method.
    pub return_url: &'a str,
}

impl<'a> PaymentRequest<'a> {
    /// `shopper_reference` is the caller's `customer` (there is no default: a token only works under the
    /// reference it was stored with). An amount Adyen cannot represent exactly is refused.
    pub fn new(
        request: &'a ChargeRequest,
        merchant_account: &'a str,
        token: &'a str,
        shopper_reference: &'a str,
        currency: &'a str,
    ) -> Result<Self, AmountRefusal> {
        let value = psp_amount(&super::Adyen, &request.amount)?;
        let mut metadata = request.metadata.clone();
        // Adyen takes metadata values of at most 80 characters (`PaymentRequest.metadata`, error 177); an
        // order id may be longer, and the full one is in `reference`'s payment.
        metadata.insert("order_id".into(), request.order_id.chars().take(80).collect());
        metadata.insert("payment_id".into(), request.payment_id.clone());
        let (shopper_interaction, recurring_processing_model) =
            if request.off_session { ("ContAuth", "UnscheduledCardOnFile") } else { ("Ecommerce", "CardOnFile") };
        Ok(Self {
            amount: Amount { value, currency },
            reference: &request.payment_id,
            merchant_account,
            payment_method: StoredCard { kind: "scheme", stored_payment_method_id: token },
            shopper_reference,
            shopper_interaction,
            recurring_processing_model,
            metadata,
            return_url: &request.return_url,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentResponse {
    #[serde(default)]
    pub result_code: Option<String>,
    #[serde(default)]
    pub psp_reference: Option<String>,
    #[serde(default)]
    pub refusal_reason: Option<String>,
    #[serde(default)]
    pub refusal_reason_code: Option<String>,
    /// What the shopper must do, with `RedirectShopper`, `IdentifyShopper`, `ChallengeShopper`….
    #[serde(default)]
    pub action: Option<Action>,
}

/// `PaymentResponse.action` (one of the `Checkout…Action` schemas): every variant has `type`; redirects
/// carry `url`.
#[derive(Debug, Deserialize)]
pub struct Action {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// Adyen's error body: `{"status", "errorCode", "message", "errorType", "pspReference"}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub error_type: Option<String>,
    #[serde(default)]
    pub psp_reference: Option<String>,
}

impl ErrorBody {
    pub fn parse(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_default()
    }

    /// Error code 901: the API key may not use this merchant account.
    pub fn is_invalid_merchant_account(&self) -> bool {
        self.error_code.as_deref() == Some("901")
    }

    /// `errorType errorCode: message`, with the API key removed should Adyen ever echo it.
    pub fn describe(&self, api_key: &str) -> String {
        let message = self.message.as_deref().unwrap_or("no message");
        let text = format!(
            "{} {}: {message}",
            self.error_type.as_deref().unwrap_or("error"),
            self.error_code.as_deref().unwrap_or("-")
        );
        if api_key.len() >= 8 { text.replace(api_key, "[redacted]") } else { text }
    }
}

/// `Not enough balance` → `not_enough_balance`: Adyen's refusal reason as a decline code.
pub fn decline_code(refusal_reason: &str) -> String {
    let mut code = String::with_capacity(refusal_reason.len());
    for word in refusal_reason.split(|c: char| !c.is_ascii_alphanumeric()).filter(|word| !word.is_empty()) {
        if !code.is_empty() {
            code.push('_');
        }
        code.push_str(&word.to_ascii_lowercase());
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::money::{Currency, Money};

    #[test]
    fn a_token_payment_carries_what_adyen_requires() {
        let request = ChargeRequest {
            amount: Money::new(1000, Currency::parse("EUR").unwrap()).unwrap(),
            payment_method: Some("8415718415172204".into()),
            order_id: "order-1".into(),
            payment_id: "pay_1".into(),
            idempotency_key: "k".into(),
            customer: None,
            off_session: false,
            return_url: "https://pivota.example/console".into(),
            metadata: BTreeMap::new(),
        };
        let request = ChargeRequest { off_session: true, ..request };
        let body = serde_json::to_value(
            PaymentRequest::new(&request, "AcmeECOM", "8415718415172204", "shopper-9", "EUR").unwrap(),
        )
        .unwrap();
        assert_eq!(body["amount"], serde_json::json!({ "value": 1000, "currency": "EUR" }));
        assert_eq!(body["reference"], "pay_1");
        assert_eq!(body["merchantAccount"], "AcmeECOM");
        assert_eq!(
            body["paymentMethod"],
            serde_json::json!({ "type": "scheme", "storedPaymentMethodId": "8415718415172204" })
        );
        assert_eq!(body["shopperReference"], "shopper-9");
        assert_eq!(body["shopperInteraction"], "ContAuth");
        assert_eq!(body["recurringProcessingModel"], "UnscheduledCardOnFile");
        assert_eq!(body["metadata"]["order_id"], "order-1");
        let on_session = ChargeRequest { off_session: false, ..request };
        let body = serde_json::to_value(
            PaymentRequest::new(&on_session, "AcmeECOM", "8415718415172204", "shopper-9", "EUR").unwrap(),
        )
        .unwrap();
        assert_eq!(
            (body["shopperInteraction"].as_str(), body["recurringProcessingModel"].as_str()),
            (Some("Ecommerce"), Some("CardOnFile"))
        );
    }

    #[test]
    fn refusal_reasons_become_snake_case_codes() {
        assert_eq!(decline_code("Not enough balance"), "not_enough_balance");
        assert_eq!(decline_code("3D Not Authenticated"), "3d_not_authenticated");
    }

    #[test]
    fn the_amount_is_in_adyens_minor_units_or_refused() {
        let request = |amount_minor, code| ChargeRequest {
            amount: Money { amount_minor, currency: Currency::parse(code).unwrap() },
            payment_method: Some("token".into()),
            order_id: "order-1".into(),
            payment_id: "pay_1".into(),
            idempotency_key: "k".into(),
            customer: None,
            off_session: false,
            return_url: "https://pivota.example/console".into(),
            metadata: BTreeMap::new(),
        };
        let clp = request(5000, "CLP");
        assert_eq!(PaymentRequest::new(&clp, "AcmeECOM", "token", "shopper-1", "CLP").unwrap().amount.value, 500_000);
        let cve = request(1234, "CVE");
        assert_eq!(PaymentRequest::new(&cve, "AcmeECOM", "token", "shopper-1", "CVE").unwrap_err().field, "amount");
    }
}
