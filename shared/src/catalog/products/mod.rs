//! The synced product catalog.
//!
//! | item          | pk                        | sk                                  | gsi1pk                      | gsi1sk         |
//! |---------------|---------------------------|-------------------------------------|-----------------------------|----------------|
//! | product       | `MERCHANT#<id>#PRODUCTS`  | `PRODUCT#<product_id>`              | `STORE#<store_id>#PRODUCTS` | `<product_id>` |
//! | variant chunk | `MERCHANT#<id>#PRODUCTS`  | `VARIANTS#<product_id>#<chunk id>`  |                             |                |
//!
//! `product_id` is derived from (store, the platform's product id), so the sync computes a product's key
//! without reading anything. Each item keeps the hash of the store's content: a re-sync of an unchanged
//! product rewrites only its stamp (`seen_by_job`, the last sync job whose pages listed it), which the end
//! of the sync reads to find the products the store no longer has. Prices set in Pivota (`PATCH`) are
//! overrides kept apart from the store's prices, so a sync never overwrites them. A product whose variants
//! do not fit in its item (DynamoDB's 400 KB) keeps them in chunk items, written before the product points
//! at them: see [`crate::catalog::products::items`]. Every read here returns products with all their variants.
//!
//! This module holds the product record, its keys and its reads; the writes are in `writes.rs`, and
//! marking products removed in `removal.rs`. Searching the catalog is `crate::catalog::search`'s.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::kernel::error::Error;
use crate::kernel::money::Currency;
use crate::onboarding::merchant::MerchantId;
use crate::ports::HasTable;
use crate::ports::{Index, ItemKey, PageCursor, Query};
use crate::record::{FIRST_VERSION, Record};
use crate::stores::platforms::ExternalProduct;
use items::VariantChunk;

pub mod items;
mod removal;
#[cfg(test)]
mod tests;
mod writes;

pub use removal::{REMOVAL_PAGE, mark_removed, remove_page};
pub use writes::{WRITE_CHUNK, save_from_store, save_over, write_merged};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Variant {
    pub variant_id: String,
    pub title: String,
    pub sku: Option<String>,
    /// The store's price, integer minor units.
    pub store_price_minor: i64,
    /// A price set in Pivota, which wins over the store's.
    #[serde(default)]
    pub price_override_minor: Option<i64>,
    pub inventory_quantity: Option<i64>,
}

impl Variant {
    pub fn price_minor(&self) -> i64 {
        self.price_override_minor.unwrap_or(self.store_price_minor)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub product_id: String,
    pub merchant_id: MerchantId,
    pub store_id: String,
    pub external_id: String,
    pub title: String,
    /// `active`, `draft`, `archived`, or `removed` once it disappeared from the store.
    pub status: String,
    pub image_url: Option<String>,
    /// The store's vendor (Shopify) or brand (Wix), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// The merchant's category name for the product (Shopify's product type), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_type: Option<String>,
    pub currency: Currency,
    pub variants: Vec<Variant>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub store_updated_at: Option<OffsetDateTime>,
    /// SHA-256 of the store's content, to skip unchanged products.
    pub content_hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub synced_at: OffsetDateTime,
    /// Where the variants are stored when they do not fit in the product's item, as read (a write lays
    /// them out again, see [`crate::catalog::products::items`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variant_chunks: Vec<VariantChunk>,
    /// The last sync job whose pages listed the product: the end of that job removes the store's products
    /// that do not carry its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_by_job: Option<String>,
    /// The removal pass (a sync job, a store task) that marked it removed: what the pass counts, so a step
    /// redone after a lost checkpoint counts its products once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_by: Option<String>,
    #[serde(skip)]
    pub version: u64,
}

/// A product the table could not hold, and why: a sync records it and goes on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SkippedProduct {
    pub external_id: String,
    pub reason: String,
}

/// What a write of products did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    pub written: u64,
    pub skipped: Vec<SkippedProduct>,
}

pub fn product_id(store_id: &str, external_id: &str) -> String {
    let digest = Sha256::digest(format!("{store_id}\n{external_id}").as_bytes());
    format!("prd_{}", &hex::encode(digest)[..24])
}

pub fn product_key(merchant_id: &MerchantId, product_id: &str) -> ItemKey {
    ItemKey::new(format!("MERCHANT#{merchant_id}#PRODUCTS"), format!("PRODUCT#{product_id}"))
}

fn store_partition(store_id: &str) -> String {
    format!("STORE#{store_id}#PRODUCTS")
}

/// A product's head item. Read with [`Record::from_item`], a chunked head comes without its variants:
/// [`get`] and the writes here read those (a reader of heads alone, such as a sync comparing content
/// hashes, reads no chunk). Written through [`crate::catalog::products::items`], which lays the variants out
/// and writes the head by the record's version rule.
impl Record for Product {
    fn key(&self) -> ItemKey {
        product_key(&self.merchant_id, &self.product_id)
    }

    /// The store's products, for a removal pass.
    fn gsi1(&self) -> Option<ItemKey> {
        Some(ItemKey::new(store_partition(&self.store_id), self.product_id.clone()))
    }

    crate::record::version_field!();
}

/// The hash of what the store says about a product (its `updated_at` aside: a touch without a change is
/// not a change).
pub fn content_hash(product: &ExternalProduct, currency: Currency) -> String {
    let mut canonical = product.clone();
    canonical.updated_at = None;
    let bytes = serde_json::to_vec(&(canonical, currency.code())).unwrap_or_default();
    hex::encode(Sha256::digest(bytes))
}

impl Product {
    /// The product as synced from the store, keeping the overrides (and the version read) of `existing`.
    pub fn from_store(
        merchant_id: &MerchantId,
        store_id: &str,
        external: ExternalProduct,
        currency: Currency,
        hash: String,
        existing: Option<&Product>,
        now: OffsetDateTime,
    ) -> Self {
        let override_of = |variant_id: &str| {
            existing
                .and_then(|p| p.variants.iter().find(|v| v.variant_id == variant_id))
                .and_then(|v| v.price_override_minor)
        };
        Self {
            product_id: product_id(store_id, &external.external_id),
            merchant_id: merchant_id.clone(),
            store_id: store_id.to_owned(),
            variants: external
                .variants
                .into_iter()
                .map(|v| Variant {
                    price_override_minor: override_of(&v.external_id),
                    variant_id: v.external_id,
                    title: v.title,
                    sku: v.sku,
                    store_price_minor: v.price_minor,
                    inventory_quantity: v.inventory_quantity,
                })
                .collect(),
            external_id: external.external_id,
            title: external.title,
            status: external.status,
            image_url: external.image_url,
            vendor: external.vendor,
            product_type: external.product_type,
            currency,
            store_updated_at: external.updated_at,
            content_hash: hash,
            synced_at: now,
            variant_chunks: Vec::new(),
            seen_by_job: existing.and_then(|p| p.seen_by_job.clone()),
            removed_by: None,
            version: existing.map_or(FIRST_VERSION, |p| p.version),
        }
    }

    /// Whether a tracked variant is at or below the threshold.
    pub fn is_low_stock(&self, threshold: i64) -> bool {
        self.status != "removed" && self.variants.iter().any(|v| v.inventory_quantity.is_some_and(|q| q <= threshold))
    }

    pub fn view(&self, low_stock_threshold: i64) -> serde_json::Value {
        serde_json::json!({
            "product_id": self.product_id,
            "store_id": self.store_id,
            "external_id": self.external_id,
            "title": self.title,
            "status": self.status,
            "image_url": self.image_url,
            "vendor": self.vendor,
            "product_type": self.product_type,
            "currency": self.currency,
            "low_stock": self.is_low_stock(low_stock_threshold),
            "variants": self.variants.iter().map(|v| serde_json::json!({
                "variant_id": v.variant_id,
                "title": v.title,
                "sku": v.sku,
                "price_minor": v.price_minor(),
                "store_price_minor": v.store_price_minor,
                "price_override_minor": v.price_override_minor,
                "inventory_quantity": v.inventory_quantity,
            })).collect::<Vec<_>>(),
            "synced_at": self.synced_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        })
    }
}

pub async fn get(app: &impl HasTable, merchant_id: &MerchantId, product_id: &str) -> Result<Option<Product>, Error> {
    let Some(item) = app.table().get(&product_key(merchant_id, product_id)).await? else { return Ok(None) };
    Ok(items::complete(app, vec![Product::from_item(&item)?]).await?.pop())
}

/// A page of the merchant's whole catalog, in the table's order, with where the next one starts.
pub async fn catalog_page(
    app: &impl HasTable,
    merchant_id: &MerchantId,
    cursor: Option<PageCursor>,
) -> Result<(Vec<Product>, Option<PageCursor>), Error> {
    let mut query = Query::new(Index::Primary, format!("MERCHANT#{merchant_id}#PRODUCTS"), CATALOG_PAGE);
    query.sk_prefix = Some("PRODUCT#".into());
    query.cursor = cursor;
    let page = app.table().query(query).await?;
    let heads = page.items.iter().map(Product::from_item).collect::<Result<_, _>>()?;
    Ok((items::complete(app, heads).await?, page.next))
}

/// Products per page of [`catalog_page`].
const CATALOG_PAGE: u32 = 500;

/// The stored products among `ids`, by id.
pub async fn get_many(
    app: &impl HasTable,
    merchant_id: &MerchantId,
    ids: &[String],
) -> Result<HashMap<String, Product>, Error> {
    let keys = ids.iter().map(|id| product_key(merchant_id, id)).collect();
    let heads = app.table().batch_get(keys).await?.iter().map(Product::from_item).collect::<Result<_, _>>()?;
    Ok(items::complete(app, heads).await?.into_iter().map(|p| (p.product_id.clone(), p)).collect())
}
