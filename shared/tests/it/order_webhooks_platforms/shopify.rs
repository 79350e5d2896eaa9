//! Shopify's order and product deliveries: charged once and marked paid, verified (HMAC, shop domain,
//! topic, trigger time) before anything is recorded, and product updates applied in order without a sync.

use std::time::Duration;

use pivota_fakes::FakeShop;
use serde_json::{Value, json};

use super::{TEST_KEY, forged_hmac, shopify, shopify_order};
use crate::fixtures::{Backend, drain_payment_queue, drain_sync_queue, merged};

on_both_backends!(
    a_shopify_order_is_charged_once_and_marked_paid,
    shopify_deliveries_with_a_tampered_body_or_bad_hmac_get_401_and_leave_no_trace,
    a_shopify_product_update_changes_that_product_without_a_sync,
    a_shopify_product_update_changes_its_vendor_and_product_type,
    a_shopify_delivery_for_another_shop_is_refused,
    a_shopify_body_replayed_under_another_topic_is_refused,
    a_shopify_product_update_applies_only_when_newer,
    a_shopify_delivery_triggered_too_long_ago_is_acknowledged_not_acted_on,
);

/// `X-Shopify-Triggered-At` for `ago` in the past.
fn triggered_ago(ago: Duration) -> Option<String> {
    let at = time::OffsetDateTime::now_utc() - ago;
    Some(at.format(&time::format_description::well_known::Rfc3339).unwrap())
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

async fn a_shopify_product_update_changes_its_vendor_and_product_type(backend: Backend) {
    let s = shopify(backend, TEST_KEY, FakeShop::default().with_products(3)).await;
    let (status, job) = s.m.send("POST", &format!("/store/{}/sync", s.store_id), None).await;
    assert_eq!(status, 202, "{job}");
    drain_sync_queue(&s.m.test.app, Duration::from_secs(60)).await;
    let synced = |products: Vec<Value>| products.into_iter().find(|p| p["external_id"] == s.fake.product_id(1));
    let before = synced(s.m.products().await).unwrap();
    let (vendor, product_type) = s.fake.product_labels(1);
    assert!(!product_type.is_empty());
    assert_eq!((&before["vendor"], &before["product_type"]), (&json!(vendor), &json!(product_type)), "{before}");

    // The merchant renames the vendor and clears the product type; Shopify sends the product as it now is.
    s.fake.set_product_labels(1, "Umbrella Corp", "");
    assert_eq!(s.deliver("products/update", "evt-labels", &s.fake.product_update_body(1)).await, 200);

    let after = synced(s.m.products().await).unwrap();
    assert_eq!(after["vendor"], "Umbrella Corp", "{after}");
    assert!(after["product_type"].is_null(), "a blank product type is none: {after}");
    assert_eq!(after["variants"], before["variants"], "the rest of the product is as synced");
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
