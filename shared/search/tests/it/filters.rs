//! Each filter alone, and combined with each other and with text.

use pivota::ports::{ProductDoc, SearchQuery};

use crate::fixtures::{Catalog, STORE_A, STORE_B, everything, ids, product, text};

fn sorted_ids(catalog: &Catalog, query: &SearchQuery) -> Vec<String> {
    let mut found = catalog.ids(query);
    found.sort();
    found
}

fn of_store_b(id: &str, title: &str) -> ProductDoc {
    ProductDoc { store_id: STORE_B.into(), ..product(id, title) }
}

#[test]
fn store_keeps_that_stores_products() {
    let catalog = Catalog::with(&[product("a", "Mug"), of_store_b("b", "Mug")]);
    assert_eq!(catalog.ids(&SearchQuery { store_id: Some(STORE_B.into()), ..everything() }), ids(&["b"]));
    assert_eq!(catalog.ids(&SearchQuery { store_id: Some(STORE_A.into()), ..text("mug") }), ids(&["a"]));
}

#[test]
fn without_a_status_every_product_but_the_removed_ones() {
    let catalog = Catalog::with(&[
        product("active", "Mug"),
        ProductDoc { status: "draft".into(), ..product("draft", "Mug") },
        ProductDoc { status: "archived".into(), ..product("archived", "Mug") },
        ProductDoc { status: "removed".into(), ..product("removed", "Mug") },
    ]);
    assert_eq!(sorted_ids(&catalog, &everything()), ids(&["active", "archived", "draft"]));
    assert_eq!(sorted_ids(&catalog, &text("mug")), ids(&["active", "archived", "draft"]));
    assert_eq!(catalog.hits(&everything()).total, 3);
    for status in ["draft", "removed"] {
        let query = SearchQuery { status: Some(status.into()), ..text("mug") };
        assert_eq!(catalog.ids(&query), ids(&[status]));
    }
}

#[test]
fn in_stock_true_and_false() {
    let catalog = Catalog::with(&[product("in", "Mug"), ProductDoc { in_stock: false, ..product("out", "Mug") }]);
    assert_eq!(catalog.ids(&SearchQuery { in_stock: Some(true), ..everything() }), ids(&["in"]));
    assert_eq!(catalog.ids(&SearchQuery { in_stock: Some(false), ..everything() }), ids(&["out"]));
}

#[test]
fn low_stock_is_against_each_stores_threshold_else_the_default() {
    // GIVEN store A's threshold at 3, store B without one (the default, 5), and untracked stock
    let stocked = |id: &str, min_stock: Option<i64>| ProductDoc { min_stock, ..product(id, "Mug") };
    let catalog = Catalog::with(&[
        stocked("a-3", Some(3)),
        stocked("a-4", Some(4)),
        stocked("a-untracked", None),
        ProductDoc { store_id: STORE_B.into(), ..stocked("b-5", Some(5)) },
        ProductDoc { store_id: STORE_B.into(), ..stocked("b-6", Some(6)) },
        ProductDoc { store_id: STORE_B.into(), ..stocked("b-negative", Some(-4)) },
    ]);
    let low = |low_stock: bool| SearchQuery {
        low_stock: Some(low_stock),
        thresholds: vec![(STORE_A.into(), 3)],
        default_threshold: 5,
        ..everything()
    };
    // THEN low is at or below the store's threshold, and untracked stock never is
    assert_eq!(sorted_ids(&catalog, &low(true)), ids(&["a-3", "b-5", "b-negative"]));
    assert_eq!(sorted_ids(&catalog, &low(false)), ids(&["a-4", "a-untracked", "b-6"]));
    let b_only = SearchQuery { store_id: Some(STORE_B.into()), ..low(true) };
    assert_eq!(sorted_ids(&catalog, &b_only), ids(&["b-5", "b-negative"]));
}

#[test]
fn low_stock_without_thresholds_uses_the_default_everywhere() {
    let catalog = Catalog::with(&[
        ProductDoc { min_stock: Some(5), ..product("a-5", "Mug") },
        ProductDoc { min_stock: Some(5), ..of_store_b("b-5", "Mug") },
        ProductDoc { min_stock: Some(6), ..of_store_b("b-6", "Mug") },
    ]);
    let query = SearchQuery { low_stock: Some(true), default_threshold: 5, ..everything() };
    assert_eq!(sorted_ids(&catalog, &query), ids(&["a-5", "b-5"]));
}

#[test]
fn a_price_range_keeps_products_with_some_variant_price_in_it() {
    let priced = |id: &str, prices: Vec<i64>| ProductDoc { prices, ..product(id, "Mug") };
    let catalog =
        Catalog::with(&[priced("cheap", vec![500]), priced("spread", vec![300, 5000]), priced("none", Vec::new())]);
    let range = |min: Option<i64>, max: Option<i64>| SearchQuery { price_min: min, price_max: max, ..everything() };
    assert_eq!(sorted_ids(&catalog, &range(Some(400), Some(600))), ids(&["cheap"]));
    assert_eq!(sorted_ids(&catalog, &range(Some(500), Some(500))), ids(&["cheap"]));
    assert!(catalog.ids(&range(Some(1000), Some(2000))).is_empty());
    assert_eq!(sorted_ids(&catalog, &range(Some(4000), None)), ids(&["spread"]));
    assert_eq!(sorted_ids(&catalog, &range(None, Some(300))), ids(&["spread"]));
    assert_eq!(sorted_ids(&catalog, &range(None, Some(500))), ids(&["cheap", "spread"]));
}

#[test]
fn filters_combine_with_each_other_and_with_text() {
    let catalog = Catalog::with(&[
        product("match", "Blue mug"),
        product("other-text", "Red mug"),
        of_store_b("other-store", "Blue mug"),
        ProductDoc { in_stock: false, ..product("out", "Blue mug") },
        ProductDoc { prices: vec![9000], ..product("dear", "Blue mug") },
        ProductDoc { status: "draft".into(), ..product("draft", "Blue mug") },
        ProductDoc { min_stock: Some(50), ..product("plenty", "Blue mug") },
    ]);
    let query = SearchQuery {
        store_id: Some(STORE_A.into()),
        status: Some("active".into()),
        in_stock: Some(true),
        low_stock: Some(false),
        default_threshold: 100,
        price_min: Some(500),
        price_max: Some(2000),
        ..text("blue mug")
    };
    assert_eq!(catalog.ids(&query), ids(&["match"]));
    assert_eq!(catalog.hits(&query).total, 1);
    let low = SearchQuery { low_stock: Some(true), ..query };
    assert_eq!(catalog.ids(&low), ids(&["plenty"]));
}

#[test]
fn filters_hold_over_many_segments_and_documents() {
    // GIVEN enough products, in several commits, for tantivy's columns to be scanned in blocks and seeked
    let catalog = Catalog::empty();
    let all: Vec<ProductDoc> = (0..600)
        .map(|n: i64| ProductDoc {
            min_stock: (n % 4 != 0).then_some(n % 9),
            in_stock: n % 5 != 0,
            prices: vec![n % 13 * 100, n % 7 * 250],
            store_id: if n % 2 == 0 { STORE_A.into() } else { STORE_B.into() },
            ..product(&format!("p{n:03}"), if n % 3 == 0 { "Blue mug" } else { "Red mug" })
        })
        .collect();
    for batch in all.chunks(150) {
        catalog.apply(crate::fixtures::upserts(batch));
    }
    let query = |low_stock: bool, text_too: bool, others: bool| SearchQuery {
        low_stock: Some(low_stock),
        in_stock: others.then_some(true),
        thresholds: vec![(STORE_B.into(), 6)],
        default_threshold: 3,
        price_min: others.then_some(200),
        price_max: others.then_some(900),
        limit: 100,
        text: text_too.then(|| "blue mug".into()),
        ..everything()
    };
    // THEN each answer counts exactly the products the rules keep
    for (low_stock, text_too, others) in [true, false]
        .into_iter()
        .flat_map(|l| [true, false].into_iter().flat_map(move |t| [(l, t, true), (l, t, false)]))
    {
        let expected = all
            .iter()
            .filter(|p| !text_too || p.title == "Blue mug")
            .filter(|p| !others || (p.in_stock && p.prices.iter().any(|price| (200..=900).contains(price))))
            .filter(|p| {
                let threshold = if p.store_id == STORE_B { 6 } else { 3 };
                p.min_stock.is_some_and(|stock| stock <= threshold) == low_stock
            })
            .count();
        assert!(expected > 10);
        let hits = catalog.hits(&query(low_stock, text_too, others));
        assert_eq!(hits.total, expected as u64, "low_stock {low_stock}, text {text_too}, others {others}");
    }
}
