//! Products.

use schemars::JsonSchema;
use serde::Serialize;

use super::{MAX_VARIANTS, bounded, bounded_opt, rfc3339};
use pivota::catalog::products::Product;

#[derive(Debug, Serialize, JsonSchema)]
pub struct VariantView {
    pub variant_id: String,
    pub title: String,
    pub sku: Option<String>,
    /// What Pivota charges, integer minor units of the product's currency: Pivota's price if one is set,
    /// else the store's.
    pub price_minor: i64,
    pub store_price_minor: i64,
    pub price_override_minor: Option<i64>,
    /// `null` when the store does not track stock for the variant.
    pub inventory_quantity: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ProductView {
    pub product_id: String,
    pub store_id: String,
    pub external_id: String,
    pub title: String,
    /// `active`, `draft`, `archived`, or `removed` (gone from the store).
    pub status: String,
    pub image_url: Option<String>,
    pub vendor: Option<String>,
    pub product_type: Option<String>,
    /// ISO 4217 code of every price of the product.
    pub currency: String,
    /// Some variant is at or below the store's low-stock threshold.
    pub low_stock: bool,
    /// The first variants (at most 50).
    pub variants: Vec<VariantView>,
    /// How many variants the product has.
    pub variant_count: usize,
    pub synced_at: String,
}

impl ProductView {
    pub fn of(product: &Product, low_stock_threshold: i64) -> Self {
        Self {
            product_id: product.product_id.clone(),
            store_id: product.store_id.clone(),
            external_id: product.external_id.clone(),
            title: bounded(&product.title),
            status: product.status.clone(),
            image_url: product.image_url.clone(),
            vendor: bounded_opt(product.vendor.as_deref()),
            product_type: bounded_opt(product.product_type.as_deref()),
            currency: product.currency.code().to_owned(),
            low_stock: product.is_low_stock(low_stock_threshold),
            variants: product
                .variants
                .iter()
                .take(MAX_VARIANTS)
                .map(|v| VariantView {
                    variant_id: v.variant_id.clone(),
                    title: bounded(&v.title),
                    sku: bounded_opt(v.sku.as_deref()),
                    price_minor: v.price_minor(),
                    store_price_minor: v.store_price_minor,
                    price_override_minor: v.price_override_minor,
                    inventory_quantity: v.inventory_quantity,
                })
                .collect(),
            variant_count: product.variants.len(),
            synced_at: rfc3339(&product.synced_at),
        }
    }
}

/// A page of products.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ProductPage {
    pub items: Vec<ProductView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// How many products match in all.
    pub total: u64,
    /// `total` is at least this many (a very large match is counted up to a bound).
    pub total_is_lower_bound: bool,
}
