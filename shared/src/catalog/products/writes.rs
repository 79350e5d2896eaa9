//! Writing products: recomputed from what is stored and written conditional on its version, a chunk to a
//! transaction ([`write_merged`]); one product over the version it was computed from ([`save_over`]); and
//! the store's version of a page of products, keeping the merchant's price overrides ([`save_from_store`]).

use std::collections::{HashMap, VecDeque};

use super::{Product, SkippedProduct, WriteOutcome, content_hash, get_many, product_id};
use crate::catalog::products::items::{self, GroupWrite};
use crate::catalog::search::{self, doc_of};
use crate::kernel::error::Error;
use crate::kernel::money::Currency;
use crate::onboarding::merchant::MerchantId;
use crate::ports::HasClock;
use crate::ports::HasQueue;
use crate::ports::HasTable;
use crate::record::Record;
use crate::stores::platforms::ExternalProduct;

/// Products written to one transaction (DynamoDB allows 100; 25 keeps a conflict's retry small).
pub const WRITE_CHUNK: usize = 25;
const WRITE_ATTEMPTS: usize = 5;

/// Writes products recomputed from what is stored, each head put conditional on the version it was computed
/// from (or on there being none), a chunk of products to a transaction. A price edit landing in between is
/// so never overwritten: the conflicting chunk is read again and recomputed. `change(id, stored)` gives the
/// product to write (at the stored one's version, as read), or `None` to leave it. `stored` holds what the
/// caller has already read (heads are enough: their variants are read here). A product the table cannot
/// hold is skipped, with the reason, and the others are written. The products whose searchable content
/// changed go to the search index's queue once their chunk is written.
pub async fn write_merged(
    app: &(impl HasTable + HasQueue),
    merchant_id: &MerchantId,
    ids: &[String],
    stored: HashMap<String, Product>,
    mut change: impl FnMut(&str, Option<&Product>) -> Result<Option<Product>, Error>,
) -> Result<WriteOutcome, Error> {
    let mut stored: HashMap<String, Product> = items::complete(app, stored.into_values().collect())
        .await?
        .into_iter()
        .map(|p| (p.product_id.clone(), p))
        .collect();
    let mut outcome = WriteOutcome::default();
    let mut groups: VecDeque<Vec<String>> = ids.chunks(WRITE_CHUNK).map(<[String]>::to_vec).collect();
    while let Some(group) = groups.pop_front() {
        for attempt in 1..=WRITE_ATTEMPTS {
            let (mut writes, mut skipped, mut searchable) = (Vec::new(), Vec::new(), Vec::new());
            for id in &group {
                let current = stored.get(id);
                if let Some(product) = change(id, current)? {
                    match items::plan(&product, current) {
                        Ok(write) => {
                            if current.map(doc_of) != Some(doc_of(&product)) {
                                searchable.push(product.product_id.clone());
                            }
                            writes.push(write)
                        }
                        Err(reason) => skipped.push(SkippedProduct { external_id: product.external_id, reason }),
                    }
                }
            }
            let result = if writes.is_empty() { GroupWrite::Written } else { items::write_group(app, &writes).await? };
            match result {
                GroupWrite::Written => {
                    outcome.written += writes.len() as u64;
                    outcome.skipped.append(&mut skipped);
                    search::products_changed(app, merchant_id, &searchable).await?;
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

/// Writes `product`, changed from `stored` (and at its version), over it. `false` when the stored product
/// changed meanwhile (nothing was written, and the product keeps the version read).
pub async fn save_over(
    app: &(impl HasTable + HasQueue),
    product: &mut Product,
    stored: &Product,
) -> Result<bool, Error> {
    let write = items::plan(product, Some(stored))
        .map_err(|reason| Error::Conflict(format!("the product cannot be stored: {reason}")))?;
    match items::write_group(app, &[write]).await? {
        GroupWrite::Written => {
            if doc_of(stored) != doc_of(product) {
                search::products_changed(app, &product.merchant_id, std::slice::from_ref(&product.product_id)).await?;
            }
            product.saved();
            Ok(true)
        }
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
    app: &(impl HasTable + HasClock + HasQueue),
    merchant_id: &MerchantId,
    store_id: &str,
    currency: Currency,
    externals: Vec<ExternalProduct>,
    stored: HashMap<String, Product>,
    seen_by: Option<&str>,
) -> Result<WriteOutcome, Error> {
    let now = app.clock().now();
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
