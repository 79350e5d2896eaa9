//! The port's basic cases, on S3: what one instance writes, another reads.

use pivota::ports::{IndexChange, SearchError, SearchIndex, SearchQuery};

use super::{bucket, found, ids, merchant, product, upsert};

#[tokio::test(flavor = "multi_thread")]
async fn applied_products_are_found_by_another_instance() {
    // GIVEN a writer and a reader instance on one bucket
    let bucket = bucket().await;
    let (writer, reader) = (bucket.instance(), bucket.instance());
    let merchant = merchant();

    // WHEN the writer applies two products
    writer.indexes.apply(&merchant, vec![upsert("p1", "Copper kettle"), upsert("p2", "Tea cup")]).await.unwrap();

    // THEN the reader finds each by its words, and both without text
    assert_eq!(found(&reader.indexes, &merchant, Some("kettle")).await, (ids(&["p1"]), 1));
    assert_eq!(found(&reader.indexes, &merchant, None).await, (ids(&["p1", "p2"]), 2));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_product_disappears_and_an_upsert_replaces() {
    let bucket = bucket().await;
    let (writer, reader) = (bucket.instance(), bucket.instance());
    let merchant = merchant();
    writer.indexes.apply(&merchant, vec![upsert("p1", "Copper kettle"), upsert("p2", "Tea cup")]).await.unwrap();
    assert_eq!(found(&reader.indexes, &merchant, None).await.1, 2);

    writer
        .indexes
        .apply(&merchant, vec![IndexChange::Remove { product_id: "p1".into() }, upsert("p2", "Porcelain mug")])
        .await
        .unwrap();

    assert_eq!(found(&reader.indexes, &merchant, None).await, (ids(&["p2"]), 1));
    assert_eq!(found(&reader.indexes, &merchant, Some("kettle")).await.1, 0);
    assert_eq!(found(&reader.indexes, &merchant, Some("mug")).await, (ids(&["p2"]), 1));
    // The writer, reading through its own read cache, agrees.
    assert_eq!(found(&writer.indexes, &merchant, None).await, (ids(&["p2"]), 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn replace_all_leaves_exactly_the_given_products() {
    let bucket = bucket().await;
    let (writer, reader) = (bucket.instance(), bucket.instance());
    let merchant = merchant();
    writer.indexes.apply(&merchant, vec![upsert("p1", "Copper kettle"), upsert("p2", "Tea cup")]).await.unwrap();
    assert_eq!(found(&reader.indexes, &merchant, None).await.1, 2);

    writer
        .indexes
        .replace_all(&merchant, vec![product("p3", "Cast iron pan"), product("p2", "Tea cup")])
        .await
        .unwrap();

    assert_eq!(found(&reader.indexes, &merchant, None).await, (ids(&["p2", "p3"]), 2));
    // An empty rebuild empties the index (it still exists).
    writer.indexes.replace_all(&merchant, vec![]).await.unwrap();
    assert_eq!(found(&reader.indexes, &merchant, None).await, (vec![], 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merchant_without_an_index_has_no_products() {
    let bucket = bucket().await;
    let reader = bucket.instance();
    let merchant = merchant();
    let hits = reader.indexes.search(&merchant, &SearchQuery { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!((hits.product_ids.len(), hits.total, hits.total_is_lower_bound), (0, 0, false));
    // Applying nothing creates nothing.
    reader.indexes.apply(&merchant, vec![]).await.unwrap();
    assert!(bucket.keys("indexes/").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn merchants_indexes_are_isolated_under_their_own_prefixes() {
    let bucket = bucket().await;
    let (writer, reader) = (bucket.instance(), bucket.instance());
    let (first, second) = (merchant(), merchant());
    writer.indexes.apply(&first, vec![upsert("p1", "Copper kettle")]).await.unwrap();
    writer.indexes.apply(&second, vec![upsert("p2", "Copper pan")]).await.unwrap();

    assert_eq!(found(&reader.indexes, &first, Some("copper")).await, (ids(&["p1"]), 1));
    assert_eq!(found(&reader.indexes, &second, Some("copper")).await, (ids(&["p2"]), 1));
    let keys = bucket.keys("indexes/").await;
    assert!(
        keys.contains(&format!("indexes/{first}/meta.json")) && keys.contains(&format!("indexes/{second}/meta.json"))
    );
    for key in &keys {
        assert!(
            key.starts_with(&format!("indexes/{first}/")) || key.starts_with(&format!("indexes/{second}/")),
            "{key}"
        );
    }
    // Each merchant's cache is its own directory too.
    assert!(reader.cache.path().join(&first).join("read").is_dir());
    assert!(reader.cache.path().join(&second).join("read").is_dir());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_that_could_leave_its_prefix_is_refused() {
    let bucket = bucket().await;
    let instance = bucket.instance();
    for id in ["../mer_1", "mer_1/x", "", "mer 1"] {
        let got = instance.indexes.apply(id, vec![upsert("p1", "Kettle")]).await;
        assert!(matches!(got, Err(SearchError::Other(_))), "{id:?}: {got:?}");
    }
    assert!(bucket.keys("").await.is_empty());
}
