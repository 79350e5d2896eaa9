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

/// The catalog the search benchmark indexes, written to a table as products (one variant per price, SKU
/// and stock of the document), so the scan reads what the index was built from.
pub async fn write_catalog(
    app: &impl HasTable,
    merchant_id: &MerchantId,
    docs: &[pivota::ports::ProductDoc],
) -> Result<(), Error> {
    use pivota::record::Record as _;
    let now = time::OffsetDateTime::now_utc();
    let mut items = Vec::with_capacity(docs.len());
    for doc in docs {
        let variants = (0..doc.prices.len().max(doc.skus.len()))
            .map(|n| products::Variant {
                variant_id: format!("{}-{n}", doc.product_id),
                title: doc.variant_titles.get(n).cloned().unwrap_or_default(),
                sku: doc.skus.get(n).cloned(),
                store_price_minor: doc.prices.get(n).copied().unwrap_or_default(),
                price_override_minor: None,
                inventory_quantity: doc.min_stock,
            })
            .collect();
        let product = Product {
            product_id: doc.product_id.clone(),
            merchant_id: merchant_id.clone(),
            store_id: doc.store_id.clone(),
            external_id: doc.product_id.clone(),
            title: doc.title.clone(),
            status: doc.status.clone(),
            image_url: None,
            vendor: doc.vendor.clone(),
            product_type: doc.product_type.clone(),
            currency: pivota::kernel::money::Currency::parse("USD").expect("USD"),
            variants,
            store_updated_at: None,
            content_hash: String::new(),
            synced_at: now,
            variant_chunks: Vec::new(),
            seen_by_job: None,
            removed_by: None,
            version: 1,
        };
        items.push(product.to_item()?);
    }
    app.table().batch_put(items).await?;
    Ok(())
}
