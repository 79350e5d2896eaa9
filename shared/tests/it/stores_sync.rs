//! Store connections and catalog sync through the HTTP API and the sync worker, on both backends, against
//! the local fakes of Shopify, WooCommerce, Wix and a custom store.

use std::time::Duration;

use pivota::settings::Settings;
use pivota::stores::url_safety::StoreUrlPolicy;
use pivota_fakes::{
    DEFAULT_CUSTOM_TOKEN, FakeCustomStore, FakeFailure, FakeShop, FakeShopify, FakeWix, FakeWooCommerce, WixCatalog,
};
use serde_json::{Value, json};

use crate::fixtures::{
    Backend, Merchant, app_on, approved_merchant, call, drain_sync_queue, partition, queue_failing_once, stores,
};

on_both_backends!(
    unsafe_store_urls_are_refused,
    a_custom_store_is_verified_before_anything_is_stored,
    a_shopify_catalog_syncs_then_resyncs_writing_only_changes,
    a_woocommerce_catalog_pages_through_every_product,
    a_steadily_throttled_woocommerce_catalog_with_variations_syncs_completely,
    a_woocommerce_wait_past_the_deadline_hands_the_rest_to_the_next_invocation,
    a_sync_resumes_across_invocations_without_loss_or_duplicates,
    products_are_searched_filtered_and_repriced,
    disconnecting_removes_products_and_credentials_idempotently,
    a_wix_v3_catalog_syncs_across_invocations_and_a_resync_applies_edits_and_deletions,
    a_duplicate_message_of_a_held_job_is_done_and_a_replaced_job_ends,
    the_largest_shopify_product_syncs_in_items_under_the_limit_and_an_unstorable_one_is_skipped,
    the_end_of_sync_removal_resumes_from_its_checkpoint_and_counts_each_product_once,
);

/// An approved merchant on an app whose store URLs may be `http://127.0.0.1:…` if `allow_insecure`.
async fn merchant(backend: Backend, allow_insecure: bool) -> Merchant {
    let settings = Settings { store_urls: StoreUrlPolicy { allow_insecure }, ..Settings::default() };
    Merchant::approved(app_on(backend, settings).await).await
}

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

async fn unsafe_store_urls_are_refused(backend: Backend) {
    let m = merchant(backend, false).await;
    for (platform, url) in [
        ("custom", "http://shop.example.com"),
        ("custom", "https://127.0.0.1:8443"),
        ("custom", "https://169.254.169.254/latest/meta-data"),
        ("custom", "https://localhost"),
        ("shopify", "https://acme.example.com"),
    ] {
        let (status, problem) = m
            .connect_store(json!({"platform": platform, "store_url": url, "api_token": "t", "webhook_secret": "s"}))
            .await;
        assert_eq!(status, 422, "{url}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "store_url", "{url}");
    }
    let (_, stores) = m.get("/stores").await;
    assert_eq!(stores["items"], json!([]));
}

async fn a_custom_store_is_verified_before_anything_is_stored(backend: Backend) {
    let m = merchant(backend, true).await;
    let fake = FakeCustomStore::start().await.with_products(3);
    let (status, problem) =
        m.connect_store(json!({"platform": "custom", "store_url": fake.uri(), "api_token": "wrong-token"})).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "api_token");
    assert_eq!(
        (problem["type"].as_str(), problem["title"].as_str()),
        (Some("/problems/store-rejected"), Some("Rejected by the store"))
    );
    assert!(!problem.to_string().contains("wrong-token"));
    let (_, stores) = m.get("/stores").await;
    assert_eq!(stores["items"], json!([]));
    let (status, store) = m.connect_store(stores::custom(&fake)).await;
    assert_eq!(status, 201, "{store}");
    assert_eq!(store["connection_status"], "connected");
    assert!(store["store_name"].as_str().is_some_and(|n| !n.is_empty()));
    for item in partition(&m.test.app, &format!("MERCHANT#{}", m.id)).await {
        assert!(
            !serde_json::to_string(&item.attrs).unwrap().contains(DEFAULT_CUSTOM_TOKEN),
            "a token in {:?}",
            item.key
        );
    }
    // Several stores per merchant.
    assert_eq!(m.connect_store(stores::custom(&fake)).await.0, 201);
    assert_eq!(m.get("/stores").await.1["items"].as_array().unwrap().len(), 2);
}

async fn a_shopify_catalog_syncs_then_resyncs_writing_only_changes(backend: Backend) {
    let m = merchant(backend, true).await;
    let fake = FakeShopify::start(FakeShop::default().with_products(120)).await;
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
    let (_, first_page) = m.get("/products?limit=100").await;
    let next = first_page["next_cursor"].as_str().unwrap();
    let (_, second_page) = m.get(&format!("/products?limit=100&cursor={next}")).await;
    let all: Vec<&Value> =
        first_page["items"].as_array().unwrap().iter().chain(second_page["items"].as_array().unwrap()).collect();
    assert_eq!(all.len(), 120, "119 listed and 1 removed");
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

async fn a_sync_resumes_across_invocations_without_loss_or_duplicates(backend: Backend) {
    let m = merchant(backend, true).await;
    let fake = FakeShopify::start(FakeShop::default().with_products(160)).await;
    let store_id = m.connected_store(stores::shopify(&fake)).await;
    // Each invocation has less than the worker's safety margin: one page, then a continuation message.
    let (job, invocations) = m.sync(&store_id, Duration::from_secs(5)).await;
    let pages = job["progress"]["pages"].as_u64().unwrap();
    assert!(pages >= 2 && invocations as u64 >= pages, "{invocations} invocations for {pages} pages");
    assert_eq!(
        (job["progress"]["products_seen"].as_u64(), job["progress"]["written"].as_u64()),
        (Some(160), Some(160)),
        "{job}"
    );
    let (_, all) = m.get(&format!("/products?store_id={store_id}&limit=100")).await;
    let (_, rest) = m
        .get(&format!("/products?store_id={store_id}&limit=100&cursor={}", all["next_cursor"].as_str().unwrap()))
        .await;
    assert_eq!(all["items"].as_array().unwrap().len() + rest["items"].as_array().unwrap().len(), 160);
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

async fn products_are_searched_filtered_and_repriced(backend: Backend) {
    let m = merchant(backend, true).await;
    let fake = FakeCustomStore::start().await.with_products(30);
    let store_id = m.connected_store(stores::custom(&fake)).await;
    m.sync(&store_id, Duration::from_secs(60)).await;
    let (_, all) = m.get("/products?limit=100").await;
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 30);
    let first = &items[0];
    let title = first["title"].as_str().unwrap();
    let (_, found) = m.get(&format!("/products?q={}", url_escape(&title.to_uppercase()))).await;
    assert!(
        found["items"].as_array().unwrap().iter().any(|p| p["product_id"] == first["product_id"]),
        "search is case-insensitive"
    );
    if let Some(sku) = first["variants"][0]["sku"].as_str() {
        let (_, by_sku) = m.get(&format!("/products?q={}", url_escape(sku))).await;
        assert!(by_sku["items"].as_array().unwrap().iter().any(|p| p["product_id"] == first["product_id"]));
    }

    // Low stock against the store's threshold, which the merchant sets.
    let (_, low) = m.get("/products?low_stock=true&limit=100").await;
    let low_count = low["items"].as_array().unwrap().len();
    assert!(low["items"].as_array().unwrap().iter().all(|p| p["low_stock"] == true));
    let (status, _) = call(&m.test.app, "PATCH", &format!("/merchant/{}/store/{store_id}", m.id))
        .bearer(&m.key)
        .json(json!({"low_stock_threshold": 1_000_000}))
        .send()
        .await;
    assert_eq!(status, 200);
    let (_, everything_low) = m.get("/products?low_stock=true&limit=100").await;
    assert!(everything_low["items"].as_array().unwrap().len() >= low_count);

    // A price kept in Pivota, validated, and kept across a sync.
    let product_id = first["product_id"].as_str().unwrap();
    let variant_id = first["variants"][0]["variant_id"].as_str().unwrap();
    let patch = |body: Value| {
        call(&m.test.app, "PATCH", &format!("/merchant/{}/products/{product_id}", m.id)).bearer(&m.key).json(body)
    };
    let (status, problem) = patch(json!({"variant_id": variant_id, "price_minor": -1})).send().await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("price_minor")));
    let (status, problem) = patch(json!({"variant_id": variant_id, "price_minor": 9.99})).send().await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("price_minor")));
    let (status, problem) = patch(json!({"variant_id": "nope", "price_minor": 100})).send().await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("variant_id")));
    let (status, repriced) = patch(json!({"variant_id": variant_id, "price_minor": 4242})).send().await;
    assert_eq!(status, 200, "{repriced}");
    assert_eq!(repriced["variants"][0]["price_minor"], 4242);
    m.sync(&store_id, Duration::from_secs(60)).await;
    let (_, after) = m.get(&format!("/products?q={}", url_escape(title))).await;
    let kept = after["items"].as_array().unwrap().iter().find(|p| p["product_id"] == first["product_id"]).unwrap();
    assert_eq!(kept["variants"][0]["price_minor"], 4242, "the override survives a sync: {kept}");
    let (status, _) = m.get("/products?low_stock=maybe").await;
    assert_eq!(status, 400);
}

/// A disconnect answers at once: the store is disconnected and its credentials gone inside the request, and
/// a queued task removes its products. A queue failure after the task is recorded loses nothing: the retry
/// of the request queues it again.
async fn disconnecting_removes_products_and_credentials_idempotently(backend: Backend) {
    let m = merchant(backend, true).await;
    let fake = FakeCustomStore::start().await.with_products(12);
    let store_id = m.connected_store(stores::custom(&fake)).await;
    m.sync(&store_id, Duration::from_secs(60)).await;
    let url = format!("/merchant/{}/store/{store_id}", m.id);
    let removed_count = || async {
        let (_, removed) = m.get("/products?status=removed&limit=100").await;
        removed["items"].as_array().unwrap().len()
    };

    // GIVEN the queue fails once: the store is disconnected with its task recorded, the answer is a 5xx
    let failing = queue_failing_once(&m.test.app);
    let (status, problem) = call(&failing, "DELETE", &url).bearer(&m.key).send().await;
    assert!(status >= 500, "{status} {problem}");
    assert_eq!(m.get("/stores").await.1["items"], json!([]), "disconnected");
    // WHEN the merchant retries THEN the task is queued, and the answer comes before any product is removed
    assert_eq!(call(&m.test.app, "DELETE", &url).bearer(&m.key).send().await.0, 204);
    assert_eq!(removed_count().await, 0, "nothing removed inside the request");
    assert!(drain_sync_queue(&m.test.app, Duration::from_secs(60)).await >= 1);
    assert_eq!(removed_count().await, 12);
    let tasks: Vec<Value> = partition(&m.test.app, &format!("MERCHANT#{}", m.id))
        .await
        .into_iter()
        .filter(|item| item.key.sk.starts_with("STORETASK#"))
        .map(|item| Value::Object(item.attrs))
        .collect();
    assert_eq!(tasks.len(), 1, "one task: {tasks:?}");
    assert_eq!((tasks[0]["state"].as_str(), tasks[0]["affected"].as_u64()), (Some("succeeded"), Some(12)));

    // Idempotent: a finished removal is not queued again.
    assert_eq!(call(&m.test.app, "DELETE", &url).bearer(&m.key).send().await.0, 204);
    assert_eq!(drain_sync_queue(&m.test.app, Duration::from_secs(60)).await, 0);
    let secret = format!("{}/merchants/{}/stores/{store_id}", m.test.app.settings.secret_namespace, m.id);
    assert!(m.test.app.secrets.get(&secret).await.unwrap().is_none());
    let (status, _) = call(&m.test.app, "POST", &format!("{url}/sync")).bearer(&m.key).send().await;
    assert_eq!(status, 409);
    // Another merchant cannot see or touch it.
    let other = approved_merchant(&m.test.app, "other-store@shop.example").await;
    assert_eq!(call(&m.test.app, "DELETE", &url).bearer(&other.1).send().await.0, 404);
}

/// The end of a sync walks the store's products from a checkpointed cursor, a step per invocation when time
/// is short, and removes exactly the products no page stamped. A step whose checkpoint is lost (the worker
/// died after removing, before saving) is redone without counting its products again.
async fn the_end_of_sync_removal_resumes_from_its_checkpoint_and_counts_each_product_once(backend: Backend) {
    use pivota::catalog::sync::SyncPhase;
    let m = merchant(backend, true).await;
    let products = 450;
    let fake = FakeShopify::start(FakeShop::default().with_products(products)).await;
    let store_id = m.connected_store(stores::shopify(&fake)).await;
    m.sync(&store_id, Duration::from_secs(120)).await;
    let gone: Vec<usize> = (0..products).step_by(10).collect();
    for index in &gone {
        fake.remove_product(*index);
    }

    let (status, started) =
        call(&m.test.app, "POST", &format!("/merchant/{}/store/{store_id}/sync", m.id)).bearer(&m.key).send().await;
    assert_eq!(status, 202, "{started}");
    let job_id = started["job_id"].as_str().unwrap().to_owned();
    let merchant_id = pivota::onboarding::merchant::MerchantId::parse(&m.id).unwrap();
    let job_key = pivota::ports::ItemKey::new(format!("MERCHANT#{}", m.id), format!("SYNCJOB#{job_id}"));
    let app = &m.test.app;
    let (mut removal_invocations, mut lost_checkpoint) = (0, None);
    let mut restored = false;
    let give_up = std::time::Instant::now() + Duration::from_secs(120);
    while std::time::Instant::now() < give_up {
        let job = pivota::catalog::sync::get_job(app, &merchant_id, &job_id).await.unwrap().unwrap();
        if job.is_finished() {
            break;
        }
        // A checkpoint inside the removal phase, to be lost after the next step.
        if job.phase == SyncPhase::Removal && job.removal_cursor.is_some() && lost_checkpoint.is_none() {
            lost_checkpoint = Some(app.table.get(&job_key).await.unwrap().unwrap());
        }
        let messages = app.queue.receive(&app.settings.sync_queue, 1, Duration::from_secs(60)).await.unwrap();
        let Some(message) = messages.into_iter().next() else {
            // A continuation may be delayed (the shop's rate limit).
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let event: aws_lambda_events::event::sqs::SqsEvent =
            serde_json::from_value(json!({"Records": [{"messageId": message.message_id, "body": message.body}]}))
                .unwrap();
        // Less time than the worker's safety margin: one page, or one removal step, per invocation.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let response = pivota::catalog::sync_worker::handle(app, event, deadline).await;
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
        app.queue.delete(&app.settings.sync_queue, &message.receipt_handle).await.unwrap();
        if job.phase == SyncPhase::Removal {
            removal_invocations += 1;
        }
        if let Some(mut checkpoint) = lost_checkpoint.clone().filter(|_| !restored && removal_invocations >= 1) {
            // The step after the checkpoint removed its products, then its checkpoint was lost.
            let current = app.table.get(&job_key).await.unwrap().unwrap();
            checkpoint.version = current.version + 1;
            app.table.put(checkpoint, pivota::ports::Condition::VersionIs(current.version)).await.unwrap();
            restored = true;
        }
    }
    assert!(restored, "a removal step was redone");
    let job = pivota::catalog::sync::get_job(app, &merchant_id, &job_id).await.unwrap().unwrap();
    assert_eq!(job.state, pivota::catalog::sync::JobState::Succeeded, "{:?}", job.error);
    // The first step runs in the invocation of the last page; the others each in one of their own, one redone.
    let steps = (products as u32).div_ceil(pivota::catalog::products::REMOVAL_PAGE) as usize;
    assert!(steps >= 3 && removal_invocations == steps, "{removal_invocations} invocations for {steps} steps");
    assert_eq!(job.progress.removed, gone.len() as u64, "each removed product counted once: {:?}", job.progress);
    let removed = m.products_of(&store_id).await.into_iter().filter(|p| p["status"] == "removed").count();
    assert_eq!(removed, gone.len(), "exactly the products the store no longer lists");
    assert_eq!(job.progress.products_seen, (products - gone.len()) as u64);
}

fn url_escape(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A sync message for a job another worker holds is a duplicate: done, not failed (failing it would count a
/// healthy job toward the DLQ). A job a newer sync replaced ends as such when its message comes back, so
/// two jobs of one store never run side by side.
async fn a_duplicate_message_of_a_held_job_is_done_and_a_replaced_job_ends(backend: Backend) {
    use pivota::catalog::sync::{JobState, RunOutcome, SyncMessage};
    let m = merchant(backend, true).await;
    let fake = FakeShopify::start(FakeShop::default().with_products(3)).await;
    let store_id = m.connected_store(stores::shopify(&fake)).await;
    let (status, started) =
        call(&m.test.app, "POST", &format!("/merchant/{}/store/{store_id}/sync", m.id)).bearer(&m.key).send().await;
    assert_eq!(status, 202, "{started}");
    let merchant_id = pivota::onboarding::merchant::MerchantId::parse(&m.id).unwrap();
    let job_id = started["job_id"].as_str().unwrap().to_owned();
    let message = SyncMessage { merchant_id: m.id.clone(), store_id: store_id.clone(), job_id: job_id.clone() };

    // GIVEN the job held by a worker (a live lease)
    let key = pivota::ports::ItemKey::new(format!("MERCHANT#{}", m.id), format!("SYNCJOB#{job_id}"));
    let mut item = m.test.app.table.get(&key).await.unwrap().unwrap();
    let mut job: pivota::catalog::sync::SyncJob =
        serde_json::from_value(serde_json::to_value(&item.attrs).unwrap()).unwrap();
    job.state = JobState::Running;
    job.lease_until = Some(time::OffsetDateTime::now_utc() + time::Duration::minutes(5));
    let version = item.version;
    item.attrs = serde_json::from_value(serde_json::to_value(&job).unwrap()).unwrap();
    item.version = version + 1;
    m.test.app.table.put(item, pivota::ports::Condition::VersionIs(version)).await.unwrap();

    // WHEN its duplicate message arrives THEN the worker reports no failure for it
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    assert_eq!(pivota::catalog::sync::run(&m.test.app, &message, deadline).await.unwrap(), RunOutcome::Busy);
    let event: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(json!({
        "Records": [{"messageId": "m-dup", "body": serde_json::to_string(&message).unwrap()}]
    }))
    .unwrap();
    let response = pivota::catalog::sync_worker::handle(&m.test.app, event, deadline).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    // GIVEN the job taken for lost and replaced by a newer sync, WHEN its message comes back after its
    // lease, THEN it ends as replaced and the newer job is the store's
    let mut item = m.test.app.table.get(&key).await.unwrap().unwrap();
    job = serde_json::from_value(serde_json::to_value(&item.attrs).unwrap()).unwrap();
    job.lease_until = Some(time::OffsetDateTime::now_utc() - time::Duration::minutes(1));
    job.updated_at = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    let version = item.version;
    item.attrs = serde_json::from_value(serde_json::to_value(&job).unwrap()).unwrap();
    item.version = version + 1;
    m.test.app.table.put(item, pivota::ports::Condition::VersionIs(version)).await.unwrap();
    let (status, newer) =
        call(&m.test.app, "POST", &format!("/merchant/{}/store/{store_id}/sync", m.id)).bearer(&m.key).send().await;
    assert_eq!(status, 202, "{newer}");
    assert_ne!(newer["job_id"], started["job_id"], "a stale job is replaced");
    assert_eq!(pivota::catalog::sync::run(&m.test.app, &message, deadline).await.unwrap(), RunOutcome::Done);
    let old = pivota::catalog::sync::get_job(&m.test.app, &merchant_id, &job_id).await.unwrap().unwrap();
    assert_eq!((old.state, old.error.as_deref()), (JobState::Failed, Some("replaced by a newer sync of the store")));
    let (_, store) = m.get(&format!("/store/{store_id}")).await;
    assert_ne!(store["connection_status"], "error", "the replaced job does not speak for the store: {store}");
}

/// The product items of a merchant: every item's size is under DynamoDB's limit, and every variant chunk
/// belongs to a product head (none left behind). Returns (items, largest item's bytes).
async fn product_items(m: &Merchant) -> (Vec<pivota::ports::Item>, usize) {
    let items = partition(&m.test.app, &format!("MERCHANT#{}#PRODUCTS", m.id)).await;
    let largest = items.iter().map(|item| pivota::record::limits::item_size(item).unwrap()).max().unwrap_or(0);
    assert!(largest <= pivota::catalog::product_items::CHUNK_LIMIT, "an item of {largest} bytes");
    let referenced: std::collections::HashSet<String> = items
        .iter()
        .filter(|item| item.key.sk.starts_with("PRODUCT#"))
        .flat_map(|head| {
            let product_id = head.attrs["product_id"].as_str().unwrap().to_owned();
            let chunks = head.attrs.get("variant_chunks").and_then(Value::as_array).cloned().unwrap_or_default();
            chunks.into_iter().map(move |c| format!("VARIANTS#{product_id}#{}", c["id"].as_str().unwrap()))
        })
        .collect();
    let chunks: std::collections::HashSet<String> =
        items.iter().filter(|item| item.key.sk.starts_with("VARIANTS#")).map(|item| item.key.sk.clone()).collect();
    assert_eq!(chunks, referenced, "every chunk is a head's, and every head's chunk exists");
    (items, largest)
}

/// Shopify's largest product (2,048 variants, 255-character titles and SKUs: about 1.2 MB) is stored in
/// items under 400 KB, read back whole, priced, re-synced without a write, and shrunk without leftovers; a
/// product no item can hold is skipped with its reason while the others sync.
async fn the_largest_shopify_product_syncs_in_items_under_the_limit_and_an_unstorable_one_is_skipped(backend: Backend) {
    let m = merchant(backend, true).await;
    // A bucket large enough that the 2,048 variants' follow-up queries do not wait.
    let fake = FakeShopify::start(FakeShop::default().with_products(5).with_bucket(20_000.0, 1_000.0)).await;
    fake.set_variant_count(0, 2048);
    fake.set_variant_text_length(0, 255);
    // GIVEN a product with a variant of 500,000 characters, more than any item holds
    fake.set_variant_text_length(1, 500_000);
    let store_id = m.connected_store(stores::shopify(&fake)).await;

    // WHEN the store syncs THEN the others are written and that one is skipped, with its reason
    let (job, _) = m.sync(&store_id, Duration::from_secs(120)).await;
    let progress = &job["progress"];
    assert_eq!(
        (progress["products_seen"].as_u64(), progress["written"].as_u64(), progress["skipped"].as_u64()),
        (Some(5), Some(4), Some(1)),
        "{job}"
    );
    assert_eq!(job["skipped"][0]["external_id"], fake.product_id(1), "{job}");
    assert!(job["skipped"][0]["reason"].as_str().unwrap().contains("bytes"), "{job}");
    let (items, largest) = product_items(&m).await;
    eprintln!("{} product items, the largest {largest} bytes", items.len());
    assert!(items.iter().filter(|item| item.key.sk.starts_with("VARIANTS#")).count() >= 4);

    // THEN the API returns the product whole, its variants in the store's order
    let synced = m.products_of(&store_id).await;
    assert_eq!(synced.len(), 4);
    let big = synced.iter().find(|p| p["external_id"] == fake.product_id(0)).unwrap();
    let variants = big["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2048);
    assert!(variants.iter().all(|v| v["title"].as_str().unwrap().chars().count() == 255));
    let ids: Vec<u64> = variants
        .iter()
        .map(|v| v["variant_id"].as_str().unwrap().rsplit('/').next().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "in order, none missing");
    // Search by a SKU of a late chunk, and low stock, see every variant.
    let (_, found) = m.get("/products?q=PV-000000-2047").await;
    assert_eq!(found["items"][0]["product_id"], big["product_id"], "{found}");
    let (_, low) = m.get(&format!("/products?store_id={store_id}&low_stock=true&limit=100")).await;
    assert!(low["items"].as_array().unwrap().iter().any(|p| p["product_id"] == big["product_id"]));

    // WHEN a price is set on variant 2,000 THEN it is stored and read back
    let product_id = big["product_id"].as_str().unwrap();
    let (status, repriced) = call(&m.test.app, "PATCH", &format!("/merchant/{}/products/{product_id}", m.id))
        .bearer(&m.key)
        .json(json!({"variant_id": variants[2000]["variant_id"], "price_minor": 4242}))
        .send()
        .await;
    assert_eq!(status, 200, "{repriced}");
    let (_, found) = m.get("/products?q=PV-000000-2000").await;
    assert_eq!(found["items"][0]["variants"][2000]["price_minor"], 4242, "the override is stored");
    product_items(&m).await;

    // WHEN the store syncs again unchanged THEN no content is written: each product gets only the new job's
    // stamp, and no variant chunk is rewritten
    let (before, _) = product_items(&m).await;
    let (job, _) = m.sync(&store_id, Duration::from_secs(120)).await;
    assert_eq!(
        (
            job["progress"]["written"].as_u64(),
            job["progress"]["unchanged"].as_u64(),
            job["progress"]["skipped"].as_u64()
        ),
        (Some(0), Some(4), Some(1)),
        "{job}"
    );
    let (after, _) = product_items(&m).await;
    let keys = |items: &[pivota::ports::Item]| items.iter().map(|i| (i.key.clone(), i.version)).collect::<Vec<_>>();
    let restamped = |items: &[pivota::ports::Item]| {
        items
            .iter()
            .map(|i| {
                let stamp_only = i.key.sk.starts_with("PRODUCT#");
                (i.key.clone(), i.version - u64::from(stamp_only))
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(restamped(&after), keys(&before), "only the heads were written, once each");
    let content = |items: &[pivota::ports::Item]| {
        items
            .iter()
            .map(|i| {
                let mut attrs = i.attrs.clone();
                attrs.remove("seen_by_job");
                (i.key.clone(), attrs)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(content(&after), content(&before), "nothing but the stamp changed");
    let job_id = job["job_id"].as_str().unwrap();
    assert!(
        after.iter().filter(|i| i.key.sk.starts_with("PRODUCT#")).all(|i| i.attrs["seen_by_job"] == job_id),
        "every head carries the new job's stamp"
    );

    // WHEN the product loses variants THEN it is read back with the rest, and its old chunks are gone
    fake.set_variant_count(0, 1000);
    let (job, _) = m.sync(&store_id, Duration::from_secs(120)).await;
    assert_eq!(job["progress"]["written"], 1, "{job}");
    let (_, found) = m.get("/products?q=PV-000000-999").await;
    assert_eq!(found["items"][0]["variants"].as_array().unwrap().len(), 1000, "{found}");
    let (after, _) = product_items(&m).await;
    assert!(after.len() < before.len(), "{} items, {} before", after.len(), before.len());
}
