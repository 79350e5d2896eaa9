//! Each sort order, and the tie-breaker that makes every order total.

use pivota::ports::{ProductDoc, SearchQuery, SearchSort};

use crate::fixtures::{Catalog, ids, product, sorted, text};

fn priced(id: &str, prices: Vec<i64>) -> ProductDoc {
    ProductDoc { prices, ..product(id, "Mug") }
}

fn updated(id: &str, updated_at: i64) -> ProductDoc {
    ProductDoc { updated_at, ..product(id, "Mug") }
}

#[test]
fn price_ascending_by_the_lowest_variant_price_without_price_last() {
    let catalog = Catalog::with(&[
        priced("none", Vec::new()),
        priced("mid", vec![2000, 700]),
        priced("high", vec![900]),
        priced("low", vec![3000, 100]),
        priced("negative", vec![-5]),
    ]);
    assert_eq!(catalog.ids(&sorted(SearchSort::PriceAsc)), ids(&["negative", "low", "mid", "high", "none"]));
}

#[test]
fn price_descending_by_the_lowest_variant_price_without_price_last() {
    let catalog = Catalog::with(&[
        priced("none", Vec::new()),
        priced("mid", vec![2000, 700]),
        priced("high", vec![900]),
        priced("low", vec![3000, 100]),
    ]);
    assert_eq!(catalog.ids(&sorted(SearchSort::PriceDesc)), ids(&["high", "mid", "low", "none"]));
}

#[test]
fn updated_most_recent_first() {
    let catalog = Catalog::with(&[updated("old", 100), updated("new", 300), updated("mid", 200)]);
    assert_eq!(catalog.ids(&sorted(SearchSort::Updated)), ids(&["new", "mid", "old"]));
}

#[test]
fn relevance_without_text_is_most_recent_first() {
    let catalog = Catalog::with(&[updated("old", 100), updated("new", 300), updated("mid", 200)]);
    assert_eq!(catalog.ids(&sorted(SearchSort::Relevance)), ids(&["new", "mid", "old"]));
    let blank = SearchQuery { text: Some("  ".into()), ..sorted(SearchSort::Relevance) };
    assert_eq!(catalog.ids(&blank), ids(&["new", "mid", "old"]));
}

#[test]
fn sorts_other_than_relevance_ignore_the_score() {
    let catalog = Catalog::with(&[
        ProductDoc { prices: vec![200], ..product("fuzzy-cheap", "Lantern") },
        ProductDoc { prices: vec![900], ..product("exact-dear", "Lanterns") },
    ]);
    let by_price = SearchQuery { sort: SearchSort::PriceAsc, ..text("lanterns") };
    assert_eq!(catalog.ids(&by_price), ids(&["fuzzy-cheap", "exact-dear"]));
    assert_eq!(catalog.ids(&text("lanterns")), ids(&["exact-dear", "fuzzy-cheap"]));
}

#[test]
fn equal_values_come_in_the_same_order_whatever_the_insertion_order() {
    let products: Vec<ProductDoc> = (0..8).map(|n| priced(&format!("p{n}"), vec![500])).collect();
    let reversed: Vec<ProductDoc> = products.iter().rev().cloned().collect();
    let forward = Catalog::with(&products).ids(&sorted(SearchSort::PriceAsc));
    let backward = Catalog::with(&reversed).ids(&sorted(SearchSort::PriceAsc));
    assert_eq!(forward.len(), 8);
    assert_eq!(forward, backward);
}
