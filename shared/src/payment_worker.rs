//! The `payment-worker`: pays queued store orders through `/payment/execute`'s routing and idempotency,
//! then marks them paid in the store.
//!
//! The idempotency key is derived from (store, order id), so however many deliveries, retries and
//! redeliveries an order gets, it is charged at most once. A failed write-back fails the message, which
//! comes back: the payment then replays (no second charge) and the write-back is tried again.

use std::time::Instant;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

use crate::api_key::ApiKeyMode;
use crate::api_keys::AuthenticatedMerchant;
use crate::app::App;
use crate::error::Error;
use crate::merchant::MerchantId;
use crate::order_webhooks::PaymentMessage;
use crate::orders::{self, Order, OrderStatus, WriteBack};
use crate::payments::{self, PaymentCommand};
use crate::platforms;
use crate::psp::PspMode;
use crate::psp_connections;
use crate::routing;
use crate::stores;

pub async fn handle(app: &App, event: SqsEvent, _deadline: Instant) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        let result = match record.body.as_deref().map(serde_json::from_str::<PaymentMessage>) {
            Some(Ok(message)) => pay(app, &message).await,
            _ => Err(Error::MalformedBody("not a payment message".into())),
        };
        if let Err(e) = result {
            tracing::warn!(message_id, error = %e, "order payment did not complete; the message will come back");
            response.add_failure(message_id);
        }
    }
    response
}

/// Pays one order (or finishes its write-back). `Err` means: try again later.
pub async fn pay(app: &App, message: &PaymentMessage) -> Result<(), Error> {
    let merchant_id = MerchantId::parse(&message.merchant_id).ok_or(Error::NotFound("merchant"))?;
    let Some(mut order) = orders::get(app, &merchant_id, &message.order_id).await? else { return Ok(()) };
    match order.status {
        OrderStatus::Received => charge(app, &merchant_id, &mut order).await?,
        OrderStatus::Paid if order.write_back != WriteBack::Done => {}
        _ => return Ok(()),
    }
    if order.status == OrderStatus::Paid && order.write_back != WriteBack::Done {
        write_back(app, &merchant_id, &mut order).await?;
    }
    Ok(())
}

async fn charge(app: &App, merchant_id: &MerchantId, order: &mut Order) -> Result<(), Error> {
    let live = psp_connections::list(app, merchant_id).await?.iter().any(|c| c.mode == PspMode::Live);
    if live && order.payment_method.is_none() {
        order.status = OrderStatus::AwaitingPaymentMethod;
        orders::save(app, order).await?;
        return Ok(());
    }
    if !live
        && order.payment_method.is_none()
        && let Some(method) = configured_test_payment_method(app, merchant_id).await?
    {
        // Pinned on the order before the first charge: a retry then sends the same request under the
        // order's idempotency key even if the merchant changes the setting in between.
        order.payment_method = Some(method);
        if !orders::save(app, order).await? {
            return Err(Error::Conflict("the order changed concurrently".into()));
        }
    }
    let caller = AuthenticatedMerchant {
        merchant_id: merchant_id.clone(),
        key_id: "payment-worker".into(),
        mode: if live { ApiKeyMode::Live } else { ApiKeyMode::Test },
    };
    let mut metadata = std::collections::BTreeMap::new();
    metadata.insert("store_id".into(), order.store_id.clone());
    if let Some(name) = &order.name {
        metadata.insert("order_name".into(), name.clone());
    }
    // In test mode without a payment method (none on the order, none configured), each connector charges
    // its test default (`pm_card_visa`, the sandbox's success card).
    let command = PaymentCommand {
        order_id: order.external_id.clone(),
        amount: order.total,
        payment_method: order.payment_method.clone(),
        metadata,
    };
    let key = format!("order-{}-{}", order.store_id, order.external_id);
    let response = payments::execute(app, &caller, &key, command).await?;
    let body = &response.body;
    let text = |field: &str| body.get(field).and_then(|v| v.as_str()).map(str::to_owned);
    order.payment_id = text("payment_id");
    order.psp = text("psp");
    order.psp_reference = text("psp_reference");
    match response.status {
        200 => {
            order.status = OrderStatus::Paid;
            order.write_back = WriteBack::Pending;
        }
        402 => {
            order.status = OrderStatus::Declined;
            order.decline_code = text("decline_code");
        }
        422 => {
            order.status = OrderStatus::Failed;
            order.failure = text("detail");
        }
        // Nothing charged, or the answer was lost: retry from the queue, which resumes the same payment.
        _ => return Err(Error::BadGateway(text("detail").unwrap_or_else(|| "the payment did not complete".into()))),
    }
    if !orders::save(app, order).await? {
        return Err(Error::Conflict("the order changed concurrently".into()));
    }
    Ok(())
}

/// The routing document's `test_payment_method`, if the merchant set one.
async fn configured_test_payment_method(app: &App, merchant_id: &MerchantId) -> Result<Option<String>, Error> {
    let document = routing::get(app.table.as_ref(), merchant_id).await?;
    Ok(document.and_then(|(document, _)| document.test_payment_method).map(String::from))
}

async fn write_back(app: &App, merchant_id: &MerchantId, order: &mut Order) -> Result<(), Error> {
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
