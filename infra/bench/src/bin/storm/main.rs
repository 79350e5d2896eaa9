//! The order storm through the local runner: how long from a store's first delivery to an order paid and
//! marked paid in the store, when deliveries are duplicated, concurrent and retried and the PSP fails
//! transiently.
//!
//! `cargo run --release -p pivota-bench --bin storm -- [orders=50] [copies=3] [psp_503_percent=20]`
//!
//! The whole platform runs in process on the embedded backend ([`pivota_bench::Runner`], i.e.
//! `pivota_local::Platform` on 127.0.0.1, port 0, a temporary data directory, KYC wait 0 s), its payment
//! worker fed by the runner's SQS consumer as on Lambda. Stripe is a [`FakeStripe`] that answers 20 % of
//! requests with a 503 (seeded), the store a [`FakeCustomStore`]. Everything is done over HTTP: a merchant
//! registers, is approved, connects Stripe (test key) and the custom store, and sets up its webhooks.
//!
//! Then the storm: `orders` orders, each delivered `copies` times — the original, an exact duplicate and a
//! retry under another event id (1: the original only; 2: and the duplicate) — all at once, signed as the
//! store signs them, to `POST /webhooks/custom/{store_id}`; a 5xx answer is retried as a store would.
//! Meanwhile the orders list is polled every 50 ms until every order is `paid` with `write_back: done`.
//!
//! Prints the time from the first delivery to all paid, delivery→paid latency quantiles per order (its first
//! delivery to the first poll that saw it paid, so up to one poll late), how many were paid after each
//! second, Stripe charges and the orders marked paid in the store. Exits non-zero unless all orders were
//! paid and marked paid within [`DEADLINE`] with exactly one charge each.
//!
//! This file holds the storm itself and its figures; [`api`] is the merchant's HTTP client and the poll for
//! paid orders, [`deliveries`] the store's side: order payloads and signed deliveries with retries.

mod api;
mod deliveries;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pivota::settings::Settings;
use pivota_bench::{Runner, quantile};
use pivota_fakes::{DEFAULT_CUSTOM_TOKEN, FakeCustomStore, FakeFailure, FakeStripe};
use serde_json::{Value, json};

use api::{Api, poll_until_paid};
use deliveries::{deliver, external_id};

/// The seed that draws which Stripe requests get a 503.
const PSP_FAILURE_SEED: u64 = 7;
/// A delivery answered 5xx (or not answered) is sent again this many times in all, this far apart.
const DELIVERY_ATTEMPTS: u32 = 8;
const DELIVERY_RETRY_PAUSE: Duration = Duration::from_millis(50);
const POLL_EVERY: Duration = Duration::from_millis(50);
/// Polling gives up this long after the first delivery.
const GIVE_UP: Duration = Duration::from_secs(60);
/// All orders must be paid and marked paid this soon after the first delivery.
const DEADLINE: Duration = Duration::from_secs(30);

/// The storm's shape, from the command line.
#[derive(Clone, Copy)]
struct Shape {
    orders: u32,
    /// Deliveries per order: the original, an exact duplicate, a retry with another event id.
    copies: u32,
    /// Share of Stripe requests answered 503.
    psp_failure_percent: u8,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let orders: u32 = args.next().map_or(50, |a| a.parse().expect("orders is a number"));
    let copies: u32 = args.next().map_or(3, |a| a.parse().expect("copies is a number"));
    let psp_failure_percent: u8 = args.next().map_or(20, |a| a.parse().expect("psp_503_percent is 0..=100"));
    assert!(orders >= 1 && (1..=3).contains(&copies), "orders ≥ 1, copies 1..=3");
    let shape = Shape { orders, copies, psp_failure_percent };

    let client = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    // Wiremock serves each fake from a thread of its own.
    let (stripe, store) = client.block_on(async { (FakeStripe::start().await, FakeCustomStore::start().await) });

    // The settings the runner reads from the environment, as `pivota-local` would be started against the
    // fakes. PIVOTA_PUBLIC_BASE_URL stays at its default: the port is picked at bind time, and the storm
    // posts to the runner's real address (the URL registered on the store is not dialled by the fake).
    let stripe_base = stripe.uri();
    let settings = Settings::from_lookup(|name| match name {
        "PIVOTA_KYC_WAIT_SECONDS" => Some("0".into()),
        "PIVOTA_ALLOW_INSECURE_STORE_URLS" => Some("1".into()),
        "PIVOTA_STRIPE_API_BASE" => Some(stripe_base.clone()),
        _ => None,
    })
    .expect("valid settings");
    let runner = Runner::start(2, settings);

    let outcome = client.block_on(run(shape, &runner.base, &stripe, &store));
    runner.stop();
    if !outcome {
        std::process::exit(1);
    }
}

async fn run(shape: Shape, base: &str, stripe: &FakeStripe, store: &FakeCustomStore) -> bool {
    let Shape { orders: order_count, copies, psp_failure_percent } = shape;
    let http = pivota::kernel::http_client::builder().pool_max_idle_per_host(256).build().unwrap();
    let api = Api { http: http.clone(), base: base.to_owned() };
    let post = reqwest::Method::POST;

    // The merchant, over HTTP like any other client.
    let registration = json!({"business_name": "Storm Bench", "email": "storm@shop.example", "country": "DE", "website": "https://shop.example"});
    let (status, registered) = api.call(post.clone(), "/merchant/register", None, Some(registration)).await;
    assert_eq!(status, 201, "register: {registered}");
    let id = registered["merchant_id"].as_str().unwrap().to_owned();
    let key = registered["api_key"].as_str().unwrap().to_owned();
    let approval = Instant::now();
    loop {
        let (_, merchant) = api.call(reqwest::Method::GET, &format!("/merchant/{id}"), Some(&key), None).await;
        if merchant["status"] == "approved" {
            break;
        }
        assert!(approval.elapsed() < Duration::from_secs(30), "not approved after 30 s: {merchant}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stripe_key = json!({"psp": "stripe", "api_key": "sk_test_51StormBenchKey00000"});
    let (status, body) =
        api.call(post.clone(), &format!("/merchant/{id}/psp/connect"), Some(&key), Some(stripe_key)).await;
    assert_eq!(status, 201, "psp connect: {body}");
    let connect = json!({"platform": "custom", "store_url": store.uri(), "api_token": DEFAULT_CUSTOM_TOKEN});
    let (status, connected) =
        api.call(post.clone(), &format!("/merchant/{id}/store/connect"), Some(&key), Some(connect)).await;
    assert_eq!(status, 201, "store connect: {connected}");
    let store_id = connected["store_id"].as_str().unwrap().to_owned();
    let (status, setup) =
        api.call(post.clone(), &format!("/merchant/{id}/store/{store_id}/webhooks/setup"), Some(&key), None).await;
    assert_eq!(status, 200, "webhooks setup: {setup}");
    let hooks = store.webhooks();
    let secret: Arc<str> = hooks
        .iter()
        .find(|hook| hook.topic == "order.created")
        .or(hooks.first())
        .map(|hook| hook.secret.as_str().into())
        .expect("the store holds our webhook and its secret");
    // From now on (the key check at connect is done), one Stripe request in five is a 503.
    stripe.fail_randomly(psp_failure_percent, PSP_FAILURE_SEED, FakeFailure::Http503);
    let stripe_requests_before = stripe.requests();

    // The storm: every delivery of every order at once.
    let url = format!("{base}/webhooks/custom/{store_id}");
    let started = Instant::now();
    let poller = poll_until_paid(&api, &id, &key, order_count, started);
    let mut calls = Vec::new();
    for n in 1..=order_count {
        for copy in 0..copies {
            let event_id = if copy == 2 { format!("evt-{n}-retry") } else { format!("evt-{n}") };
            let delivery = deliver(http.clone(), url.clone(), secret.clone(), n, event_id);
            calls.push(tokio::spawn(async move { (n, delivery.await) }));
        }
    }
    let storm = async {
        let answered = futures::future::join_all(calls).await;
        (answered, started.elapsed())
    };
    let ((answered, delivered_in), (paid_at, last_seen)) = futures::join!(storm, poller);
    let mut first_delivery: BTreeMap<u32, Instant> = BTreeMap::new();
    let (mut attempts, mut refused) = (0u32, Vec::new());
    for call in answered {
        let (n, (sent, status, tries)) = call.expect("a delivery task");
        attempts += tries;
        if status != 200 {
            refused.push((n, status));
        }
        first_delivery.entry(n).and_modify(|first| *first = (*first).min(sent)).or_insert(sent);
    }
    let charges_at_end = stripe.charges();
    // Late messages for orders already paid must charge nothing: look again a moment later.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let charges = stripe.charges();
    let stripe_requests = stripe.requests() - stripe_requests_before;
    let marked: BTreeSet<String> = store.orders_marked_paid().into_iter().map(|(order, _)| order).collect();
    let marked_total = store.orders_marked_paid().len();

    // Figures.
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let first = first_delivery.values().min().copied().unwrap_or(started);
    let mut latencies: Vec<Duration> = first_delivery
        .iter()
        .filter_map(|(n, sent)| paid_at.get(&external_id(*n)).map(|paid| paid.saturating_duration_since(*sent)))
        .collect();
    latencies.sort();
    let all_paid_in = paid_at.values().max().map(|last| last.saturating_duration_since(first));
    let deliveries = order_count * copies;
    let all_paid = paid_at.len() == order_count as usize;
    println!("order storm through the local runner (embedded backend, payment worker on its SQS consumer)");
    println!(
        "orders: {order_count}; deliveries: {deliveries} ({copies} per order: {}), all at once",
        ["original", "original, exact duplicate", "original, exact duplicate, retry under another event id"]
            [copies as usize - 1]
    );
    println!(
        "delivery attempts: {attempts} ({} retried after a 5xx or no answer); all answered in {:.2} s; not 200 in the end: {}",
        attempts - deliveries,
        delivered_in.as_secs_f64(),
        refused.len()
    );
    println!(
        "Stripe: {psp_failure_percent} % of requests answered 503 (seed {PSP_FAILURE_SEED}); {stripe_requests} requests during the storm"
    );
    match all_paid_in {
        Some(total) if all_paid => {
            println!("first delivery → all paid and marked paid: {:.2} s", total.as_secs_f64())
        }
        _ => println!(
            "first delivery → all paid: not reached ({} of {order_count} paid after {:.0} s)",
            paid_at.len(),
            GIVE_UP.as_secs_f64()
        ),
    }
    println!(
        "delivery → paid latency over {} orders: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (polled every {} ms)",
        latencies.len(),
        ms(quantile(&latencies, 0.5)),
        ms(quantile(&latencies, 0.99)),
        ms(quantile(&latencies, 1.0)),
        POLL_EVERY.as_millis()
    );
    let last_second = all_paid_in.map_or(0, |total| total.as_secs() + 1);
    let timeline: Vec<String> = (1..=last_second)
        .map(|second| {
            let by = first + Duration::from_secs(second);
            format!("{second} s: {}", paid_at.values().filter(|paid| **paid <= by).count())
        })
        .collect();
    println!("paid and marked paid after {}", timeline.join(", "));
    println!(
        "Stripe charges: {charges} (expected {order_count}){}",
        if charges_at_end != charges { format!("; {charges_at_end} when all were paid") } else { String::new() }
    );
    println!(
        "orders marked paid in the store: {} distinct (expected {order_count}), {marked_total} write-backs in all",
        marked.len()
    );

    let mut failures = Vec::new();
    if !refused.is_empty() {
        failures.push(format!("deliveries not accepted (order, last status): {refused:?}"));
    }
    match all_paid_in {
        Some(total) if all_paid && total <= DEADLINE => {}
        _ => failures.push(format!(
            "not all {order_count} orders paid and marked paid within {} s ({} paid in {:.1} s)",
            DEADLINE.as_secs(),
            paid_at.len(),
            all_paid_in.unwrap_or_default().as_secs_f64()
        )),
    }
    if charges != order_count as usize {
        failures.push(format!("{charges} Stripe charges, not {order_count}"));
    }
    if marked.len() != order_count as usize {
        failures.push(format!("{} orders marked paid in the store, not {order_count}", marked.len()));
    }
    let stuck: Vec<&Value> =
        last_seen.iter().filter(|o| !(o["status"] == "paid" && o["write_back"] == "done")).collect();
    let missing: Vec<String> = (1..=order_count)
        .map(external_id)
        .filter(|e| !last_seen.iter().any(|o| o["external_id"].as_str() == Some(e.as_str())))
        .collect();
    if !stuck.is_empty() || !missing.is_empty() {
        println!("\nnot paid when polling stopped: {} listed, {} never listed {missing:?}", stuck.len(), missing.len());
        let mut by_state: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for o in &stuck {
            let state = format!("status {} / write_back {}", o["status"], o["write_back"]);
            by_state.entry(state).or_default().push(o["external_id"].as_str().unwrap_or("?"));
        }
        for (state, ids) in &by_state {
            println!("  {state}: {} orders {ids:?}", ids.len());
        }
        for o in stuck.iter().take(5) {
            println!(
                "  e.g. {}: status {}, write_back {}, failure {}, write_back_error {}, payment_id {}, updated_at {}",
                o["external_id"],
                o["status"],
                o["write_back"],
                o["failure"],
                o["write_back_error"],
                o["payment_id"],
                o["updated_at"]
            );
        }
    }

    if failures.is_empty() {
        println!(
            "\nstorm: {order_count} orders, {deliveries} deliveries, all paid and marked paid in {:.1} s; delivery→paid p50 {:.0} ms, p99 {:.0} ms",
            all_paid_in.unwrap_or_default().as_secs_f64(),
            ms(quantile(&latencies, 0.5)),
            ms(quantile(&latencies, 0.99)),
        );
        true
    } else {
        println!("\nstorm FAILED:");
        for failure in failures {
            println!("  - {failure}");
        }
        false
    }
}
