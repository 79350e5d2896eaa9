//! [`Table`] on SQLite, with DynamoDB's semantics: conditional single-item writes, all-or-nothing
//! transactions of up to 100 distinct keys, and TTL purged by a sweep rather than hidden on read.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::SharedClock;
use super::db::Db;
use super::row::{ITEM_COLUMNS, StoredRow, read_row};
use super::table_query;
use pivota::ports::{Condition, Item, ItemKey, Page, Query, StoreError, Table, WriteOp};
use pivota::record::limits::{check_item as validate, check_transaction as validate_transaction};

use crate::db::SqlResult as _;

/// DynamoDB's BatchWriteItem limit.
const BATCH_CHUNK: usize = 25;

#[derive(Debug)]
pub struct EmbeddedTable {
    db: Db,
    clock: SharedClock,
}

impl EmbeddedTable {
    pub(crate) fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }

    /// Deletes every item whose `expires_at` has passed, as DynamoDB's TTL sweeper does eventually.
    /// Returns how many were purged. The local runner calls this periodically.
    pub async fn purge_expired(&self) -> Result<usize, StoreError> {
        let now = self.clock.now().unix_timestamp();
        self.db
            .run(move |conn| {
                let purged =
                    conn.execute("DELETE FROM items WHERE expires_at IS NOT NULL AND expires_at < ?1", [now]).sql()?;
                Ok(purged)
            })
            .await
    }
}

#[async_trait]
impl Table for EmbeddedTable {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        let key = key.clone();
        self.db.read(move |conn| load(conn, &key)).await
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StoreError> {
        validate(&item)?;
        self.db
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).sql()?;
                if !holds(condition, current_version(&tx, &item.key)?) {
                    return Err(StoreError::ConditionFailed);
                }
                store(&tx, &item)?;
                tx.commit().sql()?;
                Ok(())
            })
            .await
    }

    async fn delete(&self, key: &ItemKey, condition: Condition) -> Result<(), StoreError> {
        let key = key.clone();
        self.db
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).sql()?;
                if !holds(condition, current_version(&tx, &key)?) {
                    return Err(StoreError::ConditionFailed);
                }
                remove(&tx, &key)?;
                tx.commit().sql()?;
                Ok(())
            })
            .await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        validate_transaction(&ops)?;
        self.db
            .run(move |conn| {
                // Keys are distinct, so checking and writing op by op equals DynamoDB's "check all, then
                // write all"; returning early drops the transaction, which rolls every write back.
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).sql()?;
                for (index, op) in ops.iter().enumerate() {
                    let (key, condition) = op_target(op);
                    if !holds(condition, current_version(&tx, key)?) {
                        return Err(StoreError::TransactionCancelled { index: Some(index) });
                    }
                    match op {
                        WriteOp::Put { item, .. } => store(&tx, item)?,
                        WriteOp::Delete { key, .. } => remove(&tx, key)?,
                        WriteOp::Check { .. } => {}
                    }
                }
                tx.commit().sql()?;
                Ok(())
            })
            .await
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        table_query::validate(&query)?;
        self.db.run(move |conn| table_query::run(conn, &query)).await
    }

    async fn batch_get(&self, keys: Vec<ItemKey>) -> Result<Vec<Item>, StoreError> {
        self.db
            .run(move |conn| {
                let mut found = Vec::with_capacity(keys.len());
                let mut seen = std::collections::HashSet::new();
                for key in keys.iter().filter(|key| seen.insert(*key)) {
                    found.extend(load(conn, key)?);
                }
                Ok(found)
            })
            .await
    }

    async fn batch_put(&self, items: Vec<Item>) -> Result<(), StoreError> {
        items.iter().try_for_each(validate)?;
        for chunk in items.chunks(BATCH_CHUNK) {
            let chunk = chunk.to_vec();
            self.db
                .run(move |conn| {
                    let tx = conn.transaction().sql()?;
                    chunk.iter().try_for_each(|item| store(&tx, item))?;
                    tx.commit().sql()?;
                    Ok::<_, StoreError>(())
                })
                .await?;
        }
        Ok(())
    }
}

fn holds(condition: Condition, current_version: Option<u64>) -> bool {
    match condition {
        Condition::None => true,
        Condition::NotExists => current_version.is_none(),
        Condition::Exists => current_version.is_some(),
        Condition::VersionIs(expected) => current_version == Some(expected),
    }
}

fn op_target(op: &WriteOp) -> (&ItemKey, Condition) {
    match op {
        WriteOp::Put { item, condition } => (&item.key, *condition),
        WriteOp::Delete { key, condition } | WriteOp::Check { key, condition } => (key, *condition),
    }
}

fn current_version(conn: &Connection, key: &ItemKey) -> Result<Option<u64>, StoreError> {
    let version: Option<i64> = conn
        .query_row("SELECT version FROM items WHERE pk = ?1 AND sk = ?2", [&key.pk, &key.sk], |r| r.get(0))
        .optional()
        .sql()?;
    Ok(version.map(|v| v as u64))
}

fn load(conn: &Connection, key: &ItemKey) -> Result<Option<Item>, StoreError> {
    // Cached: preparing the statement costs more than running it (the webhook path's dedupe read).
    let mut statement =
        conn.prepare_cached(&format!("SELECT {ITEM_COLUMNS} FROM items WHERE pk = ?1 AND sk = ?2")).sql()?;
    let row = statement.query_row([&key.pk, &key.sk], read_row).optional().sql()?;
    row.map(StoredRow::into_item).transpose()
}

/// A full replacement, as PutItem is.
fn store(conn: &Connection, item: &Item) -> Result<(), StoreError> {
    let attrs = serde_json::to_string(&item.attrs).map_err(|e| StoreError::Other(e.to_string()))?;
    conn.execute(
        &format!("INSERT OR REPLACE INTO items ({ITEM_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
        params![
            item.key.pk,
            item.key.sk,
            item.gsi1.as_ref().map(|k| &k.pk),
            item.gsi1.as_ref().map(|k| &k.sk),
            item.gsi2.as_ref().map(|k| &k.pk),
            item.gsi2.as_ref().map(|k| &k.sk),
            item.version as i64,
            item.expires_at,
            attrs,
        ],
    )
    .sql()?;
    Ok(())
}

fn remove(conn: &Connection, key: &ItemKey) -> Result<(), StoreError> {
    conn.execute("DELETE FROM items WHERE pk = ?1 AND sk = ?2", [&key.pk, &key.sk]).sql()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use pivota::ports::SystemClock;

    #[tokio::test]
    async fn the_sweep_purges_only_expired_items() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("pivota.sqlite3")).unwrap();
        let table = EmbeddedTable::new(db, SharedClock(Arc::new(SystemClock)));
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut expired = Item::new(ItemKey::new("SESSION#1", "S"), Default::default());
        expired.expires_at = Some(now - 10);
        let mut live = Item::new(ItemKey::new("SESSION#2", "S"), Default::default());
        live.expires_at = Some(now + 3600);
        table.batch_put(vec![expired.clone(), live.clone()]).await.unwrap();

        // Like DynamoDB, an expired item is still readable until the sweep runs.
        assert!(table.get(&expired.key).await.unwrap().is_some());
        assert_eq!(table.purge_expired().await.unwrap(), 1);
        assert_eq!(table.get(&expired.key).await.unwrap(), None);
        assert_eq!(table.get(&live.key).await.unwrap(), Some(live));
    }

    #[tokio::test]
    async fn reserved_attribute_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("pivota.sqlite3")).unwrap();
        let table = EmbeddedTable::new(db, SharedClock(Arc::new(SystemClock)));
        let mut attrs = pivota::ports::Attributes::new();
        attrs.insert("version".into(), 3.into());
        let result = table.put(Item::new(ItemKey::new("A", "B"), attrs), Condition::None).await;
        assert!(matches!(result, Err(StoreError::Other(_))), "{result:?}");
    }
}
