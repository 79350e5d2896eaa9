//! Search index cases: what every `SearchIndex` adapter must do, whatever its storage (a directory, S3).
//! The engine's own rules (relevance, typos, filters, sorts) are `pivota-search`'s tests; these are the
//! port's: commits are visible, removals and replacements stick, merchants are apart, and two writers for
//! one merchant (two processes, two Lambda instances) lose nothing.

use std::sync::Arc;

use pivota::ports::{IndexChange, ProductDoc, SearchIndex, SearchQuery};

use super::*;

fn doc(id: &str, title: &str) -> ProductDoc {
    ProductDoc {
        product_id: id.into(),
        store_id: "sto_conformance".into(),
        title: title.into(),
        variant_titles: Vec::new(),
        skus: vec![format!("SKU-{id}")],
        vendor: None,
        product_type: None,
        status: "active".into(),
        in_stock: true,
        min_stock: Some(10),
        prices: vec![1000],
        updated_at: 1_764_000_000,
    }
}

fn text(words: &str) -> SearchQuery {
    SearchQuery { text: Some(words.into()), limit: 100, ..SearchQuery::default() }
}

async fn ids(index: &dyn SearchIndex, merchant: &str, query: &SearchQuery) -> Vec<String> {
    let mut ids = index.search(merchant, query).await.expect("search").product_ids;
    ids.sort();
    ids
}

fn merchant() -> String {
    format!("mer_{}", Ulid::new())
}

pub async fn search_index_commits_are_visible_and_removals_stick<F: Fixture>() {
    let fx = F::new().await;
    let index = fx.search();
    let m = merchant();
    // GIVEN no index yet: nothing, and no error
    assert_eq!(index.search(&m, &text("lamp")).await.expect("search").total, 0);
    // WHEN products are added, one changed, one removed
    let changes = vec![IndexChange::Upsert(doc("p1", "Brass Lamp")), IndexChange::Upsert(doc("p2", "Brass Hook"))];
    index.apply(&m, changes).await.expect("apply");
    assert_eq!(ids(index.as_ref(), &m, &text("brass")).await, ["p1", "p2"]);
    index.apply(&m, vec![IndexChange::Upsert(doc("p2", "Steel Hook"))]).await.expect("apply");
    index.apply(&m, vec![IndexChange::Remove { product_id: "p1".into() }]).await.expect("apply");
    // THEN each commit is what the next search sees
    assert!(ids(index.as_ref(), &m, &text("brass")).await.is_empty());
    assert_eq!(ids(index.as_ref(), &m, &text("steel")).await, ["p2"]);
    // AND removing what is not there is a no-op
    index.apply(&m, vec![IndexChange::Remove { product_id: "nope".into() }]).await.expect("apply");
    assert_eq!(index.search(&m, &SearchQuery { limit: 100, ..SearchQuery::default() }).await.unwrap().total, 1);
}

pub async fn search_index_replace_all_replaces_everything<F: Fixture>() {
    let fx = F::new().await;
    let index = fx.search();
    let m = merchant();
    index.apply(&m, (0..5).map(|n| IndexChange::Upsert(doc(&format!("old{n}"), "Old Chair"))).collect()).await.unwrap();
    index.replace_all(&m, (0..3).map(|n| doc(&format!("new{n}"), "New Table")).collect()).await.expect("replace");
    assert!(ids(index.as_ref(), &m, &text("chair")).await.is_empty());
    assert_eq!(ids(index.as_ref(), &m, &text("table")).await, ["new0", "new1", "new2"]);
    index.replace_all(&m, Vec::new()).await.expect("replace with nothing");
    assert_eq!(index.search(&m, &SearchQuery { limit: 10, ..SearchQuery::default() }).await.unwrap().total, 0);
}

pub async fn search_index_keeps_merchants_apart<F: Fixture>() {
    let fx = F::new().await;
    let index = fx.search();
    let (a, b) = (merchant(), merchant());
    index.apply(&a, vec![IndexChange::Upsert(doc("p1", "Oak Desk"))]).await.unwrap();
    index.apply(&b, vec![IndexChange::Upsert(doc("p9", "Oak Shelf"))]).await.unwrap();
    assert_eq!(ids(index.as_ref(), &a, &text("oak")).await, ["p1"]);
    assert_eq!(ids(index.as_ref(), &b, &text("oak")).await, ["p9"]);
    index.replace_all(&a, Vec::new()).await.unwrap();
    assert_eq!(ids(index.as_ref(), &b, &text("oak")).await, ["p9"], "a rebuild of one merchant leaves the other");
    for bad in ["../escape", "a/b", ""] {
        assert!(index.search(bad, &text("oak")).await.is_err(), "{bad:?} is no merchant id");
    }
}

pub async fn concurrent_writers_of_one_merchant_lose_nothing<F: Fixture>() {
    let fx = F::new().await;
    // Two writers over the same storage, each with caches of its own (two processes, two Lambda instances).
    let (first, second): (Arc<dyn SearchIndex>, Arc<dyn SearchIndex>) = (fx.search(), fx.another_search());
    let m = merchant();
    let writes = |index: Arc<dyn SearchIndex>, prefix: &'static str| {
        let m = m.clone();
        tokio::spawn(async move {
            for n in 0..12 {
                let change = IndexChange::Upsert(doc(&format!("{prefix}{n:02}"), "Walnut Stool"));
                index.apply(&m, vec![change]).await.expect("apply");
            }
        })
    };
    let (a, b) = (writes(first.clone(), "a"), writes(second.clone(), "b"));
    a.await.unwrap();
    b.await.unwrap();
    for index in [first, second] {
        let found = ids(index.as_ref(), &m, &text("walnut")).await;
        assert_eq!(found.len(), 24, "every change of both writers: {found:?}");
    }
}
