//! Table cases: transactions (all or nothing, serializable, within DynamoDB's limits).

use super::*;

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
