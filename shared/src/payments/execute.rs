//! `/payment/execute`'s flow: claim the idempotency key and create the payment (`processing`) in one
//! transaction; charge the routed PSPs in order, falling back only when a PSP certainly did not charge;
//! then store the outcome with the key's new state in one transaction. See `idempotency.rs` for retries
//! and replays.

use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::kernel::error::Error;
use crate::onboarding::api_key::HasApiKeyHasher;
use crate::onboarding::merchant::{MerchantId, MerchantStatus};
use crate::onboarding::merchants::Merchants;
use crate::payments::connectors::PspMode;
use crate::payments::connectors::{ChargeOutcome, ChargeRequest, ConnectorError};
use crate::payments::psp::HasConnectors;
use crate::payments::psp_connections::{self, PspConnection};
use crate::ports::HasClock;
use crate::ports::HasDeployment;
use crate::ports::HasSecrets;
use crate::ports::HasTable;
use crate::ports::{ItemKey, StoreError};
use crate::record::{FIRST_VERSION, Record};

use super::eligibility::{PaymentSetup, Setup, restrict_to_what_can_be_charged};
use super::idempotency::{self, Claim, IdempotencyRecord, KeyState};
use super::request::mask_payment_method;
use super::{Payment, PaymentAttempt, PaymentCommand, PaymentStatus, payment_key};

/// Who pays: a merchant, in one mode (a test API key pays in test mode, a live key or a live store's
/// order in live mode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payer {
    pub merchant_id: MerchantId,
    pub mode: PspMode,
}

/// Kept back from the deadline for storing the outcome after the last PSP call.
const FINISH_MARGIN: Duration = Duration::from_secs(2);
/// A PSP is not called with less time than this left: a call cut shorter would only end ambiguous.
const MIN_PSP_CALL: Duration = Duration::from_secs(1);

/// Executes a payment, or replays or continues the one already made with this idempotency key, answering
/// by `deadline`: PSP calls are cut to the time left, and the key's lease lasts until the deadline (plus
/// [`idempotency::LEASE_SLACK`]), so a retry after a lost answer is served soon.
///
/// The payment comes back in its state after this request: final (see [`Payment::outcome`]), or released
/// for a retry with the same key. `setup` is the merchant's connections and routing, when the caller has
/// read them already (nothing here reads them again); `None` reads them here, only if the payment is
/// charged: a replay of a completed payment reads neither.
pub async fn execute(
    app: &(impl HasTable + HasSecrets + HasClock + HasDeployment + HasApiKeyHasher + HasConnectors),
    payer: &Payer,
    setup: Option<&PaymentSetup>,
    idempotency_key: &str,
    command: PaymentCommand,
    deadline: Instant,
) -> Result<Payment, Error> {
    let mut loaded = None;
    let setup = match setup {
        Some(setup) => Setup::Read(setup),
        None => Setup::OnDemand,
    };
    let now = app.clock().now();
    let lease = time::Duration::try_from(deadline.saturating_duration_since(Instant::now())).unwrap_or_default()
        + idempotency::LEASE_SLACK;
    let fingerprint = command.fingerprint(&app.api_key_hasher().await?);
    let key = idempotency::record_key(&payer.merchant_id, payer.mode, idempotency_key);

    let item = match app.table().get(&key).await? {
        Some(item) => item,
        None => match start(
            app,
            payer,
            setup.read(app, &payer.merchant_id, &mut loaded).await?,
            &key,
            &command,
            &fingerprint,
            now + lease,
        )
        .await?
        {
            Some((mut record, payment)) => {
                let setup = setup.read(app, &payer.merchant_id, &mut loaded).await?;
                return charge(app, setup, &mut record, payment, &command, deadline).await;
            }
            // Another request claimed the key between our read and our write: decide on its record.
            None => app.table().get(&key).await?.ok_or_else(|| Error::Conflict("retry the request".into()))?,
        },
    };
    let (mut record, payment) = match idempotency::on_existing(IdempotencyRecord::from_item(&item)?, &fingerprint, now)?
    {
        // A completed payment never changes again: its item is the answer first given.
        Claim::Replay { payment_id } => return stored_payment(app, &payer.merchant_id, &payment_id).await,
        Claim::Resume(record) => resume(app, &payer.merchant_id, record, now, now + lease).await?,
    };
    let setup = setup.read(app, &payer.merchant_id, &mut loaded).await?;
    charge(app, setup, &mut record, payment, &command, deadline).await
}

async fn stored_payment(app: &impl HasTable, merchant_id: &MerchantId, payment_id: &str) -> Result<Payment, Error> {
    let item = app
        .table()
        .get(&payment_key(merchant_id, payment_id))
        .await?
        .ok_or_else(|| Error::Internal(format!("payment {payment_id} of an idempotency record is missing")))?;
    Payment::from_item(&item)
}

/// Claims a fresh key: the idempotency record and the `processing` payment, in one transaction. `None`
/// when another request claimed the key first.
async fn start(
    app: &(impl HasTable + HasClock),
    payer: &Payer,
    setup: &PaymentSetup,
    key: &ItemKey,
    command: &PaymentCommand,
    fingerprint: &str,
    lease_until: OffsetDateTime,
) -> Result<Option<(IdempotencyRecord, Payment)>, Error> {
    let now = app.clock().now();
    let merchant_id = &payer.merchant_id;
    let merchant = Merchants::new(app.table()).get(merchant_id).await?.ok_or(Error::Unauthenticated)?;
    if merchant.status != MerchantStatus::Approved {
        return Err(Error::Conflict(format!(
            "the merchant is {}; only approved merchants take payments",
            merchant.status.as_str()
        )));
    }
    let mode = payer.mode;
    let mut candidates = setup.candidates(merchant_id, mode, &command.amount)?;
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
        version: FIRST_VERSION,
    };
    let record = IdempotencyRecord {
        state: KeyState::InProgress,
        fingerprint: fingerprint.to_owned(),
        payment_id: payment.payment_id.clone(),
        candidates,
        attempt_index: 0,
        lease_until: Some(lease_until),
        created_at: now,
        key: key.clone(),
        version: FIRST_VERSION,
    };
    let ops = vec![record.create_op()?, payment.create_op()?];
    match app.table().transact(ops).await {
        Ok(()) => Ok(Some((record, payment))),
        Err(StoreError::TransactionCancelled { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Takes over a released or abandoned key: same payment, same PSP order, same attempt.
async fn resume(
    app: &impl HasTable,
    merchant_id: &MerchantId,
    mut record: IdempotencyRecord,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
) -> Result<(IdempotencyRecord, Payment), Error> {
    let mut payment = stored_payment(app, merchant_id, &record.payment_id).await?;
    record.state = KeyState::InProgress;
    record.lease_until = Some(lease_until);
    payment.status = PaymentStatus::Processing;
    payment.updated_at = now;
    let ops = vec![record.save_op()?, payment.save_op()?];
    match app.table().transact(ops).await {
        Ok(()) => {
            record.saved();
            payment.saved();
            Ok((record, payment))
        }
        Err(StoreError::TransactionCancelled { .. }) => {
            Err(Error::Conflict("a request with this Idempotency-Key is still in progress".into()))
        }
        Err(e) => Err(e.into()),
    }
}

async fn charge(
    app: &(impl HasTable + HasSecrets + HasClock + HasDeployment + HasConnectors),
    setup: &PaymentSetup,
    record: &mut IdempotencyRecord,
    mut payment: Payment,
    command: &PaymentCommand,
    deadline: Instant,
) -> Result<Payment, Error> {
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
            return release(app, record, payment, index).await;
        }
        if index != record.attempt_index {
            // Falling back: remember that earlier candidates certainly did not charge, before calling.
            record.attempt_index = index;
            app.table().transact(vec![record.save_op()?]).await?;
            record.saved();
        }
        let started = Instant::now();
        let result = match setup.connection(psp, payment.mode) {
            // A call cut short may have reached the PSP: ambiguous, so only the same PSP is asked again.
            Some(connection) => match tokio::time::timeout(left, call_psp(app, connection, &payment, command)).await {
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
            at: app.clock().now(),
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
                return finish(app, record, payment).await;
            }
            Err(ConnectorError::InvalidRequest { reason }) => {
                attempt.outcome = "refused".into();
                attempt.detail = Some(reason.clone());
                payment.attempts.push(attempt);
                payment.psp = Some(psp);
                payment.status = PaymentStatus::Failed;
                payment.failure = Some(format!("{psp} refused the payment request: {reason}"));
                return finish(app, record, payment).await;
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
                return release(app, record, payment, index).await;
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
    release(app, record, payment, 0).await
}

async fn call_psp(
    app: &(impl HasSecrets + HasDeployment + HasConnectors),
    connection: &PspConnection,
    payment: &Payment,
    command: &PaymentCommand,
) -> Result<Result<crate::payments::connectors::Charge, ConnectorError>, Error> {
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
        return_url: format!("{}/console", command.return_base.as_deref().unwrap_or(app.public_base_url())),
    };
    Ok(app.connectors().get(connection.psp).charge(&credentials, &request).await)
}

/// Stores the final outcome and its response together; the key is completed.
async fn finish(
    app: &(impl HasTable + HasClock),
    record: &mut IdempotencyRecord,
    mut payment: Payment,
) -> Result<Payment, Error> {
    payment.updated_at = app.clock().now();
    payment.redact_card_numbers();
    record.state = KeyState::Completed;
    record.lease_until = None;
    app.table().transact(vec![record.save_op()?, payment.save_op()?]).await?;
    record.saved();
    payment.saved();
    Ok(payment)
}

/// Stores a failed attempt and releases the key for a retry that resumes at candidate `resume_at`.
async fn release(
    app: &(impl HasTable + HasClock),
    record: &mut IdempotencyRecord,
    mut payment: Payment,
    resume_at: usize,
) -> Result<Payment, Error> {
    payment.updated_at = app.clock().now();
    payment.redact_card_numbers();
    record.state = KeyState::Retryable;
    record.lease_until = None;
    record.attempt_index = resume_at;
    app.table().transact(vec![record.save_op()?, payment.save_op()?]).await?;
    record.saved();
    payment.saved();
    Ok(payment)
}
