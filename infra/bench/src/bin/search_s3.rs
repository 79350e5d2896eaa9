//! The search index's AWS path on moto: a 100,000-product index published to S3, then the first query of
//! a cold function instance (download from S3, open, query) and the ones after.
//!
//! ```text
//! python infra/moto/serve.py -H 127.0.0.1 -p 5055 &
//! AWS_ENDPOINT_URL=http://127.0.0.1:5055 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
//!   AWS_REGION=us-east-1 cargo run --release -p pivota-bench --bin search_s3 -- [--products N]
//! ```
//!
//! Prints: the publish (build, upload, conditional `meta.json`); the cold query, and after it the same
//! files fetched again with plain GetObjects (the download's share of the cold query);
//! a warm query (a `meta.json` check answered 304, then the search); and the first query after a one-product
//! commit (only the new files are fetched). moto is a local emulator: its transfer rate is loopback's and
//! its per-request cost is Python's, not S3's, so the split matters more than the totals.

use std::time::{Duration, Instant};

use pivota::ports::{IndexChange, SearchIndex, SearchQuery};
use pivota_aws::{S3Indexes, provision};
use pivota_bench::catalog;

const MERCHANT: &str = "mer_bench";

fn main() {
    let mut args = std::env::args().skip(1);
    let mut products = 100_000;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--products" => products = args.next().and_then(|n| n.replace('_', "").parse().ok()).expect("a number"),
            other => panic!("unknown argument {other:?}"),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(run(products));
}

async fn run(products: usize) {
    let config = pivota_aws::load_sdk_config().await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
    let bucket = format!("bench-{}", std::process::id());
    provision::create_search_bucket(&s3, &bucket).await.expect("the bucket");
    let caches = tempfile::tempdir().expect("a cache directory");
    let writer = S3Indexes::new(s3.clone(), bucket.clone(), caches.path().join("writer"));

    let docs = catalog::products(42, products, 0);
    let started = Instant::now();
    writer.replace_all(MERCHANT, docs).await.expect("the publish");
    println!("## {products} products on S3 (moto)\n");
    println!("publish (build, upload every file, then meta.json): {:.1} s", started.elapsed().as_secs_f64());

    let query = SearchQuery { text: Some("navy shirt".into()), limit: 20, ..SearchQuery::default() };
    let reader = S3Indexes::new(s3.clone(), bucket.clone(), caches.path().join("reader"));
    let cold = timed(&reader, &query).await;
    let (files, bytes, fetch) = fetch_everything(&s3, &bucket).await;
    let warm: Vec<Duration> = {
        let mut times = Vec::new();
        for _ in 0..20 {
            times.push(timed(&reader, &query).await);
        }
        times.sort();
        times
    };
    let change = catalog::products(7, 1, products + 1).into_iter().map(IndexChange::Upsert).collect();
    writer.apply(MERCHANT, change).await.expect("a one-product commit");
    let after_commit = timed(&reader, &query).await;

    println!(
        "cold query (meta.json, every file, open, search): {:.0} ms; the same {files} files ({:.1} MiB) fetched \
         again with plain GetObjects, one after another: {:.0} ms",
        ms(cold),
        bytes as f64 / 1_048_576.0,
        ms(fetch),
    );
    println!(
        "warm query (meta.json answered 304, then the search): p50 {:.1} ms, max {:.1} ms over {}",
        ms(warm[warm.len() / 2]),
        ms(*warm.last().unwrap()),
        warm.len()
    );
    println!("first query after a one-product commit (fetches the new files only): {:.0} ms", ms(after_commit));
}

async fn timed(index: &S3Indexes, query: &SearchQuery) -> Duration {
    let started = Instant::now();
    let hits = index.search(MERCHANT, query).await.expect("a search");
    assert!(hits.total > 0, "the query matches");
    started.elapsed()
}

/// Every object of the index, fetched one after another as the reader does: (files, bytes, time).
async fn fetch_everything(s3: &aws_sdk_s3::Client, bucket: &str) -> (usize, u64, Duration) {
    let listed = s3.list_objects_v2().bucket(bucket).prefix(format!("indexes/{MERCHANT}/")).send().await.unwrap();
    let keys: Vec<String> = listed.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect();
    let started = Instant::now();
    let mut bytes = 0;
    for key in &keys {
        let object = s3.get_object().bucket(bucket).key(key).send().await.unwrap();
        bytes += object.body.collect().await.unwrap().into_bytes().len() as u64;
    }
    (keys.len(), bytes, started.elapsed())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}
