//! How a product is laid out in the table: a head item, and its variants in the head when they fit there,
//! else in chunk items of the same partition.
//!
//! | item          | pk                       | sk                                   |
//! |---------------|--------------------------|--------------------------------------|
//! | product head  | `MERCHANT#<id>#PRODUCTS` | `PRODUCT#<product_id>`               |
//! | variant chunk | `MERCHANT#<id>#PRODUCTS` | `VARIANTS#<product_id>#<chunk ulid>` |
//!
//! Shopify allows 2,048 variants a product, and with long titles and SKUs they pass DynamoDB's 400 KB item
//! limit long before that. A head holds its variants when the whole item stays under [`INLINE_LIMIT`];
//! otherwise it lists its chunks in order (`variant_chunks`), each a run of variants kept under
//! [`CHUNK_LIMIT`]. Chunks are never changed in place: a write puts the chunks it needs under fresh keys,
//! then the head (conditional on the version read) that points at them, then deletes the chunks the old
//! head pointed at and the new one does not. A reader so never sees a head with another version's chunks:
//! a chunk it misses was replaced meanwhile, and it reads the head again. A chunk whose variants did not
//! change keeps its key (a price edit rewrites one chunk, a removal none). A write that dies between its
//! head and its deletes leaves unreferenced chunks behind, which nothing reads.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::catalog::products::{Product, Variant, product_key};
use crate::kernel::error::Error;
use crate::onboarding::merchant::MerchantId;
use crate::ports::{Condition, Item, ItemKey, StoreError, WriteOp};
use crate::record::limits::{MAX_ITEM_BYTES, MAX_TRANSACTION_BYTES, item_size};
use crate::record::to_attributes;

/// A head at most this large (variants included) keeps its variants. Every head, chunked or not, stays
/// under it, so a transaction of [`crate::catalog::products::WRITE_CHUNK`] heads stays far under DynamoDB's 4 MB.
pub const INLINE_LIMIT: usize = 64 * 1024;
/// A chunk item at most this large, a margin under DynamoDB's 400 KB (sizes are estimated from above, but
/// DynamoDB's own count is not published byte for byte).
pub const CHUNK_LIMIT: usize = 300 * 1024;
const _: () = assert!(
    CHUNK_LIMIT < MAX_ITEM_BYTES && crate::catalog::products::WRITE_CHUNK * INLINE_LIMIT < MAX_TRANSACTION_BYTES
);

/// A head's reference to one of its variant chunks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantChunk {
    /// The chunk's ULID, the end of its sort key.
    pub id: String,
    /// How many variants it holds.
    pub variants: usize,
}

fn chunk_key(merchant_id: &MerchantId, product_id: &str, chunk_id: &str) -> ItemKey {
    ItemKey::new(format!("MERCHANT#{merchant_id}#PRODUCTS"), format!("VARIANTS#{product_id}#{chunk_id}"))
}

impl Product {
    fn chunk_keys(&self) -> impl Iterator<Item = ItemKey> + '_ {
        self.variant_chunks.iter().map(|c| chunk_key(&self.merchant_id, &self.product_id, &c.id))
    }

    /// The stored variants of each chunk, in order (the product as read, variants complete).
    fn chunked_variants(&self) -> Vec<(&VariantChunk, &[Variant])> {
        let mut rest = self.variants.as_slice();
        self.variant_chunks
            .iter()
            .map(|chunk| {
                let (run, after) = rest.split_at(chunk.variants.min(rest.len()));
                rest = after;
                (chunk, run)
            })
            .collect()
    }

    fn head_item(&self, variants: &[Variant], chunks: Vec<VariantChunk>) -> Result<Item, Error> {
        let head = Product { variants: variants.to_vec(), variant_chunks: chunks, ..self.clone() };
        let mut item = Item::new(product_key(&self.merchant_id, &self.product_id), to_attributes(&head)?);
        item.gsi1 = Some(ItemKey::new(format!("STORE#{}#PRODUCTS", self.store_id), self.product_id.clone()));
        item.version = self.version;
        Ok(item)
    }

    fn chunk_item(&self, chunk_id: &str, variants: &[Variant]) -> Result<Item, Error> {
        let attributes = serde_json::json!({"product_id": self.product_id, "variants": variants});
        Ok(Item::new(chunk_key(&self.merchant_id, &self.product_id, chunk_id), to_attributes(&attributes)?))
    }
}

/// Writing one product: its new chunks (put first), its head (put conditional on the version read), and
/// the chunks the stored head pointed at that the new one does not (deleted after).
#[derive(Debug)]
pub(crate) struct ProductWrite {
    pub external_id: String,
    pub new_chunks: Vec<Item>,
    pub head: WriteOp,
    pub stale_chunks: Vec<ItemKey>,
}

/// Lays out `product` (its version one above `stored`'s), reusing `stored`'s chunks whose variants are
/// unchanged. `Err` names why it cannot be stored.
pub(crate) fn plan(product: &Product, stored: Option<&Product>) -> Result<ProductWrite, String> {
    let internal = |e: Error| e.to_string();
    let condition = stored.map_or(Condition::NotExists, |p| Condition::VersionIs(p.version));
    let stored_chunks = stored.map(Product::chunked_variants).unwrap_or_default();
    let inline = product.head_item(&product.variants, Vec::new()).map_err(internal)?;
    let inline_size = item_size(&inline).map_err(|e| e.to_string())?;
    if inline_size <= INLINE_LIMIT {
        let stale_chunks = stored.map(|p| p.chunk_keys().collect()).unwrap_or_default();
        let head = WriteOp::Put { item: inline, condition };
        return Ok(ProductWrite {
            external_id: product.external_id.clone(),
            new_chunks: Vec::new(),
            head,
            stale_chunks,
        });
    }
    let runs = match stored_chunks.iter().map(|(c, _)| c.variants).collect::<Vec<_>>() {
        // The stored boundaries first, so that an edit rewrites only the chunks it touches.
        counts if counts.iter().sum::<usize>() == product.variants.len() && !counts.is_empty() => {
            Some(split_by(&product.variants, &counts)).filter(|runs| runs.iter().all(|run| fits(product, run)))
        }
        _ => None,
    };
    let runs = match runs {
        Some(runs) => runs,
        None => pack(product, &product.variants)?,
    };
    let (mut chunks, mut new_chunks) = (Vec::new(), Vec::new());
    for run in runs {
        match stored_chunks.iter().find(|(_, stored)| *stored == run) {
            Some((reused, _)) => chunks.push((*reused).clone()),
            None => {
                let id = ulid::Ulid::new().to_string();
                new_chunks.push(product.chunk_item(&id, run).map_err(internal)?);
                chunks.push(VariantChunk { id, variants: run.len() });
            }
        }
    }
    let head = product.head_item(&[], chunks.clone()).map_err(internal)?;
    let head_size = item_size(&head).map_err(|e| e.to_string())?;
    if head_size > INLINE_LIMIT {
        return Err(format!(
            "the product's own fields take {head_size} bytes, more than the {INLINE_LIMIT} bytes its item allows"
        ));
    }
    let stale_chunks = stored
        .map(|p| p.variant_chunks.iter().filter(|c| !chunks.contains(c)).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|c| chunk_key(&product.merchant_id, &product.product_id, &c.id))
        .collect();
    Ok(ProductWrite {
        external_id: product.external_id.clone(),
        new_chunks,
        head: WriteOp::Put { item: head, condition },
        stale_chunks,
    })
}

fn split_by<'a>(variants: &'a [Variant], counts: &[usize]) -> Vec<&'a [Variant]> {
    let mut rest = variants;
    let mut runs = Vec::with_capacity(counts.len());
    for &count in counts {
        let (run, after) = rest.split_at(count);
        runs.push(run);
        rest = after;
    }
    runs
}

fn chunk_size(product: &Product, run: &[Variant]) -> usize {
    // A nil ULID is as long as any.
    let item = product.chunk_item(&ulid::Ulid::nil().to_string(), run);
    item.ok().and_then(|item| item_size(&item).ok()).unwrap_or(usize::MAX)
}

fn fits(product: &Product, run: &[Variant]) -> bool {
    chunk_size(product, run) <= CHUNK_LIMIT
}

/// Runs of consecutive variants, each as long as its chunk stays under [`CHUNK_LIMIT`].
fn pack<'a>(product: &Product, variants: &'a [Variant]) -> Result<Vec<&'a [Variant]>, String> {
    let empty = chunk_size(product, &[]);
    let mut runs = Vec::new();
    let (mut start, mut size) = (0, empty);
    for (i, variant) in variants.iter().enumerate() {
        // Its JSON and the comma before it.
        let own = serde_json::to_vec(variant).map_err(|e| e.to_string())?.len() + 1;
        if empty + own > CHUNK_LIMIT {
            return Err(format!(
                "variant {} takes {own} bytes, more than the {CHUNK_LIMIT} bytes an item of variants allows",
                variant.variant_id
            ));
        }
        if size + own > CHUNK_LIMIT {
            runs.push(&variants[start..i]);
            (start, size) = (i, empty);
        }
        size += own;
    }
    if start < variants.len() {
        runs.push(&variants[start..]);
    }
    Ok(runs)
}

/// Fills in the variants of chunked heads. A chunk that is missing was replaced since its head was read (or
/// the head came from an index, which lags): that head is read again, up to a few times.
pub(crate) async fn complete(app: &App, mut heads: Vec<Product>) -> Result<Vec<Product>, Error> {
    for _ in 0..5 {
        let keys: Vec<ItemKey> = heads.iter().filter(|p| p.variants.is_empty()).flat_map(Product::chunk_keys).collect();
        if keys.is_empty() {
            return Ok(heads);
        }
        let found: HashMap<ItemKey, Item> =
            app.table.batch_get(keys).await?.into_iter().map(|item| (item.key.clone(), item)).collect();
        let mut complete = true;
        for product in heads.iter_mut().filter(|p| p.variants.is_empty() && !p.variant_chunks.is_empty()) {
            match product.chunk_keys().map(|key| found.get(&key).cloned()).collect::<Option<Vec<Item>>>() {
                Some(chunks) => product.variants = variants_of(&chunks)?,
                None => {
                    complete = false;
                    let key = product_key(&product.merchant_id, &product.product_id);
                    if let Some(item) = app.table.get(&key).await? {
                        *product = Product::from_item(&item)?;
                    }
                }
            }
        }
        if complete {
            return Ok(heads);
        }
    }
    Err(Error::Conflict("the product kept changing while being read; retry".into()))
}

fn variants_of(chunks: &[Item]) -> Result<Vec<Variant>, Error> {
    #[derive(Deserialize)]
    struct Chunk {
        variants: Vec<Variant>,
    }
    let mut variants = Vec::new();
    for item in chunks {
        variants.extend(crate::record::from_item::<Chunk>(item)?.variants);
    }
    Ok(variants)
}

/// How writing a group of products ended.
pub(crate) enum GroupWrite {
    Written,
    /// A head's version changed since it was read: nothing was written.
    Conflict,
    /// The table refused a write (a limit, a validation): nothing was written.
    Refused(String),
}

/// Writes the products of `writes` as one: their new chunks, then their heads in one transaction, then
/// their stale chunks.
pub(crate) async fn write_group(app: &App, writes: &[ProductWrite]) -> Result<GroupWrite, Error> {
    let new_chunks: Vec<Item> = writes.iter().flat_map(|w| w.new_chunks.iter().cloned()).collect();
    let new_keys: Vec<ItemKey> = new_chunks.iter().map(|item| item.key.clone()).collect();
    if !new_chunks.is_empty() {
        match app.table.batch_put(new_chunks).await {
            Ok(()) => {}
            Err(StoreError::Other(reason)) => {
                delete_chunks(app, &new_keys).await;
                return Ok(GroupWrite::Refused(reason));
            }
            Err(e) => return Err(e.into()),
        }
    }
    match app.table.transact(writes.iter().map(|w| w.head.clone()).collect()).await {
        Ok(()) => {
            delete_chunks(app, &writes.iter().flat_map(|w| w.stale_chunks.iter().cloned()).collect::<Vec<_>>()).await;
            Ok(GroupWrite::Written)
        }
        // Certainly not written: the new chunks belong to nobody. (After a timeout the heads may have been
        // written, so their chunks stay.)
        Err(StoreError::TransactionCancelled { .. }) => {
            delete_chunks(app, &new_keys).await;
            Ok(GroupWrite::Conflict)
        }
        Err(StoreError::Other(reason)) => {
            delete_chunks(app, &new_keys).await;
            Ok(GroupWrite::Refused(reason))
        }
        Err(e) => Err(e.into()),
    }
}

/// Deletes chunks no head points at. A failure leaves them behind, unread: it is logged, not raised, since
/// the products are written either way.
async fn delete_chunks(app: &App, keys: &[ItemKey]) {
    for key in keys {
        if let Err(e) = app.table.delete(key, Condition::None).await {
            tracing::warn!(pk = key.pk, sk = key.sk, error = %e, "an unreferenced variant chunk was not deleted");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::money::Currency;
    use crate::record::limits::check_item;

    fn variant(i: usize, title: String) -> Variant {
        Variant {
            variant_id: format!("gid://shopify/ProductVariant/{}", 40_000_000_000u64 + i as u64),
            title,
            sku: Some(format!("{i:0>255}")),
            store_price_minor: 1999,
            price_override_minor: None,
            inventory_quantity: Some(7),
        }
    }

    /// The largest product Shopify allows: 2,048 variants with 255-character titles and SKUs.
    fn product(variants: usize) -> Product {
        Product {
            product_id: "prd_0123456789abcdef01234567".into(),
            merchant_id: MerchantId::generate(),
            store_id: "sto_1".into(),
            external_id: "gid://shopify/Product/7000000000".into(),
            title: "T".repeat(255),
            status: "active".into(),
            image_url: None,
            currency: Currency::parse("EUR").unwrap(),
            variants: (0..variants).map(|i| variant(i, format!("{i}-{}", "é".repeat(250)))).collect(),
            store_updated_at: None,
            content_hash: "0".repeat(64),
            synced_at: time::OffsetDateTime::UNIX_EPOCH,
            variant_chunks: Vec::new(),
            seen_by_job: None,
            removed_by: None,
            version: 1,
        }
    }

    fn own_size(variant: &Variant) -> usize {
        serde_json::to_vec(variant).unwrap().len() + 1
    }

    /// As read back: the stored layout, variants complete.
    fn stored(write: &ProductWrite, product: &Product) -> Product {
        let WriteOp::Put { item, .. } = &write.head else { panic!("a head is a put") };
        let mut stored = Product::from_item(item).unwrap();
        stored.variants = product.variants.clone();
        stored
    }

    #[test]
    fn a_chunk_fills_up_to_its_limit_and_not_a_byte_more() {
        let p = product(0);
        let empty = chunk_size(&p, &[]);
        let first = variant(0, "a".into());
        let room = CHUNK_LIMIT - empty - own_size(&first);
        let at_limit = variant(1, "b".repeat(room - own_size(&variant(1, String::new()))));
        assert_eq!(empty + own_size(&first) + own_size(&at_limit), CHUNK_LIMIT);
        let variants = [first.clone(), at_limit];
        assert_eq!(pack(&p, &variants).unwrap(), vec![&variants[..]], "exactly at the limit: one chunk");
        let over = variant(1, "b".repeat(room - own_size(&variant(1, String::new())) + 1));
        let variants = [first, over];
        assert_eq!(pack(&p, &variants).unwrap(), vec![&variants[..1], &variants[1..]], "a byte over: two");
    }

    #[test]
    fn a_variant_larger_than_a_chunk_is_refused_by_name() {
        let p = product(0);
        let huge = [variant(0, "x".repeat(CHUNK_LIMIT))];
        let reason = pack(&p, &huge).unwrap_err();
        assert!(reason.contains("40000000000") && reason.contains("bytes"), "{reason}");
    }

    #[test]
    fn the_largest_shopify_product_is_chunked_under_the_item_limit() {
        let p = product(2048);
        let write = plan(&p, None).unwrap();
        assert!(write.new_chunks.len() >= 4, "{} chunks", write.new_chunks.len());
        for chunk in &write.new_chunks {
            check_item(chunk).unwrap();
            assert!(item_size(chunk).unwrap() <= CHUNK_LIMIT);
        }
        let WriteOp::Put { item: head, condition } = &write.head else { panic!("a put") };
        assert_eq!(*condition, Condition::NotExists);
        assert!(item_size(head).unwrap() <= INLINE_LIMIT);
        assert_eq!(variants_of(&write.new_chunks).unwrap(), p.variants, "every variant, in order");
        let head = Product::from_item(head).unwrap();
        assert_eq!(head.variant_chunks.iter().map(|c| c.variants).sum::<usize>(), 2048);
        assert!(head.variants.is_empty());
    }

    #[test]
    fn a_small_product_keeps_its_variants_and_drops_its_chunks() {
        let big = product(2048);
        let first = plan(&big, None).unwrap();
        let stored_big = stored(&first, &big);
        let mut small = product(3);
        small.version = 2;
        let write = plan(&small, Some(&stored_big)).unwrap();
        assert!(write.new_chunks.is_empty());
        assert_eq!(write.stale_chunks.len(), first.new_chunks.len(), "every old chunk goes");
        let WriteOp::Put { item, condition } = &write.head else { panic!("a put") };
        assert_eq!((Product::from_item(item).unwrap().variants.len(), *condition), (3, Condition::VersionIs(1)));
    }

    #[test]
    fn an_edit_rewrites_only_the_chunks_it_touches() {
        let p = product(2048);
        let first = plan(&p, None).unwrap();
        let stored_p = stored(&first, &p);

        let mut same = stored_p.clone();
        same.status = "removed".into();
        same.version = 2;
        let write = plan(&same, Some(&stored_p)).unwrap();
        assert!(write.new_chunks.is_empty() && write.stale_chunks.is_empty(), "a removal writes the head only");

        let mut repriced = stored_p.clone();
        repriced.variants[2000].price_override_minor = Some(4242);
        repriced.version = 2;
        let write = plan(&repriced, Some(&stored_p)).unwrap();
        assert_eq!((write.new_chunks.len(), write.stale_chunks.len()), (1, 1), "one chunk replaced");
        let ends: Vec<usize> =
            stored_p.variant_chunks.iter().scan(0, |end, c| Some(*end + c.variants).inspect(|e| *end = *e)).collect();
        let holder = ends.iter().position(|end| *end > 2000).unwrap();
        assert_eq!(write.stale_chunks, vec![first.new_chunks[holder].key.clone()], "the chunk of variant 2000");

        let mut fewer = stored_p.clone();
        fewer.variants.truncate(1500);
        fewer.version = 2;
        let write = plan(&fewer, Some(&stored_p)).unwrap();
        let kept = first.new_chunks.len() - write.stale_chunks.len();
        assert!(kept >= 2 && write.new_chunks.len() == 1, "the first chunks are unchanged: {kept} kept");
    }

    #[test]
    fn a_product_whose_own_fields_pass_its_item_is_refused() {
        let mut p = product(2048);
        p.title = "t".repeat(INLINE_LIMIT);
        assert!(plan(&p, None).unwrap_err().contains("own fields"));
    }
}
