//! Paging by cursor: complete, without repeats, stable under changes, and strict about cursors.

use pivota::ports::{IndexChange, ProductDoc, SearchCursor, SearchError, SearchQuery, SearchSort};

use crate::fixtures::{Catalog, everything, product, sorted, text, upserts};

/// Twelve mugs with prices and update times in a scrambled order, some equal, one without a price.
fn mugs(prefix: &str) -> Vec<ProductDoc> {
    (0..12)
        .map(|n: i64| ProductDoc {
            prices: if n == 7 { Vec::new() } else { vec![(n * 5) % 7 * 100] },
            updated_at: 1_000 + (n * 3) % 5,
            ..product(
                &format!("{prefix}{n:02}"),
                &if n % 3 == 0 { "Blue mug".into() } else { format!("Blue mug number {n} with a long title") },
            )
        })
        .collect()
}

fn every_order() -> Vec<SearchQuery> {
    let mut queries: Vec<SearchQuery> =
        [SearchSort::Relevance, SearchSort::PriceAsc, SearchSort::PriceDesc, SearchSort::Updated]
            .into_iter()
            .map(sorted)
            .collect();
    queries.push(text("blue mug"));
    queries.push(text("mug numbr"));
    queries.push(SearchQuery { sort: SearchSort::PriceDesc, ..text("blue") });
    queries
}

#[test]
fn pages_of_two_return_every_hit_once_in_the_order_of_one_page() {
    let catalog = Catalog::with(&mugs("mug-"));
    for query in every_order() {
        let whole = catalog.ids(&query);
        assert!(whole.len() > 2, "{query:?}");
        assert_eq!(catalog.all_pages(&query, 2, |_, _| ()), whole, "{query:?}");
    }
}

#[test]
fn products_added_and_removed_between_pages_do_not_repeat_or_skip_the_others() {
    for query in every_order() {
        // GIVEN a catalog and the order of its hits
        let catalog = Catalog::with(&mugs("mug-"));
        let before = catalog.ids(&query);
        let mut removed_unseen = Vec::new();
        // WHEN, after each of the first pages, copies are added (their keys fall on both sides of the
        // cursor), the last hit seen is removed, and so is the last product not seen yet
        let mut round = 0;
        let paged = catalog.all_pages(&query, 2, |catalog, seen| {
            round += 1;
            if round > 3 {
                return;
            }
            let copies: Vec<ProductDoc> = mugs(&format!("new-{round}-")).into_iter().skip(round).step_by(4).collect();
            let mut changes = upserts(&copies);
            changes.push(IndexChange::Remove { product_id: seen.last().unwrap().clone() });
            if let Some(unseen) = before.iter().rev().find(|id| !seen.contains(id) && !removed_unseen.contains(*id)) {
                removed_unseen.push(unseen.clone());
                changes.push(IndexChange::Remove { product_id: unseen.clone() });
            }
            catalog.apply(changes);
        });
        // THEN every original product that was not taken out before its turn comes once, in its order
        let originals: Vec<&String> = paged.iter().filter(|id| id.starts_with("mug-")).collect();
        let expected: Vec<&String> = before.iter().filter(|id| !removed_unseen.contains(id)).collect();
        assert_eq!(originals, expected, "{query:?}");
        assert!(round > 3, "{query:?}");
        assert!(paged.iter().any(|id| id.starts_with("new-")), "{query:?}");
        let mut unique = paged.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), paged.len(), "{query:?}: a product repeated");
    }
}

#[test]
fn next_is_given_only_while_more_hits_remain() {
    let catalog = Catalog::with(&mugs("mug-")[..4]);
    let first = catalog.hits(&SearchQuery { limit: 2, ..sorted(SearchSort::PriceAsc) });
    assert!(first.next.is_some());
    let second = catalog.hits(&SearchQuery { limit: 2, after: first.next, ..sorted(SearchSort::PriceAsc) });
    assert_eq!(second.product_ids.len(), 2);
    assert_eq!(second.next, None);
    assert_eq!(catalog.hits(&SearchQuery { limit: 4, ..everything() }).next, None);
}

#[test]
fn total_counts_every_match_not_only_those_after_the_cursor() {
    let catalog = Catalog::with(&mugs("mug-"));
    let first = catalog.hits(&SearchQuery { limit: 5, ..text("blue") });
    assert_eq!((first.total, first.total_is_lower_bound), (12, false));
    let second = catalog.hits(&SearchQuery { limit: 5, after: first.next, ..text("blue") });
    assert_eq!(second.total, 12);
    assert_eq!(catalog.hits(&text("number")).total, 8);
}

#[test]
fn the_limit_is_clamped_to_one_through_a_hundred() {
    let products: Vec<ProductDoc> = (0..120).map(|n| product(&format!("p{n:03}"), "Mug")).collect();
    let catalog = Catalog::with(&products);
    assert_eq!(catalog.ids(&SearchQuery { limit: 0, ..everything() }).len(), 1);
    assert_eq!(catalog.ids(&SearchQuery { limit: 1000, ..everything() }).len(), 100);
    assert_eq!(catalog.hits(&SearchQuery { limit: 1000, ..everything() }).total, 120);
}

#[test]
fn a_cursor_no_page_of_this_order_could_end_on_is_refused() {
    let catalog = Catalog::with(&mugs("mug-"));
    let with_cursor = |query: SearchQuery, value: f64| {
        let reader = catalog.index.reader().unwrap();
        let query = SearchQuery { after: Some(SearchCursor { value, tie: 1 }), ..query };
        pivota_search::search(&reader.searcher(), &query)
    };
    for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let refused = with_cursor(text("mug"), value);
        assert!(matches!(refused, Err(SearchError::InvalidCursor)), "{value}: {refused:?}");
    }
    for sort in [SearchSort::PriceAsc, SearchSort::PriceDesc, SearchSort::Updated, SearchSort::Relevance] {
        let refused = with_cursor(sorted(sort), 12.5);
        assert!(matches!(refused, Err(SearchError::InvalidCursor)), "{sort:?}: {refused:?}");
    }
    assert!(with_cursor(text("mug"), 12.5).is_ok());
    assert!(with_cursor(sorted(SearchSort::PriceAsc), 1200.0).is_ok());
}
