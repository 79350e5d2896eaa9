//! What a product becomes in the index, and the text analysis that indexing and querying share.
//!
//! | field | kind | used for |
//! |---|---|---|
//! | `product_id` | raw term, fast | replacing and removing by id; reading a hit's id |
//! | `title`, `variant_titles`, `skus`, `vendor`, `product_type` | words, doc ids only | text matching |
//! | `sku_exact` | raw term: each whole SKU, lowercased | a text equal to a SKU |
//! | `store_id`, `status` | raw term | filters |
//! | `in_stock` | bool term | filter |
//! | `min_stock` | fast i64, absent when no variant is tracked | the low-stock filter |
//! | `prices` | fast i64, one value per variant | the price-range filter |
//! | `min_price` | fast i64, absent without prices | the price sorts |
//! | `updated_at` | fast i64 | the update sort |
//! | `tie` | fast u64, a hash of `product_id` | the tie-breaker every sort ends with |
//!
//! Relevance is not BM25 (see `query`), so the word fields keep neither term frequencies nor positions;
//! only the title keeps field norms, for the shorter-title bonus. Nothing is stored: hits are read from
//! the `product_id` column and the table stays the source of truth, which keeps the files small for the
//! adapter that ships them to S3.

use pivota::ports::{ProductDoc, SearchError};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STRING, Schema, TantivyDocument, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, TokenStream,
};
use tantivy::{Index, Term};

/// The analyzer of the word fields, registered on every index under this name.
pub(crate) const TOKENIZER: &str = "pivota_words";
/// Longer tokens are dropped: no one types them, and they bloat the term dictionary.
const LONGEST_WORD: usize = 40;

pub(crate) const PRODUCT_ID: &str = "product_id";
pub(crate) const TITLE: &str = "title";
const VARIANT_TITLES: &str = "variant_titles";
const SKUS: &str = "skus";
const VENDOR: &str = "vendor";
const PRODUCT_TYPE: &str = "product_type";
const SKU_EXACT: &str = "sku_exact";
const STORE_ID: &str = "store_id";
const STATUS: &str = "status";
const IN_STOCK: &str = "in_stock";
const MIN_STOCK: &str = "min_stock";
const PRICES: &str = "prices";
pub(crate) const MIN_PRICE: &str = "min_price";
pub(crate) const UPDATED_AT: &str = "updated_at";
pub(crate) const TIE: &str = "tie";

/// Pivota's index schema.
pub fn schema() -> Schema {
    let words = |fieldnorms: bool| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::Basic)
                .set_fieldnorms(fieldnorms),
        )
    };
    let mut builder = Schema::builder();
    builder.add_text_field(PRODUCT_ID, STRING | FAST);
    builder.add_text_field(TITLE, words(true));
    for field in [VARIANT_TITLES, SKUS, VENDOR, PRODUCT_TYPE] {
        builder.add_text_field(field, words(false));
    }
    for field in [SKU_EXACT, STORE_ID, STATUS] {
        builder.add_text_field(field, STRING);
    }
    builder.add_bool_field(IN_STOCK, INDEXED);
    for field in [MIN_STOCK, PRICES, MIN_PRICE, UPDATED_AT] {
        builder.add_i64_field(field, FAST);
    }
    builder.add_u64_field(TIE, FAST);
    builder.build()
}

/// Splits on anything but letters and digits, lowercases, folds accents to ASCII.
pub(crate) fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(LONGEST_WORD))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// tantivy does not persist analyzers: an index opened by any means needs this before a writer indexes.
pub(crate) fn register_analyzer(index: &Index) {
    index.tokenizers().register(TOKENIZER, analyzer());
}

pub(crate) fn words(text: &str) -> Vec<String> {
    let mut analyzer = analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut words = Vec::new();
    while let Some(token) = stream.next() {
        words.push(token.text.clone());
    }
    words
}

/// How a SKU is kept for the whole-SKU match, and how the searched text is compared to it.
pub(crate) fn sku_key(sku: &str) -> String {
    sku.trim().to_lowercase()
}

/// The tie-breaker: 64-bit FNV-1a of the product id, stable across processes and versions.
pub(crate) fn tie_of(product_id: &str) -> u64 {
    product_id.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

/// The schema's fields, resolved once per search or write.
pub(crate) struct Fields {
    pub product_id: Field,
    pub title: Field,
    pub variant_titles: Field,
    pub skus: Field,
    pub vendor: Field,
    pub product_type: Field,
    pub sku_exact: Field,
    pub store_id: Field,
    pub status: Field,
    pub in_stock: Field,
    pub min_stock: Field,
    pub prices: Field,
    min_price: Field,
    updated_at: Field,
    tie: Field,
}

impl Fields {
    pub fn of(schema: &Schema) -> Result<Self, SearchError> {
        let field = |name: &str| {
            schema.get_field(name).map_err(|_| SearchError::Other(format!("the index has no `{name}` field")))
        };
        Ok(Self {
            product_id: field(PRODUCT_ID)?,
            title: field(TITLE)?,
            variant_titles: field(VARIANT_TITLES)?,
            skus: field(SKUS)?,
            vendor: field(VENDOR)?,
            product_type: field(PRODUCT_TYPE)?,
            sku_exact: field(SKU_EXACT)?,
            store_id: field(STORE_ID)?,
            status: field(STATUS)?,
            in_stock: field(IN_STOCK)?,
            min_stock: field(MIN_STOCK)?,
            prices: field(PRICES)?,
            min_price: field(MIN_PRICE)?,
            updated_at: field(UPDATED_AT)?,
            tie: field(TIE)?,
        })
    }

    pub fn id_term(&self, product_id: &str) -> Term {
        Term::from_field_text(self.product_id, product_id)
    }

    pub fn document(&self, product: &ProductDoc) -> TantivyDocument {
        let mut doc = TantivyDocument::new();
        doc.add_text(self.product_id, &product.product_id);
        doc.add_text(self.title, &product.title);
        for title in &product.variant_titles {
            doc.add_text(self.variant_titles, title);
        }
        for sku in &product.skus {
            doc.add_text(self.skus, sku);
            let key = sku_key(sku);
            if !key.is_empty() {
                doc.add_text(self.sku_exact, key);
            }
        }
        if let Some(vendor) = &product.vendor {
            doc.add_text(self.vendor, vendor);
        }
        if let Some(product_type) = &product.product_type {
            doc.add_text(self.product_type, product_type);
        }
        doc.add_text(self.store_id, &product.store_id);
        doc.add_text(self.status, &product.status);
        doc.add_bool(self.in_stock, product.in_stock);
        if let Some(min_stock) = product.min_stock {
            doc.add_i64(self.min_stock, min_stock);
        }
        for &price in &product.prices {
            doc.add_i64(self.prices, price);
        }
        if let Some(&min_price) = product.prices.iter().min() {
            doc.add_i64(self.min_price, min_price);
        }
        doc.add_i64(self.updated_at, product.updated_at);
        doc.add_u64(self.tie, tie_of(&product.product_id));
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_punctuation_lowercase_and_fold_accents() {
        assert_eq!(words("Crème-Brûlée SKU_42/b"), ["creme", "brulee", "sku", "42", "b"]);
    }

    #[test]
    fn the_tie_breaker_is_fnv1a() {
        assert_eq!(tie_of(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(tie_of("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
