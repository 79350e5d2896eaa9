//! The console in a real browser: the local runner with fake Stripe and Shopify servers, and the journey
//! of `infra/e2e/console.mjs` in Debian's headless Chromium driven by playwright-core.
//!
//! Needs `/usr/bin/chromium` and `infra/e2e/node_modules` (`infra/scripts/test.sh` installs both). The
//! screenshots go to `$PIVOTA_SCREENSHOT_DIR`, else `target/console-screenshots`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use pivota_fakes::{FakeShop, FakeShopify, FakeStripe};

use crate::fixtures::{ADMIN_TOKEN, Runner};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_console_journey_in_headless_chromium() {
    let root = repo_root();
    let chromium = std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: install Debian's chromium (infra/scripts/test.sh does)"
    );
    assert!(
        root.join("infra/e2e/node_modules/playwright-core").exists(),
        "playwright-core is missing: run `npm ci` in infra/e2e (infra/scripts/test.sh does)"
    );
    let stripe = FakeStripe::start().await;
    let shopify = FakeShopify::start(FakeShop::default().with_products(30)).await;
    let dir = tempfile::tempdir().unwrap();
    let runner = Runner::start_with(
        dir.path(),
        2,
        &[("PIVOTA_STRIPE_API_BASE", stripe.uri()), ("PIVOTA_PUBLIC_BASE_URL", "https://hooks.pivota.example".into())],
    );
    let screenshots = std::env::var("PIVOTA_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target/console-screenshots"));
    let run = tokio::process::Command::new("node")
        .arg(root.join("infra/e2e/console.mjs"))
        .env("CONSOLE_BASE_URL", &runner.base)
        .env("SHOPIFY_URL", shopify.uri())
        .env("SHOPIFY_TOKEN", shopify.access_token())
        .env("SHOPIFY_SECRET", shopify.client_secret())
        .env("ADMIN_TOKEN", ADMIN_TOKEN)
        .env("SCREENSHOT_DIR", &screenshots)
        .env("CHROMIUM_PATH", &chromium)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(300), run).await.expect("the journey ends within 5 minutes");
    let output = output.expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the console journey failed (screenshots in {}):\n{stdout}\n{stderr}\n--- runner log (tail) ---\n{}",
        screenshots.display(),
        tail(&runner.logs(), 40)
    );
    assert!(stdout.contains("console journey: all steps passed"), "{stdout}");
    // What the browser did happened on the store's side too: the order marked paid, and the webhooks
    // (three, the page showed) removed again by the disconnect.
    assert_eq!(shopify.orders_marked_paid(), vec!["gid://shopify/Order/450789469".to_owned()]);
    assert!(shopify.subscriptions().is_empty(), "{:?}", shopify.subscriptions());
    runner.terminate();
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
