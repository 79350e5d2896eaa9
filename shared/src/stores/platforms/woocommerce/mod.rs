//! WooCommerce: the WordPress REST API, namespace `wc/v3`, under the store's own URL (which may be a
//! WordPress subdirectory, e.g. `https://example.com/shop`).
//!
//! Sources: WooCommerce REST API docs (https://woocommerce.github.io/woocommerce-rest-api-docs/, source
//! `woocommerce/woocommerce-rest-api-docs`, `source/includes/wp-api-v3/`): "Authentication" (over HTTPS the
//! consumer key and secret are sent as HTTP Basic auth), "Pagination" (`per_page` at most 100, `page`, and
//! the `X-WP-Total` / `X-WP-TotalPages` / `Link` headers), "Errors" (`{"code", "message", "data":
//! {"status"}}`, e.g. 401 `woocommerce_rest_cannot_view` "Sorry, you cannot list resources."), and one
//! section per route Pivota calls ([`Route`] builds them; a unit test holds each to the path its section's
//! "HTTP request" heading documents):
//!
//! | route | docs section |
//! |---|---|
//! | `GET /wp-json/wc/v3/products` | Products, "List all products" (`orderby=id`, `order=asc`; `price` is a decimal string; `type` `variable` lists variation ids only) |
//! | `GET /wp-json/wc/v3/products/<product_id>/variations` | Product variations, "List all product variations" |
//! | `GET /wp-json/wc/v3/settings/general/woocommerce_currency` | Setting options, "Retrieve a setting option" (`/settings/<group_id>/<id>`; the example group `general` lists `woocommerce_currency`) |
//! | `GET`, `POST /wp-json/wc/v3/webhooks` | Webhooks, "List all webhooks", "Create a webhook" (`name`, `topic`, `delivery_url`, `secret`) |
//! | `PUT`, `DELETE /wp-json/wc/v3/webhooks/<id>` | Webhooks, "Update a webhook", "Delete a webhook" (`force=true`) |
//! | `PUT /wp-json/wc/v3/orders/<id>` | Orders, "Update an order" (`set_paid`, `transaction_id`) |
//!
//! "Update a webhook" heads its section `/wp-json/wc/v3/webhook/<id>`, singular: a typo. Its own example's
//! `_links` say `webhooks/142`, and the controller registers one route base, `webhooks`, for every method
//! (`WC_REST_Webhooks_V1_Controller::$rest_base`, which v2 and v3 extend). The site's name comes from the
//! WordPress REST index, `GET /wp-json/` with `_fields=name` (WordPress REST API Handbook, "Global
//! Parameters": https://developer.wordpress.org/rest-api/using-the-rest-api/global-parameters/).
//!
//! Deliveries: WooCommerce's `WC_Webhook::deliver` (woocommerce/woocommerce, `includes/class-wc-webhook.php`)
//! sends `X-WC-Webhook-Topic`, `-Resource`, `-Event`, `-ID`, `-Delivery-ID`, `-Source` and
//! `X-WC-Webhook-Signature` = base64(HMAC-SHA256(secret, body)), and `deliver_ping` posts the bare form body
//! `webhook_id=<id>` with none of those headers when a webhook is saved.
//!
//! Throttling. WooCommerce core does not rate-limit this API: its only limiter is the Store API's (`wc/store`,
//! opt-in, for writes; https://developer.woocommerce.com/docs/apis/store-api/rate-limiting), and the docs
//! above name no 429. Hosts, CDNs and security plugins in front of WordPress do throttle, with a 429 and
//! usually a `Retry-After` (RFC 6585 §4). So a throttled request is retried alone after its `Retry-After`
//! (`store_http::send_retrying`: bounded attempts, a cap on the wait, never past the caller's deadline), and
//! what a catalog page already fetched is kept: when the page cannot finish in time, the products completed
//! so far (in id order) are returned with a cursor after the last of them and a wait.
//!
//! No vendor or product type. The REST product (Products, "Product properties") has no vendor field, and
//! its `type` is `simple`, `grouped`, `external` or `variable`: how the product is built, not a merchant's
//! category (those are `categories`, a list, not one type). WooCommerce's Brands feature adds a `brands`
//! list to `/products` answers ("Brands REST API", woocommerce.com's Product Brands documentation), but the
//! REST API docs above do not describe it, so it is not read yet.
//!
//! Why the currency comes from `settings/general/woocommerce_currency`: it is one setting, read by id, while
//! `system_status` builds a whole environment report (database, plugins, theme) on every call. The products
//! API does not say the currency, so it is a per-job fact: the first catalog call reads it and every cursor
//! after carries it ([`Cursor`]), so a job reads it once.

use std::time::Instant;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use super::store_http::{
    WOOCOMMERCE_BODY_LIMIT, decimal_to_minor, read_body, redact, retry_after, send_retrying, status_error,
    verify_signed_delivery,
};
use super::{
    Customer, Delivery, DeliveryTopic, ExternalOrder, ExternalProduct, OrderLine, PlatformError, StoreCredentials,
    StoreEndpoint, StoreWebhooks, WebhookError, WebhookSubscription, WebhookTopic,
};
use crate::kernel::money::Currency;

mod catalog;
mod profile;
mod webhooks;

use catalog::{WooProduct, non_empty, normalise};

const NAME: &str = "WooCommerce";
/// The largest page the API serves ("Pagination": `per_page` is capped at 100).
const PER_PAGE: u32 = 100;

#[derive(Clone, Copy, Debug, Default)]
pub struct WooCommerce;

/// Every REST route Pivota calls (the table in the module doc says where each is documented).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Products,
    Variations { product: u64 },
    CurrencySetting,
    Webhooks,
    Webhook { id: u64 },
    Order { id: u64 },
}

impl Route {
    fn path(self) -> String {
        match self {
            Route::Products => "products".to_owned(),
            Route::Variations { product } => format!("products/{product}/variations"),
            Route::CurrencySetting => "settings/general/woocommerce_currency".to_owned(),
            Route::Webhooks => "webhooks".to_owned(),
            Route::Webhook { id } => format!("webhooks/{id}"),
            Route::Order { id } => format!("orders/{id}"),
        }
    }

    fn url(self, base: &Url) -> String {
        format!("{}/wp-json/wc/v3/{}", base.as_str().trim_end_matches('/'), self.path())
    }
}

/// The deadline of a call that does not wait out a throttled answer itself: connecting (a person is
/// waiting for the answer), webhook set-up and write-back (their callers retry).
fn without_waiting() -> Instant {
    Instant::now()
}

/// The consumer key and secret, from their own fields or from `api_token` as `ck_…:cs_…`.
struct Keys<'a> {
    key: &'a str,
    secret: &'a str,
}

impl<'a> Keys<'a> {
    fn of(credentials: &'a StoreCredentials) -> Result<Self, PlatformError> {
        if let (Some(key), Some(secret)) = (&credentials.consumer_key, &credentials.consumer_secret) {
            return Ok(Self { key: key.expose_secret(), secret: secret.expose_secret() });
        }
        match credentials.api_token.expose_secret().split_once(':') {
            Some((key, secret)) if !key.is_empty() && !secret.is_empty() => Ok(Self { key, secret }),
            _ => Err(PlatformError::Invalid {
                reason: "WooCommerce needs a consumer key and secret (or `ck_…:cs_…` as the token)".into(),
            }),
        }
    }
}

/// A successful answer.
struct Answer {
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json<T: for<'de> Deserialize<'de>>(&self, what: &str) -> Result<T, PlatformError> {
        serde_json::from_slice(&self.body).map_err(|error| PlatformError::Invalid {
            reason: format!("WooCommerce {what} was not understood: {error}"),
        })
    }

    fn total_pages(&self) -> Option<u32> {
        self.headers.get("x-wp-totalpages")?.to_str().ok()?.trim().parse().ok()
    }

    /// Whether a list has pages after `page`, which held `count` items: `X-WP-TotalPages` when sent, else
    /// whether the page was full.
    fn more_after(&self, page: u32, count: usize) -> bool {
        match self.total_pages() {
            Some(total) => page < total,
            None => count == PER_PAGE as usize,
        }
    }

    fn total(&self) -> Option<u64> {
        self.headers.get("x-wp-total")?.to_str().ok()?.trim().parse().ok()
    }
}

/// WooCommerce's error body.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

fn error_reason(body: &[u8], keys: &Keys<'_>) -> String {
    let reason = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { code: Some(code), message: Some(message) }) => format!("{message} ({code})"),
        Ok(ErrorBody { message: Some(message), .. }) => message,
        Ok(ErrorBody { code: Some(code), .. }) => code,
        _ => "no error message".to_owned(),
    };
    redact(&reason, &[keys.key, keys.secret])
}

/// Sends `request` with the keys, retrying it alone while it is throttled and the retry starts before
/// `deadline`.
async fn call(
    request: reqwest::RequestBuilder,
    keys: &Keys<'_>,
    not_found_ok: bool,
    deadline: Instant,
) -> Result<Option<Answer>, PlatformError> {
    let request = request.basic_auth(keys.key, Some(keys.secret)).header(reqwest::header::ACCEPT, "application/json");
    let response = send_retrying(NAME, request, deadline).await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = read_body(NAME, response, WOOCOMMERCE_BODY_LIMIT).await?;
    match status {
        200..=299 => Ok(Some(Answer { headers, body })),
        404 | 410 if not_found_ok => Ok(None),
        _ => Err(status_error(NAME, status, retry_after(&headers), error_reason(&body, keys))),
    }
}

async fn get(
    endpoint: &StoreEndpoint,
    keys: &Keys<'_>,
    route: Route,
    query: &[(&str, String)],
    deadline: Instant,
) -> Result<Answer, PlatformError> {
    let request = endpoint.http.get(route.url(&endpoint.base)).query(query);
    Ok(call(request, keys, false, deadline).await?.expect("only a not-found-ok call answers None"))
}

/// Every item of a list (`what`, for errors), page by page, `PER_PAGE` at a time; `ordered` sorts by id, ascending.
async fn all_pages<T: serde::de::DeserializeOwned>(
    endpoint: &StoreEndpoint,
    keys: &Keys<'_>,
    route: Route,
    ordered: bool,
    what: &str,
    deadline: Instant,
) -> Result<Vec<T>, PlatformError> {
    let mut all = Vec::new();
    let mut page = 1;
    loop {
        let mut query = vec![("per_page", PER_PAGE.to_string()), ("page", page.to_string())];
        if ordered {
            query.extend([("orderby", "id".to_owned()), ("order", "asc".to_owned())]);
        }
        let answer = get(endpoint, keys, route, &query, deadline).await?;
        let batch: Vec<T> = answer.json(what)?;
        let more = answer.more_after(page, batch.len());
        all.extend(batch);
        if !more {
            return Ok(all);
        }
        page += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fills a documented path's `<placeholder>`s.
    fn filled(documented: &str, values: &[(&str, &str)]) -> String {
        values.iter().fold(documented.to_owned(), |path, (name, value)| path.replace(&format!("<{name}>"), value))
    }

    #[test]
    fn every_route_is_the_path_its_docs_section_documents() {
        // Each "HTTP request" heading of https://woocommerce.github.io/woocommerce-rest-api-docs/, verbatim.
        let documented = [
            (Route::Products, "/wp-json/wc/v3/products", vec![]),
            (
                Route::Variations { product: 22 },
                "/wp-json/wc/v3/products/<product_id>/variations",
                vec![("product_id", "22")],
            ),
            (
                Route::CurrencySetting,
                "/wp-json/wc/v3/settings/<group_id>/<id>",
                vec![("group_id", "general"), ("id", "woocommerce_currency")],
            ),
            (Route::Webhooks, "/wp-json/wc/v3/webhooks", vec![]),
            // "Retrieve a webhook" and "Delete a webhook" (the "Update" heading's `webhook/` is a typo; see above).
            (Route::Webhook { id: 142 }, "/wp-json/wc/v3/webhooks/<id>", vec![("id", "142")]),
            (Route::Order { id: 727 }, "/wp-json/wc/v3/orders/<id>", vec![("id", "727")]),
        ];
        for base in ["https://example.com", "https://example.com/", "https://example.com/shop/"] {
            let site = base.trim_end_matches('/');
            for (route, path, values) in &documented {
                let expected = format!("{site}{}", filled(path, values));
                assert_eq!(route.url(&Url::parse(base).unwrap()), expected, "{route:?}");
            }
        }
    }
}
