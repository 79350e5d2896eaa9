//! Removing personal data from orders (Shopify's `customers/redact` and `shop/redact`), a page at a time
//! for the store tasks that run them (`store_tasks.rs`).
//!
//! | item          | pk                              | sk                 |
//! |---------------|---------------------------------|--------------------|
//! | customer link | `CUSTOMER#<store>#<keyed hash>` | `ORDER#<order_id>` |
//!
//! An order with a customer is recorded with one link per identifier the customer has (the platform's
//! customer id, the e-mail), in the same transaction as the order. A customer's redaction reads the links
//! of the identifiers it names, never the other orders. The keys hold no personal data: the identifier is
//! hashed with HMAC-SHA256 under a key derived from the store's webhook secret, which the order webhook
//! holds anyway (the internet-facing function holds no platform-wide secret) and which lives as long as the
//! store's id: a disconnected Shopify store keeps it for exactly these deliveries. A store without one (a
//! Wix store without a webhook key; Wix sends no redaction request) gets no links.
//!
//! Redacting an order clears its customer and deletes its links in one transaction conditional on the
//! order's version; a page redone finds the order redacted already and counts it no more.

use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;

use crate::kernel::error::Error;
use crate::onboarding::merchant::MerchantId;
use crate::orders::{self, Order};
use crate::ports::HasClock;
use crate::ports::HasTable;
use crate::ports::{Condition, Index, Item, ItemKey, PageCursor, Query, StoreError, WriteOp};
use crate::record::Record;
use crate::stores::platforms::{Customer, StoreCredentials};

/// Orders read per step.
const PAGE: u32 = 100;
const REDACT_ATTEMPTS: usize = 5;

fn link_partition(store_id: &str, customer_key: &str) -> String {
    format!("CUSTOMER#{store_id}#{customer_key}")
}

fn link_key(store_id: &str, customer_key: &str, order_id: &str) -> ItemKey {
    ItemKey::new(link_partition(store_id, customer_key), format!("ORDER#{order_id}"))
}

/// The keyed hashes a customer is indexed under: one per identifier (an e-mail compared without case).
/// Empty when the store has no webhook secret.
pub fn customer_index_keys(credentials: &StoreCredentials, store_id: &str, customer: &Customer) -> Vec<String> {
    let Some(secret) = credentials.webhook_secret.as_ref() else { return Vec::new() };
    let identifiers = [
        customer.external_id.as_deref().map(|id| ("id", id.trim().to_owned())),
        customer.email.as_deref().map(|email| ("email", email.trim().to_lowercase())),
    ];
    identifiers
        .into_iter()
        .flatten()
        .filter(|(_, value)| !value.is_empty())
        .filter_map(|(kind, value)| {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()).ok()?;
            mac.update(format!("pivota customer index\n{store_id}\n{kind}\n{value}").as_bytes());
            Some(hex::encode(&mac.finalize().into_bytes()[..16]))
        })
        .collect()
}

/// The puts of an order's customer links (written with the order).
pub fn link_puts(order: &Order) -> Vec<WriteOp> {
    order
        .customer_index
        .iter()
        .map(|customer_key| {
            let mut attrs = serde_json::Map::new();
            attrs.insert("order_id".into(), order.order_id.clone().into());
            let item = Item::new(link_key(&order.store_id, customer_key, &order.order_id), attrs);
            WriteOp::Put { item, condition: Condition::None }
        })
        .collect()
}

/// One page of a customer's links from `cursor`: redacts each linked order. Returns how many orders it
/// redacted and where the next page starts.
pub async fn redact_customer_page(
    app: &(impl HasTable + HasClock),
    merchant_id: &MerchantId,
    store_id: &str,
    customer_key: &str,
    cursor: Option<PageCursor>,
) -> Result<(u64, Option<PageCursor>), Error> {
    let mut query = Query::new(Index::Primary, link_partition(store_id, customer_key), PAGE);
    query.cursor = cursor;
    let page = app.table().query(query).await?;
    let mut redacted = 0;
    for link in &page.items {
        let Some(order_id) = link.attrs.get("order_id").and_then(|id| id.as_str()) else { continue };
        if redact_order(app, merchant_id, order_id).await? {
            redacted += 1;
        } else {
            // The order is gone or was redacted without this link: the link alone is left to remove.
            app.table().delete(&link.key, Condition::None).await?;
        }
    }
    Ok((redacted, page.next))
}

/// One page of the merchant's orders (newest first) from `cursor`: redacts those of the store. Every order
/// is read, with or without links, so orders recorded before the customer index existed are redacted too.
pub async fn redact_store_page(
    app: &(impl HasTable + HasClock),
    merchant_id: &MerchantId,
    store_id: &str,
    cursor: Option<PageCursor>,
) -> Result<(u64, Option<PageCursor>), Error> {
    let (page, next) = orders::list(app, merchant_id, None, PAGE, cursor).await?;
    let mut redacted = 0;
    for order in page.iter().filter(|o| o.store_id == store_id && o.customer.is_some()) {
        if redact_order(app, merchant_id, &order.order_id).await? {
            redacted += 1;
        }
    }
    Ok((redacted, next))
}

/// Clears an order's customer and deletes its links, in one transaction on the order's version (read
/// again on a conflict with the payment worker). `false` when there was nothing to redact.
async fn redact_order(
    app: &(impl HasTable + HasClock),
    merchant_id: &MerchantId,
    order_id: &str,
) -> Result<bool, Error> {
    for _ in 0..REDACT_ATTEMPTS {
        let Some(mut order) = orders::get(app, merchant_id, order_id).await? else { return Ok(false) };
        if order.customer.is_none() && order.customer_index.is_empty() {
            return Ok(false);
        }
        let had_customer = order.customer.is_some();
        let mut ops: Vec<WriteOp> = order
            .customer_index
            .iter()
            .map(|customer_key| WriteOp::Delete {
                key: link_key(&order.store_id, customer_key, &order.order_id),
                condition: Condition::None,
            })
            .collect();
        order.customer = None;
        order.customer_index.clear();
        order.updated_at = app.clock().now();
        ops.insert(0, order.save_op()?);
        match app.table().transact(ops).await {
            Ok(()) => return Ok(had_customer),
            Err(StoreError::TransactionCancelled { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Conflict("the order kept changing while being redacted; the task will be retried".into()))
}
