//! Wix webhooks: deliveries are JWTs signed RS256 with the app's public key, verified before anything is
//! read; orders, and their write-back as a payment record on the order; product events.
//!
//! "About the Structure of Webhooks" (https://dev.wix.com/docs/rest/articles/get-started/webhook-structure):
//! the JWT's `data` holds `eventType`, `instanceId` and `data`, a string of JSON. In standardised events
//! that `data` has `id` (the event id), `entityFqdn`, `slug`, `entityId`, and `createdEvent.entity` /
//! `entityAsJson`, `updatedEvent.currentEntity` / `currentEntityAsJson` or `deletedEvent`. Legacy events
//! (Catalog V1's) carry their own payload there instead, and no event id.
//!
//! Product events, one set per catalog ("About the Catalog Versioning API": a V1 site sends V1 events, a
//! V3 site V3 events, never both for one change):
//! - V3 (Products V3 "Product Created" / "Product Updated" / "Product Deleted",
//!   https://dev.wix.com/docs/api-reference/business-solutions/stores/catalog-v3/products-v3/product-updated):
//!   `wix.stores.catalog.v3.product_created`, `…product_updated`, `…product_deleted`, standardised.
//! - V1 (Catalog V1 "Product Created" / "Product Changed" / "Product Deleted",
//!   https://dev.wix.com/docs/rest/business-solutions/stores/catalog/product-changed, whose example names
//!   the event type and the legacy body `{"productId", "changedFields"}`):
//!   `com.wix.ecommerce.catalog.api.v1.ProductCreated`, `…ProductChanged`, `…ProductDeleted` (as in
//!   Wix's `@wix/stores` SDK), legacy: the payload itself, `{"productId", …}`.
//!
//! A V1 change event names the product and the fields that changed, not their values, so a created or
//! changed product is re-read from the store (which also gets its stock, and makes an old event
//! delivered late harmless); a deleted one is removed. Event types Pivota does not use are acknowledged
//! and ignored, so Wix does not retry them.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use super::{Wix, call, parse, paths, url_with};
use crate::kernel::money::Currency;
use crate::stores::platforms::store_http::decimal_to_minor;
use crate::stores::platforms::{
    Customer, Delivery, DeliveryTopic, ExternalOrder, ExternalProduct, OrderLine, PlatformError, ProductEvent,
    StoreCredentials, StoreEndpoint, StoreWebhooks, WebhookError, WebhookSubscription, WebhookTopic,
};

/// How far a delivery's `exp` may be in the past (Wix says deliveries may be delayed).
const EXPIRY_LEEWAY_SECS: u64 = 300;

const ORDER_CREATED: &str = "wix.ecom.v1.order_created";
const V3_PRODUCT_CREATED: &str = "wix.stores.catalog.v3.product_created";
const V3_PRODUCT_UPDATED: &str = "wix.stores.catalog.v3.product_updated";
const V3_PRODUCT_DELETED: &str = "wix.stores.catalog.v3.product_deleted";
const V1_PRODUCT_CREATED: &str = "com.wix.ecommerce.catalog.api.v1.ProductCreated";
const V1_PRODUCT_CHANGED: &str = "com.wix.ecommerce.catalog.api.v1.ProductChanged";
const V1_PRODUCT_DELETED: &str = "com.wix.ecommerce.catalog.api.v1.ProductDeleted";

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

/// The text of the order's custom field titled `title`.
fn custom_field(fields: &[CustomField], title: &str) -> Option<String> {
    fields.iter().find(|field| field.title == title).and_then(|field| field.value.as_str()).map(str::to_owned)
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
            ORDER_CREATED => DeliveryTopic::OrderCreated,
            V3_PRODUCT_CREATED | V3_PRODUCT_UPDATED | V3_PRODUCT_DELETED | V1_PRODUCT_CREATED | V1_PRODUCT_CHANGED
            | V1_PRODUCT_DELETED => DeliveryTopic::ProductUpdated,
            other => DeliveryTopic::Other(other.to_owned()),
        };
        let event_id = data.get("id").and_then(Value::as_str).map(str::to_owned);
        Ok(Delivery { event_id, topic })
    }

    /// Reads the `wix.ecom.v1.order_created` JWT (already verified). The payment method is the custom
    /// field titled `pivota_payment_method`, the PSP customer it is stored under `pivota_customer`.
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
            payment_method: custom_field(&order.custom_fields, "pivota_payment_method"),
            payment_customer: custom_field(&order.custom_fields, "pivota_customer"),
            line_items,
            customer,
        })
    }

    /// Wix product events name the product (see the module doc): read them with `parse_product_event`.
    fn parse_product(&self, _body: &[u8], _currency: Currency) -> Result<ExternalProduct, WebhookError> {
        Err(WebhookError::Malformed("a Wix product event names the product; it is re-read from the store".into()))
    }

    fn parse_product_event(&self, body: &[u8], _currency: Currency) -> Result<ProductEvent, WebhookError> {
        let (envelope, data) = envelope(unverified_claims(body)?)?;
        let id =
            |field: &str| {
                data.get(field).and_then(Value::as_str).filter(|id| !id.is_empty()).map(str::to_owned).ok_or_else(
                    || WebhookError::Malformed(format!("the {} event has no `{field}`", envelope.event_type)),
                )
            };
        match envelope.event_type.as_str() {
            V3_PRODUCT_CREATED | V3_PRODUCT_UPDATED => Ok(ProductEvent::Named { external_id: id("entityId")? }),
            V3_PRODUCT_DELETED => Ok(ProductEvent::Deleted { external_id: id("entityId")? }),
            V1_PRODUCT_CREATED | V1_PRODUCT_CHANGED => Ok(ProductEvent::Named { external_id: id("productId")? }),
            V1_PRODUCT_DELETED => Ok(ProductEvent::Deleted { external_id: id("productId")? }),
            other => Err(WebhookError::Malformed(format!("{other} is not a product event"))),
        }
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
        let answer: OrderAnswer = parse(&call(get_order_request(endpoint, order_id)?, credentials).await?, "order")?;
        if answer.order.payment_status.as_deref() == Some("PAID") {
            return Ok(());
        }
        let request = add_payment_request(endpoint, order_id, &answer.order.price_summary.total.amount, psp_reference)?;
        call(request, credentials).await?;
        Ok(())
    }
}

pub(super) fn get_order_request(
    endpoint: &StoreEndpoint,
    order_id: &str,
) -> Result<reqwest::RequestBuilder, PlatformError> {
    Ok(endpoint.http.get(url_with(&endpoint.base, paths::ORDERS, &[order_id])?))
}

/// One approved payment record for `amount` (the order total, as Wix wrote it) with the PSP reference as
/// `providerTransactionId`: it records the payment and charges no one.
pub(super) fn add_payment_request(
    endpoint: &StoreEndpoint,
    order_id: &str,
    amount: &str,
    psp_reference: &str,
) -> Result<reqwest::RequestBuilder, PlatformError> {
    let url = url_with(&endpoint.base, paths::ORDER_PAYMENTS, &[order_id, "add-payment"])?;
    Ok(endpoint.http.post(url).json(&json!({
        "payments": [{
            "amount": { "amount": amount },
            "regularPaymentDetails": {
                "paymentMethod": "Pivota",
                "providerTransactionId": psp_reference,
                "offlinePayment": false,
                "status": "APPROVED",
            },
        }],
    })))
}
