//! A page's variants, read through Read-Only Variants "Query Variants" (`POST
//! /stores/v3/products/query-variants`,
//! https://dev.wix.com/docs/api-reference/business-solutions/stores/catalog-v3/read-only-variants-v3/query-variants):
//! up to 1,000 variants a call, filtered on `productData.productId`; each has `variantId`,
//! `optionChoices[].optionChoiceNames.choiceName`, `sku`, `price.actualPrice.amount` (what the buyer
//! pays) and `productData.currency` (with `"CURRENCY"`). Wix says this API is eventually consistent
//! with the Products API, which is fine for a sync. Also the variants inside a product as Get Product
//! returns them, and the view of either shape that the parent module normalises.

use serde::Deserialize;
use serde_json::json;

use super::{PagingMetadata, all_pages, batch_query};
use crate::stores::platforms::wix::{call, parse, paths, url};
use crate::stores::platforms::{PlatformError, StoreCredentials, StoreEndpoint};

/// A variant inside a product (Get Product).
#[derive(Deserialize)]
pub(super) struct ProductVariant {
    id: String,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    choices: Vec<OptionChoice>,
    #[serde(default)]
    price: Option<PriceInfo>,
}

/// A variant from Read-Only Variants.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ReadOnlyVariant {
    variant_id: String,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    option_choices: Vec<OptionChoice>,
    #[serde(default)]
    price: Option<PriceInfo>,
    pub(super) product_data: ProductData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ProductData {
    pub(super) product_id: String,
    #[serde(default)]
    currency: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OptionChoice {
    #[serde(default)]
    option_choice_names: Option<ChoiceNames>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChoiceNames {
    #[serde(default)]
    choice_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PriceInfo {
    #[serde(default)]
    actual_price: Option<Amount>,
}

#[derive(Deserialize)]
struct Amount {
    amount: String,
}

/// `price.actualPrice.amount`, what the buyer pays.
fn actual_price(price: Option<&PriceInfo>) -> Option<&str> {
    price?.actual_price.as_ref().map(|actual| actual.amount.as_str())
}

/// A variant of either shape, as normalised.
pub(super) struct VariantView<'a> {
    pub(super) id: &'a str,
    pub(super) sku: Option<&'a str>,
    pub(super) choices: Vec<&'a str>,
    pub(super) amount: Option<&'a str>,
    pub(super) currency: Option<&'a str>,
}

fn choice_names(choices: &[OptionChoice]) -> Vec<&str> {
    choices
        .iter()
        .filter_map(|choice| choice.option_choice_names.as_ref())
        .map(|names| names.choice_name.as_str())
        .filter(|name| !name.is_empty())
        .collect()
}

impl<'a> VariantView<'a> {
    fn new(
        id: &'a str,
        sku: &'a Option<String>,
        choices: &'a [OptionChoice],
        price: &'a Option<PriceInfo>,
        currency: Option<&'a str>,
    ) -> Self {
        Self { id, sku: sku.as_deref(), choices: choice_names(choices), amount: actual_price(price.as_ref()), currency }
    }
}

impl<'a> From<&'a ProductVariant> for VariantView<'a> {
    fn from(v: &'a ProductVariant) -> Self {
        Self::new(&v.id, &v.sku, &v.choices, &v.price, None)
    }
}

impl<'a> From<&'a ReadOnlyVariant> for VariantView<'a> {
    fn from(v: &'a ReadOnlyVariant) -> Self {
        Self::new(&v.variant_id, &v.sku, &v.option_choices, &v.price, v.product_data.currency.as_deref())
    }
}

pub(in crate::stores::platforms::wix) fn query_variants_request(
    endpoint: &StoreEndpoint,
    product_ids: &[String],
    cursor: Option<&str>,
) -> reqwest::RequestBuilder {
    endpoint.http.post(url(&endpoint.base, paths::V3_QUERY_VARIANTS)).json(&json!({
        "query": batch_query("productData.productId", product_ids, cursor),
        "fields": ["CURRENCY"],
    }))
}

pub(super) async fn variants_of(
    endpoint: &StoreEndpoint,
    credentials: &StoreCredentials,
    product_ids: &[String],
) -> Result<Vec<ReadOnlyVariant>, PlatformError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Answer {
        #[serde(default)]
        variants: Vec<ReadOnlyVariant>,
        #[serde(default)]
        paging_metadata: PagingMetadata,
    }
    all_pages(|cursor| async move {
        let request = query_variants_request(endpoint, product_ids, cursor.as_deref());
        let answer: Answer = parse(&call(request, credentials).await?, "variants query")?;
        Ok((answer.variants, answer.paging_metadata))
    })
    .await
}
