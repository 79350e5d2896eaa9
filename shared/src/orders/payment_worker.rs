//! The `payment-worker`: pays queued store orders through `/payment/execute`'s routing and idempotency,
//! then marks them paid in the store.
//!
//! The idempotency key is derived from (store, order id), so however many deliveries, retries and
//! redeliveries an order gets, it is charged at most once. A failed write-back fails the message, which
//! comes back: the payment then replays (no second charge) and the write-back is tried again.

use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};

use crate::kernel::error::Error;
use crate::onboarding::api_key::HasApiKeyHasher;
use crate::onboarding::merchant::MerchantId;
use crate::onboarding::merchant::MerchantStatus;
use crate::onboarding::merchants::Merchants;
use crate::orders::webhooks::PaymentMessage;
use crate::orders::{self, Order, OrderStatus, WriteBack};
use crate::payments::connectors::PspMode;
use crate::payments::psp::HasConnectors;
use crate::payments::{self, Payer, PaymentCommand, PaymentOutcome, PaymentSetup};
use crate::ports::HasClock;
use crate::ports::HasDeployment;
use crate::ports::HasQueue;
use crate::ports::HasSecrets;
use crate::ports::HasTable;
use crate::stores;
use crate::stores::platforms;
use crate::stores::url_safety::HasStoreUrls;

/// Leave this much of the invocation unused: a message started later might not finish in time.
const DEADLINE_MARGIN: Duration = Duration::from_secs(10);
/// In-invocation retries of a transient failure (a PSP 5xx or timeout: nothing charged, or the answer
/// lost) wait 250 ms, 500 ms, 1 s, 2 s, … at most this long each.
const MAX_INLINE_BACKOFF: Duration = Duration::from_secs(4);
/// After that, the message comes back after 2^(receives - 1) seconds (1 s, 2 s, 4 s, …), at most this
/// long (not the queue's whole visibility timeout, 720 s on AWS).
const MAX_REDELIVERY_BACKOFF: Duration = Duration::from_secs(300);

pub async fn handle(
    app: &(
         impl HasTable + HasSecrets + HasQueue + HasClock + HasDeployment + HasApiKeyHasher + HasConnectors + HasStoreUrls
     ),
    event: SqsEvent,
    deadline: Instant,
) -> SqsBatchResponse {
    crate::invocation::serve_as("payment-worker", handle_batch(app, event, deadline)).await
}

async fn handle_batch(
    app: &(
         impl HasTable + HasSecrets + HasQueue + HasClock + HasDeployment + HasApiKeyHasher + HasConnectors + HasStoreUrls
     ),
    event: SqsEvent,
    deadline: Instant,
) -> SqsBatchResponse {
    // One message per order in a batch: an order's duplicate messages (one per delivery that found it
    // still unpaid) would only race each other for its idempotency key. The one kept pays the order, or
    // comes back itself; the others are done.
    let mut seen = std::collections::HashSet::new();
    let distinct: Vec<&SqsMessage> =
        event.records.iter().filter(|record| seen.insert(record.body.as_deref().unwrap_or_default())).collect();
    // The batch's orders are independent, so they are paid concurrently: one order's backoff does not hold
    // up the others.
    let outcomes =
        futures::future::join_all(distinct.into_iter().map(|record| handle_one(app, record, deadline))).await;
    let mut response = SqsBatchResponse::default();
    for failed in outcomes.into_iter().flatten() {
        response.add_failure(failed);
    }
    response
}

/// One message: `Some(message id)` when it must come back.
async fn handle_one(
    app: &(
         impl HasTable + HasSecrets + HasQueue + HasClock + HasDeployment + HasApiKeyHasher + HasConnectors + HasStoreUrls
     ),
    record: &SqsMessage,
    deadline: Instant,
) -> Option<String> {
    let message_id = record.message_id.clone().unwrap_or_default();
    // Near the deadline, take no new message: report it as failed, so it comes back.
    if deadline.saturating_duration_since(Instant::now()) < DEADLINE_MARGIN {
        tracing::info!(message_id, "deadline near; the message is left for the next invocation");
        return Some(message_id);
    }
    let result = match record.body.as_deref().map(serde_json::from_str::<PaymentMessage>) {
        Some(Ok(message)) => pay_with_retries(app, &message, deadline).await,
        _ => Err(Error::MalformedBody("not a payment message".into())),
    };
    let Err(e) = result else { return None };
    tracing::warn!(message_id, error = %e, "order payment did not complete; the message will come back");
    // A transient failure, or a payment still held by another worker's lease: back soon.
    if e.is_transient() || matches!(e, Error::BadGateway(_) | Error::StoreUnavailable(_) | Error::Conflict(_)) {
        redeliver_after_backoff(app, record).await;
    }
    Some(message_id)
}

/// [`pay`], retrying a transient failure with exponential backoff while the deadline allows.
async fn pay_with_retries(
    app: &(impl HasTable + HasSecrets + HasClock + HasDeployment + HasApiKeyHasher + HasConnectors + HasStoreUrls),
    message: &PaymentMessage,
    deadline: Instant,
) -> Result<(), Error> {
    let mut backoff = Duration::from_millis(250);
    loop {
        match pay(app, message, deadline).await {
            Err(e) if e.is_transient() || matches!(e, Error::BadGateway(_) | Error::StoreUnavailable(_)) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left < DEADLINE_MARGIN + backoff {
                    return Err(e);
                }
                tracing::info!(order_id = message.order_id, error = %e, backoff_ms = backoff.as_millis() as u64, "transient payment failure; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_INLINE_BACKOFF);
            }
            other => return other,
        }
    }
}

/// Makes a failed message visible again after an exponential backoff on its receive count. Best effort:
/// if it fails, the queue's own visibility timeout still brings the message back.
async fn redeliver_after_backoff(app: &impl HasQueue, record: &SqsMessage) {
    let Some(receipt_handle) = record.receipt_handle.as_deref() else { return };
    let receives: u32 =
        record.attributes.get("ApproximateReceiveCount").and_then(|count| count.parse().ok()).unwrap_or(1);
    let backoff = Duration::from_secs(1u64 << receives.saturating_sub(1).min(16)).min(MAX_REDELIVERY_BACKOFF);
    if let Err(e) = app.queue().change_visibility(app.payment_queue(), receipt_handle, backoff).await {
        tracing::warn!(error = %e, "could not shorten the message's visibility; it comes back after the queue's timeout");
    }
}

/// Pays one order (or finishes its write-back). `Err` means: try again later.
pub async fn pay(
    app: &(impl HasTable + HasSecrets + HasClock + HasDeployment + HasApiKeyHasher + HasConnectors + HasStoreUrls),
    message: &PaymentMessage,
    deadline: Instant,
) -> Result<(), Error> {
    let merchant_id = MerchantId::parse(&message.merchant_id).ok_or(Error::NotFound("merchant"))?;
    let Some(mut order) = orders::get(app, &merchant_id, &message.order_id).await? else { return Ok(()) };
    match order.status {
        OrderStatus::Received => charge(app, &merchant_id, &mut order, deadline).await?,
        OrderStatus::Paid if order.write_back != WriteBack::Done => {}
        _ => return Ok(()),
    }
    if order.status == OrderStatus::Paid && order.write_back != WriteBack::Done {
        write_back(app, &merchant_id, &mut order).await?;
    }
    Ok(())
}

/// Records that the order will not be charged, and why.
async fn not_chargeable(app: &(impl HasTable + HasClock), order: &mut Order, reason: String) -> Result<(), Error> {
    order.status = OrderStatus::NotChargeable;
    order.failure = Some(reason);
    order.payment_method = None;
    if !orders::save(app, order).await? {
        return Err(Error::Conflict("the order changed concurrently".into()));
    }
    Ok(())
}

async fn charge(
    app: &(impl HasTable + HasSecrets + HasClock + HasDeployment + HasApiKeyHasher + HasConnectors),
    merchant_id: &MerchantId,
    order: &mut Order,
    deadline: Instant,
) -> Result<(), Error> {
    let merchant = Merchants::new(app.table()).get(merchant_id).await?.ok_or(Error::NotFound("merchant"))?;
    if merchant.status != MerchantStatus::Approved {
        let reason = format!("the merchant is {}; its orders are not charged", merchant.status.as_str());
        return not_chargeable(app, order, reason).await;
    }
    // An order is charged in its store's mode, through that mode's connections only.
    let store = stores::get(app, merchant_id, &order.store_id).await?;
    let live = store.mode == PspMode::Live;
    // Read once for the whole charge: whether it can be made, its test payment method, and its routing.
    let setup = PaymentSetup::load(app, merchant_id).await?;
    if !setup.has_mode(store.mode) {
        let reason = format!("no {}-mode PSP is connected; the store is a {0}-mode store", store.mode.as_str());
        return not_chargeable(app, order, reason).await;
    }
    if live && order.payment_method.is_none() {
        order.status = OrderStatus::AwaitingPaymentMethod;
        orders::save(app, order).await?;
        return Ok(());
    }
    if !live
        && order.payment_method.is_none()
        && let Some(method) = setup.test_payment_method()
    {
        // Pinned on the order before the first charge: a retry then sends the same request under the
        // order's idempotency key even if the merchant changes the setting in between.
        order.payment_method = Some(method);
        if !orders::save(app, order).await? {
            return Err(Error::Conflict("the order changed concurrently".into()));
        }
    }
    // The order is paid in its store's mode.
    let payer = Payer { merchant_id: merchant_id.clone(), mode: store.mode };
    let mut metadata = std::collections::BTreeMap::new();
    metadata.insert("store_id".into(), order.store_id.clone());
    if let Some(name) = &order.name {
        // Within every PSP's value limit (Adyen's 80 characters is the smallest).
        metadata.insert("order_name".into(), name.chars().take(80).collect());
    }
    // In test mode without a payment method (none on the order, none configured), each connector charges
    // its test default (`pm_card_visa`, the sandbox's success card).
    // No shopper is present while the queue pays an order: off-session, so a card that needs authentication
    // comes back `requires_action` instead of waiting for a challenge nobody can answer.
    let command = PaymentCommand {
        order_id: order.external_id.clone(),
        amount: order.total,
        payment_method: order.payment_method.clone(),
        customer: order.payment_customer.clone(),
        off_session: true,
        metadata,
        // Without PIVOTA_PUBLIC_BASE_URL, Pivota's address as the store knows it (its webhook address).
        return_base: app.public_base_url().is_empty().then(|| public_origin(&store)).flatten(),
    };
    let key = format!("order-{}-{}", order.store_id, order.external_id);
    // The payment answers before the invocation's margin, and within /payment/execute's own budget.
    let deadline = (deadline - DEADLINE_MARGIN / 2).min(Instant::now() + app.payment_budget());
    let payment = match payments::execute(app, &payer, Some(&setup), &key, command, deadline).await {
        Ok(payment) => payment,
        // Nothing about this order can be charged by any routed PSP (its amount, its currency, a test card
        // on a live store): retrying changes nothing, so it is recorded, not retried.
        Err(Error::Validation(fields)) => {
            let reason = fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ");
            return not_chargeable(app, order, reason).await;
        }
        Err(e) => return Err(e),
    };
    order.payment_id = Some(payment.payment_id.clone());
    order.psp = payment.psp.map(|psp| psp.as_str().to_owned());
    order.psp_reference = payment.psp_reference.clone();
    match payment.outcome() {
        // Marked paid in the store only by a payment of the store's own mode: a test payment never marks
        // a live store's order paid.
        PaymentOutcome::Succeeded if payment.mode == store.mode => {
            order.status = OrderStatus::Paid;
            order.write_back = WriteBack::Pending;
        }
        PaymentOutcome::Succeeded => {
            order.status = OrderStatus::Failed;
            order.failure = Some(format!(
                "the payment was made in {} mode, the store is {}: the order is not marked paid",
                payment.mode.as_str(),
                store.mode.as_str()
            ));
        }
        PaymentOutcome::RequiresAction => {
            order.status = OrderStatus::RequiresAction;
            order.next_action = payment.next_action.clone();
        }
        PaymentOutcome::Declined => {
            order.status = OrderStatus::Declined;
            order.decline_code = payment.decline_code.clone();
        }
        PaymentOutcome::Refused => {
            order.status = OrderStatus::Failed;
            order.failure = payment.failure.clone();
        }
        // Nothing charged, or the answer was lost: retry from the queue, which resumes the same payment.
        PaymentOutcome::Retry => {
            return Err(Error::BadGateway(payment.failure.unwrap_or_else(|| "the payment did not complete".into())));
        }
    }
    // The payment is final: its method is not kept in clear on the order (a sandbox test card keeps its
    // last four digits; a PSP token is not card data). The payment record keeps the same masked form.
    order.payment_method = crate::payments::request::mask_payment_method(&order.payment_method);
    if !orders::save(app, order).await? {
        return Err(Error::Conflict("the order changed concurrently".into()));
    }
    Ok(())
}

/// The origin of the store's webhook address (`https://<api domain>`), set up from a request.
fn public_origin(store: &stores::Store) -> Option<String> {
    let address = url::Url::parse(&store.webhooks.first()?.address).ok()?;
    Some(address.origin().ascii_serialization())
}

async fn write_back(
    app: &(impl HasTable + HasSecrets + HasClock + HasStoreUrls),
    merchant_id: &MerchantId,
    order: &mut Order,
) -> Result<(), Error> {
    let store = stores::get(app, merchant_id, &order.store_id).await?;
    let credentials = stores::credentials(app, &store).await?;
    let url = url::Url::parse(&store.store_url).map_err(|e| Error::Internal(e.to_string()))?;
    let endpoint = stores::endpoint(app, &url, std::time::Duration::from_secs(10)).await?;
    let reference = order.psp_reference.clone().unwrap_or_default();
    let result = platforms::webhooks(store.platform)
        .mark_order_paid(&endpoint, &credentials, &order.external_id, &reference)
        .await;
    match result {
        Ok(()) => {
            order.write_back = WriteBack::Done;
            order.write_back_error = None;
            orders::save(app, order).await?;
            Ok(())
        }
        Err(e) => {
            order.write_back = WriteBack::Failed;
            order.write_back_error = Some(e.to_string());
            orders::save(app, order).await?;
            Err(stores::platform_error(store.platform, e))
        }
    }
}
