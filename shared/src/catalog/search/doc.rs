//! A product as the search index sees it.

use crate::catalog::products::Product;
use crate::ports::ProductDoc;

/// The variant title Shopify gives a product's only variant: it says nothing, and indexed it would make
/// "default" match every such product.
const PLACEHOLDER_VARIANT_TITLES: &[&str] = &["default title", "default"];

pub fn doc_of(product: &Product) -> ProductDoc {
    let tracked = product.variants.iter().filter_map(|v| v.inventory_quantity);
    ProductDoc {
        product_id: product.product_id.clone(),
        store_id: product.store_id.clone(),
        title: product.title.clone(),
        variant_titles: product
            .variants
            .iter()
            .map(|v| v.title.trim())
            .filter(|t| !t.is_empty() && !PLACEHOLDER_VARIANT_TITLES.contains(&t.to_lowercase().as_str()))
            .map(str::to_owned)
            .collect(),
        skus: product.variants.iter().filter_map(|v| v.sku.clone()).filter(|s| !s.trim().is_empty()).collect(),
        vendor: product.vendor.clone(),
        product_type: product.product_type.clone(),
        status: product.status.clone(),
        in_stock: product.variants.iter().any(|v| v.inventory_quantity.is_none_or(|q| q > 0)),
        min_stock: tracked.min(),
        prices: product.variants.iter().map(|v| v.price_minor()).collect(),
        // When Pivota last wrote the store's content (a sync, a webhook, a removal).
        updated_at: product.synced_at.unix_timestamp(),
    }
}
