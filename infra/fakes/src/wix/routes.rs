//! The fake's routes (sources: the parent module).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use wiremock::Request;

use super::catalog::Catalog;
use super::{FakeWix, State, WixCatalog};
use crate::failure::FailurePlan;
use crate::store_common::{Reply, StoreState, header, segments_after};

fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(
        status,
        json!({ "message": message, "details": { "applicationError": { "code": code, "description": message, "data": {} } } }),
    )
}

fn wrong_catalog(site: WixCatalog) -> Reply {
    let message = match site {
        WixCatalog::NotInstalled => "Wix Stores is not installed on this site".to_owned(),
        other => format!("This site uses the {other:?} catalog; call its API"),
    };
    error(428, "FAILED_PRECONDITION", &message)
}

/// A cursor names the next item and the query it continues (Wix's are opaque; following requests carry
/// only the cursor).
fn encode_cursor(offset: usize, ids: &Option<Vec<String>>) -> String {
    URL_SAFE_NO_PAD.encode(json!({ "offset": offset, "ids": ids }).to_string())
}

fn decode_cursor(cursor: &str) -> Option<(usize, Option<Vec<String>>)> {
    let cursor: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let ids = cursor["ids"].as_array().map(|ids| ids.iter().filter_map(|id| id.as_str().map(str::to_owned)).collect());
    Some((cursor["offset"].as_u64()? as usize, ids))
}

/// The ids a V3 filter names on `field` (`$eq` or `$in`); `Ok(None)`: no filter. Any other filter is
/// refused, as Wix refuses fields not declared filterable.
fn filter_ids(filter: &Value, field: &str) -> Result<Option<Vec<String>>, Reply> {
    let Some(filter) = filter.as_object().filter(|f| !f.is_empty()) else { return Ok(None) };
    let condition = filter.get(field).filter(|_| filter.len() == 1).ok_or_else(|| {
        error(
            400,
            "INVALID_ARGUMENT",
            &format!("Field '{}' is not declared as filterable", filter.keys().next().map_or("", |k| k.as_str())),
        )
    })?;
    let eq = condition.get("$eq").unwrap_or(condition).as_str();
    let ids = match (eq, condition.get("$in")) {
        (Some(id), _) => vec![id.to_owned()],
        (_, Some(Value::Array(ids))) => ids.iter().filter_map(|id| id.as_str().map(str::to_owned)).collect(),
        _ => return Err(error(400, "INVALID_ARGUMENT", "unsupported filter operator")),
    };
    Ok(Some(ids))
}

/// A V3 query's answer: one cursor page of the items (`items_of(i)`) of the live products the filter on
/// `field` names, as `{<key>: [...], "pagingMetadata": {count, cursors, hasNext}}` (Inventory Items' paging
/// metadata has no `hasNext`).
struct CursorQuery<'a> {
    max: u64,
    field: &'a str,
    key: &'a str,
    has_next: bool,
}

impl CursorQuery<'_> {
    fn answer(&self, body: &Value, catalog: &Catalog, items_of: impl Fn(u64) -> Vec<Value>) -> Reply {
        let query = &body["query"];
        let paging = &query["cursorPaging"];
        let limit = paging["limit"].as_u64().unwrap_or(self.max.min(100));
        if limit > self.max {
            return error(400, "INVALID_ARGUMENT", &format!("cursorPaging.limit must be at most {}", self.max));
        }
        let (offset, ids) = match paging["cursor"].as_str() {
            Some(cursor) => {
                if !query["filter"].is_null() || !query["sort"].is_null() {
                    return error(400, "INVALID_ARGUMENT", "a request with a cursor takes no filter or sort");
                }
                match decode_cursor(cursor) {
                    Some(position) => position,
                    None => return error(400, "INVALID_ARGUMENT", "invalid cursor"),
                }
            }
            None => match filter_ids(&query["filter"], self.field) {
                Ok(ids) => (0, ids),
                Err(reply) => return reply,
            },
        };
        let all: Vec<Value> = catalog
            .live()
            .into_iter()
            .filter(|&i| ids.as_ref().is_none_or(|ids| ids.contains(&FakeWix::product_id(i))))
            .flat_map(items_of)
            .collect();
        let end = (offset + limit as usize).min(all.len());
        let page = all.get(offset..end).unwrap_or_default();
        let more = end < all.len();
        let mut metadata = json!({ "count": page.len(), "cursors": {} });
        if more {
            metadata["cursors"]["next"] = json!(encode_cursor(end, &ids));
        }
        if self.has_next {
            metadata["hasNext"] = json!(more);
        }
        Reply::json(200, json!({ self.key: page, "pagingMetadata": metadata }))
    }
}

fn wants(body: &Value, field: &str) -> bool {
    body["fields"].as_array().is_some_and(|fields| fields.iter().any(|f| f == field))
}

impl State {
    fn catalog_route(&mut self, request: &Request, body: &Value, path: &[&str]) -> Option<Reply> {
        let method = request.method.as_str();
        let v1 = matches!((method, path), ("POST", ["stores-reader" | "stores", "v1", "products", "query"]));
        let v3 = matches!(path, ["stores", "v3", "products" | "inventory-items", ..]);
        if !v1 && !v3 {
            return None;
        }
        let site = self.version;
        if (v1 && site != WixCatalog::V1) || (v3 && site != WixCatalog::V3) {
            return Some(wrong_catalog(site));
        }
        let catalog = &self.catalog;
        let in_ids =
            |ids: &Option<Vec<String>>, i: u64| ids.as_ref().is_none_or(|ids| ids.contains(&FakeWix::product_id(i)));
        let reply = match (method, path) {
            (_, [_, "v1", "products", "query"]) => {
                let paging = &body["query"]["paging"];
                let limit = paging["limit"].as_u64().unwrap_or(50);
                if limit > 100 {
                    return Some(error(400, "INVALID_ARGUMENT", "paging.limit must be at most 100"));
                }
                // V1 takes the filter as a string of JSON.
                let filter = match &body["query"]["filter"] {
                    Value::Null => Value::Null,
                    Value::String(text) => match serde_json::from_str(text) {
                        Ok(filter) => filter,
                        Err(_) => return Some(error(400, "INVALID_ARGUMENT", "filter is not valid JSON")),
                    },
                    _ => return Some(error(400, "INVALID_ARGUMENT", "filter must be a string")),
                };
                let ids = match filter_ids(&filter, "id") {
                    Ok(ids) => ids,
                    Err(reply) => return Some(reply),
                };
                // Hidden products only when asked for.
                let hidden = body["includeHiddenProducts"] == json!(true);
                let matching: Vec<u64> =
                    catalog.live().into_iter().filter(|&i| in_ids(&ids, i) && (hidden || catalog.visible(i))).collect();
                let offset = paging["offset"].as_u64().unwrap_or(0) as usize;
                let end = (offset + limit as usize).min(matching.len());
                let include_variants = body["includeVariants"] == json!(true);
                let products: Vec<Value> = matching
                    .get(offset..end)
                    .unwrap_or_default()
                    .iter()
                    .map(|&i| catalog.v1_product(i, include_variants))
                    .collect();
                Reply::json(
                    200,
                    json!({
                        "products": products,
                        "metadata": { "items": products.len(), "offset": offset },
                        "totalResults": matching.len(),
                    }),
                )
            }
            ("POST", ["stores", "v3", "products", "query"]) => {
                let currency = wants(body, "CURRENCY");
                CursorQuery { max: 100, field: "id", key: "products", has_next: true }
                    .answer(body, catalog, |i| vec![catalog.v3_product(i, currency, None)])
            }
            ("POST", ["stores", "v3", "products", "query-variants"]) => {
                let currency = wants(body, "CURRENCY");
                CursorQuery { max: 1000, field: "productData.productId", key: "variants", has_next: true }.answer(
                    body,
                    catalog,
                    |i| catalog.v3_read_only_variants(i, currency),
                )
            }
            ("POST", ["stores", "v3", "inventory-items", "query"]) => {
                CursorQuery { max: 1000, field: "productId", key: "inventoryItems", has_next: false }.answer(
                    body,
                    catalog,
                    |i| catalog.v3_inventory_items(i),
                )
            }
            ("GET", ["stores", "v3", "products", id]) => match catalog.find(id) {
                Some(i) => {
                    let fields: Vec<String> =
                        request.url.query_pairs().filter(|(k, _)| k == "fields").map(|(_, v)| v.into_owned()).collect();
                    let has = |field: &str| fields.iter().any(|f| f == field);
                    Reply::json(
                        200,
                        json!({ "product": catalog.v3_product(i, has("CURRENCY"), Some(has("VARIANT_OPTION_CHOICE_NAMES"))) }),
                    )
                }
                None => error(404, "PRODUCT_NOT_FOUND", "Product not found"),
            },
            _ => error(404, "NOT_FOUND", "Not found"),
        };
        Some(reply)
    }
}

impl StoreState for State {
    fn requests(&mut self) -> &mut usize {
        &mut self.requests
    }

    fn failures(&mut self) -> &mut FailurePlan {
        &mut self.failures
    }

    fn failure_body(&self, status: u16) -> Value {
        if status == 429 {
            json!({ "message": "Too many requests", "details": { "applicationError": { "code": "TOO_MANY_REQUESTS", "description": "Too many requests", "data": {} } } })
        } else {
            json!({ "message": "Internal error", "details": {} })
        }
    }

    fn route(&mut self, request: &Request) -> Reply {
        self.calls.push(format!("{} {}", request.method, request.url.path()));
        if header(request, "authorization") != Some(self.api_key.as_str()) {
            return error(401, "UNAUTHENTICATED", "API key is invalid or missing");
        }
        if header(request, "wix-site-id") != Some(self.site_id.as_str()) {
            return error(403, "PERMISSION_DENIED", "The API key has no access to this site");
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let path = segments_after(request, "").unwrap_or_default();
        if let Some(reply) = self.catalog_route(request, &body, &path) {
            return reply;
        }
        match (request.method.as_str(), path.as_slice()) {
            ("GET", ["stores", "v3", "provision", "version"]) => {
                let version = match self.version {
                    WixCatalog::V1 => "V1_CATALOG",
                    WixCatalog::V3 => "V3_CATALOG",
                    WixCatalog::NotInstalled => "STORES_NOT_INSTALLED",
                };
                Reply::json(200, json!({ "catalogVersion": version }))
            }
            ("GET", ["site-properties", "v4", "properties"]) => Reply::json(
                200,
                json!({ "version": "7", "properties": { "siteDisplayName": "Fake Wix Shop", "paymentCurrency": "USD", "language": "en" } }),
            ),
            ("GET", ["ecom", "v1", "orders", id]) => match self.orders.get(*id) {
                Some(order) => Reply::json(
                    200,
                    json!({ "order": {
                        "id": id, "number": "10001", "currency": "USD",
                        "paymentStatus": if order.paid { "PAID" } else { "NOT_PAID" },
                        "priceSummary": { "total": { "amount": order.total, "formattedAmount": format!("${}", order.total) } },
                    } }),
                ),
                None => error(404, "ORDER_NOT_FOUND", "Order not found"),
            },
            ("POST", ["ecom", "v1", "payments", "orders", id, "add-payment"]) => {
                let Some(order) = self.orders.get_mut(*id) else {
                    return error(404, "ORDER_NOT_FOUND", "Order not found");
                };
                let payment = &body["payments"][0];
                let reference = payment["regularPaymentDetails"]["providerTransactionId"].as_str().unwrap_or_default();
                if payment["amount"]["amount"].as_str() != Some(order.total.as_str()) {
                    return error(400, "INVALID_ARGUMENT", "amount does not match the order balance");
                }
                order.paid = true;
                self.orders_marked_paid.push(((*id).to_owned(), reference.to_owned()));
                Reply::json(
                    200,
                    json!({ "orderTransactions": { "orderId": id, "payments": [payment] }, "paymentsIds": ["p-1"] }),
                )
            }
            _ => error(404, "NOT_FOUND", "Not found"),
        }
    }
}
