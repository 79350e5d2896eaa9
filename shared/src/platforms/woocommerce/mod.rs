//! WooCommerce: the WordPress REST API, namespace `wc/v3`, under the store's own URL (which may be a
//! WordPress subdirectory, e.g. `https://example.com/shop`).
//!
//! Sources: WooCommerce REST API docs (https://woocommerce.github.io/woocommerce-rest-api-docs/):
//! "Authentication" (over HTTPS the consumer key and secret are sent as HTTP Basic auth), "Pagination"
//! (`per_page` at most 100, `page`, and the `X-WP-Total` / `X-WP-TotalPages` / `Link` headers), "Errors"
//! (`{"code", "message", "data": {"status"}}`, e.g. 401 `woocommerce_rest_cannot_view` "Sorry, you cannot
//! list resources."), "Products" (`orderby=id`, `order=asc`; `price` is a decimal string; `type`
//! `variable` lists variation ids only), "Product variations" (`/products/{id}/variations`), "Setting
//! options" (`/settings/general/woocommerce_currency`), "Webhooks" (create with `name`, `topic`,
//! `delivery_url`, `secret`; delete with `force=true`), "Orders" (update with `set_paid` and
//! `transaction_id`). Deliveries: WooCommerce's `WC_Webhook::deliver` (woocommerce/woocommerce,
//! `includes/class-wc-webhook.php`) sends `X-WC-Webhook-Topic`, `-Resource`, `-Event`, `-ID`,
//! `-Delivery-ID`, `-Source` and `X-WC-Webhook-Signature` = base64(HMAC-SHA256(secret, body)), and
//! `deliver_ping` posts the bare form body `webhook_id=<id>` with none of those headers when a webhook
//! is saved.
//!
//! Why the currency comes from `settings/general/woocommerce_currency`: it is one setting, read by id,
//! while `system_status` builds a whole environment report (database, plugins, theme) on every call.
//! The products API does not say the currency, so the first catalog page reads it and carries it in the
//! page cursor (`"<page>:<currency>"`), which the sync treats as opaque.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures::{StreamExt, TryStreamExt};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Value, json};
use time::{OffsetDateTime, PrimitiveDateTime};
use url::Url;

use super::store_http::{
    WOOCOMMERCE_BODY_LIMIT, decimal_to_minor, read_body, redact, retry_after, send_failure, status_error,
    verify_signed_delivery,
};
use super::{
    Customer, Delivery, DeliveryTopic, ExternalOrder, ExternalProduct, ExternalVariant, OrderLine, Platform,
    PlatformError, ProductPage, StoreCredentials, StoreEndpoint, StoreInfo, StorePlatform, StoreWebhooks, WebhookError,
    WebhookSubscription, WebhookTopic,
};
use crate::money::Currency;

const NAME: &str = "WooCommerce";
/// The largest page the API serves ("Pagination": `per_page` is capped at 100).
const PER_PAGE: u32 = 100;
/// Variable products whose variations are read at the same time.
const VARIATION_READS_IN_PARALLEL: usize = 4;

#[derive(Clone, Copy, Debug, Default)]
pub struct WooCommerce;

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

fn api_url(base: &Url, path: &str) -> String {
    format!("{}/wp-json/wc/v3/{path}", base.as_str().trim_end_matches('/'))
}

async fn call(
    request: reqwest::RequestBuilder,
    keys: &Keys<'_>,
    not_found_ok: bool,
) -> Result<Option<Answer>, PlatformError> {
    let response = request
        .basic_auth(keys.key, Some(keys.secret))
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|error| send_failure(NAME, &error))?;
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
    path: &str,
    query: &[(&str, String)],
) -> Result<Answer, PlatformError> {
    let request = endpoint.http.get(api_url(&endpoint.base, path)).query(query);
    Ok(call(request, keys, false).await?.expect("only a not-found-ok call answers None"))
}

/// Every item of a list (`what`, for errors), page by page, `PER_PAGE` at a time; `ordered` sorts by id, ascending.
async fn all_pages<T: serde::de::DeserializeOwned>(
    endpoint: &StoreEndpoint,
    keys: &Keys<'_>,
    path: &str,
    ordered: bool,
    what: &str,
) -> Result<Vec<T>, PlatformError> {
    let mut all = Vec::new();
    let mut page = 1;
    loop {
        let mut query = vec![("per_page", PER_PAGE.to_string()), ("page", page.to_string())];
        if ordered {
            query.extend([("orderby", "id".to_owned()), ("order", "asc".to_owned())]);
        }
        let answer = get(endpoint, keys, path, &query).await?;
        let batch: Vec<T> = answer.json(what)?;
        let more = answer.more_after(page, batch.len());
        all.extend(batch);
        if !more {
            return Ok(all);
        }
        page += 1;
    }
}

#[derive(Deserialize)]
struct Setting {
    value: String,
}

async fn store_currency(endpoint: &StoreEndpoint, keys: &Keys<'_>) -> Result<Currency, PlatformError> {
    let setting: Setting =
        get(endpoint, keys, "settings/general/woocommerce_currency", &[]).await?.json("currency setting")?;
    Currency::parse(&setting.value).map_err(|_| PlatformError::Invalid {
        reason: format!("WooCommerce's currency {:?} is not an ISO 4217 currency", setting.value),
    })
}

/// The site title from the WordPress REST index (`GET /wp-json`, `_fields=name` so the route list is not
/// sent back); the host when that is not available. Best effort: the index may be disabled.
async fn site_name(endpoint: &StoreEndpoint) -> String {
    let url = format!("{}/wp-json/", endpoint.base.as_str().trim_end_matches('/'));
    #[derive(Deserialize)]
    struct Index {
        name: String,
    }
    let name = async {
        let response = endpoint.http.get(url).query(&[("_fields", "name")]).send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        // `_fields=name` makes this a few bytes; a site that ignores it sends its whole route list, which is
        // not worth more than a MiB for a display name.
        let index: Index = serde_json::from_slice(&read_body(NAME, response, 1024 * 1024).await.ok()?).ok()?;
        Some(index.name.trim().to_owned()).filter(|name| !name.is_empty())
    };
    match name.await {
        Some(name) => name,
        None => endpoint.base.host_str().unwrap_or("WooCommerce store").to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------------
// Catalog
// ---------------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct WooProduct {
    id: u64,
    name: String,
    #[serde(rename = "type", default)]
    kind: String,
    status: String,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    price: Option<String>,
    #[serde(default)]
    stock_quantity: Option<i64>,
    #[serde(default)]
    images: Vec<WooImage>,
    #[serde(default)]
    date_modified_gmt: Option<String>,
}

#[derive(Deserialize)]
struct WooImage {
    src: String,
}

#[derive(Deserialize)]
struct WooVariation {
    id: u64,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    price: Option<String>,
    #[serde(default)]
    stock_quantity: Option<i64>,
    #[serde(default)]
    attributes: Vec<WooAttribute>,
}

#[derive(Deserialize)]
struct WooAttribute {
    #[serde(default)]
    option: String,
}

/// `publish` is live; `draft`, `pending` and `private` are not visible to shoppers.
fn product_status(status: &str) -> &'static str {
    match status {
        "publish" => "active",
        "trash" => "archived",
        _ => "draft",
    }
}

/// `date_modified_gmt` is ISO 8601 without an offset, in UTC.
fn gmt_time(raw: Option<&str>) -> Option<OffsetDateTime> {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    PrimitiveDateTime::parse(raw?, format).ok().map(PrimitiveDateTime::assume_utc)
}

fn non_empty(sku: Option<String>) -> Option<String> {
    sku.filter(|sku| !sku.trim().is_empty())
}

/// A price string as minor units. An empty price means the item has no price and cannot be bought
/// (WooCommerce's `is_purchasable`), so it is left out rather than offered at zero.
fn price(raw: Option<&str>, currency: Currency, id: u64) -> Result<Option<i64>, String> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => decimal_to_minor(raw, currency)
            .map(Some)
            .ok_or_else(|| format!("item {id} has a price {raw:?} that is not an amount in {currency}")),
    }
}

fn normalise(
    product: WooProduct,
    variations: Vec<WooVariation>,
    currency: Currency,
) -> Result<ExternalProduct, String> {
    let variants = if product.kind == "variable" {
        let mut variants = Vec::with_capacity(variations.len());
        for variation in variations {
            let Some(price_minor) = price(variation.price.as_deref(), currency, variation.id)? else { continue };
            let options: Vec<&str> =
                variation.attributes.iter().map(|a| a.option.as_str()).filter(|o| !o.is_empty()).collect();
            variants.push(ExternalVariant {
                external_id: variation.id.to_string(),
                title: if options.is_empty() { product.name.clone() } else { options.join(" / ") },
                sku: non_empty(variation.sku),
                price_minor,
                inventory_quantity: variation.stock_quantity,
            });
        }
        variants
    } else {
        price(product.price.as_deref(), currency, product.id)?
            .map(|price_minor| ExternalVariant {
                external_id: product.id.to_string(),
                title: product.name.clone(),
                sku: non_empty(product.sku.clone()),
                price_minor,
                inventory_quantity: product.stock_quantity,
            })
            .into_iter()
            .collect()
    };
    Ok(ExternalProduct {
        external_id: product.id.to_string(),
        title: product.name,
        status: product_status(&product.status).to_owned(),
        image_url: product.images.into_iter().next().map(|image| image.src),
        updated_at: gmt_time(product.date_modified_gmt.as_deref()),
        variants,
    })
}

/// Every variation of a variable product, page by page.
async fn variations(
    endpoint: &StoreEndpoint,
    keys: &Keys<'_>,
    product: u64,
) -> Result<Vec<WooVariation>, PlatformError> {
    all_pages(endpoint, keys, &format!("products/{product}/variations"), true, "variations").await
}

/// `"<page>:<currency>"`.
fn parse_cursor(cursor: &str) -> Option<(u32, Option<Currency>)> {
    let (page, currency) = cursor.split_once(':').map_or((cursor, None), |(page, code)| (page, Some(code)));
    let page = page.parse().ok().filter(|page| *page >= 1)?;
    Some((page, currency.and_then(|code| Currency::parse(code).ok())))
}

#[async_trait]
impl StorePlatform for WooCommerce {
    fn platform(&self) -> Platform {
        Platform::WooCommerce
    }

    async fn verify(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
    ) -> Result<StoreInfo, PlatformError> {
        let keys = Keys::of(credentials)?;
        get(endpoint, &keys, "products", &[("per_page", "1".into())]).await?;
        let currency = store_currency(endpoint, &keys).await?;
        Ok(StoreInfo { name: site_name(endpoint).await, currency: Some(currency) })
    }

    async fn products_page(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        cursor: Option<&str>,
    ) -> Result<ProductPage, PlatformError> {
        let keys = Keys::of(credentials)?;
        let (page, carried) = match cursor {
            None => (1, None),
            Some(cursor) => parse_cursor(cursor).ok_or_else(|| PlatformError::Invalid {
                reason: format!("not a WooCommerce page cursor: {cursor:?}"),
            })?,
        };
        let currency = match carried {
            Some(currency) => currency,
            None => store_currency(endpoint, &keys).await?,
        };
        let query = [
            ("per_page", PER_PAGE.to_string()),
            ("page", page.to_string()),
            ("orderby", "id".into()),
            ("order", "asc".into()),
        ];
        let answer = get(endpoint, &keys, "products", &query).await?;
        let products: Vec<WooProduct> = answer.json("products")?;
        let total = answer.total();
        let more = answer.more_after(page, products.len());
        let keys = &keys;
        let with_variations: Vec<(WooProduct, Vec<WooVariation>)> = futures::stream::iter(products)
            .map(|product| async move {
                let found =
                    if product.kind == "variable" { variations(endpoint, keys, product.id).await? } else { Vec::new() };
                Ok::<_, PlatformError>((product, found))
            })
            .buffered(VARIATION_READS_IN_PARALLEL)
            .try_collect()
            .await?;
        let products = with_variations
            .into_iter()
            .map(|(product, variations)| normalise(product, variations, currency))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| PlatformError::Invalid { reason: format!("WooCommerce {reason}") })?;
        Ok(ProductPage {
            products,
            currency,
            next: more.then(|| format!("{}:{}", page + 1, currency.code())),
            wait_before_next: Duration::ZERO,
            total,
        })
    }
}

mod webhooks;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_carry_the_page_and_the_currency() {
        assert_eq!(parse_cursor("3:USD"), Some((3, Some(Currency::parse("USD").unwrap()))));
        assert_eq!(parse_cursor("2"), Some((2, None)));
        assert_eq!(parse_cursor("0:USD"), None);
        assert_eq!(parse_cursor("x"), None);
    }

    #[test]
    fn gmt_dates_are_utc() {
        let parsed = gmt_time(Some("2024-03-01T10:20:30")).unwrap();
        assert_eq!(parsed.unix_timestamp(), 1_709_288_430);
    }
}
