//! Payments: `/payment/execute` through the routed PSP, exactly once per idempotency key. The request
//! itself is parsed in `payment_request.rs`.
//!
//! | item    | pk              | sk                    | gsi1pk                                  | gsi1sk         |
//! |---------|-----------------|-----------------------|-----------------------------------------|----------------|
//! | payment | `MERCHANT#<id>` | `PAYMENT#<payment_id>`| `MERCHANT#<id>#PAYMENTS#<status>`       | `<payment_id>` |
//!
//! Flow: claim the idempotency key and create the payment (`processing`) in one transaction; charge the
//! routed PSPs in order, falling back only when a PSP certainly did not charge; then store the outcome
//! and the response together in one transaction. See `idempotency.rs` for retries and replays.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::api_keys::AuthenticatedMerchant;
use crate::app::App;
use crate::connectors::{ChargeOutcome, ChargeRequest, ConnectorError, NextAction};
use crate::error::Error;
use crate::idempotency::{self, Claim, IdempotencyRecord, KeyState, StoredResponse};
use crate::item::{from_item, to_attributes};
use crate::merchant::{MerchantId, MerchantStatus};
use crate::merchants::Merchants;
use crate::money::Money;
use crate::payment_request::mask_payment_method;
pub use crate::payment_request::{ExecuteRequest, PaymentCommand, parse_idempotency_key};
use crate::ports::{Condition, Index, Item, ItemKey, PageCursor, Query, StoreError, WriteOp};
use crate::psp::{PspKind, PspMode};
use crate::psp_connections::{self, PspConnection};
use crate::routing;

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

fn payment_key(merchant_id: &MerchantId, payment_id: &str) -> ItemKey {
    ItemKey::new(format!("MERCHANT#{merchant_id}"), format!("PAYMENT#{payment_id}"))
}

fn status_partition(merchant_id: &MerchantId, status: PaymentStatus) -> String {
    format!("MERCHANT#{merchant_id}#PAYMENTS#{}", status.as_str())
}

impl Payment {
    fn to_item(&self, version: u64) -> Result<Item, Error> {
        let mut item = Item::new(payment_key(&self.merchant_id, &self.payment_id), to_attributes(self)?);
        item.gsi1 = Some(ItemKey::new(status_partition(&self.merchant_id, self.status), self.payment_id.clone()));
        item.version = version;
        Ok(item)
    }

    fn from_item(item: &Item) -> Result<Self, Error> {
        let mut payment: Self = from_item(item)?;
        payment.version = item.version;
        Ok(payment)
    }

    fn update_op(&self) -> Result<WriteOp, Error> {
        Ok(WriteOp::Put { item: self.to_item(self.version + 1)?, condition: Condition::VersionIs(self.version) })
    }

    /// PSP messages may echo what they were sent: nothing card-like is kept or returned.
    fn redact_card_numbers(&mut self) {
        use crate::card::redact_card_numbers as redact;
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

/// Kept back from the deadline for storing the outcome after the last PSP call.
const FINISH_MARGIN: Duration = Duration::from_secs(2);
/// A PSP is not called with less time than this left: a call cut shorter would only end ambiguous.
const MIN_PSP_CALL: Duration = Duration::from_secs(1);

/// Executes a payment, or replays or continues the one already made with this idempotency key, answering
/// by `deadline`: PSP calls are cut to the time left, and the key's lease lasts until the deadline (plus
/// [`idempotency::LEASE_SLACK`]), so a retry after a lost answer is served soon.
pub async fn execute(
    app: &App,
    caller: &AuthenticatedMerchant,
    idempotency_key: &str,
    command: PaymentCommand,
    deadline: Instant,
) -> Result<StoredResponse, Error> {
    let merchant_id = &caller.merchant_id;
    let now = app.clock.now();
    let lease = time::Duration::try_from(deadline.saturating_duration_since(Instant::now())).unwrap_or_default()
        + idempotency::LEASE_SLACK;
    let fingerprint = command.fingerprint(&app.api_key_hasher().await?);
    let key = idempotency::record_key(merchant_id, caller.mode.into(), idempotency_key);

    let item = match app.table.get(&key).await? {
        Some(item) => item,
        None => match start(app, caller, &key, &command, &fingerprint, now + lease).await? {
            Some((mut record, mut payment)) => {
                return charge(app, &key, &mut record, &mut payment, &command, deadline).await;
            }
            // Another request claimed the key between our read and our write: decide on its record.
            None => app.table.get(&key).await?.ok_or_else(|| Error::Conflict("retry the request".into()))?,
        },
    };
    let (mut record, mut payment) =
        match idempotency::on_existing(IdempotencyRecord::from_item(&item)?, &fingerprint, now)? {
            Claim::Replay(response) => return Ok(response),
            Claim::Resume(record) => resume(app, merchant_id, &key, record, now, now + lease).await?,
        };
    charge(app, &key, &mut record, &mut payment, &command, deadline).await
}

/// Claims a fresh key: the idempotency record and the `processing` payment, in one transaction. `None`
/// when another request claimed the key first.
async fn start(
    app: &App,
    caller: &AuthenticatedMerchant,
    key: &ItemKey,
    command: &PaymentCommand,
    fingerprint: &str,
    lease_until: OffsetDateTime,
) -> Result<Option<(IdempotencyRecord, Payment)>, Error> {
    let now = app.clock.now();
    let merchant_id = &caller.merchant_id;
    let merchant = Merchants::new(app.table.as_ref()).get(merchant_id).await?.ok_or(Error::Unauthenticated)?;
    if merchant.status != MerchantStatus::Approved {
        return Err(Error::Conflict(format!(
            "the merchant is {}; only approved merchants take payments",
            merchant.status.as_str()
        )));
    }
    let mode = PspMode::from(caller.mode);
    let mut candidates = route(app, merchant_id, mode, &command.amount).await?;
    restrict_to_what_can_be_charged(&mut candidates, mode, command)?;
    let payment = Payment {
        payment_id: format!("pay_{}", ulid::Ulid::new()),
        merchant_id: merchant_id.clone(),
        order_id: command.order_id.clone(),
        amount: command.amount,
        payment_method: mask_payment_method(&command.payment_method),
        metadata: command.metadata.clone(),
        mode,
        status: PaymentStatus::Processing,
        psp: None,
        psp_reference: None,
        decline_code: None,
        next_action: None,
        failure: None,
        attempts: Vec::new(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let record = IdempotencyRecord {
        state: KeyState::InProgress,
        fingerprint: fingerprint.to_owned(),
        payment_id: payment.payment_id.clone(),
        candidates,
        attempt_index: 0,
        lease_until: Some(lease_until),
        response: None,
        created_at: now,
        version: 1,
    };
    let ops = vec![
        WriteOp::Put { item: record.to_item(key.clone(), 1)?, condition: Condition::NotExists },
        WriteOp::Put { item: payment.to_item(1)?, condition: Condition::NotExists },
    ];
    match app.table.transact(ops).await {
        Ok(()) => Ok(Some((record, payment))),
        Err(StoreError::TransactionCancelled { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Takes over a released or abandoned key: same payment, same PSP order, same attempt.
async fn resume(
    app: &App,
    merchant_id: &MerchantId,
    key: &ItemKey,
    mut record: IdempotencyRecord,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
) -> Result<(IdempotencyRecord, Payment), Error> {
    let payment_item =
        app.table.get(&payment_key(merchant_id, &record.payment_id)).await?.ok_or_else(|| {
            Error::Internal(format!("payment {} of an idempotency record is missing", record.payment_id))
        })?;
    let mut payment = Payment::from_item(&payment_item)?;
    record.state = KeyState::InProgress;
    record.lease_until = Some(lease_until);
    payment.status = PaymentStatus::Processing;
    payment.updated_at = now;
    let ops = vec![record.update_op(key.clone())?, payment.update_op()?];
    match app.table.transact(ops).await {
        Ok(()) => {
            record.version += 1;
            payment.version += 1;
            Ok((record, payment))
        }
        Err(StoreError::TransactionCancelled { .. }) => {
            Err(Error::Conflict("a request with this Idempotency-Key is still in progress".into()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Narrows the routed PSPs to those that may take this payment, before any PSP is called:
/// - a sandbox test card (the only card number accepted) is charged in test mode through the sandbox only;
/// - each PSP must represent the amount in its own minor units (`connectors::minor_units`);
/// - the metadata must fit every routed PSP's limits, the strictest deciding (`connectors::metadata`).
///
/// Nothing left: 422 naming `payment_method`, `amount` or `currency`.
fn restrict_to_what_can_be_charged(
    candidates: &mut Vec<PspKind>,
    mode: PspMode,
    command: &PaymentCommand,
) -> Result<(), Error> {
    let refuse =
        |field: &str, message: String| Error::Validation(crate::validation::FieldError::new(field, message).into());
    if command.payment_method.as_deref().is_some_and(crate::card::is_sandbox_test_card) {
        if mode == PspMode::Live {
            return Err(refuse("payment_method", crate::card::REFUSAL.into()));
        }
        candidates.retain(|psp| *psp == PspKind::Sandbox);
        if candidates.is_empty() {
            return Err(refuse(
                "payment_method",
                "is a sandbox test card, and the sandbox is not among this payment's routed PSPs".into(),
            ));
        }
    }
    for psp in candidates.iter() {
        crate::connectors::metadata::check(*psp, &command.metadata).map_err(|e| Error::Validation(e.into()))?;
    }
    // An Adyen token is found by (shopperReference, storedPaymentMethodId): without the reference Adyen
    // cannot charge it, so it is not asked to.
    if command.customer.is_none() && candidates.contains(&PspKind::Adyen) {
        candidates.retain(|psp| *psp != PspKind::Adyen);
        if candidates.is_empty() {
            return Err(refuse(
                "customer",
                "is required by Adyen: the shopperReference the payment method was stored under".into(),
            ));
        }
    }
    let mut first_refusal = None;
    candidates.retain(|psp| match crate::connectors::minor_units::psp_amount(*psp, &command.amount) {
        Ok(_) => true,
        Err(refusal) => {
            first_refusal.get_or_insert((refusal.field, format!("{psp}: {}", refusal.message)));
            false
        }
    });
    match first_refusal {
        Some((field, message)) if candidates.is_empty() => Err(refuse(field, message)),
        _ => Ok(()),
    }
}

/// The PSPs to try: connected ones in the payment's mode, in routing order (or connection order when the
/// merchant has no routing document).
async fn route(app: &App, merchant_id: &MerchantId, mode: PspMode, amount: &Money) -> Result<Vec<PspKind>, Error> {
    let mut connections = psp_connections::list(app, merchant_id).await?;
    connections.retain(|c| c.mode == mode);
    connections.sort_by_key(|c| c.connected_at);
    let available: Vec<PspKind> = connections.iter().map(|c| c.psp).collect();
    let candidates = match routing::get(app.table.as_ref(), merchant_id).await? {
        Some((document, _)) => document.candidates(amount, &available),
        None => available,
    };
    if candidates.is_empty() {
        return Err(Error::Conflict(format!(
            "no {}-mode PSP is connected; connect one with POST /merchant/{merchant_id}/psp/connect",
            mode.as_str()
        )));
    }
    Ok(candidates)
}

async fn charge(
    app: &App,
    key: &ItemKey,
    record: &mut IdempotencyRecord,
    payment: &mut Payment,
    command: &PaymentCommand,
    deadline: Instant,
) -> Result<StoredResponse, Error> {
    let connections = psp_connections::list(app, &payment.merchant_id).await?;
    let first = record.attempt_index;
    for index in first..record.candidates.len() {
        let psp = record.candidates[index];
        let left = deadline.saturating_duration_since(Instant::now()).saturating_sub(FINISH_MARGIN);
        if left < MIN_PSP_CALL {
            // Out of time before calling this PSP: nothing was sent to it; a retry resumes here.
            payment.status = PaymentStatus::Failed;
            payment.psp = None;
            payment.failure = Some(format!(
                "the payment ran out of time before {psp} could be asked; nothing was charged by it; retry with \
                 the same Idempotency-Key"
            ));
            return release(app, key, record, payment, index).await;
        }
        if index != record.attempt_index {
            // Falling back: remember that earlier candidates certainly did not charge, before calling.
            record.attempt_index = index;
            app.table.transact(vec![record.update_op(key.clone())?]).await?;
            record.version += 1;
        }
        let started = Instant::now();
        let result = match connections.iter().find(|c| c.psp == psp && c.mode == payment.mode) {
            // A call cut short may have reached the PSP: ambiguous, so only the same PSP is asked again.
            Some(connection) => match tokio::time::timeout(left, call_psp(app, connection, payment, command)).await {
                Ok(result) => result?,
                Err(_) => Err(ConnectorError::Ambiguous {
                    reason: format!("{psp} did not answer within the payment's time budget"),
                }),
            },
            None => {
                Err(ConnectorError::NotProcessed { reason: format!("{psp} is no longer connected"), retry_after: None })
            }
        };
        let mut attempt = PaymentAttempt {
            psp,
            psp_request_id: None,
            outcome: String::new(),
            detail: None,
            latency_ms: started.elapsed().as_millis() as u64,
            at: app.clock.now(),
        };
        tracing::info!(payment_id = %payment.payment_id, psp = psp.as_str(), latency_ms = attempt.latency_ms, ok = result.is_ok(), "PSP call");
        match result {
            Ok(charge) => {
                attempt.psp_request_id = charge.psp_request_id;
                payment.psp = Some(psp);
                match charge.outcome {
                    ChargeOutcome::Succeeded { psp_reference } => {
                        attempt.outcome = "succeeded".into();
                        payment.status = PaymentStatus::Succeeded;
                        payment.psp_reference = Some(psp_reference);
                    }
                    ChargeOutcome::Declined { psp_reference, decline_code, message } => {
                        attempt.outcome = "declined".into();
                        attempt.detail = Some(message);
                        payment.status = PaymentStatus::Declined;
                        payment.psp_reference = psp_reference;
                        payment.decline_code = Some(decline_code);
                    }
                    ChargeOutcome::RequiresAction { psp_reference, next_action } => {
                        attempt.outcome = "requires_action".into();
                        attempt.detail = Some(next_action.description.clone());
                        payment.status = PaymentStatus::RequiresAction;
                        payment.psp_reference = psp_reference;
                        payment.next_action = Some(next_action);
                    }
                }
                payment.attempts.push(attempt);
                return finish(app, key, record, payment).await;
            }
            Err(ConnectorError::InvalidRequest { reason }) => {
                attempt.outcome = "refused".into();
                attempt.detail = Some(reason.clone());
                payment.attempts.push(attempt);
                payment.psp = Some(psp);
                payment.status = PaymentStatus::Failed;
                payment.failure = Some(format!("{psp} refused the payment request: {reason}"));
                return finish(app, key, record, payment).await;
            }
            Err(ConnectorError::Ambiguous { reason }) => {
                attempt.outcome = "unknown".into();
                attempt.detail = Some(reason.clone());
                payment.attempts.push(attempt);
                payment.psp = Some(psp);
                payment.status = PaymentStatus::Unknown;
                payment.failure =
                    Some(format!("{psp}'s answer was lost ({reason}); retry with the same Idempotency-Key"));
                // Pinned to this PSP: a retry asks it again with the same PSP idempotency key.
                return release(app, key, record, payment, index).await;
            }
            Err(
                e @ (ConnectorError::NotProcessed { .. }
                | ConnectorError::Rejected { .. }
                | ConnectorError::InvalidMerchantAccount { .. }),
            ) => {
                attempt.outcome = if matches!(e, ConnectorError::NotProcessed { .. }) {
                    "not_processed"
                } else {
                    "rejected_credentials"
                }
                .into();
                attempt.detail = Some(e.to_string());
                payment.attempts.push(attempt);
            }
        }
    }
    payment.status = PaymentStatus::Failed;
    payment.psp = None;
    payment.failure =
        Some("no PSP could process the payment; nothing was charged; retry with the same Idempotency-Key".into());
    release(app, key, record, payment, 0).await
}

async fn call_psp(
    app: &App,
    connection: &PspConnection,
    payment: &Payment,
    command: &PaymentCommand,
) -> Result<Result<crate::connectors::Charge, ConnectorError>, Error> {
    let credentials = psp_connections::credentials(app, connection).await?;
    let mut metadata = command.metadata.clone();
    metadata.insert("order_id".into(), command.order_id.clone());
    metadata.insert("payment_id".into(), payment.payment_id.clone());
    let request = ChargeRequest {
        amount: command.amount,
        payment_method: command.payment_method.clone(),
        customer: command.customer.clone(),
        off_session: command.off_session,
        order_id: command.order_id.clone(),
        payment_id: payment.payment_id.clone(),
        // Stable per payment and PSP: every retry of this payment at this PSP is the same PSP request.
        idempotency_key: format!("pivota-{}-{}", payment.payment_id, connection.psp),
        metadata,
        return_url: format!(
            "{}/console",
            command.return_base.as_deref().unwrap_or(app.settings.public_base_url.as_str())
        ),
    };
    Ok(app.connectors().get(connection.psp).charge(&credentials, &request).await)
}

/// Stores the final outcome and its response together; the key is completed.
async fn finish(
    app: &App,
    key: &ItemKey,
    record: &mut IdempotencyRecord,
    payment: &mut Payment,
) -> Result<StoredResponse, Error> {
    payment.updated_at = app.clock.now();
    payment.redact_card_numbers();
    let response = respond(payment);
    record.state = KeyState::Completed;
    record.lease_until = None;
    record.response = Some(response.clone());
    app.table.transact(vec![record.update_op(key.clone())?, payment.update_op()?]).await?;
    Ok(response)
}

/// Stores a failed attempt and releases the key for a retry that resumes at candidate `resume_at`.
async fn release(
    app: &App,
    key: &ItemKey,
    record: &mut IdempotencyRecord,
    payment: &mut Payment,
    resume_at: usize,
) -> Result<StoredResponse, Error> {
    payment.updated_at = app.clock.now();
    payment.redact_card_numbers();
    record.state = KeyState::Retryable;
    record.lease_until = None;
    record.attempt_index = resume_at;
    app.table.transact(vec![record.update_op(key.clone())?, payment.update_op()?]).await?;
    Ok(respond(payment))
}

/// The HTTP response for a payment's state: 200 for success, 402 for a decline or a payment that requires
/// the shopper's action (`/problems/payment-requires-action`, with `next_action`), 422 when the PSP refused
/// the request, 502 when no PSP charged or the answer was lost. Problems are RFC 9457 bodies carrying the
/// payment's fields as extension members.
fn respond(payment: &Payment) -> StoredResponse {
    let mut body = payment.view();
    let (status, problem) = match payment.status {
        PaymentStatus::Succeeded | PaymentStatus::Processing => (200, None),
        PaymentStatus::Declined => (
            402,
            Some((
                "payment-declined",
                "Payment declined",
                format!("the PSP declined the payment ({})", payment.decline_code.as_deref().unwrap_or("declined")),
            )),
        ),
        PaymentStatus::RequiresAction => (
            402,
            Some((
                "payment-requires-action",
                "Payment requires the shopper's action",
                payment.next_action.as_ref().map_or_else(
                    || "the shopper must act before the payment can complete".into(),
                    |next| next.description.clone(),
                ),
            )),
        ),
        PaymentStatus::Failed if payment.psp.is_some() => {
            (422, Some(("payment-refused", "Payment request refused", payment.failure.clone().unwrap_or_default())))
        }
        PaymentStatus::Failed | PaymentStatus::Unknown => (
            502,
            Some(("psp-unavailable", "Payment provider unavailable", payment.failure.clone().unwrap_or_default())),
        ),
    };
    if let (Some((slug, title, detail)), Some(fields)) = (problem, body.as_object_mut()) {
        // RFC 9457's `status` is the HTTP status; the payment's own moves to `payment_status`.
        if let Some(payment_status) = fields.remove("status") {
            fields.insert("payment_status".into(), payment_status);
        }
        fields.insert("type".into(), format!("/problems/{slug}").into());
        fields.insert("title".into(), title.into());
        fields.insert("status".into(), status.into());
        fields.insert("detail".into(), detail.into());
    }
    StoredResponse { status, body }
}

/// A page of a merchant's payments, newest first, optionally in one status.
pub async fn list(
    app: &App,
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
    let page = app.table.query(query).await?;
    let payments = page.items.iter().map(Payment::from_item).collect::<Result<_, _>>()?;
    Ok((payments, page.next))
}
