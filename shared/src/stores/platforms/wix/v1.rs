//! Stores Catalog V1, for sites still on it. Catalog V1 "Query Products"
//! (https://dev.wix.com/docs/rest/business-solutions/stores/catalog/query-products):
//! `POST /stores-reader/v1/products/query`, body `{"query": {"paging": {"limit", "offset"}, "filter"},
//! "includeVariants": true, "includeHiddenProducts": true}` (hidden products come only when asked for;
//! Pivota keeps them as drafts, as it does V3's non-visible products), at most 100 per call, answer `{"products", "metadata": {"items", "offset"},
//! "totalResults"}`; `filter` is a JSON-encoded string, not an object (the V1 query recipe,
//! https://dev.wix.com/docs/api-reference/business-solutions/stores/skills/query-products-catalog-v1).
//! Prices are JSON numbers in `priceData.price` and `variants[].variant.priceData.price`; stock in
//! `variants[].stock.quantity`. Stores "Pagination" (https://dev.wix.com/api/rest/wix-stores/pagination):
//! limit/offset, designed for up to 10,000 items.
//!
//! The V1 "Product Object" (https://dev.wix.com/api/rest/wix-stores/catalog/products/product-object) has
//! `brand`, a string of 1 to 50 characters ("Product brand"), kept as the vendor. Its `productType` is
//! `physical` or `digital`, a kind and not a merchant's category, so no product type is kept.
//!
//! Choices: paging is limit/offset, not the `numericId` filter the pagination article suggests past
//! 10,000 items; a V1 catalog past 10,000 products is not paged fully (V1 is legacy: Wix moves every
//! site to V3).

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{NO_WAIT, call, image_url, invalid, parse, paths, site_currency, url, variant_external_id};
use crate::kernel::money::Currency;
use crate::stores::platforms::store_http::decimal_to_minor;
use crate::stores::platforms::{
    ExternalProduct, ExternalVariant, PlatformError, ProductPage, StoreCredentials, StoreEndpoint, label,
};

const PAGE_SIZE: u64 = 100;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryAnswer {
    #[serde(default)]
    products: Vec<WixProduct>,
    #[serde(default)]
    total_results: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WixProduct {
    id: String,
    name: String,
    #[serde(default = "visible_by_default")]
    visible: bool,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    price_data: Option<PriceData>,
    #[serde(default)]
    stock: Option<Stock>,
    #[serde(default)]
    media: Option<Value>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    last_updated: Option<OffsetDateTime>,
    #[serde(default)]
    variants: Vec<WixVariant>,
    #[serde(default)]
    brand: Option<String>,
}

fn visible_by_default() -> bool {
    true
}

#[derive(Deserialize)]
struct PriceData {
    currency: String,
    /// The JSON number exactly as Wix wrote it, so `19.99` is read as 1999 without a float.
    price: Box<RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stock {
    #[serde(default)]
    track_quantity: Option<bool>,
    #[serde(default)]
    track_inventory: Option<bool>,
    #[serde(default)]
    quantity: Option<i64>,
}

impl Stock {
    fn quantity(&self) -> Option<i64> {
        let tracked = self.track_quantity.or(self.track_inventory).unwrap_or(self.quantity.is_some());
        if tracked { self.quantity } else { None }
    }
}

#[derive(Deserialize)]
struct WixVariant {
    id: String,
    #[serde(default)]
    choices: serde_json::Map<String, Value>,
    variant: VariantData,
    #[serde(default)]
    stock: Option<Stock>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VariantData {
    price_data: PriceData,
    #[serde(default)]
    sku: Option<String>,
}

/// A price as minor units of the page's currency; a variant in another currency is refused.
fn price(data: &PriceData, currency: Currency, what: &str) -> Result<i64, String> {
    if Currency::parse(&data.currency) != Ok(currency) {
        return Err(format!("{what} is priced in {:?}, not {currency}", data.currency));
    }
    let raw = data.price.get();
    decimal_to_minor(raw, currency)
        .ok_or_else(|| format!("{what} has a price {raw} that is not an amount in {currency}"))
}

fn normalise(product: WixProduct, currency: Currency) -> Result<ExternalProduct, String> {
    let mut variants = Vec::with_capacity(product.variants.len().max(1));
    for variant in &product.variants {
        let choices: Vec<&str> = variant.choices.values().filter_map(Value::as_str).collect();
        variants.push(ExternalVariant {
            external_id: variant_external_id(&product.id, &variant.id),
            title: if choices.is_empty() { product.name.clone() } else { choices.join(" / ") },
            sku: variant.variant.sku.clone().filter(|sku| !sku.is_empty()),
            price_minor: price(&variant.variant.price_data, currency, &format!("variant {}", variant.id))?,
            inventory_quantity: variant.stock.as_ref().and_then(Stock::quantity),
        });
    }
    if variants.is_empty()
        && let Some(data) = &product.price_data
    {
        variants.push(ExternalVariant {
            external_id: variant_external_id(&product.id, "00000000-0000-0000-0000-000000000000"),
            title: product.name.clone(),
            sku: product.sku.clone().filter(|sku| !sku.is_empty()),
            price_minor: price(data, currency, &format!("product {}", product.id))?,
            inventory_quantity: product.stock.as_ref().and_then(Stock::quantity),
        });
    }
    Ok(ExternalProduct {
        image_url: image_url(product.media.as_ref()),
        external_id: product.id,
        title: product.name,
        status: if product.visible { "active" } else { "draft" }.to_owned(),
        updated_at: product.last_updated,
        variants,
        vendor: label(product.brand),
        product_type: None,
    })
}

pub(super) fn query_request(
    endpoint: &StoreEndpoint,
    limit: u64,
    offset: u64,
    product_id: Option<&str>,
) -> reqwest::RequestBuilder {
    let mut query = json!({ "paging": { "limit": limit, "offset": offset } });
    if let Some(id) = product_id {
        // V1 takes the filter as a string of JSON.
        query["filter"] = Value::String(json!({ "id": { "$eq": id } }).to_string());
    }
    endpoint
        .http
        .post(url(&endpoint.base, paths::V1_QUERY_PRODUCTS))
        .json(&json!({ "query": query, "includeVariants": true, "includeHiddenProducts": true }))
}

async fn query(
    endpoint: &StoreEndpoint,
    credentials: &StoreCredentials,
    limit: u64,
    offset: u64,
    product_id: Option<&str>,
) -> Result<QueryAnswer, PlatformError> {
    parse(&call(query_request(endpoint, limit, offset, product_id), credentials).await?, "products query")
}

fn page_currency(products: &[WixProduct]) -> Option<Currency> {
    products.iter().find_map(|product| {
        let data = product.price_data.as_ref().or_else(|| product.variants.first().map(|v| &v.variant.price_data))?;
        Currency::parse(&data.currency).ok()
    })
}

/// The currency of the catalog's first product, reading one product (which also checks the key may).
pub(super) async fn first_product_currency(
    endpoint: &StoreEndpoint,
    credentials: &StoreCredentials,
) -> Result<Option<Currency>, PlatformError> {
    Ok(page_currency(&query(endpoint, credentials, 1, 0, None).await?.products))
}

/// The page at `offset`; `carried` is the currency of the sync's first page.
pub(super) async fn page(
    endpoint: &StoreEndpoint,
    credentials: &StoreCredentials,
    offset: u64,
    carried: Option<Currency>,
) -> Result<ProductPage, PlatformError> {
    let answer = query(endpoint, credentials, PAGE_SIZE, offset, None).await?;
    let currency = match carried.or_else(|| page_currency(&answer.products)) {
        Some(currency) => currency,
        None => site_currency(endpoint, credentials).await?,
    };
    let count = answer.products.len() as u64;
    let next_offset = offset + count;
    let more = match answer.total_results {
        Some(total) => count > 0 && next_offset < total,
        None => count == PAGE_SIZE,
    };
    let products = answer
        .products
        .into_iter()
        .map(|product| normalise(product, currency))
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    Ok(ProductPage {
        products,
        currency,
        next: more.then(|| super::PageCursor::V1 { offset: next_offset, currency }.render()),
        wait_before_next: NO_WAIT,
        total: answer.total_results,
    })
}

/// One product by id (a query filtered on `id`, which returns its variants).
pub(super) async fn product(
    endpoint: &StoreEndpoint,
    credentials: &StoreCredentials,
    product_id: &str,
    currency: Currency,
) -> Result<Option<ExternalProduct>, PlatformError> {
    let answer = query(endpoint, credentials, 1, 0, Some(product_id)).await?;
    let Some(found) = answer.products.into_iter().find(|p| p.id == product_id) else { return Ok(None) };
    normalise(found, currency).map(Some).map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_keep_the_json_number_text() {
        let eur = Currency::parse("EUR").unwrap();
        let data: PriceData = serde_json::from_str(r#"{"currency":"EUR","price":19.99}"#).unwrap();
        assert_eq!(price(&data, eur, "x"), Ok(1999));
        let data: PriceData = serde_json::from_str(r#"{"currency":"EUR","price":0.3}"#).unwrap();
        assert_eq!(price(&data, eur, "x"), Ok(30));
        let data: PriceData = serde_json::from_str(r#"{"currency":"USD","price":1}"#).unwrap();
        assert!(price(&data, eur, "x").is_err());
    }
}
