//! `execute_payment` and `get_payment`: `/payment/execute`, and one payment.

use std::collections::BTreeMap;

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::PivotaMcp;
use crate::views::PaymentView;
use pivota::kernel::error::Error;
use pivota::payments::{self, ExecuteRequest, PaymentOutcome};

/// `/payment/execute`'s body, plus its `Idempotency-Key` header as an argument.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecutePaymentArgs {
    /// Unique per payment, 1 to 255 printable ASCII characters. Calling again with the same key and the same
    /// arguments answers with the first result and never charges twice; the same key with other arguments is
    /// refused.
    pub idempotency_key: String,
    /// The merchant's order id.
    pub order_id: Option<String>,
    /// Integer minor units (1999 is 19.99 EUR).
    pub amount: Option<i64>,
    /// ISO 4217 code.
    pub currency: Option<String>,
    /// A PSP payment method: a Stripe `pm_…`, an Adyen stored payment method id, or a sandbox test card.
    /// Never a card number.
    pub payment_method: Option<String>,
    /// The PSP customer the payment method is stored under (Stripe `cus_…`, Adyen shopperReference).
    pub customer: Option<String>,
    /// true when no shopper is present to authenticate.
    pub off_session: Option<bool>,
    /// Up to 20 string pairs, passed to the PSP.
    pub metadata: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetPaymentArgs {
    /// The payment's `payment_id` (from execute_payment or an order).
    pub payment_id: String,
}

#[tool_router(router = payment_tools, vis = "pub(super)")]
impl PivotaMcp {
    #[tool(
        description = "Charge a payment through the merchant's routed PSP, exactly as POST /payment/execute: in the API \
                       key's mode, once per idempotency_key. A decline, a payment that needs the shopper's action, or a \
                       refusal comes back as an error carrying the same problem body as the REST API (with the \
                       payment's fields). Moves money with a live key: confirm with the user first.",
        annotations(
            title = "Execute a payment",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    pub async fn execute_payment(
        &self,
        Parameters(args): Parameters<ExecutePaymentArgs>,
    ) -> Result<Json<PaymentView>, String> {
        // The answer comes within the payment budget (25 s), as the REST route's does.
        let deadline = std::time::Instant::now() + self.app.settings.connectors.payment_budget;
        let request = ExecuteRequest {
            order_id: args.order_id,
            amount: args.amount,
            currency: args.currency,
            payment_method: args.payment_method,
            customer: args.customer,
            off_session: args.off_session,
            metadata: args.metadata,
        };
        let key = Some(args.idempotency_key.as_str());
        let base = self.public_base.to_string();
        let payment = pivota_http::payments::charge(self.app.as_ref(), &self.caller, key, request, base, deadline)
            .await
            .map_err(|error| self.refuse("execute_payment", &name_the_argument(error)))?;
        match payment.outcome() {
            PaymentOutcome::Succeeded => Ok(Json(PaymentView::of(&payment))),
            // The REST route's own answer for this payment: the same problem body, status and fields.
            _ => Err(serde_json::to_string(&pivota_http::payments::render(&payment).1).unwrap_or_default()),
        }
    }

    #[tool(
        description = "One payment: status, amount, PSP, PSP reference, decline code, and each attempt at a PSP.",
        annotations(title = "Get a payment", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn get_payment(&self, Parameters(args): Parameters<GetPaymentArgs>) -> Result<Json<PaymentView>, String> {
        payments::get(self.app.as_ref(), &self.caller.merchant_id, args.payment_id.trim())
            .await
            .and_then(|found| found.ok_or(Error::NotFound("payment")))
            .map(|payment| Json(PaymentView::of(&payment)))
            .map_err(|e| self.refuse("get_payment", &e))
    }
}

/// The REST route reads the key from its `Idempotency-Key` header; here it is the `idempotency_key`
/// argument, and the refusal names that.
fn name_the_argument(error: Error) -> Error {
    match error {
        Error::BadParameter { field, .. } if field == "Idempotency-Key" => {
            Error::bad_parameter("idempotency_key", "is required: 1 to 255 printable ASCII characters")
        }
        other => other,
    }
}
