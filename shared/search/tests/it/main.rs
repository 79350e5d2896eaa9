//! pivota-search's tests: the port's semantics through the crate's functions and `LocalIndexes`.

mod changes;
mod filters;
mod fixtures;
mod local;
mod paging;
mod relevance;
mod sorting;
