//! Every function's handler, driven with its sample event from `events/` (our `sam local invoke`).
//!
//! HTTP events are parsed by `lambda_http`'s own deserializer, exactly as on Lambda, and dispatched to the
//! routes of the function the file is named after. Placeholder ids and keys are swapped for real ones.

use lambda_http::{Body, Response};
use pivota::onboarding::KycRun;
use pivota::onboarding::kyc_task::{self, KycTaskOutput};
use pivota::onboarding::merchant::MerchantStatus;
use pivota::ports::{KycWaitInput, WaitStatus, Workflow};
use pivota::settings::Settings;
use pivota_http as api;
use serde_json::Value;

use crate::fixtures::{ADMIN_TOKEN, TestApp, approve, embedded_app};

mod catalog;

const PLACEHOLDER_MERCHANT: &str = "mer_01EXAMPLE00000000000000000";
const PLACEHOLDER_KEY: &str = "pvk_test_EXAMPLE000000000000000000000000";
const PLACEHOLDER_ADMIN: &str = "admin-token-EXAMPLE";

fn event_text(file: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Invokes `function` with `events/<file>`, after replacing the placeholders.
async fn invoke(test: &TestApp, function: &str, file: &str, merchant_id: &str, key: &str) -> (Response<Body>, Value) {
    invoke_with(test, function, file, merchant_id, key, &[]).await
}

/// [`invoke`], with more placeholders replaced.
async fn invoke_with(
    test: &TestApp,
    function: &str,
    file: &str,
    merchant_id: &str,
    key: &str,
    more: &[(&str, &str)],
) -> (Response<Body>, Value) {
    let mut text = event_text(file);
    for (placeholder, value) in more {
        text = text.replace(placeholder, value);
    }
    let text = text
        .replace(PLACEHOLDER_MERCHANT, merchant_id)
        .replace(PLACEHOLDER_KEY, key)
        .replace(PLACEHOLDER_ADMIN, ADMIN_TOKEN);
    let request = lambda_http::request::from_str(&text).expect("the event is a valid API Gateway v2 payload");
    let response = api::dispatch(&test.app, &api::routes::of(function), request).await;
    let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    (response, body)
}

fn request_id_of(file: &str) -> String {
    let event: Value = serde_json::from_str(&event_text(file)).unwrap();
    event["requestContext"]["requestId"].as_str().unwrap().to_owned()
}

async fn register(test: &TestApp) -> (String, String) {
    let (response, body) = invoke(test, "register", "register.json", "", "").await;
    assert_eq!(response.status(), 201, "{body}");
    (body["merchant_id"].as_str().unwrap().to_owned(), body["api_key"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn register_event_creates_a_pending_merchant_and_starts_its_wait() {
    let test = embedded_app(Settings::default()).await;
    let (response, body) = invoke(&test, "register", "register.json", "", "").await;
    assert_eq!(response.status(), 201, "{body}");
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["x-request-id"], request_id_of("register.json").as_str());
    assert_eq!(body["status"], "pending_kyc");
    assert!(body["api_key"].as_str().unwrap().starts_with("pvk_test_"));
    let id = body["merchant_id"].as_str().unwrap();
    assert_eq!(response.headers()["location"], format!("/merchant/{id}").as_str());
    assert_eq!(test.backend.as_ref().unwrap().workflow().kyc_wait_status(id).await.unwrap(), Some(WaitStatus::Waiting));

    // The same event again: the e-mail is taken.
    let (again, problem) = invoke(&test, "register", "register.json", "", "").await;
    assert_eq!(again.status(), 409);
    assert_eq!(again.headers()["content-type"], "application/problem+json");
    assert_eq!(problem["type"], "/problems/conflict");
}

#[tokio::test]
async fn merchant_get_event_needs_the_merchants_own_key() {
    let test = embedded_app(Settings::default()).await;
    let (id, key) = register(&test).await;
    let (response, body) = invoke(&test, "merchant-get", "merchant-get.json", &id, &key).await;
    assert_eq!(response.status(), 200, "{body}");
    assert_eq!(body["merchant_id"], id.as_str());
    assert_eq!(body["status"], "pending_kyc");
    assert_eq!(body["next_step"], "wait_for_kyc");
    assert!(!body.to_string().contains(&key), "the key never comes back");

    // The placeholder key in the file authenticates nobody.
    let (unknown_key, _) = invoke(&test, "merchant-get", "merchant-get.json", &id, PLACEHOLDER_KEY).await;
    assert_eq!(unknown_key.status(), 401);
    assert_eq!(unknown_key.headers()["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn kyc_approve_event_decides_once() {
    let test = embedded_app(Settings::default()).await;
    let (id, _) = register(&test).await;
    let input: KycWaitInput =
        serde_json::from_str(&event_text("kyc-approve.json").replace(PLACEHOLDER_MERCHANT, &id)).unwrap();
    let first = kyc_task::handle(&*test.app, input.clone()).await.unwrap();
    assert_eq!(
        first,
        KycTaskOutput { merchant_id: id.clone(), run: KycRun::Decided { status: MerchantStatus::Approved } }
    );
    let second = kyc_task::handle(&*test.app, input).await.unwrap();
    assert_eq!(second.run, KycRun::AlreadyDecided { status: MerchantStatus::Approved });

    // A well-formed id of no merchant (its registration was undone): nothing to do, not an error.
    let gone = KycWaitInput { merchant_id: "mer_01ARZ3NDEKTSV4RRFFQ69G5FAV".into(), wait_seconds: 5 };
    assert_eq!(kyc_task::handle(&*test.app, gone).await.unwrap().run, KycRun::UnknownMerchant);
    // The file's placeholder id is not an id at all: a fatal error, which the state machine does not retry.
    let placeholder: KycWaitInput = serde_json::from_str(&event_text("kyc-approve.json")).unwrap();
    let error = kyc_task::handle(&*test.app, placeholder).await.unwrap_err();
    assert_eq!(error.error_type(), "KycTaskError");
}

/// The state machine's `Catch` invokes kyc-approve again with the failure: a merchant still pending KYC goes
/// to manual review with the reason; one decided meanwhile is left alone.
#[tokio::test]
async fn kyc_approve_failed_event_routes_a_pending_merchant_to_manual_review() {
    let test = embedded_app(Settings::default()).await;
    let (id, key) = register(&test).await;
    let input: kyc_task::KycTaskInput =
        serde_json::from_str(&event_text("kyc-approve-failed.json").replace(PLACEHOLDER_MERCHANT, &id)).unwrap();
    let routed = kyc_task::handle_event(&*test.app, input.clone()).await.unwrap();
    assert_eq!(routed.run, KycRun::Decided { status: MerchantStatus::ManualReview });
    let (_, merchant) = invoke(&test, "merchant-get", "merchant-get.json", &id, &key).await;
    assert_eq!(merchant["status"], "manual_review", "{merchant}");
    let reason = merchant["kyc"]["decisions"][0]["reason"].as_str().or(merchant["kyc_decisions"][0]["reason"].as_str());
    assert!(format!("{merchant}").contains("the automatic KYC checks failed (KycTaskError"), "{merchant} {reason:?}");
    let again = kyc_task::handle_event(&*test.app, input).await.unwrap();
    assert_eq!(again.run, KycRun::AlreadyDecided { status: MerchantStatus::ManualReview });
}

#[tokio::test]
async fn admin_merchants_event_lists_with_the_status_filter() {
    let test = embedded_app(Settings::default()).await;
    let (id, _) = register(&test).await;
    let (response, body) = invoke(&test, "admin-merchants", "admin-merchants.json", "", "").await;
    assert_eq!(response.status(), 200, "{body}");
    assert_eq!(body["items"][0]["merchant_id"], id.as_str());
    assert_eq!(body["items"][0]["status"], "pending_kyc");
    assert_eq!(body["next_cursor"], Value::Null);
}

#[tokio::test]
async fn admin_review_events_approve_and_reject_once() {
    let test = embedded_app(Settings::default()).await;
    let (id, _) = register(&test).await;
    let (approved, body) = invoke(&test, "admin-review", "admin-review-approve.json", &id, "").await;
    assert_eq!(approved.status(), 200, "{body}");
    assert_eq!(body["status"], "approved");
    assert_eq!(body["decisions"][0]["actor"]["type"], "admin");
    let (rejected_after, problem) = invoke(&test, "admin-review", "admin-review-reject.json", &id, "").await;
    assert_eq!(rejected_after.status(), 409, "{problem}");
}

#[tokio::test]
async fn admin_review_reject_event_records_the_reason() {
    let test = embedded_app(Settings::default()).await;
    let (id, _) = register(&test).await;
    let event: Value = serde_json::from_str(&event_text("admin-review-reject.json")).unwrap();
    let sent: Value = serde_json::from_str(event["body"].as_str().unwrap()).unwrap();
    let (response, body) = invoke(&test, "admin-review", "admin-review-reject.json", &id, "").await;
    assert_eq!(response.status(), 200, "{body}");
    assert_eq!(body["status"], "rejected");
    assert_eq!(body["decisions"][0]["reason"], sent["reason"]);
}

#[tokio::test]
async fn openapi_event_serves_an_openapi_3_1_document() {
    let test = embedded_app(Settings::default()).await;
    let (response, body) = invoke(&test, "openapi", "openapi.json", "", "").await;
    assert_eq!(response.status(), 200);
    assert!(body["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(body["paths"]["/merchant/register"]["post"].is_object());
    assert_eq!(response.headers()["vary"], "accept-encoding");
    assert!(response.headers().get("content-encoding").is_none(), "no Accept-Encoding: the identity encoding");
}

#[tokio::test]
async fn openapi_event_accepting_gzip_gets_the_same_document_gzipped() {
    use std::io::Read;
    let test = embedded_app(Settings::default()).await;
    let (plain, document) = invoke(&test, "openapi", "openapi.json", "", "").await;
    let (response, _) = invoke(&test, "openapi", "openapi-gzip.json", "", "").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(
        matches!(response.body(), lambda_http::Body::Binary(_)),
        "binary, so the Lambda runtime sends it base64-encoded"
    );
    let mut text = String::new();
    flate2::read::GzDecoder::new(response.body().as_ref()).read_to_string(&mut text).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), document);
    assert!(response.body().len() * 4 < plain.body().len(), "{} bytes gzipped", response.body().len());
}

#[tokio::test]
async fn an_event_for_another_functions_route_is_not_served() {
    let test = embedded_app(Settings::default()).await;
    // POST /merchant/register reaches merchant-get's `/merchant/{merchant_id}` only by path.
    let (response, _) = invoke(&test, "merchant-get", "register.json", "", "").await;
    assert_eq!(response.status(), 405);
    let (response, _) = invoke(&test, "admin-merchants", "register.json", "", "").await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn psp_key_routing_and_payment_events_walk_the_merchant_flow() {
    let test = embedded_app(Settings::default()).await;
    let (id, key) = register(&test).await;
    approve(&test.app, &id).await;

    let (response, body) = invoke(&test, "psp-connect", "psp-connect.json", &id, &key).await;
    assert_eq!(response.status(), 201, "{body}");
    assert_eq!(body["psp"], "sandbox");
    let (response, body) = invoke(&test, "psp-connections", "psp-connections-list.json", &id, &key).await;
    assert_eq!((response.status().as_u16(), body["items"][0]["psp"].as_str()), (200, Some("sandbox")));

    let (response, created) = invoke(&test, "api-keys", "api-keys-create.json", &id, &key).await;
    assert_eq!(response.status(), 201, "{created}");
    let (response, body) = invoke(&test, "api-keys", "api-keys-list.json", &id, &key).await;
    assert_eq!((response.status().as_u16(), body["items"].as_array().unwrap().len()), (200, 2));
    let (response, _) = invoke(&test, "api-keys", "api-keys-revoke.json", &id, &key).await;
    assert_eq!(response.status(), 404, "the file's placeholder key id names no key");

    let (response, body) = invoke(&test, "routing", "routing-put.json", &id, &key).await;
    assert_eq!(response.status(), 200, "{body}");
    let (response, body) = invoke(&test, "routing", "routing-get.json", &id, &key).await;
    assert_eq!((response.status().as_u16(), &body["priority"]), (200, &serde_json::json!(["sandbox"])));

    let (response, paid) = invoke(&test, "payment-execute", "payment-execute.json", &id, &key).await;
    assert_eq!(response.status(), 200, "{paid}");
    assert_eq!(paid["status"], "succeeded");
    let (response, replay) = invoke(&test, "payment-execute", "payment-execute.json", &id, &key).await;
    assert_eq!((response.status().as_u16(), &replay), (200, &paid), "the event's Idempotency-Key replays");
    let (response, body) = invoke(&test, "payments-list", "payments-list.json", &id, &key).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body["items"][0]["payment_id"], paid["payment_id"]);

    let (response, _) = invoke(&test, "psp-connections", "psp-connections-disconnect.json", &id, &key).await;
    assert_eq!(response.status(), 204);
}

/// With `PIVOTA_PUBLIC_BASE_URL` empty (the template's default, before any custom domain), the webhook
/// address is the API's own domain from API Gateway's request context; when set, the setting wins.
#[tokio::test]
async fn without_a_public_base_url_webhooks_point_at_the_apis_own_domain() {
    use pivota::stores::url_safety::StoreUrlPolicy;
    for (configured, expected) in [
        ("", "https://pvt1ex4mpl.execute-api.us-east-1.amazonaws.com"),
        ("https://pay.acme.example", "https://pay.acme.example"),
    ] {
        let fake = pivota_fakes::FakeCustomStore::start().await.with_products(1);
        let settings = Settings {
            store_urls: StoreUrlPolicy { allow_insecure: true },
            public_base_url: configured.to_owned(),
            ..Settings::default()
        };
        let test = embedded_app(settings).await;
        let (id, key) = register(&test).await;
        approve(&test.app, &id).await;
        let connect = [
            ("https://shop.example.com", fake.uri()),
            ("custom-store-token-EXAMPLE", pivota_fakes::DEFAULT_CUSTOM_TOKEN.to_owned()),
        ];
        let connect: Vec<(&str, &str)> = connect.iter().map(|(a, b)| (*a, b.as_str())).collect();
        let (_, store) = invoke_with(&test, "store-connect", "store-connect.json", &id, &key, &connect).await;
        let store_id = store["store_id"].as_str().unwrap().to_owned();
        let with_store = [("sto_01EXAMPLE00000000000000000", store_id.as_str())];
        let (response, setup) =
            invoke_with(&test, "webhooks-setup", "webhooks-setup.json", &id, &key, &with_store).await;
        assert_eq!(response.status(), 200, "{setup}");
        let address = format!("{expected}/webhooks/custom/{store_id}");
        assert_eq!(fake.webhooks()[0].url, address, "{setup}");
    }
}

#[tokio::test]
async fn webhook_setup_delivery_payment_and_orders_events_close_the_loop() {
    use pivota::stores::url_safety::StoreUrlPolicy;
    let fake = pivota_fakes::FakeCustomStore::start().await.with_products(1);
    let settings = Settings { store_urls: StoreUrlPolicy { allow_insecure: true }, ..Settings::default() };
    let test = embedded_app(settings).await;
    let (id, key) = register(&test).await;
    approve(&test.app, &id).await;
    assert_eq!(invoke(&test, "psp-connect", "psp-connect.json", &id, &key).await.0.status(), 201);
    let store_url = fake.uri();
    let connect = [
        ("https://shop.example.com", store_url.as_str()),
        ("custom-store-token-EXAMPLE", pivota_fakes::DEFAULT_CUSTOM_TOKEN),
    ];
    let (_, store) = invoke_with(&test, "store-connect", "store-connect.json", &id, &key, &connect).await;
    let store_id = store["store_id"].as_str().unwrap().to_owned();
    let with_store = [("sto_01EXAMPLE00000000000000000", store_id.as_str())];
    let (response, setup) = invoke_with(&test, "webhooks-setup", "webhooks-setup.json", &id, &key, &with_store).await;
    assert_eq!(response.status(), 200, "{setup}");
    let secret = fake.webhooks()[0].secret.clone();

    // The delivery as the store signs it: the event's body, signed with the secret Pivota gave the store.
    let event: Value = serde_json::from_str(&event_text("order-webhook.json")).unwrap();
    let signature =
        pivota_fakes::FakeCustomStore::sign_with(&secret, "order.created", event["body"].as_str().unwrap().as_bytes());
    let delivery = [
        ("sto_01EXAMPLE00000000000000000", store_id.as_str()),
        ("t=1767225600,v1=SIGNATURE_EXAMPLE", signature.as_str()),
    ];
    let (response, body) = invoke_with(&test, "order-webhook", "order-webhook.json", &id, &key, &delivery).await;
    assert_eq!(response.status(), 200, "{body}");
    let (response, _) = invoke_with(&test, "order-webhook", "order-webhook.json", &id, &key, &with_store).await;
    assert_eq!(response.status(), 401, "the file's placeholder signature is refused");

    let (_, orders) = invoke(&test, "orders-list", "orders-list.json", &id, &key).await;
    assert_eq!(orders["items"][0]["status"], "received");
    let order_id = orders["items"][0]["order_id"].as_str().unwrap().to_owned();
    let sqs = event_text("payment-worker.json")
        .replace(PLACEHOLDER_MERCHANT, &id)
        .replace("ord_01EXAMPLE00000000000000000", &order_id);
    let sqs: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_str(&sqs).unwrap();
    let response = pivota::orders::payment_worker::handle(
        &*test.app,
        sqs,
        std::time::Instant::now() + std::time::Duration::from_secs(30),
    )
    .await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let (_, orders) = invoke(&test, "orders-list", "orders-list.json", &id, &key).await;
    assert_eq!(
        (orders["items"][0]["status"].as_str(), orders["items"][0]["write_back"].as_str()),
        (Some("paid"), Some("done"))
    );
    assert_eq!(fake.orders_marked_paid().len(), 1);
}
