//! Writing a group of products as one: their new chunks, then their heads in one transaction, then the
//! chunks no head points at any more.

use super::ProductWrite;
use crate::kernel::error::Error;
use crate::ports::HasTable;
use crate::ports::{Condition, Item, ItemKey, StoreError};

/// How writing a group of products ended.
pub(crate) enum GroupWrite {
    Written,
    /// A head's version changed since it was read: nothing was written.
    Conflict,
    /// The table refused a write (a limit, a validation): nothing was written.
    Refused(String),
}

/// Writes the products of `writes` as one: their new chunks, then their heads in one transaction, then
/// their stale chunks.
pub(crate) async fn write_group(app: &impl HasTable, writes: &[ProductWrite]) -> Result<GroupWrite, Error> {
    let new_chunks: Vec<Item> = writes.iter().flat_map(|w| w.new_chunks.iter().cloned()).collect();
    let new_keys: Vec<ItemKey> = new_chunks.iter().map(|item| item.key.clone()).collect();
    if !new_chunks.is_empty() {
        match app.table().batch_put(new_chunks).await {
            Ok(()) => {}
            Err(StoreError::Other(reason)) => {
                delete_chunks(app, &new_keys).await;
                return Ok(GroupWrite::Refused(reason));
            }
            Err(e) => return Err(e.into()),
        }
    }
    match app.table().transact(writes.iter().map(|w| w.head.clone()).collect()).await {
        Ok(()) => {
            delete_chunks(app, &writes.iter().flat_map(|w| w.stale_chunks.iter().cloned()).collect::<Vec<_>>()).await;
            Ok(GroupWrite::Written)
        }
        // Certainly not written: the new chunks belong to nobody. (After a timeout the heads may have been
        // written, so their chunks stay.)
        Err(StoreError::TransactionCancelled { .. }) => {
            delete_chunks(app, &new_keys).await;
            Ok(GroupWrite::Conflict)
        }
        Err(StoreError::Other(reason)) => {
            delete_chunks(app, &new_keys).await;
            Ok(GroupWrite::Refused(reason))
        }
        Err(e) => Err(e.into()),
    }
}

/// Deletes chunks no head points at. A failure leaves them behind, unread: it is logged, not raised, since
/// the products are written either way.
async fn delete_chunks(app: &impl HasTable, keys: &[ItemKey]) {
    for key in keys {
        if let Err(e) = app.table().delete(key, Condition::None).await {
            tracing::warn!(pk = key.pk, sk = key.sk, error = %e, "an unreferenced variant chunk was not deleted");
        }
    }
}
