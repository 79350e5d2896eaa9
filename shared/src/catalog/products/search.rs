//! Searching the merchant's catalog: a [`ProductFilter`] over the products, read in table order and
//! filtered, a page at a time.

use super::{Product, store_partition};
use crate::catalog::products::items;
use crate::kernel::error::Error;
use crate::onboarding::merchant::MerchantId;
use crate::ports::HasTable;
use crate::ports::{Index, PageCursor, Query};
use crate::record::Record;

/// A filter over the merchant's catalog.
#[derive(Clone, Debug, Default)]
pub struct ProductFilter {
    pub store_id: Option<String>,
    /// Case-insensitive substring of the title or a variant's SKU.
    pub query: Option<String>,
    pub status: Option<String>,
    /// `Some(true)`: only low-stock products (against each store's threshold).
    pub low_stock: Option<bool>,
}

impl ProductFilter {
    fn matches(&self, product: &Product, threshold: i64) -> bool {
        let query_matches = self.query.as_ref().is_none_or(|q| {
            let q = q.to_lowercase();
            product.title.to_lowercase().contains(&q)
                || product.variants.iter().any(|v| v.sku.as_ref().is_some_and(|s| s.to_lowercase().contains(&q)))
        });
        query_matches
            && self.status.as_ref().is_none_or(|s| &product.status == s)
            && self.low_stock.is_none_or(|wanted| product.is_low_stock(threshold) == wanted)
    }
}

/// One page of matching products. The table has no text index, so a search reads the catalog in order
/// and filters it, up to a bounded number of items per request; the cursor continues where it stopped. A
/// page holds fewer than `limit` products when their variants would pass Lambda's response size.
/// (A large catalog's search belongs in a search index; this keeps one store of truth until then.)
pub async fn search(
    app: &impl HasTable,
    merchant_id: &MerchantId,
    filter: &ProductFilter,
    thresholds: &std::collections::HashMap<String, i64>,
    limit: u32,
    mut cursor: Option<PageCursor>,
) -> Result<(Vec<Product>, Option<PageCursor>), Error> {
    const MAX_SCANNED: usize = 5_000;
    /// The products' views a page holds at most, room left under Lambda's 6 MB response payload.
    const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;
    let mut found = Vec::new();
    let (mut scanned, mut bytes) = (0, 0);
    let mut last = None;
    loop {
        let mut query = match &filter.store_id {
            Some(store_id) => Query::new(Index::Gsi1, store_partition(store_id), 200),
            None => {
                let mut q = Query::new(Index::Primary, format!("MERCHANT#{merchant_id}#PRODUCTS"), 200);
                q.sk_prefix = Some("PRODUCT#".into());
                q
            }
        };
        query.cursor = cursor.take();
        let page = app.table().query(query).await?;
        let heads = page.items.iter().map(Product::from_item).collect::<Result<_, _>>()?;
        let products = items::complete(app, heads).await?;
        for (item, product) in page.items.iter().zip(products) {
            scanned += 1;
            let threshold =
                thresholds.get(&product.store_id).copied().unwrap_or(crate::stores::DEFAULT_LOW_STOCK_THRESHOLD);
            if filter.matches(&product, threshold) {
                let size = product.view(threshold).to_string().len();
                // Lambda answers at most 6 MB: a page of large products ends early.
                if !found.is_empty() && bytes + size > MAX_PAGE_BYTES {
                    return Ok((found, last));
                }
                bytes += size;
                found.push(product);
                // Continue after this item next time.
                let index_key = filter.store_id.as_ref().and(item.gsi1.clone());
                last = Some(PageCursor { key: item.key.clone(), index_key });
                if found.len() == limit as usize {
                    return Ok((found, last));
                }
            }
        }
        match page.next {
            Some(next) if scanned < MAX_SCANNED => cursor = Some(next),
            next => return Ok((found, next)),
        }
    }
}
