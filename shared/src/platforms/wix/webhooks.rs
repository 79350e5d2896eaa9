//! Wix webhooks: deliveries are JWTs signed RS256 with the app's public key, verified before anything is
//! read; orders, and their write-back as a payment record on the order. Sources: see the parent module.

use super::*;

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
