//! What a reader downloads, and what it serves while S3 does not hold a whole commit.

use pivota::ports::{SearchError, SearchIndex, SearchQuery};

use super::{bucket, found, ids, merchant, upsert};

#[tokio::test(flavor = "multi_thread")]
async fn a_warm_reader_downloads_only_the_files_that_changed() {
    // GIVEN a reader that has searched the first commit
    let bucket = bucket().await;
    let (writer, reader) = (bucket.instance(), bucket.instance());
    let merchant = merchant();
    let prefix = format!("indexes/{merchant}/");
    writer.indexes.apply(&merchant, vec![upsert("p1", "Copper kettle"), upsert("p2", "Tea cup")]).await.unwrap();
    let first = bucket.keys(&prefix).await;
    assert_eq!(found(&reader.indexes, &merchant, None).await.1, 2);
    let cold: Vec<String> = first.iter().filter(|key| !key.ends_with("/meta.json")).cloned().collect();
    assert!(!cold.is_empty());
    assert_eq!(reader.requests.take_file_gets(), cold.into_iter().collect());

    // WHEN another product is committed and the reader searches again
    writer.indexes.apply(&merchant, vec![upsert("p3", "Copper pan")]).await.unwrap();
    let added: std::collections::BTreeSet<String> = bucket.keys(&prefix).await.difference(&first).cloned().collect();
    assert_eq!(found(&reader.indexes, &merchant, Some("copper")).await, (ids(&["p1", "p3"]), 2));

    // THEN it fetched the new commit's new files and nothing it already had
    let warm = reader.requests.take_file_gets();
    assert!(!warm.is_empty());
    assert_eq!(warm, added.into_iter().filter(|key| !key.ends_with("/meta.json")).collect());

    // AND with nothing new, it only asks whether meta.json changed, with the ETag it holds (S3 answers 304)
    assert_eq!(found(&reader.indexes, &merchant, None).await.1, 3);
    let requests = reader.requests.all();
    assert!(reader.requests.take_file_gets().is_empty());
    let meta_gets: Vec<_> =
        requests.iter().filter(|sent| sent.method == "GET" && sent.uri.contains("/meta.json")).collect();
    let held = meta_gets.last().and_then(|sent| sent.if_none_match.as_deref());
    assert!(held.is_some_and(|etag| etag.len() > 2), "{meta_gets:?}");
    // The cache holds the current commit (meta.json and the files no commit dropped), nothing older, and
    // tantivy's lock file.
    let cached: Vec<String> = std::fs::read_dir(reader.cache.path().join(&merchant).join("read"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != ".tantivy-meta.lock")
        .collect();
    assert_eq!(cached.len(), bucket.keys(&prefix).await.len() - stale(&bucket, &prefix).await, "{cached:?}");
}

/// How many objects under `prefix` are tagged obsolete.
async fn stale(bucket: &super::TestBucket, prefix: &str) -> usize {
    let mut count = 0;
    for key in bucket.keys(prefix).await {
        count += usize::from(bucket.is_tagged_obsolete(&key).await);
    }
    count
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reader_keeps_serving_its_commit_while_the_next_is_not_wholly_in_s3() {
    // GIVEN a reader serving a first commit
    let bucket = bucket().await;
    let (writer, reader) = (bucket.instance(), bucket.instance());
    let merchant = merchant();
    let prefix = format!("indexes/{merchant}/");
    writer.indexes.apply(&merchant, vec![upsert("p1", "Copper kettle")]).await.unwrap();
    assert_eq!(found(&reader.indexes, &merchant, None).await, (ids(&["p1"]), 1));

    // WHEN a second commit's meta.json is in S3 but one of its segment files is not (yet)
    let before = bucket.keys(&prefix).await;
    writer.indexes.apply(&merchant, vec![upsert("p2", "Copper pan")]).await.unwrap();
    let new = bucket.keys(&prefix).await.difference(&before).find(|key| key.ends_with(".idx")).cloned().unwrap();
    let bytes = bucket.get(&new).await;
    bucket.delete(&new).await;

    // THEN the warm reader still answers from the first commit
    assert_eq!(found(&reader.indexes, &merchant, None).await, (ids(&["p1"]), 1));
    // AND a cold reader, with no commit to fall back on, fails as transient rather than answer "nothing"
    let cold = bucket.instance();
    let got = cold.indexes.search(&merchant, &SearchQuery { limit: 10, ..Default::default() }).await;
    assert!(matches!(got, Err(SearchError::Transient(ref why)) if why.contains(".idx")), "{got:?}");

    // AND once the file arrives, both serve the second commit
    bucket.put(&new, bytes, None).await;
    assert_eq!(found(&reader.indexes, &merchant, None).await, (ids(&["p1", "p2"]), 2));
    assert_eq!(found(&cold.indexes, &merchant, None).await, (ids(&["p1", "p2"]), 2));
}
