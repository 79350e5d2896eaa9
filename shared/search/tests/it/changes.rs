//! Upserts, removals and rebuilds, and the files a commit consists of.

use pivota::ports::{IndexChange, ProductDoc, SearchQuery, SearchSort};

use crate::fixtures::{Catalog, everything, ids, product, sorted, text, upserts};

#[test]
fn an_upsert_replaces_the_product_with_the_same_id() {
    let catalog = Catalog::with(&[product("p1", "Blue mug"), product("p2", "Red mug")]);
    catalog.apply(upserts(&[ProductDoc { prices: vec![50], ..product("p1", "Green teapot") }]));
    assert!(catalog.ids(&text("blue")).is_empty());
    assert_eq!(catalog.ids(&text("green teapot")), ids(&["p1"]));
    assert_eq!(catalog.hits(&everything()).total, 2);
    let cheap = SearchQuery { price_max: Some(100), ..everything() };
    assert_eq!(catalog.ids(&cheap), ids(&["p1"]));
}

#[test]
fn the_last_of_two_upserts_in_one_batch_wins() {
    let catalog = Catalog::empty();
    catalog.apply(upserts(&[product("p1", "First"), product("p1", "Second")]));
    assert_eq!(catalog.ids(&text("second")), ids(&["p1"]));
    assert_eq!(catalog.hits(&everything()).total, 1);
}

#[test]
fn a_removed_product_disappears_and_removing_an_absent_one_is_a_no_op() {
    let catalog = Catalog::with(&[product("p1", "Blue mug"), product("p2", "Red mug")]);
    catalog.apply(vec![
        IndexChange::Remove { product_id: "p1".into() },
        IndexChange::Remove { product_id: "never".into() },
    ]);
    assert_eq!(catalog.ids(&text("mug")), ids(&["p2"]));
    assert!(catalog.ids(&text("blue")).is_empty());
}

#[test]
fn an_upsert_after_a_removal_in_one_batch_brings_the_product_back() {
    let catalog = Catalog::with(&[product("p1", "Blue mug")]);
    catalog.apply(vec![IndexChange::Remove { product_id: "p1".into() }, IndexChange::Upsert(product("p1", "Red mug"))]);
    assert_eq!(catalog.ids(&text("red mug")), ids(&["p1"]));
}

#[test]
fn replace_all_gives_the_same_results_as_the_incremental_changes() {
    // GIVEN one catalog built by a history of changes
    let incremental = Catalog::with(&[product("gone", "Old lamp"), product("p1", "Blue mug"), product("p2", "Lamp")]);
    incremental.apply(vec![
        IndexChange::Remove { product_id: "gone".into() },
        IndexChange::Upsert(ProductDoc { prices: vec![300, 900], ..product("p1", "Blue teapot") }),
        IndexChange::Upsert(ProductDoc { min_stock: Some(1), in_stock: false, ..product("p3", "Blue lamp") }),
    ]);
    incremental.apply(upserts(&[ProductDoc { updated_at: 1_800_000_000, ..product("p4", "Blue lantern") }]));
    // AND another, holding other products, rebuilt from the final state
    let rebuilt = Catalog::with(&[product("stale", "Blue lamp"), product("p1", "Stale")]);
    let final_state = vec![
        ProductDoc { prices: vec![300, 900], ..product("p1", "Blue teapot") },
        product("p2", "Lamp"),
        ProductDoc { min_stock: Some(1), in_stock: false, ..product("p3", "Blue lamp") },
        ProductDoc { updated_at: 1_800_000_000, ..product("p4", "Blue lantern") },
    ];
    pivota_search::replace_all(&rebuilt.index, final_state).unwrap();
    // THEN every search answers the same
    let queries = [
        everything(),
        text("blue"),
        text("lamp"),
        text("lantrn"),
        text("old"),
        sorted(SearchSort::PriceAsc),
        sorted(SearchSort::Updated),
        SearchQuery { low_stock: Some(true), ..everything() },
        SearchQuery { in_stock: Some(true), ..text("blue") },
    ];
    for query in &queries {
        assert_eq!(rebuilt.hits(query), incremental.hits(query), "{query:?}");
    }
    assert_eq!(rebuilt.hits(&everything()).total, 4);
}

#[test]
fn the_files_of_a_commit_are_enough_to_open_it_elsewhere() {
    // GIVEN an index with three commits: a segment, a delete from it, another segment
    let catalog = Catalog::with(&[product("p1", "Blue mug"), product("p2", "Red mug")]);
    catalog.apply(vec![IndexChange::Remove { product_id: "p1".into() }]);
    catalog.apply(upserts(&[product("p3", "Green mug")]));
    let files = pivota_search::files_of(&catalog.index).unwrap();
    assert!(files.iter().any(|file| file.as_os_str() == "meta.json"));
    assert!(files.iter().any(|file| file.extension().is_some_and(|ext| ext == "del")), "{files:?}");
    // WHEN only those files are copied to another directory
    let copy = tempfile::tempdir().unwrap();
    for file in &files {
        std::fs::copy(catalog.dir.path().join(file), copy.path().join(file)).unwrap();
    }
    // THEN the copy answers like the original
    let index = pivota_search::open_or_create(copy.path()).unwrap();
    let hits = pivota_search::search(&index.reader().unwrap().searcher(), &text("mug")).unwrap();
    let mut found = hits.product_ids;
    found.sort();
    assert_eq!(found, ids(&["p2", "p3"]));
}
