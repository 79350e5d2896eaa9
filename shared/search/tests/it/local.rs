//! `LocalIndexes`: one directory per merchant, isolation, ids, concurrency and other writers.

use pivota::ports::{IndexChange, SearchError, SearchIndex};
use pivota_search::LocalIndexes;

use crate::fixtures::{everything, ids, product, text, upserts};

fn local() -> (tempfile::TempDir, LocalIndexes) {
    let root = tempfile::tempdir().unwrap();
    let indexes = LocalIndexes::new(root.path().to_path_buf());
    (root, indexes)
}

#[tokio::test]
async fn two_merchants_never_see_each_others_products() {
    let (_root, indexes) = local();
    indexes
        .apply("merchant_a", upserts(&[product("p1", "Blue mug"), product("shared-id", "Blue lamp")]))
        .await
        .unwrap();
    indexes
        .apply("merchant-b", upserts(&[product("p2", "Blue teapot"), product("shared-id", "Red lamp")]))
        .await
        .unwrap();
    let a = indexes.search("merchant_a", &text("blue")).await.unwrap();
    let b = indexes.search("merchant-b", &text("blue")).await.unwrap();
    let mut a_ids = a.product_ids.clone();
    a_ids.sort();
    assert_eq!(a_ids, ids(&["p1", "shared-id"]));
    assert_eq!((b.product_ids, b.total), (ids(&["p2"]), 1));
    indexes.replace_all("merchant-b", Vec::new()).await.unwrap();
    assert_eq!(indexes.search("merchant_a", &everything()).await.unwrap().total, 2);
    assert_eq!(indexes.search("merchant-b", &everything()).await.unwrap().total, 0);
}

#[tokio::test]
async fn a_merchant_id_that_is_not_a_plain_name_is_refused() {
    let (root, indexes) = local();
    for bad in ["", ".", "..", "../escape", "a/b", "a\\b", "/abs", "a b", "é", "a.b", &"x".repeat(129)] {
        let applied = indexes.apply(bad, upserts(&[product("p1", "Mug")])).await;
        assert!(matches!(applied, Err(SearchError::Other(_))), "{bad:?}: {applied:?}");
        let searched = indexes.search(bad, &everything()).await;
        assert!(matches!(searched, Err(SearchError::Other(_))), "{bad:?}: {searched:?}");
        let replaced = indexes.replace_all(bad, Vec::new()).await;
        assert!(matches!(replaced, Err(SearchError::Other(_))), "{bad:?}: {replaced:?}");
    }
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
    assert!(!root.path().parent().unwrap().join("escape").exists());
}

#[tokio::test]
async fn a_merchant_without_an_index_has_no_products_and_searching_creates_nothing() {
    let (root, indexes) = local();
    let hits = indexes.search("merchant_a", &text("mug")).await.unwrap();
    assert_eq!((hits.product_ids.len(), hits.total, hits.next), (0, 0, None));
    assert!(!root.path().join("merchant_a").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_applies_on_one_merchant_lose_no_change() {
    let (_root, indexes) = local();
    let writers = ["a", "b"].map(|writer| {
        let indexes = indexes.clone();
        tokio::spawn(async move {
            for n in 0..50 {
                let change = IndexChange::Upsert(product(&format!("{writer}-{n}"), "Mug"));
                indexes.apply("merchant_a", vec![change]).await.unwrap();
            }
        })
    });
    for writer in writers {
        writer.await.unwrap();
    }
    assert_eq!(indexes.search("merchant_a", &everything()).await.unwrap().total, 100);
}

#[tokio::test]
async fn a_commit_by_another_writer_on_the_directory_is_seen_by_the_next_search() {
    // GIVEN a merchant searched once through LocalIndexes
    let (root, indexes) = local();
    indexes.apply("merchant_a", upserts(&[product("p1", "Blue mug")])).await.unwrap();
    assert_eq!(indexes.search("merchant_a", &everything()).await.unwrap().total, 1);
    // WHEN another process (here another Index on the same directory) commits
    let other = pivota_search::open_or_create(&root.path().join("merchant_a")).unwrap();
    pivota_search::apply(&other, upserts(&[product("p2", "Red mug")])).unwrap();
    // THEN the next search sees it
    assert_eq!(indexes.search("merchant_a", &everything()).await.unwrap().total, 2);
}

#[tokio::test]
async fn a_writer_lock_held_elsewhere_makes_the_apply_transient() {
    let (root, indexes) = local();
    indexes.apply("merchant_a", upserts(&[product("p1", "Blue mug")])).await.unwrap();
    let other = pivota_search::open_or_create(&root.path().join("merchant_a")).unwrap();
    let held = other.writer::<pivota_search::tantivy::TantivyDocument>(15_000_000).unwrap();
    let applied = indexes.apply("merchant_a", upserts(&[product("p2", "Red mug")])).await;
    assert!(matches!(applied, Err(SearchError::Transient(_))), "{applied:?}");
    drop(held);
    indexes.apply("merchant_a", upserts(&[product("p2", "Red mug")])).await.unwrap();
    assert_eq!(indexes.search("merchant_a", &everything()).await.unwrap().total, 2);
}
