//! Payments: `/payment/execute` through the routed PSP, exactly once per idempotency key.
//!
//! | item    | pk              | sk                    | gsi1pk                                  | gsi1sk         |
//! |---------|-----------------|-----------------------|-----------------------------------------|----------------|
//! | payment | `MERCHANT#<id>` | `PAYMENT#<payment_id>`| `MERCHANT#<id>#PAYMENTS#<status>`       | `<payment_id>` |
//!
//! - `request.rs`: the request body, parsed field by field, and its fingerprint;
//! - `eligibility.rs`: the merchant's connections and routing (read once per payment) and which PSPs may
//!   take this payment;
//! - `execute.rs`: the flow, from claiming the idempotency key to storing the outcome;
//! - `idempotency.rs`: the key's record, retries and replays.
//!
//! Services return the [`Payment`]; callers act on its [`PaymentOutcome`]. The HTTP rendering (statuses,
//! problem documents) is the API's (`shared/http/src/payments.rs`).

pub mod card;
pub mod connectors;
pub mod psp;
pub mod psp_connections;
pub mod routing;

mod eligibility;
mod execute;
pub mod idempotency;
pub mod request;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::kernel::error::Error;
use crate::kernel::money::Money;
use crate::onboarding::merchant::MerchantId;
use crate::payments::connectors::NextAction;
use crate::payments::{connectors::PspMode, psp::PspKind};
use crate::ports::HasTable;
use crate::ports::{Index, ItemKey, PageCursor, Query};
use crate::record::Record;

pub use eligibility::PaymentSetup;
pub use execute::{Payer, execute};
pub use request::{ExecuteRequest, PaymentCommand, parse_idempotency_key};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Being charged now.
    Processing,
    Succeeded,
    /// The PSP declined it; `decline_code` says why.
    Declined,
    /// Not charged: the shopper must act first (authenticate the card, follow a redirect); `next_action`
    /// says what. Final for its Idempotency-Key: the PSP replays the same answer.
    RequiresAction,
    /// No PSP charged it, or the PSP refused the request. Retrying with the same key tries again.
    Failed,
    /// The PSP's answer was lost (a timeout, a 5xx). Retry with the same Idempotency-Key: the PSP is asked
    /// again with the same PSP idempotency key and answers with the original result.
    Unknown,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Processing => "processing",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Declined => "declined",
            PaymentStatus::RequiresAction => "requires_action",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Unknown => "unknown",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Processing, Self::Succeeded, Self::Declined, Self::RequiresAction, Self::Failed, Self::Unknown]
            .into_iter()
            .find(|status| status.as_str() == raw)
    }
}

/// What a payment came to, as its callers act on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// Charged.
    Succeeded,
    /// The PSP declined it (`decline_code`).
    Declined,
    /// Not charged: the shopper must act first (`next_action`). Final for its idempotency key.
    RequiresAction,
    /// A PSP refused the request itself (`failure`): the same request would be refused again.
    Refused,
    /// Nothing was charged, or the PSP's answer was lost (`failure`): retry with the same idempotency key,
    /// which continues this payment and never charges twice.
    Retry,
}

/// One call to a PSP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PaymentAttempt {
    pub psp: PspKind,
    /// The PSP's own request id, for its support.
    pub psp_request_id: Option<String>,
    /// `succeeded`, `declined`, `not_processed`, `unknown`, `refused` or `rejected_credentials`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub latency_ms: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub payment_id: String,
    pub merchant_id: MerchantId,
    pub order_id: String,
    pub amount: Money,
    /// The payment method as given, except card numbers (sandbox test cards) which keep their last four.
    pub payment_method: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub mode: PspMode,
    pub status: PaymentStatus,
    pub psp: Option<PspKind>,
    pub psp_reference: Option<String>,
    pub decline_code: Option<String>,
    /// With `requires_action`: what the shopper must do.
    #[serde(default)]
    pub next_action: Option<NextAction>,
    pub failure: Option<String>,
    pub attempts: Vec<PaymentAttempt>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(skip)]
    pub version: u64,
}

pub(crate) fn payment_key(merchant_id: &MerchantId, payment_id: &str) -> ItemKey {
    ItemKey::new(format!("MERCHANT#{merchant_id}"), format!("PAYMENT#{payment_id}"))
}

fn status_partition(merchant_id: &MerchantId, status: PaymentStatus) -> String {
    format!("MERCHANT#{merchant_id}#PAYMENTS#{}", status.as_str())
}

impl Record for Payment {
    fn key(&self) -> ItemKey {
        payment_key(&self.merchant_id, &self.payment_id)
    }

    /// Listed by status.
    fn gsi1(&self) -> Option<ItemKey> {
        Some(ItemKey::new(status_partition(&self.merchant_id, self.status), self.payment_id.clone()))
    }

    crate::record::version_field!();
}

impl Payment {
    /// The outcome of the payment in its current state. A payment still `processing` (being charged by
    /// another request) is not final: `Retry`.
    pub fn outcome(&self) -> PaymentOutcome {
        match self.status {
            PaymentStatus::Succeeded => PaymentOutcome::Succeeded,
            PaymentStatus::Declined => PaymentOutcome::Declined,
            PaymentStatus::RequiresAction => PaymentOutcome::RequiresAction,
            // Failed at a PSP that answered: it refused the request. Failed with no PSP: none charged.
            PaymentStatus::Failed if self.psp.is_some() => PaymentOutcome::Refused,
            PaymentStatus::Failed | PaymentStatus::Unknown | PaymentStatus::Processing => PaymentOutcome::Retry,
        }
    }

    /// PSP messages may echo what they were sent: nothing card-like is kept or returned.
    fn redact_card_numbers(&mut self) {
        use crate::payments::card::redact_card_numbers as redact;
        self.failure = self.failure.as_deref().map(redact);
        self.decline_code = self.decline_code.as_deref().map(redact);
        for attempt in &mut self.attempts {
            attempt.detail = attempt.detail.as_deref().map(redact);
        }
    }

    /// The payment as the API shows it.
    pub fn view(&self) -> serde_json::Value {
        serde_json::json!({
            "payment_id": self.payment_id,
            "order_id": self.order_id,
            "status": self.status,
            "amount": self.amount.amount_minor,
            "currency": self.amount.currency,
            "psp": self.psp,
            "psp_reference": self.psp_reference,
            "decline_code": self.decline_code,
            "next_action": self.next_action,
            "failure": self.failure,
            "payment_method": self.payment_method,
            "mode": self.mode,
            "attempts": self.attempts,
            "metadata": self.metadata,
            "created_at": self.created_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "updated_at": self.updated_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        })
    }
}

/// One of the merchant's payments, by its id.
pub async fn get(app: &impl HasTable, merchant_id: &MerchantId, payment_id: &str) -> Result<Option<Payment>, Error> {
    app.table().get(&payment_key(merchant_id, payment_id)).await?.as_ref().map(Payment::from_item).transpose()
}

/// A page of a merchant's payments, newest first, optionally in one status.
pub async fn list(
    app: &impl HasTable,
    merchant_id: &MerchantId,
    status: Option<PaymentStatus>,
    limit: u32,
    cursor: Option<PageCursor>,
) -> Result<(Vec<Payment>, Option<PageCursor>), Error> {
    let mut query = match status {
        Some(status) => Query::new(Index::Gsi1, status_partition(merchant_id, status), limit),
        None => {
            let mut query = Query::new(Index::Primary, format!("MERCHANT#{merchant_id}"), limit);
            query.sk_prefix = Some("PAYMENT#".into());
            query
        }
    };
    query.cursor = cursor;
    query.descending = true;
    let page = app.table().query(query).await?;
    let payments = page.items.iter().map(Payment::from_item).collect::<Result<_, _>>()?;
    Ok((payments, page.next))
}
