//! Marking products removed: a removal pass over a store's index (a sync's end, a store task), a page per
//! step, and the marking itself, which also serves a product the store deleted.

use std::collections::HashMap;

use super::{Product, store_partition, write_merged};
use crate::kernel::error::Error;
use crate::onboarding::merchant::MerchantId;
use crate::ports::HasClock;
use crate::ports::HasQueue;
use crate::ports::HasTable;
use crate::ports::{Index, PageCursor, Query};
use crate::record::Record;

/// Products of the store's index read per step of a removal pass.
pub const REMOVAL_PAGE: u32 = 200;

/// One step of removal pass `pass` (a sync job's or a store task's id) over a store's products: reads a
/// page of the store's index from `cursor` and marks removed those that `remove` picks. Returns how many
/// products of the page the pass has removed, this step or a redone one's lost run, and where the next
/// step starts (`None`: the pass is done). Counting what carries the pass's mark, not what this run wrote,
/// makes a step redone after a lost checkpoint count its products once. The index is eventually consistent
/// on DynamoDB: a product it shows is read again (strongly consistent) and judged on that, so a write the
/// index has not caught up with (a sync's stamp) is never overruled.
pub async fn remove_page(
    app: &(impl HasTable + HasClock + HasQueue),
    merchant_id: &MerchantId,
    store_id: &str,
    pass: &str,
    cursor: Option<PageCursor>,
    remove: impl Fn(&Product) -> bool,
) -> Result<(u64, Option<PageCursor>), Error> {
    let mut query = Query::new(Index::Gsi1, store_partition(store_id), REMOVAL_PAGE);
    query.cursor = cursor;
    let page = app.table().query(query).await?;
    let removed_by_pass =
        |product: &Product| product.status == "removed" && product.removed_by.as_deref() == Some(pass);
    let picked = |product: &Product| product.status != "removed" && remove(product);
    let mut keys = Vec::new();
    for item in &page.items {
        let product = Product::from_item(item)?;
        if product.merchant_id == *merchant_id && (picked(&product) || removed_by_pass(&product)) {
            keys.push(item.key.clone());
        }
    }
    let (mut earlier, mut stored) = (0, HashMap::new());
    if !keys.is_empty() {
        for item in app.table().batch_get(keys).await? {
            let product = Product::from_item(&item)?;
            if removed_by_pass(&product) {
                earlier += 1;
            } else if picked(&product) {
                stored.insert(product.product_id.clone(), product);
            }
        }
    }
    let removed = mark_removed(app, merchant_id, stored, Some(pass)).await?;
    Ok((earlier + removed, page.next))
}

/// Marks the `stored` products removed (one the store deleted, or all of a store that is gone), with the
/// removal pass that did it, if one did.
pub async fn mark_removed(
    app: &(impl HasTable + HasClock + HasQueue),
    merchant_id: &MerchantId,
    stored: HashMap<String, Product>,
    pass: Option<&str>,
) -> Result<u64, Error> {
    let ids: Vec<String> = stored.keys().cloned().collect();
    let now = app.clock().now();
    let outcome = write_merged(app, merchant_id, &ids, stored, |_, current| {
        Ok(current.filter(|p| p.status != "removed").map(|p| {
            let mut product = p.clone();
            product.status = "removed".into();
            product.removed_by = pass.map(str::to_owned);
            product.synced_at = now;
            product
        }))
    })
    .await?;
    for skipped in &outcome.skipped {
        tracing::warn!(%merchant_id, product = skipped.external_id, reason = skipped.reason, "a removed product could not be marked removed");
    }
    Ok(outcome.written)
}
