//! `products`: searching the synced catalog and setting prices kept in Pivota.

use std::collections::HashMap;

use http::StatusCode;
use lambda_http::Request;
use serde::Deserialize;

use super::merchants::own_merchant;
use super::request::{json_body, json_response, paging, path_param, query_param};
use super::{HandlerResult, cursor, require_merchant};
use pivota::app::App;
use pivota::catalog::products::{self, ProductFilter};
use pivota::kernel::error::Error;
use pivota::kernel::money::MAX_AMOUNT_MINOR;
use pivota::kernel::validation::FieldErrors;
use pivota::stores;

/// Search the catalog by name or SKU, filtered by store, status and low stock.
#[utoipa::path(
    get, path = "/merchant/{merchant_id}/products", operation_id = "listProducts", tag = "products",
    params(
        ("merchant_id" = String, Path, description = "The merchant's id"),
        ("store_id" = Option<String>, Query, description = "Only this store's products"),
        ("q" = Option<String>, Query, description = "Case-insensitive part of the title or a SKU"),
        ("status" = Option<String>, Query, pattern = "^(active|draft|archived|removed)$", description = "active, draft, archived or removed"),
        ("low_stock" = Option<bool>, Query, description = "true: only products at or below their store's threshold"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 100 (default 20)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    security(("merchant_api_key" = [])),
    responses((status = 200, description = "{items: [...], next_cursor}"), (status = 400, description = "Invalid parameter", content_type = "application/problem+json"))
)]
pub async fn list(app: &App, req: &Request) -> HandlerResult {
    let caller = require_merchant(app, req).await?;
    let merchant_id = own_merchant(req, &caller)?;
    let status = query_param(req, "status")
        .map(|s| match s {
            "active" | "draft" | "archived" | "removed" => Ok(s.to_owned()),
            _ => Err(Error::bad_parameter("status", "must be one of active, draft, archived, removed")),
        })
        .transpose()?;
    let low_stock = query_param(req, "low_stock")
        .map(|v| match v {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(Error::bad_parameter("low_stock", "must be true or false")),
        })
        .transpose()?;
    let query = query_param(req, "q").map(str::trim).filter(|q| !q.is_empty()).map(str::to_owned);
    if query.as_ref().is_some_and(|q| q.len() > 200) {
        return Err(Error::bad_parameter("q", "must be at most 200 characters"));
    }
    let stores = stores::list(app, &merchant_id).await?;
    let store_id = query_param(req, "store_id").map(str::to_owned);
    if let Some(id) = &store_id
        && !stores.iter().any(|s| &s.store_id == id)
    {
        return Err(Error::bad_parameter("store_id", "is not one of the merchant's connected stores"));
    }
    let thresholds: HashMap<String, i64> = stores.iter().map(|s| (s.store_id.clone(), s.low_stock_threshold)).collect();
    let (limit, page_cursor) = paging(req)?;
    let filter = ProductFilter { store_id, query, status, low_stock };
    let (found, next) = products::search(app, &merchant_id, &filter, &thresholds, limit, page_cursor).await?;
    let items: Vec<serde_json::Value> = found
        .iter()
        .map(|p| p.view(thresholds.get(&p.store_id).copied().unwrap_or(stores::DEFAULT_LOW_STOCK_THRESHOLD)))
        .collect();
    json_response(StatusCode::OK, &serde_json::json!({"items": items, "next_cursor": next.as_ref().map(cursor::seal)}))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct PriceUpdateRequest {
    /// The variant to price; may be left out when the product has one variant.
    pub variant_id: Option<String>,
    /// The price kept in Pivota, integer minor units of the product's currency; `null` returns to the
    /// store's price.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub price_minor: Option<Option<i64>>,
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(deserializer).map(Some)
}

/// Set the price Pivota charges for a variant (the store's own price is not changed).
#[utoipa::path(
    patch, path = "/merchant/{merchant_id}/products/{product_id}", operation_id = "updateProductPrice", tag = "products",
    params(("merchant_id" = String, Path, description = "The merchant's id"), ("product_id" = String, Path, description = "The product")),
    request_body = PriceUpdateRequest,
    security(("merchant_api_key" = [])),
    responses(
        (status = 200, description = "The product"),
        (status = 404, description = "No such product", content_type = "application/problem+json"),
        (status = 409, description = "Changed concurrently; retry", content_type = "application/problem+json"),
        (status = 422, description = "Invalid price or variant", content_type = "application/problem+json"),
    )
)]
pub async fn update_price(app: &App, req: &Request) -> HandlerResult {
    let caller = require_merchant(app, req).await?;
    let merchant_id = own_merchant(req, &caller)?;
    let product_id = path_param(req, "product_id").ok_or(Error::NotFound("product"))?;
    let request: PriceUpdateRequest = json_body(req, false)?;
    let mut product = products::get(app, &merchant_id, product_id).await?.ok_or(Error::NotFound("product"))?;
    let mut errors = FieldErrors::default();
    let price = match request.price_minor {
        None => {
            errors.push("price_minor", "is required (null returns to the store's price)");
            None
        }
        Some(Some(p)) if !(1..=MAX_AMOUNT_MINOR).contains(&p) => {
            errors.push("price_minor", format!("must be a positive integer of at most {MAX_AMOUNT_MINOR} minor units"));
            None
        }
        Some(p) => Some(p),
    };
    let index = match &request.variant_id {
        Some(id) => product.variants.iter().position(|v| &v.variant_id == id),
        None if product.variants.len() == 1 => Some(0),
        None => {
            errors.push("variant_id", "is required: the product has several variants");
            None
        }
    };
    if request.variant_id.is_some() && index.is_none() {
        errors.push("variant_id", "is not a variant of this product");
    }
    errors.into_result()?;
    if product.status == "removed" {
        return Err(Error::Conflict("the product was removed from its store".into()));
    }
    let (Some(index), Some(price)) = (index, price) else {
        return Err(Error::Internal("validated without values".into()));
    };
    let stored = product.clone();
    product.variants[index].price_override_minor = price;
    if !products::save_over(app, &mut product, &stored).await? {
        return Err(Error::Conflict("the product changed (a sync ran); read it again and retry".into()));
    }
    let threshold = stores::get(app, &merchant_id, &product.store_id)
        .await
        .map(|s| s.low_stock_threshold)
        .unwrap_or(stores::DEFAULT_LOW_STOCK_THRESHOLD);
    json_response(StatusCode::OK, &product.view(threshold))
}
