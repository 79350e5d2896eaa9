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
//! at them: see [`crate::catalog::product_items`]. Every read here returns products with all their variants.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::app::App;
use crate::catalog::product_items::{self, GroupWrite, VariantChunk};
use crate::kernel::error::Error;
use crate::kernel::money::Currency;
use crate::onboarding::merchant::MerchantId;
use crate::ports::{Index, Item, ItemKey, PageCursor, Query};
use crate::record::from_item;
use crate::stores::platforms::ExternalProduct;

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
    pub currency: Currency,
    pub variants: Vec<Variant>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub store_updated_at: Option<OffsetDateTime>,
    /// SHA-256 of the store's content, to skip unchanged products.
    pub content_hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub synced_at: OffsetDateTime,
    /// Where the variants are stored when they do not fit in the product's item, as read (a write lays
    /// them out again, see [`crate::catalog::product_items`]).
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

/// The hash of what the store says about a product (its `updated_at` aside: a touch without a change is
/// not a change).
pub fn content_hash(product: &ExternalProduct, currency: Currency) -> String {
    let mut canonical = product.clone();
    canonical.updated_at = None;
    let bytes = serde_json::to_vec(&(canonical, currency.code())).unwrap_or_default();
    hex::encode(Sha256::digest(bytes))
}

impl Product {
    /// The product as synced from the store, keeping the overrides of `existing`.
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
            currency,
            store_updated_at: external.updated_at,
            content_hash: hash,
            synced_at: now,
            variant_chunks: Vec::new(),
            seen_by_job: existing.and_then(|p| p.seen_by_job.clone()),
            removed_by: None,
            version: existing.map_or(1, |p| p.version + 1),
        }
    }

    /// The product of a head item, without its variants if they are in chunks: [`get`] and the writes
    /// here read those (a reader of heads alone, such as a sync comparing content hashes, reads no chunk).
    pub fn from_item(item: &Item) -> Result<Self, Error> {
        let mut product: Self = from_item(item)?;
        product.version = item.version;
        Ok(product)
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

pub async fn get(app: &App, merchant_id: &MerchantId, product_id: &str) -> Result<Option<Product>, Error> {
    let Some(item) = app.table.get(&product_key(merchant_id, product_id)).await? else { return Ok(None) };
    Ok(product_items::complete(app, vec![Product::from_item(&item)?]).await?.pop())
}

/// The stored products among `ids`, by id.
pub async fn get_many(app: &App, merchant_id: &MerchantId, ids: &[String]) -> Result<HashMap<String, Product>, Error> {
    let keys = ids.iter().map(|id| product_key(merchant_id, id)).collect();
    let heads = app.table.batch_get(keys).await?.iter().map(Product::from_item).collect::<Result<_, _>>()?;
    Ok(product_items::complete(app, heads).await?.into_iter().map(|p| (p.product_id.clone(), p)).collect())
}

/// A filter over the merchant's catalog.
#[derive(Clone, Debug, Default)]
pub struct ProductFilter {
    pub store_id: Option<String>,
    /// Case-insensitive substring of the title or a variant's SKU.
    pub query: Option<String>,
    pub status: Option<String>,
    /// `Some(true)`: only low-stock products (against each store's threshold).
    pub low_stock: Option<bool>,
}

impl ProductFilter {
    fn matches(&self, product: &Product, threshold: i64) -> bool {
        let query_matches = self.query.as_ref().is_none_or(|q| {
            let q = q.to_lowercase();
            product.title.to_lowercase().contains(&q)
                || product.variants.iter().any(|v| v.sku.as_ref().is_some_and(|s| s.to_lowercase().contains(&q)))
        });
        query_matches
            && self.status.as_ref().is_none_or(|s| &product.status == s)
            && self.low_stock.is_none_or(|wanted| product.is_low_stock(threshold) == wanted)
    }
}

/// One page of matching products. The table has no text index, so a search reads the catalog in order
/// and filters it, up to a bounded number of items per request; the cursor continues where it stopped. A
/// page holds fewer than `limit` products when their variants would pass Lambda's response size.
/// (A large catalog's search belongs in a search index; this keeps one store of truth until then.)
pub async fn search(
    app: &App,
    merchant_id: &MerchantId,
    filter: &ProductFilter,
    thresholds: &std::collections::HashMap<String, i64>,
    limit: u32,
    mut cursor: Option<PageCursor>,
) -> Result<(Vec<Product>, Option<PageCursor>), Error> {
    const MAX_SCANNED: usize = 5_000;
    /// The products' views a page holds at most, room left under Lambda's 6 MB response payload.
    const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;
    let mut found = Vec::new();
    let (mut scanned, mut bytes) = (0, 0);
    let mut last = None;
    loop {
        let mut query = match &filter.store_id {
            Some(store_id) => Query::new(Index::Gsi1, store_partition(store_id), 200),
            None => {
                let mut q = Query::new(Index::Primary, format!("MERCHANT#{merchant_id}#PRODUCTS"), 200);
                q.sk_prefix = Some("PRODUCT#".into());
                q
            }
        };
        query.cursor = cursor.take();
        let page = app.table.query(query).await?;
        let heads = page.items.iter().map(Product::from_item).collect::<Result<_, _>>()?;
        let products = product_items::complete(app, heads).await?;
        for (item, product) in page.items.iter().zip(products) {
            scanned += 1;
            let threshold =
                thresholds.get(&product.store_id).copied().unwrap_or(crate::stores::DEFAULT_LOW_STOCK_THRESHOLD);
            if filter.matches(&product, threshold) {
                let size = product.view(threshold).to_string().len();
                // Lambda answers at most 6 MB: a page of large products ends early.
                if !found.is_empty() && bytes + size > MAX_PAGE_BYTES {
                    return Ok((found, last));
                }
                bytes += size;
                found.push(product);
                // Continue after this item next time.
                let index_key = filter.store_id.as_ref().and(item.gsi1.clone());
                last = Some(PageCursor { key: item.key.clone(), index_key });
                if found.len() == limit as usize {
                    return Ok((found, last));
                }
            }
        }
        match page.next {
            Some(next) if scanned < MAX_SCANNED => cursor = Some(next),
            next => return Ok((found, next)),
        }
    }
}

/// Products of the store's index read per step of a removal pass.
pub const REMOVAL_PAGE: u32 = 200;

/// One step of removal pass `pass` (a sync job's or a store task's id) over a store's products: reads a
/// page of the store's index from `cursor` and marks removed those that `remove` picks. Returns how many
/// products of the page the pass has removed, this step or a redone one's lost run, and where the next
/// step starts (`None`: the pass is done). Counting what carries the pass's mark, not what this run wrote,
/// makes a step redone after a lost checkpoint count its products once. The index is eventually consistent
/// on DynamoDB: a product it shows is read again (strongly consistent) and judged on that, so a write the
/// index has not caught up with (a sync's stamp) is never overruled.
pub async fn remove_page(
    app: &App,
    merchant_id: &MerchantId,
    store_id: &str,
    pass: &str,
    cursor: Option<PageCursor>,
    remove: impl Fn(&Product) -> bool,
) -> Result<(u64, Option<PageCursor>), Error> {
    let mut query = Query::new(Index::Gsi1, store_partition(store_id), REMOVAL_PAGE);
    query.cursor = cursor;
    let page = app.table.query(query).await?;
    let removed_by_pass =
        |product: &Product| product.status == "removed" && product.removed_by.as_deref() == Some(pass);
    let picked = |product: &Product| product.status != "removed" && remove(product);
    let mut keys = Vec::new();
    for item in &page.items {
        let product = Product::from_item(item)?;
        if product.merchant_id == *merchant_id && (picked(&product) || removed_by_pass(&product)) {
            keys.push(item.key.clone());
        }
    }
    let (mut earlier, mut stored) = (0, HashMap::new());
    if !keys.is_empty() {
        for item in app.table.batch_get(keys).await? {
            let product = Product::from_item(&item)?;
            if removed_by_pass(&product) {
                earlier += 1;
            } else if picked(&product) {
                stored.insert(product.product_id.clone(), product);
            }
        }
    }
    let removed = mark_removed(app, merchant_id, stored, Some(pass)).await?;
    Ok((earlier + removed, page.next))
}

/// Marks the `stored` products removed (one the store deleted, or all of a store that is gone), with the
/// removal pass that did it, if one did.
pub async fn mark_removed(
    app: &App,
    merchant_id: &MerchantId,
    stored: HashMap<String, Product>,
    pass: Option<&str>,
) -> Result<u64, Error> {
    let ids: Vec<String> = stored.keys().cloned().collect();
    let now = app.clock.now();
    let outcome = write_merged(app, merchant_id, &ids, stored, |_, current| {
        Ok(current.filter(|p| p.status != "removed").map(|p| {
            let mut product = p.clone();
            product.status = "removed".into();
            product.removed_by = pass.map(str::to_owned);
            product.synced_at = now;
            product.version += 1;
            product
        }))
    })
    .await?;
    for skipped in &outcome.skipped {
        tracing::warn!(%merchant_id, product = skipped.external_id, reason = skipped.reason, "a removed product could not be marked removed");
    }
    Ok(outcome.written)
}

/// Products written to one transaction (DynamoDB allows 100; 25 keeps a conflict's retry small).
pub const WRITE_CHUNK: usize = 25;
const WRITE_ATTEMPTS: usize = 5;

/// Writes products recomputed from what is stored, each head put conditional on the version it was computed
/// from (or on there being none), a chunk of products to a transaction. A price edit landing in between is
/// so never overwritten: the conflicting chunk is read again and recomputed. `change(id, stored)` gives the
/// product to write (its version one above the stored one), or `None` to leave it. `stored` holds what the
/// caller has already read (heads are enough: their variants are read here). A product the table cannot
/// hold is skipped, with the reason, and the others are written.
pub async fn write_merged(
    app: &App,
    merchant_id: &MerchantId,
    ids: &[String],
    stored: HashMap<String, Product>,
    mut change: impl FnMut(&str, Option<&Product>) -> Result<Option<Product>, Error>,
) -> Result<WriteOutcome, Error> {
    let mut stored: HashMap<String, Product> = product_items::complete(app, stored.into_values().collect())
        .await?
        .into_iter()
        .map(|p| (p.product_id.clone(), p))
        .collect();
    let mut outcome = WriteOutcome::default();
    let mut groups: VecDeque<Vec<String>> = ids.chunks(WRITE_CHUNK).map(<[String]>::to_vec).collect();
    while let Some(group) = groups.pop_front() {
        for attempt in 1..=WRITE_ATTEMPTS {
            let (mut writes, mut skipped) = (Vec::new(), Vec::new());
            for id in &group {
                let current = stored.get(id);
                if let Some(product) = change(id, current)? {
                    match product_items::plan(&product, current) {
                        Ok(write) => writes.push(write),
                        Err(reason) => skipped.push(SkippedProduct { external_id: product.external_id, reason }),
                    }
                }
            }
            let result =
                if writes.is_empty() { GroupWrite::Written } else { product_items::write_group(app, &writes).await? };
            match result {
                GroupWrite::Written => {
                    outcome.written += writes.len() as u64;
                    outcome.skipped.append(&mut skipped);
                    break;
                }
                GroupWrite::Conflict if attempt < WRITE_ATTEMPTS => {
                    stored.extend(get_many(app, merchant_id, &group).await?)
                }
                GroupWrite::Conflict => {
                    return Err(Error::Conflict("the products kept changing while being written; retry".into()));
                }
                // Alone, each product is written or skipped with its own reason.
                GroupWrite::Refused(_) if writes.len() > 1 => {
                    group.iter().rev().for_each(|id| groups.push_front(vec![id.clone()]));
                    break;
                }
                GroupWrite::Refused(reason) => {
                    outcome.skipped.append(&mut skipped);
                    outcome.skipped.extend(
                        writes
                            .into_iter()
                            .map(|w| SkippedProduct { external_id: w.external_id, reason: reason.clone() }),
                    );
                    break;
                }
            }
        }
    }
    Ok(outcome)
}

/// Writes `product` over `stored`, the version it was computed from. `false` when the stored product
/// changed meanwhile (nothing was written).
pub async fn save_over(app: &App, product: &Product, stored: &Product) -> Result<bool, Error> {
    let write = product_items::plan(product, Some(stored))
        .map_err(|reason| Error::Conflict(format!("the product cannot be stored: {reason}")))?;
    match product_items::write_group(app, &[write]).await? {
        GroupWrite::Written => Ok(true),
        GroupWrite::Conflict => Ok(false),
        GroupWrite::Refused(reason) => Err(Error::Conflict(format!("the product cannot be stored: {reason}"))),
    }
}

/// Writes the store's version of products that changed (or are new, or had been removed), keeping the
/// merchant's price overrides, through [`write_merged`]. `stored` holds what the caller has already read.
/// Returns how many products' content was written and which could not be stored; the others were
/// unchanged. A sync passes its job as `seen_by`: every product of the page then carries the job's stamp,
/// an unchanged one by a write of its head with only the stamp (and version) changed.
pub async fn save_from_store(
    app: &App,
    merchant_id: &MerchantId,
    store_id: &str,
    currency: Currency,
    externals: Vec<ExternalProduct>,
    stored: HashMap<String, Product>,
    seen_by: Option<&str>,
) -> Result<WriteOutcome, Error> {
    let now = app.clock.now();
    let by_id: HashMap<String, (ExternalProduct, String)> = externals
        .into_iter()
        .map(|external| {
            let hash = content_hash(&external, currency);
            (product_id(store_id, &external.external_id), (external, hash))
        })
        .collect();
    let unchanged = |hash: &str, current: Option<&Product>| {
        current.is_some_and(|p| p.content_hash == hash && p.status != "removed")
    };
    let stamped = |current: Option<&Product>| {
        seen_by.is_none_or(|job| current.is_some_and(|p| p.seen_by_job.as_deref() == Some(job)))
    };
    // Nothing to write for an unchanged product that already carries the stamp; only the products to
    // write are read in full (a chunked product's variants).
    let untouched = |id: &str, current: Option<&Product>| {
        by_id.get(id).is_some_and(|(_, hash)| unchanged(hash, current)) && stamped(current)
    };
    let changed = by_id.iter().filter(|(id, (_, hash))| !unchanged(hash, stored.get(id.as_str()))).count() as u64;
    let ids: Vec<String> = by_id.keys().filter(|id| !untouched(id, stored.get(*id))).cloned().collect();
    let stored: HashMap<String, Product> = stored.into_iter().filter(|(id, p)| !untouched(id, Some(p))).collect();
    let mut outcome = write_merged(app, merchant_id, &ids, stored, |id, current| {
        let Some((external, hash)) = by_id.get(id) else { return Ok(None) };
        if let Some(current) = current.filter(|p| unchanged(hash, Some(p))) {
            return Ok(match seen_by {
                Some(job) if current.seen_by_job.as_deref() != Some(job) => {
                    let mut stamped = current.clone();
                    stamped.seen_by_job = Some(job.to_owned());
                    stamped.version += 1;
                    Some(stamped)
                }
                _ => None,
            });
        }
        let mut product =
            Product::from_store(merchant_id, store_id, external.clone(), currency, hash.clone(), current, now);
        if let Some(job) = seen_by {
            product.seen_by_job = Some(job.to_owned());
        }
        Ok(Some(product))
    })
    .await?;
    // A stamp is not content: what was written is what changed, less what could not be stored.
    outcome.written = changed.saturating_sub(outcome.skipped.len() as u64);
    Ok(outcome)
}
