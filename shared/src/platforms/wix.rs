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

use super::store_http::{decimal_to_minor, redact, retry_after, send_failure, status_error};
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
    let body = response.bytes().await.map_err(|error| send_failure(NAME, &error))?;
    if (200..300).contains(&status) {
        return Ok(body.to_vec());
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

// ---------------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------------

/// The JWT's claims: `data` is the envelope, as an object or as a JSON string.
#[derive(Deserialize)]
struct Claims {
    data: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    event_type: String,
    #[serde(default)]
    data: Value,
}

/// A value Wix sends either as JSON or as a string of JSON.
fn unstring(value: Value) -> Result<Value, WebhookError> {
    match value {
        Value::String(text) => serde_json::from_str(&text)
            .map_err(|error| WebhookError::Malformed(format!("not JSON in a string: {error}"))),
        other => Ok(other),
    }
}

fn envelope(claims: Claims) -> Result<(Envelope, Value), WebhookError> {
    let envelope: Envelope = serde_json::from_value(unstring(claims.data)?)
        .map_err(|error| WebhookError::Malformed(format!("not a Wix event envelope: {error}")))?;
    let data = unstring(envelope.data.clone())?;
    Ok((envelope, data))
}

/// The claims of a JWT whose signature was already checked by `verify_delivery`.
fn unverified_claims(body: &[u8]) -> Result<Claims, WebhookError> {
    let token = std::str::from_utf8(body).map_err(|_| WebhookError::Malformed("the body is not a JWT".into()))?;
    let payload =
        token.trim().split('.').nth(1).ok_or_else(|| WebhookError::Malformed("the body is not a JWT".into()))?;
    let json = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| WebhookError::Malformed("the JWT payload is not base64url".into()))?;
    serde_json::from_slice(&json).map_err(|error| WebhookError::Malformed(format!("the JWT payload: {error}")))
}

/// The created entity of a standardised event (`createdEvent.entity` or `createdEvent.entityAsJson`).
fn created_entity(data: Value) -> Result<Value, WebhookError> {
    let created = data.get("createdEvent").cloned().unwrap_or(Value::Null);
    let entity = created
        .get("entity")
        .or_else(|| created.get("entityAsJson"))
        .cloned()
        .ok_or_else(|| WebhookError::Malformed("the event has no createdEvent entity".into()))?;
    unstring(entity)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WixOrder {
    id: String,
    #[serde(default)]
    number: Option<Value>,
    currency: String,
    price_summary: PriceSummary,
    #[serde(default)]
    payment_status: Option<String>,
    #[serde(default)]
    line_items: Vec<WixLineItem>,
    #[serde(default)]
    buyer_info: Option<BuyerInfo>,
    #[serde(default)]
    billing_info: Option<BillingInfo>,
    #[serde(default)]
    custom_fields: Vec<CustomField>,
}

#[derive(Deserialize)]
struct PriceSummary {
    total: Amount,
}

#[derive(Deserialize)]
struct Amount {
    amount: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WixLineItem {
    product_name: ProductName,
    quantity: i64,
    #[serde(default)]
    physical_properties: Option<PhysicalProperties>,
    price: Amount,
}

#[derive(Deserialize)]
struct ProductName {
    original: String,
}

#[derive(Deserialize)]
struct PhysicalProperties {
    #[serde(default)]
    sku: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BuyerInfo {
    #[serde(default)]
    contact_id: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BillingInfo {
    #[serde(default)]
    contact_details: Option<ContactDetails>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContactDetails {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
}

#[derive(Deserialize)]
struct CustomField {
    title: String,
    #[serde(default)]
    value: Value,
}

fn amount(raw: &str, currency: Currency) -> Result<i64, WebhookError> {
    decimal_to_minor(raw, currency)
        .ok_or_else(|| WebhookError::Malformed(format!("{raw:?} is not an amount in {currency}")))
}

#[async_trait]
impl StoreWebhooks for Wix {
    /// Wix webhooks are configured in the app's dashboard (Dev Center → the app → Webhooks), not by API,
    /// so there is nothing to subscribe: this returns no subscriptions.
    async fn subscribe(
        &self,
        _endpoint: &StoreEndpoint,
        _credentials: &StoreCredentials,
        _address: &Url,
        _topics: &[WebhookTopic],
    ) -> Result<Vec<WebhookSubscription>, PlatformError> {
        Ok(Vec::new())
    }

    /// Nothing was subscribed by API (see `subscribe`), so nothing is deleted.
    async fn unsubscribe(
        &self,
        _endpoint: &StoreEndpoint,
        _credentials: &StoreCredentials,
        _subscriptions: &[WebhookSubscription],
    ) -> Result<(), PlatformError> {
        Ok(())
    }

    /// The body is a JWT signed RS256 with the app's key; `webhook_secret` holds the app's public key
    /// (PEM). The event id is the inner `data.id`.
    fn verify_delivery(
        &self,
        credentials: &StoreCredentials,
        _headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<Delivery, WebhookError> {
        let pem = credentials.webhook_secret.as_ref().ok_or(WebhookError::BadSignature)?;
        let key = DecodingKey::from_rsa_pem(pem.expose_secret().as_bytes()).map_err(|_| WebhookError::BadSignature)?;
        let token = std::str::from_utf8(body).map_err(|_| WebhookError::BadSignature)?.trim();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.required_spec_claims.clear();
        validation.validate_aud = false;
        validation.leeway = EXPIRY_LEEWAY_SECS;
        let claims =
            jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|_| WebhookError::BadSignature)?.claims;
        let (envelope, data) = envelope(claims)?;
        let topic = match envelope.event_type.as_str() {
            "wix.ecom.v1.order_created" => DeliveryTopic::OrderCreated,
            "wix.stores.catalog.v3.product_updated" | "com.wix.ecommerce.catalog.api.v1.ProductChanged" => {
                DeliveryTopic::ProductUpdated
            }
            other => DeliveryTopic::Other(other.to_owned()),
        };
        let event_id = data.get("id").and_then(Value::as_str).map(str::to_owned);
        Ok(Delivery { event_id, topic })
    }

    /// Reads the `wix.ecom.v1.order_created` JWT (already verified). The payment method is the custom
    /// field titled `pivota_payment_method`.
    fn parse_order(&self, body: &[u8]) -> Result<ExternalOrder, WebhookError> {
        let (_, data) = envelope(unverified_claims(body)?)?;
        let order: WixOrder = serde_json::from_value(created_entity(data)?)
            .map_err(|error| WebhookError::Malformed(format!("not a Wix order: {error}")))?;
        let currency = Currency::parse(&order.currency)
            .map_err(|_| WebhookError::Malformed(format!("unknown currency {:?}", order.currency)))?;
        let line_items = order
            .line_items
            .into_iter()
            .map(|item| {
                Ok(OrderLine {
                    title: item.product_name.original,
                    quantity: item.quantity,
                    sku: item.physical_properties.and_then(|p| p.sku).filter(|sku| !sku.is_empty()),
                    price_minor: amount(&item.price.amount, currency)?,
                })
            })
            .collect::<Result<_, WebhookError>>()?;
        let number = match order.number {
            Some(Value::String(number)) => Some(number),
            Some(Value::Number(number)) => Some(number.to_string()),
            _ => None,
        };
        let name = order
            .billing_info
            .and_then(|billing| billing.contact_details)
            .map(|contact| format!("{} {}", contact.first_name.trim(), contact.last_name.trim()).trim().to_owned())
            .filter(|name| !name.is_empty());
        let buyer = order.buyer_info;
        let customer = Some(Customer {
            external_id: buyer.as_ref().and_then(|buyer| buyer.contact_id.clone()),
            email: buyer.and_then(|buyer| buyer.email),
            name,
        })
        .filter(|c| c.external_id.is_some() || c.email.is_some() || c.name.is_some());
        Ok(ExternalOrder {
            external_id: order.id,
            name: number.map(|number| format!("#{number}")),
            total_minor: amount(&order.price_summary.total.amount, currency)?,
            currency,
            already_paid: order.payment_status.as_deref() == Some("PAID"),
            payment_method: order
                .custom_fields
                .iter()
                .find(|field| field.title == "pivota_payment_method")
                .and_then(|field| field.value.as_str())
                .map(str::to_owned),
            line_items,
            customer,
        })
    }

    /// Not supported: the Catalog V1 "Product Changed" webhook is a legacy event that carries only the
    /// product id and the names of the changed fields, not the product, so the sync re-reads the catalog.
    fn parse_product(&self, _body: &[u8], _currency: Currency) -> Result<ExternalProduct, WebhookError> {
        Err(WebhookError::Malformed("Wix product events carry the product id only; re-read the catalog instead".into()))
    }

    /// Reads the order (`GET /ecom/v1/orders/{id}`): if it is already `PAID` there is nothing to do;
    /// otherwise adds one approved payment record for the order total with the PSP reference as
    /// `providerTransactionId` (`POST /ecom/v1/payments/orders/{id}/add-payment`), which records the
    /// payment and does not charge anyone.
    async fn mark_order_paid(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        order_id: &str,
        psp_reference: &str,
    ) -> Result<(), PlatformError> {
        #[derive(Deserialize)]
        struct OrderAnswer {
            order: OrderState,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct OrderState {
            #[serde(default)]
            payment_status: Option<String>,
            price_summary: PriceSummary,
        }
        let mut order_url = Url::parse(&url(&endpoint.base, "ecom/v1/orders"))
            .map_err(|_| PlatformError::Invalid { reason: "the Wix base URL cannot take a path".into() })?;
        order_url
            .path_segments_mut()
            .map_err(|_| PlatformError::Invalid { reason: "the Wix base URL cannot take a path".into() })?
            .push(order_id);
        let answer: OrderAnswer = parse(&call(endpoint.http.get(order_url), credentials).await?, "order")?;
        if answer.order.payment_status.as_deref() == Some("PAID") {
            return Ok(());
        }
        let mut add_url = Url::parse(&url(&endpoint.base, "ecom/v1/payments/orders"))
            .map_err(|_| PlatformError::Invalid { reason: "the Wix base URL cannot take a path".into() })?;
        add_url
            .path_segments_mut()
            .map_err(|_| PlatformError::Invalid { reason: "the Wix base URL cannot take a path".into() })?
            .push(order_id)
            .push("add-payment");
        let request = endpoint.http.post(add_url).json(&json!({
            "payments": [{
                "amount": { "amount": answer.order.price_summary.total.amount },
                "regularPaymentDetails": {
                    "paymentMethod": "Pivota",
                    "providerTransactionId": psp_reference,
                    "offlinePayment": false,
                    "status": "APPROVED",
                },
            }],
        }));
        call(request, credentials).await?;
        Ok(())
    }
}

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
