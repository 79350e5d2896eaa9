//! Connecting a store (only safe URLs, verified before anything is stored) and disconnecting it (at once,
//! its products removed by a queued task, idempotently).

use std::time::Duration;

use pivota_fakes::{DEFAULT_CUSTOM_TOKEN, FakeCustomStore};
use serde_json::{Value, json};

use super::merchant;
use crate::fixtures::{Backend, approved_merchant, call, drain_sync_queue, partition, queue_failing_once, stores};

on_both_backends!(
    unsafe_store_urls_are_refused,
    a_custom_store_is_verified_before_anything_is_stored,
    disconnecting_removes_products_and_credentials_idempotently,
);

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
