//! Payment execution through the HTTP API: success, declines and replays, idempotency-key rules,
//! concurrency, transient PSP failures, listing, and the key's mode.

use super::*;

on_both_backends!(app:
    payment_succeeds_declines_and_replays,
    idempotency_key_rules,
    fifty_concurrent_executions_with_one_key_charge_once,
    a_transient_psp_failure_charges_nothing_and_the_retry_succeeds,
    payments_are_listed_with_attempts_and_filtered,
    payments_need_a_connected_psp_in_the_keys_mode,
);

async fn execute(test: &TestApp, key: &str, idempotency_key: &str, body: Value) -> (u16, Value) {
    call(&test.app, "POST", "/payment/execute")
        .bearer(key)
        .header("idempotency-key", idempotency_key)
        .json(body)
        .send()
        .await
}

fn payment(order: &str, amount: i64, card: &str) -> Value {
    json!({"order_id": order, "amount": amount, "currency": "EUR", "payment_method": card})
}

async fn payment_succeeds_declines_and_replays(test: TestApp) {
    let (id, key) = approved_merchant(&test.app, "pay@acme.example").await;
    connected_psp(&test.app, &id, &key, psps::sandbox()).await;
    let (status, paid) = execute(&test, &key, "k-1", payment("order-1", 1999, sandbox::SUCCESS_CARD)).await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["status"], "succeeded");
    assert_eq!(paid["psp"], "sandbox");
    assert!(paid["psp_reference"].as_str().unwrap().starts_with("sbx_"));
    assert!(paid["payment_id"].as_str().unwrap().starts_with("pay_"));
    assert_eq!((paid["amount"].as_i64(), paid["currency"].as_str()), (Some(1999), Some("EUR")));

    // The same key and body replays the first response exactly.
    let (status, replay) = execute(&test, &key, "k-1", payment("order-1", 1999, sandbox::SUCCESS_CARD)).await;
    assert_eq!((status, &replay), (200, &paid));

    // A decline is a 402 problem carrying the decline code.
    let (status, declined) =
        execute(&test, &key, "k-2", payment("order-2", 500, sandbox::INSUFFICIENT_FUNDS_CARD)).await;
    assert_eq!(status, 402, "{declined}");
    assert_eq!(declined["type"], "/problems/payment-declined");
    assert_eq!(declined["decline_code"], "insufficient_funds");
    assert_eq!(declined["status"], 402);
    assert!(declined["payment_id"].is_string());
}

async fn idempotency_key_rules(test: TestApp) {
    let (id, key) = approved_merchant(&test.app, "idem@acme.example").await;
    connected_psp(&test.app, &id, &key, psps::sandbox()).await;
    let (status, problem) = call(&test.app, "POST", "/payment/execute")
        .bearer(&key)
        .json(payment("o", 100, sandbox::SUCCESS_CARD))
        .send()
        .await;
    assert_eq!(status, 400);
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
    assert_eq!(execute(&test, &key, "k", payment("o", 100, sandbox::SUCCESS_CARD)).await.0, 200);
    let (status, problem) = execute(&test, &key, "k", payment("o", 101, sandbox::SUCCESS_CARD)).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
    // Keys are per merchant: another merchant's identical key is a different payment.
    let (other, other_key) = approved_merchant(&test.app, "idem2@acme.example").await;
    connected_psp(&test.app, &other, &other_key, psps::sandbox()).await;
    assert_eq!(execute(&test, &other_key, "k", payment("o", 101, sandbox::SUCCESS_CARD)).await.0, 200);
    // Money is integers: a fractional amount is named, never rounded.
    let (status, problem) =
        execute(&test, &key, "k-float", json!({"order_id": "o", "amount": 10.5, "currency": "EUR"})).await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "amount");
}

async fn fifty_concurrent_executions_with_one_key_charge_once(test: TestApp) {
    let (id, key) = approved_merchant(&test.app, "race@acme.example").await;
    connected_psp(&test.app, &id, &key, psps::sandbox()).await;
    let test = std::sync::Arc::new(test);
    let calls = (0..50).map(|_| {
        let (test, key) = (test.clone(), key.clone());
        tokio::spawn(async move {
            execute(&test, &key, "same-key", payment("order-race", 4200, sandbox::SUCCESS_CARD)).await
        })
    });
    let results: Vec<(u16, Value)> = futures::future::join_all(calls).await.into_iter().map(Result::unwrap).collect();
    let succeeded: Vec<&Value> = results.iter().filter(|(s, _)| *s == 200).map(|(_, b)| b).collect();
    assert!(!succeeded.is_empty());
    assert!(results.iter().all(|(s, _)| *s == 200 || *s == 409), "{results:?}");
    assert!(
        succeeded
            .iter()
            .all(|b| b["payment_id"] == succeeded[0]["payment_id"]
                && b["psp_reference"] == succeeded[0]["psp_reference"])
    );
    let (_, list) = call(&test.app, "GET", &format!("/merchant/{id}/payments")).bearer(&key).send().await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "exactly one payment: {list}");
    assert_eq!(list["items"][0]["attempts"].as_array().unwrap().len(), 1, "exactly one PSP call");
}

async fn a_transient_psp_failure_charges_nothing_and_the_retry_succeeds(test: TestApp) {
    let (id, key) = approved_merchant(&test.app, "transient@acme.example").await;
    connected_psp(&test.app, &id, &key, psps::sandbox()).await;
    let (status, failed) = execute(&test, &key, "t-1", payment("order-t", 700, sandbox::TRANSIENT_FAILURE_CARD)).await;
    assert_eq!(status, 502, "{failed}");
    assert_eq!(failed["payment_status"], "failed");
    assert_eq!(failed["status"], 502);
    assert_eq!(failed["attempts"][0]["outcome"], "not_processed");
    // The key was released: the same request runs again (and fails the same way), not a replay.
    let (status, again) = execute(&test, &key, "t-1", payment("order-t", 700, sandbox::TRANSIENT_FAILURE_CARD)).await;
    assert_eq!(status, 502);
    assert_eq!(again["payment_id"], failed["payment_id"], "the same payment continues");
    assert_eq!(again["attempts"].as_array().unwrap().len(), 2);
}

async fn payments_are_listed_with_attempts_and_filtered(test: TestApp) {
    let (id, key) = approved_merchant(&test.app, "list@acme.example").await;
    connected_psp(&test.app, &id, &key, psps::sandbox()).await;
    execute(&test, &key, "a", payment("o-a", 100, sandbox::SUCCESS_CARD)).await;
    execute(&test, &key, "b", payment("o-b", 200, sandbox::DECLINED_CARD)).await;
    execute(&test, &key, "c", payment("o-c", 300, sandbox::SUCCESS_CARD)).await;
    let url = format!("/merchant/{id}/payments");
    let (_, all) = call(&test.app, "GET", &url).bearer(&key).send().await;
    let orders: Vec<&str> = all["items"].as_array().unwrap().iter().map(|p| p["order_id"].as_str().unwrap()).collect();
    assert_eq!(orders, ["o-c", "o-b", "o-a"], "newest first");
    let attempt = &all["items"][0]["attempts"][0];
    assert_eq!(attempt["psp"], "sandbox");
    assert!(
        attempt["psp_request_id"].is_string() && attempt["latency_ms"].is_u64() && attempt["outcome"] == "succeeded"
    );
    assert_eq!(all["items"][2]["payment_method"], "****4242", "card numbers are never stored whole");
    let (_, declined) = call(&test.app, "GET", &format!("{url}?status=declined")).bearer(&key).send().await;
    assert_eq!(declined["items"].as_array().unwrap().len(), 1);
    assert_eq!(declined["items"][0]["decline_code"], "card_declined");
    let (_, page) = call(&test.app, "GET", &format!("{url}?limit=2")).bearer(&key).send().await;
    let (_, rest) = call(&test.app, "GET", &format!("{url}?limit=2&cursor={}", page["next_cursor"].as_str().unwrap()))
        .bearer(&key)
        .send()
        .await;
    assert_eq!(rest["items"][0]["order_id"], "o-a");
    let (status, _) = call(&test.app, "GET", &format!("{url}?status=paid")).bearer(&key).send().await;
    assert_eq!(status, 400);
}

async fn payments_need_a_connected_psp_in_the_keys_mode(test: TestApp) {
    let (id, key, owner) = approved_merchant_with_owner(&test.app, "nopsp@acme.example").await;
    let (status, problem) = execute(&test, &key, "n", payment("o", 100, sandbox::SUCCESS_CARD)).await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("no test-mode PSP"));
    connected_psp(&test.app, &id, &key, psps::sandbox()).await;
    let live = live_key(&test.app, &id, &owner).await;
    let (status, problem) = execute(&test, &live, "n2", payment("o", 100, sandbox::SUCCESS_CARD)).await;
    assert_eq!(status, 409, "a live key never charges through test credentials: {problem}");
}
