//! Laying out one product's write: its variants inline when the head stays under [`INLINE_LIMIT`], else
//! packed into runs of chunks under [`CHUNK_LIMIT`], reusing the stored chunks whose variants are unchanged.

use super::{CHUNK_LIMIT, INLINE_LIMIT, VariantChunk, chunk_key};
use crate::catalog::products::{Product, Variant};
use crate::kernel::error::Error;
use crate::ports::{Item, ItemKey, WriteOp};
use crate::record::limits::item_size;

/// Writing one product: its new chunks (put first), its head (put conditional on the version read), and
/// the chunks the stored head pointed at that the new one does not (deleted after).
#[derive(Debug)]
pub(crate) struct ProductWrite {
    pub external_id: String,
    pub new_chunks: Vec<Item>,
    pub head: WriteOp,
    pub stale_chunks: Vec<ItemKey>,
}

/// Lays out `product` (read at `stored`'s version, or new when nothing is stored), reusing `stored`'s
/// chunks whose variants are unchanged. `Err` names why it cannot be stored.
pub(crate) fn plan(product: &Product, stored: Option<&Product>) -> Result<ProductWrite, String> {
    let internal = |e: Error| e.to_string();
    let stored_chunks = stored.map(Product::chunked_variants).unwrap_or_default();
    let head = product.head_write(&product.variants, Vec::new(), stored.is_some()).map_err(internal)?;
    if head_size(&head)? <= INLINE_LIMIT {
        let stale_chunks = stored.map(|p| p.chunk_keys().collect()).unwrap_or_default();
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
    let head = product.head_write(&[], chunks.clone(), stored.is_some()).map_err(internal)?;
    let head_size = head_size(&head)?;
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
    Ok(ProductWrite { external_id: product.external_id.clone(), new_chunks, head, stale_chunks })
}

fn head_size(head: &WriteOp) -> Result<usize, String> {
    let WriteOp::Put { item, .. } = head else { return Err("a head is written by a put".into()) };
    item_size(item).map_err(|e| e.to_string())
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

#[cfg(test)]
mod tests {
    use super::super::read::variants_of;
    use super::*;
    use crate::kernel::money::Currency;
    use crate::onboarding::merchant::MerchantId;
    use crate::ports::Condition;
    use crate::record::Record;
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
            vendor: None,
            product_type: None,
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
        let small = product(3);
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
        let write = plan(&same, Some(&stored_p)).unwrap();
        assert!(write.new_chunks.is_empty() && write.stale_chunks.is_empty(), "a removal writes the head only");

        let mut repriced = stored_p.clone();
        repriced.variants[2000].price_override_minor = Some(4242);
        let write = plan(&repriced, Some(&stored_p)).unwrap();
        assert_eq!((write.new_chunks.len(), write.stale_chunks.len()), (1, 1), "one chunk replaced");
        let ends: Vec<usize> =
            stored_p.variant_chunks.iter().scan(0, |end, c| Some(*end + c.variants).inspect(|e| *end = *e)).collect();
        let holder = ends.iter().position(|end| *end > 2000).unwrap();
        assert_eq!(write.stale_chunks, vec![first.new_chunks[holder].key.clone()], "the chunk of variant 2000");

        let mut fewer = stored_p.clone();
        fewer.variants.truncate(1500);
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
