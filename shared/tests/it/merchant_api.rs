//! PSP connections, API keys, routing and payments through the HTTP API, on both backends: the embedded
//! one and the AWS adapters against moto. PSP calls go to the built-in sandbox here; `psp_fakes`
//! covers Stripe and Adyen against their local fakes.

use std::time::Duration;

use pivota::payments::connectors::sandbox;
use serde_json::{Value, json};

use crate::fixtures::{
    TestApp, another_process, approved_merchant, approved_merchant_with_owner, call, connect_psp, connected_psp,
    live_key, partition, psps, register,
};

on_both_backends!(app:
    only_approved_merchants_connect_a_psp,
    sandbox_connects_lists_rotates_and_disconnects,
    api_keys_are_shown_once_listed_and_revoked_at_once,
    expired_keys_stop_working,
    a_keys_first_use_on_any_route_is_recorded,
    a_registration_whose_kyc_wait_cannot_start_is_undone,
    routing_refuses_unconnected_psps_and_round_trips,
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

async fn only_approved_merchants_connect_a_psp(test: TestApp) {
    // GIVEN a merchant still pending KYC
    let body = register(&test.app, "pending@acme.example").await;
    let (id, key) = (body["merchant_id"].as_str().unwrap(), body["api_key"].as_str().unwrap());
    // WHEN it connects THEN 409 says why, and nothing is stored
    let (status, problem) = connect_psp(&test.app, id, key, psps::sandbox()).await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("pending_kyc"), "{problem}");
    let (_, list) = call(&test.app, "GET", &format!("/merchant/{id}/psp")).bearer(key).send().await;
    assert_eq!(list["items"], json!([]));
}

async fn sandbox_connects_lists_rotates_and_disconnects(test: TestApp) {
    let (id, key) = approved_merchant(&test.app, "psp@acme.example").await;
    connected_psp(&test.app, &id, &key, psps::sandbox()).await;
    let (status, list) = call(&test.app, "GET", &format!("/merchant/{id}/psp")).bearer(&key).send().await;
    assert_eq!(status, 200);
    let connection = &list["items"][0];
    assert_eq!(connection["psp"], "sandbox");
    assert_eq!(connection["mode"], "test");
    assert_eq!(connection["last4"].as_str().unwrap().len(), 4);
    assert!(connection.get("api_key").is_none() && connection.get("secret_ref").is_none(), "{connection}");

    // Connecting again rotates: 200, same connection, a new key version.
    let (status, rotated) = connect_psp(&test.app, &id, &key, psps::sandbox()).await;
    assert_eq!(status, 200, "{rotated}");
    assert_eq!(rotated["connected_at"], connection["connected_at"]);
    let items = partition(&test.app, &format!("MERCHANT#{id}")).await;
    let item = items.iter().find(|item| item.key.sk.starts_with("PSP#")).expect("the connection's item");
    let secret_name = item.attrs.get("secret_ref").and_then(|name| name.as_str()).unwrap().to_owned();
    let prefix = format!("{}/merchants/{id}/psp/sandbox/test/", test.app.settings.secret_namespace);
    assert!(secret_name.starts_with(&prefix), "{secret_name}: a name of its own under the connection's");
    assert!(
        test.app.secrets.get_previous(&secret_name).await.unwrap().is_some(),
        "the old key is the previous version"
    );

    // Another merchant cannot see or remove it.
    let (other_id, other_key) = approved_merchant(&test.app, "other@acme.example").await;
    let (status, _) = call(&test.app, "GET", &format!("/merchant/{id}/psp")).bearer(&other_key).send().await;
    assert_eq!(status, 404);
    let (status, _) = call(&test.app, "DELETE", &format!("/merchant/{id}/psp/sandbox")).bearer(&other_key).send().await;
    assert_eq!(status, 404);
    let (status, _) =
        call(&test.app, "DELETE", &format!("/merchant/{other_id}/psp/sandbox")).bearer(&other_key).send().await;
    assert_eq!(status, 404, "not connected");

    // Disconnect removes the connection and its secret.
    let (status, _) = call(&test.app, "DELETE", &format!("/merchant/{id}/psp/sandbox")).bearer(&key).send().await;
    assert_eq!(status, 204);
    let (_, list) = call(&test.app, "GET", &format!("/merchant/{id}/psp")).bearer(&key).send().await;
    assert_eq!(list["items"], json!([]));
    assert!(test.app.secrets.get(&secret_name).await.unwrap().is_none());
}

async fn api_keys_are_shown_once_listed_and_revoked_at_once(test: TestApp) {
    let (id, first_key, owner) = approved_merchant_with_owner(&test.app, "keys@acme.example").await;
    let url = format!("/merchant/{id}/api-keys");
    let (status, created) =
        call(&test.app, "POST", &url).bearer(&first_key).json(json!({"name": "checkout"})).send().await;
    assert_eq!(status, 201, "{created}");
    let new_key = created["api_key"].as_str().unwrap();
    assert!(new_key.starts_with("pvk_test_") && new_key.starts_with(created["prefix"].as_str().unwrap()));
    // A live key comes from the owner credential (a test key gets 403: `psp_fakes::modes`).
    let (status, live) =
        call(&test.app, "POST", &url).bearer(&owner).json(json!({"name": "prod", "mode": "live"})).send().await;
    assert_eq!(status, 201);
    assert!(live["api_key"].as_str().unwrap().starts_with("pvk_live_"), "modes are told apart by prefix");

    // The new key works; the listing shows it without the secret.
    let (status, _) = call(&test.app, "GET", &format!("/merchant/{id}")).bearer(new_key).send().await;
    assert_eq!(status, 200);
    let (_, list) = call(&test.app, "GET", &url).bearer(new_key).send().await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    assert!(!list.to_string().contains(new_key));
    let listed = list["items"].as_array().unwrap().iter().find(|k| k["key_id"] == created["key_id"]).unwrap();
    assert_eq!(listed["status"], "active");
    assert!(listed["last_used_at"].is_string(), "last use is recorded: {listed}");

    // Revoked: 401 on the very next use.
    let (status, _) = call(&test.app, "DELETE", &format!("{url}/{}", created["key_id"].as_str().unwrap()))
        .bearer(&first_key)
        .send()
        .await;
    assert_eq!(status, 204);
    let (status, _) = call(&test.app, "GET", &format!("/merchant/{id}")).bearer(new_key).send().await;
    assert_eq!(status, 401);
    let (_, list) = call(&test.app, "GET", &url).bearer(&first_key).send().await;
    let revoked = list["items"].as_array().unwrap().iter().find(|k| k["key_id"] == created["key_id"]).unwrap();
    assert_eq!(revoked["status"], "revoked");

    // Any key may go while another usable one remains; the last one cannot (it would lock the merchant out).
    let live_url = format!("{url}/{}", live["key_id"].as_str().unwrap());
    assert_eq!(call(&test.app, "DELETE", &live_url).bearer(&owner).send().await.0, 204);
    let (_, list) = call(&test.app, "GET", &url).bearer(&first_key).send().await;
    let active: Vec<&Value> = list["items"].as_array().unwrap().iter().filter(|k| k["status"] == "active").collect();
    assert_eq!(active.len(), 1);
    let last_url = format!("{url}/{}", active[0]["key_id"].as_str().unwrap());
    let (status, problem) = call(&test.app, "DELETE", &last_url).bearer(&owner).send().await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("last usable"), "{problem}");
    // A key does not revoke itself (the caller would be locked out mid-session): another key or the owner
    // credential does.
    let (_, spare) = call(&test.app, "POST", &url).bearer(&owner).json(json!({"name": "spare"})).send().await;
    let (status, problem) = call(&test.app, "DELETE", &last_url).bearer(&first_key).send().await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("making the request"), "{problem}");
    let spare_url = format!("{url}/{}", spare["key_id"].as_str().unwrap());
    assert_eq!(call(&test.app, "DELETE", &spare_url).bearer(&first_key).send().await.0, 204);
    let (status, body) = call(&test.app, "POST", &url).bearer(&first_key).json(json!({"name": ""})).send().await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "name");

    // Two concurrent revocations of the last two usable keys: exactly one succeeds.
    for round in 0..5 {
        let (_, second) =
            call(&test.app, "POST", &url).bearer(&owner).json(json!({"name": format!("race-{round}")})).send().await;
        let (_, list) = call(&test.app, "GET", &url).bearer(&owner).send().await;
        let active: Vec<String> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["status"] == "active")
            .map(|k| k["key_id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(active.len(), 2, "{list}");
        let revoke = |key_id: String| {
            let (app, owner, url) = (&test.app, owner.clone(), url.clone());
            async move { call(app, "DELETE", &format!("{url}/{key_id}")).bearer(&owner).send().await.0 }
        };
        let (a, b) = tokio::join!(revoke(active[0].clone()), revoke(active[1].clone()));
        let mut statuses = [a, b];
        statuses.sort_unstable();
        assert_eq!(statuses, [204, 409], "round {round}: exactly one of the last two keys may go");
        let (_, list) = call(&test.app, "GET", &url).bearer(&owner).send().await;
        let still: usize = list["items"].as_array().unwrap().iter().filter(|k| k["status"] == "active").count();
        assert_eq!(still, 1, "{second}");
    }
}

/// Every authenticated route records a key's use (`last_used_at`, refreshed at most every few minutes): a
/// fresh key's first request, whichever route it goes to, leaves its mark.
async fn a_keys_first_use_on_any_route_is_recorded(test: TestApp) {
    let (id, owner) = approved_merchant(&test.app, "first-use@acme.example").await;
    let routes = [
        format!("/merchant/{id}"),
        format!("/merchant/{id}/stores"),
        format!("/merchant/{id}/orders"),
        format!("/merchant/{id}/payments"),
        format!("/merchant/{id}/products"),
        format!("/merchant/{id}/psp"),
        format!("/merchant/{id}/routing"),
    ];
    for route in routes {
        let url = format!("/merchant/{id}/api-keys");
        let (status, created) =
            call(&test.app, "POST", &url).bearer(&owner).json(json!({"name": "first use"})).send().await;
        assert_eq!(status, 201, "{created}");
        let (status, body) = call(&test.app, "GET", &route).bearer(created["api_key"].as_str().unwrap()).send().await;
        assert!(status == 200 || status == 404, "{route}: {status} {body}");
        let (_, list) = call(&test.app, "GET", &url).bearer(&owner).send().await;
        let listed = list["items"].as_array().unwrap().iter().find(|k| k["key_id"] == created["key_id"]).unwrap();
        assert!(listed["last_used_at"].is_string(), "{route} recorded no use: {listed}");
    }
}

/// The workflow engine, refusing to start anything (Step Functions throttled or down).
struct RefusingWorkflow;

#[async_trait::async_trait]
impl pivota::ports::Workflow for RefusingWorkflow {
    async fn start_kyc_wait(&self, _: &pivota::ports::KycWaitInput) -> Result<(), pivota::ports::WorkflowError> {
        Err(pivota::ports::WorkflowError::Transient("ThrottlingException".into()))
    }

    async fn kyc_wait_status(
        &self,
        _: &str,
    ) -> Result<Option<pivota::ports::WaitStatus>, pivota::ports::WorkflowError> {
        Ok(None)
    }
}

/// Registration and the KYC wait happen together or not at all: a merchant whose wait cannot start is
/// deleted again (its email freed), and the caller is told to retry.
async fn a_registration_whose_kyc_wait_cannot_start_is_undone(test: TestApp) {
    let shared = &test.app;
    let refusing = another_process(shared, |ports| ports.workflow = std::sync::Arc::new(RefusingWorkflow));
    let body = json!({"business_name": "Undone Ltd", "email": "undone@acme.example", "country": "DE", "website": "https://undone.example"});
    let (status, problem) = call(&refusing, "POST", "/merchant/register").json(body.clone()).send().await;
    assert!(status >= 500, "{status} {problem}");
    // The email is free again: the retry registers (and its wait starts).
    let (status, registered) = call(shared, "POST", "/merchant/register").json(body).send().await;
    assert_eq!(status, 201, "{registered}");
}

async fn expired_keys_stop_working(test: TestApp) {
    let (id, key) = approved_merchant(&test.app, "expiry@acme.example").await;
    let url = format!("/merchant/{id}/api-keys");
    let past = (time::OffsetDateTime::now_utc() - time::Duration::minutes(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (status, body) =
        call(&test.app, "POST", &url).bearer(&key).json(json!({"name": "old", "expires_at": past})).send().await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "expires_at");
    let soon = (time::OffsetDateTime::now_utc() + time::Duration::seconds(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (status, created) =
        call(&test.app, "POST", &url).bearer(&key).json(json!({"name": "short", "expires_at": soon})).send().await;
    assert_eq!(status, 201);
    let short = created["api_key"].as_str().unwrap();
    assert_eq!(call(&test.app, "GET", &format!("/merchant/{id}")).bearer(short).send().await.0, 200);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(call(&test.app, "GET", &format!("/merchant/{id}")).bearer(short).send().await.0, 401);
}

async fn routing_refuses_unconnected_psps_and_round_trips(test: TestApp) {
    let (id, key) = approved_merchant(&test.app, "routing@acme.example").await;
    connected_psp(&test.app, &id, &key, psps::sandbox()).await;
    let url = format!("/merchant/{id}/routing");
    let (status, body) = call(&test.app, "GET", &url).bearer(&key).send().await;
    assert_eq!((status, &body["priority"]), (200, &json!(["sandbox"])), "without a document: connection order");
    let (status, problem) = call(&test.app, "PUT", &url)
        .bearer(&key)
        .json(json!({"priority": ["sandbox"], "rules": [{"currency": "EUR", "psp": "adyen"}]}))
        .send()
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "rules[0].psp");
    let document = json!({"priority": ["sandbox"], "rules": [{"currency": "EUR", "min_amount": 100, "max_amount": 5000, "psp": "sandbox"}]});
    let (status, stored) = call(&test.app, "PUT", &url).bearer(&key).json(document.clone()).send().await;
    assert_eq!(status, 200, "{stored}");
    let (_, read) = call(&test.app, "GET", &url).bearer(&key).send().await;
    assert_eq!(read["rules"], document["rules"]);
    assert!(read["updated_at"].is_string());
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
