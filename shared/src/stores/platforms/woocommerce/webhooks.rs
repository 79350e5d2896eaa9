//! WooCommerce webhooks: subscriptions (`POST /webhooks` with a secret Pivota generates, found again by
//! delivery URL and topic so setup is idempotent), verified deliveries (the unsigned creation ping, then
//! `X-WC-Webhook-Signature`), orders and their write-back (`PUT /orders/{id}` with `set_paid` and the PSP
//! reference as `transaction_id`). Sources: see the parent module.

use super::*;

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
    all_pages(endpoint, keys, Route::Webhooks, false, "webhooks", without_waiting()).await
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
                        .put(Route::Webhook { id: hook.id }.url(&endpoint.base))
                        .json(&json!({ "status": "active", "secret": secret }));
                    call(request, &keys, false, without_waiting()).await?
                }
                None => {
                    let request = endpoint.http.post(Route::Webhooks.url(&endpoint.base)).json(&json!({
                        "name": format!("Pivota {name}"),
                        "status": "active",
                        "topic": name,
                        "delivery_url": address.as_str(),
                        "secret": secret,
                    }));
                    call(request, &keys, false, without_waiting()).await?
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
            let request = endpoint.http.delete(Route::Webhook { id }.url(&endpoint.base)).query(&[("force", "true")]);
            call(request, &keys, true, without_waiting()).await?;
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
        let mut delivery = verify_signed_delivery(
            credentials,
            headers,
            body,
            "x-wc-webhook-signature",
            base64,
            "x-wc-webhook-topic",
            "x-wc-webhook-delivery-id",
        )?;
        // `X-WC-Webhook-Delivery-ID` is not per event: WooCommerce computes it as
        // `wp_hash( webhook id . strtotime( 'now' ) )` (`WC_Webhook::get_new_delivery_id`), so two orders (or two
        // product edits) delivered by one webhook within a second share it. What identifies the event is
        // what was delivered: the hash of the verified body (a redelivery of the same event is the same body).
        use sha2::Digest as _;
        delivery.event_id = Some(format!("body-{}", hex::encode(sha2::Sha256::digest(body))));
        Ok(delivery)
    }

    fn parse_order(&self, body: &[u8]) -> Result<ExternalOrder, WebhookError> {
        let order: WooOrder = serde_json::from_slice(body)
            .map_err(|error| WebhookError::Malformed(format!("not a WooCommerce order: {error}")))?;
        let currency = Currency::parse(&order.currency)
            .map_err(|_| WebhookError::Malformed(format!("unknown currency {:?}", order.currency)))?;
        let total_minor = decimal_to_minor(&order.total, currency)
            .ok_or_else(|| WebhookError::Malformed(format!("total {:?} is not an amount", order.total)))?;
        let meta = |key: &str| {
            order.meta_data.iter().find(|meta| meta.key == key).and_then(|meta| meta.value.as_str()).map(str::to_owned)
        };
        let (payment_method, payment_customer) = (meta("pivota_payment_method"), meta("pivota_customer"));
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
            payment_customer,
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
            .put(Route::Order { id }.url(&endpoint.base))
            .json(&json!({ "set_paid": true, "transaction_id": psp_reference }));
        call(request, &keys, false, without_waiting()).await?;
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
}
