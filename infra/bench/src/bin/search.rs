//! Product search on the index (`pivota_search::LocalIndexes`): build time, size on disk, warm latency.
//!
//! `cargo run --release -p pivota-bench --bin search -- [--products N] [--queries Q] [--skip-million]`
//!
//! For a synthetic catalog of `N` products (default 100,000), then of 1,000,000 (unless `--skip-million`,
//! or `N` is already that large):
//! 1. Build: the whole catalog in one `replace_all` (the rebuild path): wall time, products/s, the index's
//!    size on disk and its file count.
//! 2. Incremental: 20 `apply` calls of 500 upserts each (the index queue's path): p50 and max per call.
//! 3. Queries: `Q` searches (default 2,000) after 200 unmeasured ones, cycling through one word, two
//!    words, an exact SKU and a word misspelt by one edit, each alone and with a filter (store, in stock,
//!    price range), 20 per page. Latency p50/p99/max per kind and overall, with the mean number of matches.
//!
//! 4. Baseline (the first catalog only, unless `--skip-baseline`): the same catalog written to the embedded
//!    table as products, and `BASELINE_QUERIES` of the same kinds through the scan search Pivota had before
//!    the index ([`pivota_bench::scan_search`]): the time until a client has its first page of matches,
//!    following "nothing yet, continue" cursors, and how many requests that took. The scan had no typo
//!    tolerance nor in-stock or price filters: its misspelt queries walk the whole catalog, and its
//!    filtered rows filter by store only.
//!
//! The catalog and the queries are deterministic: see [`pivota_bench::catalog`].

use std::path::Path;
use std::time::{Duration, Instant};

use pivota::ports::{IndexChange, SearchIndex, SearchQuery};
use pivota_bench::catalog::{self, COLOURS, NOUNS, Rng, STORES};
use pivota_bench::quantile;
use pivota_search::LocalIndexes;

const DEFAULT_PRODUCTS: usize = 100_000;
const MILLION: usize = 1_000_000;
const DEFAULT_QUERIES: usize = 2_000;
const WARMUP_QUERIES: usize = 200;
const PAGE: u32 = 20;
const APPLY_CALLS: usize = 20;
const APPLY_BATCH: usize = 500;
const MERCHANT: &str = "mer_bench";
/// The scan reads the whole catalog for a query that matches nothing: a few dozen queries tell its story.
const BASELINE_QUERIES: usize = 48;

#[derive(Clone, Copy)]
enum Kind {
    OneWord,
    TwoWords,
    ExactSku,
    Misspelt,
}

const KINDS: [Kind; 4] = [Kind::OneWord, Kind::TwoWords, Kind::ExactSku, Kind::Misspelt];
const FILTERS: [&str; 4] = ["", "store", "in stock", "price"];

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::OneWord => "one word",
            Kind::TwoWords => "two words",
            Kind::ExactSku => "exact SKU",
            Kind::Misspelt => "misspelt word",
        }
    }

    fn text(self, rng: &mut Rng, products: usize) -> String {
        match self {
            Kind::OneWord => rng.word(NOUNS).into(),
            Kind::TwoWords => format!("{} {}", rng.word(COLOURS), rng.word(NOUNS)),
            Kind::ExactSku => format!("sku-{:06}-1", rng.below(products)),
            Kind::Misspelt => loop {
                let word = rng.word(NOUNS);
                if word.len() >= 5 {
                    break catalog::misspelt(rng, word);
                }
            },
        }
    }
}

fn query(rng: &mut Rng, kind: Kind, filter: &str, products: usize) -> SearchQuery {
    let mut query =
        SearchQuery { text: Some(kind.text(rng, products)), limit: PAGE, default_threshold: 5, ..Default::default() };
    match filter {
        "store" => query.store_id = Some(rng.pick(&STORES).into()),
        "in stock" => query.in_stock = Some(true),
        "price" => (query.price_min, query.price_max) = (Some(1_000), Some(5_000)),
        _ => {}
    }
    query
}

struct Row {
    label: String,
    latencies: Vec<Duration>,
    matches: u64,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut products, mut queries, mut million, mut baseline) = (DEFAULT_PRODUCTS, DEFAULT_QUERIES, true, true);
    while let Some(arg) = args.next() {
        let mut number = || args.next().and_then(|n| n.replace('_', "").parse().ok()).expect("a number after the flag");
        match arg.as_str() {
            "--products" => products = number(),
            "--queries" => queries = number(),
            "--skip-million" => million = false,
            "--skip-baseline" => baseline = false,
            other => panic!("unknown argument {other:?}"),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut sizes = vec![products];
    if million && products < MILLION {
        sizes.push(MILLION);
    }
    for size in &sizes {
        runtime.block_on(run(*size, queries));
    }
    if baseline {
        runtime.block_on(scan_baseline(sizes[0]));
    }
}

async fn run(products: usize, queries: usize) {
    let root = tempfile::tempdir().expect("a temporary directory");
    let indexes = LocalIndexes::new(root.path().to_owned());
    println!("\n## {products} products");

    let docs = catalog::products(42, products, 0);
    let started = Instant::now();
    indexes.replace_all(MERCHANT, docs).await.expect("the build");
    let build = started.elapsed();
    let (bytes, files) = size_on_disk(&root.path().join(MERCHANT));
    println!(
        "build (one replace_all): {:.1} s, {:.0} products/s; on disk {:.1} MiB in {files} files ({:.0} bytes/product)",
        build.as_secs_f64(),
        products as f64 / build.as_secs_f64(),
        bytes as f64 / 1_048_576.0,
        bytes as f64 / products as f64,
    );

    let mut apply_times = Vec::new();
    for call in 0..APPLY_CALLS {
        let changes =
            catalog::products(7 + call as u64, APPLY_BATCH, call * APPLY_BATCH).into_iter().map(IndexChange::Upsert);
        let started = Instant::now();
        indexes.apply(MERCHANT, changes.collect()).await.expect("an apply");
        apply_times.push(started.elapsed());
    }
    apply_times.sort();
    println!(
        "apply of {APPLY_BATCH} upserts (commit included): p50 {:.1} ms, max {:.1} ms over {APPLY_CALLS} calls",
        ms(quantile(&apply_times, 0.5)),
        ms(*apply_times.last().unwrap()),
    );

    let mut rng = Rng(2024);
    let mut rows: Vec<Row> = KINDS
        .iter()
        .flat_map(|kind| FILTERS.map(|filter| (kind, filter)))
        .map(|(kind, filter)| Row {
            label: if filter.is_empty() { kind.label().into() } else { format!("{} + {filter}", kind.label()) },
            latencies: Vec::new(),
            matches: 0,
        })
        .collect();
    for n in 0..WARMUP_QUERIES + queries {
        let (kind, filter) = (n % KINDS.len(), n / KINDS.len() % FILTERS.len());
        let search = query(&mut rng, KINDS[kind], FILTERS[filter], products);
        let started = Instant::now();
        let hits = indexes.search(MERCHANT, &search).await.expect("a search");
        let took = started.elapsed();
        if n >= WARMUP_QUERIES {
            let row = &mut rows[kind * FILTERS.len() + filter];
            row.latencies.push(took);
            row.matches += hits.total;
        }
    }
    let all = Row {
        label: "all".into(),
        latencies: rows.iter().flat_map(|row| row.latencies.iter().copied()).collect(),
        matches: rows.iter().map(|row| row.matches).sum(),
    };
    println!("\n| query | n | p50 ms | p99 ms | max ms | mean matches |\n|---|---:|---:|---:|---:|---:|");
    for row in rows.iter_mut().chain([all].iter_mut()) {
        row.latencies.sort();
        println!(
            "| {} | {} | {:.2} | {:.2} | {:.2} | {:.0} |",
            row.label,
            row.latencies.len(),
            ms(quantile(&row.latencies, 0.5)),
            ms(quantile(&row.latencies, 0.99)),
            ms(row.latencies.last().copied().unwrap_or_default()),
            row.matches as f64 / row.latencies.len().max(1) as f64,
        );
    }
}

/// The same catalog and kinds of query through the scan search that came before the index.
async fn scan_baseline(products: usize) {
    use pivota::onboarding::merchant::MerchantId;
    use pivota_bench::scan_search::{self, ScanFilter};
    let dir = tempfile::tempdir().expect("a temporary directory");
    let backend = pivota_embedded::EmbeddedBackend::open(dir.path()).expect("the embedded backend");
    let app = pivota::app::App::new(backend.ports(), pivota::settings::Settings::default());
    let merchant_id = MerchantId::parse("mer_01KBENCH000000000000000000").expect("a merchant id");
    let started = Instant::now();
    scan_search::write_catalog(&app, &merchant_id, &catalog::products(42, products, 0)).await.expect("the catalog");
    println!(
        "\n## Baseline: the scan search over the same {products} products (written to the table in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let mut rng = Rng(2024);
    let mut rows: Vec<(String, Vec<Duration>, usize)> = Vec::new();
    for n in 0..BASELINE_QUERIES {
        let (kind, filtered) = (KINDS[n % KINDS.len()], n / KINDS.len() % 2 == 1);
        let filter = ScanFilter {
            query: Some(kind.text(&mut rng, products)),
            store_id: filtered.then(|| rng.pick(&STORES).to_owned()),
            low_stock: None,
        };
        let started = Instant::now();
        let (requests, _) =
            scan_search::first_matches(&app, &merchant_id, &filter, PAGE as usize).await.expect("a scan");
        let label = if filtered { format!("{} + store", kind.label()) } else { kind.label().to_owned() };
        match rows.iter_mut().find(|row| row.0 == label) {
            Some(row) => {
                row.1.push(started.elapsed());
                row.2 += requests;
            }
            None => rows.push((label, vec![started.elapsed()], requests)),
        }
    }
    println!("\n| query (scan) | n | p50 ms | p99 ms | mean requests to a first page |\n|---|---:|---:|---:|---:|");
    let all: Vec<Duration> = rows.iter().flat_map(|row| row.1.iter().copied()).collect();
    let requests: usize = rows.iter().map(|row| row.2).sum();
    rows.push(("all".into(), all, requests));
    for (label, latencies, requests) in &mut rows {
        latencies.sort();
        println!(
            "| {label} | {} | {:.1} | {:.1} | {:.1} |",
            latencies.len(),
            ms(quantile(latencies, 0.5)),
            ms(quantile(latencies, 0.99)),
            *requests as f64 / latencies.len() as f64
        );
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1_000.0
}

fn size_on_disk(dir: &Path) -> (u64, usize) {
    std::fs::read_dir(dir)
        .expect("the index directory")
        .filter_map(|entry| entry.ok()?.metadata().ok())
        .filter(|metadata| metadata.is_file())
        .fold((0, 0), |(bytes, files), metadata| (bytes + metadata.len(), files + 1))
}
