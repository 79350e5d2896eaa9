//! How product changes reach the search index: messages on the index queue, an SQS FIFO queue whose
//! message group is the merchant, so the indexer applies one merchant's changes one at a time and in order.
//!
//! A message names products, not their content: the indexer reads them from the table when it runs. Each
//! send has a deduplication id of its own (two changes of one product minutes apart are two changes); the
//! SDK's retry of one send reuses it, so a send that timed out but landed is not applied twice.

use serde::{Deserialize, Serialize};

use crate::kernel::error::Error;
use crate::onboarding::merchant::MerchantId;
use crate::ports::HasQueue;

/// Product ids per message: 1,000 ids of 28 characters stay far under SQS's 256 KiB.
const IDS_PER_MESSAGE: usize = 1_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IndexRequest {
    /// These products changed (or were deleted): index them as the table has them now.
    Changed { merchant_id: String, product_ids: Vec<String> },
    /// Replace the merchant's index with the whole catalog, read from the table.
    Rebuild { merchant_id: String },
}

impl IndexRequest {
    pub fn merchant_id(&self) -> &str {
        match self {
            IndexRequest::Changed { merchant_id, .. } | IndexRequest::Rebuild { merchant_id } => merchant_id,
        }
    }
}

/// Tells the indexer that these products changed.
pub async fn products_changed(
    app: &impl HasQueue,
    merchant_id: &MerchantId,
    product_ids: &[String],
) -> Result<(), Error> {
    for ids in product_ids.chunks(IDS_PER_MESSAGE) {
        let request = IndexRequest::Changed { merchant_id: merchant_id.to_string(), product_ids: ids.to_vec() };
        send(app, &request).await?;
    }
    Ok(())
}

/// Asks the indexer to rebuild the merchant's index from the table.
pub async fn request_rebuild(app: &impl HasQueue, merchant_id: &MerchantId) -> Result<(), Error> {
    send(app, &IndexRequest::Rebuild { merchant_id: merchant_id.to_string() }).await
}

async fn send(app: &impl HasQueue, request: &IndexRequest) -> Result<(), Error> {
    let body = serde_json::to_string(request).map_err(|e| Error::Internal(e.to_string()))?;
    let dedup_id = ulid::Ulid::new().to_string();
    app.queue().send_in_group(app.index_queue(), &body, request.merchant_id(), &dedup_id).await?;
    Ok(())
}
