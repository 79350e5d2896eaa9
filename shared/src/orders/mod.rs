//! Store orders received by webhook, and their payment.
//!
//! | item                | pk              | sk                 | gsi1 (pk / sk)                                        | gsi2 (pk / sk)                               | TTL    |
//! |---------------------|-----------------|--------------------|-------------------------------------------------------|----------------------------------------------|--------|
//! | order               | `MERCHANT#<id>` | `ORDER#<order_id>` | `MERCHANT#<id>#ORDERS#<status>` / `<ulid>#<order_id>` | `MERCHANT#<id>#ORDERS` / `<ulid>#<order_id>` |        |
//! | delivery (event id) | `STORE#<store>` | `EVENT#<event id>` |                                                       |                                              | 7 days |
//! | customer link       | `CUSTOMER#<store>#<keyed hash>` | `ORDER#<order_id>` |                                   |                                              |        |
//!
//! `order_id` is derived from (store, the platform's order id), so recording an order is one conditional
//! put: however many deliveries arrive, concurrently or not, one order exists. The event id is a cheaper
//! first check, written only after the order is recorded (so a failed recording is retried, not lost).
//! The ULID in the index keys lists orders newest first. An order with a customer is recorded with one
//! customer link per identifier (id, e-mail), keyed by a keyed hash of it, so that a redaction request
//! finds the customer's orders without reading the others (`redaction.rs`).

pub mod payment_worker;
pub mod redaction;
pub mod webhooks;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::kernel::error::Error;
use crate::kernel::money::Money;
use crate::onboarding::merchant::MerchantId;
use crate::ports::HasClock;
use crate::ports::HasTable;
use crate::ports::{Condition, Index, Item, ItemKey, PageCursor, Query, StoreError};
use crate::record::{Record, Written};
use crate::stores::platforms::{Customer, OrderLine};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Recorded; its payment is queued.
    Received,
    /// Live mode and no payment method on the order: not charged.
    AwaitingPaymentMethod,
    /// Paid in the store already: not charged.
    AlreadyPaid,
    Paid,
    Declined,
    /// Not charged: the card's issuer wants the shopper to authenticate, which a payment without them
    /// cannot do. `next_action` says what the merchant does (bring the shopper back to pay on-session).
    RequiresAction,
    /// The payment failed (retried from the queue until it dead-letters).
    Failed,
    /// Pivota cannot charge it (a zero total, an amount or currency the PSP cannot take, a card number
    /// as payment method, a suspended merchant): recorded with the reason, never charged. The store's
    /// delivery was still acknowledged, so a few such orders never switch its webhooks off.
    NotChargeable,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Received => "received",
            OrderStatus::AwaitingPaymentMethod => "awaiting_payment_method",
            OrderStatus::AlreadyPaid => "already_paid",
            OrderStatus::Paid => "paid",
            OrderStatus::Declined => "declined",
            OrderStatus::RequiresAction => "requires_action",
            OrderStatus::Failed => "failed",
            OrderStatus::NotChargeable => "not_chargeable",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::Received,
            Self::AwaitingPaymentMethod,
            Self::AlreadyPaid,
            Self::Paid,
            Self::Declined,
            Self::RequiresAction,
            Self::Failed,
            Self::NotChargeable,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }
}

/// Whether the store has been told the order is paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WriteBack {
    NotNeeded,
    Pending,
    Done,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: String,
    /// A ULID of when the order was first received: orders list newest first by it.
    pub received: String,
    pub merchant_id: MerchantId,
    pub store_id: String,
    pub external_id: String,
    pub name: Option<String>,
    pub total: Money,
    pub line_items: Vec<OrderLine>,
    /// Personal data; removed on a redaction request.
    pub customer: Option<Customer>,
    /// The keyed hashes of the customer's identifiers, under which the order's customer links are written
    /// (`redaction::customer_index_keys`): what a redaction deletes with the customer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customer_index: Vec<String>,
    /// The order's own (the storefront's `pivota_payment_method`), or in test mode the merchant's
    /// configured test payment method, pinned by the payment worker before the first charge.
    pub payment_method: Option<String>,
    /// The PSP customer the payment method is stored under (the storefront's `pivota_customer`): Stripe's
    /// `customer`, Adyen's `shopperReference`.
    #[serde(default)]
    pub payment_customer: Option<String>,
    pub status: OrderStatus,
    pub payment_id: Option<String>,
    pub psp: Option<String>,
    pub psp_reference: Option<String>,
    pub decline_code: Option<String>,
    /// With `requires_action`: what must happen before the order can be paid.
    #[serde(default)]
    pub next_action: Option<crate::payments::connectors::NextAction>,
    pub failure: Option<String>,
    pub write_back: WriteBack,
    #[serde(default)]
    pub write_back_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(skip)]
    pub version: u64,
}

fn order_key(merchant_id: &MerchantId, order_id: &str) -> ItemKey {
    ItemKey::new(format!("MERCHANT#{merchant_id}"), format!("ORDER#{order_id}"))
}

/// The order's id: derived from the store and the platform's order id.
pub fn order_id(store_id: &str, external_id: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("{store_id}\n{external_id}").as_bytes());
    format!("ord_{}", &hex::encode(digest)[..24])
}

fn event_key(store_id: &str, event_id: &str) -> ItemKey {
    ItemKey::new(format!("STORE#{store_id}"), format!("EVENT#{event_id}"))
}

fn status_partition(merchant_id: &MerchantId, status: OrderStatus) -> String {
    format!("MERCHANT#{merchant_id}#ORDERS#{}", status.as_str())
}

impl Record for Order {
    fn key(&self) -> ItemKey {
        order_key(&self.merchant_id, &self.order_id)
    }

    /// Listed by status, newest first.
    fn gsi1(&self) -> Option<ItemKey> {
        Some(ItemKey::new(status_partition(&self.merchant_id, self.status), self.list_sort()))
    }

    /// Listed all together, newest first.
    fn gsi2(&self) -> Option<ItemKey> {
        Some(ItemKey::new(format!("MERCHANT#{}#ORDERS", self.merchant_id), self.list_sort()))
    }

    crate::record::version_field!();
}

impl Order {
    fn list_sort(&self) -> String {
        format!("{}#{}", self.received, self.order_id)
    }

    pub fn view(&self) -> serde_json::Value {
        let rfc3339 = |t: &OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        serde_json::json!({
            "order_id": self.order_id,
            "store_id": self.store_id,
            "external_id": self.external_id,
            "name": self.name,
            "amount": self.total.amount_minor,
            "currency": self.total.currency,
            "status": self.status,
            "payment_id": self.payment_id,
            "psp": self.psp,
            "psp_reference": self.psp_reference,
            "decline_code": self.decline_code,
            "next_action": self.next_action,
            "failure": self.failure,
            // Why an order is `not_chargeable`.
            "reason": if self.status == OrderStatus::NotChargeable { self.failure.as_deref() } else { None },
            "write_back": self.write_back,
            "write_back_error": self.write_back_error,
            "line_items": self.line_items,
            // Personal data: `null` once redacted. A `customers/data_request` is answered from here.
            "customer": self.customer,
            "created_at": rfc3339(&self.created_at),
            "updated_at": rfc3339(&self.updated_at),
        })
    }
}

/// What recording a delivery did.
#[derive(Debug)]
pub enum Recorded {
    /// A new order, whose payment must be queued.
    New(Order),
    /// Seen before (same event id, or same store order): nothing new. The order is returned when its
    /// payment may still need queueing (the first delivery's enqueue may have failed).
    Duplicate(Option<Order>),
}

/// Records an order once per (store, order id): one conditional put of the order. A delivery whose
/// event id was seen is a duplicate without reading the order. The caller remembers the event id only
/// once the order's payment message is queued too ([`remember_event`]): a delivery whose queueing
/// failed is then retried by the store, not taken for a duplicate.
pub async fn record(app: &impl HasTable, mut order: Order, event_id: Option<&str>) -> Result<Recorded, Error> {
    if let Some(event_id) = event_id
        && event_recorded(app, &order.store_id, event_id).await?
    {
        return Ok(Recorded::Duplicate(None));
    }
    let links = crate::orders::redaction::link_puts(&order);
    let written = if links.is_empty() {
        order.create(app.table()).await?
    } else {
        // The order and its customer links together, so a redaction never misses a recorded order.
        let mut ops = vec![order.create_op()?];
        ops.extend(links);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match app.table().transact(ops.clone()).await {
                Ok(()) => break Written::Done,
                Err(StoreError::TransactionCancelled { index: Some(0) }) => break Written::Lost,
                // A concurrent copy of the delivery in flight (DynamoDB's TransactionConflict): ask again.
                Err(StoreError::TransactionCancelled { index: None }) if attempt < 3 => continue,
                Err(e) => return Err(e.into()),
            }
        }
    };
    let recorded = match written {
        Written::Done => Recorded::New(order),
        Written::Lost => {
            let existing = get(app, &order.merchant_id, &order.order_id).await?;
            Recorded::Duplicate(existing.filter(|o| o.status == OrderStatus::Received))
        }
    };
    Ok(recorded)
}

/// Whether a delivery with this event id was handled: the first, cheapest dedupe decision.
pub async fn event_recorded(app: &impl HasTable, store_id: &str, event_id: &str) -> Result<bool, Error> {
    Ok(app.table().get(&event_key(store_id, event_id)).await?.is_some())
}

/// Records a delivery's event id as handled, for 7 days (Shopify retries for 4 hours), once what it
/// carried is stored. Best effort: a failure only costs a repeat of idempotent work on a retry.
pub async fn remember_event(app: &(impl HasTable + HasClock), store_id: &str, event_id: &str) {
    let mut event = Item::new(event_key(store_id, event_id), serde_json::Map::new());
    event.expires_at = Some((app.clock().now() + time::Duration::days(7)).unix_timestamp());
    if let Err(e) = app.table().put(event, Condition::None).await {
        tracing::warn!(store_id, error = %e, "could not record a webhook event id; a retry will repeat its work");
    }
}

pub async fn find(
    app: &impl HasTable,
    merchant_id: &MerchantId,
    store_id: &str,
    external_id: &str,
) -> Result<Option<Order>, Error> {
    get(app, merchant_id, &order_id(store_id, external_id)).await
}

pub async fn get(app: &impl HasTable, merchant_id: &MerchantId, order_id: &str) -> Result<Option<Order>, Error> {
    app.table().get(&order_key(merchant_id, order_id)).await?.as_ref().map(Order::from_item).transpose()
}

/// Saves a changed order if nobody changed it since it was read.
pub async fn save(app: &(impl HasTable + HasClock), order: &mut Order) -> Result<bool, Error> {
    order.updated_at = app.clock().now();
    Ok(order.save(app.table()).await? == Written::Done)
}

pub async fn list(
    app: &impl HasTable,
    merchant_id: &MerchantId,
    status: Option<OrderStatus>,
    limit: u32,
    cursor: Option<PageCursor>,
) -> Result<(Vec<Order>, Option<PageCursor>), Error> {
    let mut query = match status {
        Some(status) => Query::new(Index::Gsi1, status_partition(merchant_id, status), limit),
        None => Query::new(Index::Gsi2, format!("MERCHANT#{merchant_id}#ORDERS"), limit),
    };
    query.cursor = cursor;
    query.descending = true;
    let page = app.table().query(query).await?;
    let orders = page.items.iter().map(Order::from_item).collect::<Result<_, _>>()?;
    Ok((orders, page.next))
}
