//! Table cases: conditional writes, transactions, queries and paging, batches.

mod conditions;
mod queries;
mod transactions;

use super::*;

pub use conditions::*;
pub use queries::*;
pub use transactions::*;
