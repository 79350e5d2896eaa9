//! Writers: concurrent commits, old files, files left by writers that lost, and the S3 behaviour the
//! protocol rests on.

use std::collections::BTreeSet;
use std::sync::Arc;

use pivota::ports::{SearchError, SearchIndex};

use super::{Instance, TestBucket, bucket, found, merchant, upsert};

/// Runs `rounds` applies on each instance at once, all for one merchant: `change(instance, round)`.
async fn concurrently(
    instances: &[Arc<Instance>],
    merchant: &str,
    rounds: usize,
    change: fn(usize, usize) -> (String, String),
) {
    let mut tasks = tokio::task::JoinSet::new();
    for (n, instance) in instances.iter().enumerate() {
        for round in 0..rounds {
            let (instance, merchant) = (Arc::clone(instance), merchant.to_owned());
            tasks.spawn(async move {
                let (id, title) = change(n, round);
                instance.indexes.apply(&merchant, vec![upsert(&id, &title)]).await
            });
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap().expect("every apply commits");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_writing_at_once_lose_no_change() {
    // GIVEN two writer instances (two Lambda instances: their own caches) and no index yet
    let bucket = bucket().await;
    let writers = [Arc::new(bucket.instance()), Arc::new(bucket.instance())];
    let merchant = merchant();

    // WHEN each applies 20 distinct products at once
    concurrently(&writers, &merchant, 20, |n, round| (format!("p{n}-{round}"), format!("Kettle {n} {round}"))).await;

    // THEN a fresh reader finds all 40
    let (ids, total) = found(&bucket.instance().indexes, &merchant, None).await;
    assert_eq!((ids.len(), total), (40, 40), "{ids:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_updating_the_same_products_keep_one_document_each() {
    // Updates delete the old document: both writers make delete files named after the segment and the
    // commit's opstamp, the same names with different contents. Neither may overwrite the other's.
    let bucket = bucket().await;
    let writers = [Arc::new(bucket.instance()), Arc::new(bucket.instance())];
    let merchant = merchant();
    writers[0].indexes.apply(&merchant, (0..5).map(|p| upsert(&format!("p{p}"), "Kettle")).collect()).await.unwrap();

    concurrently(&writers, &merchant, 10, |n, round| (format!("p{}", round % 5), format!("Kettle {n} {round}"))).await;

    let reader = bucket.instance();
    let (ids, total) = found(&reader.indexes, &merchant, Some("kettle")).await;
    assert_eq!((ids, total), (super::ids(&["p0", "p1", "p2", "p3", "p4"]), 5));
}

/// The files of the current commit: what a reader with an empty cache downloads.
async fn current_files(bucket: &TestBucket, merchant: &str) -> BTreeSet<String> {
    let reader = bucket.instance();
    found(&reader.indexes, merchant, None).await;
    reader.requests.take_file_gets()
}

#[tokio::test(flavor = "multi_thread")]
async fn files_a_commit_drops_are_tagged_obsolete_and_current_files_never() {
    // GIVEN an index committed several times, then rebuilt
    let bucket = bucket().await;
    let writer = bucket.instance();
    let merchant = merchant();
    for round in 0..3 {
        writer
            .indexes
            .apply(&merchant, vec![upsert("p1", &format!("Kettle {round}")), upsert(&format!("q{round}"), "Cup")])
            .await
            .unwrap();
    }
    writer.indexes.replace_all(&merchant, vec![super::product("p9", "Pan")]).await.unwrap();

    // THEN every file of the current commit is untagged, and every other one tagged obsolete. S3's lifecycle
    // rule (provision::create_search_bucket, template.yaml) expires tagged objects a day after their
    // creation; moto stores the rule but never runs it, so expiry itself is AWS's documented behaviour.
    let current = current_files(&bucket, &merchant).await;
    assert!(!current.is_empty());
    let meta = format!("indexes/{merchant}/meta.json");
    let mut obsolete = 0;
    for key in bucket.keys(&format!("indexes/{merchant}/")).await {
        let tagged = bucket.is_tagged_obsolete(&key).await;
        assert_eq!(tagged, !(current.contains(&key) || key == meta), "{key}");
        obsolete += usize::from(tagged);
    }
    assert!(obsolete > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delete_file_left_by_a_lost_writer_is_replaced_only_once_given_up() {
    // As the search-indexer, so the IAM check sees the calls only this path makes (HeadObject,
    // GetObjectTagging).
    pivota::invocation::serve_as("search-indexer", left_file_replaced_once_given_up()).await
}

async fn left_file_replaced_once_given_up() {
    // GIVEN a commit C1, and the delete file the next update of p1 will make, already in S3 with other
    // contents: as a writer that lost the race to publish, or died, leaves it
    let bucket = bucket().await;
    let writer = bucket.instance();
    let merchant = merchant();
    let prefix = format!("indexes/{merchant}/");
    let meta = format!("{prefix}meta.json");
    writer.indexes.apply(&merchant, vec![upsert("p1", "Kettle"), upsert("p2", "Cup")]).await.unwrap();
    let c1 = bucket.get(&meta).await;
    let before = bucket.keys(&prefix).await;
    writer.indexes.apply(&merchant, vec![upsert("p1", "Copper kettle")]).await.unwrap();
    let delete_file =
        bucket.keys(&prefix).await.difference(&before).find(|key| key.ends_with(".del")).cloned().unwrap();
    bucket.put(&meta, c1.clone(), None).await;
    bucket.put(&delete_file, b"not a delete file".to_vec(), None).await;

    // WHEN its writer has not given it up (untagged, recent), THEN another writer making the same name
    // does not publish
    let second = bucket.instance();
    let second = super::Instance { indexes: second.indexes.with_write_attempts(2), ..second };
    let got = second.indexes.apply(&merchant, vec![upsert("p1", "Copper kettle")]).await;
    assert!(matches!(got, Err(SearchError::Transient(_))), "{got:?}");
    assert_eq!(bucket.get(&meta).await, c1);
    assert_eq!(bucket.get(&delete_file).await, b"not a delete file");

    // WHEN it was given up (tagged obsolete), THEN it is replaced and the commit published
    bucket.put(&delete_file, b"not a delete file".to_vec(), Some("pivota-obsolete=true")).await;
    writer.indexes.apply(&merchant, vec![upsert("p1", "Copper kettle")]).await.unwrap();
    assert!(!bucket.is_tagged_obsolete(&delete_file).await);
    let reader = bucket.instance();
    assert_eq!(found(&reader.indexes, &merchant, None).await.1, 2);
    assert_eq!(found(&reader.indexes, &merchant, Some("copper")).await.0, vec!["p1".to_owned()]);
}

/// The protocol rests on S3's conditional requests; moto honours each of them (infra/moto/serve.py makes
/// its check-then-write atomic, as S3's is).
#[tokio::test(flavor = "multi_thread")]
async fn the_emulator_answers_conditional_requests_as_s3_does() {
    let bucket = bucket().await;
    let (client, name) = (&bucket.client, bucket.name.as_str());
    let put = |body: &'static [u8]| client.put_object().bucket(name).key("k").body(body.to_vec().into());

    let first = put(b"1").if_none_match("*").send().await.unwrap().e_tag.unwrap();
    let again = put(b"2").if_none_match("*").send().await.unwrap_err();
    assert_eq!(again.raw_response().map(|r| r.status().as_u16()), Some(412));
    let stale = put(b"2").if_match("\"0123\"").send().await.unwrap_err();
    assert_eq!(stale.raw_response().map(|r| r.status().as_u16()), Some(412));
    let second = put(b"2").if_match(&first).send().await.unwrap().e_tag.unwrap();
    assert_ne!(first, second);

    let unchanged = client.get_object().bucket(name).key("k").if_none_match(&second).send().await.unwrap_err();
    assert_eq!(unchanged.raw_response().map(|r| r.status().as_u16()), Some(304));
    let changed = client.get_object().bucket(name).key("k").if_none_match(&first).send().await.unwrap();
    assert_eq!(changed.e_tag.as_deref(), Some(second.as_str()));
}
