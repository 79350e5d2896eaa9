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
//!
//! This module holds the limits, the chunk references and the items a product is written as; laying out
//! a product's write is in `layout.rs`, reading products whole in `read.rs`, writing a group of them in
//! `write.rs`.

use serde::{Deserialize, Serialize};

use crate::catalog::products::{Product, Variant};
use crate::kernel::error::Error;
use crate::onboarding::merchant::MerchantId;
use crate::ports::{Item, ItemKey, WriteOp};
use crate::record::limits::{MAX_ITEM_BYTES, MAX_TRANSACTION_BYTES};
use crate::record::{Record, to_attributes};

mod layout;
mod read;
mod write;

pub(crate) use layout::{ProductWrite, plan};
pub(crate) use read::complete;
pub(crate) use write::{GroupWrite, write_group};

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

    /// The write of the product's head, holding `variants` and pointing at `chunks`, by the record's
    /// version rule: created when nothing is stored, else saved over the version read (the product's).
    fn head_write(&self, variants: &[Variant], chunks: Vec<VariantChunk>, stored: bool) -> Result<WriteOp, Error> {
        let head = Product { variants: variants.to_vec(), variant_chunks: chunks, ..self.clone() };
        if stored { head.save_op() } else { head.create_op() }
    }

    fn chunk_item(&self, chunk_id: &str, variants: &[Variant]) -> Result<Item, Error> {
        let attributes = serde_json::json!({"product_id": self.product_id, "variants": variants});
        Ok(Item::new(chunk_key(&self.merchant_id, &self.product_id, chunk_id), to_attributes(&attributes)?))
    }
}
