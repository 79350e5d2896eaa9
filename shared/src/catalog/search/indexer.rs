//! The indexer: the index queue's consumer (`search-indexer`), and the rebuild.
//!
//! It reads the products a message names from the table and applies them to the merchant's index: a
//! product the table has is put (a removed one too: search leaves `removed` out unless asked for it), one
//! it no longer has is taken out. The queue is FIFO with the merchant as message group, so for one merchant
//! this runs one message at a time, in order; a message read twice applies what the table holds, which is
//! never older than what the first read applied.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

use super::doc::doc_of;
use super::feed::IndexRequest;
use crate::catalog::products;
use crate::kernel::error::Error;
use crate::onboarding::merchant::MerchantId;
use crate::ports::{HasSearchIndex, HasTable, IndexChange};

pub async fn handle(app: &(impl HasTable + HasSearchIndex), event: SqsEvent) -> SqsBatchResponse {
    crate::invocation::serve_as("search-indexer", handle_batch(app, event)).await
}

async fn handle_batch(app: &(impl HasTable + HasSearchIndex), event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let mut failed = false;
    for record in event.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        // FIFO: after a failure, the group's later messages must not overtake it. Lambda retries them all.
        if failed {
            response.add_failure(message_id);
            continue;
        }
        let Some(request) = record.body.as_deref().and_then(|body| serde_json::from_str::<IndexRequest>(body).ok())
        else {
            tracing::error!(message_id, "an index queue message does not parse");
            response.add_failure(message_id);
            failed = true;
            continue;
        };
        if let Err(e) = apply(app, &request).await {
            tracing::warn!(message_id, merchant_id = request.merchant_id(), error = %e, "indexing failed; the message will come back");
            response.add_failure(message_id);
            failed = true;
        }
    }
    response
}

/// Brings the merchant's index up to date with what the request names.
pub async fn apply(app: &(impl HasTable + HasSearchIndex), request: &IndexRequest) -> Result<(), Error> {
    let merchant_id = MerchantId::parse(request.merchant_id()).ok_or_else(|| {
        Error::Internal(format!("index request for a malformed merchant id {:?}", request.merchant_id()))
    })?;
    match request {
        IndexRequest::Changed { product_ids, .. } => {
            let mut found = products::get_many(app, &merchant_id, product_ids).await?;
            let changes = product_ids
                .iter()
                .map(|id| match found.remove(id) {
                    Some(product) => IndexChange::Upsert(doc_of(&product)),
                    None => IndexChange::Remove { product_id: id.clone() },
                })
                .collect();
            app.search_index().apply(merchant_id.as_str(), changes).await?;
            Ok(())
        }
        IndexRequest::Rebuild { .. } => rebuild(app, &merchant_id).await.map(|_| ()),
    }
}

/// Replaces the merchant's index with the catalog as the table holds it. Returns how many products it holds.
pub async fn rebuild(app: &(impl HasTable + HasSearchIndex), merchant_id: &MerchantId) -> Result<u64, Error> {
    let mut docs = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = products::catalog_page(app, merchant_id, cursor).await?;
        docs.extend(page.iter().map(doc_of));
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let count = docs.len() as u64;
    app.search_index().replace_all(merchant_id.as_str(), docs).await?;
    Ok(count)
}
