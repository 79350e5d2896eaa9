//! Stores Catalog V3, which new sites have been on since 2025. Three reads make a page:
//!
//! - Products V3 "Query Products" (`POST /stores/v3/products/query`,
//!   https://dev.wix.com/docs/api-reference/business-solutions/stores/catalog-v3/products-v3/query-products):
//!   body `{"query": {"cursorPaging": {"limit", "cursor"}, "filter"}, "fields"}`, up to 100 products,
//!   answer `{"products", "pagingMetadata": {"count", "cursors": {"next"}, "hasNext"}}`; a request with a
//!   cursor carries no filter or sort; there is no total. It "does not return variant data". A product's
//!   `currency` is returned only when `fields` holds `"CURRENCY"`; prices are decimal strings.
//! - Read-Only Variants "Query Variants", for the page's variants: `variants.rs`.
//! - Inventory Items V3 "Query Inventory Items", for the page's stock: `inventory.rs`.
//!
//! A product event re-reads one product through Products V3 "Get Product" (`GET
//! /stores/v3/products/{productId}`, https://dev.wix.com/docs/api-reference/business-solutions/stores/catalog-v3/products-v3/get-product),
//! which does return `variantsInfo.variants` (`choices[].optionChoiceNames` only with
//! `"VARIANT_OPTION_CHOICE_NAMES"` in `fields`), and is consistent at once, unlike Read-Only Variants.
//! The V1 → V3 field mapping is Wix's "Catalog V1 to V3 Migration Guide".
//!
//! The V3 "Product Object"
//! (https://dev.wix.com/docs/api-reference/business-solutions/stores/catalog-v3/products-v3/product-object)
//! has `brand`, a Brand (`id`, `name`; "Product brand"; unlike `breadcrumbsInfo` and the like, the page asks
//! for no `fields` value to return it): `brand.name` is kept as the vendor. Its `productType` is `PHYSICAL`
//! or `DIGITAL`, a kind and not a merchant's category, and its categories (`mainCategoryId`) are ids that
//! only the Categories API names, so no product type is kept.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{
    NO_WAIT, PageCursor, call, image_url, invalid, parse, paths, site_currency, url, url_with, variant_external_id,
};
use crate::kernel::money::Currency;
use crate::stores::platforms::store_http::decimal_to_minor;
use crate::stores::platforms::{
    ExternalProduct, ExternalVariant, PlatformError, ProductPage, StoreCredentials, StoreEndpoint, label,
};

pub(super) mod inventory;
pub(super) mod variants;

use inventory::{Stock, stock};
use variants::{ProductVariant, VariantView, variants_of};

/// Query Products' maximum.
const PAGE_SIZE: u64 = 100;
/// Query Variants' and Query Inventory Items' maximum.
const BATCH_SIZE: u64 = 1000;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PagingMetadata {
    #[serde(default)]
    cursors: Option<Cursors>,
    #[serde(default)]
    has_next: Option<bool>,
}

#[derive(Deserialize, Default)]
struct Cursors {
    #[serde(default)]
    next: Option<String>,
}

impl PagingMetadata {
    fn next(self) -> Option<String> {
        let next = self.cursors.and_then(|cursors| cursors.next).filter(|next| !next.is_empty());
        if self.has_next == Some(false) { None } else { next }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V3Product {
    id: String,
    name: String,
    #[serde(default)]
    visible: Option<bool>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    media: Option<Value>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    updated_date: Option<OffsetDateTime>,
    #[serde(default)]
    variants_info: Option<VariantsInfo>,
    #[serde(default)]
    brand: Option<Brand>,
}

/// A product's brand, `{"id", "name"}`.
#[derive(Deserialize)]
struct Brand {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct VariantsInfo {
    #[serde(default)]
    variants: Vec<ProductVariant>,
}

fn normalise(
    product: &V3Product,
    variants: &[VariantView<'_>],
    stock: &Stock,
    currency: Currency,
) -> Result<ExternalProduct, String> {
    if let Some(code) = product.currency.as_deref().filter(|code| Currency::parse(code) != Ok(currency)) {
        return Err(format!("product {} is priced in {code:?}, not {currency}", product.id));
    }
    let variants = variants
        .iter()
        .map(|variant| {
            let what = format!("variant {} of product {}", variant.id, product.id);
            if let Some(code) = variant.currency.filter(|code| Currency::parse(code) != Ok(currency)) {
                return Err(format!("{what} is priced in {code:?}, not {currency}"));
            }
            let raw = variant.amount.ok_or_else(|| format!("{what} has no price.actualPrice"))?;
            let price_minor = decimal_to_minor(raw, currency)
                .ok_or_else(|| format!("{what} has a price {raw:?} that is not an amount in {currency}"))?;
            Ok(ExternalVariant {
                external_id: variant_external_id(&product.id, variant.id),
                title: if variant.choices.is_empty() { product.name.clone() } else { variant.choices.join(" / ") },
                sku: variant.sku.filter(|sku| !sku.is_empty()).map(str::to_owned),
                price_minor,
                inventory_quantity: stock.get(&(product.id.clone(), variant.id.to_owned())).copied(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(ExternalProduct {
        external_id: product.id.clone(),
        title: product.name.clone(),
        status: if product.visible.unwrap_or(true) { "active" } else { "draft" }.to_owned(),
        image_url: image_url(product.media.as_ref()),
        updated_at: product.updated_date,
        variants,
        vendor: label(product.brand.as_ref().and_then(|brand| brand.name.clone())),
        product_type: None,
    })
}

pub(super) fn query_products_request(
    endpoint: &StoreEndpoint,
    limit: u64,
    cursor: Option<&str>,
    product_id: Option<&str>,
) -> reqwest::RequestBuilder {
    let mut query = json!({ "cursorPaging": { "limit": limit } });
    match (cursor, product_id) {
        (Some(cursor), _) => query["cursorPaging"]["cursor"] = json!(cursor),
        (None, Some(id)) => query["filter"] = json!({ "id": { "$eq": id } }),
        (None, None) => {}
    }
    endpoint
        .http
        .post(url(&endpoint.base, paths::V3_QUERY_PRODUCTS))
        .json(&json!({ "query": query, "fields": ["CURRENCY"] }))
}

pub(super) fn get_product_request(
    endpoint: &StoreEndpoint,
    product_id: &str,
) -> Result<reqwest::RequestBuilder, PlatformError> {
    let url = url_with(&endpoint.base, paths::V3_PRODUCTS, &[product_id])?;
    Ok(endpoint.http.get(url).query(&[("fields", "CURRENCY"), ("fields", "VARIANT_OPTION_CHOICE_NAMES")]))
}

/// The first call filters on the products; the following ones carry only the cursor.
fn batch_query(filter_field: &str, product_ids: &[String], cursor: Option<&str>) -> Value {
    match cursor {
        Some(cursor) => json!({ "cursorPaging": { "limit": BATCH_SIZE, "cursor": cursor } }),
        None => json!({
            "filter": { filter_field: { "$in": product_ids } },
            "cursorPaging": { "limit": BATCH_SIZE },
        }),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductsAnswer {
    #[serde(default)]
    products: Vec<V3Product>,
    #[serde(default)]
    paging_metadata: PagingMetadata,
}

/// Every page of a batch query: `read(cursor)` gives one page's items and its paging.
async fn all_pages<T, F, Fut>(mut read: F) -> Result<Vec<T>, PlatformError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, PagingMetadata), PlatformError>>,
{
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let (items, paging) = read(cursor.take()).await?;
        let empty = items.is_empty();
        all.extend(items);
        match paging.next() {
            Some(next) if !empty => cursor = Some(next),
            _ => return Ok(all),
        }
    }
}

async fn query_products(
    endpoint: &StoreEndpoint,
    credentials: &StoreCredentials,
    limit: u64,
    cursor: Option<&str>,
) -> Result<ProductsAnswer, PlatformError> {
    parse(&call(query_products_request(endpoint, limit, cursor, None), credentials).await?, "products query")
}

fn currency_of(products: &[V3Product]) -> Option<Currency> {
    products.iter().find_map(|product| Currency::parse(product.currency.as_deref()?).ok())
}

/// The currency of the catalog's first product, reading one product (which also checks the key may).
pub(super) async fn first_product_currency(
    endpoint: &StoreEndpoint,
    credentials: &StoreCredentials,
) -> Result<Option<Currency>, PlatformError> {
    Ok(currency_of(&query_products(endpoint, credentials, 1, None).await?.products))
}

/// One page: the first (`None`), or the one at Wix's cursor with the sync's currency.
pub(super) async fn page(
    endpoint: &StoreEndpoint,
    credentials: &StoreCredentials,
    from: Option<(Currency, String)>,
) -> Result<ProductPage, PlatformError> {
    let (carried, cursor) = from.map_or((None, None), |(currency, cursor)| (Some(currency), Some(cursor)));
    let answer = query_products(endpoint, credentials, PAGE_SIZE, cursor.as_deref()).await?;
    let currency = match carried.or_else(|| currency_of(&answer.products)) {
        Some(currency) => currency,
        None => site_currency(endpoint, credentials).await?,
    };
    let ids: Vec<String> = answer.products.iter().map(|product| product.id.clone()).collect();
    let (variants, stock) = if ids.is_empty() {
        (Vec::new(), Stock::new())
    } else {
        (variants_of(endpoint, credentials, &ids).await?, stock(endpoint, credentials, &ids).await?)
    };
    let mut by_product: HashMap<&str, Vec<VariantView<'_>>> = HashMap::new();
    for variant in &variants {
        by_product.entry(variant.product_data.product_id.as_str()).or_default().push(variant.into());
    }
    let products = answer
        .products
        .iter()
        .map(|product| {
            normalise(product, by_product.get(product.id.as_str()).map_or(&[], Vec::as_slice), &stock, currency)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let next = if answer.products.is_empty() { None } else { answer.paging_metadata.next() };
    Ok(ProductPage {
        products,
        currency,
        next: next.map(|cursor| PageCursor::V3 { currency, cursor }.render()),
        wait_before_next: NO_WAIT,
        total: None,
    })
}

/// One product by id, with its variants and stock; `None` when Wix answers 404.
pub(super) async fn product(
    endpoint: &StoreEndpoint,
    credentials: &StoreCredentials,
    product_id: &str,
    currency: Currency,
) -> Result<Option<ExternalProduct>, PlatformError> {
    #[derive(Deserialize)]
    struct Answer {
        product: V3Product,
    }
    let Some(body) = super::call_found(get_product_request(endpoint, product_id)?, credentials).await? else {
        return Ok(None);
    };
    let answer: Answer = parse(&body, "product")?;
    let ids = [answer.product.id.clone()];
    let stock = stock(endpoint, credentials, &ids).await?;
    let variants: Vec<VariantView<'_>> = answer
        .product
        .variants_info
        .as_ref()
        .map(|info| info.variants.iter().map(VariantView::from).collect())
        .unwrap_or_default();
    normalise(&answer.product, &variants, &stock, currency).map(Some).map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_decimal_strings_in_the_products_currency() {
        let product: V3Product = serde_json::from_value(json!({"id": "p", "name": "Mug", "currency": "EUR"})).unwrap();
        let eur = Currency::parse("EUR").unwrap();
        let usd = Currency::parse("USD").unwrap();
        let view = |amount| VariantView { id: "v", sku: None, choices: vec![], amount, currency: None };
        let read = normalise(&product, &[view(Some("19.99"))], &Stock::new(), eur).unwrap();
        assert_eq!(read.variants[0].price_minor, 1999);
        assert_eq!(read.variants[0].external_id, "p-v");
        assert!(normalise(&product, &[view(Some("19.99"))], &Stock::new(), usd).is_err(), "another currency");
        assert!(normalise(&product, &[view(None)], &Stock::new(), eur).is_err(), "no price");
        assert!(normalise(&product, &[view(Some("1.2.3"))], &Stock::new(), eur).is_err(), "not an amount");
    }

    #[test]
    fn paging_ends_when_wix_says_so() {
        let paging = |next: Option<&str>, has_next| PagingMetadata {
            cursors: Some(Cursors { next: next.map(str::to_owned) }),
            has_next,
        };
        assert_eq!(paging(Some("c2"), Some(true)).next().as_deref(), Some("c2"));
        assert_eq!(paging(Some("c2"), Some(false)).next(), None);
        assert_eq!(paging(None, Some(true)).next(), None);
        assert_eq!(paging(Some(""), None).next(), None);
    }
}
