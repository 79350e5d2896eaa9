//! Pivota's product search engine: the search index port's semantics on tantivy, over any index directory.
//!
//! The crate has no opinion on where an index lives. [`open_or_create`], [`apply`], [`replace_all`] and
//! [`search`] work on a tantivy [`Index`](tantivy::Index) or [`Searcher`](tantivy::Searcher);
//! [`files_of`] names what a commit consists of, for an adapter that ships files elsewhere (S3).
//! [`LocalIndexes`] is the embedded adapter: one directory per merchant on the local disk.
//!
//! - `schema`: the fields a product becomes, and the text analysis indexing and queries share.
//! - `index`: opening, writing (one writer, one commit per call) and listing a commit's files.
//! - `query`: the text's words and the filters as one tantivy query, with relevance as constant scores.
//! - `page`: sort keys, the cursor, and reading a page's product ids.
//! - `local`: [`LocalIndexes`], caching an index and reader per merchant, serialising its writers.
//!
//! tantivy is blocking; the async port methods run it on tokio's blocking pool.

mod index;
mod local;
mod page;
mod query;
mod schema;

pub use tantivy;

pub use index::{apply, files_of, open_or_create, replace_all};
pub use local::LocalIndexes;
pub use page::search;
pub use schema::schema;

use pivota::ports::SearchError;

fn failure(error: tantivy::TantivyError) -> SearchError {
    SearchError::Other(error.to_string())
}
