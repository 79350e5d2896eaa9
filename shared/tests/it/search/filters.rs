//! Search filters, each and combined; sorts; stable paging; and bad parameters named.

use std::collections::BTreeSet;

use serde_json::json;

use super::{empty_store, merchant, product, titles, write};
use crate::fixtures::Backend;

on_both_backends!(each_filter_and_their_combinations, sorts_and_paging_are_stable, bad_search_parameters_are_named);

/// Two stores: the first's low-stock threshold 5 (the default), the second's 1.
async fn catalog(backend: Backend) -> (crate::fixtures::Merchant, String, String, Vec<pivota_fakes::FakeShopify>) {
    let m = merchant(backend).await;
    let (first, fake_a) = empty_store(&m).await;
    let (second, fake_b) = empty_store(&m).await;
    let (status, _) = m.send("PATCH", &format!("/store/{second}"), Some(json!({"low_stock_threshold": 1}))).await;
    assert_eq!(status, 200);
    write(
        &m,
        &first,
        vec![
            product("a1", "Red Kettle", &[("One", "K-1", 3000, Some(3))]),
            product("a2", "Blue Kettle", &[("One", "K-2", 5000, Some(40))]),
            product("a3", "Green Kettle", &[("One", "K-3", 7000, Some(0))]),
            product("a4", "Kettle Gift Card", &[("One", "GC-1", 2500, None)]),
        ],
    )
    .await;
    write(
        &m,
        &second,
        vec![
            product("b1", "Steel Kettle", &[("Small", "S-1", 4000, Some(3)), ("Large", "S-2", 9000, Some(1))]),
            product("b2", "Copper Kettle", &[("One", "C-1", 12000, Some(3))]),
        ],
    )
    .await;
    (m, first, second, vec![fake_a, fake_b])
}

fn set(found: Vec<String>) -> BTreeSet<String> {
    found.into_iter().collect()
}

fn names(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

async fn each_filter_and_their_combinations(backend: Backend) {
    let (m, first, second, _fakes) = catalog(backend).await;
    let all = ["Red Kettle", "Blue Kettle", "Green Kettle", "Kettle Gift Card", "Steel Kettle", "Copper Kettle"];
    let (found, answer) = titles(&m, "q=kettle&limit=100").await;
    assert_eq!(set(found), names(&all));
    assert_eq!((answer["total"].as_u64(), answer["total_is_lower_bound"].as_bool()), (Some(6), Some(false)));

    let cases: Vec<(String, &[&str])> = vec![
        (format!("store_id={second}"), &["Steel Kettle", "Copper Kettle"]),
        ("in_stock=false".into(), &["Green Kettle"]),
        ("in_stock=true".into(), &["Red Kettle", "Blue Kettle", "Kettle Gift Card", "Steel Kettle", "Copper Kettle"]),
        // Each store's own threshold: 3 is low in the first (5), not in the second (1), where 1 is.
        ("low_stock=true".into(), &["Red Kettle", "Green Kettle", "Steel Kettle"]),
        ("low_stock=false".into(), &["Blue Kettle", "Kettle Gift Card", "Copper Kettle"]),
        ("price_min=4000&price_max=7000".into(), &["Blue Kettle", "Green Kettle", "Steel Kettle"]),
        ("price_min=8000".into(), &["Steel Kettle", "Copper Kettle"]),
        ("status=draft".into(), &[]),
        ("status=active".into(), &all),
        // Combinations.
        (format!("store_id={first}&low_stock=true&in_stock=true"), &["Red Kettle"]),
        (format!("store_id={second}&price_max=5000"), &["Steel Kettle"]),
        ("q=kettle&in_stock=true&price_max=3000".into(), &["Red Kettle", "Kettle Gift Card"]),
        ("q=gift&low_stock=true".into(), &[]),
    ];
    for (query, expected) in cases {
        let (found, answer) = titles(&m, &format!("{query}&limit=100")).await;
        assert_eq!(set(found), names(expected), "{query}: {answer}");
        assert_eq!(answer["total"].as_u64(), Some(expected.len() as u64), "{query}");
    }
}

async fn sorts_and_paging_are_stable(backend: Backend) {
    let (m, first, _, _fakes) = catalog(backend).await;
    let (found, _) = titles(&m, "sort=price_asc&limit=100").await;
    assert_eq!(
        found,
        ["Kettle Gift Card", "Red Kettle", "Steel Kettle", "Blue Kettle", "Green Kettle", "Copper Kettle"],
        "by the lowest variant price"
    );
    let (found, _) = titles(&m, "sort=price_desc&limit=100").await;
    assert_eq!(found.first().map(String::as_str), Some("Copper Kettle"));
    assert_eq!(found.last().map(String::as_str), Some("Kettle Gift Card"));

    // Two at a time; a product added between pages neither repeats nor hides the others.
    let (mut seen, mut cursor, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let query = match &cursor {
            Some(c) => format!("sort=price_asc&limit=2&cursor={c}"),
            None => "sort=price_asc&limit=2".into(),
        };
        let (found, answer) = titles(&m, &query).await;
        assert!(found.len() <= 2);
        seen.extend(found);
        pages += 1;
        if pages == 1 {
            write(&m, &first, vec![product("a9", "Cheap Kettle", &[("One", "K-9", 100, Some(9))])]).await;
        }
        match answer["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["Kettle Gift Card", "Red Kettle", "Steel Kettle", "Blue Kettle", "Green Kettle", "Copper Kettle"],
        "every product once, in order; the cheaper newcomer sorts before the cursor"
    );
    let (status, refused) = m.get(&format!("/products?sort=price_desc&cursor={}", cursor_of(&m).await)).await;
    assert_eq!((status, refused["errors"][0]["field"].as_str()), (400, Some("cursor")), "{refused}");
}

/// A cursor of a `price_asc` search.
async fn cursor_of(m: &crate::fixtures::Merchant) -> String {
    let (_, answer) = titles(m, "sort=price_asc&limit=1").await;
    answer["next_cursor"].as_str().unwrap().to_owned()
}

async fn bad_search_parameters_are_named(backend: Backend) {
    let m = merchant(backend).await;
    for (query, field) in [
        ("sort=cheapest", "sort"),
        ("price_min=-1", "price_min"),
        ("price_max=abc", "price_max"),
        ("price_min=500&price_max=100", "price_max"),
        ("in_stock=maybe", "in_stock"),
        ("low_stock=1", "low_stock"),
        ("status=gone", "status"),
        ("limit=0", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("store_id=sto_unknown", "store_id"),
    ] {
        let (status, problem) = m.get(&format!("/products?{query}")).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (400, Some(field)), "{query}: {problem}");
    }
    let long = "x".repeat(201);
    let (status, problem) = m.get(&format!("/products?q={long}")).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (400, Some("q")), "{problem}");
}
