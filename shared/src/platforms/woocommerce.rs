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

use super::store_http::{decimal_to_minor, redact, retry_after, send_failure, status_error, verify_signed_delivery};
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
    let body = response.bytes().await.map_err(|error| send_failure(NAME, &error))?;
    match status {
        200..=299 => Ok(Some(Answer { headers, body: body.to_vec() })),
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
        let index: Index = serde_json::from_slice(&response.bytes().await.ok()?).ok()?;
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
    let mut all = Vec::new();
    let mut page = 1;
    loop {
        let query = [
            ("per_page", PER_PAGE.to_string()),
            ("page", page.to_string()),
            ("orderby", "id".into()),
            ("order", "asc".into()),
        ];
        let answer = get(endpoint, keys, &format!("products/{product}/variations"), &query).await?;
        let batch: Vec<WooVariation> = answer.json("variations")?;
        let more = match answer.total_pages() {
            Some(total) => page < total,
            None => batch.len() == PER_PAGE as usize,
        };
        all.extend(batch);
        if !more {
            return Ok(all);
        }
        page += 1;
    }
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
        let more = match answer.total_pages() {
            Some(total) => page < total,
            None => products.len() == PER_PAGE as usize,
        };
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

// ---------------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct WooWebhook {
    id: u64,
    topic: String,
    delivery_url: String,
}

fn topic_name(topic: WebhookTopic) -> Option<&'static str> {
    match topic {
        WebhookTopic::OrderCreated => Some("order.created"),
        WebhookTopic::ProductUpdated => Some("product.updated"),
        WebhookTopic::AppUninstalled => None,
    }
}

fn webhook_secret(credentials: &StoreCredentials) -> Result<&str, PlatformError> {
    credentials.webhook_secret.as_ref().map(|secret| secret.expose_secret()).ok_or_else(|| PlatformError::Invalid {
        reason: "no webhook secret was generated for this WooCommerce store".into(),
    })
}

async fn existing_webhooks(endpoint: &StoreEndpoint, keys: &Keys<'_>) -> Result<Vec<WooWebhook>, PlatformError> {
    let mut all = Vec::new();
    let mut page = 1;
    loop {
        let query = [("per_page", PER_PAGE.to_string()), ("page", page.to_string())];
        let answer = get(endpoint, keys, "webhooks", &query).await?;
        let batch: Vec<WooWebhook> = answer.json("webhooks")?;
        let more = match answer.total_pages() {
            Some(total) => page < total,
            None => batch.len() == PER_PAGE as usize,
        };
        all.extend(batch);
        if !more {
            return Ok(all);
        }
        page += 1;
    }
}

/// An order-created payload (the `wc/v3` order) as far as Pivota reads it.
#[derive(Deserialize)]
struct WooOrder {
    id: u64,
    #[serde(default)]
    number: Option<Value>,
    currency: String,
    total: String,
    #[serde(default)]
    date_paid: Option<String>,
    #[serde(default)]
    meta_data: Vec<WooMeta>,
    #[serde(default)]
    line_items: Vec<WooLineItem>,
    #[serde(default)]
    billing: Option<WooBilling>,
    #[serde(default)]
    customer_id: Option<u64>,
}

#[derive(Deserialize)]
struct WooMeta {
    key: String,
    #[serde(default)]
    value: Value,
}

#[derive(Deserialize)]
struct WooLineItem {
    name: String,
    quantity: i64,
    #[serde(default)]
    sku: Option<String>,
    /// The line before discounts, a decimal string. (`price` is a float computed by division, so the
    /// unit price is taken from `subtotal / quantity` instead.)
    subtotal: String,
}

#[derive(Deserialize, Default)]
struct WooBilling {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    email: Option<String>,
}

fn line(item: WooLineItem, currency: Currency) -> Result<OrderLine, WebhookError> {
    let subtotal = decimal_to_minor(&item.subtotal, currency)
        .ok_or_else(|| WebhookError::Malformed(format!("line {:?} has a subtotal that is not an amount", item.name)))?;
    // Rounded half up when the subtotal does not divide evenly (a discounted or prorated line).
    let price_minor = if item.quantity > 0 { (2 * subtotal + item.quantity) / (2 * item.quantity) } else { subtotal };
    Ok(OrderLine { title: item.name, quantity: item.quantity, sku: non_empty(item.sku), price_minor })
}

/// The creation ping: `webhook_id=<digits>` and nothing else, unsigned, with no topic.
fn is_ping(headers: &http::HeaderMap, body: &[u8]) -> bool {
    let unsigned = !headers.contains_key("x-wc-webhook-signature") && !headers.contains_key("x-wc-webhook-topic");
    let digits = body.strip_prefix(b"webhook_id=").filter(|digits| !digits.is_empty() && digits.len() <= 20);
    unsigned && digits.is_some_and(|digits| digits.iter().all(u8::is_ascii_digit))
}

#[async_trait]
impl StoreWebhooks for WooCommerce {
    /// Reuses a webhook with the same topic and delivery URL (re-activating it and resetting its secret,
    /// since WooCommerce disables a webhook after repeated failed deliveries), and creates the others.
    /// `AppUninstalled` has no WooCommerce topic and is skipped.
    async fn subscribe(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        address: &Url,
        topics: &[WebhookTopic],
    ) -> Result<Vec<WebhookSubscription>, PlatformError> {
        let keys = Keys::of(credentials)?;
        let secret = webhook_secret(credentials)?;
        let existing = existing_webhooks(endpoint, &keys).await?;
        let mut subscriptions: Vec<WebhookSubscription> = Vec::new();
        for &topic in topics {
            let Some(name) = topic_name(topic) else { continue };
            if subscriptions.iter().any(|subscription| subscription.topic == topic) {
                continue;
            }
            let reused = existing.iter().find(|hook| hook.topic == name && hook.delivery_url == address.as_str());
            let answer = match reused {
                Some(hook) => {
                    let request = endpoint
                        .http
                        .put(api_url(&endpoint.base, &format!("webhooks/{}", hook.id)))
                        .json(&json!({ "status": "active", "secret": secret }));
                    call(request, &keys, false).await?
                }
                None => {
                    let request = endpoint.http.post(api_url(&endpoint.base, "webhooks")).json(&json!({
                        "name": format!("Pivota {name}"),
                        "status": "active",
                        "topic": name,
                        "delivery_url": address.as_str(),
                        "secret": secret,
                    }));
                    call(request, &keys, false).await?
                }
            };
            let hook: WooWebhook = answer.expect("not-found is an error here").json("webhook")?;
            subscriptions.push(WebhookSubscription {
                topic,
                external_id: hook.id.to_string(),
                address: address.to_string(),
            });
        }
        Ok(subscriptions)
    }

    async fn unsubscribe(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        subscriptions: &[WebhookSubscription],
    ) -> Result<(), PlatformError> {
        let keys = Keys::of(credentials)?;
        for subscription in subscriptions {
            let id: u64 = subscription.external_id.parse().map_err(|_| PlatformError::Invalid {
                reason: format!("not a WooCommerce webhook id: {:?}", subscription.external_id),
            })?;
            let request =
                endpoint.http.delete(api_url(&endpoint.base, &format!("webhooks/{id}"))).query(&[("force", "true")]);
            call(request, &keys, true).await?;
        }
        Ok(())
    }

    fn verify_delivery(
        &self,
        credentials: &StoreCredentials,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<Delivery, WebhookError> {
        if is_ping(headers, body) {
            return Ok(Delivery { event_id: None, topic: DeliveryTopic::Ping });
        }
        let base64 = |value: &str| BASE64.decode(value).ok();
        verify_signed_delivery(
            credentials,
            headers,
            body,
            "x-wc-webhook-signature",
            base64,
            "x-wc-webhook-topic",
            "x-wc-webhook-delivery-id",
        )
    }

    fn parse_order(&self, body: &[u8]) -> Result<ExternalOrder, WebhookError> {
        let order: WooOrder = serde_json::from_slice(body)
            .map_err(|error| WebhookError::Malformed(format!("not a WooCommerce order: {error}")))?;
        let currency = Currency::parse(&order.currency)
            .map_err(|_| WebhookError::Malformed(format!("unknown currency {:?}", order.currency)))?;
        let total_minor = decimal_to_minor(&order.total, currency)
            .ok_or_else(|| WebhookError::Malformed(format!("total {:?} is not an amount", order.total)))?;
        let payment_method = order
            .meta_data
            .iter()
            .find(|meta| meta.key == "pivota_payment_method")
            .and_then(|meta| meta.value.as_str())
            .map(str::to_owned);
        let number = match order.number {
            Some(Value::String(number)) => Some(number),
            Some(Value::Number(number)) => Some(number.to_string()),
            _ => None,
        };
        let billing = order.billing.unwrap_or_default();
        let name = format!("{} {}", billing.first_name.trim(), billing.last_name.trim()).trim().to_owned();
        let email = billing.email.filter(|email| !email.trim().is_empty());
        let customer_id = order.customer_id.filter(|id| *id != 0).map(|id| id.to_string());
        let customer = (customer_id.is_some() || email.is_some() || !name.is_empty()).then(|| Customer {
            external_id: customer_id,
            email,
            name: Some(name).filter(|name| !name.is_empty()),
        });
        Ok(ExternalOrder {
            external_id: order.id.to_string(),
            name: number.map(|number| format!("#{number}")),
            total_minor,
            currency,
            already_paid: order.date_paid.is_some_and(|paid| !paid.is_empty()),
            payment_method,
            line_items: order.line_items.into_iter().map(|item| line(item, currency)).collect::<Result<_, _>>()?,
            customer,
        })
    }

    /// The `product.updated` payload is the `wc/v3` product, read in the store's currency. A variable
    /// product lists only variation ids, so it comes back without variants and the sync re-reads it.
    fn parse_product(&self, body: &[u8], currency: Currency) -> Result<ExternalProduct, WebhookError> {
        let product: WooProduct = serde_json::from_slice(body)
            .map_err(|error| WebhookError::Malformed(format!("not a WooCommerce product: {error}")))?;
        normalise(product, Vec::new(), currency).map_err(WebhookError::Malformed)
    }

    async fn mark_order_paid(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        order_id: &str,
        psp_reference: &str,
    ) -> Result<(), PlatformError> {
        let keys = Keys::of(credentials)?;
        let id: u64 = order_id
            .parse()
            .map_err(|_| PlatformError::Invalid { reason: format!("not a WooCommerce order id: {order_id:?}") })?;
        let request = endpoint
            .http
            .put(api_url(&endpoint.base, &format!("orders/{id}")))
            .json(&json!({ "set_paid": true, "transaction_id": psp_reference }));
        call(request, &keys, false).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bare_unsigned_form_is_a_ping() {
        let empty = http::HeaderMap::new();
        assert!(is_ping(&empty, b"webhook_id=42"));
        assert!(!is_ping(&empty, b"webhook_id="));
        assert!(!is_ping(&empty, b"webhook_id=42&x=1"));
        assert!(!is_ping(&empty, b"{\"webhook_id\":42}"));
        let mut topic = http::HeaderMap::new();
        topic.insert("x-wc-webhook-topic", "order.created".parse().unwrap());
        assert!(!is_ping(&topic, b"webhook_id=42"));
    }

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
