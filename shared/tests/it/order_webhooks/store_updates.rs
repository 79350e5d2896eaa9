//! Product updates from the store: one whose write failed is applied when the store retries, and a price the
//! merchant edits meanwhile is kept.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use pivota::ports::{Condition, Item, ItemKey, Page, Query, StoreError, Table, WriteOp};

use serde_json::json;

use crate::fixtures::shop::shop;
use crate::fixtures::{Backend, another_process, list_all};

on_both_backends!(
    a_product_update_that_failed_is_applied_when_the_store_retries,
    a_price_edited_while_the_store_updates_the_product_is_kept,
);

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
