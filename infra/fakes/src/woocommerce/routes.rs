//! The fake WooCommerce store's answers: routing, auth, pagination, the catalog's JSON, webhooks and orders.
//!
//! Wire details reproduced, and where they come from (WooCommerce REST API docs,
//! https://woocommerce.github.io/woocommerce-rest-api-docs/, source `woocommerce/woocommerce-rest-api-docs`,
//! `source/includes/wp-api-v3/`, and WordPress's REST server):
//! - Routes served, each the path of its docs section's "HTTP request" heading: `GET /products` ("List all
//!   products"), `GET /products/<product_id>/variations` ("List all product variations"),
//!   `GET /settings/general/woocommerce_currency` ("Retrieve a setting option", `/settings/<group_id>/<id>`;
//!   the body has the documented `id`, `label`, `description`, `type`, `default`, `options` and `value`),
//!   `GET`/`POST /webhooks` ("List all webhooks", "Create a webhook"), `PUT`/`DELETE /webhooks/<id>`
//!   ("Update a webhook", whose heading misspells the path `webhook/<id>` while its example's `_links` and
//!   WooCommerce's controller use `webhooks`; "Delete a webhook"), `PUT /orders/<id>` ("Update an order"),
//!   and WordPress's index `GET /wp-json/`. Anything else is WordPress's 404 `rest_no_route`.
//! - HTTP Basic auth with the consumer key and secret (or `consumer_key`/`consumer_secret` query
//!   parameters). No credentials: 401 `woocommerce_rest_cannot_view` "Sorry, you cannot list
//!   resources."; an unknown key: 401 `woocommerce_rest_authentication_error` "Consumer key is
//!   invalid."; a wrong secret: "Consumer secret is invalid.". Errors are `{"code", "message", "data":
//!   {"status"}}` ("Errors").
//! - Lists take `per_page` (1–100, else 400 `rest_invalid_param`) and `page`, and answer `X-WP-Total`,
//!   `X-WP-TotalPages` and a `Link` header with `rel="prev"`/`rel="next"` ("Pagination"); a page past the
//!   last is 400 `rest_post_invalid_page_number`. Products are ordered by id ascending.
//! - Webhooks: create (`name`, `topic`, `delivery_url`, `secret`, `status`), update, and delete, which
//!   needs `force=true` (else 501 `woocommerce_rest_trash_not_supported`); an unknown id is 404
//!   `woocommerce_rest_webhook_invalid_id`.
//! - `PUT /orders/{id}` with `set_paid` and `transaction_id` is recorded; an unknown order is 404
//!   `woocommerce_rest_shop_order_invalid_id`.
//! - Injected 5xx answer WordPress's REST fatal-error body (`internal_server_error`).
//! - Throttling is not WooCommerce's: its docs' "Errors" list 400, 401, 404 and 500 only, and core's one rate
//!   limiter guards the Store API (`wc/store`, opt-in, writes only:
//!   https://developer.woocommerce.com/docs/apis/store-api/rate-limiting). Hosts, CDNs and security plugins
//!   in front of WordPress answer 429 with a `Retry-After` (RFC 6585 §4), each with a body of its own; the
//!   fake's `rest_too_many_requests` JSON is a stand-in, and Pivota reads only the status and
//!   `Retry-After`. [`FakeWooCommerce::fail_every`] makes such a host throttle steadily (every nth request).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use wiremock::Request;

use super::{FakeWooCommerce, State, WooWebhook};
use crate::failure::FailurePlan;
use crate::store_common::{Reply, StoreState, header, query, segments_after};

fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(status, json!({ "code": code, "message": message, "data": { "status": status } }))
}

impl State {
    fn authorised(&self, request: &Request) -> Result<(), Reply> {
        let basic = header(request, "authorization")
            .and_then(|value| value.strip_prefix("Basic "))
            .and_then(|encoded| BASE64.decode(encoded.trim()).ok())
            .and_then(|decoded| String::from_utf8(decoded).ok())
            .and_then(|pair| pair.split_once(':').map(|(k, s)| (k.to_owned(), s.to_owned())));
        let given = basic.or_else(|| Some((query(request, "consumer_key")?, query(request, "consumer_secret")?)));
        match given {
            None => Err(error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")),
            Some((key, _)) if key != self.key => {
                Err(error(401, "woocommerce_rest_authentication_error", "Consumer key is invalid."))
            }
            Some((_, secret)) if secret != self.secret => {
                Err(error(401, "woocommerce_rest_authentication_error", "Consumer secret is invalid."))
            }
            Some(_) => Ok(()),
        }
    }

    fn product(&self, id: u64) -> Value {
        let variable = FakeWooCommerce::is_variable(id);
        let price = |minor: i64| format!("{}.{:02}", minor / 100, minor % 100);
        let own_price = if variable {
            price(FakeWooCommerce::expected_price_minor(id, Some(0)))
        } else {
            price(FakeWooCommerce::expected_price_minor(id, None))
        };
        json!({
            "id": id,
            "name": format!("Product {id}"),
            "slug": format!("product-{id}"),
            "type": if variable { "variable" } else { "simple" },
            "status": if id.is_multiple_of(7) { "draft" } else { "publish" },
            "sku": format!("SKU-{id}"),
            "price": own_price,
            "regular_price": if variable { String::new() } else { own_price.clone() },
            "manage_stock": !variable,
            "stock_quantity": if variable { Value::Null } else { json!(id % 20) },
            "images": [{ "id": 1000 + id, "src": format!("https://shop.example/wp-content/uploads/p{id}.jpg") }],
            "date_modified": format!("2024-01-01T{:02}:{:02}:00", id / 60 % 24, id % 60),
            "date_modified_gmt": format!("2024-01-01T{:02}:{:02}:00", id / 60 % 24, id % 60),
            "variations": if variable { json!((0..3).map(|k| FakeWooCommerce::variation_id(id, k)).collect::<Vec<_>>()) } else { json!([]) },
        })
    }

    fn variation(&self, product: u64, k: u64) -> Value {
        let minor = FakeWooCommerce::expected_price_minor(product, Some(k));
        let size = ["S", "M", "L"][k as usize];
        json!({
            "id": FakeWooCommerce::variation_id(product, k),
            "sku": format!("SKU-{product}-{size}"),
            "price": format!("{}.{:02}", minor / 100, minor % 100),
            "regular_price": format!("{}.{:02}", minor / 100, minor % 100),
            "status": "publish",
            "stock_quantity": k * 5,
            "attributes": [{ "id": 1, "name": "Size", "option": size }],
        })
    }

    fn webhook_json(hook: &WooWebhook) -> Value {
        let (resource, event) = hook.topic.split_once('.').unwrap_or((&hook.topic, ""));
        json!({
            "id": hook.id, "name": hook.name, "status": hook.status, "topic": hook.topic,
            "resource": resource, "event": event, "delivery_url": hook.delivery_url,
            "date_created": "2024-01-01T00:00:00", "date_created_gmt": "2024-01-01T00:00:00",
        })
    }
}

/// A page of `items` (all of them, in order) as WordPress serves it, with its headers.
fn paged(request: &Request, items: Vec<Value>) -> Reply {
    let per_page = match query(request, "per_page").map(|raw| raw.parse::<usize>()) {
        None => 10,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        _ => return error(400, "rest_invalid_param", "Invalid parameter(s): per_page"),
    };
    let page = match query(request, "page").map(|raw| raw.parse::<usize>()) {
        None => 1,
        Some(Ok(n)) if n >= 1 => n,
        _ => return error(400, "rest_invalid_param", "Invalid parameter(s): page"),
    };
    let total = items.len();
    let total_pages = total.div_ceil(per_page);
    if page > total_pages && total > 0 {
        return error(
            400,
            "rest_post_invalid_page_number",
            "The page number requested is larger than the number of pages available.",
        );
    }
    let body: Vec<Value> = items.into_iter().skip((page - 1) * per_page).take(per_page).collect();
    let link_to = |target: usize| {
        let mut url = request.url.clone();
        let pairs: Vec<(String, String)> = request
            .url
            .query_pairs()
            .filter(|(k, _)| k != "page")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs).append_pair("page", &target.to_string());
        url.to_string()
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("<{}>; rel=\"prev\"", link_to(page - 1)));
    }
    if page < total_pages {
        links.push(format!("<{}>; rel=\"next\"", link_to(page + 1)));
    }
    let mut reply = Reply::json(200, Value::Array(body))
        .header("x-wp-total", total.to_string())
        .header("x-wp-totalpages", total_pages.to_string());
    if !links.is_empty() {
        reply = reply.header("link", links.join(", "));
    }
    reply
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
            json!({ "code": "rest_too_many_requests", "message": "Too many requests.", "data": { "status": 429 } })
        } else {
            json!({
                "code": "internal_server_error",
                "message": "<p>There has been a critical error on this website.</p>",
                "data": { "status": 500 },
            })
        }
    }

    fn route(&mut self, request: &Request) -> Reply {
        let method = request.method.as_str();
        if request.url.path().trim_end_matches('/') == "/wp-json" && method == "GET" {
            return Reply::json(
                200,
                json!({ "name": self.site_name, "description": "", "url": "https://shop.example" }),
            );
        }
        let Some(segments) = segments_after(request, "/wp-json/wc/v3") else {
            return error(404, "rest_no_route", "No route was found matching the URL and request method.");
        };
        if let Err(reply) = self.authorised(request) {
            return reply;
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        match (method, segments.as_slice()) {
            ("GET", ["products"]) => {
                let items = (1..=self.products).map(|id| self.product(id)).collect();
                paged(request, items)
            }
            ("GET", ["products", id, "variations"]) => match id.parse::<u64>() {
                Ok(id) if id >= 1 && id <= self.products => {
                    let items = if FakeWooCommerce::is_variable(id) {
                        (0..3).map(|k| self.variation(id, k)).collect()
                    } else {
                        Vec::new()
                    };
                    paged(request, items)
                }
                _ => error(404, "woocommerce_rest_product_invalid_id", "Invalid ID."),
            },
            ("GET", ["settings", "general", "woocommerce_currency"]) => {
                self.currency_reads += 1;
                Reply::json(
                    200,
                    json!({
                        "id": "woocommerce_currency",
                        "label": "Currency",
                        "description": "This controls what currency prices are listed at in the catalog and which currency gateways will take payments in.",
                        "type": "select",
                        "default": "GBP",
                        "options": { "EUR": "Euro (&euro;)", "GBP": "Pound sterling (&pound;)", "USD": "United States (US) dollar (&#36;)" },
                        "value": self.currency,
                    }),
                )
            }
            ("GET", ["webhooks"]) => paged(request, self.webhooks.values().map(State::webhook_json).collect()),
            ("POST", ["webhooks"]) => {
                let topic = body["topic"].as_str().unwrap_or_default().to_owned();
                let delivery_url = body["delivery_url"].as_str().unwrap_or_default().to_owned();
                if !["order.created", "order.updated", "product.created", "product.updated"].contains(&topic.as_str()) {
                    return error(400, "rest_invalid_param", "Invalid parameter(s): topic");
                }
                if delivery_url.is_empty() {
                    return error(400, "rest_missing_callback_param", "Missing parameter(s): delivery_url");
                }
                let id = self.next_webhook_id;
                self.next_webhook_id += 1;
                let hook = WooWebhook {
                    id,
                    name: body["name"].as_str().unwrap_or("Webhook").to_owned(),
                    topic,
                    delivery_url,
                    secret: body["secret"].as_str().unwrap_or_default().to_owned(),
                    status: body["status"].as_str().unwrap_or("active").to_owned(),
                };
                let reply = Reply::json(201, State::webhook_json(&hook));
                self.webhooks.insert(id, hook);
                self.webhooks_created += 1;
                reply
            }
            ("PUT", ["webhooks", id]) => {
                let Some(hook) = id.parse::<u64>().ok().and_then(|id| self.webhooks.get_mut(&id)) else {
                    return error(404, "woocommerce_rest_webhook_invalid_id", "Invalid ID.");
                };
                if let Some(status) = body["status"].as_str() {
                    hook.status = status.to_owned();
                }
                if let Some(secret) = body["secret"].as_str() {
                    hook.secret = secret.to_owned();
                }
                Reply::json(200, State::webhook_json(hook))
            }
            ("DELETE", ["webhooks", id]) => {
                if query(request, "force").as_deref() != Some("true") {
                    return error(501, "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.");
                }
                match id.parse::<u64>().ok().and_then(|id| self.webhooks.remove(&id)) {
                    Some(hook) => {
                        self.webhooks_deleted.push(hook.id);
                        Reply::json(200, State::webhook_json(&hook))
                    }
                    None => error(404, "woocommerce_rest_webhook_invalid_id", "Invalid ID."),
                }
            }
            ("PUT", ["orders", id]) => {
                let Some(id) = id.parse::<u64>().ok().filter(|id| self.orders.contains(id)) else {
                    return error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.");
                };
                if body["set_paid"] == json!(true) {
                    let transaction = body["transaction_id"].as_str().unwrap_or_default().to_owned();
                    self.orders_marked_paid.push((id.to_string(), transaction.clone()));
                }
                Reply::json(200, json!({ "id": id, "status": "processing", "transaction_id": body["transaction_id"] }))
            }
            _ => error(404, "rest_no_route", "No route was found matching the URL and request method."),
        }
    }
}
