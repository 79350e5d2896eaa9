//! Which products a text finds, and in which order.

use pivota::ports::ProductDoc;

use crate::fixtures::{Catalog, ids, product, text};

#[test]
fn a_text_equal_to_a_sku_ranks_its_product_above_titles_mentioning_its_words() {
    // GIVEN a product whose title holds the SKU's words, and the product that has the SKU
    let catalog = Catalog::with(&[
        product("mention", "Sku 000123 2 adapter"),
        ProductDoc { skus: vec!["SKU-000123-2".into()], ..product("owner", "Blue shirt") },
    ]);
    // WHEN the SKU is searched, in another case
    // THEN its product comes first
    assert_eq!(catalog.ids(&text("sku-000123-2")), ids(&["owner", "mention"]));
}

#[test]
fn a_sku_of_punctuation_only_is_still_found_whole() {
    let catalog =
        Catalog::with(&[ProductDoc { skus: vec!["#--#".into()], ..product("odd", "Odd") }, product("other", "Other")]);
    assert_eq!(catalog.ids(&text("#--#")), ids(&["odd"]));
}

#[test]
fn a_title_word_misspelt_by_one_edit_still_finds_the_product() {
    let catalog = Catalog::with(&[product("wallet", "Leather wallet"), product("mug", "Coffee mug")]);
    for misspelt in ["lether wallet", "wallet lether", "laether", "leathr", "leatherr wallet", "wallet leathor"] {
        assert_eq!(catalog.ids(&text(misspelt)), ids(&["wallet"]), "{misspelt}");
    }
}

#[test]
fn two_edits_do_not_match() {
    let catalog = Catalog::with(&[product("wallet", "Leather wallet")]);
    assert!(catalog.ids(&text("lethar wallet")).is_empty());
}

#[test]
fn a_four_letter_misspelling_does_not_match() {
    let catalog = Catalog::with(&[product("mug", "Blue mug")]);
    assert!(catalog.ids(&text("blie")).is_empty());
    assert!(catalog.ids(&text("blie mug")).is_empty());
    assert!(catalog.ids(&text("mug blie")).is_empty());
    assert_eq!(catalog.ids(&text("blue mug")), ids(&["mug"]));
}

#[test]
fn a_number_one_edit_away_is_another_product_not_a_typo() {
    // GIVEN two products whose SKUs differ in one digit, and one whose title has a long number
    let catalog = Catalog::with(&[
        ProductDoc { skus: vec!["PV-000002-0".into()], ..product("p3", "Product 3") },
        ProductDoc { skus: vec!["PV-000003-0".into()], ..product("p4", "Product 4") },
        product("year", "Vintage 19842 poster"),
    ]);
    // THEN a number finds only what carries it (as a word or a word's prefix), never its neighbours
    assert_eq!(catalog.ids(&text("PV-000002")), ids(&["p3"]));
    assert!(catalog.ids(&text("19843")).is_empty());
    assert!(catalog.ids(&text("000004")).is_empty());
}

#[test]
fn the_last_word_matches_as_a_prefix_and_only_the_last() {
    let catalog = Catalog::with(&[product("wallet", "Leather wallet")]);
    assert_eq!(catalog.ids(&text("leather wal")), ids(&["wallet"]));
    assert_eq!(catalog.ids(&text("l")), ids(&["wallet"]));
    assert!(catalog.ids(&text("wal leather")).is_empty());
}

#[test]
fn a_sku_word_matches_as_a_prefix_from_three_characters() {
    let catalog = Catalog::with(&[ProductDoc { skus: vec!["AB-1234".into()], ..product("p1", "Amber mug") }]);
    assert!(catalog.ids(&text("ab 12")).is_empty());
    assert_eq!(catalog.ids(&text("ab 123")), ids(&["p1"]));
    assert_eq!(catalog.ids(&text("a")), ids(&["p1"]), "a title word still matches from one character");
}

#[test]
fn every_word_must_match() {
    let catalog = Catalog::with(&[product("blue", "Blue shirt"), product("red", "Red shirt")]);
    assert_eq!(catalog.ids(&text("blue shirt")), ids(&["blue"]));
    assert!(catalog.ids(&text("green shirt")).is_empty());
}

#[test]
fn each_text_field_matches() {
    let catalog = Catalog::with(&[ProductDoc {
        variant_titles: vec!["Extra large".into()],
        skus: vec!["TB-777".into()],
        vendor: Some("Acme".into()),
        product_type: Some("Furniture".into()),
        ..product("table", "Oak table")
    }]);
    for query in ["oak", "large", "tb 777", "acme", "furniture", "acme oak furniture large 777"] {
        assert_eq!(catalog.ids(&text(query)), ids(&["table"]), "{query}");
    }
}

#[test]
fn words_are_compared_lowercased_and_folded_to_ascii() {
    let catalog = Catalog::with(&[product("creme", "Crème brûlée")]);
    assert_eq!(catalog.ids(&text("CREME Brulee")), ids(&["creme"]));
    assert_eq!(catalog.ids(&text("crème")), ids(&["creme"]));
}

#[test]
fn an_exact_word_outranks_a_prefix_which_outranks_one_edit() {
    let catalog =
        Catalog::with(&[product("fuzzy", "Chain"), product("prefix", "Chairside"), product("exact", "Chair")]);
    assert_eq!(catalog.ids(&text("chair")), ids(&["exact", "prefix", "fuzzy"]));
}

#[test]
fn an_exact_match_in_any_field_outranks_a_misspelt_title() {
    let catalog = Catalog::with(&[
        product("title-fuzzy", "Lantern"),
        ProductDoc { vendor: Some("Lanterns".into()), ..product("vendor-exact", "Lamp") },
    ]);
    assert_eq!(catalog.ids(&text("lanterns")), ids(&["vendor-exact", "title-fuzzy"]));
}

#[test]
fn a_title_match_outranks_a_variant_title_or_vendor_match() {
    let catalog = Catalog::with(&[
        ProductDoc { variant_titles: vec!["Oak".into()], ..product("variant", "Dining set") },
        ProductDoc { vendor: Some("Oak & Co".into()), ..product("vendor", "Lamp") },
        product("title", "Oak dining table with drawers"),
    ]);
    assert_eq!(catalog.ids(&text("oak"))[0], "title");
}

#[test]
fn among_equal_matches_the_shorter_title_comes_first() {
    let titles = ["Linen shirt with long sleeves", "Linen shirt", "Shirt", "Soft linen shirt", "A linen shirt in navy"];
    let products: Vec<ProductDoc> =
        titles.iter().enumerate().map(|(n, title)| product(&format!("p{n}"), title)).collect();
    let catalog = Catalog::with(&products);
    let found: Vec<usize> = catalog.ids(&text("shirt")).iter().map(|id| id[1..].parse().unwrap()).collect();
    let word_counts: Vec<usize> = found.iter().map(|&n| titles[n].split(' ').count()).collect();
    assert_eq!(word_counts, [1, 2, 3, 5, 5]);
}
