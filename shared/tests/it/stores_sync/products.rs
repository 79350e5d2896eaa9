//! The products API over a synced catalog: search, filters, low stock and repricing kept across syncs; each
//! product's vendor and product type as the store gives them; and the largest products, stored in items
//! under DynamoDB's limit.

use std::time::Duration;

use pivota_fakes::{FakeCustomStore, FakeShop, FakeShopify};
use serde_json::{Value, json};

use super::merchant;
use crate::fixtures::{Backend, Merchant, call, partition, stores};

on_both_backends!(
    products_are_searched_filtered_and_repriced,
    a_shopify_sync_stores_each_products_vendor_and_product_type_and_the_view_shows_them,
    the_largest_shopify_product_syncs_in_items_under_the_limit_and_an_unstorable_one_is_skipped,
);

fn url_escape(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The product items of a merchant: every item's size is under DynamoDB's limit, and every variant chunk
/// belongs to a product head (none left behind). Returns (items, largest item's bytes).
async fn product_items(m: &Merchant) -> (Vec<pivota::ports::Item>, usize) {
    let items = partition(&m.test.app, &format!("MERCHANT#{}#PRODUCTS", m.id)).await;
    let largest = items.iter().map(|item| pivota::record::limits::item_size(item).unwrap()).max().unwrap_or(0);
    assert!(largest <= pivota::catalog::products::items::CHUNK_LIMIT, "an item of {largest} bytes");
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

async fn a_shopify_sync_stores_each_products_vendor_and_product_type_and_the_view_shows_them(backend: Backend) {
    // GIVEN a shop whose products have vendors, and product types except every fourth (Shopify's `""`)
    let m = merchant(backend, true).await;
    let fake = FakeShopify::start(FakeShop::default().with_products(8)).await;
    assert_eq!(fake.product_labels(3).1, "", "the fake leaves a product without a type");
    let store_id = m.connected_store(stores::shopify(&fake)).await;

    // WHEN the store syncs
    m.sync(&store_id, Duration::from_secs(60)).await;

    // THEN each stored product and its view carry them, and a blank type is none (no attribute at all)
    let (items, _) = product_items(&m).await;
    let views = m.products_of(&store_id).await;
    assert_eq!(views.len(), 8);
    for index in 0..8 {
        let (vendor, product_type) = fake.product_labels(index);
        let product_type = Some(product_type).filter(|t| !t.is_empty());
        let external_id = fake.product_id(index);
        let head = items.iter().find(|item| item.attrs.get("external_id") == Some(&json!(external_id))).unwrap();
        assert_eq!(head.attrs.get("vendor"), Some(&json!(vendor)), "{external_id}");
        assert_eq!(head.attrs.get("product_type"), product_type.as_ref().map(|t| json!(t)).as_ref(), "{external_id}");
        let view = views.iter().find(|p| p["external_id"] == external_id.as_str()).unwrap();
        assert_eq!((&view["vendor"], &view["product_type"]), (&json!(vendor), &json!(product_type)), "{view}");
    }

    // AND a changed vendor is a change: the next sync writes that product, and only it
    fake.set_product_labels(2, "Umbrella Corp", "Coats");
    let (job, _) = m.sync(&store_id, Duration::from_secs(60)).await;
    assert_eq!(job["progress"]["written"], 1, "{job}");
    let views = m.products_of(&store_id).await;
    let changed = views.iter().find(|p| p["external_id"] == fake.product_id(2).as_str()).unwrap();
    assert_eq!((changed["vendor"].as_str(), changed["product_type"].as_str()), (Some("Umbrella Corp"), Some("Coats")));
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
