//! The search index port: one full-text index of products per merchant.
//!
//! The table stays the catalog's source of truth; the index holds what search needs (text, filters, sort
//! keys) and answers with product ids, which the caller reads from the table. It can be rebuilt from the
//! table at any time ([`SearchIndex::replace_all`]).
//!
//! Both adapters run one engine, tantivy (`pivota_search`): `pivota_embedded` keeps each merchant's index in
//! the data directory, `pivota_aws` in S3 (segments are immutable files, `meta.json` names the current
//! ones; readers cache files in `/tmp` by name). Writes for one merchant are serialised by the index
//! queue (an SQS FIFO queue, the merchant id as message group), and an adapter never lets two writers
//! corrupt an index or lose a change if that fails: a commit is published only over the one it started from.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// What the index knows of one product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductDoc {
    pub product_id: String,
    pub store_id: String,
    pub title: String,
    pub variant_titles: Vec<String>,
    pub skus: Vec<String>,
    /// Where the platform has them (Shopify's vendor and product type, Wix's brand).
    pub vendor: Option<String>,
    pub product_type: Option<String>,
    /// `active`, `draft`, `archived` or `removed`.
    pub status: String,
    /// Some variant can be sold: its inventory is not tracked, or its quantity is above zero.
    pub in_stock: bool,
    /// The lowest quantity among the variants whose inventory is tracked (`None`: none is). A product is
    /// low on stock when this is at or below its store's threshold, so a threshold change needs no re-index.
    pub min_stock: Option<i64>,
    /// Every variant's price, integer minor units of the product's currency.
    pub prices: Vec<i64>,
    /// The last change, Unix seconds.
    pub updated_at: i64,
}

/// One change to a merchant's index.
// Most changes are upserts, so boxing the document would cost an allocation on nearly every change to save
// the bytes of the few removals.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndexChange {
    /// Adds the product, or replaces what the index had for its id.
    Upsert(ProductDoc),
    /// Takes the product out (a no-op if it is not there).
    Remove { product_id: String },
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchSort {
    /// Best match first; without text, the most recently updated first.
    #[default]
    Relevance,
    /// By the lowest variant price.
    PriceAsc,
    PriceDesc,
    /// Most recently updated first.
    Updated,
}

/// A search: text and filters, combined with AND.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchQuery {
    /// Matches title, variant titles, SKUs, vendor and product type. Every word must match; the last one
    /// as a prefix (search as you type); words of five letters or more also within one edit. A text
    /// equal to a SKU ranks that product first.
    pub text: Option<String>,
    pub store_id: Option<String>,
    /// `None`: every status but `removed` (a removed product disappears from results unless asked for).
    pub status: Option<String>,
    pub in_stock: Option<bool>,
    /// Against each store's threshold: `thresholds`, else `default_threshold`.
    pub low_stock: Option<bool>,
    pub thresholds: Vec<(String, i64)>,
    pub default_threshold: i64,
    /// Some variant's price within `[price_min, price_max]` (minor units, both inclusive).
    pub price_min: Option<i64>,
    pub price_max: Option<i64>,
    pub sort: SearchSort,
    /// 1..=100.
    pub limit: u32,
    /// The previous page's [`SearchHits::next`]; results continue strictly after it in this sort order.
    pub after: Option<SearchCursor>,
}

/// Where a page ended: the last hit's sort key and a tie-breaker unique to its product. Paging by this key
/// (not by offset) is stable: products added or removed meanwhile never repeat or skip the others.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchCursor {
    /// The sort value: a score for relevance, a price or a time otherwise.
    pub value: f64,
    /// The product id's tie-breaker.
    pub tie: u64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchHits {
    /// The page's products, in order.
    pub product_ids: Vec<String>,
    /// How many products match in all (not only after the cursor).
    pub total: u64,
    /// `true` when `total` is a lower bound (counting stopped at a cap), `false` when exact.
    pub total_is_lower_bound: bool,
    pub next: Option<SearchCursor>,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The cursor does not fit this search (another sort order).
    #[error("the search cursor does not fit this search")]
    InvalidCursor,
    /// Storage throttled or unreachable, or another writer committed first: safe to retry.
    #[error("transient search index failure: {0}")]
    Transient(String),
    #[error("search index failure: {0}")]
    Other(String),
}

#[async_trait]
pub trait SearchIndex: Send + Sync {
    /// Applies the changes to the merchant's index and commits them: visible to the next search once this
    /// returns. Concurrent calls for one merchant never corrupt the index nor lose a change.
    async fn apply(&self, merchant_id: &str, changes: Vec<IndexChange>) -> Result<(), SearchError>;
    /// Replaces the merchant's whole index with these products (a rebuild from the table).
    async fn replace_all(&self, merchant_id: &str, docs: Vec<ProductDoc>) -> Result<(), SearchError>;
    /// A page of the merchant's matching products. A merchant without an index has no products.
    async fn search(&self, merchant_id: &str, query: &SearchQuery) -> Result<SearchHits, SearchError>;
}

/// The search index port.
pub trait HasSearchIndex {
    fn search_index(&self) -> &dyn SearchIndex;
}
