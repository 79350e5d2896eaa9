//! Shopify webhook deliveries: the signature, the headers, and the REST-shaped order and product payloads.
//!
//! "Verify webhook deliveries" (https://shopify.dev/docs/apps/build/webhooks/verify-deliveries): each HTTPS
//! delivery carries `X-Shopify-Hmac-SHA256`, the base64 HMAC-SHA256 of the raw body keyed with the app's
//! client secret. "Ignore duplicate webhooks" (https://shopify.dev/apps/build/webhooks/ignore-duplicates):
//! the same `X-Shopify-Event-Id` on two deliveries means the same event (`X-Shopify-Webhook-Id`, one per
//! delivery attempt series, is the fallback). `X-Shopify-Topic` is `orders/create`, `products/update`, ….
//! The body is the REST resource of the topic ("Webhooks delivery structure",
//! https://shopify.dev/docs/apps/build/webhooks/delivery-structure, whose `products/update` example carries
//! `vendor` and `product_type` beside `title`, `status` and `variants`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::wire::parse_money;
use crate::kernel::money::Currency;
use crate::stores::platforms::{
    Customer, Delivery, DeliveryTopic, ExternalOrder, ExternalProduct, ExternalVariant, OrderLine, StoreCredentials,
    WebhookError, label,
};

/// The note attributes the storefront sets: the payment method the buyer chose, and the PSP customer it
/// is stored under.
const PAYMENT_METHOD_ATTRIBUTE: &str = "pivota_payment_method";
const PAYMENT_CUSTOMER_ATTRIBUTE: &str = "pivota_customer";

pub(super) fn verify_delivery(
    credentials: &StoreCredentials,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<Delivery, WebhookError> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::trim);
    let signature = header("x-shopify-hmac-sha256").ok_or(WebhookError::BadSignature)?;
    let signature = STANDARD.decode(signature).map_err(|_| WebhookError::BadSignature)?;
    let secret = credentials.webhook_secret.as_ref().ok_or(WebhookError::BadSignature)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()).map_err(|_| WebhookError::BadSignature)?;
    mac.update(body);
    // Constant-time comparison.
    mac.verify_slice(&signature).map_err(|_| WebhookError::BadSignature)?;
    let event_id = header("x-shopify-event-id").or_else(|| header("x-shopify-webhook-id")).map(str::to_owned);
    let topic = match header("x-shopify-topic").unwrap_or_default() {
        "orders/create" => DeliveryTopic::OrderCreated,
        "products/update" => DeliveryTopic::ProductUpdated,
        "app/uninstalled" => DeliveryTopic::AppUninstalled,
        "customers/data_request" => DeliveryTopic::CustomersDataRequest,
        "customers/redact" => DeliveryTopic::CustomersRedact,
        "shop/redact" => DeliveryTopic::ShopRedact,
        other => DeliveryTopic::Other(other.to_owned()),
    };
    Ok(Delivery { event_id, topic })
}

/// REST ids are JSON numbers (64-bit), sometimes strings; kept as their decimal text.
pub(super) fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(number) => Some(number.to_string()),
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        _ => None,
    }
}

fn malformed(what: impl std::fmt::Display) -> WebhookError {
    WebhookError::Malformed(what.to_string())
}

#[derive(Deserialize)]
struct OrderPayload {
    id: Value,
    #[serde(default)]
    name: Option<String>,
    currency: String,
    /// The total after edits, refunds and removals; `total_price` is the original.
    #[serde(default)]
    current_total_price: Option<String>,
    #[serde(default)]
    total_price: Option<String>,
    #[serde(default)]
    financial_status: Option<String>,
    #[serde(default)]
    note_attributes: Vec<NoteAttribute>,
    #[serde(default)]
    line_items: Vec<LineItem>,
    #[serde(default)]
    customer: Option<CustomerPayload>,
}

#[derive(Deserialize)]
struct NoteAttribute {
    name: String,
    #[serde(default)]
    value: Value,
}

#[derive(Deserialize)]
struct LineItem {
    title: String,
    quantity: i64,
    #[serde(default)]
    sku: Option<String>,
    price: String,
}

#[derive(Deserialize)]
struct CustomerPayload {
    #[serde(default)]
    id: Value,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
}

pub(super) fn parse_order(body: &[u8]) -> Result<ExternalOrder, WebhookError> {
    let order: OrderPayload = serde_json::from_slice(body).map_err(malformed)?;
    let external_id = id_text(&order.id).ok_or_else(|| malformed("the order has no id"))?;
    let currency = Currency::parse(&order.currency).map_err(|_| malformed(format!("currency `{}`", order.currency)))?;
    let total = order
        .current_total_price
        .as_deref()
        .or(order.total_price.as_deref())
        .ok_or_else(|| malformed("the order has no total"))?;
    let total_minor = parse_money(total, currency).map_err(malformed)?;
    let attribute = |name: &str| {
        order
            .note_attributes
            .iter()
            .find(|attribute| attribute.name == name)
            .and_then(|attribute| attribute.value.as_str())
            .map(str::to_owned)
    };
    let (payment_method, payment_customer) =
        (attribute(PAYMENT_METHOD_ATTRIBUTE), attribute(PAYMENT_CUSTOMER_ATTRIBUTE));
    let line_items = order
        .line_items
        .into_iter()
        .map(|line| {
            Ok(OrderLine {
                price_minor: parse_money(&line.price, currency).map_err(malformed)?,
                title: line.title,
                quantity: line.quantity,
                sku: line.sku.filter(|sku| !sku.is_empty()),
            })
        })
        .collect::<Result<_, WebhookError>>()?;
    let customer = order.customer.map(|customer| {
        let name = [customer.first_name, customer.last_name].into_iter().flatten().collect::<Vec<_>>().join(" ");
        Customer {
            external_id: id_text(&customer.id),
            email: customer.email,
            name: Some(name.trim().to_owned()).filter(|name| !name.is_empty()),
        }
    });
    Ok(ExternalOrder {
        external_id,
        name: order.name,
        total_minor,
        currency,
        already_paid: order.financial_status.as_deref() == Some("paid"),
        payment_method,
        payment_customer,
        line_items,
        customer,
    })
}

#[derive(Deserialize)]
struct ProductPayload {
    id: Value,
    #[serde(default)]
    admin_graphql_api_id: Option<String>,
    title: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    image: Option<ImagePayload>,
    #[serde(default)]
    images: Vec<ImagePayload>,
    #[serde(default)]
    variants: Vec<VariantPayload>,
    #[serde(default)]
    vendor: Option<String>,
    #[serde(default)]
    product_type: Option<String>,
}

#[derive(Deserialize)]
struct ImagePayload {
    src: String,
}

#[derive(Deserialize)]
struct VariantPayload {
    id: Value,
    #[serde(default)]
    admin_graphql_api_id: Option<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    sku: Option<String>,
    price: String,
    #[serde(default)]
    inventory_quantity: Option<i64>,
}

/// A `products/update` payload, with ids in the GID form the catalog sync stores (`gid://shopify/Product/…`).
/// The payload does not carry the shop's currency; without one, prices are read with two decimals (the
/// precision of nearly every shop currency), which is wrong for zero- and three-decimal currencies.
pub(super) fn parse_product(body: &[u8], currency: Option<Currency>) -> Result<ExternalProduct, WebhookError> {
    let product: ProductPayload = serde_json::from_slice(body).map_err(malformed)?;
    let currency = match currency {
        Some(currency) => currency,
        None => Currency::parse("USD").map_err(|_| malformed("no default currency"))?,
    };
    let gid = |kind: &str, graphql_id: Option<String>, id: &Value| {
        graphql_id
            .or_else(|| id_text(id).map(|id| format!("gid://shopify/{kind}/{id}")))
            .ok_or_else(|| malformed(format!("a {kind} without an id")))
    };
    let variants = product
        .variants
        .into_iter()
        .map(|variant| {
            Ok(ExternalVariant {
                external_id: gid("ProductVariant", variant.admin_graphql_api_id, &variant.id)?,
                title: variant.title,
                sku: variant.sku.filter(|sku| !sku.is_empty()),
                price_minor: parse_money(&variant.price, currency).map_err(malformed)?,
                inventory_quantity: variant.inventory_quantity,
            })
        })
        .collect::<Result<_, WebhookError>>()?;
    Ok(ExternalProduct {
        external_id: gid("Product", product.admin_graphql_api_id, &product.id)?,
        title: product.title,
        status: product.status.unwrap_or_else(|| "active".into()).to_ascii_lowercase(),
        image_url: product.image.or_else(|| product.images.into_iter().next()).map(|image| image.src),
        updated_at: product.updated_at.and_then(|at| OffsetDateTime::parse(&at, &Rfc3339).ok()),
        variants,
        vendor: label(product.vendor),
        product_type: label(product.product_type),
    })
}
