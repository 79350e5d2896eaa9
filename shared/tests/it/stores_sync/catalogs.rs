//! Each platform's catalog synced through the sync worker: Shopify re-synced writing only changes,
//! WooCommerce paged, throttled and handed over between invocations, Wix V3 across invocations.

use std::time::Duration;

use pivota_fakes::{FakeFailure, FakeShop, FakeShopify, FakeWix, FakeWooCommerce, WixCatalog};
use serde_json::{Value, json};

use super::merchant;
use crate::fixtures::{Backend, Merchant, stores};

on_both_backends!(
    a_shopify_catalog_syncs_then_resyncs_writing_only_changes,
    a_woocommerce_catalog_pages_through_every_product,
    a_steadily_throttled_woocommerce_catalog_with_variations_syncs_completely,
    a_woocommerce_wait_past_the_deadline_hands_the_rest_to_the_next_invocation,
    a_wix_v3_catalog_syncs_across_invocations_and_a_resync_applies_edits_and_deletions,
);

/// The store's products are the fake's `n`, each with its variants' prices and stock.
async fn assert_woocommerce_catalog(m: &Merchant, store_id: &str, n: u64) {
    let synced = m.products_of(store_id).await;
    assert_eq!(synced.len() as u64, n);
    for id in 1..=n {
        let external_id = id.to_string();
        let product = synced.iter().find(|p| p["external_id"].as_str() == Some(&external_id)).expect("synced");
        let variants: Vec<(String, i64, Option<i64>)> = product["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                let id = v["variant_id"].as_str().unwrap().to_owned();
                (id, v["price_minor"].as_i64().unwrap(), v["inventory_quantity"].as_i64())
            })
            .collect();
        assert_eq!(variants, FakeWooCommerce::expected_variants(id), "product {id}");
        assert_eq!(product["currency"], "EUR");
    }
}

async fn a_shopify_catalog_syncs_then_resyncs_writing_only_changes(backend: Backend) {
    let m = merchant(backend, true).await;
    // A bucket that refills ten times faster than Shopify's, so three passes need no rate-limit waits
    // (honouring them is `a_full_pass_that_sleeps_as_told_is_never_throttled_by_a_small_bucket`).
    let shop = FakeShop { restore_rate: 1_000.0, ..FakeShop::default() };
    let fake = FakeShopify::start(shop.with_products(120)).await;
    let store_id = m.connected_store(stores::shopify(&fake)).await;
    let (job, _) = m.sync(&store_id, Duration::from_secs(120)).await;
    assert_eq!(job["progress"]["products_seen"], 120, "{job}");
    assert_eq!(job["progress"]["expected"], 120, "productsCount, for the progress bar: {job}");
    assert_eq!(job["progress"]["written"], 120);
    let (_, stores) = m.get("/stores").await;
    let store = &stores["items"][0];
    assert_eq!((store["connection_status"].as_str(), store["product_count"].as_u64()), (Some("connected"), Some(120)));
    assert!(store["last_sync_at"].is_string());
    assert_eq!(store["last_sync_job"]["state"], "succeeded");

    // Unchanged: nothing is written.
    let (job, _) = m.sync(&store_id, Duration::from_secs(120)).await;
    assert_eq!(
        (job["progress"]["written"].as_u64(), job["progress"]["unchanged"].as_u64()),
        (Some(0), Some(120)),
        "{job}"
    );

    // One price changed, one product gone: one write, one removal.
    fake.update_price(7, 0, "123.45");
    fake.remove_product(9);
    let (job, _) = m.sync(&store_id, Duration::from_secs(120)).await;
    let progress = &job["progress"];
    assert_eq!(
        (progress["written"].as_u64(), progress["removed"].as_u64(), progress["products_seen"].as_u64()),
        (Some(1), Some(1), Some(119)),
        "{job}"
    );
    let (_, removed) = m.get("/products?status=removed").await;
    assert_eq!(removed["items"].as_array().unwrap().len(), 1);
    // A removed product leaves search results (issue 14): two pages list the 119 the store has.
    let (_, first_page) = m.get("/products?limit=100").await;
    let next = first_page["next_cursor"].as_str().unwrap();
    let (_, second_page) = m.get(&format!("/products?limit=100&cursor={next}")).await;
    let all: Vec<&Value> =
        first_page["items"].as_array().unwrap().iter().chain(second_page["items"].as_array().unwrap()).collect();
    assert_eq!(all.len(), 119, "119 listed, the removed one only under status=removed");
    assert_eq!(first_page["total"], 119);
    assert!(all.iter().any(|p| p["variants"][0]["price_minor"] == 12345), "the new price in minor units");
    assert_eq!(fake.throttled(), 0);
}

async fn a_woocommerce_catalog_pages_through_every_product(backend: Backend) {
    let m = merchant(backend, true).await;
    let fake = FakeWooCommerce::start().await.with_products(230);
    let store_id = m.connected_store(stores::woocommerce(&fake)).await;
    let (job, _) = m.sync(&store_id, Duration::from_secs(120)).await;
    assert_eq!(job["progress"]["products_seen"], 230, "{job}");
    assert_eq!(job["progress"]["pages"], 3, "per_page=100: {job}");
    assert_eq!(job["progress"]["expected"], 230, "X-WP-Total, for the progress bar: {job}");
    let (status, problem) = m
        .connect_store(json!({"platform": "woocommerce", "store_url": fake.uri(), "api_token": "ck_wrong:cs_wrong"}))
        .await;
    assert_eq!(status, 400, "{problem}");
    // A site that is not a WooCommerce store (404 on its REST routes): the store is named, not a PSP.
    let (status, problem) = m
        .connect_store(json!({"platform": "woocommerce", "store_url": format!("{}/not-a-shop", fake.uri()), "api_token": "ck_x:cs_y"}))
        .await;
    assert_eq!(status, 502, "{problem}");
    assert_eq!(
        (problem["type"].as_str(), problem["title"].as_str()),
        (Some("/problems/store-unavailable"), Some("Store unavailable"))
    );
}

async fn a_steadily_throttled_woocommerce_catalog_with_variations_syncs_completely(backend: Backend) {
    let m = merchant(backend, true).await;
    let fake = FakeWooCommerce::start().await.with_products(130);
    let store_id = &m.connected_store(stores::woocommerce(&fake)).await;
    // The host in front of the store answers every 4th request 429 with `Retry-After: 1`.
    fake.fail_every(4, FakeFailure::Http429 { retry_after: Some(Duration::from_secs(1)) });
    let (requests, currency_reads) = (fake.requests(), fake.currency_reads());
    let (job, _) = m.sync(store_id, Duration::from_secs(120)).await;
    // Two pages: the currency, 2 lists and 26 variable products' variations are 29 answers.
    assert_eq!(fake.requests() - requests - fake.failures_injected(), 29, "every request answered once");
    assert!(fake.failures_injected() >= 7, "{} throttled answers", fake.failures_injected());
    assert_eq!(fake.currency_reads() - currency_reads, 1, "the currency is a per-job fact, read once");
    assert_eq!(job["progress"]["products_seen"], 130, "{job}");

    assert_woocommerce_catalog(&m, store_id, 130).await;
}

async fn a_woocommerce_wait_past_the_deadline_hands_the_rest_to_the_next_invocation(backend: Backend) {
    let m = merchant(backend, true).await;
    let fake = FakeWooCommerce::start().await.with_products(30);
    let store_id = &m.connected_store(stores::woocommerce(&fake)).await;
    fake.fail_every(4, FakeFailure::Http429 { retry_after: Some(Duration::from_secs(4)) });
    let currency_reads = fake.currency_reads();
    // 13 s an invocation: a 4 s wait does not fit before the worker's 10 s margin, so each throttled answer
    // ends the invocation with what it completed, and a message delayed by the wait carries on.
    let (job, invocations) = m.sync(store_id, Duration::from_secs(13)).await;
    assert!(fake.failures_injected() >= 2, "{} throttled answers", fake.failures_injected());
    assert!(invocations >= 2, "{invocations} invocations");
    assert_eq!(fake.currency_reads() - currency_reads, 1, "the currency is read once per job, across invocations");
    assert_eq!(job["progress"]["products_seen"], 30, "each product once: {job}");
    assert_woocommerce_catalog(&m, store_id, 30).await;
}

async fn a_wix_v3_catalog_syncs_across_invocations_and_a_resync_applies_edits_and_deletions(backend: Backend) {
    let m = merchant(backend, true).await;
    let fake = FakeWix::start().await.with_catalog(WixCatalog::V3).with_products(230);
    let store_id = &m.connected_store(stores::wix(&fake)).await;
    // One page an invocation: Wix's cursor (and the currency) travel in the job between invocations.
    let (job, invocations) = m.sync(store_id, Duration::from_secs(5)).await;
    assert_eq!(job["progress"]["products_seen"], 230, "{job}");
    assert_eq!(job["progress"]["pages"], 3, "100 products a page: {job}");
    assert!(invocations >= 3, "{invocations} invocations");

    fake.edit_product(4, "Renamed", 4200);
    fake.delete_product(5);
    let (job, _) = m.sync(store_id, Duration::from_secs(120)).await;
    let progress = &job["progress"];
    assert_eq!(
        (progress["written"].as_u64(), progress["removed"].as_u64(), progress["products_seen"].as_u64()),
        (Some(1), Some(1), Some(229)),
        "{job}"
    );
    let (_, removed) = m.get("/products?status=removed").await;
    assert_eq!(removed["items"][0]["external_id"], FakeWix::product_id(5), "{removed}");
    let (_, found) = m.get("/products?q=Renamed").await;
    assert_eq!(found["items"][0]["variants"][0]["price_minor"], 4200, "{found}");
    assert_eq!(found["items"][0]["currency"], "USD");
}
