//! Register + get round trips through the local runner, over HTTP on 127.0.0.1.
//!
//! `cargo run --release -p pivota-bench --bin onboarding -- [round_trips] [concurrency]`
//!
//! The runner (embedded backend, a fresh data directory) runs on its own Tokio runtime so the load
//! generator does not share its scheduler. Each round trip is `POST /merchant/register` with a new
//! e-mail, then `GET /merchant/{id}` with the key it returned. Prints throughput and latency quantiles.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pivota::settings::Settings;
use pivota_bench::quantile;
use pivota_local::{LocalConfig, Platform};
use serde_json::{Value, json};

struct Sample {
    register: Duration,
    get: Duration,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let round_trips: usize = args.next().map_or(2000, |a| a.parse().expect("round_trips is a number"));
    let concurrency: usize = args.next().map_or(16, |a| a.parse().expect("concurrency is a number"));
    let data_dir = tempfile::tempdir().expect("a temporary data directory");

    let server = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let config = LocalConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.path().to_owned(),
        admin_token: Some("bench-admin-token".into()),
        // A wait longer than the run: the benchmark measures the request path, not the KYC decisions.
        settings: Settings { kyc_wait_seconds: 3600, ..Settings::default() },
    };
    let platform = server.block_on(Platform::start(config)).expect("the runner starts");
    let base = format!("http://{}", platform.local_addr);

    let client = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (samples, wall) = client.block_on(run(&base, round_trips, concurrency));
    server.block_on(platform.stop());

    let mut round_trip: Vec<Duration> = samples.iter().map(|s| s.register + s.get).collect();
    let mut register: Vec<Duration> = samples.iter().map(|s| s.register).collect();
    let mut get: Vec<Duration> = samples.iter().map(|s| s.get).collect();
    round_trip.sort();
    register.sort();
    get.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("register + get round trips through the local runner (embedded backend)");
    println!("round trips: {round_trips}, concurrency: {concurrency}, wall time: {:.2} s", wall.as_secs_f64());
    println!(
        "throughput: {:.0} round trips/s ({:.0} requests/s)",
        round_trips as f64 / wall.as_secs_f64(),
        2.0 * round_trips as f64 / wall.as_secs_f64()
    );
    for (name, sorted) in [("round trip", &round_trip), ("register", &register), ("get", &get)] {
        println!(
            "{name:>10}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ms(quantile(sorted, 0.50)),
            ms(quantile(sorted, 0.99)),
            ms(quantile(sorted, 1.0))
        );
    }
}

async fn run(base: &str, round_trips: usize, concurrency: usize) -> (Vec<Sample>, Duration) {
    let http = pivota::kernel::http_client::builder().pool_max_idle_per_host(concurrency).build().unwrap();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let workers = (0..concurrency).map(|_| {
        let (http, base, next) = (http.clone(), base.to_owned(), Arc::clone(&next));
        tokio::spawn(async move {
            let mut samples = Vec::new();
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= round_trips {
                    return samples;
                }
                samples.push(round_trip(&http, &base, n).await);
            }
        })
    });
    let samples = futures::future::join_all(workers).await.into_iter().flat_map(Result::unwrap).collect();
    (samples, started.elapsed())
}

async fn round_trip(http: &reqwest::Client, base: &str, n: usize) -> Sample {
    let body = json!({
        "business_name": format!("Bench Shop {n}"),
        "email": format!("bench-{n}@shop.example"),
        "country": "DE",
        "website": "https://shop.example",
    });
    let started = Instant::now();
    let response = http.post(format!("{base}/merchant/register")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201, "register failed");
    let registered: Value = response.json().await.unwrap();
    let register = started.elapsed();

    let (id, key) = (registered["merchant_id"].as_str().unwrap(), registered["api_key"].as_str().unwrap());
    let started = Instant::now();
    let response = http.get(format!("{base}/merchant/{id}")).bearer_auth(key).send().await.unwrap();
    assert_eq!(response.status(), 200, "get failed");
    let _: Value = response.json().await.unwrap();
    Sample { register, get: started.elapsed() }
}
