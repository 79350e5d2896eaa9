//! `store-connect`, `stores-list`, `store-update`, `store-disconnect`, and `store-sync`.

use http::StatusCode;
use lambda_http::Request;
use serde::Deserialize;

use super::merchants::own_merchant;
use super::psp::no_content;
use super::request::{json_body, json_response, path_param};
use super::{HandlerResult, require_merchant};
use pivota::app::App;
use pivota::catalog::sync;
use pivota::kernel::error::Error;
use pivota::kernel::validation::FieldErrors;
use pivota::stores::{self, Store, StoreConnectCommand, StoreConnectRequest};

async fn view(app: &App, store: &Store) -> Result<serde_json::Value, Error> {
    let job = match &store.last_job_id {
        Some(job_id) => sync::get_job(app, &store.merchant_id, job_id).await?.map(|job| job.view()),
        None => None,
    };
    let rfc3339 =
        |t: &time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    Ok(serde_json::json!({
        "store_id": store.store_id,
        "platform": store.platform,
        "store_url": store.store_url,
        "store_name": store.store_name,
        "currency": store.currency,
        "mode": store.mode,
        "connection_status": store.connection_status,
        "last_sync_at": store.last_sync_at.as_ref().map(rfc3339),
        "product_count": store.product_count,
        "low_stock_threshold": store.low_stock_threshold,
        "last_error": store.last_error,
        "last_sync_job": job,
        "webhooks": store.webhooks,
        "created_at": rfc3339(&store.created_at),
    }))
}

fn store_id(req: &Request) -> Result<&str, Error> {
    path_param(req, "store_id").map_or(Err(Error::NotFound("store")), checked_store_id)
}

/// A store id as the store routes take it: anything else is no store (404), without a read.
pub fn checked_store_id(raw: &str) -> Result<&str, Error> {
    Some(raw).filter(|id| id.starts_with("sto_") && id.len() < 64).ok_or(Error::NotFound("store"))
}

/// Connect a store. The connection is verified live with the platform first; nothing is stored unless it
/// succeeds. Store URLs must be `https` and resolve to public addresses.
#[utoipa::path(
    post, path = "/merchant/{merchant_id}/store/connect", operation_id = "connectStore", tag = "stores",
    params(("merchant_id" = String, Path, description = "The merchant's id")),
    request_body = StoreConnectRequest,
    security(("merchant_api_key" = [])),
    responses(
        (status = 201, description = "{store_id, platform, store_name, connection_status: \"connected\"}"),
        (status = 400, description = "The platform refused the credentials", content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or an unsafe store URL", content_type = "application/problem+json"),
        (status = 502, description = "The store is unreachable or failing; retry", content_type = "application/problem+json"),
    )
)]
pub async fn connect(app: &App, req: &Request) -> HandlerResult {
    let caller = require_merchant(app, req).await?;
    let merchant_id = own_merchant(req, &caller)?;
    let command = StoreConnectCommand::parse(json_body(req, false)?, app.settings.store_urls)?;
    let mode = command.mode.unwrap_or(caller.mode.into());
    caller.may_act_in(mode.key_mode(), "connect a live store")?;
    let store = stores::connect(app, &merchant_id, mode, command).await?;
    json_response(StatusCode::CREATED, &view(app, &store).await?)
}

/// The merchant's stores with their status, product count, last sync and the last sync job's progress.
#[utoipa::path(
    get, path = "/merchant/{merchant_id}/stores", operation_id = "listStores", tag = "stores",
    params(("merchant_id" = String, Path, description = "The merchant's id")),
    security(("merchant_api_key" = [])),
    responses((status = 200, description = "{items: [...], next_cursor: null}"))
)]
pub async fn list(app: &App, req: &Request) -> HandlerResult {
    let caller = require_merchant(app, req).await?;
    let merchant_id = own_merchant(req, &caller)?;
    let mut items = Vec::new();
    for store in stores::list(app, &merchant_id).await? {
        items.push(view(app, &store).await?);
    }
    json_response(StatusCode::OK, &serde_json::json!({"items": items, "next_cursor": null}))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct StoreUpdateRequest {
    /// A tracked variant with this many or fewer in stock is low on stock (0 to 1,000,000).
    #[schema(value_type = i64, required = true, minimum = 0, maximum = 1000000)]
    pub low_stock_threshold: Option<i64>,
}

/// Change a store's settings (its low-stock threshold).
#[utoipa::path(
    patch, path = "/merchant/{merchant_id}/store/{store_id}", operation_id = "updateStore", tag = "stores",
    params(("merchant_id" = String, Path, description = "The merchant's id"), ("store_id" = String, Path, description = "The store")),
    request_body = StoreUpdateRequest,
    security(("merchant_api_key" = [])),
    responses((status = 200, description = "The store"), (status = 422, description = "Invalid fields", content_type = "application/problem+json"))
)]
pub async fn update(app: &App, req: &Request) -> HandlerResult {
    let caller = require_merchant(app, req).await?;
    let merchant_id = own_merchant(req, &caller)?;
    let store_id = store_id(req)?;
    let request: StoreUpdateRequest = json_body(req, false)?;
    let mut errors = FieldErrors::default();
    let threshold = match request.low_stock_threshold {
        Some(t) if (0..=1_000_000).contains(&t) => Some(t),
        Some(_) => {
            errors.push("low_stock_threshold", "must be from 0 to 1000000");
            None
        }
        None => {
            errors.push("low_stock_threshold", "is required");
            None
        }
    };
    errors.into_result()?;
    stores::get(app, &merchant_id, store_id).await?;
    let store = stores::update(app, &merchant_id, store_id, |store| {
        if let Some(threshold) = threshold {
            store.low_stock_threshold = threshold;
        }
    })
    .await?;
    json_response(StatusCode::OK, &view(app, &store).await?)
}

/// Disconnect a store: removes Pivota's webhooks on it, deletes its credentials, and queues the removal
/// of its products (answered at once; a job marks them removed). Idempotent.
#[utoipa::path(
    delete, path = "/merchant/{merchant_id}/store/{store_id}", operation_id = "disconnectStore", tag = "stores",
    params(("merchant_id" = String, Path, description = "The merchant's id"), ("store_id" = String, Path, description = "The store")),
    security(("merchant_api_key" = [])),
    responses((status = 204, description = "Disconnected"), (status = 404, description = "No such store", content_type = "application/problem+json"))
)]
pub async fn disconnect(app: &App, req: &Request) -> HandlerResult {
    let caller = require_merchant(app, req).await?;
    let merchant_id = own_merchant(req, &caller)?;
    stores::disconnect(app, &merchant_id, store_id(req)?).await?;
    no_content()
}

/// Sync the store's catalog: queues a job, or returns the one already running.
#[utoipa::path(
    post, path = "/merchant/{merchant_id}/store/{store_id}/sync", operation_id = "startStoreSync", tag = "stores",
    params(("merchant_id" = String, Path, description = "The merchant's id"), ("store_id" = String, Path, description = "The store")),
    security(("merchant_api_key" = [])),
    responses((status = 202, description = "{job_id, state, created}"), (status = 409, description = "The store is disconnected", content_type = "application/problem+json"))
)]
pub async fn start_sync(app: &App, req: &Request) -> HandlerResult {
    let caller = require_merchant(app, req).await?;
    let merchant_id = own_merchant(req, &caller)?;
    let (job, created) = sync::start(app, &merchant_id, store_id(req)?).await?;
    json_response(
        StatusCode::ACCEPTED,
        &serde_json::json!({"job_id": job.job_id, "state": job.state, "created": created}),
    )
}

/// A sync job's progress: pages, products seen, written, unchanged, removed, skipped, errors.
///
/// A product the table cannot hold is skipped, never failing the job: `skipped` lists the first 50 as
/// `{external_id, reason}`.
#[utoipa::path(
    get, path = "/merchant/{merchant_id}/store/{store_id}/sync/{job_id}", operation_id = "getSyncJob", tag = "stores",
    params(
        ("merchant_id" = String, Path, description = "The merchant's id"),
        ("store_id" = String, Path, description = "The store"),
        ("job_id" = String, Path, description = "The job"),
    ),
    security(("merchant_api_key" = [])),
    responses((status = 200, description = "The job: {job_id, store_id, state, progress, error, skipped, created_at, updated_at, finished_at}"), (status = 404, description = "No such job", content_type = "application/problem+json"))
)]
pub async fn sync_job(app: &App, req: &Request) -> HandlerResult {
    let caller = require_merchant(app, req).await?;
    let merchant_id = own_merchant(req, &caller)?;
    let store_id = store_id(req)?;
    let job_id = path_param(req, "job_id").ok_or(Error::NotFound("sync job"))?;
    let job = sync::get_job(app, &merchant_id, job_id)
        .await?
        .filter(|j| j.store_id == store_id)
        .ok_or(Error::NotFound("sync job"))?;
    json_response(StatusCode::OK, &job.view())
}
