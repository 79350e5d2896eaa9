//! The overhead of `/payment/execute` through the local runner over calling the sandbox connector
//! directly, measured side by side (interleaved) in one run.
//!
//! `cargo run --release -p pivota-bench --bin payment_overhead -- [payments]`
//!
//! Through the runner a payment is: HTTP on 127.0.0.1, API-key authentication, the idempotency claim and
//! the `processing` payment (one transaction), routing, the sandbox charge, and the outcome and stored
//! response (a second transaction), all on the embedded backend. Directly it is only the sandbox charge.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use pivota::kernel::money::{Currency, Money};
use pivota::payments::connectors::PspMode;
use pivota::payments::connectors::sandbox::{SUCCESS_CARD, SandboxConnector};
use pivota::payments::connectors::{ChargeRequest, PspConnector, PspCredentials};
use pivota::settings::Settings;
use pivota_bench::quantile;
use pivota_local::{LocalConfig, Platform};
use serde_json::{Value, json};

fn main() {
    let payments: usize = std::env::args().nth(1).map_or(2000, |a| a.parse().expect("payments is a number"));
    let data_dir = tempfile::tempdir().expect("a temporary data directory");
    let server = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let config = LocalConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.path().to_owned(),
        admin_token: Some("bench-admin-token".into()),
        settings: Settings { kyc_wait_seconds: 0, ..Settings::default() },
    };
    let platform = server.block_on(Platform::start(config)).expect("the runner starts");
    let base = format!("http://{}", platform.local_addr);

    let client = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (direct, through_runner) = client.block_on(measure(&base, payments));
    server.block_on(platform.stop());

    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let (d50, d99) = (quantile(&direct, 0.5), quantile(&direct, 0.99));
    let (r50, r99) = (quantile(&through_runner, 0.5), quantile(&through_runner, 0.99));
    println!("/payment/execute through the local runner vs the sandbox connector called directly");
    println!("payments: {payments} each, interleaved, sequential (one at a time)");
    println!("direct sandbox charge:      p50 {:>9.1} µs   p99 {:>9.1} µs", us(d50), us(d99));
    println!("through the local runner:   p50 {:>9.1} µs   p99 {:>9.1} µs", us(r50), us(r99));
    println!("overhead (runner - direct): p50 {:>9.1} µs   p99 {:>9.1} µs", us(r50) - us(d50), us(r99) - us(d99));
    println!("ratio (runner / direct):    p50 {:>9.1}×    p99 {:>9.1}×", us(r50) / us(d50), us(r99) / us(d99));
}

async fn measure(base: &str, payments: usize) -> (Vec<Duration>, Vec<Duration>) {
    let http = pivota::kernel::http_client::builder().build().unwrap();
    let (id, key) = pivota_bench::register(&http, base, "Bench", "bench@shop.example").await;
    let (id, key) = (id.as_str(), key.as_str());
    // The KYC wait is 0 s: the runner's timer approves the merchant within its poll interval.
    loop {
        let merchant: Value =
            http.get(format!("{base}/merchant/{id}")).bearer_auth(key).send().await.unwrap().json().await.unwrap();
        if merchant["status"] == "approved" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let connected = http
        .post(format!("{base}/merchant/{id}/psp/connect"))
        .bearer_auth(key)
        .json(&json!({"psp": "sandbox"}))
        .send()
        .await
        .unwrap();
    assert_eq!(connected.status(), 201);

    let sandbox = SandboxConnector::default();
    let credentials = PspCredentials {
        api_key: "sbx_test_bench".into(),
        merchant_account: None,
        mode: PspMode::Test,
        live_url_prefix: None,
    };
    let eur = Currency::parse("EUR").unwrap();
    let (mut direct, mut through_runner) = (Vec::with_capacity(payments), Vec::with_capacity(payments));
    for n in 0..payments + 100 {
        let request = ChargeRequest {
            amount: Money::new(1999, eur).unwrap(),
            payment_method: Some(SUCCESS_CARD.into()),
            order_id: format!("order-{n}"),
            payment_id: format!("pay_{n}"),
            idempotency_key: format!("direct-{n}"),
            customer: None,
            off_session: false,
            metadata: BTreeMap::new(),
            return_url: "http://127.0.0.1/console".into(),
        };
        let started = Instant::now();
        sandbox.charge(&credentials, &request).await.unwrap();
        let direct_time = started.elapsed();

        let started = Instant::now();
        let response = http
            .post(format!("{base}/payment/execute"))
            .bearer_auth(key)
            .header("idempotency-key", format!("runner-{n}"))
            .json(&json!({"order_id": format!("order-{n}"), "amount": 1999, "currency": "EUR", "payment_method": SUCCESS_CARD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let _ = response.bytes().await.unwrap();
        let runner_time = started.elapsed();
        // The first 100 of each warm up connections, caches and the allocator.
        if n >= 100 {
            direct.push(direct_time);
            through_runner.push(runner_time);
        }
    }
    direct.sort();
    through_runner.sort();
    (direct, through_runner)
}
