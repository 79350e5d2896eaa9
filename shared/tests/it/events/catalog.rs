//! The catalog's events: a store connected, synced, searched (the search-indexer's FIFO event) and
//! priced, through each function's sample event.

use super::*;

#[tokio::test]
async fn store_sync_and_product_events_walk_the_catalog_flow() {
    use pivota::stores::url_safety::StoreUrlPolicy;
    let fake = pivota_fakes::FakeCustomStore::start().await.with_products(5);
    let settings = Settings { store_urls: StoreUrlPolicy { allow_insecure: true }, ..Settings::default() };
    let test = embedded_app(settings).await;
    let (id, key) = register(&test).await;
    approve(&test.app, &id).await;
    let store_url = fake.uri();
    let token = pivota_fakes::DEFAULT_CUSTOM_TOKEN;
    let connect = [("https://shop.example.com", store_url.as_str()), ("custom-store-token-EXAMPLE", token)];
    let (response, store) = invoke_with(&test, "store-connect", "store-connect.json", &id, &key, &connect).await;
    assert_eq!(response.status(), 201, "{store}");
    let store_id = store["store_id"].as_str().unwrap().to_owned();
    let with_store = [("sto_01EXAMPLE00000000000000000", store_id.as_str())];

    let (response, started) = invoke_with(&test, "store-sync", "store-sync-start.json", &id, &key, &with_store).await;
    assert_eq!(response.status(), 202, "{started}");
    let job_id = started["job_id"].as_str().unwrap().to_owned();
    // The sync-worker's SQS event, with this job in its body, run as Lambda would.
    let sqs = event_text("sync-worker.json")
        .replace(PLACEHOLDER_MERCHANT, &id)
        .replace("sto_01EXAMPLE00000000000000000", &store_id)
        .replace("job_01EXAMPLE00000000000000000", &job_id);
    let event: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_str(&sqs).unwrap();
    let response = pivota::lifecycle::sync_worker::handle(
        &*test.app,
        event,
        std::time::Instant::now() + std::time::Duration::from_secs(60),
    )
    .await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    let with_job =
        [("sto_01EXAMPLE00000000000000000", store_id.as_str()), ("job_01EXAMPLE00000000000000000", job_id.as_str())];
    let (response, job) = invoke_with(&test, "store-sync", "store-sync-job.json", &id, &key, &with_job).await;
    assert_eq!((response.status().as_u16(), job["state"].as_str()), (200, Some("succeeded")), "{job}");
    assert_eq!(job["progress"]["products_seen"], 5);
    let (response, stores) = invoke(&test, "stores-list", "stores-list.json", &id, &key).await;
    assert_eq!((response.status().as_u16(), stores["items"][0]["product_count"].as_u64()), (200, Some(5)));
    let (response, updated) = invoke_with(&test, "store-update", "store-update.json", &id, &key, &with_store).await;
    assert_eq!((response.status().as_u16(), updated["low_stock_threshold"].as_i64()), (200, Some(3)));

    // The search-indexer's SQS FIFO event (a rebuild of this merchant's index), run as Lambda would: the
    // products are searchable before the sync's own index messages are consumed.
    let sqs = event_text("search-indexer.json").replace(PLACEHOLDER_MERCHANT, &id);
    let event: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_str(&sqs).unwrap();
    let response = pivota::catalog::search::indexer::handle(&*test.app, event).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let everything = pivota::ports::SearchQuery { limit: 10, ..Default::default() };
    assert_eq!(test.app.search.search(&id, &everything).await.unwrap().total, 5);
    let (response, products) = invoke(&test, "products", "products-list.json", &id, &key).await;
    assert_eq!(response.status(), 200, "{products}");
    let (_, all) = call_products(&test, &id, &key).await;
    let product = &all["items"][0];
    let single = product["variants"].as_array().unwrap().len() == 1;
    let with_product = [("prd_EXAMPLE0000000000000000", product["product_id"].as_str().unwrap())];
    let (response, body) = invoke_with(&test, "products", "products-update.json", &id, &key, &with_product).await;
    if single {
        assert_eq!(
            (response.status().as_u16(), body["variants"][0]["price_minor"].as_i64()),
            (200, Some(2499)),
            "{body}"
        );
    } else {
        assert_eq!(response.status(), 422, "several variants need a variant_id: {body}");
    }
    let (response, _) = invoke_with(&test, "store-disconnect", "store-disconnect.json", &id, &key, &with_store).await;
    assert_eq!(response.status(), 204);
}

async fn call_products(test: &TestApp, id: &str, key: &str) -> (u16, Value) {
    // The products the sync wrote reach the search index first, as the indexer does within seconds.
    crate::fixtures::drain_index_queue(&test.app).await;
    let request = http::Request::builder()
        .uri(format!("/merchant/{id}/products?limit=100"))
        .header("authorization", format!("Bearer {key}"))
        .body(Body::Empty)
        .unwrap();
    let request = lambda_http::RequestExt::with_query_string_parameters(
        request,
        std::collections::HashMap::from([("limit".to_owned(), "100".to_owned())]),
    );
    let response = api::dispatch(&test.app, &api::routes::of("products"), request).await;
    (response.status().as_u16(), serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null))
}
