//! Store orders received by webhook, and their payment.
//!
//! | item                    | pk                | sk                          | gsi1pk                               | gsi1sk       | TTL     |
//! |-------------------------|-------------------|-----------------------------|--------------------------------------|--------------|---------|
//! | order                   | `MERCHANT#<id>`   | `ORDER#<order_id>`          | `MERCHANT#<id>#ORDERS#<status>`      | `<order_id>` |         |
//! | (store, order) claim    | `STORE#<store>`   | `ORDER#<external order id>` |                                      |              |         |
//! | delivery (event id)     | `STORE#<store>`   | `EVENT#<event id>`          |                                      |              | 7 days  |
//!
//! `order_id` is a ULID (newest first when listed). The claim and the delivery items make a delivery's
//! recording idempotent twice over: by the platform's event id and by (store, order id).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::app::App;
use crate::error::Error;
use crate::item::{from_item, to_attributes};
use crate::merchant::MerchantId;
use crate::money::Money;
use crate::platforms::{Customer, OrderLine};
use crate::ports::{Condition, Index, Item, ItemKey, PageCursor, Query, StoreError, WriteOp};

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
    /// The payment failed (retried from the queue until it dead-letters).
    Failed,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Received => "received",
            OrderStatus::AwaitingPaymentMethod => "awaiting_payment_method",
            OrderStatus::AlreadyPaid => "already_paid",
            OrderStatus::Paid => "paid",
            OrderStatus::Declined => "declined",
            OrderStatus::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Received, Self::AwaitingPaymentMethod, Self::AlreadyPaid, Self::Paid, Self::Declined, Self::Failed]
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
    pub merchant_id: MerchantId,
    pub store_id: String,
    pub external_id: String,
    pub name: Option<String>,
    pub total: Money,
    pub line_items: Vec<OrderLine>,
    /// Personal data; removed on a redaction request.
    pub customer: Option<Customer>,
    pub payment_method: Option<String>,
    pub status: OrderStatus,
    pub payment_id: Option<String>,
    pub psp: Option<String>,
    pub psp_reference: Option<String>,
    pub decline_code: Option<String>,
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

fn claim_key(store_id: &str, external_id: &str) -> ItemKey {
    ItemKey::new(format!("STORE#{store_id}"), format!("ORDER#{external_id}"))
}

fn event_key(store_id: &str, event_id: &str) -> ItemKey {
    ItemKey::new(format!("STORE#{store_id}"), format!("EVENT#{event_id}"))
}

fn status_partition(merchant_id: &MerchantId, status: OrderStatus) -> String {
    format!("MERCHANT#{merchant_id}#ORDERS#{}", status.as_str())
}

impl Order {
    fn to_item(&self, version: u64) -> Result<Item, Error> {
        let mut item = Item::new(order_key(&self.merchant_id, &self.order_id), to_attributes(self)?);
        item.gsi1 = Some(ItemKey::new(status_partition(&self.merchant_id, self.status), self.order_id.clone()));
        item.version = version;
        Ok(item)
    }

    fn from_item(item: &Item) -> Result<Self, Error> {
        let mut order: Self = from_item(item)?;
        order.version = item.version;
        Ok(order)
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
            "failure": self.failure,
            "write_back": self.write_back,
            "write_back_error": self.write_back_error,
            "line_items": self.line_items,
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

/// Records an order once per (store, order id) and once per delivery event id, in one transaction.
pub async fn record(app: &App, order: Order, event_id: Option<&str>) -> Result<Recorded, Error> {
    let now = app.clock.now();
    let mut claim = serde_json::Map::new();
    claim.insert("order_id".into(), order.order_id.clone().into());
    let mut ops = vec![
        WriteOp::Put {
            item: Item::new(claim_key(&order.store_id, &order.external_id), claim),
            condition: Condition::NotExists,
        },
        WriteOp::Put { item: order.to_item(1)?, condition: Condition::NotExists },
    ];
    if let Some(event_id) = event_id {
        let mut event = Item::new(event_key(&order.store_id, event_id), serde_json::Map::new());
        event.expires_at = Some((now + time::Duration::days(7)).unix_timestamp());
        ops.push(WriteOp::Put { item: event, condition: Condition::NotExists });
    }
    for _ in 0..4 {
        match app.table.transact(ops.clone()).await {
            // A conflict with another transaction (no failed condition) is not a duplicate: try again.
            Err(StoreError::TransactionCancelled { index: None }) => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            other => return recorded(app, order, other).await,
        }
    }
    Err(Error::Unavailable("the order kept conflicting with concurrent deliveries".into()))
}

async fn recorded(app: &App, order: Order, outcome: Result<(), StoreError>) -> Result<Recorded, Error> {
    match outcome {
        Ok(()) => Ok(Recorded::New(order)),
        Err(StoreError::TransactionCancelled { .. }) => {
            let existing = find(app, &order.merchant_id, &order.store_id, &order.external_id).await?;
            Ok(Recorded::Duplicate(existing.filter(|o| o.status == OrderStatus::Received)))
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether a delivery's event id was already recorded (for deliveries that record no order).
pub async fn seen_event(app: &App, store_id: &str, event_id: &str) -> Result<bool, Error> {
    let mut event = Item::new(event_key(store_id, event_id), serde_json::Map::new());
    event.expires_at = Some((app.clock.now() + time::Duration::days(7)).unix_timestamp());
    match app.table.put(event, Condition::NotExists).await {
        Ok(()) => Ok(false),
        Err(StoreError::ConditionFailed) => Ok(true),
        Err(e) => Err(e.into()),
    }
}

pub async fn find(
    app: &App,
    merchant_id: &MerchantId,
    store_id: &str,
    external_id: &str,
) -> Result<Option<Order>, Error> {
    let Some(claim) = app.table.get(&claim_key(store_id, external_id)).await? else { return Ok(None) };
    let Some(order_id) = claim.attrs.get("order_id").and_then(|v| v.as_str()) else { return Ok(None) };
    get(app, merchant_id, order_id).await
}

pub async fn get(app: &App, merchant_id: &MerchantId, order_id: &str) -> Result<Option<Order>, Error> {
    app.table.get(&order_key(merchant_id, order_id)).await?.as_ref().map(Order::from_item).transpose()
}

/// Saves a changed order if nobody changed it since it was read.
pub async fn save(app: &App, order: &mut Order) -> Result<bool, Error> {
    order.updated_at = app.clock.now();
    match app.table.put(order.to_item(order.version + 1)?, Condition::VersionIs(order.version)).await {
        Ok(()) => {
            order.version += 1;
            Ok(true)
        }
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

pub async fn list(
    app: &App,
    merchant_id: &MerchantId,
    status: Option<OrderStatus>,
    limit: u32,
    cursor: Option<PageCursor>,
) -> Result<(Vec<Order>, Option<PageCursor>), Error> {
    let mut query = match status {
        Some(status) => Query::new(Index::Gsi1, status_partition(merchant_id, status), limit),
        None => {
            let mut q = Query::new(Index::Primary, format!("MERCHANT#{merchant_id}"), limit);
            q.sk_prefix = Some("ORDER#".into());
            q
        }
    };
    query.cursor = cursor;
    query.descending = true;
    let page = app.table.query(query).await?;
    let orders = page.items.iter().map(Order::from_item).collect::<Result<_, _>>()?;
    Ok((orders, page.next))
}

/// Removes personal data from a store's orders: of one customer (by id or e-mail), or all (`None`).
pub async fn redact(
    app: &App,
    merchant_id: &MerchantId,
    store_id: &str,
    customer: Option<&Customer>,
) -> Result<u64, Error> {
    let mut redacted = 0;
    let mut cursor = None;
    loop {
        let (orders, next) = list(app, merchant_id, None, 100, cursor).await?;
        for mut order in orders.into_iter().filter(|o| o.store_id == store_id && o.customer.is_some()) {
            let matches = match (customer, &order.customer) {
                (None, _) => true,
                (Some(wanted), Some(held)) => {
                    (wanted.external_id.is_some() && wanted.external_id == held.external_id)
                        || (wanted.email.is_some() && wanted.email == held.email)
                }
                (Some(_), None) => false,
            };
            if matches {
                order.customer = None;
                if save(app, &mut order).await? {
                    redacted += 1;
                }
            }
        }
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(redacted),
        }
    }
}
