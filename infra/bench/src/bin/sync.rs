//! Catalog sync of a Shopify store through the `sync-worker` handler, on the embedded backend, against the
//! local fake of Shopify's Admin GraphQL API.
//!
//! `cargo run --release -p pivota-bench --bin sync -- [products=100000] [paced_products=2000]`
//! `cargo run --release -p pivota-bench --bin sync -- woocommerce-throttled [products=250]`
//! `cargo run --release -p pivota-bench --bin sync -- removal [products=1000000] [removed_percent=10]`
//!
//! 1. A full sync of `products` products from a shop whose cost bucket never makes the worker wait, so
//!    only Pivota's own speed counts: wall time, products/s, pages, and the worker's peak RSS.
//! 2. A re-sync of the unchanged catalog: no product's content should be written (each product's
//!    `seen_by_job` stamp is).
//! 3. Rate-limit exactness: `paced_products` products from a shop with a 1000-point bucket restoring 100
//!    points/s. The reachable rate is the restore rate divided by the points the bucket keeps per product;
//!    the sync should reach ≥ 95 % of it with no `THROTTLED` answer.
//!
//! `woocommerce-throttled` runs one other part instead: a WooCommerce catalog with variations (every 5th
//! product variable, three variations) behind a host that answers every 4th request 429 with `Retry-After: 1`.
//! It must sync completely; it prints the wall time against the bounds the `Retry-After`s set: the waits they
//! impose in all (throttled answers × 1 s, what a client sending one request at a time pays), and that sum
//! spread over the most requests WooCommerce's client has in flight at once (4 variation reads), below which
//! no client that honours `Retry-After` can go.
//!
//! `removal` runs a full sync of `products` products, then removes `removed_percent` % of them from the shop
//! (evenly spread) and syncs again: the re-sync's removal pass walks the store's index from a checkpoint and
//! removes what its pages did not stamp. It prints each run's wall time and the worker's peak RSS, which
//! must stay within the target whatever the catalog's size (the removal pass holds no set of ids).
//!
//! The worker runs in a child process (see [`pivota_bench::sync_worker_process`]), so its `VmHWM` holds
//! neither the fake shop nor the setup. The target is ≤ 64 MB, half of the function's 128 MB.

use std::path::Path;
use std::time::Duration;

use pivota::app::App;
use pivota::catalog::sync::{self, JobState};
use pivota::kernel::secret::{SecretString, random_token};
use pivota::onboarding::merchant::{MerchantId, Registration, RegistrationRequest};
use pivota::ports::KycWaitInput;
use pivota::stores::platforms::{Platform, StoreCredentials};
use pivota::stores::{self, StoreConnectCommand, SyncProgress};
use pivota_bench::sync_worker_process::{self, WORKER_FLAG, WorkerReport};
use pivota_fakes::{
    DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET, FakeFailure, FakeShop, FakeShopify, FakeWooCommerce,
};

/// A bucket the full sync never waits on: 100,000 points restoring 100,000 a second.
const ROOMY_BUCKET: (f64, f64) = (100_000.0, 100_000.0);
/// Shopify's standard plan bucket size, restoring 100 points/s (Advanced's rate).
const PACED_BUCKET: (f64, f64) = (1000.0, 100.0);
const MEMORY_TARGET_MIB: f64 = 64.0;
/// The argument that runs the throttled WooCommerce part.
const WOOCOMMERCE_THROTTLED: &str = "woocommerce-throttled";
/// The argument that runs the full sync then the re-sync that removes part of the catalog.
const REMOVAL: &str = "removal";
/// The host in front of the WooCommerce store: every 4th request is answered 429 with `Retry-After: 1`.
const THROTTLE_EVERY: usize = 4;
const THROTTLE_RETRY_AFTER: Duration = Duration::from_secs(1);
/// The most requests the WooCommerce client has in flight at once (its parallel variation reads).
const WOOCOMMERCE_CONCURRENCY: u32 = 4;
const EXACTNESS_TARGET: f64 = 0.95;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(WORKER_FLAG) {
        sync_worker_process::worker_main(&args[1..]);
        return;
    }
    let number = |index: usize, default: usize| {
        args.get(index).map_or(default, |arg| arg.parse().unwrap_or_else(|_| panic!("`{arg}` is not a number")))
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let missed = if args.first().map(String::as_str) == Some(WOOCOMMERCE_THROTTLED) {
        runtime.block_on(woocommerce_throttled(number(1, 250) as u64))
    } else if args.first().map(String::as_str) == Some(REMOVAL) {
        runtime.block_on(removal(number(1, 1_000_000), number(2, 10)))
    } else {
        runtime.block_on(bench(number(0, 100_000), number(1, 2000)))
    };
    if missed > 0 {
        println!("\n{missed} target(s) missed.");
        std::process::exit(1);
    }
}

/// One merchant on a fresh embedded backend.
struct Bench {
    app: App,
    merchant_id: MerchantId,
    data_dir: tempfile::TempDir,
}

impl Bench {
    async fn new() -> Self {
        let data_dir = tempfile::tempdir().expect("a temporary data directory");
        let app = sync_worker_process::embedded_app(data_dir.path()).await;
        let settings = &app.settings;
        app.secrets.put(&settings.api_key_pepper_secret_id, &random_token(32)).await.unwrap();
        app.secrets.put(&settings.admin_token_secret_id, &SecretString::from("bench-admin-token")).await.unwrap();
        let request = RegistrationRequest {
            business_name: Some("Bench Outdoor GmbH".into()),
            email: Some("sync-bench@shop.example".into()),
            country: Some("DE".into()),
            website: Some("https://shop.example".into()),
        };
        let registration = Registration::try_from(request).expect("a valid registration");
        let merchant_id = pivota::onboarding::register(&app, registration).await.unwrap().merchant.id;
        let kyc = KycWaitInput { merchant_id: merchant_id.to_string(), wait_seconds: 0 };
        pivota::onboarding::kyc_task::handle(&app, kyc).await.expect("the KYC task runs");
        Self { app, merchant_id, data_dir }
    }

    async fn connect(&self, fake: &FakeShopify) -> String {
        let credentials = StoreCredentials {
            api_token: fake.access_token().into(),
            consumer_key: None,
            consumer_secret: None,
            site_id: None,
            webhook_secret: Some(fake.client_secret().into()),
        };
        self.connect_store(Platform::Shopify, &fake.uri(), credentials).await
    }

    async fn connect_woocommerce(&self, fake: &FakeWooCommerce) -> String {
        let credentials = StoreCredentials {
            api_token: "".into(),
            consumer_key: Some(DEFAULT_CONSUMER_KEY.into()),
            consumer_secret: Some(DEFAULT_CONSUMER_SECRET.into()),
            site_id: None,
            webhook_secret: None,
        };
        self.connect_store(Platform::WooCommerce, &fake.uri(), credentials).await
    }

    async fn connect_store(&self, platform: Platform, uri: &str, credentials: StoreCredentials) -> String {
        let command =
            StoreConnectCommand { platform, store_url: url::Url::parse(uri).unwrap(), credentials, mode: None };
        stores::connect(&self.app, &self.merchant_id, pivota::payments::connectors::PspMode::Test, command)
            .await
            .expect("the store connects")
            .store_id
    }

    /// Queues a sync of the store and runs it to the end in a worker process.
    async fn sync(&self, store_id: &str) -> (SyncProgress, WorkerReport) {
        let (job, created) = sync::start(&self.app, &self.merchant_id, store_id).await.unwrap();
        assert!(created, "a new job");
        let report = sync_worker_process::run_in_child(self.data_dir.path(), &self.merchant_id, &job.job_id).await;
        let job = sync::get_job(&self.app, &self.merchant_id, &job.job_id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Succeeded, "the job failed: {:?}", job.error);
        (job.progress, report)
    }
}

async fn bench(products: usize, paced_products: usize) -> u32 {
    let mut missed = 0;
    let bench = Bench::new().await;
    let data_dir: &Path = bench.data_dir.path();
    println!("Catalog sync benchmark: sync-worker handler, embedded backend ({}), fake Shopify", data_dir.display());
    println!(
        "worker: a child process, one SQS message per invocation, {:?} deadline",
        sync_worker_process::INVOCATION_TIMEOUT
    );

    // 1. Full sync, only our own speed counting.
    let fake =
        FakeShopify::start(FakeShop::default().with_products(products).with_bucket(ROOMY_BUCKET.0, ROOMY_BUCKET.1))
            .await;
    let store_id = bench.connect(&fake).await;
    let (progress, worker) = bench.sync(&store_id).await;
    println!(
        "\n1. Full sync of {products} products (bucket {} points, {} points/s: never waits)",
        ROOMY_BUCKET.0, ROOMY_BUCKET.1
    );
    print_run(&progress, &worker);
    println!("   pages served by the fake: {}, THROTTLED: {}", fake.pages_served(), fake.throttled());
    missed += memory_verdict(&worker);
    missed += verdict(
        "all products seen",
        progress.products_seen == products as u64,
        &format!("{} of {products}", progress.products_seen),
    );

    // 2. Re-sync of the unchanged catalog.
    let (progress, worker) = bench.sync(&store_id).await;
    println!("\n2. Re-sync of the unchanged catalog");
    print_run(&progress, &worker);
    missed += memory_verdict(&worker);
    missed += verdict("items written", progress.written == 0, &format!("{}, target 0", progress.written));
    missed +=
        verdict("unchanged", progress.unchanged == products as u64, &format!("{} of {products}", progress.unchanged));

    // 3. Rate-limit exactness.
    let (bucket, restore_rate) = PACED_BUCKET;
    let fake =
        FakeShopify::start(FakeShop::default().with_products(paced_products).with_bucket(bucket, restore_rate)).await;
    let store_id = bench.connect(&fake).await;
    let (charged_before, requested_before) = (fake.points_charged(), fake.points_requested());
    let (progress, worker) = bench.sync(&store_id).await;
    println!(
        "\n3. Rate-limit exactness: {paced_products} products, bucket {bucket} points restoring {restore_rate} points/s"
    );
    print_run(&progress, &worker);
    let pages = fake.pages_served() as f64;
    let charged = (fake.points_charged() - charged_before) as f64;
    let requested_per_page = (fake.points_requested() - requested_before) as f64 / pages;
    let per_product = charged / paced_products as f64;
    let reached = paced_products as f64 / worker.elapsed.as_secs_f64();
    let steady_max = restore_rate / per_product;
    println!(
        "   fake: {pages} pages, {charged} points charged (actualQueryCost), {requested_per_page:.0} points requested per page"
    );
    println!("   actual cost per product = {charged} / {paced_products} = {per_product:.3} points");
    println!(
        "   theoretical max = restore rate / actual cost per product = {restore_rate} / {per_product:.3} = {steady_max:.2} products/s"
    );
    println!("   reached {reached:.2} products/s = {:.1} % of it", 100.0 * reached / steady_max);
    // The full bucket at the start lends some points, but each page may only start once the bucket holds
    // its requested cost: the last page starts at the earliest when bucket − requested + restore × t covers
    // the points charged by the pages before it.
    let before_last = charged - charged / pages;
    let earliest_last = (before_last - (bucket - requested_per_page)) / restore_rate;
    let best_pace = earliest_last / worker.elapsed.as_secs_f64();
    println!(
        "   with the initial bucket counted: the last page can start at {earliest_last:.1} s at the earliest \
         (({before_last:.0} − ({bucket} − {requested_per_page:.0})) / {restore_rate}); the job finished at {:.1} s",
        worker.elapsed.as_secs_f64(),
    );
    missed += verdict(
        "exactness",
        reached / steady_max >= EXACTNESS_TARGET,
        &format!(
            "{:.1} % of the theoretical max, target ≥ {:.0} %",
            100.0 * reached / steady_max,
            100.0 * EXACTNESS_TARGET
        ),
    );
    missed += verdict(
        "pace with the initial bucket counted",
        best_pace >= EXACTNESS_TARGET,
        &format!("{:.1} % of the best pace, target ≥ {:.0} %", 100.0 * best_pace, 100.0 * EXACTNESS_TARGET),
    );
    missed += verdict("THROTTLED answers", fake.throttled() == 0, &format!("{}, target 0", fake.throttled()));
    missed
}

/// A full sync of `products`, then a re-sync after `removed_percent` % of them left the shop.
async fn removal(products: usize, removed_percent: usize) -> u32 {
    let mut missed = 0;
    let bench = Bench::new().await;
    println!(
        "Catalog sync with removal: sync-worker handler in a child process, embedded backend ({}), fake Shopify",
        bench.data_dir.path().display()
    );
    let fake =
        FakeShopify::start(FakeShop::default().with_products(products).with_bucket(ROOMY_BUCKET.0, ROOMY_BUCKET.1))
            .await;
    let store_id = bench.connect(&fake).await;
    let (progress, full) = bench.sync(&store_id).await;
    println!("\n1. Full sync of {products} products");
    print_run(&progress, &full);
    missed += memory_verdict(&full);
    missed += verdict(
        "all products seen",
        progress.products_seen == products as u64,
        &format!("{} of {products}", progress.products_seen),
    );

    let every = 100 / removed_percent.clamp(1, 100);
    let gone = (0..products).step_by(every).inspect(|index| fake.remove_product(*index)).count();
    let (progress, resync) = bench.sync(&store_id).await;
    println!("\n2. Re-sync after {gone} products ({removed_percent} %, every {every}th) left the shop");
    print_run(&progress, &resync);
    missed += memory_verdict(&resync);
    missed += verdict("removed", progress.removed == gone as u64, &format!("{} of {gone}", progress.removed));
    missed += verdict(
        "products seen",
        progress.products_seen == (products - gone) as u64,
        &format!("{} of {}", progress.products_seen, products - gone),
    );
    let total = full.elapsed + resync.elapsed;
    let peak = mib(full.hwm_after_kib.max(resync.hwm_after_kib));
    println!(
        "\nTotal: {:.1} s ({:.1} s full sync + {:.1} s re-sync with removal); worker peak RSS {peak:.1} MiB \
         (target ≤ {MEMORY_TARGET_MIB} MiB)",
        total.as_secs_f64(),
        full.elapsed.as_secs_f64(),
        resync.elapsed.as_secs_f64()
    );
    missed
}

/// A WooCommerce catalog with variations behind steady throttling: it syncs completely, and how long that
/// takes against the bounds the `Retry-After`s set.
async fn woocommerce_throttled(products: u64) -> u32 {
    let bench = Bench::new().await;
    let fake = FakeWooCommerce::start().await.with_products(products);
    let store_id = bench.connect_woocommerce(&fake).await;
    fake.fail_every(THROTTLE_EVERY, FakeFailure::Http429 { retry_after: Some(THROTTLE_RETRY_AFTER) });
    let (requests_before, currency_reads_before) = (fake.requests(), fake.currency_reads());
    let (progress, worker) = bench.sync(&store_id).await;
    let requests = fake.requests() - requests_before;
    let throttled = fake.failures_injected() as u32;
    println!(
        "WooCommerce catalog sync under steady throttling: sync-worker handler in a child process, embedded backend, \
         fake WooCommerce ({products} products, {} variants; every 5th product variable)",
        fake.variant_count()
    );
    println!(
        "host: every {THROTTLE_EVERY}th request answered 429 with Retry-After: {}",
        THROTTLE_RETRY_AFTER.as_secs()
    );
    print_run(&progress, &worker);
    let waits = THROTTLE_RETRY_AFTER * throttled;
    let floor = waits / WOOCOMMERCE_CONCURRENCY;
    let wall = worker.elapsed.as_secs_f64();
    println!(
        "   requests {requests} ({} answered, {throttled} throttled), currency reads {}",
        requests - throttled as usize,
        fake.currency_reads() - currency_reads_before
    );
    println!(
        "   Retry-After bound: {throttled} throttled × {} s = {:.0} s of waiting in all; at most \
         {WOOCOMMERCE_CONCURRENCY} requests in flight, so no client honouring it finishes in under {:.2} s",
        THROTTLE_RETRY_AFTER.as_secs(),
        waits.as_secs_f64(),
        floor.as_secs_f64()
    );
    println!(
        "   wall time {wall:.2} s = {:.2} × the waiting in all, {:.2} × the floor",
        wall / waits.as_secs_f64(),
        wall / floor.as_secs_f64()
    );
    verdict(
        "the catalog synced completely",
        progress.products_seen == products,
        &format!("{} of {products} products", progress.products_seen),
    )
}

fn print_run(progress: &SyncProgress, worker: &WorkerReport) {
    let seconds = worker.elapsed.as_secs_f64();
    println!(
        "   wall time {seconds:.2} s, {:.0} products/s, {} pages, {} invocation(s) ({} failed)",
        progress.products_seen as f64 / seconds,
        progress.pages,
        worker.invocations,
        worker.failed_invocations
    );
    println!(
        "   written {}, unchanged {}, removed {}, errors {}",
        progress.written, progress.unchanged, progress.removed, progress.errors
    );
    println!(
        "   worker peak RSS (VmHWM): {:.1} MiB before the first message, {:.1} MiB after the job (+{:.1} MiB); \
         VmRSS at the end {:.1} MiB",
        mib(worker.hwm_before_kib),
        mib(worker.hwm_after_kib),
        mib(worker.hwm_after_kib.saturating_sub(worker.hwm_before_kib)),
        mib(worker.rss_after_kib)
    );
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn memory_verdict(worker: &WorkerReport) -> u32 {
    let peak = mib(worker.hwm_after_kib);
    verdict("worker peak RSS", peak <= MEMORY_TARGET_MIB, &format!("{peak:.1} MiB, target ≤ {MEMORY_TARGET_MIB} MiB"))
}

fn verdict(what: &str, met: bool, detail: &str) -> u32 {
    println!("   {} {what}: {detail}", if met { "[ok]    " } else { "[MISSED]" });
    u32::from(!met)
}
