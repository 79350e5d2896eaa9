//! Table cases: conditional creates, updates and deletes.

use super::*;

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
