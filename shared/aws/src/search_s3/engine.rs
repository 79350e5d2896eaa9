//! A stand-in for `pivota_search` with its public API, until that crate lands: enough of an engine (a
//! product id and a title) for this adapter's storage protocol to build and be tested. Replaced by
//! `use pivota_search as engine;` on the merge.

use std::path::{Path, PathBuf};

use pivota::ports::{IndexChange, ProductDoc, SearchError, SearchHits, SearchQuery};
use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::index::SegmentComponent;
use tantivy::query::{AllQuery, Query, QueryParser};
use tantivy::schema::{Field, STORED, STRING, Schema, TEXT, Value};
use tantivy::{Index, IndexWriter, TantivyDocument, Term, doc};

fn schema() -> Schema {
    let mut schema = Schema::builder();
    schema.add_text_field("product_id", STRING | STORED);
    schema.add_text_field("title", TEXT);
    schema.build()
}

fn field(index: &Index, name: &str) -> Result<Field, SearchError> {
    index.schema().get_field(name).map_err(other)
}

fn other(err: impl std::fmt::Display) -> SearchError {
    SearchError::Other(err.to_string())
}

pub fn open_or_create(dir: &Path) -> Result<Index, SearchError> {
    std::fs::create_dir_all(dir).map_err(other)?;
    Index::open_or_create(MmapDirectory::open(dir).map_err(other)?, schema()).map_err(other)
}

fn write(index: &Index, clear: bool, changes: Vec<IndexChange>) -> Result<(), SearchError> {
    let (id, title) = (field(index, "product_id")?, field(index, "title")?);
    let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).map_err(other)?;
    if clear {
        writer.delete_all_documents().map_err(other)?;
    }
    for change in changes {
        match change {
            IndexChange::Upsert(doc) => {
                writer.delete_term(Term::from_field_text(id, &doc.product_id));
                writer.add_document(doc!(id => doc.product_id, title => doc.title)).map_err(other)?;
            }
            IndexChange::Remove { product_id } => {
                writer.delete_term(Term::from_field_text(id, &product_id));
            }
        }
    }
    writer.commit().map_err(other)?;
    writer.wait_merging_threads().map_err(other)
}

pub fn apply(index: &Index, changes: Vec<IndexChange>) -> Result<(), SearchError> {
    write(index, false, changes)
}

pub fn replace_all(index: &Index, docs: Vec<ProductDoc>) -> Result<(), SearchError> {
    write(index, true, docs.into_iter().map(IndexChange::Upsert).collect())
}

pub fn search(searcher: &tantivy::Searcher, query: &SearchQuery) -> Result<SearchHits, SearchError> {
    let index = searcher.index();
    let (id, title) = (field(index, "product_id")?, field(index, "title")?);
    let parsed: Box<dyn Query> = match query.text.as_deref() {
        Some(text) => QueryParser::for_index(index, vec![title]).parse_query(text).map_err(other)?,
        None => Box::new(AllQuery),
    };
    let limit = query.limit.clamp(1, 100) as usize;
    let (total, top) =
        searcher.search(&parsed, &(Count, TopDocs::with_limit(limit).order_by_score())).map_err(other)?;
    let mut product_ids = Vec::with_capacity(top.len());
    for (_, address) in top {
        let doc: TantivyDocument = searcher.doc(address).map_err(other)?;
        product_ids.extend(doc.get_first(id).and_then(|v| v.as_str()).map(str::to_owned));
    }
    Ok(SearchHits { product_ids, total: total as u64, total_is_lower_bound: false, next: None })
}

pub fn files_of(index: &Index) -> Result<Vec<PathBuf>, SearchError> {
    let mut files = vec![PathBuf::from("meta.json")];
    for segment in index.searchable_segment_metas().map_err(other)? {
        for component in [
            SegmentComponent::Postings,
            SegmentComponent::Positions,
            SegmentComponent::Terms,
            SegmentComponent::Store,
            SegmentComponent::FastFields,
            SegmentComponent::FieldNorms,
        ] {
            files.push(segment.relative_path(component));
        }
        if segment.has_deletes() {
            files.push(segment.relative_path(SegmentComponent::Delete));
        }
    }
    Ok(files)
}
