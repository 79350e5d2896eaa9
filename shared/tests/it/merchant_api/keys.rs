//! API keys through the HTTP API: shown once, listed, revoked at once, expiring, and their use recorded.

use super::*;

on_both_backends!(app:
    api_keys_are_shown_once_listed_and_revoked_at_once,
    expired_keys_stop_working,
    a_keys_first_use_on_any_route_is_recorded,
);

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
