//! Order webhook acknowledgement, measured two ways in one run.
//!
//! `cargo run --release -p pivota-bench --bin webhooks -- [deliveries=2000] [in_flight=32]`
//!
//! 1. In process: verify + parse + dedupe decision for a 4 KB Shopify `orders/create` delivery (the
//!    platform's `verify_delivery` and `parse_order`, then `orders::event_recorded` on the embedded backend,
//!    for an event already recorded), against raw HMAC-SHA256 + `serde_json::from_slice::<Value>` of the
//!    same bytes, interleaved in batches. Target: our throughput ≥ 50 % of the raw one.
//! 2. Through the local runner (embedded backend, HTTP on 127.0.0.1): `deliveries` signed deliveries of
//!    distinct 4 KB orders to `POST /webhooks/shopify/{store_id}`, `in_flight` at a time, with the headers
//!    Shopify sends. Prints acknowledgement latency p50/p99/max and throughput. The runner's payment worker
//!    charges the orders (sandbox PSP) and marks them paid in the fake shop meanwhile, on the same cores.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use pivota::orders;
use pivota::stores::platforms::StoreWebhooks;
use pivota::stores::platforms::shopify::ShopifyPlatform;
use pivota_bench::sync_worker_process::{self, embedded_app};
use pivota_bench::{Runner, quantile};
use pivota_fakes::{FakeShop, FakeShopify};
use serde_json::{Value, json};
use sha2::Sha256;

const TARGET_RATIO: f64 = 0.5;
const ORDER_BYTES: usize = 4096;
const STORE_ID: &str = "sto_bench";

fn main() {
    let mut args = std::env::args().skip(1);
    let deliveries: usize = args.next().map_or(2000, |a| a.parse().expect("deliveries is a number"));
    let in_flight: usize = args.next().map_or(32, |a| a.parse().expect("in_flight is a number"));

    let client = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    // Generous cost bucket: the payment worker's write-backs must never be throttled during the run.
    let fake = client.block_on(FakeShopify::start(FakeShop::default().with_bucket(1e9, 1e9)));
    let ratio = client.block_on(in_process(&fake));

    // The fake shop listens on 127.0.0.1 over plain HTTP; KYC approves at once.
    let runner = Runner::start(2, sync_worker_process::settings());
    client.block_on(through_runner(&runner.base, &fake, deliveries, in_flight));
    runner.stop();
    if ratio < TARGET_RATIO {
        println!("\ntarget missed: our throughput is below {:.0} % of the raw one", TARGET_RATIO * 100.0);
        std::process::exit(1);
    }
}

/// A Shopify `orders/create` payload (REST shape) of about [`ORDER_BYTES`]: the fields a real one carries,
/// and line items until it is that large.
fn shopify_order(n: u64) -> Vec<u8> {
    let id = 820_982_911_946_154_508 + n;
    let address = json!({
        "first_name": "Jon", "last_name": "Doe", "address1": "Chestnut Street 92", "city": "Louisville",
        "zip": "40202", "province": "Kentucky", "country": "United States", "country_code": "US", "phone": "+1 555 0100",
    });
    let mut order = json!({
        "id": id, "admin_graphql_api_id": format!("gid://shopify/Order/{id}"), "name": format!("#{}", 1000 + n),
        "email": format!("buyer{n}@example.com"), "created_at": "2026-07-10T12:00:00-04:00", "currency": "EUR",
        "presentment_currency": "EUR", "financial_status": "pending", "fulfillment_status": null,
        "note_attributes": [{"name": "pivota_payment_method", "value": "pm_card_visa"}],
        "billing_address": address, "shipping_address": address, "tags": "", "test": false,
        "customer": {"id": 115_310_627_314_723_954u64 + n, "email": format!("buyer{n}@example.com"), "first_name": "Jon", "last_name": "Doe"},
        "line_items": [],
    });
    let mut total = 0;
    for line in 0.. {
        let body = serde_json::to_vec(&order).unwrap();
        if body.len() >= ORDER_BYTES - 150 {
            break;
        }
        total += 1999;
        order["line_items"].as_array_mut().unwrap().push(json!({
            "id": 466_157_049 + line, "variant_id": 39_072_856 + line, "product_id": 632_910_392 + line,
            "title": format!("Linen shirt {line}"), "variant_title": "M", "sku": format!("LIN-M-{line}"),
            "quantity": 1, "price": "19.99", "vendor": "Pivota Test Shop", "requires_shipping": true,
            "taxable": true, "fulfillment_service": "manual", "grams": 200,
        }));
    }
    let price = format!("{}.{:02}", total / 100, total % 100);
    order["total_price"] = json!(price);
    order["current_total_price"] = json!(price);
    order["subtotal_price"] = json!(price);
    serde_json::to_vec(&order).unwrap()
}

fn header_map(pairs: Vec<(&'static str, String)>) -> http::HeaderMap {
    pairs.into_iter().map(|(name, value)| (http::HeaderName::from_static(name), value.parse().unwrap())).collect()
}

/// Runs `op` `batch` times and returns the time per op.
async fn per_op<F, Fut>(batch: u32, mut op: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = Instant::now();
    for _ in 0..batch {
        op().await;
    }
    started.elapsed() / batch
}

/// Part 1. Returns our throughput as a share of the raw one.
async fn in_process(fake: &FakeShopify) -> f64 {
    let data_dir = tempfile::tempdir().expect("a temporary data directory");
    let app = embedded_app(data_dir.path()).await;
    let credentials =
        serde_json::from_value(json!({"api_token": fake.access_token(), "webhook_secret": fake.client_secret()}))
            .unwrap();
    let body = shopify_order(0);
    let headers = header_map(fake.delivery_headers("orders/create", "evt-bench", &body));
    // The dedupe decision for a delivery seen before: the event is recorded.
    orders::remember_event(&app, STORE_ID, "evt-bench").await;

    let secret = fake.client_secret();
    let signature = base64::engine::general_purpose::STANDARD.decode(fake.sign_webhook(&body)).unwrap();
    let raw = || async {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(black_box(&body));
        mac.verify_slice(&signature).unwrap();
        black_box(serde_json::from_slice::<Value>(black_box(&body)).unwrap());
    };
    let verify_and_parse = || {
        let delivery = ShopifyPlatform.verify_delivery(&credentials, &headers, black_box(&body)).unwrap();
        let order = ShopifyPlatform.parse_order(black_box(&body)).unwrap();
        (delivery, orders::order_id(STORE_ID, &order.external_id))
    };
    let ours = || async {
        let (delivery, order_id) = verify_and_parse();
        let event_id = delivery.event_id.as_deref().unwrap();
        assert!(orders::event_recorded(&app, STORE_ID, event_id).await.unwrap(), "a duplicate");
        black_box(order_id);
    };
    let cpu_only = || async {
        black_box(verify_and_parse());
    };

    let (rounds, batch) = (40, 500);
    let (mut raw_times, mut our_times, mut cpu_times) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds + 4 {
        let times = (per_op(batch, raw).await, per_op(batch, ours).await, per_op(batch, cpu_only).await);
        // The first rounds warm up caches, the allocator and SQLite's page cache.
        if round >= 4 {
            raw_times.push(times.0);
            our_times.push(times.1);
            cpu_times.push(times.2);
        }
    }
    for times in [&mut raw_times, &mut our_times, &mut cpu_times] {
        times.sort();
    }
    let (raw, ours, cpu) = (quantile(&raw_times, 0.5), quantile(&our_times, 0.5), quantile(&cpu_times, 0.5));
    let per_second = |d: Duration| 1.0 / d.as_secs_f64();
    let ratio = per_second(ours) / per_second(raw);
    println!(
        "in process: a {} byte Shopify orders/create delivery ({rounds} rounds of {batch}, median round)",
        body.len()
    );
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!("raw HMAC-SHA256 + serde_json::Value parse:      {:>7.1} µs/op  {:>8.0} ops/s", us(raw), per_second(raw));
    println!(
        "verify + parse (Pivota, no I/O):                {:>7.1} µs/op  {:>8.0} ops/s  ({:.0} % of raw)",
        us(cpu),
        per_second(cpu),
        100.0 * per_second(cpu) / per_second(raw)
    );
    println!(
        "verify + parse + dedupe decision (embedded):    {:>7.1} µs/op  {:>8.0} ops/s  ({:.0} % of raw; target ≥ {:.0} %)",
        us(ours),
        per_second(ours),
        100.0 * ratio,
        TARGET_RATIO * 100.0
    );
    ratio
}

/// Part 2: signed deliveries through the runner.
async fn through_runner(base: &str, fake: &FakeShopify, deliveries: usize, in_flight: usize) {
    let http = pivota::kernel::http_client::builder().pool_max_idle_per_host(in_flight).build().unwrap();
    let send = |method: reqwest::Method, path: &str, key: Option<&str>, body: Option<Value>| {
        let mut request = http.request(method, format!("{base}{path}"));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let registration = json!({"business_name": "Bench", "email": "bench@shop.example", "country": "DE", "website": "https://shop.example"});
    let (status, registered) = send(reqwest::Method::POST, "/merchant/register", None, Some(registration)).await;
    assert_eq!(status, 201, "{registered}");
    let (id, key) = (registered["merchant_id"].as_str().unwrap(), registered["api_key"].as_str().unwrap());
    // The KYC wait is 0 s: the runner's timer approves the merchant within its poll interval.
    while send(reqwest::Method::GET, &format!("/merchant/{id}"), Some(key), None).await.1["status"] != "approved" {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _) =
        send(reqwest::Method::POST, &format!("/merchant/{id}/psp/connect"), Some(key), Some(json!({"psp": "sandbox"})))
            .await;
    assert_eq!(status, 201);
    let connect = json!({"platform": "shopify", "store_url": fake.uri(), "api_token": fake.access_token(), "webhook_secret": fake.client_secret()});
    let (status, store) =
        send(reqwest::Method::POST, &format!("/merchant/{id}/store/connect"), Some(key), Some(connect)).await;
    assert_eq!(status, 201, "{store}");
    let store_id = store["store_id"].as_str().unwrap().to_owned();
    let (status, setup) =
        send(reqwest::Method::POST, &format!("/merchant/{id}/store/{store_id}/webhooks/setup"), Some(key), None).await;
    assert_eq!(status, 200, "{setup}");

    let signed: Vec<(Vec<u8>, http::HeaderMap)> = (1..=deliveries as u64)
        .map(|n| {
            let body = shopify_order(n);
            let headers = header_map(fake.delivery_headers("orders/create", &format!("evt-{n}"), &body));
            (body, headers)
        })
        .collect();
    let signed = Arc::new(signed);
    let url = format!("{base}/webhooks/shopify/{store_id}");
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers = (0..in_flight).map(|_| {
        let (http, url, next, signed) = (http.clone(), url.clone(), next.clone(), signed.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let Some((body, headers)) = signed.get(n) else { return latencies };
                let sent = Instant::now();
                let response = http.post(&url).headers(headers.clone()).body(body.clone()).send().await.unwrap();
                assert_eq!(response.status(), 200, "delivery {n}");
                let _ = response.bytes().await.unwrap();
                latencies.push(sent.elapsed());
            }
        })
    });
    let mut latencies: Vec<Duration> =
        futures::future::join_all(workers).await.into_iter().flat_map(Result::unwrap).collect();
    let wall = started.elapsed();
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("\nthrough the local runner: {deliveries} signed orders/create deliveries, {in_flight} in flight");
    println!(
        "ack latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; throughput {:.0} deliveries/s (wall {:.2} s)",
        ms(quantile(&latencies, 0.5)),
        ms(quantile(&latencies, 0.99)),
        ms(quantile(&latencies, 1.0)),
        deliveries as f64 / wall.as_secs_f64(),
        wall.as_secs_f64()
    );
}
