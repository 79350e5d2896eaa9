//! PSP connections, API keys, routing and payments through the HTTP API, on both backends: the embedded
//! one and the AWS adapters against moto. PSP calls go to the built-in sandbox here; `psp_fakes`
//! covers Stripe and Adyen against their local fakes.
//!
//! Here PSP connections, routing and registration; [`keys`] holds the API key cases, [`payments`] the
//! payment execution cases.

mod keys;
mod payments;

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
    a_registration_whose_kyc_wait_cannot_start_is_undone,
    routing_refuses_unconnected_psps_and_round_trips,
);

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
