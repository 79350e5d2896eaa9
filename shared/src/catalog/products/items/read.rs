//! Reading products whole: the variants of chunked heads filled in from their chunks, a head read again
//! when one of its chunks was replaced meanwhile.

use std::collections::HashMap;

use serde::Deserialize;

use crate::catalog::products::{Product, Variant, product_key};
use crate::kernel::error::Error;
use crate::ports::HasTable;
use crate::ports::{Item, ItemKey};
use crate::record::Record;

/// Fills in the variants of chunked heads. A chunk that is missing was replaced since its head was read (or
/// the head came from an index, which lags): that head is read again, up to a few times.
pub(crate) async fn complete(app: &impl HasTable, mut heads: Vec<Product>) -> Result<Vec<Product>, Error> {
    for _ in 0..5 {
        let keys: Vec<ItemKey> = heads.iter().filter(|p| p.variants.is_empty()).flat_map(Product::chunk_keys).collect();
        if keys.is_empty() {
            return Ok(heads);
        }
        let found: HashMap<ItemKey, Item> =
            app.table().batch_get(keys).await?.into_iter().map(|item| (item.key.clone(), item)).collect();
        let mut complete = true;
        for product in heads.iter_mut().filter(|p| p.variants.is_empty() && !p.variant_chunks.is_empty()) {
            match product.chunk_keys().map(|key| found.get(&key).cloned()).collect::<Option<Vec<Item>>>() {
                Some(chunks) => product.variants = variants_of(&chunks)?,
                None => {
                    complete = false;
                    let key = product_key(&product.merchant_id, &product.product_id);
                    if let Some(item) = app.table().get(&key).await? {
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

pub(super) fn variants_of(chunks: &[Item]) -> Result<Vec<Variant>, Error> {
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
