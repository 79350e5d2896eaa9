//! Orders and payments.

use schemars::JsonSchema;
use serde::Serialize;

use super::{MAX_LINES, bounded, bounded_opt, label, rfc3339};
use pivota::orders::Order;
use pivota::payments::Payment;

#[derive(Debug, Serialize, JsonSchema)]
pub struct OrderLineView {
    pub title: String,
    pub quantity: i64,
    pub sku: Option<String>,
    /// Integer minor units of the order's currency.
    pub price_minor: i64,
}

/// What must happen before a payment that requires action can complete.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NextActionView {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: Option<String>,
    pub description: String,
}

impl NextActionView {
    fn of(next: &pivota::payments::connectors::NextAction) -> Self {
        Self { kind: next.kind.clone(), url: next.url.clone(), description: bounded(&next.description) }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct OrderView {
    pub order_id: String,
    pub store_id: String,
    /// The store's own id of the order.
    pub external_id: String,
    /// The store's name for it (Shopify's `#1042`).
    pub name: Option<String>,
    /// The order's total, integer minor units.
    pub amount: i64,
    pub currency: String,
    /// received, awaiting_payment_method, already_paid, paid, declined, requires_action, failed or
    /// not_chargeable.
    pub status: String,
    pub payment_id: Option<String>,
    pub psp: Option<String>,
    pub psp_reference: Option<String>,
    pub decline_code: Option<String>,
    pub next_action: Option<NextActionView>,
    pub failure: Option<String>,
    /// Why the order is `not_chargeable`.
    pub reason: Option<String>,
    /// Whether the store was told the order is paid: pending, done or failed.
    pub write_back: String,
    pub write_back_error: Option<String>,
    /// The first lines (at most 50).
    pub line_items: Vec<OrderLineView>,
    pub line_count: usize,
    pub created_at: String,
    pub updated_at: String,
}

impl OrderView {
    pub fn of(order: &Order) -> Self {
        let not_chargeable = order.status == pivota::orders::OrderStatus::NotChargeable;
        Self {
            order_id: order.order_id.clone(),
            store_id: order.store_id.clone(),
            external_id: order.external_id.clone(),
            name: bounded_opt(order.name.as_deref()),
            amount: order.total.amount_minor,
            currency: order.total.currency.code().to_owned(),
            status: label(&order.status),
            payment_id: order.payment_id.clone(),
            psp: order.psp.clone(),
            psp_reference: order.psp_reference.clone(),
            decline_code: order.decline_code.clone(),
            next_action: order.next_action.as_ref().map(NextActionView::of),
            failure: bounded_opt(order.failure.as_deref()),
            reason: if not_chargeable { bounded_opt(order.failure.as_deref()) } else { None },
            write_back: label(&order.write_back),
            write_back_error: bounded_opt(order.write_back_error.as_deref()),
            line_items: order
                .line_items
                .iter()
                .take(MAX_LINES)
                .map(|line| OrderLineView {
                    title: bounded(&line.title),
                    quantity: line.quantity,
                    sku: bounded_opt(line.sku.as_deref()),
                    price_minor: line.price_minor,
                })
                .collect(),
            line_count: order.line_items.len(),
            created_at: rfc3339(&order.created_at),
            updated_at: rfc3339(&order.updated_at),
        }
    }
}

/// A page of orders, newest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OrderPage {
    pub items: Vec<OrderView>,
    pub next_cursor: Option<String>,
}

/// One call to a PSP.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AttemptView {
    pub psp: String,
    pub psp_request_id: Option<String>,
    /// succeeded, declined, not_processed, unknown, refused or rejected_credentials.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub latency_ms: u64,
    pub at: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PaymentView {
    pub payment_id: String,
    pub order_id: String,
    /// processing, succeeded, declined, requires_action, failed or unknown.
    pub status: String,
    /// Integer minor units.
    pub amount: i64,
    pub currency: String,
    pub psp: Option<String>,
    pub psp_reference: Option<String>,
    pub decline_code: Option<String>,
    pub next_action: Option<NextActionView>,
    pub failure: Option<String>,
    /// The payment method as given (a sandbox test card keeps its last four digits only).
    pub payment_method: Option<String>,
    /// test or live.
    pub mode: String,
    pub attempts: Vec<AttemptView>,
    pub metadata: std::collections::BTreeMap<String, String>,
    pub created_at: String,
    pub updated_at: String,
}

impl PaymentView {
    pub fn of(payment: &Payment) -> Self {
        Self {
            payment_id: payment.payment_id.clone(),
            order_id: payment.order_id.clone(),
            status: label(&payment.status),
            amount: payment.amount.amount_minor,
            currency: payment.amount.currency.code().to_owned(),
            psp: payment.psp.map(|psp| psp.as_str().to_owned()),
            psp_reference: payment.psp_reference.clone(),
            decline_code: payment.decline_code.clone(),
            next_action: payment.next_action.as_ref().map(NextActionView::of),
            failure: bounded_opt(payment.failure.as_deref()),
            payment_method: payment.payment_method.clone(),
            mode: payment.mode.as_str().to_owned(),
            // A payment has a few attempts: one per PSP tried, and retries of an unknown answer.
            attempts: payment
                .attempts
                .iter()
                .map(|a| AttemptView {
                    psp: a.psp.as_str().to_owned(),
                    psp_request_id: a.psp_request_id.clone(),
                    outcome: a.outcome.clone(),
                    detail: bounded_opt(a.detail.as_deref()),
                    latency_ms: a.latency_ms,
                    at: rfc3339(&a.at),
                })
                .collect(),
            metadata: payment.metadata.clone(),
            created_at: rfc3339(&payment.created_at),
            updated_at: rfc3339(&payment.updated_at),
        }
    }
}
