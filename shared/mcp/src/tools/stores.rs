//! `list_stores`, `sync_store` and `get_sync_job`: the stores list and `…/store/{id}/sync`.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::PivotaMcp;
use crate::views::{StoreList, StoreView, SyncJobView, SyncStarted};
use pivota::catalog::sync;
use pivota::kernel::error::Error;
use pivota::stores::platforms::Platform;

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListStoresArgs {
    /// Only stores on this platform: shopify, woocommerce, wix or custom.
    pub platform: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncStoreArgs {
    /// The store's `store_id` (from list_stores).
    pub store_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetSyncJobArgs {
    pub store_id: String,
    /// The job's `job_id` (from sync_store or list_stores).
    pub job_id: String,
}

#[tool_router(router = store_tools, vis = "pub(super)")]
impl PivotaMcp {
    #[tool(
        description = "The merchant's connected stores: platform, name, currency, mode, connection status, product count, \
                       low-stock threshold, and the last sync job.",
        annotations(title = "List stores", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn list_stores(&self, Parameters(args): Parameters<ListStoresArgs>) -> Result<Json<StoreList>, String> {
        let listed = async {
            let platform = args
                .platform
                .map(|raw| {
                    Platform::parse(raw.trim()).ok_or_else(|| {
                        Error::bad_parameter("platform", "must be one of shopify, woocommerce, wix, custom")
                    })
                })
                .transpose()?;
            let mut items = Vec::new();
            let stores = pivota::stores::list(self.app.as_ref(), &self.caller.merchant_id).await?;
            for store in stores.into_iter().filter(|s| platform.is_none_or(|p| s.platform == p)) {
                let job = match &store.last_job_id {
                    Some(job_id) => sync::get_job(self.app.as_ref(), &store.merchant_id, job_id).await?,
                    None => None,
                };
                items.push(StoreView::of(&store, job.as_ref()));
            }
            Ok::<_, Error>(StoreList { items })
        };
        listed.await.map(Json).map_err(|e| self.refuse("list_stores", &e))
    }

    #[tool(
        description = "Re-sync a store's catalog from the platform: starts a sync job, or returns the one already \
                       running (created: false). Follow it with get_sync_job.",
        annotations(
            title = "Sync a store",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    pub async fn sync_store(&self, Parameters(args): Parameters<SyncStoreArgs>) -> Result<Json<SyncStarted>, String> {
        let started = async {
            let store_id = pivota_http::stores::checked_store_id(args.store_id.trim())?;
            sync::start(self.app.as_ref(), &self.caller.merchant_id, store_id).await
        };
        let (job, created) = started.await.map_err(|e| self.refuse("sync_store", &e))?;
        Ok(Json(SyncStarted { job_id: job.job_id, state: crate::views::label(&job.state), created }))
    }

    #[tool(
        description = "A sync job's progress: state, pages, products seen, written, unchanged, removed, skipped, errors.",
        annotations(title = "Get a sync job", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn get_sync_job(
        &self,
        Parameters(args): Parameters<GetSyncJobArgs>,
    ) -> Result<Json<SyncJobView>, String> {
        let found = async {
            let store_id = pivota_http::stores::checked_store_id(args.store_id.trim())?;
            sync::get_job(self.app.as_ref(), &self.caller.merchant_id, args.job_id.trim())
                .await?
                .filter(|job| job.store_id == store_id)
                .ok_or(Error::NotFound("sync job"))
        };
        found.await.map(|job| Json(SyncJobView::of(&job))).map_err(|e| self.refuse("get_sync_job", &e))
    }
}
