//! One page of hits: every matching product gets a sort key `(rank, tie)`, greater first, and the page is
//! the `limit` greatest keys strictly below the cursor's.
//!
//! | sort | cursor value | rank |
//! |---|---|---|
//! | relevance, with text | score + title bonus | the value |
//! | relevance without text, updated | `updated_at` | the value |
//! | price descending | lowest price, [`NO_PRICE_DESC`] without | the value |
//! | price ascending | lowest price, [`NO_PRICE_ASC`] without | minus the value |
//!
//! The title bonus, `0.25 / (1 + words in the title)`, orders products that matched equally by the shorter
//! title; it is at most half the smallest gap between two sums of match scores (0.5, see `query`), so it
//! never reorders products that matched differently. The tie is a hash of the
//! product id, unique in practice, so the order is total and a cursor names one position in it: products
//! added or removed before or after it never make the others repeat or skip. Keys are computed from the
//! product alone (fast fields, field norm, constant scores), never from statistics of the whole index.
//!
//! The keys are computed for every matching document (no early termination), so the exact count of
//! matches comes at the price of one increment each: `total` is never a lower bound.

use std::sync::Arc;

use pivota::ports::{SearchCursor, SearchError, SearchHits, SearchQuery, SearchSort};
use tantivy::collector::sort_key::{Comparator, NaturalComparator};
use tantivy::collector::{Count, SegmentSortKeyComputer, SortKeyComputer, TopDocs, TopNComputer};
use tantivy::columnar::{Column, ColumnValues, StrColumn};
use tantivy::fieldnorm::FieldNormReader;
use tantivy::schema::Field;
use tantivy::{DocAddress, DocId, Score, Searcher, SegmentReader};

use crate::failure;
use crate::query;
use crate::schema::{self, Fields};

const MAX_LIMIT: u32 = 100;
/// Products without a price come last in both price orders: these stand in for their price.
const NO_PRICE_ASC: f64 = f64::MAX;
const NO_PRICE_DESC: f64 = f64::MIN;
/// The most a title bonus adds, for an empty title.
const TITLE_BONUS: f64 = 0.25;

/// `(rank, tie)`, greater first.
type Key = (f64, u64);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Order {
    Score,
    Updated,
    PriceAsc,
    PriceDesc,
}

impl Order {
    fn of(search: &SearchQuery) -> Self {
        match search.sort {
            SearchSort::Relevance if query::has_text(search) => Self::Score,
            SearchSort::Relevance | SearchSort::Updated => Self::Updated,
            SearchSort::PriceAsc => Self::PriceAsc,
            SearchSort::PriceDesc => Self::PriceDesc,
        }
    }

    fn sign(self) -> f64 {
        if self == Self::PriceAsc { -1.0 } else { 1.0 }
    }

    /// The key a cursor stands for; a value this order can never produce is refused.
    fn key_of(self, cursor: &SearchCursor) -> Result<Key, SearchError> {
        let whole = cursor.value.fract() == 0.0;
        let fits = cursor.value.is_finite() && (self == Self::Score || whole);
        if fits { Ok((self.sign() * cursor.value, cursor.tie)) } else { Err(SearchError::InvalidCursor) }
    }

    fn cursor_of(self, (rank, tie): Key) -> SearchCursor {
        SearchCursor { value: self.sign() * rank, tie }
    }
}

/// One page of hits from a searcher of a merchant's index.
pub fn search(searcher: &Searcher, search: &SearchQuery) -> Result<SearchHits, SearchError> {
    let fields = Fields::of(searcher.schema())?;
    let order = Order::of(search);
    let after = search.after.as_ref().map(|cursor| order.key_of(cursor)).transpose()?;
    let limit = search.limit.clamp(1, MAX_LIMIT) as usize;
    let keys = PageKeys { order, after, title: fields.title };
    let collector = (Count, TopDocs::with_limit(limit + 1).order_by(keys));
    let (total, mut hits) = searcher.search(&*query::build(&fields, search), &collector).map_err(failure)?;
    let more = hits.len() > limit;
    hits.truncate(limit);
    let next = if more { hits.last().map(|&(key, _)| order.cursor_of(key)) } else { None };
    let product_ids = product_ids(searcher, hits.iter().map(|&(_, address)| address))?;
    Ok(SearchHits { product_ids, total: total as u64, total_is_lower_bound: false, next })
}

fn product_ids(searcher: &Searcher, hits: impl Iterator<Item = DocAddress>) -> Result<Vec<String>, SearchError> {
    let mut columns: Vec<Option<StrColumn>> = vec![None; searcher.segment_readers().len()];
    let mut ids = Vec::new();
    for hit in hits {
        let column = match &mut columns[hit.segment_ord as usize] {
            Some(column) => column,
            empty => {
                let reader = searcher.segment_reader(hit.segment_ord);
                let column = reader.fast_fields().str(schema::PRODUCT_ID).map_err(failure)?;
                empty.insert(column.ok_or_else(|| SearchError::Other("no product_id column".into()))?)
            }
        };
        let mut id = String::new();
        let ord = column.term_ords(hit.doc_id).next();
        let found = match ord {
            Some(ord) => column.ord_to_str(ord, &mut id).map_err(|error| SearchError::Other(error.to_string()))?,
            None => false,
        };
        if !found {
            return Err(SearchError::Other(format!("a hit without a product id: {hit:?}")));
        }
        ids.push(id);
    }
    Ok(ids)
}

struct PageKeys {
    order: Order,
    after: Option<Key>,
    title: Field,
}

impl SortKeyComputer for PageKeys {
    type SortKey = Key;
    type Child = SegmentKeys;
    type Comparator = NaturalComparator;

    fn requires_scoring(&self) -> bool {
        self.order == Order::Score
    }

    fn segment_sort_key_computer(&self, segment: &SegmentReader) -> tantivy::Result<SegmentKeys> {
        let fast = segment.fast_fields();
        let rank = match self.order {
            Order::Score => Rank::Score(segment.get_fieldnorms_reader(self.title)?),
            Order::Updated => Rank::Updated(fast.i64(schema::UPDATED_AT)?.first_or_default_col(0)),
            Order::PriceAsc => Rank::Price(fast.i64(schema::MIN_PRICE)?, -1.0, NO_PRICE_ASC),
            Order::PriceDesc => Rank::Price(fast.i64(schema::MIN_PRICE)?, 1.0, NO_PRICE_DESC),
        };
        Ok(SegmentKeys { rank, tie: fast.u64(schema::TIE)?.first_or_default_col(0), after: self.after })
    }
}

enum Rank {
    /// The query's score plus the title bonus, from the title's field norm (its word count).
    Score(FieldNormReader),
    Updated(Arc<dyn ColumnValues<i64>>),
    /// The lowest price (or the stand-in for none), times the order's sign.
    Price(Column<i64>, f64, f64),
}

struct SegmentKeys {
    rank: Rank,
    tie: Arc<dyn ColumnValues<u64>>,
    after: Option<Key>,
}

impl SegmentSortKeyComputer for SegmentKeys {
    type SortKey = Key;
    type SegmentSortKey = Key;
    type SegmentComparator = NaturalComparator;

    fn segment_sort_key(&mut self, doc: DocId, score: Score) -> Key {
        let rank = match &self.rank {
            Rank::Score(title) => f64::from(score) + TITLE_BONUS / (1.0 + f64::from(title.fieldnorm(doc))),
            Rank::Updated(updated_at) => updated_at.get_val(doc) as f64,
            Rank::Price(min_price, sign, none) => sign * min_price.first(doc).map_or(*none, |price| price as f64),
        };
        (rank, self.tie.get_val(doc))
    }

    fn compute_sort_key_and_collect<C: Comparator<Key>>(
        &mut self,
        doc: DocId,
        score: Score,
        top: &mut TopNComputer<Key, DocId, C>,
    ) {
        let key = self.segment_sort_key(doc, score);
        if self.after.is_none_or(|after| key < after) {
            top.push(key, doc);
        }
    }

    fn convert_segment_sort_key(&self, key: Key) -> Key {
        key
    }
}
