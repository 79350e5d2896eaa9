//! The catalog search Pivota had before the search index, kept as the search benchmark's baseline: each
//! request read the catalog in key order and filtered it in code, at most 5,000 products a request, and
//! handed back a cursor to continue. A client wanting its first matches follows the cursors until a page
//! has one, so a product near the end of a large catalog costs many requests.

use pivota::catalog::products::{self, Product};
use pivota::kernel::error::Error;
use pivota::onboarding::merchant::MerchantId;
use pivota::ports::{HasTable, PageCursor};

/// A case-insensitive substring of the title or a SKU, and the other filters the scan had.
#[derive(Clone, Debug, Default)]
pub struct ScanFilter {
    pub query: Option<String>,
    pub store_id: Option<String>,
    pub low_stock: Option<(bool, i64)>,
}

impl ScanFilter {
    fn matches(&self, product: &Product) -> bool {
        let query_matches = self.query.as_ref().is_none_or(|q| {
            let q = q.to_lowercase();
            product.title.to_lowercase().contains(&q)
                || product.variants.iter().any(|v| v.sku.as_ref().is_some_and(|s| s.to_lowercase().contains(&q)))
        });
        query_matches
            && self.store_id.as_ref().is_none_or(|s| &product.store_id == s)
            && self.low_stock.is_none_or(|(wanted, threshold)| product.is_low_stock(threshold) == wanted)
    }
}

/// Products read per request before answering "nothing yet, continue".
const MAX_SCANNED: usize = 5_000;

/// One request of the old search: up to `limit` matches, and where the next request continues.
pub async fn request(
    app: &impl HasTable,
    merchant_id: &MerchantId,
    filter: &ScanFilter,
    limit: usize,
    mut cursor: Option<PageCursor>,
) -> Result<(Vec<Product>, Option<PageCursor>), Error> {
    let (mut found, mut scanned) = (Vec::new(), 0);
    loop {
        let (page, next) = products::catalog_page(app, merchant_id, cursor.take()).await?;
        scanned += page.len();
        found.extend(page.into_iter().filter(|p| filter.matches(p)));
        if found.len() >= limit {
            found.truncate(limit);
            return Ok((found, next));
        }
        match next {
            Some(next) if scanned < MAX_SCANNED => cursor = Some(next),
            next => return Ok((found, next)),
        }
    }
}

/// What a client did to see its first matches: requests made, and the matches (empty: none exist).
pub async fn first_matches(
    app: &impl HasTable,
    merchant_id: &MerchantId,
    filter: &ScanFilter,
    limit: usize,
) -> Result<(usize, Vec<Product>), Error> {
    let (mut requests, mut cursor) = (0, None);
    loop {
        requests += 1;
        let (found, next) = request(app, merchant_id, filter, limit, cursor).await?;
        if !found.is_empty() || next.is_none() {
            return Ok((requests, found));
        }
        cursor = next;
    }
}
