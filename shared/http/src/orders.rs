//! `webhooks-setup`, `order-webhook` and `orders-list`.

use http::StatusCode;
use lambda_http::Request;

use super::merchants::own_merchant;
use super::request::{Params, json_response, paging, path_param};
use super::{HandlerResult, cursor, require_merchant};
use pivota::app::App;
use pivota::kernel::error::Error;
use pivota::orders::webhooks;
use pivota::orders::{self, OrderStatus};
use pivota::ports::PageCursor;

/// Register Pivota's order-created (and product-updated, app-uninstalled) webhooks on the store.
/// Idempotent: calling it again leaves one subscription per topic.
#[utoipa::path(
    post, path = "/merchant/{merchant_id}/store/{store_id}/webhooks/setup", operation_id = "setUpStoreWebhooks", tag = "orders",
    params(("merchant_id" = String, Path, description = "The merchant's id"), ("store_id" = String, Path, description = "The store")),
    security(("merchant_api_key" = [])),
    responses((status = 200, description = "{store_id, webhooks: [...]}"), (status = 502, description = "The store failed; retry", content_type = "application/problem+json"))
)]
pub async fn setup(app: &App, req: &Request) -> HandlerResult {
    let caller = require_merchant(app, req).await?;
    let merchant_id = own_merchant(req, &caller)?;
    let store_id = path_param(req, "store_id").ok_or(Error::NotFound("store"))?;
    let base = super::request::public_base(app, req)?;
    let store = webhooks::setup(app, &base, &merchant_id, store_id).await?;
    json_response(StatusCode::OK, &serde_json::json!({"store_id": store.store_id, "webhooks": store.webhooks}))
}

/// A store's webhook delivery. Verified on the raw body before anything is parsed; a bad or missing
/// signature is 401 with no side effect. Then checked for the store's shop, its topic's payload shape and
/// its age (Shopify; the custom contract's signed timestamp). Deduplicated by event id and by (store, order
/// id). Answers fast: the payment runs from a queue.
#[utoipa::path(
    post, path = "/webhooks/{platform}/{store_id}", operation_id = "receiveStoreWebhook", tag = "orders",
    params(("platform" = String, Path, description = "shopify, woocommerce, wix or custom"), ("store_id" = String, Path, description = "The store")),
    responses(
        (status = 200, description = "Accepted (or a duplicate, too old, or not newer than what is stored: acknowledged and ignored)"),
        (status = 400, description = "A header is missing or out of range (X-Shopify-Triggered-At, X-Shopify-Shop-Domain, the signature's timestamp), or the body is not JSON", content_type = "application/problem+json"),
        (status = 401, description = "Bad or missing signature", content_type = "application/problem+json"),
        (status = 403, description = "Signed, but for another shop than the store's", content_type = "application/problem+json"),
        (status = 422, description = "Signed, but not its topic's payload", content_type = "application/problem+json"),
        (status = 503, description = "The store could not be asked to confirm an uninstall; deliver again", content_type = "application/problem+json"),
    )
)]
pub async fn receive(app: &App, req: &Request) -> HandlerResult {
    let platform = path_param(req, "platform").ok_or(Error::NotFound("webhook endpoint"))?;
    let store_id = path_param(req, "store_id").ok_or(Error::NotFound("webhook endpoint"))?;
    let handled = webhooks::receive(app, platform, store_id, req.headers(), req.body().as_ref()).await?;
    tracing::info!(store_id, outcome = ?handled, "webhook delivery");
    json_response(StatusCode::OK, &serde_json::json!({"received": true}))
}

/// Orders received from the stores, newest first, with payment and write-back status.
#[utoipa::path(
    get, path = "/merchant/{merchant_id}/orders", operation_id = "listOrders", tag = "orders",
    params(
        ("merchant_id" = String, Path, description = "The merchant's id"),
        ("status" = Option<OrderStatus>, Query, description = "Only orders in this status"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 100 (default 20)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    security(("merchant_api_key" = [])),
    responses((status = 200, description = "{items: [...], next_cursor}"))
)]
pub async fn list(app: &App, req: &Request) -> HandlerResult {
    let caller = require_merchant(app, req).await?;
    let merchant_id = own_merchant(req, &caller)?;
    let (status, limit, page_cursor) = list_filter(req)?;
    let (found, next) = orders::list(app, &merchant_id, status, limit, page_cursor).await?;
    let items: Vec<serde_json::Value> = found.iter().map(|o| o.view()).collect();
    json_response(StatusCode::OK, &serde_json::json!({"items": items, "next_cursor": next.as_ref().map(cursor::seal)}))
}

/// The `status`, `limit` and `cursor` of an orders listing (from a query string or a tool call); each bad
/// one is a 400 naming it.
pub fn list_filter(params: &impl Params) -> Result<(Option<OrderStatus>, u32, Option<PageCursor>), Error> {
    let status = params
        .param("status")
        .map(|raw| {
            OrderStatus::parse(raw).ok_or_else(|| {
                Error::bad_parameter(
                    "status",
                    "must be one of received, awaiting_payment_method, already_paid, paid, declined, requires_action, failed, not_chargeable",
                )
            })
        })
        .transpose()?;
    let (limit, page_cursor) = paging(params)?;
    Ok((status, limit, page_cursor))
}
