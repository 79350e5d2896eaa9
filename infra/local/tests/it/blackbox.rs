//! Black-box tests: the local runner binary on a free port, driven over HTTP only.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fixtures::{ADMIN_TOKEN, Runner, get_merchant, register, registration, started, wait_for_status};

async fn problem(response: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    assert!(response.headers().contains_key("x-request-id"));
    response.json().await.unwrap()
}

#[tokio::test]
async fn register_wait_approved_then_tenant_isolation_and_admin_rules() {
    let (_dir, runner, http) = started(1);

    // GIVEN a registered merchant
    let first = register(&http, &runner, "first@acme.example", "DE").await;
    let (id, key) = (first["merchant_id"].as_str().unwrap(), first["api_key"].as_str().unwrap());
    assert_eq!(first["status"], "pending_kyc");
    assert!(key.starts_with("pvk_test_"));
    let pending: Value = get_merchant(&http, &runner, id, key).await.json().await.unwrap();
    assert_eq!(pending["status"], "pending_kyc");
    assert!(pending.get("api_key").is_none(), "the key is shown only once: {pending}");

    // WHEN the KYC wait passes THEN the automatic checks approve it, and say who decided
    let approved = wait_for_status(&http, &runner, id, key, "approved").await;
    assert_eq!(approved["next_step"], "connect_psp");
    assert_eq!(approved["decisions"][0]["actor"]["type"], "system");
    assert!(approved["decisions"][0]["checks"].as_array().unwrap().iter().all(|c| c["passed"] == true));

    // Tenant isolation: no key → 401, junk → 401, another merchant's key → 404.
    let no_key = http.get(runner.url(&format!("/merchant/{id}"))).send().await.unwrap();
    assert_eq!(problem(no_key, StatusCode::UNAUTHORIZED).await["status"], 401);
    problem(get_merchant(&http, &runner, id, "pvk_test_not-a-real-key").await, StatusCode::UNAUTHORIZED).await;
    let second = register(&http, &runner, "second@acme.example", "DE").await;
    let second_key = second["api_key"].as_str().unwrap();
    problem(get_merchant(&http, &runner, id, second_key).await, StatusCode::NOT_FOUND).await;
    // ... and an id that does not exist looks the same as another merchant's.
    let unknown = "mer_01ARZ3NDEKTSV4RRFFQ69G5FAV";
    problem(get_merchant(&http, &runner, unknown, second_key).await, StatusCode::NOT_FOUND).await;

    // Admin routes need the admin token.
    let list = runner.url("/admin/merchants");
    problem(http.get(&list).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
    problem(http.get(&list).bearer_auth("wrong-token").send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
    problem(http.get(&list).bearer_auth(key).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
    let approved_list: Value = http
        .get(format!("{list}?status=approved"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> =
        approved_list["items"].as_array().unwrap().iter().map(|m| m["merchant_id"].as_str().unwrap()).collect();
    assert!(ids.contains(&id), "{approved_list}");
    assert!(approved_list["items"].as_array().unwrap().iter().all(|m| m["status"] == "approved"));

    // Decisions are valid only while undecided.
    let approve_again =
        http.post(runner.url(&format!("/admin/merchants/{id}/approve"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    let request_id = approve_again.headers()["x-request-id"].to_str().unwrap().to_owned();
    let conflict = problem(approve_again, StatusCode::CONFLICT).await;
    assert!(conflict["detail"].as_str().unwrap().contains("approved"), "{conflict}");
    assert_eq!(conflict["request_id"], request_id.as_str());

    // Card numbers sent where a payment method goes are refused (422 naming the field) and never logged.
    let cards = ["4111111111111111", "4111-1111-1111-1111", "5555 5555 5555 4444"];
    for (i, card) in cards.iter().enumerate() {
        let refused = http
            .post(runner.url("/payment/execute"))
            .bearer_auth(key)
            .header("idempotency-key", format!("card-{i}"))
            .json(&serde_json::json!({"order_id": "o", "amount": 100, "currency": "EUR", "payment_method": card}))
            .send()
            .await
            .unwrap();
        assert_eq!(problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await["errors"][0]["field"], "payment_method");
        let refused = http
            .put(runner.url(&format!("/merchant/{id}/routing")))
            .bearer_auth(key)
            .json(&serde_json::json!({"priority": ["sandbox"], "test_payment_method": card}))
            .send()
            .await
            .unwrap();
        assert!(!problem(refused, StatusCode::UNPROCESSABLE_ENTITY).await.to_string().contains("1111"));
    }

    // The logs (JSON, debug level) carry request ids and never a secret, nor a card number.
    let logs = runner.logs();
    for digits in ["4111111111111111", "1111-1111", "5555 5555", "5555555555554444"] {
        assert!(!logs.contains(digits), "a card number appears in the logs");
    }
    let owner = first["owner_credential"].as_str().unwrap();
    assert!(!logs.contains(owner), "the owner credential appears in the logs");
    assert!(
        logs.lines().any(|line| line.contains(&request_id)),
        "request id {request_id} not logged:\n{}",
        &logs[logs.len().saturating_sub(3000)..]
    );
    for secret in [key, second_key, ADMIN_TOKEN] {
        assert!(!logs.contains(secret), "a secret appears in the logs");
    }
    assert!(logs.lines().all(|line| serde_json::from_str::<Value>(line).is_ok()), "every log line is JSON");
    runner.terminate();
}

#[tokio::test]
async fn manual_review_and_admin_rejection_are_recorded_and_never_overwritten() {
    let (_dir, runner, http) = started(1);

    // A merchant from a restricted country goes to manual review, with the failed check named.
    let flagged = register(&http, &runner, "owner@flagged.example", "IR").await;
    let (id, key) = (flagged["merchant_id"].as_str().unwrap(), flagged["api_key"].as_str().unwrap());
    let review = wait_for_status(&http, &runner, id, key, "manual_review").await;
    assert_eq!(review["decisions"][0]["reason"], "automatic checks failed: restricted_country");

    // Rejecting needs a reason, named in a 422.
    let reject_url = runner.url(&format!("/admin/merchants/{id}/reject"));
    let no_reason = http.post(&reject_url).bearer_auth(ADMIN_TOKEN).json(&json!({})).send().await.unwrap();
    let body = problem(no_reason, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "reason");
    let rejected: Value = http
        .post(&reject_url)
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"reason": "sanctions screening hit", "reviewer": "alice"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rejected["status"], "rejected");
    let decision = &rejected["decisions"][1];
    assert_eq!(decision["actor"], json!({"type": "admin", "name": "alice"}));
    assert_eq!(decision["reason"], "sanctions screening hit");
    assert!(decision["decided_at"].as_str().unwrap().ends_with('Z'));
    let approve =
        http.post(runner.url(&format!("/admin/merchants/{id}/approve"))).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    problem(approve, StatusCode::CONFLICT).await;

    // An admin decision taken during the wait is never overwritten by the timer.
    let early = register(&http, &runner, "early@acme.example", "DE").await;
    let (early_id, early_key) = (early["merchant_id"].as_str().unwrap(), early["api_key"].as_str().unwrap());
    let response = http
        .post(runner.url(&format!("/admin/merchants/{early_id}/reject")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"reason": "duplicate account"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after: Value = get_merchant(&http, &runner, early_id, early_key).await.json().await.unwrap();
    assert_eq!(after["status"], "rejected");
    assert_eq!(after["decisions"].as_array().unwrap().len(), 1, "{after}");
    runner.terminate();
}

#[tokio::test]
async fn bad_input_gets_problem_json_naming_the_field() {
    let (_dir, runner, http) = started(60);
    let url = runner.url("/merchant/register");

    let malformed =
        http.post(&url).header("content-type", "application/json").body("{\"email\": ").send().await.unwrap();
    assert_eq!(problem(malformed, StatusCode::BAD_REQUEST).await["errors"][0]["field"], "body");

    let missing = http.post(&url).json(&json!({"email": "not-an-email", "country": "XX"})).send().await.unwrap();
    let body = problem(missing, StatusCode::UNPROCESSABLE_ENTITY).await;
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["business_name", "email", "country", "website"]);

    let wrong_type = http.post(&url).json(&json!({"business_name": 42})).send().await.unwrap();
    assert_eq!(problem(wrong_type, StatusCode::UNPROCESSABLE_ENTITY).await["errors"][0]["field"], "business_name");

    let not_json = http.post(&url).header("content-type", "text/plain").body("hello").send().await.unwrap();
    problem(not_json, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;

    let bad_limit = http.get(runner.url("/admin/merchants?limit=0")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(problem(bad_limit, StatusCode::BAD_REQUEST).await["errors"][0]["field"], "limit");
    let bad_status =
        http.get(runner.url("/admin/merchants?status=paid")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(problem(bad_status, StatusCode::BAD_REQUEST).await["errors"][0]["field"], "status");
    let bad_cursor =
        http.get(runner.url("/admin/merchants?cursor=garbage")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(problem(bad_cursor, StatusCode::BAD_REQUEST).await["errors"][0]["field"], "cursor");

    problem(http.get(runner.url("/nowhere")).send().await.unwrap(), StatusCode::NOT_FOUND).await;
    // RFC 9110: a 405 names the methods the resource has. The resource is the most specific template:
    // `/merchant/register` is registration (POST), not a merchant named `register`.
    for (method, path, allow) in [
        (reqwest::Method::DELETE, "/merchant/register".to_owned(), "POST"),
        (reqwest::Method::GET, "/merchant/register".to_owned(), "POST"),
        (reqwest::Method::DELETE, "/merchant/mer_01M8NBSHYF8XJ4GHHDBD57S2A5/psp/connect".to_owned(), "POST"),
        (reqwest::Method::PUT, "/merchant/mer_01M8NBSHYF8XJ4GHHDBD57S2A5/store/s1".to_owned(), "PATCH, DELETE"),
    ] {
        let response = http.request(method.clone(), runner.url(&path)).send().await.unwrap();
        assert_eq!(response.headers().get("allow").map(|v| v.to_str().unwrap()), Some(allow), "{method} {path}");
        problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
    }
    runner.terminate();
}

#[tokio::test]
async fn fifty_concurrent_identical_registrations_create_exactly_one_merchant() {
    let (_dir, runner, http) = started(60);
    let body = registration("race@acme.example", "DE");
    let attempts = (0..50).map(|_| {
        let (http, url, body) = (http.clone(), runner.url("/merchant/register"), body.clone());
        tokio::spawn(async move { http.post(url).json(&body).send().await.unwrap().status() })
    });
    let statuses: Vec<StatusCode> = futures::future::join_all(attempts).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 49, "{statuses:?}");

    let all: Value = http
        .get(runner.url("/admin/merchants?limit=100"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 1, "{all}");
    // The e-mail is unique whatever its case.
    let shouting = http
        .post(runner.url("/merchant/register"))
        .json(&registration("RACE@ACME.EXAMPLE", "DE"))
        .send()
        .await
        .unwrap();
    problem(shouting, StatusCode::CONFLICT).await;
    runner.terminate();
}

#[tokio::test]
async fn admin_listing_pages_without_loss_or_duplicates() {
    let (_dir, runner, http) = started(60);
    let mut registered = Vec::new();
    for n in 0..5 {
        registered.push(
            register(&http, &runner, &format!("m{n}@acme.example"), "DE").await["merchant_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = runner.url("/admin/merchants?status=pending_kyc&limit=2");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value = http.get(url).bearer_auth(ADMIN_TOKEN).send().await.unwrap().json().await.unwrap();
        assert!(page["items"].as_array().unwrap().len() <= 2);
        seen.extend(page["items"].as_array().unwrap().iter().map(|m| m["merchant_id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    // Newest first, each exactly once.
    registered.reverse();
    assert_eq!(seen, registered);
    runner.terminate();
}

#[tokio::test]
async fn the_kyc_wait_survives_a_restart_of_the_runner() {
    let (dir, runner, http) = started(2);
    let merchant = register(&http, &runner, "restart@acme.example", "DE").await;
    let (id, key) =
        (merchant["merchant_id"].as_str().unwrap().to_owned(), merchant["api_key"].as_str().unwrap().to_owned());
    // Stop before the wait is over...
    let before: Value = get_merchant(&http, &runner, &id, &key).await.json().await.unwrap();
    assert_eq!(before["status"], "pending_kyc");
    runner.terminate();
    // ... and start again on the same data directory: the key, the merchant and the pending wait are there.
    let runner = Runner::start(dir.path(), 2);
    let approved = wait_for_status(&http, &runner, &id, &key, "approved").await;
    assert_eq!(approved["decisions"].as_array().unwrap().len(), 1, "the wait fired once: {approved}");
    runner.terminate();
}

#[tokio::test]
async fn a_store_syncs_through_the_runners_queue_consumer() {
    let (_dir, runner, http) = started(0);
    let merchant = register(&http, &runner, "store@acme.example", "DE").await;
    let (id, key) = (merchant["merchant_id"].as_str().unwrap(), merchant["api_key"].as_str().unwrap());
    wait_for_status(&http, &runner, id, key, "approved").await;
    let fake = pivota_fakes::FakeCustomStore::start().await.with_products(40);
    let connected = http
        .post(runner.url(&format!("/merchant/{id}/store/connect")))
        .bearer_auth(key)
        .json(&json!({"platform": "custom", "store_url": fake.uri(), "api_token": pivota_fakes::DEFAULT_CUSTOM_TOKEN}))
        .send()
        .await
        .unwrap();
    assert_eq!(connected.status(), StatusCode::CREATED);
    let store: Value = connected.json().await.unwrap();
    let store_id = store["store_id"].as_str().unwrap();
    let started: Value = http
        .post(runner.url(&format!("/merchant/{id}/store/{store_id}/sync")))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The runner's consumer runs the job from the queue; the stores list shows its progress.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stores: Value = http
            .get(runner.url(&format!("/merchant/{id}/stores")))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let job = &stores["items"][0]["last_sync_job"];
        assert_eq!(job["job_id"], started["job_id"]);
        // The list reads the store, then its last job: two reads, so the job may show as finished one poll
        // before the store's count does (both are written in one transaction).
        if job["state"] == "succeeded" && stores["items"][0]["product_count"] != 0 {
            assert_eq!(job["progress"]["products_seen"], 40);
            assert_eq!(stores["items"][0]["product_count"], 40);
            assert_eq!(stores["items"][0]["connection_status"], "connected");
            break;
        }
        assert!(Instant::now() < deadline, "the sync never finished: {stores}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    runner.terminate();
}
