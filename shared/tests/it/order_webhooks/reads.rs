//! What an order delivery reads, counted: the store's secret once until the store changes, a merchant's PSP
//! connections and routing once per payment, and not at all for a replayed one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use pivota::ports::{Condition, Item, ItemKey, Page, Query, Secrets, SecretsError, StoreError, Table, WriteOp};
use secrecy::SecretString;

use serde_json::json;

use crate::fixtures::shop::{order, shop};
use crate::fixtures::{Backend, another_process, call, drain_payment_queue};

on_both_backends!(
    deliveries_read_the_store_secret_once_until_the_store_changes,
    an_order_payment_reads_connections_and_routing_once,
    a_replayed_payment_reads_neither_connections_nor_routing,
);

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

async fn a_replayed_payment_reads_neither_connections_nor_routing(backend: Backend) {
    let s = shop(backend).await;
    let table = Arc::new(CountingTable {
        inner: s.test.app.table.clone(),
        connection_reads: AtomicUsize::new(0),
        routing_reads: AtomicUsize::new(0),
    });
    let api = another_process(&s.test.app, |ports| ports.table = table.clone());
    let reads = || (table.connection_reads.load(Ordering::SeqCst), table.routing_reads.load(Ordering::SeqCst));
    let pay = || {
        call(&api, "POST", "/payment/execute")
            .bearer(&s.key)
            .header("idempotency-key", "replay-1")
            .json(json!({"order_id": "o-1", "amount": 1000, "currency": "EUR", "payment_method": "pm_card_visa"}))
    };
    let (status, first) = pay().send().await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(reads(), (1, 1), "the charge read the connections and the routing once each");
    let (status, again) = pay().send().await;
    assert_eq!((status, &again["payment_id"]), (200, &first["payment_id"]));
    assert_eq!(reads(), (1, 1), "the replay read neither");
    assert_eq!(s.stripe.charges(), 1);
}
