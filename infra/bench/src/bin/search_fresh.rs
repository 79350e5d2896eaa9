//! How soon a product change is searchable through the local runner: a product written as a sync or a
//! webhook writes it, then `GET /merchant/{id}/products?q=` polled every 10 ms until it answers; then the
//! product removed, polled until it is gone. The path measured is the whole pipeline: the write's message
//! on the embedded index queue, the runner's consumer (it polls an idle queue every 200 ms), the indexer
//! (a table read and a commit), and the search.
//!
//! `cargo run --release -p pivota-bench --bin search_fresh -- [changes]` (default 50).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use pivota::catalog::products;
use pivota::onboarding::merchant::MerchantId;
use pivota::settings::Settings;
use pivota_bench::{Runner, quantile};
use serde_json::{Value, json};

fn main() {
    let changes: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(50);
    let runner = Runner::start(2, Settings::default());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (added, removed) = runtime.block_on(measure(&runner, changes));
    runner.stop();
    for (label, mut times) in [("a new product is found", added), ("a removed product is gone", removed)] {
        times.sort();
        println!(
            "{label}: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms over {}",
            ms(quantile(&times, 0.5)),
            ms(quantile(&times, 0.99)),
            ms(*times.last().unwrap()),
            times.len()
        );
    }
}

async fn measure(runner: &Runner, changes: usize) -> (Vec<Duration>, Vec<Duration>) {
    let http = pivota::kernel::http_client::builder().build().unwrap();
    let (id, key) = pivota_bench::register(&http, &runner.base, "Fresh Goods", "fresh@bench.example").await;
    let (id, key) = (id.as_str(), key.as_str());
    let approved = http
        .post(format!("{}/admin/merchants/{id}/approve", runner.base))
        .bearer_auth("bench-admin-token")
        .send()
        .await
        .unwrap();
    assert!(approved.status().is_success(), "{}", approved.text().await.unwrap());
    let app = &runner.platform.app;
    let merchant_id = MerchantId::parse(id).unwrap();
    let currency = pivota::kernel::money::Currency::parse("EUR").unwrap();
    let total = |word: String| {
        let request =
            http.get(format!("{}/merchant/{id}/products", runner.base)).query(&[("q", word)]).bearer_auth(key);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap()["total"].as_u64().unwrap() }
    };
    // From `since` (before the write) until the search answers `wanted` matches.
    let until = |word: String, wanted: u64, since: Instant| async move {
        while total(word.clone()).await != wanted {
            assert!(since.elapsed() < Duration::from_secs(30), "never searchable");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        since.elapsed()
    };
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    for n in 0..changes {
        let word = format!("freshness{n:04}");
        let external: pivota::stores::platforms::ExternalProduct = serde_json::from_value(json!({
            "external_id": n.to_string(), "title": format!("Crate {word}"), "status": "active",
            "variants": [{"external_id": format!("{n}-0"), "title": "One", "sku": format!("FR-{n}"), "price_minor": 1000}],
        }))
        .unwrap();
        let written = Instant::now();
        products::save_from_store(
            app.as_ref(),
            &merchant_id,
            "sto_bench",
            currency,
            vec![external],
            HashMap::new(),
            None,
        )
        .await
        .unwrap();
        added.push(until(word.clone(), 1, written).await);
        let stored =
            products::get_many(app.as_ref(), &merchant_id, &[products::product_id("sto_bench", &n.to_string())])
                .await
                .unwrap();
        let removing = Instant::now();
        products::mark_removed(app.as_ref(), &merchant_id, stored, None).await.unwrap();
        removed.push(until(word, 0, removing).await);
    }
    (added, removed)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}
