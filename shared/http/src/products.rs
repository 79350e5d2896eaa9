//! `products`: searching the synced catalog and setting prices kept in Pivota.

use std::collections::HashMap;

use http::StatusCode;
use lambda_http::Request;
use serde::Deserialize;

use super::merchants::own_merchant;
use super::request::{Params, json_body, json_response, limit, path_param};
use super::{HandlerResult, cursor, require_merchant};
use pivota::app::App;
use pivota::catalog::products::{self, Product};
use pivota::catalog::search;
use pivota::kernel::error::Error;
use pivota::kernel::money::MAX_AMOUNT_MINOR;
use pivota::kernel::validation::FieldErrors;
use pivota::onboarding::merchant::MerchantId;
use pivota::ports::{SearchCursor, SearchQuery, SearchSort};
use pivota::stores;

/// Search the catalog: by words of the title, variant titles, SKU, vendor or product type (the last word as
/// a prefix, longer words forgiving one typo, an exact SKU first), filtered and sorted, a page at a time.
#[utoipa::path(
    get, path = "/merchant/{merchant_id}/products", operation_id = "listProducts", tag = "products",
    params(
        ("merchant_id" = String, Path, description = "The merchant's id"),
        ("q" = Option<String>, Query, description = "Words to find (at most 200 characters); an exact SKU ranks its product first"),
        ("store_id" = Option<String>, Query, description = "Only this store's products"),
        ("status" = Option<String>, Query, pattern = "^(active|draft|archived|removed)$", description = "active, draft, archived or removed (default: all but removed)"),
        ("in_stock" = Option<bool>, Query, description = "true: some variant can be sold (untracked, or above zero); false: none can"),
        ("low_stock" = Option<bool>, Query, description = "true: only products at or below their store's threshold"),
        ("price_min" = Option<i64>, Query, minimum = 0, description = "Some variant costs at least this, minor units"),
        ("price_max" = Option<i64>, Query, minimum = 0, description = "Some variant costs at most this, minor units"),
        ("sort" = Option<String>, Query, pattern = "^(relevance|price_asc|price_desc|updated)$", description = "relevance (default), price_asc, price_desc (by the lowest variant price) or updated (latest first)"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 100 (default 20)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page (same query)"),
    ),
    security(("merchant_api_key" = [])),
    responses((status = 200, description = "{items: [...], next_cursor, total, total_is_lower_bound}"), (status = 400, description = "Invalid parameter", content_type = "application/problem+json"))
)]
pub async fn list(app: &App, req: &Request) -> HandlerResult {
    let caller = require_merchant(app, req).await?;
    let merchant_id = own_merchant(req, &caller)?;
    let page = search(app, &merchant_id, req).await?;
    let items: Vec<serde_json::Value> = page.products.iter().map(|p| p.view(page.threshold_of(p))).collect();
    json_response(
        StatusCode::OK,
        &serde_json::json!({
            "items": items,
            "next_cursor": page.next_cursor,
            "total": page.total,
            "total_is_lower_bound": page.total_is_lower_bound,
        }),
    )
}

/// One page of a product search.
pub struct SearchPage {
    pub products: Vec<Product>,
    /// Each connected store's low-stock threshold.
    pub thresholds: HashMap<String, i64>,
    /// Sealed: the `cursor` parameter of the next page, if there is one.
    pub next_cursor: Option<String>,
    pub total: u64,
    pub total_is_lower_bound: bool,
}

impl SearchPage {
    /// The low-stock threshold of the product's store.
    pub fn threshold_of(&self, product: &Product) -> i64 {
        self.thresholds.get(&product.store_id).copied().unwrap_or(stores::DEFAULT_LOW_STOCK_THRESHOLD)
    }
}

/// The merchant's products a search asks for (the parameters of `GET /merchant/{id}/products`, from a
/// query string or a tool call); each bad parameter is a 400 naming it.
pub async fn search(app: &App, merchant_id: &MerchantId, params: &impl Params) -> Result<SearchPage, Error> {
    let stores = stores::list(app, merchant_id).await?;
    let thresholds: HashMap<String, i64> = stores.iter().map(|s| (s.store_id.clone(), s.low_stock_threshold)).collect();
    let query = search_query(params, &thresholds)?;
    if let Some(id) = &query.store_id
        && !thresholds.contains_key(id)
    {
        return Err(Error::bad_parameter("store_id", "is not one of the merchant's connected stores"));
    }
    let (products, hits) = search::search_products(app, merchant_id, &query).await?;
    let next_cursor = hits.next.map(|at| cursor::seal_any(&SearchPosition { sort: query.sort, at }));
    Ok(SearchPage {
        products,
        thresholds,
        next_cursor,
        total: hits.total,
        total_is_lower_bound: hits.total_is_lower_bound,
    })
}

/// A search cursor: where the page ended, in the sort it was taken in.
#[derive(serde::Serialize, Deserialize)]
struct SearchPosition {
    sort: SearchSort,
    #[serde(flatten)]
    at: SearchCursor,
}

/// The search the query string asks for; each bad parameter is a 400 naming it.
fn search_query(params: &impl Params, thresholds: &HashMap<String, i64>) -> Result<SearchQuery, Error> {
    let status = params
        .param("status")
        .map(|s| match s {
            "active" | "draft" | "archived" | "removed" => Ok(s.to_owned()),
            _ => Err(Error::bad_parameter("status", "must be one of active, draft, archived, removed")),
        })
        .transpose()?;
    let text = params.param("q").map(str::trim).filter(|q| !q.is_empty()).map(str::to_owned);
    if text.as_ref().is_some_and(|q| q.chars().count() > 200) {
        return Err(Error::bad_parameter("q", "must be at most 200 characters"));
    }
    let price = |name: &str| {
        params
            .param(name)
            .map(|raw| {
                raw.parse::<i64>().ok().filter(|p| (0..=MAX_AMOUNT_MINOR).contains(p)).ok_or_else(|| {
                    Error::bad_parameter(name, format!("must be an integer from 0 to {MAX_AMOUNT_MINOR} (minor units)"))
                })
            })
            .transpose()
    };
    let (price_min, price_max) = (price("price_min")?, price("price_max")?);
    if let (Some(min), Some(max)) = (price_min, price_max)
        && min > max
    {
        return Err(Error::bad_parameter("price_max", "must not be below price_min"));
    }
    let sort = match params.param("sort") {
        None | Some("relevance") => SearchSort::Relevance,
        Some("price_asc") => SearchSort::PriceAsc,
        Some("price_desc") => SearchSort::PriceDesc,
        Some("updated") => SearchSort::Updated,
        Some(_) => {
            return Err(Error::bad_parameter("sort", "must be one of relevance, price_asc, price_desc, updated"));
        }
    };
    let after = match params.param("cursor").filter(|c| !c.is_empty()) {
        None => None,
        Some(raw) => {
            let position: SearchPosition = cursor::open_any(raw)?;
            if position.sort != sort {
                return Err(Error::bad_parameter("cursor", "belongs to a search with another sort"));
            }
            Some(position.at)
        }
    };
    Ok(SearchQuery {
        text,
        store_id: params.param("store_id").map(str::to_owned),
        status,
        in_stock: bool_param(params, "in_stock")?,
        low_stock: bool_param(params, "low_stock")?,
        thresholds: thresholds.iter().map(|(store, threshold)| (store.clone(), *threshold)).collect(),
        default_threshold: stores::DEFAULT_LOW_STOCK_THRESHOLD,
        price_min,
        price_max,
        sort,
        limit: limit(params)?,
        after,
    })
}

fn bool_param(params: &impl Params, name: &str) -> Result<Option<bool>, Error> {
    params
        .param(name)
        .map(|v| match v {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(Error::bad_parameter(name, "must be true or false")),
        })
        .transpose()
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
