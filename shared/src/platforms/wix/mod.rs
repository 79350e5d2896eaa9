//! Wix: the Wix REST APIs at `https://www.wixapis.com` (the [`StoreEndpoint`] base, so tests can point
//! it at a fake), called with an API key.
//!
//! Sources (Wix developer docs, https://dev.wix.com/docs/rest): "API Keys" / Wix API core headers:
//! `Authorization: <API key>` (no scheme) and `wix-site-id: <site id>`. Stores Catalog V1 "Query Products"
//! (`POST /stores/v1/products/query`, body `{"query": {"paging": {"limit", "offset"}}, "includeVariants":
//! true}`, at most 100 per call, answer `{"products", "metadata": {"items", "offset"}, "totalResults"}`;
//! prices are JSON numbers in `priceData.price` and `variants[].variant.priceData.price`; stock in
//! `variants[].stock.quantity`). Stores "Pagination": limit/offset, designed for up to 10,000 items.
//! "Variants collection": a variant's id is unique only within its product (the default variant is
//! all zeros), so the external id is `<productId>-<variantId>`, as Wix itself writes it. Site
//! Properties "Get Site Properties" (`GET /site-properties/v4/properties`: `siteDisplayName`,
//! `paymentCurrency`). "About the structure of webhooks": the body is a JWT signed RS256 with the app's
//! public key; its `data` holds `eventType`, `instanceId` and `data` (a JSON string whose `id` is the
//! event id, and whose `createdEvent.entity`/`entityAsJson` is the created entity). eCommerce "Order
//! Transactions": `POST /ecom/v1/payments/orders/{orderId}/add-payment` adds a payment record;
//! eCommerce Orders "Get Order": `GET /ecom/v1/orders/{id}`.
//!
//! Choices: paging is limit/offset (the cursor is the next offset and the currency), not the
//! `numericId` filter the pagination article suggests past 10,000 items, whose escaped-string syntax
//! for `filter`/`sort` we could not confirm; a catalog past 10,000 products is not paged fully (see
//! the report). The catalog calls are Catalog V1: a site on Catalog V3 answers them with an error.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use time::OffsetDateTime;
use url::Url;

use super::store_http::{
    STORE_BODY_LIMIT, decimal_to_minor, read_body, redact, retry_after, send_failure, status_error,
};
use super::{
    Customer, Delivery, DeliveryTopic, ExternalOrder, ExternalProduct, ExternalVariant, OrderLine, Platform,
    PlatformError, ProductPage, StoreCredentials, StoreEndpoint, StoreInfo, StorePlatform, StoreWebhooks, WebhookError,
    WebhookSubscription, WebhookTopic,
};
use crate::money::Currency;

const NAME: &str = "Wix";
const PAGE_SIZE: u64 = 100;
/// How far a delivery's `exp` may be in the past (Wix says deliveries may be delayed).
const EXPIRY_LEEWAY_SECS: u64 = 300;

#[derive(Clone, Copy, Debug, Default)]
pub struct Wix;

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
}

fn site_id(credentials: &StoreCredentials) -> Result<&str, PlatformError> {
    credentials
        .site_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| PlatformError::Invalid { reason: "Wix needs the site id (`wix-site-id`)".into() })
}

async fn call(request: reqwest::RequestBuilder, credentials: &StoreCredentials) -> Result<Vec<u8>, PlatformError> {
    let key = credentials.api_token.expose_secret();
    let response = request
        .header(reqwest::header::AUTHORIZATION, key)
        .header("wix-site-id", site_id(credentials)?)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|error| send_failure(NAME, &error))?;
    let status = response.status().as_u16();
    let retry = retry_after(response.headers());
    let body = read_body(NAME, response, STORE_BODY_LIMIT).await?;
    if (200..300).contains(&status) {
        return Ok(body);
    }
    let message = serde_json::from_slice::<ErrorBody>(&body)
        .ok()
        .map(|error| error.message)
        .filter(|message| !message.is_empty())
        .unwrap_or_else(|| "no error message".into());
    Err(status_error(NAME, status, retry, redact(&message, &[key])))
}

fn url(base: &Url, path: &str) -> String {
    format!("{}/{path}", base.as_str().trim_end_matches('/'))
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8], what: &str) -> Result<T, PlatformError> {
    serde_json::from_slice(body)
        .map_err(|error| PlatformError::Invalid { reason: format!("Wix {what} was not understood: {error}") })
}

// ---------------------------------------------------------------------------------------------------
// Catalog (Stores Catalog V1)
// ---------------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryAnswer {
    #[serde(default)]
    products: Vec<WixProduct>,
    #[serde(default)]
    total_results: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WixProduct {
    id: String,
    name: String,
    #[serde(default = "visible_by_default")]
    visible: bool,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    price_data: Option<PriceData>,
    #[serde(default)]
    stock: Option<Stock>,
    #[serde(default)]
    media: Option<Media>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    last_updated: Option<OffsetDateTime>,
    #[serde(default)]
    variants: Vec<WixVariant>,
}

fn visible_by_default() -> bool {
    true
}

#[derive(Deserialize)]
struct PriceData {
    currency: String,
    /// The JSON number exactly as Wix wrote it, so `19.99` is read as 1999 without a float.
    price: Box<RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stock {
    #[serde(default)]
    track_quantity: Option<bool>,
    #[serde(default)]
    track_inventory: Option<bool>,
    #[serde(default)]
    quantity: Option<i64>,
}

impl Stock {
    fn quantity(&self) -> Option<i64> {
        let tracked = self.track_quantity.or(self.track_inventory).unwrap_or(self.quantity.is_some());
        if tracked { self.quantity } else { None }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Media {
    #[serde(default)]
    main_media: Option<MainMedia>,
}

#[derive(Deserialize)]
struct MainMedia {
    #[serde(default)]
    image: Option<Image>,
}

#[derive(Deserialize)]
struct Image {
    url: String,
}

#[derive(Deserialize)]
struct WixVariant {
    id: String,
    #[serde(default)]
    choices: serde_json::Map<String, Value>,
    variant: VariantData,
    #[serde(default)]
    stock: Option<Stock>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VariantData {
    price_data: PriceData,
    #[serde(default)]
    sku: Option<String>,
}

/// A price as minor units of the page's currency; a variant in another currency is refused.
fn price(data: &PriceData, currency: Currency, what: &str) -> Result<i64, String> {
    if Currency::parse(&data.currency) != Ok(currency) {
        return Err(format!("{what} is priced in {:?}, not {currency}", data.currency));
    }
    let raw = data.price.get();
    decimal_to_minor(raw, currency)
        .ok_or_else(|| format!("{what} has a price {raw} that is not an amount in {currency}"))
}

fn normalise(product: WixProduct, currency: Currency) -> Result<ExternalProduct, String> {
    let mut variants = Vec::with_capacity(product.variants.len().max(1));
    for variant in &product.variants {
        let choices: Vec<&str> = variant.choices.values().filter_map(Value::as_str).collect();
        variants.push(ExternalVariant {
            external_id: format!("{}-{}", product.id, variant.id),
            title: if choices.is_empty() { product.name.clone() } else { choices.join(" / ") },
            sku: variant.variant.sku.clone().filter(|sku| !sku.is_empty()),
            price_minor: price(&variant.variant.price_data, currency, &format!("variant {}", variant.id))?,
            inventory_quantity: variant.stock.as_ref().and_then(Stock::quantity),
        });
    }
    if variants.is_empty() {
        if let Some(data) = &product.price_data {
            variants.push(ExternalVariant {
                external_id: format!("{}-00000000-0000-0000-0000-000000000000", product.id),
                title: product.name.clone(),
                sku: product.sku.clone().filter(|sku| !sku.is_empty()),
                price_minor: price(data, currency, &format!("product {}", product.id))?,
                inventory_quantity: product.stock.as_ref().and_then(Stock::quantity),
            });
        }
    }
    Ok(ExternalProduct {
        external_id: product.id,
        title: product.name,
        status: if product.visible { "active" } else { "draft" }.to_owned(),
        image_url: product.media.and_then(|media| media.main_media).and_then(|main| main.image).map(|image| image.url),
        updated_at: product.last_updated,
        variants,
    })
}

async fn query_products(
    endpoint: &StoreEndpoint,
    credentials: &StoreCredentials,
    limit: u64,
    offset: u64,
) -> Result<QueryAnswer, PlatformError> {
    let request = endpoint.http.post(url(&endpoint.base, "stores/v1/products/query")).json(&json!({
        "query": { "paging": { "limit": limit, "offset": offset } },
        "includeVariants": true,
    }));
    parse(&call(request, credentials).await?, "products query")
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SiteProperties {
    #[serde(default)]
    site_display_name: Option<String>,
    #[serde(default)]
    payment_currency: Option<String>,
}

/// The site's display name and payment currency. Best effort: the API key may lack the permission.
async fn site_properties(endpoint: &StoreEndpoint, credentials: &StoreCredentials) -> SiteProperties {
    #[derive(Deserialize)]
    struct Answer {
        properties: SiteProperties,
    }
    let request = endpoint.http.get(url(&endpoint.base, "site-properties/v4/properties"));
    match call(request, credentials).await {
        Ok(body) => serde_json::from_slice::<Answer>(&body).map(|answer| answer.properties).unwrap_or_default(),
        Err(_) => SiteProperties::default(),
    }
}

fn page_currency(products: &[WixProduct]) -> Option<Currency> {
    products.iter().find_map(|product| {
        let data = product.price_data.as_ref().or_else(|| product.variants.first().map(|v| &v.variant.price_data))?;
        Currency::parse(&data.currency).ok()
    })
}

/// `"<offset>:<currency>"`.
fn parse_cursor(cursor: &str) -> Option<(u64, Currency)> {
    let (offset, code) = cursor.split_once(':')?;
    Some((offset.parse().ok()?, Currency::parse(code).ok()?))
}

#[async_trait]
impl StorePlatform for Wix {
    fn platform(&self) -> Platform {
        Platform::Wix
    }

    async fn verify(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
    ) -> Result<StoreInfo, PlatformError> {
        let answer = query_products(endpoint, credentials, 1, 0).await?;
        let properties = site_properties(endpoint, credentials).await;
        let currency = properties
            .payment_currency
            .as_deref()
            .and_then(|code| Currency::parse(code).ok())
            .or_else(|| page_currency(&answer.products));
        let name = properties
            .site_display_name
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| format!("Wix site {}", credentials.site_id.as_deref().unwrap_or_default()));
        Ok(StoreInfo { name, currency })
    }

    async fn products_page(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        cursor: Option<&str>,
    ) -> Result<ProductPage, PlatformError> {
        let (offset, carried) = match cursor {
            None => (0, None),
            Some(cursor) => {
                let (offset, currency) = parse_cursor(cursor)
                    .ok_or_else(|| PlatformError::Invalid { reason: format!("not a Wix page cursor: {cursor:?}") })?;
                (offset, Some(currency))
            }
        };
        let answer = query_products(endpoint, credentials, PAGE_SIZE, offset).await?;
        let currency = match carried.or_else(|| page_currency(&answer.products)) {
            Some(currency) => currency,
            None => site_properties(endpoint, credentials)
                .await
                .payment_currency
                .and_then(|code| Currency::parse(&code).ok())
                .ok_or_else(|| PlatformError::Invalid { reason: "Wix did not say the store's currency".into() })?,
        };
        let count = answer.products.len() as u64;
        let next_offset = offset + count;
        let more = match answer.total_results {
            Some(total) => count > 0 && next_offset < total,
            None => count == PAGE_SIZE,
        };
        let products = answer
            .products
            .into_iter()
            .map(|product| normalise(product, currency))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| PlatformError::Invalid { reason: format!("Wix {reason}") })?;
        Ok(ProductPage {
            products,
            currency,
            next: more.then(|| format!("{next_offset}:{}", currency.code())),
            wait_before_next: Duration::ZERO,
            total: answer.total_results,
        })
    }
}

mod webhooks;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_keep_the_json_number_text() {
        let eur = Currency::parse("EUR").unwrap();
        let data: PriceData = serde_json::from_str(r#"{"currency":"EUR","price":19.99}"#).unwrap();
        assert_eq!(price(&data, eur, "x"), Ok(1999));
        let data: PriceData = serde_json::from_str(r#"{"currency":"EUR","price":0.3}"#).unwrap();
        assert_eq!(price(&data, eur, "x"), Ok(30));
        let data: PriceData = serde_json::from_str(r#"{"currency":"USD","price":1}"#).unwrap();
        assert!(price(&data, eur, "x").is_err());
    }
}
