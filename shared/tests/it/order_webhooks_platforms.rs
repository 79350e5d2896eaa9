//! Order webhooks from Shopify and WooCommerce end to end, through `POST /webhooks/{platform}/{store_id}`
//! with the headers each platform sends, on both backends: setup on the (fake) store, signed deliveries,
//! one Stripe charge per order, the order marked paid in the store; already-paid orders, product updates,
//! uninstall and Shopify's compliance topics. Also live mode, and the test payment method a merchant
//! configures in its routing document.

use std::time::Duration;

use pivota_fakes::{FakeShop, FakeShopify, FakeWix, FakeWooCommerce, WixCatalog};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::fixtures::{Backend, StripeMerchant, drain_payment_queue, drain_sync_queue, merged, partition, stores};

on_both_backends!(
    a_shopify_order_is_charged_once_and_marked_paid,
    shopify_deliveries_with_a_tampered_body_or_bad_hmac_get_401_and_leave_no_trace,
    a_shopify_product_update_changes_that_product_without_a_sync,
    shopify_app_uninstalled_disconnects_the_store,
    shopify_compliance_topics_redact_personal_data_and_refuse_bad_hmacs,
    shopify_compliance_topics_still_reach_a_store_the_merchant_disconnected,
    a_customer_redaction_finds_the_customers_orders_through_the_index,
    a_shopify_delivery_for_another_shop_is_refused,
    a_shopify_body_replayed_under_another_topic_is_refused,
    shopify_app_uninstalled_applies_only_once_the_token_is_revoked,
    a_shopify_product_update_applies_only_when_newer,
    a_shopify_delivery_triggered_too_long_ago_is_acknowledged_not_acted_on,
    a_woocommerce_order_is_charged_once_and_marked_paid,
    live_mode_charges_only_orders_that_carry_a_payment_method,
    test_mode_charges_the_configured_test_payment_method,
    a_wix_v3_store_connects_syncs_and_applies_its_product_events,
    wix_v1_product_events_apply_too,
);

const TEST_KEY: &str = "sk_test_51PlatformsTestKey0000";
const LIVE_KEY: &str = "sk_live_51PlatformsLiveKey0000";

// ---------------------------------------------------------------------------------------------------
// Shopify
// ---------------------------------------------------------------------------------------------------

struct Shopify {
    m: StripeMerchant,
    fake: FakeShopify,
    store_id: String,
}

async fn shopify(backend: Backend, stripe_key: &str, shop: FakeShop) -> Shopify {
    let m = StripeMerchant::connected(backend, stripe_key).await;
    let fake = FakeShopify::start(shop).await;
    let (store_id, _) = m.store_with_webhooks(stores::shopify(&fake)).await;
    Shopify { m, fake, store_id }
}

/// An `orders/create` payload as Shopify sends it (REST shape): 49.98 EUR after an edit, from customer `id + 1`.
fn shopify_order(id: u64, extra: Value) -> Vec<u8> {
    let order = json!({
        "id": id, "admin_graphql_api_id": format!("gid://shopify/Order/{id}"), "name": "#1001",
        "email": format!("buyer{id}@example.com"), "currency": "EUR", "total_price": "59.98",
        "current_total_price": "49.98", "subtotal_price": "49.98", "financial_status": "pending",
        "note_attributes": [{"name": "gift_note", "value": "Happy birthday"}],
        "line_items": [
            {"id": 466157049, "title": "Linen shirt", "quantity": 2, "sku": "LIN-M", "price": "19.99"},
            {"id": 466157050, "title": "Gift wrap", "quantity": 1, "sku": "", "price": "10.00"}
        ],
        "customer": {"id": id + 1, "email": format!("buyer{id}@example.com"), "first_name": "Jon", "last_name": "Doe"},
    });
    merged(order, extra)
}

fn paying_with(payment_method: &str) -> Value {
    json!({"note_attributes": [{"name": "pivota_payment_method", "value": payment_method}]})
}

impl Shopify {
    /// A delivery with exactly the headers Shopify sends, signed with the app's client secret.
    async fn deliver(&self, topic: &str, event_id: &str, body: &[u8]) -> u16 {
        self.deliver_with_hmac(topic, event_id, body, &self.fake.sign_webhook(body)).await.0
    }

    /// The same delivery, but with `hmac` as its `X-Shopify-Hmac-Sha256`.
    async fn deliver_with_hmac(&self, topic: &str, event_id: &str, body: &[u8], hmac: &str) -> (u16, Value) {
        self.deliver_with(topic, event_id, body, &[("x-shopify-hmac-sha256", Some(hmac.to_owned()))]).await
    }

    /// The delivery with some of Shopify's headers replaced (`Some`) or left out (`None`).
    async fn deliver_with(
        &self,
        topic: &str,
        event_id: &str,
        body: &[u8],
        changes: &[(&str, Option<String>)],
    ) -> (u16, Value) {
        let headers: Vec<(String, String)> = self
            .fake
            .delivery_headers(topic, event_id, body)
            .into_iter()
            .filter_map(|(name, value)| match changes.iter().find(|(changed, _)| *changed == name) {
                Some((_, replaced)) => replaced.clone().map(|value| (name.to_owned(), value)),
                None => Some((name.to_owned(), value)),
            })
            .collect();
        self.m.deliver("shopify", &self.store_id, &headers, body).await
    }

    /// The compliance payloads' common part: this shop.
    fn shop(&self) -> Value {
        json!({"shop_id": self.fake.shop_id(), "shop_domain": self.fake.domain()})
    }

    /// The `app/uninstalled` payload: the Shop resource.
    fn shop_resource(&self) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "id": self.fake.shop_id(), "name": "Pivota Test Shop", "domain": "shop.example",
            "myshopify_domain": self.fake.domain(), "currency": "EUR",
        }))
        .unwrap()
    }

    async fn connection_status(&self) -> Value {
        let (_, stores) = self.m.send("GET", "/stores", None).await;
        stores["items"][0]["connection_status"].clone()
    }
}

/// `X-Shopify-Triggered-At` for `ago` in the past.
fn triggered_ago(ago: Duration) -> Option<String> {
    let at = time::OffsetDateTime::now_utc() - ago;
    Some(at.format(&time::format_description::well_known::Rfc3339).unwrap())
}

/// An HMAC Shopify never made: the right shape, keyed with another secret.
fn forged_hmac(body: &[u8]) -> String {
    use base64::Engine as _;
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"not-the-app-secret").unwrap();
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

async fn a_shopify_order_is_charged_once_and_marked_paid(backend: Backend) {
    let s = shopify(backend, TEST_KEY, FakeShop::default()).await;
    let subscriptions = s.fake.subscriptions();
    let topics: Vec<&str> = subscriptions.iter().map(|w| w.topic.as_str()).collect();
    assert_eq!(topics, ["ORDERS_CREATE", "PRODUCTS_UPDATE", "APP_UNINSTALLED"]);
    assert!(subscriptions.iter().all(|w| w.uri == s.m.webhook_address("shopify", &s.store_id)), "{subscriptions:?}");

    let body = shopify_order(820982911946154508, json!({}));
    assert_eq!(s.deliver("orders/create", "evt-1", &body).await, 200);
    assert_eq!(s.deliver("orders/create", "evt-1", &body).await, 200, "Shopify may deliver twice");
    let received = s.m.order("820982911946154508").await;
    assert_eq!((received["status"].as_str(), received["amount"].as_i64()), (Some("received"), Some(4998)));
    assert_eq!(received["currency"], "EUR");
    assert_eq!(received["line_items"][0]["price_minor"], 1999);
    drain_payment_queue(&s.m.test.app).await;

    assert_eq!(s.m.stripe.charges(), 1);
    assert_eq!(s.m.charged("amount"), ["4998"]);
    assert_eq!(s.m.charged("currency"), ["eur"]);
    let orders = s.m.orders().await;
    assert_eq!(orders.len(), 1);
    let paid = &orders[0];
    assert_eq!((paid["status"].as_str(), paid["write_back"].as_str()), (Some("paid"), Some("done")), "{paid}");
    assert_eq!(paid["psp"], "stripe");
    assert!(paid["psp_reference"].as_str().is_some_and(|r| r.starts_with("pi_")), "{paid}");
    assert_eq!(s.fake.orders_marked_paid(), ["gid://shopify/Order/820982911946154508"]);

    // An order paid at checkout is recorded and not charged.
    let already_paid = shopify_order(820982911946154509, json!({"financial_status": "paid"}));
    assert_eq!(s.deliver("orders/create", "evt-2", &already_paid).await, 200);
    drain_payment_queue(&s.m.test.app).await;
    let recorded = s.m.order("820982911946154509").await;
    assert_eq!(
        (recorded["status"].as_str(), recorded["write_back"].as_str()),
        (Some("already_paid"), Some("not_needed"))
    );
    assert_eq!(s.m.stripe.charges(), 1);
    assert_eq!(s.fake.orders_marked_paid().len(), 1);
}

async fn shopify_deliveries_with_a_tampered_body_or_bad_hmac_get_401_and_leave_no_trace(backend: Backend) {
    let s = shopify(backend, TEST_KEY, FakeShop::default()).await;
    let body = shopify_order(1001, json!({}));
    let tampered = String::from_utf8(body.clone()).unwrap().replace("49.98", "0.01").into_bytes();
    let (status, problem) = s.deliver_with_hmac("orders/create", "evt-x", &tampered, &s.fake.sign_webhook(&body)).await;
    assert_eq!(status, 401, "a tampered body: {problem}");
    assert_eq!(problem["status"], 401, "a problem+json body: {problem}");
    for hmac in [forged_hmac(&body), "not base64!".to_owned(), String::new()] {
        assert_eq!(s.deliver_with_hmac("orders/create", "evt-x", &body, &hmac).await.0, 401, "{hmac:?}");
    }

    assert!(s.m.orders().await.is_empty());
    assert_eq!(drain_payment_queue(&s.m.test.app).await, 0, "nothing was queued");
    assert_eq!(s.m.stripe.payment_intent_requests().len(), 0);
    // The same event, correctly signed, is then accepted: the refusals left no dedupe record behind.
    assert_eq!(s.deliver("orders/create", "evt-x", &body).await, 200);
    assert_eq!(s.m.orders().await.len(), 1);
}

async fn a_shopify_product_update_changes_that_product_without_a_sync(backend: Backend) {
    let s = shopify(backend, TEST_KEY, FakeShop::default().with_products(3)).await;
    let (status, job) = s.m.send("POST", &format!("/store/{}/sync", s.store_id), None).await;
    assert_eq!(status, 202, "{job}");
    drain_sync_queue(&s.m.test.app, Duration::from_secs(60)).await;
    let before = s.m.products().await;
    assert_eq!(before.len(), 3);
    let pages_served = s.fake.pages_served();
    let sync_job = s.m.last_sync_job().await;
    assert_eq!(sync_job["state"], "succeeded", "{sync_job}");

    let target = before.iter().find(|p| p["external_id"] == s.fake.product_id(1)).unwrap();
    let numeric_id = |gid: &str| gid.rsplit('/').next().unwrap().parse::<u64>().unwrap();
    let variants: Vec<Value> = target["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let id = v["variant_id"].as_str().unwrap();
            json!({"id": numeric_id(id), "admin_graphql_api_id": id, "title": v["title"], "sku": v["sku"], "price": "123.45", "inventory_quantity": 8})
        })
        .collect();
    let product = |title: &str| {
        serde_json::to_vec(&json!({
            "id": numeric_id(&s.fake.product_id(1)), "admin_graphql_api_id": s.fake.product_id(1), "title": title,
            "status": "active", "updated_at": "2026-07-10T14:00:00+02:00", "variants": variants,
        }))
        .unwrap()
    };
    assert_eq!(s.deliver("products/update", "evt-p1", &product("Renamed product")).await, 200);
    // The same event again (another body, so a replay would show): a duplicate, ignored.
    assert_eq!(s.deliver("products/update", "evt-p1", &product("Replayed")).await, 200);

    let after = s.m.products().await;
    assert_eq!(after.len(), 3);
    let updated = after.iter().find(|p| p["external_id"] == s.fake.product_id(1)).unwrap();
    assert_eq!(updated["title"], "Renamed product");
    assert!(updated["variants"].as_array().unwrap().iter().all(|v| v["price_minor"] == 12345), "{updated}");
    let others = |list: &[Value]| -> Vec<Value> {
        list.iter().filter(|p| p["external_id"] != s.fake.product_id(1)).cloned().collect()
    };
    assert_eq!(others(&after), others(&before), "the other products are untouched");
    assert_eq!(s.fake.pages_served(), pages_served, "the catalog was not read again");
    assert_eq!(s.m.last_sync_job().await, sync_job, "no sync job was started");
}

async fn shopify_app_uninstalled_disconnects_the_store(backend: Backend) {
    let s = shopify(backend, TEST_KEY, FakeShop::default().with_products(2)).await;
    let (status, job) = s.m.send("POST", &format!("/store/{}/sync", s.store_id), None).await;
    assert_eq!(status, 202, "{job}");
    drain_sync_queue(&s.m.test.app, Duration::from_secs(60)).await;
    assert_eq!(s.m.products().await.iter().filter(|p| p["status"] == "active").count(), 2);
    assert_eq!(s.deliver("orders/create", "evt-before", &shopify_order(5, json!({}))).await, 200);
    // The merchant uninstalls the app: Shopify revokes the token, then notifies.
    s.fake.uninstall_app();
    assert_eq!(s.deliver("app/uninstalled", "evt-u", &s.shop_resource()).await, 200);
    // Acknowledged at once: the products' removal is a queued task.
    assert_eq!(s.m.products().await.iter().filter(|p| p["status"] == "active").count(), 2);
    // A retry of the notice (its first attempt's queueing may have failed) is acknowledged too.
    assert_eq!(s.deliver("app/uninstalled", "evt-u", &s.shop_resource()).await, 200);
    drain_sync_queue(&s.m.test.app, Duration::from_secs(60)).await;
    // The uninstalled store stays listed, as such, with no webhooks left, for the merchant to reconnect.
    let (_, stores) = s.m.send("GET", "/stores", None).await;
    assert_eq!(stores["items"].as_array().unwrap().len(), 1, "{stores}");
    assert_eq!(stores["items"][0]["connection_status"], "uninstalled", "{stores}");
    assert_eq!(stores["items"][0]["webhooks"], json!([]), "{stores}");
    // As after a disconnect by the merchant, the store's products leave the catalog.
    let products = s.m.products().await;
    assert!(products.iter().all(|p| p["status"] == "removed"), "{products:?}");
    let (status, problem) = s.m.send("POST", &format!("/store/{}/webhooks/setup", s.store_id), None).await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("uninstalled"), "{problem}");
    let (status, problem) = s.m.send("POST", &format!("/store/{}/sync", s.store_id), None).await;
    assert_eq!(status, 409, "nothing syncs from an uninstalled store: {problem}");
    // Orders to an uninstalled store are refused.
    assert_eq!(s.deliver("orders/create", "evt-after", &shopify_order(7, json!({}))).await, 401);
    assert_eq!(s.m.orders().await.len(), 1);

    // Shopify sends shop/redact 48 hours after the uninstall: still verified, and acted on.
    let shop_redact = serde_json::to_vec(&s.shop()).unwrap();
    assert_eq!(s.deliver_with_hmac("shop/redact", "evt-r", &shop_redact, &forged_hmac(&shop_redact)).await.0, 401);
    assert!(s.m.order("5").await["customer"].is_object());
    assert_eq!(s.deliver("shop/redact", "evt-r", &shop_redact).await, 200);
    drain_sync_queue(&s.m.test.app, Duration::from_secs(60)).await;
    assert!(s.m.order("5").await["customer"].is_null(), "the customer's data is gone");
}

async fn shopify_compliance_topics_redact_personal_data_and_refuse_bad_hmacs(backend: Backend) {
    let s = shopify(backend, TEST_KEY, FakeShop::default()).await;
    for id in [11, 21, 31] {
        assert_eq!(s.deliver("orders/create", &format!("evt-{id}"), &shopify_order(id, json!({}))).await, 200);
    }
    let shop = s.shop();
    let data_request = merged(
        shop.clone(),
        json!({"orders_requested": [11], "customer": {"id": 12, "email": "buyer11@example.com", "phone": null}, "data_request": {"id": 9999}}),
    );
    let customer_redact = merged(
        shop.clone(),
        json!({"customer": {"id": 12, "email": "buyer11@example.com", "phone": null}, "orders_to_redact": [11]}),
    );
    let shop_redact = serde_json::to_vec(&shop).unwrap();
    let topics = [
        ("customers/data_request", &data_request),
        ("customers/redact", &customer_redact),
        ("shop/redact", &shop_redact),
    ];
    for (topic, body) in topics {
        assert_eq!(s.deliver_with_hmac(topic, "evt-c", body, &forged_hmac(body)).await.0, 401, "{topic}");
    }
    let customers = |orders: Vec<Value>| -> Vec<(String, Value)> {
        let mut all: Vec<(String, Value)> = orders
            .into_iter()
            .map(|o| (o["external_id"].as_str().unwrap().to_owned(), o["customer"].clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    };
    let held = customers(s.m.orders().await);
    assert!(
        held.iter().all(|(_, customer)| customer["email"].is_string() && customer["name"] == "Jon Doe"),
        "{held:?}"
    );

    assert_eq!(s.deliver("customers/data_request", "evt-c1", &data_request).await, 200);
    assert_eq!(customers(s.m.orders().await), held, "a data request changes nothing");
    assert_eq!(s.deliver("customers/redact", "evt-c2", &customer_redact).await, 200);
    assert_eq!(customers(s.m.orders().await), held, "acknowledged before the redaction task runs");
    drain_sync_queue(&s.m.test.app, Duration::from_secs(60)).await;
    let after = customers(s.m.orders().await);
    assert_eq!(after[0], ("11".to_owned(), Value::Null), "that customer's data is gone");
    assert_eq!(after[1..], held[1..], "the other customers' data is kept");
    assert!(!serde_json::to_string(&s.m.orders().await).unwrap().contains("buyer11@example.com"));

    assert_eq!(s.deliver("shop/redact", "evt-c3", &shop_redact).await, 200);
    drain_sync_queue(&s.m.test.app, Duration::from_secs(60)).await;
    assert!(customers(s.m.orders().await).iter().all(|(_, customer)| customer.is_null()));
    assert!(!serde_json::to_string(&s.m.orders().await).unwrap().contains("@example.com"));
}

async fn a_shopify_delivery_for_another_shop_is_refused(backend: Backend) {
    let s = shopify(backend, TEST_KEY, FakeShop::default()).await;
    let body = shopify_order(71, json!({}));
    let other = Some("other-shop.myshopify.com".to_owned());
    let (status, problem) = s.deliver_with("orders/create", "evt-71", &body, &[("x-shopify-shop-domain", other)]).await;
    assert_eq!(status, 403, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("X-Shopify-Shop-Domain"), "{problem}");
    let (status, problem) = s.deliver_with("orders/create", "evt-71", &body, &[("x-shopify-shop-domain", None)]).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "X-Shopify-Shop-Domain", "{problem}");
    assert!(s.m.orders().await.is_empty(), "nothing recorded");
    // The domain is compared as Shopify's domains are: without regard to case.
    let upper = Some(s.fake.domain().to_uppercase());
    assert_eq!(s.deliver_with("orders/create", "evt-71", &body, &[("x-shopify-shop-domain", upper)]).await.0, 200);
    assert_eq!(s.m.orders().await.len(), 1);

    // A compliance payload naming another shop (its id or its domain) redacts nothing.
    let customer = json!({"customer": {"id": 72, "email": "buyer71@example.com"}, "orders_to_redact": [71]});
    let other_id = merged(json!({"shop_id": 1, "shop_domain": s.fake.domain()}), customer.clone());
    let other_domain =
        merged(json!({"shop_id": s.fake.shop_id(), "shop_domain": "other-shop.myshopify.com"}), customer);
    for body in [other_id, other_domain] {
        let (status, problem) = s.deliver_with("customers/redact", "evt-r", &body, &[]).await;
        assert_eq!(status, 403, "{problem}");
    }
    assert!(s.m.order("71").await["customer"].is_object(), "the customer's data is kept");
}

async fn a_shopify_body_replayed_under_another_topic_is_refused(backend: Backend) {
    let s = shopify(backend, TEST_KEY, FakeShop::default()).await;
    let order = shopify_order(81, json!({}));
    assert_eq!(s.deliver("orders/create", "evt-81", &order).await, 200);
    // The HMAC covers the body only: the captured order, correctly signed, sent under other topics.
    for topic in ["customers/redact", "shop/redact", "app/uninstalled", "products/update"] {
        let (status, problem) = s.deliver_with(topic, &format!("evt-{topic}"), &order, &[]).await;
        assert_eq!(status, 422, "{topic}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "body", "{problem}");
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains(topic), "{problem}");
    }
    // A customer's redaction replayed as `shop/redact` would erase every customer.
    let customer_redact =
        merged(s.shop(), json!({"customer": {"id": 82, "email": "buyer81@example.com"}, "orders_to_redact": [81]}));
    assert_eq!(s.deliver_with("shop/redact", "evt-sr", &customer_redact, &[]).await.0, 422);
    // Even once the token is revoked, an order body does not uninstall the store.
    s.fake.uninstall_app();
    assert_eq!(s.deliver_with("app/uninstalled", "evt-u", &order, &[]).await.0, 422);
    assert_eq!(s.connection_status().await, "connected");
    assert!(s.m.order("81").await["customer"].is_object(), "nothing was redacted");
    // Each body under its own topic is acted on.
    assert_eq!(s.deliver("customers/redact", "evt-cr", &customer_redact).await, 200);
    drain_sync_queue(&s.m.test.app, Duration::from_secs(60)).await;
    assert!(s.m.order("81").await["customer"].is_null());
}

async fn shopify_app_uninstalled_applies_only_once_the_token_is_revoked(backend: Backend) {
    let s = shopify(backend, TEST_KEY, FakeShop::default()).await;
    let notice = s.shop_resource();
    // A genuine notice (a reinstall since, or a replay) while the shop still accepts the token: ignored.
    assert_eq!(s.deliver("app/uninstalled", "evt-u1", &notice).await, 200);
    assert_eq!(s.connection_status().await, "connected");
    assert_eq!(s.fake.subscriptions().len(), 3, "the subscriptions are kept");
    // Shopify cannot be asked: 503, so that Shopify delivers it again.
    s.fake.fail_next(1, pivota_fakes::FakeFailure::Http503);
    let (status, problem) = s.deliver_with("app/uninstalled", "evt-u2", &notice, &[]).await;
    assert_eq!(status, 503, "{problem}");
    assert_eq!(s.connection_status().await, "connected");
    // Uninstalled: the token is refused (401), which confirms it.
    s.fake.uninstall_app();
    assert_eq!(s.deliver("app/uninstalled", "evt-u2", &notice).await, 200);
    assert_eq!(s.connection_status().await, "uninstalled");
}

async fn a_shopify_product_update_applies_only_when_newer(backend: Backend) {
    let s = shopify(backend, TEST_KEY, FakeShop::default()).await;
    let product = |title: &str, updated_at: &str| {
        serde_json::to_vec(&json!({
            "id": 632910392, "admin_graphql_api_id": "gid://shopify/Product/632910392", "title": title,
            "status": "active", "updated_at": updated_at,
            "variants": [{"id": 808950810, "title": "Default Title", "sku": "IPOD", "price": "199.00"}],
        }))
        .unwrap()
    };
    let title = || async {
        let products = s.m.products().await;
        products.iter().find(|p| p["external_id"] == "gid://shopify/Product/632910392").unwrap()["title"].clone()
    };
    assert_eq!(s.deliver("products/update", "evt-p1", &product("iPod v2", "2026-07-10T14:00:00+02:00")).await, 200);
    assert_eq!(title().await, "iPod v2");
    // Delivered late, out of order: an older update, and one of the same instant, change nothing.
    assert_eq!(s.deliver("products/update", "evt-p0", &product("iPod v1", "2026-07-10T11:59:59Z")).await, 200);
    assert_eq!(s.deliver("products/update", "evt-p1b", &product("iPod v2 again", "2026-07-10T12:00:00Z")).await, 200);
    assert_eq!(title().await, "iPod v2");
    assert_eq!(s.deliver("products/update", "evt-p2", &product("iPod v3", "2026-07-10T12:00:01Z")).await, 200);
    assert_eq!(title().await, "iPod v3");
}

async fn a_shopify_delivery_triggered_too_long_ago_is_acknowledged_not_acted_on(backend: Backend) {
    let s = shopify(backend, TEST_KEY, FakeShop::default()).await;
    let at = |ago: Duration| [("x-shopify-triggered-at", triggered_ago(ago))];
    let hours = |h: u64| Duration::from_secs(h * 3600);
    // Shopify's last retry comes about 4 hours after the event, with the original time: still acted on.
    let retried = shopify_order(91, json!({}));
    assert_eq!(s.deliver_with("orders/create", "evt-91", &retried, &at(hours(5))).await.0, 200);
    assert_eq!(s.m.orders().await.len(), 1);
    // Past the window: acknowledged (so Shopify stops), not recorded, not charged.
    let stale = shopify_order(92, json!({}));
    assert_eq!(s.deliver_with("orders/create", "evt-92", &stale, &at(hours(7))).await.0, 200);
    let shop_redact = serde_json::to_vec(&s.shop()).unwrap();
    assert_eq!(s.deliver_with("shop/redact", "evt-sr", &shop_redact, &at(hours(7))).await.0, 200);
    assert_eq!(s.m.orders().await.len(), 1, "the stale order was not recorded");
    assert!(s.m.order("91").await["customer"].is_object(), "the stale redaction was not applied");
    // Missing, unreadable or in the future: refused, naming the header.
    let in_an_hour = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let future = Some(in_an_hour.format(&time::format_description::well_known::Rfc3339).unwrap());
    for value in [None, Some("yesterday".to_owned()), future] {
        let (status, problem) =
            s.deliver_with("orders/create", "evt-92", &stale, &[("x-shopify-triggered-at", value.clone())]).await;
        assert_eq!(status, 400, "{value:?}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "X-Shopify-Triggered-At", "{problem}");
    }
    assert_eq!(s.m.orders().await.len(), 1);
    drain_payment_queue(&s.m.test.app).await;
    assert_eq!(s.m.stripe.charges(), 1, "only the order within the window was charged");
}

// ---------------------------------------------------------------------------------------------------
// WooCommerce
// ---------------------------------------------------------------------------------------------------

/// An order-created payload (the `wc/v3` order): 42.50 EUR.
fn woo_order(id: u64, extra: Value) -> Vec<u8> {
    let order = json!({
        "id": id, "number": id.to_string(), "status": "pending", "currency": "EUR", "total": "42.50",
        "shipping_total": "2.50", "date_paid": null, "customer_id": 7,
        "billing": {"first_name": "Ada", "last_name": "Buyer", "email": "ada@example.com"},
        "meta_data": [{"id": 901, "key": "_wc_order_attribution_source_type", "value": "typein"}],
        "line_items": [{"id": 1, "name": "Mug", "product_id": 12, "quantity": 2, "subtotal": "40.00", "total": "40.00", "sku": "MUG", "price": 20}],
    });
    merged(order, extra)
}

async fn a_woocommerce_order_is_charged_once_and_marked_paid(backend: Backend) {
    let m = StripeMerchant::connected(backend, TEST_KEY).await;
    let fake = FakeWooCommerce::start().await.with_orders(&[5001, 5002, 5003, 5004]);
    let (store_id, setup) = m.store_with_webhooks(stores::woocommerce(&fake)).await;
    let hooks = fake.webhooks();
    let topics: Vec<&str> = hooks.iter().map(|h| h.topic.as_str()).collect();
    assert_eq!(topics, ["order.created", "product.updated"]);
    assert!(
        hooks.iter().all(|h| h.delivery_url == m.webhook_address("woocommerce", &store_id) && h.status == "active")
    );
    // Pivota generated the secret, and holds it only in the secret store.
    let secret = hooks[0].secret.clone();
    assert!(secret.len() >= 32 && hooks.iter().all(|h| h.secret == secret));
    assert!(!setup.to_string().contains(&secret));
    for pk in [format!("MERCHANT#{}", m.id), format!("STORE#{store_id}")] {
        for item in partition(&m.test.app, &pk).await {
            assert!(!serde_json::to_string(&item.attrs).unwrap().contains(&secret), "the secret in {:?}", item.key);
        }
    }
    let secret_ref = format!("{}/merchants/{}/stores/{store_id}", m.test.app.settings.secret_namespace, m.id);
    let held = m.test.app.secrets.get(&secret_ref).await.unwrap().expect("the store's secret");
    assert!(held.expose_secret().contains(&secret));

    // The creation ping: unsigned, a form body, nothing recorded.
    let ping = [("content-type".to_owned(), "application/x-www-form-urlencoded".to_owned())];
    assert_eq!(m.deliver("woocommerce", &store_id, &ping, b"webhook_id=1").await.0, 200);
    assert!(m.orders().await.is_empty());
    assert_eq!(drain_payment_queue(&m.test.app).await, 0);

    let body = woo_order(5001, json!({}));
    let headers = FakeWooCommerce::delivery_headers(&secret, "order.created", "d-1", &body);
    let tampered = String::from_utf8(body.clone()).unwrap().replace("42.50", "0.50").into_bytes();
    assert_eq!(m.deliver("woocommerce", &store_id, &headers, &tampered).await.0, 401);
    assert_eq!(m.deliver("woocommerce", &store_id, &headers, &body).await.0, 200);
    assert_eq!(m.deliver("woocommerce", &store_id, &headers, &body).await.0, 200, "the same Delivery-ID again");
    assert_eq!(m.orders().await.len(), 1, "no second order");
    drain_payment_queue(&m.test.app).await;

    assert_eq!(m.stripe.charges(), 1);
    assert_eq!(m.charged("amount"), ["4250"]);
    let paid = m.order("5001").await;
    assert_eq!((paid["status"].as_str(), paid["write_back"].as_str()), (Some("paid"), Some("done")), "{paid}");
    assert_eq!(paid["customer"]["email"], "ada@example.com");
    let reference = paid["psp_reference"].as_str().unwrap().to_owned();
    assert_eq!(fake.orders_marked_paid(), [("5001".to_owned(), reference)], "set_paid with the PSP reference");

    // Two orders delivered by one webhook within one second share WooCommerce's delivery id: both are
    // recorded and charged once.
    let same_second = FakeWooCommerce::delivery_id(1, 1_780_000_000);
    for id in [5003, 5004] {
        let body = woo_order(id, json!({}));
        let headers = FakeWooCommerce::delivery_headers(&secret, "order.created", &same_second, &body);
        assert_eq!(m.deliver("woocommerce", &store_id, &headers, &body).await.0, 200);
        assert_eq!(m.deliver("woocommerce", &store_id, &headers, &body).await.0, 200, "and a redelivery");
    }
    drain_payment_queue(&m.test.app).await;
    for id in ["5003", "5004"] {
        assert_eq!(m.order(id).await["status"], "paid", "order {id}");
    }
    assert_eq!(m.stripe.charges(), 3);

    // `date_paid` set: recorded, not charged, not written back.
    let already_paid = woo_order(5002, json!({"date_paid": "2026-07-10T12:00:00", "status": "processing"}));
    let headers = FakeWooCommerce::delivery_headers(&secret, "order.created", "d-2", &already_paid);
    assert_eq!(m.deliver("woocommerce", &store_id, &headers, &already_paid).await.0, 200);
    drain_payment_queue(&m.test.app).await;
    assert_eq!(m.order("5002").await["status"], "already_paid");
    assert_eq!(m.stripe.charges(), 3);
    assert_eq!(fake.orders_marked_paid().len(), 3);
}

// ---------------------------------------------------------------------------------------------------
// Which payment method is charged
// ---------------------------------------------------------------------------------------------------

async fn live_mode_charges_only_orders_that_carry_a_payment_method(backend: Backend) {
    let s = shopify(backend, LIVE_KEY, FakeShop::default()).await;
    let (_, connections) = s.m.send("GET", "/psp", None).await;
    assert_eq!(connections["items"][0]["mode"], "live", "{connections}");
    assert_eq!(s.deliver("orders/create", "evt-1", &shopify_order(1, json!({}))).await, 200);
    drain_payment_queue(&s.m.test.app).await;
    assert_eq!(s.m.order("1").await["status"], "awaiting_payment_method");
    assert_eq!(s.m.stripe.payment_intent_requests().len(), 0, "no charge was even attempted");

    let body = shopify_order(2, paying_with("pm_card_mastercard"));
    assert_eq!(s.deliver("orders/create", "evt-2", &body).await, 200);
    drain_payment_queue(&s.m.test.app).await;
    let paid = s.m.order("2").await;
    assert_eq!((paid["status"].as_str(), paid["write_back"].as_str()), (Some("paid"), Some("done")), "{paid}");
    assert_eq!(s.m.stripe.charges(), 1);
    assert_eq!(s.m.charged("payment_method"), ["pm_card_mastercard"]);
    assert_eq!(s.m.order("1").await["status"], "awaiting_payment_method", "still not charged");
}

async fn test_mode_charges_the_configured_test_payment_method(backend: Backend) {
    let s = shopify(backend, TEST_KEY, FakeShop::default()).await;
    let (status, routing) = s.m.send("GET", "/routing", None).await;
    assert_eq!((status, &routing["test_payment_method"]), (200, &Value::Null), "none configured yet: {routing}");
    for malformed in [json!("pm card visa"), json!(""), json!("x".repeat(256)), json!(42)] {
        let document = json!({"priority": ["stripe"], "test_payment_method": malformed});
        let (status, problem) = s.m.send("PUT", "/routing", Some(document)).await;
        assert_eq!(status, 422, "{malformed}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "test_payment_method", "{problem}");
    }
    let document = json!({"priority": ["stripe"], "test_payment_method": "pm_card_mastercard"});
    let (status, stored) = s.m.send("PUT", "/routing", Some(document)).await;
    assert_eq!(status, 200, "{stored}");
    assert_eq!(stored["test_payment_method"], "pm_card_mastercard");
    assert_eq!(s.m.send("GET", "/routing", None).await.1["test_payment_method"], "pm_card_mastercard");

    assert_eq!(s.deliver("orders/create", "evt-1", &shopify_order(1, json!({}))).await, 200);
    // The order's own payment method wins over the configured one.
    assert_eq!(s.deliver("orders/create", "evt-2", &shopify_order(2, paying_with("pm_card_amex"))).await, 200);
    drain_payment_queue(&s.m.test.app).await;
    assert_eq!(s.m.stripe.charges(), 2);
    let mut charged = s.m.charged("payment_method");
    charged.sort();
    assert_eq!(charged, ["pm_card_amex", "pm_card_mastercard"]);
    for id in ["1", "2"] {
        assert_eq!(s.m.order(id).await["status"], "paid");
    }
}

async fn shopify_compliance_topics_still_reach_a_store_the_merchant_disconnected(backend: Backend) {
    let s = shopify(backend, TEST_KEY, FakeShop::default()).await;
    for id in [41, 51] {
        assert_eq!(s.deliver("orders/create", &format!("evt-{id}"), &shopify_order(id, json!({}))).await, 200);
    }
    let (status, _) = s.m.send("DELETE", &format!("/store/{}", s.store_id), None).await;
    assert_eq!(status, 204);
    // The access token is gone, the webhook secret kept alone: orders are refused, compliance is served.
    let secrets = &s.m.test.app.secrets;
    let main = format!("{}/merchants/{}/stores/{}", s.m.test.app.settings.secret_namespace, s.m.id, s.store_id);
    assert!(secrets.get(&main).await.unwrap().is_none());
    let alone = secrets.get(&format!("{main}/webhook-only")).await.unwrap().expect("the webhook secret is kept");
    assert!(!alone.expose_secret().contains(&s.fake.access_token()), "no credential that reaches the store");
    assert_eq!(s.deliver("orders/create", "evt-61", &shopify_order(61, json!({}))).await, 401);
    let shop = s.shop();
    let customer_redact = merged(
        shop.clone(),
        json!({"customer": {"id": 42, "email": "buyer41@example.com", "phone": null}, "orders_to_redact": [41]}),
    );
    assert_eq!(
        s.deliver_with_hmac("customers/redact", "evt-r1", &customer_redact, &forged_hmac(&customer_redact)).await.0,
        401
    );
    let (status, answer) = s
        .deliver_with_hmac("customers/redact", "evt-r1", &customer_redact, &s.fake.sign_webhook(&customer_redact))
        .await;
    assert_eq!(status, 200, "{answer}");
    drain_sync_queue(&s.m.test.app, Duration::from_secs(60)).await;
    assert!(s.m.order("41").await["customer"].is_null(), "that customer's data is gone");
    assert!(s.m.order("51").await["customer"].is_object(), "the other customer's stays");
    // shop/redact is the shop's last delivery: it redacts everything, and the secret goes too.
    let shop_redact = serde_json::to_vec(&shop).unwrap();
    assert_eq!(s.deliver("shop/redact", "evt-r2", &shop_redact).await, 200);
    drain_sync_queue(&s.m.test.app, Duration::from_secs(60)).await;
    assert!(s.m.order("51").await["customer"].is_null());
    assert_eq!(s.deliver("customers/redact", "evt-r3", &customer_redact).await, 401, "nothing left to verify with");
}

/// `customers/redact` reads the customer links of the identifiers it names (keyed hashes: no personal data
/// in any key), never the store's other orders, and runs as a task after the acknowledgement.
async fn a_customer_redaction_finds_the_customers_orders_through_the_index(backend: Backend) {
    let s = shopify(backend, TEST_KEY, FakeShop::default()).await;
    let customer = |id: u64, email: &str| json!({"customer": {"id": id, "email": email, "first_name": "Jon"}});
    // GIVEN customer 12's orders (one under its e-mail in capitals), another customer's, and one of a
    // customer record that shares customer 12's e-mail
    let orders = [
        (11, customer(12, "buyer11@example.com")),
        (13, customer(12, "BUYER11@example.com")),
        (21, customer(22, "buyer21@example.com")),
        (31, customer(99, "buyer11@example.com")),
    ];
    for (id, who) in orders {
        assert_eq!(s.deliver("orders/create", &format!("evt-{id}"), &shopify_order(id, who)).await, 200);
    }
    let app = &s.m.test.app;
    let merchant_id = pivota::onboarding::merchant::MerchantId::parse(&s.m.id).unwrap();
    let store = pivota::stores::get(app, &merchant_id, &s.store_id).await.unwrap();
    let credentials = pivota::stores::credentials(app, &store).await.unwrap();
    let wanted = pivota::stores::platforms::Customer {
        external_id: Some("12".into()),
        email: Some("buyer11@example.com".into()),
        name: None,
    };
    let keys = pivota::orders::redaction::customer_index_keys(&credentials, &s.store_id, &wanted);
    assert_eq!(keys.len(), 2, "one link partition per identifier");
    let store_id = s.store_id.clone();
    let links = |key: String| {
        let pk = format!("CUSTOMER#{store_id}#{key}");
        async move {
            let items = partition(app, &pk).await;
            items.iter().map(|item| item.attrs["order_id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    let order_id = |external: &str| pivota::orders::order_id(&s.store_id, external);
    let mut by_id = links(keys[0].clone()).await;
    by_id.sort();
    let mut expected = vec![order_id("11"), order_id("13")];
    expected.sort();
    assert_eq!(by_id, expected, "the customer id's links");
    assert_eq!(links(keys[1].clone()).await.len(), 3, "the e-mail's links, case aside");
    for key in &keys {
        assert!(!key.contains("buyer") && !key.contains('@') && key.len() == 32, "a keyed hash: {key}");
    }

    // WHEN the redaction request comes THEN it is acknowledged before anything is redacted
    let request =
        merged(s.shop(), json!({"customer": {"id": 12, "email": "buyer11@example.com"}, "orders_to_redact": [11, 13]}));
    assert_eq!(s.deliver("customers/redact", "evt-cr", &request).await, 200);
    assert!(s.m.order("11").await["customer"].is_object(), "nothing redacted inside the delivery");
    drain_sync_queue(app, Duration::from_secs(60)).await;

    // THEN the linked orders are redacted, the other customer's kept, the links gone, each order counted once
    for external in ["11", "13", "31"] {
        assert!(s.m.order(external).await["customer"].is_null(), "order {external}");
    }
    assert!(s.m.order("21").await["customer"].is_object(), "the other customer's data is kept");
    for key in keys {
        assert!(links(key).await.is_empty());
    }
    let tasks: Vec<Value> = partition(app, &format!("MERCHANT#{}", s.m.id))
        .await
        .into_iter()
        .filter(|item| item.key.sk.starts_with("STORETASK#"))
        .map(|item| Value::Object(item.attrs))
        .collect();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!((tasks[0]["state"].as_str(), tasks[0]["affected"].as_u64()), (Some("succeeded"), Some(3)), "{tasks:?}");
    assert!(!serde_json::to_string(&tasks).unwrap().contains("buyer11"), "no personal data in the task");
}

// ---------------------------------------------------------------------------------------------------
// Wix
// ---------------------------------------------------------------------------------------------------

/// A merchant with a Wix site on `catalog` connected and synced.
async fn wix_synced(backend: Backend, catalog: WixCatalog, products: u64) -> (StripeMerchant, FakeWix, String) {
    let m = StripeMerchant::connected(backend, TEST_KEY).await;
    let fake = FakeWix::start().await.with_catalog(catalog).with_products(products);
    let (store_id, _) = m.store_with_webhooks(stores::wix(&fake)).await;
    m.sync(&store_id, Duration::from_secs(60)).await;
    (m, fake, store_id)
}

fn by_external_id(products: &[Value], external_id: &str) -> Value {
    products.iter().find(|p| p["external_id"] == external_id).cloned().unwrap_or_else(|| panic!("no {external_id}"))
}

async fn a_wix_v3_store_connects_syncs_and_applies_its_product_events(backend: Backend) {
    let (m, fake, store_id) = wix_synced(backend, WixCatalog::V3, 8).await;
    let products = m.products().await;
    assert_eq!(products.len(), 8);
    let mug = by_external_id(&products, &FakeWix::product_id(8));
    assert_eq!(mug["currency"], "USD");
    let variants = mug["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    assert_eq!(variants[1]["title"], "L");
    assert_eq!(variants[1]["price_minor"], FakeWix::expected_price_minor(8, 1));
    assert_eq!(variants[1]["inventory_quantity"], json!(fake.expected_quantity(8, 1)));
    assert_eq!(variants[1]["inventory_quantity"], 14, "3 + 1 here and 10 in the second location");

    // The merchant edits product 8 in Wix: the V3 event names it, Pivota reads it and applies it.
    fake.edit_product(8, "Renamed mug", 1999);
    let updated = fake.sign_v3_product_event("updated", "evt-u8", 8);
    let (status, body) = m.deliver("wix", &store_id, &[], updated.as_bytes()).await;
    assert_eq!(status, 200, "{body}");
    let after = m.products().await;
    let mug = by_external_id(&after, &FakeWix::product_id(8));
    assert_eq!(mug["title"], "Renamed mug");
    assert!(mug["variants"].as_array().unwrap().iter().all(|v| v["price_minor"] == 1999), "{mug}");
    let others = |list: &[Value]| -> Vec<Value> {
        list.iter().filter(|p| p["external_id"] != FakeWix::product_id(8)).cloned().collect()
    };
    assert_eq!(others(&after), others(&products), "the other products are untouched");

    // Deleted in Wix: removed from the catalog.
    fake.delete_product(3);
    let deleted = fake.sign_v3_product_event("deleted", "evt-d3", 3);
    assert_eq!(m.deliver("wix", &store_id, &[], deleted.as_bytes()).await.0, 200);
    assert_eq!(by_external_id(&m.products().await, &FakeWix::product_id(3))["status"], "removed");

    // An event type Pivota does not use is acknowledged (Wix would retry anything else); a body that is
    // not a signed JWT is refused, and a signed event without the product is a 400 naming the problem.
    let other = FakeWix::sign_event("wix.stores.catalog.v3.inventory_item_updated", &json!({ "id": "evt-i" }));
    assert_eq!(m.deliver("wix", &store_id, &[], other.as_bytes()).await.0, 200);
    assert_eq!(m.deliver("wix", &store_id, &[], b"not a jwt").await.0, 401);
    let no_product = FakeWix::sign_event("wix.stores.catalog.v3.product_updated", &json!({ "id": "evt-x" }));
    let (status, problem) = m.deliver("wix", &store_id, &[], no_product.as_bytes()).await;
    assert_eq!(status, 400, "{problem}");
    assert!(problem.to_string().contains("entityId"), "{problem}");
    assert_eq!(m.products().await.len(), 8);
}

async fn wix_v1_product_events_apply_too(backend: Backend) {
    let (m, fake, store_id) = wix_synced(backend, WixCatalog::V1, 5).await;
    assert_eq!(m.products().await.len(), 5);

    fake.edit_product(4, "Renamed tee", 2500);
    let changed = fake.sign_v1_product_event("ProductChanged", 4);
    assert_eq!(m.deliver("wix", &store_id, &[], changed.as_bytes()).await.0, 200);
    let tee = by_external_id(&m.products().await, &FakeWix::product_id(4));
    assert_eq!(tee["title"], "Renamed tee");
    assert!(tee["variants"].as_array().unwrap().iter().all(|v| v["price_minor"] == 2500), "{tee}");

    fake.delete_product(2);
    let deleted = fake.sign_v1_product_event("ProductDeleted", 2);
    assert_eq!(m.deliver("wix", &store_id, &[], deleted.as_bytes()).await.0, 200);
    assert_eq!(by_external_id(&m.products().await, &FakeWix::product_id(2))["status"], "removed");

    // A product created in Wix after the sync arrives with its event.
    let new = fake.add_product();
    let created = fake.sign_v1_product_event("ProductCreated", new);
    assert_eq!(m.deliver("wix", &store_id, &[], created.as_bytes()).await.0, 200);
    let product = by_external_id(&m.products().await, &FakeWix::product_id(new));
    assert_eq!(product["status"], "active");
    assert_eq!(product["variants"][0]["price_minor"], FakeWix::expected_price_minor(new, 0));
}
