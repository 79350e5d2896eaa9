//! An item as a row of the `items` table: the columns, and reading a row back into an item.

use rusqlite::Row;

use pivota::ports::{Item, ItemKey, StoreError};

pub(crate) const ITEM_COLUMNS: &str = "pk, sk, gsi1pk, gsi1sk, gsi2pk, gsi2sk, version, expires_at, attrs";

/// One row of `items` as read, before its attributes are parsed.
pub(crate) struct StoredRow {
    key: ItemKey,
    gsi1: Option<ItemKey>,
    gsi2: Option<ItemKey>,
    version: i64,
    expires_at: Option<i64>,
    attrs: String,
}

/// Reads a row selected with [`ITEM_COLUMNS`].
pub(crate) fn read_row(row: &Row<'_>) -> rusqlite::Result<StoredRow> {
    let index_key = |pk: Option<String>, sk: Option<String>| pk.zip(sk).map(|(pk, sk)| ItemKey { pk, sk });
    Ok(StoredRow {
        key: ItemKey { pk: row.get(0)?, sk: row.get(1)? },
        gsi1: index_key(row.get(2)?, row.get(3)?),
        gsi2: index_key(row.get(4)?, row.get(5)?),
        version: row.get(6)?,
        expires_at: row.get(7)?,
        attrs: row.get(8)?,
    })
}

impl StoredRow {
    pub(crate) fn into_item(self) -> Result<Item, StoreError> {
        let attrs = serde_json::from_str(&self.attrs).map_err(|e| {
            StoreError::Other(format!("item ({}, {}) has corrupt attributes: {e}", self.key.pk, self.key.sk))
        })?;
        Ok(Item {
            key: self.key,
            gsi1: self.gsi1,
            gsi2: self.gsi2,
            version: self.version as u64,
            expires_at: self.expires_at,
            attrs,
        })
    }
}
