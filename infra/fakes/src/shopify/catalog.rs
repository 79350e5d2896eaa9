//! The fake shop's catalog, generated from the product index on demand so 100,000 products cost no memory:
//! only the changes a test makes (prices, variant counts, removals) are stored.
//!
//! Product `i` (0-based) is `gid://shopify/Product/{PRODUCT_ID_BASE + i}`, titled `Product {i+1}`, with
//! `1 + i % 3` variants (`Small`/`Medium`/`Large`, or Shopify's `Default Title` for a single variant); every
//! tenth product is `DRAFT` and every 25th `ARCHIVED`. Its `featuredMedia` (the `Media` interface) is a
//! `MediaImage`, except that every fourth product has no media and every seventh (of the others) leads with
//! an `ExternalVideo`, whose preview image is not a product image. Variant `j` costs
//! `100 + (i * 7919 + j * 104729) % 50000` minor units. Its `vendor` is one of [`VENDORS`] (`i % 3`) and its
//! `productType` one of [`PRODUCT_TYPES`] (`i % 4`), `""` for every fourth: both are `String!` in Shopify's
//! schema, empty when the merchant set none.
//!
//! [`Catalog::rest_product`] is the same product as a `products/update` webhook carries it: the REST resource
//! ("Webhooks delivery structure", https://shopify.dev/docs/apps/build/webhooks/delivery-structure), numeric
//! ids beside `admin_graphql_api_id`, lowercase `status`, `vendor` and `product_type`.

use std::collections::{BTreeSet, HashMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

pub(crate) const PRODUCT_ID_BASE: u64 = 7_000_000_000;
const VARIANT_ID_BASE: u64 = 40_000_000_000;
/// Room for each product's variants in the variant id space (Shopify's own limit is 2048).
const VARIANT_ID_STRIDE: u64 = 4096;
pub(crate) const VENDORS: [&str; 3] = ["Acme Outfitters", "Globex", "Initech"];
pub(crate) const PRODUCT_TYPES: [&str; 4] = ["Shirts", "Mugs", "Posters", ""];

#[derive(Debug, Default)]
pub(crate) struct Catalog {
    pub len: usize,
    pub currency_digits: u32,
    pub removed: BTreeSet<usize>,
    pub prices: HashMap<(usize, usize), String>,
    pub variant_counts: HashMap<usize, usize>,
    /// Products whose variant titles and SKUs are padded to this many characters.
    pub text_lengths: HashMap<usize, usize>,
    pub updated: HashSet<usize>,
    /// Vendors and product types the merchant changed, by product.
    pub labels: HashMap<usize, (String, String)>,
}

impl Catalog {
    pub fn exists(&self, index: usize) -> bool {
        index < self.len && !self.removed.contains(&index)
    }

    pub fn variant_count(&self, index: usize) -> usize {
        self.variant_counts.get(&index).copied().unwrap_or(1 + index % 3)
    }

    pub fn price(&self, index: usize, variant: usize) -> String {
        if let Some(price) = self.prices.get(&(index, variant)) {
            return price.clone();
        }
        let minor = 100 + (index as u64 * 7919 + variant as u64 * 104_729) % 50_000;
        format_minor(minor, self.currency_digits)
    }

    /// Product `index`'s `(vendor, productType)`.
    pub fn labels(&self, index: usize) -> (String, String) {
        self.labels.get(&index).cloned().unwrap_or_else(|| {
            (VENDORS[index % VENDORS.len()].to_owned(), PRODUCT_TYPES[index % PRODUCT_TYPES.len()].to_owned())
        })
    }

    pub fn index_of(&self, product_gid: &str) -> Option<usize> {
        let id: u64 = product_gid.strip_prefix("gid://shopify/Product/")?.parse().ok()?;
        usize::try_from(id.checked_sub(PRODUCT_ID_BASE)?).ok().filter(|index| self.exists(*index))
    }

    /// Up to `first` products after the `after` cursor, and whether more follow.
    pub fn page(&self, first: usize, after: Option<&str>) -> (Vec<usize>, bool) {
        let start = after.and_then(cursor_id).map_or(0, |id| (id.saturating_sub(PRODUCT_ID_BASE) + 1) as usize);
        let mut indices = (start..self.len).filter(|index| !self.removed.contains(index));
        let page: Vec<usize> = indices.by_ref().take(first).collect();
        (page, indices.next().is_some())
    }

    /// Product `index` with `variants(first: variants_first, after: variants_after)`.
    pub fn product(&self, index: usize, variants_first: usize, variants_after: Option<&str>) -> Value {
        let id = PRODUCT_ID_BASE + index as u64;
        let count = self.variant_count(index);
        let start = variants_after
            .and_then(cursor_id)
            .map_or(0, |id| (id.saturating_sub(VARIANT_ID_BASE + index as u64 * VARIANT_ID_STRIDE) + 1) as usize);
        let end = count.min(start + variants_first);
        let variants: Vec<Value> = (start..end).map(|variant| self.variant(index, variant, count)).collect();
        let variant_cursor = (end > start).then(|| cursor(self.variant_id(index, end - 1)));
        let status = if index % 25 == 24 {
            "ARCHIVED"
        } else if index % 10 == 9 {
            "DRAFT"
        } else {
            "ACTIVE"
        };
        let media = featured_media(index);
        let updated_at = if self.updated.contains(&index) { "2026-06-01T12:00:00Z" } else { "2026-01-15T10:00:00Z" };
        let (vendor, product_type) = self.labels(index);
        json!({
            "id": format!("gid://shopify/Product/{id}"),
            "title": format!("Product {}", index + 1),
            "handle": format!("product-{}", index + 1),
            "status": status,
            "updatedAt": updated_at,
            "vendor": vendor,
            "productType": product_type,
            "featuredMedia": media,
            "variants": {
                "pageInfo": {
                    "hasNextPage": end < count,
                    "hasPreviousPage": start > 0,
                    "startCursor": (end > start).then(|| cursor(self.variant_id(index, start))),
                    "endCursor": variant_cursor,
                },
                "nodes": variants,
            },
        })
    }

    /// Product `index` as a `products/update` webhook carries it (all its variants).
    pub fn rest_product(&self, index: usize) -> Value {
        let product = self.product(index, self.variant_count(index), None);
        let numeric = |gid: &Value| gid.as_str().and_then(|gid| gid.rsplit('/').next()?.parse::<u64>().ok());
        let variants: Vec<Value> = product["variants"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|variant| {
                json!({
                    "id": numeric(&variant["id"]),
                    "product_id": numeric(&product["id"]),
                    "admin_graphql_api_id": variant["id"],
                    "title": variant["title"],
                    "sku": variant["sku"],
                    "price": variant["price"],
                    "inventory_quantity": variant["inventoryQuantity"],
                })
            })
            .collect();
        let image = product["featuredMedia"]["image"]["url"].as_str().map(|src| json!({ "src": src }));
        json!({
            "id": numeric(&product["id"]),
            "admin_graphql_api_id": product["id"],
            "title": product["title"],
            "handle": product["handle"],
            "status": product["status"].as_str().map(str::to_ascii_lowercase),
            "vendor": product["vendor"],
            "product_type": product["productType"],
            "updated_at": product["updatedAt"],
            "tags": "",
            "variants": variants,
            "image": image,
            "images": image.iter().collect::<Vec<_>>(),
        })
    }

    fn variant_id(&self, index: usize, variant: usize) -> u64 {
        VARIANT_ID_BASE + index as u64 * VARIANT_ID_STRIDE + variant as u64
    }

    fn variant(&self, index: usize, variant: usize, count: usize) -> Value {
        let title = match (count, variant) {
            (1, _) => "Default Title".to_owned(),
            (_, 0) => "Small".to_owned(),
            (_, 1) => "Medium".to_owned(),
            (_, 2) => "Large".to_owned(),
            (_, n) => format!("Option {}", n + 1),
        };
        let sku = format!("PV-{index:06}-{variant}");
        let pad = |text: String| match self.text_lengths.get(&index) {
            Some(&chars) if chars > text.len() + 1 => format!("{text} {}", "x".repeat(chars - text.len() - 1)),
            _ => text,
        };
        json!({
            "id": format!("gid://shopify/ProductVariant/{}", self.variant_id(index, variant)),
            "title": pad(title),
            "sku": pad(sku),
            "price": self.price(index, variant),
            "inventoryQuantity": ((index * 13 + variant * 5) % 40) as i64,
        })
    }
}

/// Product `index`'s featured media, shaped as the 2025-01 schema's `MediaImage` (`image: Image`) and
/// `ExternalVideo` (both have the `Media` interface's `id`, `alt`, `mediaContentType`, `status`, `preview`).
fn featured_media(index: usize) -> Value {
    let image = |name: &str| json!({ "url": format!("https://cdn.shopify.com/s/files/1/0000/0001/files/{name}.jpg") });
    let id = 30_000_000_000 + index as u64;
    match (index % 4, index % 7) {
        (3, _) => Value::Null,
        (_, 6) => json!({
            "__typename": "ExternalVideo",
            "id": format!("gid://shopify/ExternalVideo/{id}"),
            "alt": "",
            "mediaContentType": "EXTERNAL_VIDEO",
            "status": "READY",
            "preview": { "image": image(&format!("video-{index}-preview")), "status": "READY" },
            "host": "YOUTUBE",
        }),
        _ => json!({
            "__typename": "MediaImage",
            "id": format!("gid://shopify/MediaImage/{id}"),
            "alt": format!("Product {}", index + 1),
            "mediaContentType": "IMAGE",
            "status": "READY",
            "preview": { "image": image(&format!("product-{index}")), "status": "READY" },
            "image": image(&format!("product-{index}")),
        }),
    }
}

/// Shopify's cursors are opaque base64 of `{"last_id":…,"last_value":…}`.
pub(crate) fn cursor(id: u64) -> String {
    STANDARD.encode(format!("{{\"last_id\":{id},\"last_value\":\"{id}\"}}"))
}

fn cursor_id(cursor: &str) -> Option<u64> {
    let decoded: Value = serde_json::from_slice(&STANDARD.decode(cursor).ok()?).ok()?;
    decoded.get("last_id")?.as_u64()
}

/// `1999` with 2 digits → `"19.99"`; with 0 → `"1999"`.
pub(crate) fn format_minor(minor: u64, digits: u32) -> String {
    if digits == 0 {
        return minor.to_string();
    }
    let scale = 10u64.pow(digits);
    format!("{}.{:0width$}", minor / scale, minor % scale, width = digits as usize)
}

/// ISO 4217 minor units for the currencies a test is likely to use (2 otherwise).
pub(crate) fn currency_digits(code: &str) -> u32 {
    match code {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "VND" | "VUV"
        | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}
