//! The MCP server through a real MCP client that no one here wrote: the official TypeScript SDK
//! (`@modelcontextprotocol/sdk`) running `infra/e2e/mcp.mjs` against the local runner. This test sets the
//! scene through the REST API (two merchants; the first with a sandbox PSP, a synced fake Shopify store and
//! an order delivered by a signed webhook); the script connects as each and checks every tool.
//!
//! Needs Node.js and `infra/e2e/node_modules` (`infra/scripts/test.sh` installs them).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pivota_fakes::{FakeShop, FakeShopify};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fixtures::{Runner, register, wait_for_status};

const ORDER_ID: u64 = 5_561_990_001_042;
const ORDER_NAME: &str = "#1042";
/// The fake store's products.
const PRODUCTS: u64 = 30;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

async fn send(request: reqwest::RequestBuilder, expected: StatusCode) -> Value {
    let response = request.send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, expected, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_typescript_client_uses_every_tool() {
    let root = repo_root();
    assert!(
        root.join("infra/e2e/node_modules/@modelcontextprotocol/sdk").exists(),
        "@modelcontextprotocol/sdk is missing: run `npm ci` in infra/e2e (infra/scripts/test.sh does)"
    );
    let shopify = FakeShopify::start(FakeShop::default().with_products(PRODUCTS as usize)).await;
    let dir = tempfile::tempdir().unwrap();
    let runner =
        Runner::start_with(dir.path(), 0, &[("PIVOTA_PUBLIC_BASE_URL", "https://hooks.pivota.example".into())]);
    let http = pivota::kernel::http_client::builder().build().unwrap();

    let a = register(&http, &runner, "mcp-a@acme.example", "DE").await;
    let (id_a, key_a) = (a["merchant_id"].as_str().unwrap(), a["api_key"].as_str().unwrap());
    let b = register(&http, &runner, "mcp-b@acme.example", "DE").await;
    let (id_b, key_b) = (b["merchant_id"].as_str().unwrap(), b["api_key"].as_str().unwrap());
    wait_for_status(&http, &runner, id_a, key_a, "approved").await;
    wait_for_status(&http, &runner, id_b, key_b, "approved").await;

    let merchant = |path: &str| runner.url(&format!("/merchant/{id_a}{path}"));
    send(http.post(merchant("/psp/connect")).bearer_auth(key_a).json(&json!({"psp": "sandbox"})), StatusCode::CREATED)
        .await;
    let store = json!({
        "platform": "shopify", "store_url": shopify.uri(), "api_token": shopify.access_token(),
        "webhook_secret": shopify.client_secret(),
    });
    let store = send(http.post(merchant("/store/connect")).bearer_auth(key_a).json(&store), StatusCode::CREATED).await;
    let store_id = store["store_id"].as_str().unwrap();
    let job =
        send(http.post(merchant(&format!("/store/{store_id}/sync"))).bearer_auth(key_a), StatusCode::ACCEPTED).await;
    let job_path = format!("/store/{store_id}/sync/{}", job["job_id"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    while send(http.get(merchant(&job_path)).bearer_auth(key_a), StatusCode::OK).await["state"] != "succeeded" {
        assert!(Instant::now() < deadline, "the first sync never finished");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The search index follows the table through the index queue (`catalog::search::feed`), so a finished
    // sync does not mean every product is searchable yet: wait for the index, as a merchant would.
    while send(http.get(merchant("/products?limit=1")).bearer_auth(key_a), StatusCode::OK).await["total"] != PRODUCTS {
        assert!(Instant::now() < deadline, "the search index never held the {PRODUCTS} synced products");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    send(http.post(merchant(&format!("/store/{store_id}/webhooks/setup"))).bearer_auth(key_a), StatusCode::OK).await;

    // An order, as Shopify delivers it.
    let order = serde_json::to_vec(&json!({
        "id": ORDER_ID, "admin_graphql_api_id": format!("gid://shopify/Order/{ORDER_ID}"), "name": ORDER_NAME,
        "email": "buyer@example.com", "currency": "EUR", "total_price": "39.98", "current_total_price": "39.98",
        "subtotal_price": "39.98", "financial_status": "pending",
        "line_items": [{"id": 466157049, "title": "Linen shirt", "quantity": 2, "sku": "LIN-M", "price": "19.99"}],
        "customer": {"id": 7, "email": "buyer@example.com", "first_name": "Jon", "last_name": "Doe"},
    }))
    .unwrap();
    let mut delivery = http.post(runner.url(&format!("/webhooks/shopify/{store_id}"))).body(order.clone());
    for (name, value) in shopify.delivery_headers("orders/create", "evt-mcp-1042", &order) {
        delivery = delivery.header(name, value);
    }
    send(delivery, StatusCode::OK).await;

    let secrets = [shopify.access_token(), shopify.client_secret(), key_a.to_owned(), key_b.to_owned()].join(",");
    let run = tokio::process::Command::new("node")
        .arg(root.join("infra/e2e/mcp.mjs"))
        .env("MCP_URL", runner.url("/mcp"))
        .env("BASE_URL", &runner.base)
        .env("KEY_A", key_a)
        .env("KEY_B", key_b)
        .env("MERCHANT_A", id_a)
        .env("STORE_ID", store_id)
        .env("ORDER_NAME", ORDER_NAME)
        .env("ORDER_EXTERNAL_ID", ORDER_ID.to_string())
        .env("SECRETS", secrets)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(180), run).await.expect("the client ends within 3 minutes");
    let output = output.expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "the MCP client's checks failed:\n{stdout}\n{}\n--- runner log (tail) ---\n{}",
        String::from_utf8_lossy(&output.stderr),
        runner.logs().lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
    );
    assert!(stdout.contains("checks passed"), "{stdout}");
    runner.terminate();
}
