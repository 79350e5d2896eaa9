//! DynamoDB's limits on what is written, checked before anything is sent, by both table adapters: the
//! embedded one (SQLite would take anything) and the AWS one (so an oversized item or transaction fails
//! here, with its reason, not as a ValidationException after the call, and moto, which enforces few of
//! them, cannot hide one). Source: "Service, account, and table quotas in Amazon DynamoDB"
//! (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html): an item is at
//! most 400 KB; a `TransactWriteItems` holds at most 100 actions and 4 MB, and no two of them may target
//! one item.

use std::collections::HashSet;

use crate::ports::{Item, ItemKey, RESERVED_ATTRIBUTES, StoreError, WriteOp};

/// TransactWriteItems' action limit.
pub const MAX_TRANSACTION_OPS: usize = 100;
/// An item's size limit (DynamoDB counts attribute names and values, keys included).
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// A transaction's size limit.
pub const MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024;

/// An item's size as DynamoDB counts it, approximated from above: its attributes as JSON (names, values
/// and the JSON punctuation around them) plus its key and index attributes' names and values.
pub fn item_size(item: &Item) -> Result<usize, StoreError> {
    let attributes = serde_json::to_vec(&item.attrs).map_err(|e| StoreError::Other(e.to_string()))?.len();
    let key = |key: &ItemKey, names: usize| names + key.pk.len() + key.sk.len();
    let keys = key(&item.key, 4)
        + item.gsi1.as_ref().map_or(0, |k| key(k, 12))
        + item.gsi2.as_ref().map_or(0, |k| key(k, 12))
        // `version` and `expires_at`, with numbers of up to 21 bytes.
        + 7 + 21 + item.expires_at.map_or(0, |_| 10 + 21);
    Ok(attributes + keys)
}

/// What DynamoDB would refuse in one item (a ValidationException).
pub fn check_item(item: &Item) -> Result<(), StoreError> {
    let keys = [Some(&item.key), item.gsi1.as_ref(), item.gsi2.as_ref()];
    if keys.into_iter().flatten().any(|k| k.pk.is_empty() || k.sk.is_empty()) {
        return Err(StoreError::Other("key attributes cannot be empty strings".into()));
    }
    if let Some(name) = RESERVED_ATTRIBUTES.iter().find(|name| item.attrs.contains_key(**name)) {
        return Err(StoreError::Other(format!("attribute name {name:?} is reserved")));
    }
    if i64::try_from(item.version).is_err() {
        return Err(StoreError::Other(format!("version {} is out of range", item.version)));
    }
    let size = item_size(item)?;
    if size > MAX_ITEM_BYTES {
        return Err(StoreError::Other(format!(
            "item ({}, {}) of {size} bytes exceeds DynamoDB's {MAX_ITEM_BYTES}-byte item limit",
            item.key.pk, item.key.sk
        )));
    }
    Ok(())
}

/// The item (or key) a transaction's action targets.
pub fn target(op: &WriteOp) -> &ItemKey {
    match op {
        WriteOp::Put { item, .. } => &item.key,
        WriteOp::Delete { key, .. } | WriteOp::Check { key, .. } => key,
    }
}

/// What DynamoDB would refuse in one transaction: 1 to 100 actions on distinct items, each item valid,
/// 4 MB in all.
pub fn check_transaction(ops: &[WriteOp]) -> Result<(), StoreError> {
    if ops.is_empty() || ops.len() > MAX_TRANSACTION_OPS {
        return Err(StoreError::Other(format!(
            "a transaction holds 1 to {MAX_TRANSACTION_OPS} operations, not {}",
            ops.len()
        )));
    }
    let mut seen = HashSet::with_capacity(ops.len());
    let mut total = 0;
    for op in ops {
        let key = target(op);
        if !seen.insert(key) {
            return Err(StoreError::Other(format!(
                "a transaction cannot include several operations on one item ({}, {})",
                key.pk, key.sk
            )));
        }
        total += match op {
            WriteOp::Put { item, .. } => {
                check_item(item)?;
                item_size(item)?
            }
            WriteOp::Delete { key, .. } | WriteOp::Check { key, .. } => key.pk.len() + key.sk.len() + 4,
        };
    }
    if total > MAX_TRANSACTION_BYTES {
        return Err(StoreError::Other(format!(
            "a transaction of {total} bytes exceeds DynamoDB's {MAX_TRANSACTION_BYTES}-byte transaction limit"
        )));
    }
    Ok(())
}
