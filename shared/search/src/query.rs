//! From a [`SearchQuery`] to one tantivy query: the text's words, then the filters, all required.
//!
//! Relevance is a sum of constants, not BM25. Each word scores the best of its matches across fields
//! (a disjunction-max), with these weights:
//!
//! | match | title | variant title, SKU, vendor, product type |
//! |---|---|---|
//! | exact word | 10 | 6 |
//! | prefix (last word only) | 4 | 3 |
//! | within one edit (words of 5+ letters) | 3 | 2 |
//! | prefix within one edit (last word, 5+ letters) | 2 | 1.5 |
//!
//! In SKUs, the last word matches as a prefix only from three characters: SKU words are mostly unique
//! codes, so a shorter prefix expands to a large share of them (`1` to 111,000 terms in a catalog of a
//! million products, 40 ms a search) for nothing a shopper means.
//!
//! Any exact match outranks any other kind, and a title match outranks the same match elsewhere. A text
//! equal to a whole SKU adds [`SKU_EXACT`], more than any sum of word scores. Because a score depends only
//! on the product and the query (no corpus statistics such as IDF or average length), it does not move
//! when other products are added or removed, which keeps relevance paging by cursor stable. The weights
//! are halves and integers, so sums are exact in `f32` whatever the order tantivy adds them in.

use std::collections::BTreeMap;
use std::ops::Bound;

use pivota::ports::SearchQuery;
use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, DisjunctionMaxQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::IndexRecordOption;

use crate::schema::{self, Fields};

/// Added when the whole text equals a SKU: above [`MAX_WORDS`] × the best word score.
const SKU_EXACT: f32 = 10_000.0;
/// Words past this are ignored: each word expands to up to 20 term and automaton queries.
const MAX_WORDS: usize = 32;
/// Shorter words match only exactly (or as a prefix when last): one edit is too loose for them.
const FUZZY_MIN_CHARS: usize = 5;
const REMOVED: &str = "removed";

/// How a word matches in one field.
struct Weights {
    exact: f32,
    prefix: f32,
    fuzzy: f32,
    fuzzy_prefix: f32,
    prefix_min_chars: usize,
}

const TITLE: Weights = Weights { exact: 10.0, prefix: 4.0, fuzzy: 3.0, fuzzy_prefix: 2.0, prefix_min_chars: 1 };
const SECONDARY: Weights = Weights { exact: 6.0, prefix: 3.0, fuzzy: 2.0, fuzzy_prefix: 1.5, prefix_min_chars: 1 };
const SKU_WORDS: Weights = Weights { prefix_min_chars: 3, ..SECONDARY };

/// The query for a search; `None` text (or only blanks) matches every product the filters keep.
pub(crate) fn build(fields: &Fields, search: &SearchQuery) -> Box<dyn Query> {
    let matching =
        search.text.as_deref().and_then(|text| text_query(fields, text)).unwrap_or_else(|| Box::new(AllQuery));
    let mut clauses = vec![(Occur::Must, matching)];
    let mut require = |query: Box<dyn Query>| clauses.push((Occur::Must, unscored(query)));
    if let Some(store_id) = &search.store_id {
        require(term(Term::from_field_text(fields.store_id, store_id)));
    }
    if let Some(status) = &search.status {
        require(term(Term::from_field_text(fields.status, status)));
    }
    if let Some(in_stock) = search.in_stock {
        require(term(Term::from_field_bool(fields.in_stock, in_stock)));
    }
    if search.price_min.is_some() || search.price_max.is_some() {
        let bound = |price: Option<i64>| {
            price.map_or(Bound::Unbounded, |p| Bound::Included(Term::from_field_i64(fields.prices, p)))
        };
        require(Box::new(RangeQuery::new(bound(search.price_min), bound(search.price_max))));
    }
    if search.low_stock == Some(true) {
        require(low_stock(fields, search));
    }
    if search.low_stock == Some(false) {
        clauses.push((Occur::MustNot, low_stock(fields, search)));
    }
    if search.status.is_none() {
        clauses.push((Occur::MustNot, term(Term::from_field_text(fields.status, REMOVED))));
    }
    Box::new(BooleanQuery::new(clauses))
}

/// Whether the search has text to rank by (else relevance falls back to the update time).
pub(crate) fn has_text(search: &SearchQuery) -> bool {
    search.text.as_deref().is_some_and(|text| !text.trim().is_empty())
}

fn text_query(fields: &Fields, text: &str) -> Option<Box<dyn Query>> {
    let sku = schema::sku_key(text);
    if sku.is_empty() {
        return None;
    }
    let sku_exact = scored(term(Term::from_field_text(fields.sku_exact, &sku)), SKU_EXACT);
    let words: Vec<String> = schema::words(text).into_iter().take(MAX_WORDS).collect();
    if words.is_empty() {
        return Some(sku_exact);
    }
    let last = words.len() - 1;
    let every_word =
        words.iter().enumerate().map(|(at, word)| (Occur::Must, word_query(fields, word, at == last))).collect();
    Some(Box::new(BooleanQuery::new(vec![
        (Occur::Should, Box::new(BooleanQuery::new(every_word)) as Box<dyn Query>),
        (Occur::Should, sku_exact),
    ])))
}

/// The best of the word's matches in any text field.
fn word_query(fields: &Fields, word: &str, is_last: bool) -> Box<dyn Query> {
    let chars = word.chars().count();
    // Typos are forgiven in words of letters: a number one edit away (a SKU's `000002` and `000003`, a size)
    // is another product, not a misspelling.
    let fuzzy = chars >= FUZZY_MIN_CHARS && word.chars().all(char::is_alphabetic);
    let weighted = [
        (fields.title, &TITLE),
        (fields.variant_titles, &SECONDARY),
        (fields.skus, &SKU_WORDS),
        (fields.vendor, &SECONDARY),
        (fields.product_type, &SECONDARY),
    ];
    let mut matches: Vec<Box<dyn Query>> = Vec::new();
    for (field, weights) in weighted {
        let word_term = || Term::from_field_text(field, word);
        matches.push(scored(term(word_term()), weights.exact));
        if is_last && chars >= weights.prefix_min_chars {
            matches.push(scored(Box::new(FuzzyTermQuery::new_prefix(word_term(), 0, true)), weights.prefix));
        }
        if fuzzy {
            matches.push(scored(Box::new(FuzzyTermQuery::new(word_term(), 1, true)), weights.fuzzy));
        }
        if fuzzy && is_last {
            matches.push(scored(Box::new(FuzzyTermQuery::new_prefix(word_term(), 1, true)), weights.fuzzy_prefix));
        }
    }
    Box::new(DisjunctionMaxQuery::new(matches))
}

/// Products at or below their store's threshold: for each listed store, its own threshold; for every other
/// store, the default. A product without tracked stock has no `min_stock` and never matches.
fn low_stock(fields: &Fields, search: &SearchQuery) -> Box<dyn Query> {
    let thresholds: BTreeMap<&str, i64> = search.thresholds.iter().map(|(store, at)| (store.as_str(), *at)).collect();
    let at_most = |threshold: i64| -> Box<dyn Query> {
        Box::new(RangeQuery::new(Bound::Unbounded, Bound::Included(Term::from_field_i64(fields.min_stock, threshold))))
    };
    let store = |store_id: &str| term(Term::from_field_text(fields.store_id, store_id));
    let mut any_store: Vec<(Occur, Box<dyn Query>)> = thresholds
        .iter()
        .map(|(&store_id, &threshold)| {
            let listed = BooleanQuery::new(vec![(Occur::Must, store(store_id)), (Occur::Must, at_most(threshold))]);
            (Occur::Should, Box::new(listed) as Box<dyn Query>)
        })
        .collect();
    let mut unlisted = vec![(Occur::Must, at_most(search.default_threshold))];
    unlisted.extend(thresholds.keys().map(|&store_id| (Occur::MustNot, store(store_id))));
    any_store.push((Occur::Should, Box::new(BooleanQuery::new(unlisted))));
    Box::new(BooleanQuery::new(any_store))
}

fn term(term: Term) -> Box<dyn Query> {
    Box::new(TermQuery::new(term, IndexRecordOption::Basic))
}

fn scored(query: Box<dyn Query>, score: f32) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(query, score))
}

/// A filter adds nothing to the score.
fn unscored(query: Box<dyn Query>) -> Box<dyn Query> {
    scored(query, 0.0)
}
