//! A store's long-running work, consumed from the sync queue by the `sync-worker`: catalog syncs
//! (`crate::catalog::sync`) and store tasks (removing a disconnected or uninstalled store's products,
//! redacting a customer's or a shop's orders). It sits above the contexts it drives: catalog, orders and
//! stores depend on nothing here.

pub mod store_tasks;
pub mod sync_worker;
