//! Table cases: queries and paging (GSI and primary key, cursors), and batch writes and reads.

use super::*;

pub async fn gsi_query_filters_orders_and_pages<F: Fixture>() {
    // GIVEN a store's orders in GSI1 (two sharing a sort key) and an unrelated item under the same GSI pk
    let fx = F::new().await;
    let store = unique("STORE");
    let dates = ["2024-03-01", "2024-01-15", "2024-02-10", "2024-02-10", "2024-01-02", "2024-04-20"];
    let mut seeded = Vec::new();
    for (n, date) in dates.iter().enumerate() {
        let mut order = item(&unique("ORDER"), "ORDER", json!({ "n": n }));
        order.gsi1 = Some(ItemKey::new(&store, format!("ORDER#{date}")));
        seeded.push(order);
    }
    let mut other = item(&unique("CONNECTION"), "CONNECTION", json!({}));
    other.gsi1 = Some(ItemKey::new(&store, "CONNECTION#shopify"));
    seeded.push(other);
    fx.table().batch_put(seeded.clone()).await.expect("seed");

    // WHEN querying the ORDER# prefix three at a time, ascending (so a page ends between the two orders
    // that share a sort key, whichever direction)
    let mut query = Query::new(Index::Gsi1, &store, 3);
    query.sk_prefix = Some("ORDER#".into());
    let (ascending, pages) = all_pages(&fx, query.clone()).await;

    // THEN every order comes once, by date, across several pages, and the other item is left out
    let gsi_sk = |i: &Item| i.gsi1.clone().expect("gsi1").sk;
    let got: Vec<String> = ascending.iter().map(gsi_sk).collect();
    let mut expected: Vec<String> = dates.iter().map(|d| format!("ORDER#{d}")).collect();
    expected.sort();
    assert_eq!(got, expected);
    assert!(pages >= 2, "6 items at 3 per page came in {pages} pages");
    let distinct: HashSet<ItemKey> = ascending.iter().map(|i| i.key.clone()).collect();
    assert_eq!(distinct.len(), dates.len(), "an item was duplicated or lost across pages");
    for found in &ascending {
        let original = seeded.iter().find(|s| s.key == found.key).expect("seeded item");
        assert_eq!(found, original, "items come back whole from an index");
    }

    // WHEN querying descending, THEN the same items come in reverse sort-key order
    query.descending = true;
    let (descending, _) = all_pages(&fx, query).await;
    let mut reversed: Vec<String> = descending.iter().map(gsi_sk).collect();
    reversed.reverse();
    assert_eq!(reversed, expected);
    let distinct: HashSet<ItemKey> = descending.iter().map(|i| i.key.clone()).collect();
    assert_eq!(distinct.len(), dates.len(), "an item was duplicated or lost across pages");
}

pub async fn primary_query_pages_descending<F: Fixture>() {
    // GIVEN a partition with 7 payments and one refund
    let fx = F::new().await;
    let pk = unique("ORDER");
    let mut seeded: Vec<Item> = (0..7).map(|n| item(&pk, &format!("PAYMENT#{n:02}"), json!({ "n": n }))).collect();
    seeded.push(item(&pk, "REFUND#00", json!({})));
    fx.table().batch_put(seeded).await.expect("seed");

    // WHEN paging PAYMENT# descending three at a time
    let mut query = Query::new(Index::Primary, &pk, 3);
    query.sk_prefix = Some("PAYMENT#".into());
    query.descending = true;
    let first = fx.table().query(query.clone()).await.expect("first page");

    // THEN a full page carries a cursor, and the pages together hold every payment once, newest first
    assert_eq!(sort_keys(&first.items), ["PAYMENT#06", "PAYMENT#05", "PAYMENT#04"]);
    assert!(first.next.is_some(), "a full page has a next cursor");
    let (all, _) = all_pages(&fx, query).await;
    let expected: Vec<String> = (0..7).rev().map(|n| format!("PAYMENT#{n:02}")).collect();
    assert_eq!(sort_keys(&all), expected);
}

pub async fn foreign_cursor_is_rejected<F: Fixture>() {
    // GIVEN a cursor taken from another partition's query
    let fx = F::new().await;
    let mine = unique("STORE");
    let theirs = unique("STORE");
    let foreign = PageCursor { key: ItemKey::new(&theirs, "ORDER#1"), index_key: None };

    // WHEN it is used on a primary-key query of my partition, THEN it is rejected
    let mut query = Query::new(Index::Primary, &mine, 10);
    query.cursor = Some(foreign);
    let result = fx.table().query(query).await;
    assert!(matches!(result, Err(StoreError::InvalidCursor)), "got {result:?}");

    // WHEN a GSI query gets a cursor whose index key names another partition, THEN it is rejected
    let mut query = Query::new(Index::Gsi1, &mine, 10);
    query.cursor = Some(PageCursor {
        key: ItemKey::new(unique("ORDER"), "ORDER"),
        index_key: Some(ItemKey::new(&theirs, "ORDER#2024")),
    });
    let result = fx.table().query(query).await;
    assert!(matches!(result, Err(StoreError::InvalidCursor)), "got {result:?}");

    // WHEN a GSI query gets a cursor without an index key, THEN it is rejected
    let mut query = Query::new(Index::Gsi2, &mine, 10);
    query.cursor = Some(PageCursor { key: ItemKey::new(&mine, "X"), index_key: None });
    let result = fx.table().query(query).await;
    assert!(matches!(result, Err(StoreError::InvalidCursor)), "got {result:?}");
}

pub async fn batch_put_writes_sixty_items<F: Fixture>() {
    // GIVEN 60 items, more than two BatchWriteItem chunks
    let fx = F::new().await;
    let pk = unique("CATALOG");
    let items: Vec<Item> = (0..60).map(|n| item(&pk, &format!("PRODUCT#{n:03}"), json!({ "n": n }))).collect();

    // WHEN they are batch-put
    fx.table().batch_put(items.clone()).await.expect("batch_put");

    // THEN all 60 are stored, whole
    let (stored, _) = all_pages(&fx, Query::new(Index::Primary, &pk, 1000)).await;
    assert_eq!(stored, items);
}

pub async fn batch_get_returns_what_exists<F: Fixture>() {
    // GIVEN 150 items (more than one BatchGetItem call holds)
    let fx = F::new().await;
    let pk = unique("bg");
    let items: Vec<Item> = (0..150).map(|n| item(&pk, &format!("{n:03}"), serde_json::json!({"n": n}))).collect();
    fx.table().batch_put(items).await.expect("batch_put");
    // WHEN asking for every third one, one missing key and one repeated key
    let mut keys: Vec<ItemKey> = (0..150).step_by(3).map(|n| ItemKey::new(&pk, format!("{n:03}"))).collect();
    keys.push(ItemKey::new(&pk, "missing"));
    keys.push(ItemKey::new(&pk, "000"));
    let found = fx.table().batch_get(keys).await.expect("batch_get");
    // THEN exactly the 50 existing ones come back, with their attributes
    let mut numbers: Vec<i64> = found.iter().map(|i| i.attrs["n"].as_i64().unwrap()).collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers, (0..150).step_by(3).collect::<Vec<i64>>());
    assert_eq!(found.len(), 50, "a repeated key is returned once");
}
