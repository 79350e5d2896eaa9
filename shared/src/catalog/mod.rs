//! The catalog: a store's products, variants, inventory and prices, kept in step with the store by sync
//! jobs on the sync queue.

pub mod products;
pub mod search;
pub mod sync;
