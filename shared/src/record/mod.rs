//! Domain records as table items: one convention for every record type.
//!
//! A record type implements [`Record`]: where it is stored (its key, index keys and TTL) and its
//! optimistic-concurrency version. Everything else is provided once, here, so that every record is
//! converted and written the same way:
//!
//! - the item is the record's JSON object (serde) plus the key, the index keys, the TTL and the version;
//!   the version lives in [`Item::version`] only (the record's field is `#[serde(skip)]`) and is read
//!   back from it;
//! - **the version rule**: a new record is written at version [`FIRST_VERSION`] on the condition that no
//!   item exists under its key ([`Record::create_op`]); a change is written at the version read plus one,
//!   on the condition that the stored item is still at the version read ([`Record::save_op`]); a delete
//!   is conditional on the version read ([`Record::delete_op`]). The in-memory version moves only when
//!   the write succeeded ([`Record::save`], or [`Record::saved`] after a transaction committed), so a
//!   lost race leaves the record as read and the caller reads again.
//!
//! Items that are not records (uniqueness claims, owner links, event dedupe marks) are written by hand.

pub mod limits;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::kernel::error::Error;
use crate::ports::{Attributes, Condition, Item, ItemKey, StoreError, Table, WriteOp};

/// [`Record::version`] and [`Record::set_version`] for a record that keeps its version in a `version: u64`
/// field, `#[serde(skip)]` (the version is the item's, not an attribute): every record type here does.
macro_rules! version_field {
    () => {
        fn version(&self) -> u64 {
            self.version
        }

        fn set_version(&mut self, version: u64) {
            self.version = version;
        }
    };
}
pub(crate) use version_field;

/// [`Record::key`] and [`Record::set_key`] for a record whose key is not made of its attributes: it keeps
/// the key in a `key: ItemKey` field, `#[serde(skip)]`, given when it is made and taken from the item read.
macro_rules! key_field {
    () => {
        fn key(&self) -> $crate::ports::ItemKey {
            self.key.clone()
        }

        fn set_key(&mut self, key: &$crate::ports::ItemKey) {
            self.key = key.clone();
        }
    };
}
pub(crate) use key_field;

/// The version a record is created at.
pub const FIRST_VERSION: u64 = 1;

/// What a conditional write of a record came to.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// Written; the in-memory version is the stored one.
    Done,
    /// Its condition did not hold (someone else changed the record since it was read, or a record to
    /// create exists already): nothing was written and the record is as it was.
    Lost,
}

/// A stored record: where it lives in the table and its version. See the module's documentation for what
/// is provided, and why it is provided only here.
#[async_trait]
pub trait Record: Serialize + DeserializeOwned + Send + Sync {
    /// The item's primary key.
    fn key(&self) -> ItemKey;

    /// The item's key in the first global secondary index, if it is projected there.
    fn gsi1(&self) -> Option<ItemKey> {
        None
    }

    /// The item's key in the second global secondary index.
    fn gsi2(&self) -> Option<ItemKey> {
        None
    }

    /// The item's TTL (epoch seconds), if the table may purge it.
    fn expires_at(&self) -> Option<i64> {
        None
    }

    /// The version the record was read (or created) at.
    fn version(&self) -> u64;

    fn set_version(&mut self, version: u64);

    /// For a record whose key is not made of its attributes (it keeps the key in a skipped field): takes
    /// the key of the item it was read from. Others have nothing to take.
    fn set_key(&mut self, _key: &ItemKey) {}

    /// The record as an item at its own version.
    fn to_item(&self) -> Result<Item, Error> {
        let mut item = Item::new(self.key(), to_attributes(self)?);
        item.gsi1 = self.gsi1();
        item.gsi2 = self.gsi2();
        item.expires_at = self.expires_at();
        item.version = self.version();
        Ok(item)
    }

    /// The record of a stored item, at the item's version.
    fn from_item(item: &Item) -> Result<Self, Error>
    where
        Self: Sized,
    {
        let mut record: Self = from_item(item)?;
        record.set_version(item.version);
        record.set_key(&item.key);
        Ok(record)
    }

    /// The write that creates the record: at [`FIRST_VERSION`], if nothing is stored under its key.
    fn create_op(&self) -> Result<WriteOp, Error> {
        let (item, condition) = create_write(self)?;
        Ok(WriteOp::Put { item, condition })
    }

    /// The write that stores a change: at the version read plus one, if the stored item is still at the
    /// version read. After a transaction holding it commits, call [`Record::saved`].
    fn save_op(&self) -> Result<WriteOp, Error> {
        let (item, condition) = save_write(self)?;
        Ok(WriteOp::Put { item, condition })
    }

    /// The write that deletes the record, if the stored item is still at the version read.
    fn delete_op(&self) -> WriteOp {
        let (key, condition) = delete_write(self);
        WriteOp::Delete { key, condition }
    }

    /// A [`Record::save_op`] committed (in a transaction): the in-memory version becomes the stored one.
    fn saved(&mut self) {
        self.set_version(self.version() + 1);
    }

    /// Writes [`Record::create_op`] on its own. `Lost` when a record is stored under the key already.
    async fn create(&mut self, table: &dyn Table) -> Result<Written, Error> {
        let (item, condition) = create_write(self)?;
        let written = put(table, item, condition).await?;
        if written == Written::Done {
            self.set_version(FIRST_VERSION);
        }
        Ok(written)
    }

    /// Writes [`Record::save_op`] on its own. `Lost` when the stored record changed since it was read;
    /// the in-memory version moves only on `Done`.
    async fn save(&mut self, table: &dyn Table) -> Result<Written, Error> {
        let (item, condition) = save_write(self)?;
        let written = put(table, item, condition).await?;
        if written == Written::Done {
            self.saved();
        }
        Ok(written)
    }

    /// Deletes the record if it is still at the version read. `Lost` when it changed (or is gone).
    async fn delete(&self, table: &dyn Table) -> Result<Written, Error> {
        let (key, condition) = delete_write(self);
        match table.delete(&key, condition).await {
            Ok(()) => Ok(Written::Done),
            Err(StoreError::ConditionFailed) => Ok(Written::Lost),
            Err(e) => Err(e.into()),
        }
    }
}

/// The version rule for a new record: written at [`FIRST_VERSION`], if nothing is stored under its key.
fn create_write<R: Record>(record: &R) -> Result<(Item, Condition), Error> {
    let mut item = record.to_item()?;
    item.version = FIRST_VERSION;
    Ok((item, Condition::NotExists))
}

/// The version rule for a change: written at the version read plus one, if still at the version read.
fn save_write<R: Record>(record: &R) -> Result<(Item, Condition), Error> {
    let mut item = record.to_item()?;
    item.version = record.version() + 1;
    Ok((item, Condition::VersionIs(record.version())))
}

/// The version rule for a delete: only if still at the version read.
fn delete_write<R: Record>(record: &R) -> (ItemKey, Condition) {
    (record.key(), Condition::VersionIs(record.version()))
}

async fn put(table: &dyn Table, item: Item, condition: Condition) -> Result<Written, Error> {
    match table.put(item, condition).await {
        Ok(()) => Ok(Written::Done),
        Err(StoreError::ConditionFailed) => Ok(Written::Lost),
        Err(e) => Err(e.into()),
    }
}

/// The record's JSON object as item attributes.
pub fn to_attributes<T: Serialize + ?Sized>(record: &T) -> Result<Attributes, Error> {
    match serde_json::to_value(record) {
        Ok(serde_json::Value::Object(attrs)) => Ok(attrs),
        Ok(_) => Err(Error::Internal("a record must serialise to a JSON object".into())),
        Err(e) => Err(Error::Internal(format!("serialising a record: {e}"))),
    }
}

/// The item's attributes as a record. A stored item that does not parse is corruption, not bad input.
pub fn from_item<T: DeserializeOwned>(item: &Item) -> Result<T, Error> {
    serde_json::from_value(serde_json::Value::Object(item.attrs.clone()))
        .map_err(|e| Error::Internal(format!("item {}/{} does not parse: {e}", item.key.pk, item.key.sk)))
}
