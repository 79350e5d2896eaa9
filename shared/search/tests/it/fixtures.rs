//! The catalog every test builds on: products with sensible defaults, and an index in a temporary directory.

use pivota::ports::{IndexChange, ProductDoc, SearchHits, SearchQuery, SearchSort};
use pivota_search::tantivy::{Index, ReloadPolicy};
use tempfile::TempDir;

pub const STORE_A: &str = "store-a";
pub const STORE_B: &str = "store-b";

/// An active, in-stock product of store A priced 10.00, without tracked stock.
pub fn product(id: &str, title: &str) -> ProductDoc {
    ProductDoc {
        product_id: id.into(),
        store_id: STORE_A.into(),
        title: title.into(),
        variant_titles: Vec::new(),
        skus: Vec::new(),
        vendor: None,
        product_type: None,
        status: "active".into(),
        in_stock: true,
        min_stock: None,
        prices: vec![1000],
        updated_at: 1_700_000_000,
    }
}

/// A search for `text`, by relevance, with room for every hit.
pub fn text(text: &str) -> SearchQuery {
    SearchQuery { text: Some(text.into()), ..everything() }
}

/// Every product the default status filter keeps.
pub fn everything() -> SearchQuery {
    SearchQuery { limit: 100, default_threshold: 5, ..SearchQuery::default() }
}

pub fn sorted(sort: SearchSort) -> SearchQuery {
    SearchQuery { sort, ..everything() }
}

pub fn upserts(products: &[ProductDoc]) -> Vec<IndexChange> {
    products.iter().cloned().map(IndexChange::Upsert).collect()
}

/// One merchant's index in a temporary directory, written and searched through the crate's functions.
pub struct Catalog {
    pub dir: TempDir,
    pub index: Index,
}

impl Catalog {
    pub fn empty() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let index = pivota_search::open_or_create(dir.path()).unwrap();
        Self { dir, index }
    }

    pub fn with(products: &[ProductDoc]) -> Self {
        let catalog = Self::empty();
        catalog.apply(upserts(products));
        catalog
    }

    pub fn apply(&self, changes: Vec<IndexChange>) {
        pivota_search::apply(&self.index, changes).unwrap();
    }

    pub fn hits(&self, query: &SearchQuery) -> SearchHits {
        let reader = self.index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().unwrap();
        pivota_search::search(&reader.searcher(), query).unwrap()
    }

    pub fn ids(&self, query: &SearchQuery) -> Vec<String> {
        self.hits(query).product_ids
    }

    /// Every hit, page after page of `limit`, running `between` with the hits so far after each page but
    /// the last.
    pub fn all_pages(&self, query: &SearchQuery, limit: u32, mut between: impl FnMut(&Self, &[String])) -> Vec<String> {
        let mut query = SearchQuery { limit, after: None, ..query.clone() };
        let mut ids = Vec::new();
        loop {
            let hits = self.hits(&query);
            assert!(hits.product_ids.len() <= limit as usize);
            ids.extend(hits.product_ids);
            match hits.next {
                Some(next) => query.after = Some(next),
                None => return ids,
            }
            between(self, &ids);
        }
    }
}

pub fn ids(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| id.to_string()).collect()
}
