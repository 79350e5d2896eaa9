//! Order webhooks end to end on both backends: setup on the store, verified and deduplicated deliveries,
//! exactly one charge per order through the routed PSP, and the order marked paid in the store. Includes
//! the storm test: 200 orders, 1,000 deliveries with duplicates, concurrency and retries, a PSP failing
//! 20 % of calls transiently, and tampered deliveries.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use pivota::ports::{Condition, Item, ItemKey, Page, Query, Secrets, SecretsError, StoreError, Table, WriteOp};
use secrecy::SecretString;

use pivota_fakes::{FakeCustomStore, FakeFailure};
use serde_json::json;

use crate::fixtures::shop::{order, shop};
use crate::fixtures::{Backend, another_process, call, drain_payment_queue, list_all};

on_both_backends!(
    webhook_setup_is_idempotent,
    bad_signatures_get_401_and_leave_no_trace,
    a_delivery_is_signed_with_its_topic_and_time,
    an_order_is_paid_once_and_marked_paid_in_the_store,
    paid_declined_and_write_back_failures_are_handled,
    a_message_that_fails_near_the_deadline_comes_back_after_its_backoff,
    storm_of_deliveries_charges_each_order_exactly_once,
    deliveries_read_the_store_secret_once_until_the_store_changes,
    an_order_payment_reads_connections_and_routing_once,
    a_product_update_that_failed_is_applied_when_the_store_retries,
    a_price_edited_while_the_store_updates_the_product_is_kept,
);

async fn webhook_setup_is_idempotent(backend: Backend) {
    let s = shop(backend).await;
    let (status, again) = call(&s.test.app, "POST", &format!("/merchant/{}/store/{}/webhooks/setup", s.id, s.store_id))
        .bearer(&s.key)
        .send()
        .await;
    assert_eq!(status, 200);
    assert_eq!(again["webhooks"].as_array().unwrap().len(), 2, "order.created and product.updated: {again}");
    let topics: Vec<String> = s.store.webhooks().iter().map(|w| w.topic.clone()).collect();
    assert_eq!(topics.len(), 2, "one subscription per topic on the store: {topics:?}");
    assert!(s.store.webhooks().iter().all(|w| w.url.ends_with(&format!("/webhooks/custom/{}", s.store_id))));
}

async fn bad_signatures_get_401_and_leave_no_trace(backend: Backend) {
    let s = shop(backend).await;
    let body = order(1, json!({}));
    assert_eq!(s.deliver(&body, "e-1", Some("t=1,v1=00".into())).await, 401);
    let mut tampered = body.clone();
    let signature = FakeCustomStore::sign_with(&s.secret, "order.created", &body);
    tampered[10] ^= 1;
    assert_eq!(s.deliver(&tampered, "e-1", Some(signature)).await, 401);
    assert_eq!(s.deliver(&body, "e-1", Some(String::new())).await, 401);
    assert!(s.orders().await.is_empty());
    drain_payment_queue(&s.test.app).await;
    assert_eq!(s.stripe.requests(), 1, "only the key check at connect");
    // The same event, correctly signed, is then accepted: the refusals left no dedupe record behind.
    assert_eq!(s.deliver(&body, "e-1", None).await, 200);
    assert_eq!(s.orders().await.len(), 1);
}

async fn a_delivery_is_signed_with_its_topic_and_time(backend: Backend) {
    let s = shop(backend).await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let body = order(5, json!({}));
    // A body the store signed as a product update, replayed as an order: the topic is signed too.
    let as_product = FakeCustomStore::sign_with(&s.secret, "product.updated", &body);
    assert_eq!(s.deliver(&body, "e-5", Some(as_product)).await, 401);
    // Signed too long ago (a replay), or too far ahead: refused, naming the header.
    for signed_at in [now - 600, now + 600] {
        let signature = FakeCustomStore::sign_at(&s.secret, "order.created", signed_at, &body);
        let (status, problem) = s.delivery(&body, "e-5", Some(signature)).await;
        assert_eq!(status, 400, "{problem}");
        assert_eq!(problem["errors"][0]["field"], "X-Pivota-Signature", "{problem}");
    }
    assert!(s.orders().await.is_empty(), "nothing recorded");
    // Within the tolerance, as a retry signed a few minutes late would be: applied.
    let signature = FakeCustomStore::sign_at(&s.secret, "order.created", now - 240, &body);
    assert_eq!(s.delivery(&body, "e-5", Some(signature)).await.0, 200);
    assert_eq!(s.orders().await.len(), 1);
}

async fn an_order_is_paid_once_and_marked_paid_in_the_store(backend: Backend) {
    let s = shop(backend).await;
    let body = order(42, json!({}));
    assert_eq!(s.deliver(&body, "evt-42", None).await, 200);
    assert_eq!(s.deliver(&body, "evt-42", None).await, 200, "a duplicate delivery");
    assert_eq!(s.deliver(&body, "evt-42-retry", None).await, 200, "the same order, another event id");
    let orders = s.orders().await;
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["status"], "received");
    drain_payment_queue(&s.test.app).await;
    let orders = s.orders().await;
    let paid = &orders[0];
    assert_eq!((paid["status"].as_str(), paid["write_back"].as_str()), (Some("paid"), Some("done")), "{paid}");
    assert_eq!(paid["amount"], 1042);
    assert_eq!(s.stripe.charges(), 1);
    let marked = s.store.orders_marked_paid();
    assert_eq!(marked, vec![("42".to_owned(), paid["psp_reference"].as_str().unwrap().to_owned())]);
}

async fn paid_declined_and_write_back_failures_are_handled(backend: Backend) {
    let s = shop(backend).await;
    assert_eq!(s.deliver(&order(1, json!({"paid": true})), "p-1", None).await, 200);
    assert_eq!(s.deliver(&order(2, json!({"payment_method": "pm_card_visa_chargeDeclined"})), "p-2", None).await, 200);
    drain_payment_queue(&s.test.app).await;
    let orders = s.orders().await;
    let by_id = |id: &str| orders.iter().find(|o| o["external_id"] == id).unwrap().clone();
    assert_eq!(by_id("1")["status"], "already_paid");
    let declined = by_id("2");
    assert_eq!((declined["status"].as_str(), declined["write_back"].as_str()), (Some("declined"), Some("not_needed")));
    assert_eq!(declined["decline_code"], "generic_decline");
    assert_eq!(s.stripe.charges(), 0);
    assert!(s.store.orders_marked_paid().is_empty());

    // The store fails the write-back once: retried through the queue, not by charging again.
    s.store.fail_next(1, FakeFailure::Http503);
    assert_eq!(s.deliver(&order(3, json!({})), "p-3", None).await, 200);
    drain_payment_queue(&s.test.app).await;
    let third = s.orders().await.into_iter().find(|o| o["external_id"] == "3").unwrap();
    assert_eq!((third["status"].as_str(), third["write_back"].as_str()), (Some("paid"), Some("done")), "{third}");
    assert_eq!(s.stripe.charges(), 1);
    assert_eq!(s.store.orders_marked_paid().len(), 1);
}

/// A message whose order could not finish (the store's write-back failed) and no time is left to retry in
/// the invocation comes back after the worker's backoff (1 s on a first receive), not after the queue's
/// visibility timeout.
async fn a_message_that_fails_near_the_deadline_comes_back_after_its_backoff(backend: Backend) {
    let s = shop(backend).await;
    let app = &s.test.app;
    assert_eq!(s.deliver(&order(5, json!({})), "b-5", None).await, 200);
    s.store.fail_next(1, FakeFailure::Http503);
    // Received as Lambda's event source would, hidden for a minute.
    let hidden = std::time::Duration::from_secs(60);
    let messages = app.queue.receive(&app.settings.payment_queue, 10, hidden).await.unwrap();
    assert_eq!(messages.len(), 1);
    let mut record = aws_lambda_events::event::sqs::SqsMessage::default();
    record.message_id = Some(messages[0].message_id.clone());
    record.receipt_handle = Some(messages[0].receipt_handle.clone());
    record.attributes.insert("ApproximateReceiveCount".into(), "1".into());
    record.body = Some(messages[0].body.clone());
    let mut event = aws_lambda_events::event::sqs::SqsEvent::default();
    event.records.push(record);

    // Just over the worker's 10 s margin: it takes the message, but has no time for an in-place retry
    // (its first backoff is 250 ms).
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(10_200);
    let response = pivota::orders::payment_worker::handle(app, event, deadline).await;
    let state = s.orders().await;
    assert_eq!(response.batch_item_failures.len(), 1, "the message must come back: {state:?}");
    let charged = s.orders().await.into_iter().find(|o| o["external_id"] == "5").unwrap();
    assert_eq!((charged["status"].as_str(), charged["write_back"].as_str()), (Some("paid"), Some("failed")));

    // Back within a few seconds, not a minute; then it finishes the write-back without a second charge.
    let started = std::time::Instant::now();
    let again = loop {
        let again = app.queue.receive(&app.settings.payment_queue, 10, hidden).await.unwrap();
        if !again.is_empty() || started.elapsed() > std::time::Duration::from_secs(15) {
            break again;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    assert_eq!(again.len(), 1, "the message did not come back within 15 s");
    for message in again {
        app.queue
            .change_visibility(&app.settings.payment_queue, &message.receipt_handle, std::time::Duration::ZERO)
            .await
            .unwrap();
    }
    drain_payment_queue(app).await;
    let done = s.orders().await.into_iter().find(|o| o["external_id"] == "5").unwrap();
    assert_eq!(done["write_back"], "done", "{done}");
    assert_eq!(s.stripe.charges(), 1);
}

async fn storm_of_deliveries_charges_each_order_exactly_once(backend: Backend) {
    let s = Arc::new(shop(backend).await);
    s.stripe.fail_randomly(20, 7, FakeFailure::Http503);
    // 200 orders x 5 deliveries: the original, an exact duplicate, two concurrent duplicates, and a
    // retry as after a timeout. Shuffled deterministically, 50 at a time.
    let mut deliveries: Vec<(u32, String)> = Vec::new();
    for id in 1..=200u32 {
        for copy in 0..5 {
            let event = if copy == 4 { format!("evt-{id}-retry") } else { format!("evt-{id}") };
            deliveries.push((id, event));
        }
    }
    let mut seed = 0x9e3779b97f4a7c15u64;
    for i in (1..deliveries.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        deliveries.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    for chunk in deliveries.chunks(50) {
        let calls = chunk.iter().cloned().map(|(id, event)| {
            let s = s.clone();
            tokio::spawn(async move { s.deliver_with_retries(&order(id, json!({})), &event).await })
        });
        let statuses: Vec<u16> = futures::future::join_all(calls).await.into_iter().map(Result::unwrap).collect();
        assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
    }
    // Tampered bodies and bad signatures: 401, and no trace.
    for id in 1001..1026u32 {
        let body = order(id, json!({}));
        let mut tampered = body.clone();
        tampered[5] ^= 1;
        assert_eq!(
            s.deliver(
                &tampered,
                &format!("t-{id}"),
                Some(FakeCustomStore::sign_with(&s.secret, "order.created", &body))
            )
            .await,
            401
        );
        assert_eq!(s.deliver(&body, &format!("b-{id}"), Some("t=1,v1=deadbeef".into())).await, 401);
    }
    // Messages that failed come back after an exponential backoff (2^receives s), longer than one drain's
    // idle window: drain until every order is paid, within a bound.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    while std::time::Instant::now() < deadline {
        drain_payment_queue(&s.test.app).await;
        if s.orders().await.iter().all(|o| o["status"] == "paid" && o["write_back"] == "done") {
            break;
        }
    }
    let orders = s.orders().await;
    let mut distinct: Vec<&str> = orders.iter().map(|o| o["external_id"].as_str().unwrap()).collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 200, "tampered deliveries left no order");
    assert_eq!(orders.len(), 200, "one record per order, however many deliveries");
    assert!(
        orders.iter().all(|o| o["status"] == "paid" && o["write_back"] == "done"),
        "{:?}",
        orders.iter().find(|o| o["status"] != "paid")
    );
    assert_eq!(s.stripe.charges(), 200, "exactly one charge per order");
    let mut marked: Vec<String> = s.store.orders_marked_paid().into_iter().map(|(id, _)| id).collect();
    marked.sort();
    marked.dedup();
    assert_eq!(marked.len(), 200);
}

/// The secret store, counting reads of store credentials.
struct CountingSecrets {
    inner: Arc<dyn Secrets>,
    store_reads: AtomicUsize,
}

#[async_trait::async_trait]
impl Secrets for CountingSecrets {
    async fn put(&self, name: &str, value: &SecretString) -> Result<String, SecretsError> {
        self.inner.put(name, value).await
    }

    async fn get(&self, name: &str) -> Result<Option<SecretString>, SecretsError> {
        if name.contains("/stores/") {
            self.store_reads.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.get(name).await
    }

    async fn get_previous(&self, name: &str) -> Result<Option<SecretString>, SecretsError> {
        self.inner.get_previous(name).await
    }

    async fn delete(&self, name: &str) -> Result<(), SecretsError> {
        self.inner.delete(name).await
    }
}

async fn deliveries_read_the_store_secret_once_until_the_store_changes(backend: Backend) {
    let s = shop(backend).await;
    let shared = &s.test.app;
    let secrets = Arc::new(CountingSecrets { inner: shared.secrets.clone(), store_reads: AtomicUsize::new(0) });
    // A warm webhook function: one process, many deliveries.
    let warm = another_process(shared, |ports| ports.secrets = secrets.clone());
    for id in 1..=5 {
        assert_eq!(s.deliver_to(&warm, &order(id, json!({})), &format!("e-{id}"), None).await, 200);
    }
    assert_eq!(secrets.store_reads.load(Ordering::SeqCst), 1, "read once, then cached");

    // Any change to the store item (here its low-stock threshold) makes the cached credentials stale.
    let (status, _) = call(shared, "PATCH", &format!("/merchant/{}/store/{}", s.id, s.store_id))
        .bearer(&s.key)
        .json(json!({"low_stock_threshold": 3}))
        .send()
        .await;
    assert_eq!(status, 200);
    assert_eq!(s.deliver_to(&warm, &order(6, json!({})), "e-6", None).await, 200);
    assert_eq!(secrets.store_reads.load(Ordering::SeqCst), 2);

    // Disconnected (by another process): the cached credentials are not used; the secret store is asked
    // (the secret is gone) and the delivery refused.
    let (status, _) =
        call(shared, "DELETE", &format!("/merchant/{}/store/{}", s.id, s.store_id)).bearer(&s.key).send().await;
    assert!(status == 200 || status == 204, "{status}");
    assert_eq!(s.deliver_to(&warm, &order(7, json!({})), "e-7", None).await, 401);
    assert_eq!(secrets.store_reads.load(Ordering::SeqCst), 3);
    assert_eq!(s.orders().await.len(), 6);
}

/// The table, counting reads of a merchant's PSP connections (a query of `PSP#…`) and of its routing
/// document.
struct CountingTable {
    inner: Arc<dyn Table>,
    connection_reads: AtomicUsize,
    routing_reads: AtomicUsize,
}

#[async_trait::async_trait]
impl Table for CountingTable {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        if key.sk == "ROUTING" {
            self.routing_reads.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.get(key).await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        self.inner.put(item, condition).await
    }

    async fn delete(&self, key: &ItemKey, condition: Condition) -> Result<(), StoreError> {
        self.inner.delete(key, condition).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.inner.transact(ops).await
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        if query.sk_prefix.as_deref().is_some_and(|prefix| prefix.starts_with("PSP#")) {
            self.connection_reads.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.query(query).await
    }

    async fn batch_get(&self, keys: Vec<ItemKey>) -> Result<Vec<Item>, StoreError> {
        if keys.iter().any(|key| key.sk == "ROUTING") {
            self.routing_reads.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.batch_get(keys).await
    }

    async fn batch_put(&self, items: Vec<Item>) -> Result<(), StoreError> {
        self.inner.batch_put(items).await
    }
}

async fn an_order_payment_reads_connections_and_routing_once(backend: Backend) {
    // GIVEN a merchant with a routing document and a recorded order
    let s = shop(backend).await;
    let (status, body) = call(&s.test.app, "PUT", &format!("/merchant/{}/routing", s.id))
        .bearer(&s.key)
        .json(json!({"priority": ["stripe"], "test_payment_method": "pm_card_visa"}))
        .send()
        .await;
    assert_eq!(status, 200, "{body}");
    let table = Arc::new(CountingTable {
        inner: s.test.app.table.clone(),
        connection_reads: AtomicUsize::new(0),
        routing_reads: AtomicUsize::new(0),
    });
    let worker = another_process(&s.test.app, |ports| ports.table = table.clone());
    assert_eq!(s.deliver(&order(1, json!({})), "e-1", None).await, 200);

    // WHEN the payment worker pays it
    drain_payment_queue(&worker).await;

    // THEN it was charged, reading the connections once and the routing document once
    let orders = s.orders().await;
    assert_eq!(orders[0]["status"], "paid", "{orders:?}");
    assert_eq!(s.stripe.charges(), 1);
    assert_eq!(table.connection_reads.load(Ordering::SeqCst), 1, "PSP connections read once");
    assert_eq!(table.routing_reads.load(Ordering::SeqCst), 1, "routing read once");
}

/// The table, failing the next `failing_transactions` transactions as DynamoDB does when throttled; and,
/// when `edit_price_before_write` is set, editing a product's price (as a merchant's `PATCH` would) just
/// before the next transaction that writes that product.
struct FlakyTable {
    inner: Arc<dyn Table>,
    failing_transactions: AtomicUsize,
    edit_price_before_write: std::sync::Mutex<Option<i64>>,
}

impl FlakyTable {
    fn new(inner: Arc<dyn Table>, failing_transactions: usize, edit_price_before_write: Option<i64>) -> Self {
        Self {
            inner,
            failing_transactions: AtomicUsize::new(failing_transactions),
            edit_price_before_write: std::sync::Mutex::new(edit_price_before_write),
        }
    }

    /// The concurrent edit: the stored product's first variant gets a price override, and a new version.
    async fn edit_price(&self, key: &ItemKey, price: i64) {
        let mut item = self.inner.get(key).await.unwrap().expect("the product exists");
        item.attrs["variants"][0]["price_override_minor"] = json!(price);
        let read = item.version;
        item.version += 1;
        self.inner.put(item, Condition::VersionIs(read)).await.unwrap();
    }
}

#[async_trait::async_trait]
impl Table for FlakyTable {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        self.inner.get(key).await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        self.inner.put(item, condition).await
    }

    async fn delete(&self, key: &ItemKey, condition: Condition) -> Result<(), StoreError> {
        self.inner.delete(key, condition).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        let product = ops.iter().find_map(|op| match op {
            WriteOp::Put { item, condition: Condition::VersionIs(_) } if item.key.sk.starts_with("PRODUCT#") => {
                Some(item.key.clone())
            }
            _ => None,
        });
        let edit =
            product.and_then(|key| self.edit_price_before_write.lock().unwrap().take().map(|price| (key, price)));
        if let Some((key, price)) = edit {
            self.edit_price(&key, price).await;
        }
        let failing = self.failing_transactions.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if failing.is_ok() {
            return Err(StoreError::Transient("ProvisionedThroughputExceededException".into()));
        }
        self.inner.transact(ops).await
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.inner.query(query).await
    }

    async fn batch_get(&self, keys: Vec<ItemKey>) -> Result<Vec<Item>, StoreError> {
        self.inner.batch_get(keys).await
    }

    async fn batch_put(&self, items: Vec<Item>) -> Result<(), StoreError> {
        self.inner.batch_put(items).await
    }
}

async fn a_product_update_that_failed_is_applied_when_the_store_retries(backend: Backend) {
    let s = shop(backend).await;
    let table = Arc::new(FlakyTable::new(s.test.app.table.clone(), 1, None));
    let flaky = another_process(&s.test.app, |ports| ports.table = table);
    let product = serde_json::to_vec(&json!({
        "id": "p-77", "title": "Trail shoe v2", "status": "active",
        "variants": [{"id": "v-77", "title": "42", "sku": "TS-42", "price_minor": 12900, "inventory_quantity": 3}],
    }))
    .unwrap();
    let (status, _) = s.delivery_to(&flaky, "product.updated", &product, "evt-p77", None).await;
    assert!(status >= 500, "the write failed, so the store must retry: {status}");
    // The store retries the same event: it is applied, not taken for a duplicate.
    assert_eq!(s.delivery_to(&flaky, "product.updated", &product, "evt-p77", None).await.0, 200);
    let products = list_all(&s.test.app, &s.key, &format!("/merchant/{}/products", s.id)).await;
    let updated = products.iter().find(|p| p["external_id"] == "p-77").expect("the product was written");
    assert_eq!(
        (updated["title"].as_str(), updated["variants"][0]["price_minor"].as_i64()),
        (Some("Trail shoe v2"), Some(12900))
    );
}

async fn a_price_edited_while_the_store_updates_the_product_is_kept(backend: Backend) {
    let s = shop(backend).await;
    let product = |title: &str, price: i64| {
        serde_json::to_vec(&json!({
            "id": "p-88", "title": title, "status": "active",
            "variants": [{"id": "v-88", "title": "42", "sku": "TS-88", "price_minor": price, "inventory_quantity": 9}],
        }))
        .unwrap()
    };
    assert_eq!(
        s.delivery_to(&s.test.app, "product.updated", &product("Trail shoe", 10000), "evt-1", None).await.0,
        200
    );
    // The merchant edits the price between the store update's read and its write.
    let table = Arc::new(FlakyTable::new(s.test.app.table.clone(), 0, Some(8800)));
    let racing = another_process(&s.test.app, |ports| ports.table = table.clone());
    let (status, _) = s.delivery_to(&racing, "product.updated", &product("Trail shoe v2", 10500), "evt-2", None).await;
    assert_eq!(status, 200);
    assert!(table.edit_price_before_write.lock().unwrap().is_none(), "the edit happened mid-write");
    let products = list_all(&s.test.app, &s.key, &format!("/merchant/{}/products", s.id)).await;
    let stored = products.iter().find(|p| p["external_id"] == "p-88").unwrap();
    // Both changes are there: the store's title and price, and the merchant's override on top.
    assert_eq!(stored["title"], "Trail shoe v2");
    assert_eq!(stored["variants"][0]["store_price_minor"], 10500);
    assert_eq!(stored["variants"][0]["price_override_minor"], 8800);
    assert_eq!(stored["variants"][0]["price_minor"], 8800);
}
