//! Product search through `GET /merchant/{id}/products`, on both backends: the products are written as a
//! sync or a webhook writes them (`save_from_store`), reach the index through the index queue and the
//! indexer (drained before each search, see `fixtures::api`), and are read back from the table.

mod filters;

use std::collections::HashMap;

use pivota::catalog::products;
use pivota::onboarding::merchant::MerchantId;
use pivota::stores::platforms::ExternalProduct;
use pivota_fakes::{FakeShop, FakeShopify};
use serde_json::{Value, json};

use pivota::settings::Settings;
use pivota::stores::url_safety::StoreUrlPolicy;

use crate::fixtures::{
    ADMIN_TOKEN, Backend, Merchant, app_on, approved_merchant_with_owner, call, stores, unique_email,
};

on_both_backends!(
    an_exact_sku_ranks_first_and_a_misspelt_title_still_finds,
    changes_reach_the_index_and_a_removal_leaves_it,
    a_rebuild_gives_the_same_results,
    merchants_never_see_each_others_products,
);

/// An approved merchant on an app whose store URLs may be the fakes' `http://127.0.0.1:…`.
pub(super) async fn merchant(backend: Backend) -> Merchant {
    let settings = Settings { store_urls: StoreUrlPolicy { allow_insecure: true }, ..Settings::default() };
    Merchant::approved(app_on(backend, settings).await).await
}

/// A store of the merchant's with no products of its own: the products are written by the test.
pub(super) async fn empty_store(m: &Merchant) -> (String, FakeShopify) {
    let fake = FakeShopify::start(FakeShop::default().with_products(0)).await;
    (m.connected_store(stores::shopify(&fake)).await, fake)
}

/// `(external id, title, [(variant title, sku, price minor, stock)])` as a store's product.
pub(super) fn product(id: &str, title: &str, variants: &[(&str, &str, i64, Option<i64>)]) -> ExternalProduct {
    serde_json::from_value(json!({
        "external_id": id,
        "title": title,
        "status": "active",
        "variants": variants.iter().enumerate().map(|(n, (variant, sku, price, stock))| json!({
            "external_id": format!("{id}-{n}"),
            "title": variant,
            "sku": sku,
            "price_minor": price,
            "inventory_quantity": stock,
        })).collect::<Vec<_>>(),
    }))
    .unwrap()
}

/// Writes the products as a sync page writes them.
pub(super) async fn write(m: &Merchant, store_id: &str, externals: Vec<ExternalProduct>) {
    let merchant_id = MerchantId::parse(&m.id).unwrap();
    let currency = pivota::kernel::money::Currency::parse("USD").unwrap();
    products::save_from_store(&*m.test.app, &merchant_id, store_id, currency, externals, HashMap::new(), None)
        .await
        .unwrap();
}

/// The titles a search answers, in order, and the answer.
pub(super) async fn titles(m: &Merchant, query: &str) -> (Vec<String>, Value) {
    let (status, found) = m.get(&format!("/products?{query}")).await;
    assert_eq!(status, 200, "{query}: {found}");
    let titles = found["items"].as_array().unwrap().iter().map(|p| p["title"].as_str().unwrap().to_owned()).collect();
    (titles, found)
}

async fn an_exact_sku_ranks_first_and_a_misspelt_title_still_finds(backend: Backend) {
    let m = merchant(backend).await;
    let (store_id, _fake) = empty_store(&m).await;
    write(
        &m,
        &store_id,
        vec![
            product("1", "Care guide for the MW-100 sweater", &[("Default Title", "GUIDE-1", 500, None)]),
            product(
                "2",
                "Merino Wool Sweater",
                &[("Small", "MW-100", 8900, Some(4)), ("Large", "MW-101", 8900, Some(0))],
            ),
            product("3", "Cotton Tee", &[("Default Title", "CT-1", 1900, Some(30))]),
        ],
    )
    .await;

    let (found, answer) = titles(&m, "q=MW-100").await;
    assert_eq!(found.first().map(String::as_str), Some("Merino Wool Sweater"), "the exact SKU first: {answer}");
    assert!(found.contains(&"Care guide for the MW-100 sweater".to_owned()), "the title mention too: {answer}");

    let (found, _) = titles(&m, "q=sweatr").await;
    assert!(found.contains(&"Merino Wool Sweater".to_owned()), "one edit on a long word: {found:?}");
    let (found, _) = titles(&m, "q=cottn%20tee").await;
    assert_eq!(found, ["Cotton Tee"], "a misspelt word and an exact one");
    let (found, _) = titles(&m, "q=tea").await;
    assert!(found.is_empty(), "no typo tolerance under five letters: {found:?}");
    let (found, _) = titles(&m, "q=merino%20swe").await;
    assert_eq!(found, ["Merino Wool Sweater"], "the last word as a prefix, every word required");
    let (found, answer) = titles(&m, "q=large").await;
    assert_eq!(found, ["Merino Wool Sweater"], "variant titles are searched: {answer}");
    assert_eq!(answer["total"], 1);
    let (found, _) = titles(&m, "q=default").await;
    assert!(found.is_empty(), "Shopify's placeholder variant title is not indexed: {found:?}");
}

async fn changes_reach_the_index_and_a_removal_leaves_it(backend: Backend) {
    let m = merchant(backend).await;
    let (store_id, _fake) = empty_store(&m).await;
    write(&m, &store_id, vec![product("1", "Linen Shirt", &[("M", "LS-1", 4500, Some(3))])]).await;
    let (found, answer) = titles(&m, "q=linen").await;
    assert_eq!(found, ["Linen Shirt"]);
    let product_id = answer["items"][0]["product_id"].as_str().unwrap().to_owned();

    // A store edit (a sync page or a products/update webhook): the new title is found, the old one not.
    write(&m, &store_id, vec![product("1", "Hemp Shirt", &[("M", "LS-1", 4500, Some(3))])]).await;
    assert_eq!(titles(&m, "q=hemp").await.0, ["Hemp Shirt"]);
    assert!(titles(&m, "q=linen").await.0.is_empty());

    // A price set in Pivota moves the product in and out of a price range.
    assert_eq!(titles(&m, "price_max=3000").await.0, Vec::<String>::new());
    let (status, _) = m.send("PATCH", &format!("/products/{product_id}"), Some(json!({"price_minor": 2500}))).await;
    assert_eq!(status, 200);
    assert_eq!(titles(&m, "price_max=3000").await.0, ["Hemp Shirt"]);

    // Removed from the store: gone from results, unless removed products are asked for.
    let merchant_id = MerchantId::parse(&m.id).unwrap();
    let stored = products::get_many(&*m.test.app, &merchant_id, std::slice::from_ref(&product_id)).await.unwrap();
    products::mark_removed(&*m.test.app, &merchant_id, stored, None).await.unwrap();
    assert!(titles(&m, "q=hemp").await.0.is_empty(), "a removed product disappears");
    assert_eq!(titles(&m, "q=hemp&status=removed").await.0, ["Hemp Shirt"]);
}

async fn a_rebuild_gives_the_same_results(backend: Backend) {
    let m = merchant(backend).await;
    let (store_id, _fake) = empty_store(&m).await;
    let catalog = (0..40)
        .map(|n| {
            let title = format!("{} {} {n}", ["Alpine", "Harbor", "Meadow"][n % 3], ["Jacket", "Scarf"][n % 2]);
            product(
                &n.to_string(),
                &title,
                &[("One", &format!("RB-{n:03}"), 1000 + 100 * n as i64, Some(n as i64 % 7))],
            )
        })
        .collect();
    write(&m, &store_id, catalog).await;
    let queries =
        ["q=alpine", "q=jacket&sort=price_desc", "q=RB-007", "low_stock=true&sort=price_asc", "in_stock=false"];
    let mut before = Vec::new();
    for query in queries {
        before.push(titles(&m, &format!("{query}&limit=100")).await.0);
    }
    assert!(before.iter().all(|found| !found.is_empty()), "{before:?}");

    // The index lost (a new bucket, a wiped data directory): nothing is found until the rebuild.
    m.test.app.search.replace_all(&m.id, Vec::new()).await.unwrap();
    assert!(titles(&m, "q=alpine").await.0.is_empty());
    let (status, queued) = call(&m.test.app, "POST", &format!("/admin/merchants/{}/search-index/rebuild", m.id))
        .bearer(ADMIN_TOKEN)
        .send()
        .await;
    assert_eq!((status, queued["status"].as_str()), (202, Some("queued")), "{queued}");
    let mut after = Vec::new();
    for query in queries {
        after.push(titles(&m, &format!("{query}&limit=100")).await.0);
    }
    assert_eq!(after, before);

    let (status, _) = call(&m.test.app, "POST", &format!("/admin/merchants/{}/search-index/rebuild", m.id))
        .bearer(&m.key)
        .send()
        .await;
    assert_eq!(status, 401, "a merchant key is not an admin token");
}

async fn merchants_never_see_each_others_products(backend: Backend) {
    let m = merchant(backend).await;
    let (store_id, _fake) = empty_store(&m).await;
    write(&m, &store_id, vec![product("1", "Shared Name Lamp", &[("One", "LAMP-1", 3000, Some(5))])]).await;
    // A second merchant on the same platform, with a store and a product of the same name and SKU.
    let (other_id, other_key, _) = approved_merchant_with_owner(&m.test.app, &unique_email("other.example")).await;
    let other_fake = FakeShopify::start(FakeShop::default().with_products(0)).await;
    let (status, other_store) =
        crate::fixtures::connect_store(&m.test.app, &other_id, &other_key, stores::shopify(&other_fake)).await;
    assert_eq!(status, 201, "{other_store}");
    let other_store = other_store["store_id"].as_str().unwrap().to_owned();
    let merchant_id = MerchantId::parse(&other_id).unwrap();
    let currency = pivota::kernel::money::Currency::parse("USD").unwrap();
    let lamp = vec![product("1", "Shared Name Lamp", &[("One", "LAMP-1", 3100, Some(5))])];
    products::save_from_store(&*m.test.app, &merchant_id, &other_store, currency, lamp, HashMap::new(), None)
        .await
        .unwrap();

    let search = |id: String, key: String| {
        let app = &*m.test.app;
        async move {
            let (status, found) =
                call(app, "GET", &format!("/merchant/{id}/products?q=lamp")).bearer(&key).send().await;
            assert_eq!(status, 200, "{found}");
            found
        }
    };
    let mine = search(m.id.clone(), m.key.clone()).await;
    let theirs = search(other_id.clone(), other_key.clone()).await;
    let stores_of = |found: &Value| -> Vec<String> {
        found["items"].as_array().unwrap().iter().map(|p| p["store_id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(stores_of(&mine), std::slice::from_ref(&store_id), "{mine}");
    assert_eq!(stores_of(&theirs), std::slice::from_ref(&other_store), "{theirs}");
    assert_eq!((mine["total"].as_u64(), theirs["total"].as_u64()), (Some(1), Some(1)));
    // Another merchant's path, or its store as a filter, with one's own key: refused.
    let (status, _) =
        call(&m.test.app, "GET", &format!("/merchant/{other_id}/products?q=lamp")).bearer(&m.key).send().await;
    assert_eq!(status, 404, "another merchant's id is no merchant of the caller's");
    let (status, refused) = m.get(&format!("/products?store_id={other_store}")).await;
    assert_eq!((status, refused["errors"][0]["field"].as_str()), (400, Some("store_id")), "{refused}");
}
