//! Product search: what the search index knows of a product, how product changes reach it, and the
//! search itself.
//!
//! The table is the catalog's source of truth. Every product write ([`crate::catalog::products`]'s
//! `write_merged` and `save_over`) that changes what search sees sends the product ids to the index queue
//! ([`feed`]), an SQS FIFO queue with the merchant as message group, so one merchant's index has one
//! writer at a time. The indexer ([`indexer`], the `search-indexer` function) reads those products back
//! from the table and applies them to the merchant's index: a message says which products changed, not
//! what they became, so a late or repeated message can only bring the index up to date. A rebuild reads
//! the whole catalog and replaces the index; it can run at any time (an admin action, the local CLI).
//!
//! A search ([`search_products`]) asks the index for a page of product ids and reads the products from the
//! table, so what it shows is what the table holds.

pub mod doc;
pub mod feed;
pub mod indexer;

use std::collections::HashMap;

use crate::catalog::products::{self, Product};
use crate::kernel::error::Error;
use crate::onboarding::merchant::MerchantId;
use crate::ports::{HasSearchIndex, HasTable, SearchHits, SearchQuery};

pub use doc::doc_of;
pub use feed::{IndexRequest, products_changed, request_rebuild};
pub use indexer::rebuild;

/// A page of the merchant's matching products, in the index's order, read from the table. A product the
/// index still has but the table no longer does (a change on its way to the index) is left out.
pub async fn search_products(
    app: &(impl HasTable + HasSearchIndex),
    merchant_id: &MerchantId,
    query: &SearchQuery,
) -> Result<(Vec<Product>, SearchHits), Error> {
    let hits = app.search_index().search(merchant_id.as_str(), query).await?;
    let mut found: HashMap<String, Product> = products::get_many(app, merchant_id, &hits.product_ids).await?;
    let page = hits.product_ids.iter().filter_map(|id| found.remove(id)).collect();
    Ok((page, hits))
}
