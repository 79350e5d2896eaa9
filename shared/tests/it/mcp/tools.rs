//! Every tool, in process on both backends: each answers as its REST twin does (the same records under the
//! same field names, the same refusals), for the key's merchant only, and `execute_payment` charges once per
//! idempotency key whichever of MCP and REST is called.

use std::time::Duration;

use pivota_fakes::{FakeShop, FakeShopify};
use serde_json::{Value, json};

use super::{call_tool, fields, merchant};
use crate::fixtures::{Backend, approved_merchant, drain_payment_queue, psps, stores, unique_email};

on_both_backends!(
    catalog_tools_answer_as_the_products_route,
    orders_and_payments_answer_as_their_routes,
    a_replayed_execute_payment_charges_once_and_answers_as_rest_does,
    stores_and_sync_jobs_answer_as_their_routes,
    another_merchants_key_sees_nothing,
);

/// The product as the REST search lists it, with the MCP view's one extra field taken out.
fn without_variant_count(mut product: Value) -> Value {
    assert!(product.as_object_mut().unwrap().remove("variant_count").is_some());
    product
}

async fn catalog_tools_answer_as_the_products_route(backend: Backend) {
    let m = merchant(backend).await;
    let app = &m.test.app;
    let fake = FakeShopify::start(FakeShop::default().with_products(12)).await;
    let store_id = m.connected_store(stores::shopify(&fake)).await;
    m.sync(&store_id, Duration::from_secs(60)).await;

    let page = call_tool(app, &m.key, "search_products", json!({"limit": 5, "sort": "price_asc"})).await.unwrap();
    let (status, rest) = m.get("/products?limit=5&sort=price_asc").await;
    assert_eq!(status, 200);
    let items: Vec<Value> = page["items"].as_array().unwrap().iter().cloned().map(without_variant_count).collect();
    assert_eq!(items, rest["items"].as_array().unwrap().clone(), "the same products, fields and order");
    assert_eq!(
        (page["total"].clone(), page["next_cursor"].clone()),
        (rest["total"].clone(), rest["next_cursor"].clone())
    );
    let next = call_tool(
        app,
        &m.key,
        "search_products",
        json!({"limit": 5, "sort": "price_asc", "cursor": page["next_cursor"]}),
    )
    .await
    .unwrap();
    let (_, rest_next) =
        m.get(&format!("/products?limit=5&sort=price_asc&cursor={}", page["next_cursor"].as_str().unwrap())).await;
    assert_eq!(next["items"][0]["product_id"], rest_next["items"][0]["product_id"], "the cursor is the route's");

    // Refusals name the field, with the route's messages.
    let refused =
        call_tool(app, &m.key, "search_products", json!({"in_stock": true, "sort": "cheapest"})).await.unwrap_err();
    let (status, rest_refused) = m.get("/products?in_stock=true&sort=cheapest").await;
    assert_eq!((refused["status"].as_u64(), status), (Some(400), 400));
    assert_eq!(refused["errors"], rest_refused["errors"]);
    let refused = call_tool(app, &m.key, "search_products", json!({"store_id": "sto_someone_else"})).await.unwrap_err();
    assert_eq!(fields(&refused), ["store_id"]);
    let refused = call_tool(app, &m.key, "search_products", json!({"q": "x".repeat(201)})).await.unwrap_err();
    assert_eq!(fields(&refused), ["q"]);

    // list_low_stock is the search with low_stock=true.
    let low = call_tool(app, &m.key, "list_low_stock", json!({"limit": 100})).await.unwrap();
    let (_, rest_low) = m.get("/products?low_stock=true&limit=100").await;
    assert_eq!(low["total"], rest_low["total"]);
    assert!(low["total"].as_u64().unwrap() < page["total"].as_u64().unwrap());
    assert!(low["items"].as_array().unwrap().iter().all(|p| p["low_stock"] == true));
    assert_eq!(fields(&call_tool(app, &m.key, "list_low_stock", json!({"limit": 101})).await.unwrap_err()), ["limit"]);

    let product = call_tool(app, &m.key, "get_product", json!({"product_id": items[0]["product_id"]})).await.unwrap();
    assert_eq!(without_variant_count(product), items[0]);
    let missing = call_tool(app, &m.key, "get_product", json!({"product_id": "prd_nope"})).await.unwrap_err();
    assert_eq!(missing["status"], 404);
    // Arguments a tool does not take are refused by the SDK, as a tool error naming them, before any read.
    let call = json!({"name": "get_product", "arguments": {"id": "x"}});
    let unknown = super::rpc(app, &m.key, "tools/call", call).await;
    assert_eq!(unknown["isError"], true, "{unknown}");
    assert!(unknown["content"][0]["text"].as_str().unwrap().contains("unknown field `id`"), "{unknown}");
}

/// A Shopify order delivered with the headers Shopify sends, then charged by the payment worker.
async fn delivered_order(m: &crate::fixtures::Merchant, fake: &FakeShopify, store_id: &str, id: u64) {
    let body = serde_json::to_vec(&json!({
        "id": id, "admin_graphql_api_id": format!("gid://shopify/Order/{id}"), "name": format!("#{}", id % 10_000),
        "email": "buyer@example.com", "currency": "EUR", "total_price": "39.98", "current_total_price": "39.98",
        "subtotal_price": "39.98", "financial_status": "pending",
        "line_items": [{"id": 1, "title": "Linen shirt", "quantity": 2, "sku": "LIN-M", "price": "19.99"}],
        "customer": {"id": 7, "email": "buyer@example.com", "first_name": "Jon", "last_name": "Doe"},
    }))
    .unwrap();
    let headers: Vec<(String, String)> = fake
        .delivery_headers("orders/create", &format!("evt-{id}"), &body)
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    let (status, answer) = m.deliver("shopify", store_id, &headers, &body).await;
    assert_eq!(status, 200, "{answer}");
    drain_payment_queue(&m.test.app).await;
}

async fn orders_and_payments_answer_as_their_routes(backend: Backend) {
    let m = merchant(backend).await;
    let app = &m.test.app;
    m.connected_psp(psps::sandbox()).await;
    let fake = FakeShopify::start(FakeShop::default().with_products(0)).await;
    let (store_id, _) = m.store_with_webhooks(stores::shopify(&fake)).await;
    delivered_order(&m, &fake, &store_id, 5_561_990_001_042).await;

    let listed = call_tool(app, &m.key, "list_orders", json!({})).await.unwrap();
    let rest = m.order("5561990001042").await;
    let order = &listed["items"][0];
    assert_eq!(order["status"], "paid", "{order}");
    // The REST view, less the customer (personal data no tool shows), plus the line count.
    let mut expected = rest.clone();
    expected.as_object_mut().unwrap().remove("customer");
    expected["line_count"] = json!(1);
    assert_eq!(order, &expected);
    assert_eq!(
        fields(&call_tool(app, &m.key, "list_orders", json!({"status": "shipped"})).await.unwrap_err()),
        ["status"]
    );

    for by in [
        json!({"order_id": rest["order_id"]}),
        json!({"external_id": "5561990001042"}),
        json!({"name": "#1042"}),
        json!({"name": "1042"}),
    ] {
        assert_eq!(&call_tool(app, &m.key, "get_order", by.clone()).await.unwrap(), order, "{by}");
    }
    let store_and_id = json!({"external_id": "5561990001042", "store_id": store_id});
    assert_eq!(&call_tool(app, &m.key, "get_order", store_and_id).await.unwrap(), order);
    assert_eq!(fields(&call_tool(app, &m.key, "get_order", json!({})).await.unwrap_err()), ["order_id"]);
    let both = json!({"order_id": rest["order_id"], "name": "#1042"});
    assert_eq!(fields(&call_tool(app, &m.key, "get_order", both).await.unwrap_err()), ["order_id"]);
    assert_eq!(call_tool(app, &m.key, "get_order", json!({"name": "#9999"})).await.unwrap_err()["status"], 404);

    // The order's payment, as the payments route lists it.
    let payment = call_tool(app, &m.key, "get_payment", json!({"payment_id": order["payment_id"]})).await.unwrap();
    let (_, payments) = m.get("/payments").await;
    assert_eq!(payment, payments["items"][0]);
    assert_eq!(
        call_tool(app, &m.key, "get_payment", json!({"payment_id": "pay_nope"})).await.unwrap_err()["status"],
        404
    );
}

async fn a_replayed_execute_payment_charges_once_and_answers_as_rest_does(backend: Backend) {
    let m = merchant(backend).await;
    let app = &m.test.app;
    m.connected_psp(psps::sandbox()).await;
    let charge = json!({"idempotency_key": "mcp-order-1", "order_id": "order-1", "amount": 1999, "currency": "EUR"});
    let first = call_tool(app, &m.key, "execute_payment", charge.clone()).await.unwrap();
    assert_eq!((first["status"].as_str(), first["psp"].as_str()), (Some("succeeded"), Some("sandbox")));
    let replay = call_tool(app, &m.key, "execute_payment", charge.clone()).await.unwrap();
    assert_eq!(replay, first, "a replay answers with the first payment");
    // The REST route shares the key space: the same key and body replay the same payment there too.
    let body = json!({"order_id": "order-1", "amount": 1999, "currency": "EUR"});
    let (status, rest) = crate::fixtures::call(app, "POST", "/payment/execute")
        .bearer(&m.key)
        .header("idempotency-key", "mcp-order-1")
        .json(body)
        .send()
        .await;
    assert_eq!(status, 200);
    assert_eq!(rest, first);
    let (_, payments) = m.get("/payments").await;
    assert_eq!(payments["items"].as_array().unwrap().len(), 1, "charged once");

    // Refusals, as the route refuses them.
    let reused = call_tool(
        app,
        &m.key,
        "execute_payment",
        json!({"idempotency_key": "mcp-order-1", "order_id": "order-1", "amount": 2999, "currency": "EUR"}),
    )
    .await
    .unwrap_err();
    assert_eq!(reused["status"], 422);
    let invalid =
        call_tool(app, &m.key, "execute_payment", json!({"idempotency_key": "k2", "order_id": "", "currency": "EURO"}))
            .await
            .unwrap_err();
    let mut named = fields(&invalid);
    named.sort_unstable();
    assert_eq!(named, ["amount", "currency", "order_id"]);
    let card = call_tool(app, &m.key, "execute_payment", json!({"idempotency_key": "k3", "order_id": "o3", "amount": 100, "currency": "EUR", "payment_method": "4111 1111 1111 1111"}))
        .await
        .unwrap_err();
    assert_eq!(fields(&card), ["payment_method"], "card numbers never enter Pivota: {card}");
    assert!(!card.to_string().contains("4111 1111 1111 1111"));
    let blank = call_tool(
        app,
        &m.key,
        "execute_payment",
        json!({"idempotency_key": " ", "order_id": "o4", "amount": 100, "currency": "EUR"}),
    )
    .await
    .unwrap_err();
    assert_eq!(fields(&blank), ["idempotency_key"]);

    // A decline is the route's 402 problem, with the payment's fields; replayed alike.
    let declined = json!({"idempotency_key": "k5", "order_id": "o5", "amount": 100, "currency": "EUR", "payment_method": pivota::payments::connectors::sandbox::DECLINED_CARD});
    let problem = call_tool(app, &m.key, "execute_payment", declined.clone()).await.unwrap_err();
    assert_eq!((problem["status"].as_u64(), problem["decline_code"].as_str()), (Some(402), Some("card_declined")));
    assert_eq!(call_tool(app, &m.key, "execute_payment", declined).await.unwrap_err(), problem);
    let (status, rest) = crate::fixtures::call(app, "POST", "/payment/execute")
        .bearer(&m.key)
        .header("idempotency-key", "k5")
        .json(json!({"order_id": "o5", "amount": 100, "currency": "EUR", "payment_method": pivota::payments::connectors::sandbox::DECLINED_CARD}))
        .send()
        .await;
    assert_eq!((status, &rest), (402, &problem));
}

async fn stores_and_sync_jobs_answer_as_their_routes(backend: Backend) {
    let m = merchant(backend).await;
    let app = &m.test.app;
    let fake = FakeShopify::start(FakeShop::default().with_products(7)).await;
    let store_id = m.connected_store(stores::shopify(&fake)).await;
    m.sync(&store_id, Duration::from_secs(60)).await;

    let listed = call_tool(app, &m.key, "list_stores", json!({})).await.unwrap();
    let (_, rest) = m.get("/stores").await;
    let store = &listed["items"][0];
    let rest_store = &rest["items"][0];
    for field in [
        "store_id",
        "platform",
        "store_url",
        "store_name",
        "currency",
        "mode",
        "connection_status",
        "last_sync_at",
        "product_count",
        "low_stock_threshold",
        "last_error",
        "created_at",
    ] {
        assert_eq!(store[field], rest_store[field], "{field}");
    }
    for field in ["job_id", "state", "finished_at"] {
        assert_eq!(store["last_sync_job"][field], rest_store["last_sync_job"][field], "{field}");
    }
    assert!(!listed.to_string().contains(&fake.access_token()), "no store credential in the output");
    assert_eq!(call_tool(app, &m.key, "list_stores", json!({"platform": "wix"})).await.unwrap()["items"], json!([]));
    assert_eq!(
        fields(&call_tool(app, &m.key, "list_stores", json!({"platform": "magento"})).await.unwrap_err()),
        ["platform"]
    );

    let started = call_tool(app, &m.key, "sync_store", json!({"store_id": store_id})).await.unwrap();
    assert_eq!((started["state"].as_str(), started["created"].as_bool()), (Some("queued"), Some(true)));
    let again = call_tool(app, &m.key, "sync_store", json!({"store_id": store_id})).await.unwrap();
    assert_eq!(
        (again["job_id"].clone(), again["created"].as_bool()),
        (started["job_id"].clone(), Some(false)),
        "the running job"
    );
    assert_eq!(call_tool(app, &m.key, "sync_store", json!({"store_id": "sto_nope"})).await.unwrap_err()["status"], 404);
    assert_eq!(
        call_tool(app, &m.key, "sync_store", json!({"store_id": "not-a-store"})).await.unwrap_err()["status"],
        404
    );

    let job_args = json!({"store_id": store_id, "job_id": started["job_id"]});
    let job = call_tool(app, &m.key, "get_sync_job", job_args.clone()).await.unwrap();
    let (_, rest_job) = m.get(&format!("/store/{store_id}/sync/{}", started["job_id"].as_str().unwrap())).await;
    for field in ["job_id", "store_id", "state", "error", "created_at", "updated_at", "finished_at"] {
        assert_eq!(job[field], rest_job[field], "{field}");
    }
    for counter in ["pages", "products_seen", "written", "unchanged", "removed", "errors", "skipped"] {
        assert_eq!(job["progress"][counter], rest_job["progress"][counter], "{counter}");
    }
    crate::fixtures::drain_sync_queue(app, Duration::from_secs(60)).await;
    let done = call_tool(app, &m.key, "get_sync_job", job_args).await.unwrap();
    assert_eq!((done["state"].as_str(), done["progress"]["products_seen"].as_u64()), (Some("succeeded"), Some(7)));
    let other = json!({"store_id": store_id, "job_id": "job_nope"});
    assert_eq!(call_tool(app, &m.key, "get_sync_job", other).await.unwrap_err()["status"], 404);
}

async fn another_merchants_key_sees_nothing(backend: Backend) {
    let m = merchant(backend).await;
    let app = &m.test.app;
    m.connected_psp(psps::sandbox()).await;
    let fake = FakeShopify::start(FakeShop::default().with_products(3)).await;
    let (store_id, _) = m.store_with_webhooks(stores::shopify(&fake)).await;
    m.sync(&store_id, Duration::from_secs(60)).await;
    delivered_order(&m, &fake, &store_id, 77).await;
    let product = call_tool(app, &m.key, "search_products", json!({})).await.unwrap()["items"][0].clone();
    let order = m.order("77").await;
    let job = m.last_sync_job().await;

    let (_, other) = approved_merchant(app, &unique_email("other.example")).await;
    assert_eq!(call_tool(app, &other, "search_products", json!({})).await.unwrap()["total"], 0);
    assert_eq!(call_tool(app, &other, "list_low_stock", json!({})).await.unwrap()["total"], 0);
    assert_eq!(call_tool(app, &other, "list_orders", json!({})).await.unwrap()["items"], json!([]));
    assert_eq!(call_tool(app, &other, "list_stores", json!({})).await.unwrap()["items"], json!([]));
    let theirs = [
        ("get_product", json!({"product_id": product["product_id"]})),
        ("get_order", json!({"order_id": order["order_id"]})),
        ("get_order", json!({"external_id": "77", "store_id": store_id})),
        ("get_payment", json!({"payment_id": order["payment_id"]})),
        ("sync_store", json!({"store_id": store_id})),
        ("get_sync_job", json!({"store_id": store_id, "job_id": job["job_id"]})),
        ("search_products", json!({"store_id": store_id})),
    ];
    for (tool, args) in theirs {
        let refused = call_tool(app, &other, tool, args.clone()).await.unwrap_err();
        assert!([400, 404].contains(&refused["status"].as_u64().unwrap()), "{tool} {args}: {refused}");
    }
    // And its key cannot replay the first merchant's payment: the idempotency key space is per merchant.
    let mine = json!({"idempotency_key": "shared-key", "order_id": "o1", "amount": 100, "currency": "EUR"});
    let paid = call_tool(app, &m.key, "execute_payment", mine.clone()).await.unwrap();
    let refused = call_tool(app, &other, "execute_payment", mine).await.unwrap_err();
    assert_eq!(refused["status"], 409, "no PSP connected for the other merchant: {refused}");
    assert!(!refused.to_string().contains(paid["payment_id"].as_str().unwrap()));
}
