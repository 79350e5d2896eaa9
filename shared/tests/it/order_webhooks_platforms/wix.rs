//! Wix sites on Catalog V3 and V1: connected, synced, and their product events (signed JWTs) applied.

use std::time::Duration;

use pivota_fakes::{FakeWix, WixCatalog};
use serde_json::{Value, json};

use super::TEST_KEY;
use crate::fixtures::{Backend, StripeMerchant, stores};

on_both_backends!(a_wix_v3_store_connects_syncs_and_applies_its_product_events, wix_v1_product_events_apply_too,);

/// A merchant with a Wix site on `catalog` connected and synced.
async fn wix_synced(backend: Backend, catalog: WixCatalog, products: u64) -> (StripeMerchant, FakeWix, String) {
    let m = StripeMerchant::connected(backend, TEST_KEY).await;
    let fake = FakeWix::start().await.with_catalog(catalog).with_products(products);
    let (store_id, _) = m.store_with_webhooks(stores::wix(&fake)).await;
    m.sync(&store_id, Duration::from_secs(60)).await;
    (m, fake, store_id)
}

fn by_external_id(products: &[Value], external_id: &str) -> Value {
    products.iter().find(|p| p["external_id"] == external_id).cloned().unwrap_or_else(|| panic!("no {external_id}"))
}

async fn a_wix_v3_store_connects_syncs_and_applies_its_product_events(backend: Backend) {
    let (m, fake, store_id) = wix_synced(backend, WixCatalog::V3, 8).await;
    let products = m.products().await;
    assert_eq!(products.len(), 8);
    let mug = by_external_id(&products, &FakeWix::product_id(8));
    assert_eq!(mug["currency"], "USD");
    let variants = mug["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    assert_eq!(variants[1]["title"], "L");
    assert_eq!(variants[1]["price_minor"], FakeWix::expected_price_minor(8, 1));
    assert_eq!(variants[1]["inventory_quantity"], json!(fake.expected_quantity(8, 1)));
    assert_eq!(variants[1]["inventory_quantity"], 14, "3 + 1 here and 10 in the second location");

    // The merchant edits product 8 in Wix: the V3 event names it, Pivota reads it and applies it.
    fake.edit_product(8, "Renamed mug", 1999);
    let updated = fake.sign_v3_product_event("updated", "evt-u8", 8);
    let (status, body) = m.deliver("wix", &store_id, &[], updated.as_bytes()).await;
    assert_eq!(status, 200, "{body}");
    let after = m.products().await;
    let mug = by_external_id(&after, &FakeWix::product_id(8));
    assert_eq!(mug["title"], "Renamed mug");
    assert!(mug["variants"].as_array().unwrap().iter().all(|v| v["price_minor"] == 1999), "{mug}");
    let others = |list: &[Value]| -> Vec<Value> {
        list.iter().filter(|p| p["external_id"] != FakeWix::product_id(8)).cloned().collect()
    };
    assert_eq!(others(&after), others(&products), "the other products are untouched");

    // Deleted in Wix: removed from the catalog.
    fake.delete_product(3);
    let deleted = fake.sign_v3_product_event("deleted", "evt-d3", 3);
    assert_eq!(m.deliver("wix", &store_id, &[], deleted.as_bytes()).await.0, 200);
    assert_eq!(by_external_id(&m.products().await, &FakeWix::product_id(3))["status"], "removed");

    // An event type Pivota does not use is acknowledged (Wix would retry anything else); a body that is
    // not a signed JWT is refused, and a signed event without the product is a 400 naming the problem.
    let other = FakeWix::sign_event("wix.stores.catalog.v3.inventory_item_updated", &json!({ "id": "evt-i" }));
    assert_eq!(m.deliver("wix", &store_id, &[], other.as_bytes()).await.0, 200);
    assert_eq!(m.deliver("wix", &store_id, &[], b"not a jwt").await.0, 401);
    let no_product = FakeWix::sign_event("wix.stores.catalog.v3.product_updated", &json!({ "id": "evt-x" }));
    let (status, problem) = m.deliver("wix", &store_id, &[], no_product.as_bytes()).await;
    assert_eq!(status, 400, "{problem}");
    assert!(problem.to_string().contains("entityId"), "{problem}");
    assert_eq!(m.products().await.len(), 8);
}

async fn wix_v1_product_events_apply_too(backend: Backend) {
    let (m, fake, store_id) = wix_synced(backend, WixCatalog::V1, 5).await;
    assert_eq!(m.products().await.len(), 5);

    fake.edit_product(4, "Renamed tee", 2500);
    let changed = fake.sign_v1_product_event("ProductChanged", 4);
    assert_eq!(m.deliver("wix", &store_id, &[], changed.as_bytes()).await.0, 200);
    let tee = by_external_id(&m.products().await, &FakeWix::product_id(4));
    assert_eq!(tee["title"], "Renamed tee");
    assert!(tee["variants"].as_array().unwrap().iter().all(|v| v["price_minor"] == 2500), "{tee}");

    fake.delete_product(2);
    let deleted = fake.sign_v1_product_event("ProductDeleted", 2);
    assert_eq!(m.deliver("wix", &store_id, &[], deleted.as_bytes()).await.0, 200);
    assert_eq!(by_external_id(&m.products().await, &FakeWix::product_id(2))["status"], "removed");

    // A product created in Wix after the sync arrives with its event.
    let new = fake.add_product();
    let created = fake.sign_v1_product_event("ProductCreated", new);
    assert_eq!(m.deliver("wix", &store_id, &[], created.as_bytes()).await.0, 200);
    let product = by_external_id(&m.products().await, &FakeWix::product_id(new));
    assert_eq!(product["status"], "active");
    assert_eq!(product["variants"][0]["price_minor"], FakeWix::expected_price_minor(new, 0));
}
