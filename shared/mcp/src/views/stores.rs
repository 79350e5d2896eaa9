//! Stores and sync jobs.

use schemars::JsonSchema;
use serde::Serialize;

use super::{bounded, bounded_opt, label, rfc3339};
use pivota::catalog::sync::SyncJob;
use pivota::stores::Store;

#[derive(Debug, Serialize, JsonSchema)]
pub struct SyncProgressView {
    /// How many products the store reported having, when its platform says.
    pub expected: Option<u64>,
    pub pages: u64,
    pub products_seen: u64,
    pub written: u64,
    pub unchanged: u64,
    pub removed: u64,
    pub errors: u64,
    pub skipped: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct SyncJobView {
    pub job_id: String,
    pub store_id: String,
    /// queued, running, succeeded or failed.
    pub state: String,
    pub progress: SyncProgressView,
    pub error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub finished_at: Option<String>,
}

impl SyncJobView {
    pub fn of(job: &SyncJob) -> Self {
        let p = &job.progress;
        Self {
            job_id: job.job_id.clone(),
            store_id: job.store_id.clone(),
            state: label(&job.state),
            progress: SyncProgressView {
                expected: p.expected,
                pages: p.pages,
                products_seen: p.products_seen,
                written: p.written,
                unchanged: p.unchanged,
                removed: p.removed,
                errors: p.errors,
                skipped: p.skipped,
            },
            error: bounded_opt(job.error.as_deref()),
            created_at: rfc3339(&job.created_at),
            updated_at: rfc3339(&job.updated_at),
            finished_at: job.finished_at.as_ref().map(rfc3339),
        }
    }
}

/// A sync job that `sync_store` started, or the one already running.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SyncStarted {
    pub job_id: String,
    pub state: String,
    /// `false`: a sync of the store was already running, and this is it.
    pub created: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StoreView {
    pub store_id: String,
    /// shopify, woocommerce, wix or custom.
    pub platform: String,
    pub store_url: String,
    pub store_name: String,
    pub currency: Option<String>,
    /// test or live.
    pub mode: String,
    /// connected, syncing, error, disconnected or uninstalled.
    pub connection_status: String,
    pub last_sync_at: Option<String>,
    pub product_count: u64,
    pub low_stock_threshold: i64,
    pub last_error: Option<String>,
    pub last_sync_job: Option<SyncJobView>,
    pub created_at: String,
}

impl StoreView {
    pub fn of(store: &Store, last_job: Option<&SyncJob>) -> Self {
        Self {
            store_id: store.store_id.clone(),
            platform: store.platform.as_str().to_owned(),
            store_url: store.store_url.clone(),
            store_name: bounded(&store.store_name),
            currency: store.currency.map(|c| c.code().to_owned()),
            mode: store.mode.as_str().to_owned(),
            connection_status: label(&store.connection_status),
            last_sync_at: store.last_sync_at.as_ref().map(rfc3339),
            product_count: store.product_count,
            low_stock_threshold: store.low_stock_threshold,
            last_error: bounded_opt(store.last_error.as_deref()),
            last_sync_job: last_job.map(SyncJobView::of),
            created_at: rfc3339(&store.created_at),
        }
    }
}

/// The merchant's stores.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StoreList {
    pub items: Vec<StoreView>,
}
