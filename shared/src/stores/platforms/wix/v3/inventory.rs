//! A page's stock, read through Inventory Items V3 "Query Inventory Items" (`POST
//! /stores/v3/inventory-items/query`,
//! https://dev.wix.com/docs/api-reference/business-solutions/stores/catalog-v3/inventory-items-v3/introduction):
//! up to 1,000 items a call; an item is a (variant, location) with `trackQuantity` and `quantity`. The
//! product's own `inventory` holds only an availability status, no count. Where a variant has items
//! in several locations, Pivota shows the sum of the tracked quantities.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::json;

use super::{PagingMetadata, all_pages, batch_query};
use crate::stores::platforms::wix::{call, parse, paths, url};
use crate::stores::platforms::{PlatformError, StoreCredentials, StoreEndpoint};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InventoryItem {
    product_id: String,
    variant_id: String,
    #[serde(default)]
    track_quantity: bool,
    #[serde(default)]
    quantity: Option<i64>,
}

/// Tracked quantities per (product id, variant id), summed over locations.
pub(super) type Stock = HashMap<(String, String), i64>;

fn stock_of(items: Vec<InventoryItem>) -> Stock {
    let mut stock = Stock::new();
    for item in items.into_iter().filter(|item| item.track_quantity) {
        *stock.entry((item.product_id, item.variant_id)).or_default() += item.quantity.unwrap_or(0);
    }
    stock
}

pub(in crate::stores::platforms::wix) fn query_inventory_request(
    endpoint: &StoreEndpoint,
    product_ids: &[String],
    cursor: Option<&str>,
) -> reqwest::RequestBuilder {
    endpoint
        .http
        .post(url(&endpoint.base, paths::V3_QUERY_INVENTORY_ITEMS))
        .json(&json!({ "query": batch_query("productId", product_ids, cursor) }))
}

pub(super) async fn stock(
    endpoint: &StoreEndpoint,
    credentials: &StoreCredentials,
    product_ids: &[String],
) -> Result<Stock, PlatformError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Answer {
        #[serde(default)]
        inventory_items: Vec<InventoryItem>,
        #[serde(default)]
        paging_metadata: PagingMetadata,
    }
    let items = all_pages(|cursor| async move {
        let request = query_inventory_request(endpoint, product_ids, cursor.as_deref());
        let answer: Answer = parse(&call(request, credentials).await?, "inventory items query")?;
        Ok((answer.inventory_items, answer.paging_metadata))
    })
    .await?;
    Ok(stock_of(items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_sums_tracked_locations_only() {
        let item = |variant: &str, tracked: bool, quantity: Option<i64>| InventoryItem {
            product_id: "p".into(),
            variant_id: variant.into(),
            track_quantity: tracked,
            quantity,
        };
        let stock = stock_of(vec![item("a", true, Some(3)), item("a", true, Some(4)), item("b", false, None)]);
        assert_eq!(stock.get(&("p".into(), "a".into())), Some(&7));
        assert_eq!(stock.get(&("p".into(), "b".into())), None);
    }
}
