//! Table cases: conditional writes, transactions, queries and paging, batches.

use super::*;

// ---------------------------------------------------------------------------------------------------
// Table: conditions
// ---------------------------------------------------------------------------------------------------

pub async fn conditional_create_keeps_the_first_item<F: Fixture>() {
    // GIVEN an item created with NotExists
    let fx = F::new().await;
    let pk = unique("MERCHANT");
    let first = item(&pk, "PROFILE", json!({ "name": "first" }));
    fx.table().put(first.clone(), Condition::NotExists).await.expect("first create");

    // WHEN a second create of the same key runs
    let second = item(&pk, "PROFILE", json!({ "name": "second" }));
    let result = fx.table().put(second, Condition::NotExists).await;

    // THEN it fails and the first item is unchanged
    assert!(matches!(result, Err(StoreError::ConditionFailed)), "got {result:?}");
    let stored = fx.table().get(&first.key).await.expect("get");
    assert_eq!(stored, Some(first));
}

pub async fn concurrent_conditional_creates_have_one_winner<F: Fixture>() {
    // GIVEN 50 writers racing to create one key
    let fx = F::new().await;
    let pk = unique("EMAIL");
    let writers = (0..50).map(|n| {
        let table = fx.table();
        let candidate = item(&pk, "UNIQUE", json!({ "writer": n }));
        tokio::spawn(async move { table.put(candidate, Condition::NotExists).await })
    });

    // WHEN they all finish
    let results = futures::future::join_all(writers).await;

    // THEN exactly one succeeded and every other one saw ConditionFailed
    let mut winners = 0;
    for result in results {
        match result.expect("writer task") {
            Ok(()) => winners += 1,
            Err(StoreError::ConditionFailed) => {}
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(winners, 1);
}

pub async fn stale_version_update_changes_nothing<F: Fixture>() {
    // GIVEN an item at version 2 (updated once from version 1)
    let fx = F::new().await;
    let pk = unique("ORDER");
    let v1 = item(&pk, "STATE", json!({ "status": "pending" }));
    fx.table().put(v1.clone(), Condition::NotExists).await.expect("create");
    let mut v2 = v1.clone();
    v2.version = 2;
    v2.attrs.insert("status".into(), json!("paid"));
    fx.table().put(v2.clone(), Condition::VersionIs(1)).await.expect("update from v1");

    // WHEN another writer updates from the stale version 1
    let mut stale = v1.clone();
    stale.version = 2;
    stale.attrs.insert("status".into(), json!("cancelled"));
    let result = fx.table().put(stale, Condition::VersionIs(1)).await;

    // THEN it fails and version 2 stays
    assert!(matches!(result, Err(StoreError::ConditionFailed)), "got {result:?}");
    assert_eq!(fx.table().get(&v1.key).await.expect("get"), Some(v2));
}

pub async fn conditional_delete_checks_the_version<F: Fixture>() {
    // GIVEN an item at version 1
    let fx = F::new().await;
    let stored = item(&unique("ORDER"), "STATE", json!({}));
    fx.table().put(stored.clone(), Condition::None).await.expect("put");

    // WHEN deleting it at a wrong version, THEN it stays
    let wrong = fx.table().delete(&stored.key, Condition::VersionIs(9)).await;
    assert!(matches!(wrong, Err(StoreError::ConditionFailed)), "got {wrong:?}");
    assert!(fx.table().get(&stored.key).await.expect("get").is_some());

    // WHEN deleting it at its version, THEN it is gone, and a delete requiring existence now fails
    fx.table().delete(&stored.key, Condition::VersionIs(1)).await.expect("delete");
    assert_eq!(fx.table().get(&stored.key).await.expect("get"), None);
    let again = fx.table().delete(&stored.key, Condition::Exists).await;
    assert!(matches!(again, Err(StoreError::ConditionFailed)), "got {again:?}");
    fx.table().delete(&stored.key, Condition::None).await.expect("unconditional delete of nothing");
}

// ---------------------------------------------------------------------------------------------------
// Table: transactions
// ---------------------------------------------------------------------------------------------------

pub async fn failed_transaction_writes_nothing<F: Fixture>() {
    // GIVEN a merchant at version 1 and an email-uniqueness item
    let fx = F::new().await;
    let pk = unique("MERCHANT");
    let merchant = item(&pk, "PROFILE", json!({ "email": "a@example.com" }));
    let old_email = item(&unique("EMAIL"), "UNIQUE", json!({}));
    fx.table().put(merchant.clone(), Condition::NotExists).await.expect("merchant");
    fx.table().put(old_email.clone(), Condition::NotExists).await.expect("email");

    // WHEN a transaction puts a new email, deletes the old one, and updates the merchant from a stale
    // version
    let new_email = item(&unique("EMAIL"), "UNIQUE", json!({}));
    let mut updated = merchant.clone();
    updated.version = 3;
    let result = fx
        .table()
        .transact(vec![
            WriteOp::Put { item: new_email.clone(), condition: Condition::NotExists },
            WriteOp::Delete { key: old_email.key.clone(), condition: Condition::Exists },
            WriteOp::Put { item: updated, condition: Condition::VersionIs(2) },
        ])
        .await;

    // THEN it is cancelled at operation 2 and none of its writes is visible
    assert!(matches!(result, Err(StoreError::TransactionCancelled { index: Some(2) })), "got {result:?}");
    assert_eq!(fx.table().get(&new_email.key).await.expect("get"), None);
    assert_eq!(fx.table().get(&old_email.key).await.expect("get"), Some(old_email));
    assert_eq!(fx.table().get(&merchant.key).await.expect("get"), Some(merchant));
}

pub async fn successful_transaction_writes_everything<F: Fixture>() {
    // GIVEN an existing item to delete and one to check
    let fx = F::new().await;
    let doomed = item(&unique("EMAIL"), "UNIQUE", json!({}));
    let checked = item(&unique("MERCHANT"), "PROFILE", json!({}));
    fx.table().batch_put(vec![doomed.clone(), checked.clone()]).await.expect("seed");

    // WHEN a transaction puts, deletes and checks, all conditions holding
    let created = item(&unique("EMAIL"), "UNIQUE", json!({ "owner": checked.key.pk }));
    fx.table()
        .transact(vec![
            WriteOp::Put { item: created.clone(), condition: Condition::NotExists },
            WriteOp::Delete { key: doomed.key.clone(), condition: Condition::VersionIs(1) },
            WriteOp::Check { key: checked.key.clone(), condition: Condition::Exists },
        ])
        .await
        .expect("transaction");

    // THEN every write is visible and the checked item is untouched
    assert_eq!(fx.table().get(&created.key).await.expect("get"), Some(created));
    assert_eq!(fx.table().get(&doomed.key).await.expect("get"), None);
    assert_eq!(fx.table().get(&checked.key).await.expect("get"), Some(checked));
}

/// DynamoDB transactions are serializable: "the changes made by a transaction … are isolated from other
/// operations" and a conflicting one is cancelled
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-isolation>).
/// moto 5 is not: it checks and writes item by item and, when a condition fails, restores a copy of the
/// whole table taken when the transaction began, so two transactions can both commit (write skew) and a
/// cancelled one can undo a concurrent write. The test command's moto serializes DynamoDB requests
/// (`infra/moto/serve.py`); this case fails on a stock moto server.
pub async fn concurrent_transactions_are_serializable<F: Fixture>() {
    let fx = F::new().await;
    let pk = unique("KEYS");
    for round in 0..20 {
        // GIVEN two items at version 1 (the last two usable API keys, say)
        let a = item(&pk, &format!("A#{round:02}"), json!({ "revoked": false }));
        let b = item(&pk, &format!("B#{round:02}"), json!({ "revoked": false }));
        fx.table().batch_put(vec![a.clone(), b.clone()]).await.expect("seed");

        // WHEN one transaction changes A if B is unchanged, another changes B if A is unchanged, and plain
        // writes to other items run at the same time
        let change_if_other_unchanged = |mine: &Item, other: &Item| {
            let mut changed = mine.clone();
            changed.version = 2;
            changed.attrs.insert("revoked".into(), json!(true));
            let ops = vec![
                WriteOp::Put { item: changed, condition: Condition::VersionIs(1) },
                WriteOp::Check { key: other.key.clone(), condition: Condition::VersionIs(1) },
            ];
            let table = fx.table();
            tokio::spawn(async move { table.transact(ops).await })
        };
        let bystanders: Vec<Item> =
            (0..4).map(|n| item(&pk, &format!("C#{round:02}#{n}"), json!({ "n": n }))).collect();
        let writers = bystanders.iter().cloned().map(|bystander| {
            let table = fx.table();
            tokio::spawn(async move { table.put(bystander, Condition::NotExists).await })
        });
        let (first, second, written) = tokio::join!(
            change_if_other_unchanged(&a, &b),
            change_if_other_unchanged(&b, &a),
            futures::future::join_all(writers),
        );

        // THEN at most one commits (DynamoDB may cancel both as conflicting), the items show exactly the
        // committed ones, and every plain write is still there
        let committed = [first.expect("task"), second.expect("task")];
        for result in &committed {
            assert!(
                matches!(result, Ok(()) | Err(StoreError::TransactionCancelled { .. })),
                "round {round}: got {result:?}"
            );
        }
        let commits = committed.iter().filter(|result| result.is_ok()).count();
        assert!(commits <= 1, "round {round}: both transactions committed (write skew)");
        let revoked = |stored: Option<Item>| stored.expect("item").attrs["revoked"] == json!(true);
        let a_now = revoked(fx.table().get(&a.key).await.expect("get"));
        let b_now = revoked(fx.table().get(&b.key).await.expect("get"));
        assert_eq!((a_now, b_now), (committed[0].is_ok(), committed[1].is_ok()), "round {round}");
        for (bystander, result) in bystanders.iter().zip(written) {
            result.expect("task").expect("plain write");
            let stored = fx.table().get(&bystander.key).await.expect("get");
            assert_eq!(stored.as_ref(), Some(bystander), "round {round}: a cancelled transaction undid a write");
        }
    }
}

pub async fn oversized_or_duplicate_transactions_are_rejected<F: Fixture>() {
    let fx = F::new().await;
    let pk = unique("BULK");

    // WHEN a transaction has 101 operations, THEN it is rejected and writes nothing
    let ops = (0..101)
        .map(|n| WriteOp::Put { item: item(&pk, &format!("{n:03}"), json!({})), condition: Condition::None })
        .collect();
    let result = fx.table().transact(ops).await;
    assert!(matches!(result, Err(StoreError::Other(_))), "got {result:?}");

    // WHEN a transaction touches one key twice, THEN it is rejected and writes nothing
    let twice = item(&pk, "TWICE", json!({}));
    let result = fx
        .table()
        .transact(vec![
            WriteOp::Put { item: twice.clone(), condition: Condition::None },
            WriteOp::Check { key: twice.key.clone(), condition: Condition::None },
        ])
        .await;
    assert!(matches!(result, Err(StoreError::Other(_))), "got {result:?}");

    let (left, _) = all_pages(&fx, Query::new(Index::Primary, &pk, 1000)).await;
    assert!(left.is_empty(), "rejected transactions wrote {} items", left.len());
}

/// DynamoDB refuses an item over 400 KB and a transaction over 4 MB; moto accepts both, so the adapter
/// checks before sending. Nothing is written.
pub async fn items_and_transactions_over_dynamodbs_size_limits_are_rejected<F: Fixture>() {
    let fx = F::new().await;
    let pk = unique("BIG");
    let big = |sk: &str, bytes: usize| item(&pk, sk, json!({"blob": "x".repeat(bytes)}));

    // WHEN an item is over 400 KB (by put, batch put or transaction), THEN it is rejected
    let result = fx.table().put(big("HUGE", 410 * 1024), Condition::None).await;
    assert!(matches!(&result, Err(StoreError::Other(reason)) if reason.contains("item limit")), "got {result:?}");
    let result = fx.table().batch_put(vec![big("OK", 10), big("HUGE", 410 * 1024)]).await;
    assert!(matches!(result, Err(StoreError::Other(_))), "got {result:?}");
    // An item just under the limit is taken.
    fx.table().put(big("NEAR", 390 * 1024), Condition::None).await.expect("an item under 400 KB");

    // WHEN eleven items of 390 KB (4.2 MB) go in one transaction, THEN it is rejected and writes nothing
    let ops = (0..11)
        .map(|n| WriteOp::Put { item: big(&format!("T{n:02}"), 390 * 1024), condition: Condition::None })
        .collect();
    let result = fx.table().transact(ops).await;
    assert!(
        matches!(&result, Err(StoreError::Other(reason)) if reason.contains("transaction limit")),
        "got {result:?}"
    );

    let (left, _) = all_pages(&fx, Query::new(Index::Primary, &pk, 1000)).await;
    let keys: Vec<&str> = left.iter().map(|item| item.key.sk.as_str()).collect();
    assert_eq!(keys, ["NEAR"], "only the item within the limit was written");
}

// ---------------------------------------------------------------------------------------------------
// Table: queries
// ---------------------------------------------------------------------------------------------------

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
