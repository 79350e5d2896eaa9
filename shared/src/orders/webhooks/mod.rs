//! Receiving store webhooks (`order-webhook`): verify on the raw bytes, check what the signature does not
//! cover (the platform's [`StoreWebhooks::screen`](crate::stores::platforms::StoreWebhooks::screen): the shop, the
//! payload's shape, its age), deduplicate, record, enqueue, and answer fast. The payment runs from the queue
//! (`payment_worker.rs`), so a slow PSP never makes the store retry. Shopify gives a delivery 5 seconds in
//! all.
//!
//! Setting a store's webhooks up (the address, the subscriptions) is in `setup.rs`.

use serde::Deserialize;

use crate::catalog::products;
use crate::kernel::error::Error;
use crate::kernel::money::{Currency, Money};
use crate::kernel::validation::FieldError;
use crate::onboarding::merchant::MerchantId;
use crate::orders::redaction;
use crate::orders::{self, Order, OrderStatus, Recorded, WriteBack};
use crate::payments::request::{parse_payment_method, parse_psp_customer};
use crate::ports::HasClock;
use crate::ports::HasQueue;
use crate::ports::HasSecrets;
use crate::ports::HasTable;
use crate::stores::credentials::HasStoreCredentials;
use crate::stores::platforms::{
    self, Customer, DeliveryContext, DeliveryTopic, Installation, Platform, ProductEvent, Screening, ShopIdentity,
    WebhookError,
};
use crate::stores::tasks::{self, StoreTask, TaskKind};
use crate::stores::url_safety::HasStoreUrls;
use crate::stores::{self, ConnectionStatus};

mod setup;

pub use setup::{address, setup};

/// The queue message that pays an order.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct PaymentMessage {
    pub merchant_id: String,
    pub order_id: String,
}

/// What a delivery did, for the logs.
#[derive(Debug, PartialEq, Eq)]
pub enum Handled {
    Ping,
    OrderQueued,
    Duplicate,
    ProductUpdated,
    /// A product update no newer than the stored product: ignored.
    NotNewer,
    /// The store is marked uninstalled and the removal of its products queued.
    Uninstalled,
    /// An uninstall notice while the shop still accepts the token: ignored.
    UninstallNotConfirmed,
    /// A redaction task is queued (`store_tasks.rs`).
    RedactionQueued,
    DataRequestLogged,
    Ignored,
    /// Triggered longer ago than the platform's retries last: acknowledged, not acted on.
    TooOld,
}

/// Handles one delivery to `/webhooks/{platform}/{store_id}`. A missing or bad signature is
/// `Unauthenticated` before anything is read or written.
pub async fn receive(
    app: &(impl HasTable + HasSecrets + HasQueue + HasClock + HasStoreUrls + HasStoreCredentials),
    platform: &str,
    store_id: &str,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<Handled, Error> {
    let platform = Platform::parse(platform).ok_or(Error::NotFound("webhook endpoint"))?;
    let merchant_id = stores::owner(app, store_id).await?.ok_or(Error::NotFound("webhook endpoint"))?;
    let store = stores::get(app, &merchant_id, store_id).await?;
    if store.platform != platform {
        return Err(Error::NotFound("webhook endpoint"));
    }
    let disconnected = !store.connection_status.is_active();
    let credentials = if disconnected {
        // A store the merchant disconnected keeps, if it is a Shopify store, its webhook secret alone; an
        // uninstalled Shopify app keeps its secret. Both for the compliance topics below; without a
        // secret, nothing can be verified, so nothing is accepted.
        stores::kept_credentials(app, &store).await?.ok_or(Error::Unauthenticated)?
    } else {
        stores::cached_credentials(app, &store).await?
    };
    let webhooks = platforms::webhooks(platform);
    let delivery = webhooks.verify_delivery(&credentials, headers, body).map_err(webhook_error)?;
    // Shopify sends `shop/redact` 48 hours after `app/uninstalled`, and redaction requests may follow an
    // uninstall too: a disconnected store gets those and nothing else.
    let compliance = matches!(
        delivery.topic,
        DeliveryTopic::CustomersRedact | DeliveryTopic::ShopRedact | DeliveryTopic::CustomersDataRequest
    );
    // An uninstalled store also takes its uninstall notice again: a retry whose first attempt may not have
    // queued the removal of its products.
    let uninstall_retry =
        delivery.topic == DeliveryTopic::AppUninstalled && store.connection_status == ConnectionStatus::Uninstalled;
    if disconnected && !compliance && !uninstall_retry {
        return Err(Error::Unauthenticated);
    }
    let shop = known_shop(&store);
    let context = DeliveryContext { shop: shop.as_ref(), now: app.clock().now() };
    if let Screening::TooOld { triggered_at } =
        webhooks.screen(&delivery, &context, headers, body).map_err(webhook_error)?
    {
        // Acknowledged, so the platform stops retrying; a decision this late would act on stale data.
        tracing::warn!(%merchant_id, store_id, topic = ?delivery.topic, %triggered_at, "webhook delivery too old; not acted on");
        return Ok(Handled::TooOld);
    }
    let malformed = |e: WebhookError| Error::MalformedBody(e.to_string());
    let event_id = delivery.event_id.as_deref();
    match delivery.topic {
        DeliveryTopic::Ping => Ok(Handled::Ping),
        DeliveryTopic::OrderCreated => {
            let external = webhooks.parse_order(body).map_err(malformed)?;
            let now = app.clock().now();
            // A verified order Pivota cannot charge is still acknowledged (a 4xx would make the store
            // retry, then switch its webhooks off): it is recorded as `not_chargeable`, with the reason.
            let mut unchargeable = None;
            let total = Money::new(external.total_minor, external.currency).unwrap_or_else(|e| {
                unchargeable = Some(format!("the order total {e}"));
                Money { amount_minor: external.total_minor, currency: external.currency }
            });
            // Never stored when refused (a card number as payment method): the order waits for no one.
            let payment_method = storefront_field(
                external.payment_method,
                "pivota_payment_method",
                parse_payment_method,
                &mut unchargeable,
            );
            let payment_customer =
                storefront_field(external.payment_customer, "pivota_customer", parse_psp_customer, &mut unchargeable);
            let status = match (&unchargeable, external.already_paid) {
                (_, true) => OrderStatus::AlreadyPaid,
                (Some(_), false) => OrderStatus::NotChargeable,
                (None, false) => OrderStatus::Received,
            };
            let order = Order {
                order_id: orders::order_id(store_id, &external.external_id),
                received: ulid::Ulid::new().to_string(),
                merchant_id: merchant_id.clone(),
                store_id: store_id.to_owned(),
                external_id: external.external_id,
                name: external.name,
                total,
                line_items: external.line_items,
                customer_index: external
                    .customer
                    .as_ref()
                    .map(|customer| redaction::customer_index_keys(&credentials, store_id, customer))
                    .unwrap_or_default(),
                customer: external.customer,
                payment_method,
                payment_customer,
                status,
                payment_id: None,
                psp: None,
                psp_reference: None,
                decline_code: None,
                next_action: None,
                failure: unchargeable,
                write_back: WriteBack::NotNeeded,
                write_back_error: None,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            let handled = match orders::record(app, order, event_id).await? {
                Recorded::New(order) if order.status == OrderStatus::Received => {
                    enqueue(app, &merchant_id, &order.order_id).await?;
                    Handled::OrderQueued
                }
                Recorded::New(_) => Handled::OrderQueued,
                // The first delivery may have recorded the order and then failed to queue it: queue it
                // again (paying is idempotent per order, so a second message charges nothing more).
                Recorded::Duplicate(Some(order)) => {
                    enqueue(app, &merchant_id, &order.order_id).await?;
                    Handled::Duplicate
                }
                Recorded::Duplicate(None) => return Ok(Handled::Duplicate),
            };
            // Only now are the order and its payment message both durable: a delivery that failed before
            // this point is retried by the store and recorded or queued again.
            if let Some(event_id) = event_id {
                orders::remember_event(app, store_id, event_id).await;
            }
            Ok(handled)
        }
        DeliveryTopic::ProductUpdated => {
            if let Some(event_id) = event_id
                && orders::event_recorded(app, store_id, event_id).await?
            {
                return Ok(Handled::Duplicate);
            }
            let currency =
                store.currency.unwrap_or(Currency::parse("EUR").map_err(|e| Error::Internal(e.to_string()))?);
            let (external_id, current) = match webhooks.parse_product_event(body, currency).map_err(malformed)? {
                ProductEvent::Changed(product) => (product.external_id.clone(), Some(product)),
                ProductEvent::Deleted { external_id } => (external_id, None),
                // The event names the product only: what the store has now (nothing: it was deleted since).
                ProductEvent::Named { external_id } => {
                    let url = url::Url::parse(&store.store_url).map_err(|e| Error::Internal(e.to_string()))?;
                    let endpoint = stores::endpoint(app, &url, std::time::Duration::from_secs(15)).await?;
                    let current = platforms::catalog(platform)
                        .product(&endpoint, &credentials, &external_id, currency)
                        .await
                        .map_err(|e| stores::platform_error(platform, e))?;
                    (external_id, current)
                }
            };
            let id = products::product_id(store_id, &external_id);
            let stored = products::get(app, &merchant_id, &id).await?;
            // Deliveries arrive out of order (and retries hours late): an update no newer than what is stored
            // would put older data back.
            let stored_at = stored.as_ref().and_then(|product| product.store_updated_at);
            let handled = match current {
                Some(external)
                    if let (Some(incoming), Some(stored_at)) = (external.updated_at, stored_at)
                        && incoming <= stored_at =>
                {
                    tracing::info!(store_id, product = %external.external_id, %incoming, %stored_at, "product update not newer than the stored product; ignored");
                    Handled::NotNewer
                }
                Some(external) => {
                    let stored = stored.map(|p| (id, p)).into_iter().collect();
                    let outcome =
                        products::save_from_store(app, &merchant_id, store_id, currency, vec![external], stored, None)
                            .await?;
                    // The store would only send it again: acknowledged, and logged for the merchant's support.
                    for skipped in outcome.skipped {
                        tracing::warn!(%merchant_id, store_id, product = skipped.external_id, reason = skipped.reason, "product update not stored");
                    }
                    Handled::ProductUpdated
                }
                None => {
                    let stored = stored.map(|p| (id, p)).into_iter().collect();
                    products::mark_removed(app, &merchant_id, stored, None).await?;
                    Handled::ProductUpdated
                }
            };
            // Only once the product is written: a failed attempt is then retried by the store, not
            // taken for a duplicate. Two concurrent copies both write the same product, which is harmless.
            if let Some(event_id) = event_id {
                orders::remember_event(app, store_id, event_id).await;
            }
            Ok(handled)
        }
        DeliveryTopic::AppUninstalled => {
            if !uninstall_retry && !uninstall_confirmed(app, &store, &credentials).await? {
                tracing::warn!(%merchant_id, store_id, "app/uninstalled not applied: the shop still accepts the access token");
                return Ok(Handled::UninstallNotConfirmed);
            }
            // As after a disconnect by the merchant, its products leave the catalog: a task does it, so the
            // delivery is acknowledged at once. The secret stays, so that Shopify's compliance deliveries
            // (shop/redact, 48 hours later) can still be verified.
            stores::deactivate(app, &merchant_id, store_id, ConnectionStatus::Uninstalled).await?;
            Ok(Handled::Uninstalled)
        }
        DeliveryTopic::CustomersRedact => {
            #[derive(Deserialize)]
            struct Redact {
                customer: RedactCustomer,
            }
            #[derive(Deserialize)]
            struct RedactCustomer {
                id: Option<serde_json::Value>,
                email: Option<String>,
            }
            let request: Redact = serde_json::from_slice(body).map_err(|e| Error::MalformedBody(e.to_string()))?;
            let customer = Customer {
                external_id: request.customer.id.map(|id| id.to_string().trim_matches('"').to_owned()),
                email: request.customer.email,
                name: None,
            };
            let customer_keys = redaction::customer_index_keys(&credentials, store_id, &customer);
            if customer_keys.is_empty() {
                return Ok(Handled::Ignored);
            }
            let task = StoreTask::new(app, &merchant_id, store_id, TaskKind::RedactCustomer { customer_keys });
            tasks::start(app, &task).await?;
            Ok(Handled::RedactionQueued)
        }
        DeliveryTopic::ShopRedact => {
            // The task reads only the table: the secrets may go at once.
            tasks::start(app, &StoreTask::new(app, &merchant_id, store_id, TaskKind::RedactShop)).await?;
            // The last word on a shop that is gone: its secrets go too (a connected store keeps its own).
            if disconnected {
                stores::delete_secrets(app, &store).await?;
            }
            Ok(Handled::RedactionQueued)
        }
        DeliveryTopic::CustomersDataRequest => {
            tracing::info!(%merchant_id, store_id, "customer data request received; the merchant exports it from the orders list");
            Ok(Handled::DataRequestLogged)
        }
        DeliveryTopic::Other(topic) => {
            tracing::info!(store_id, topic, "webhook topic ignored");
            Ok(Handled::Ignored)
        }
    }
}

/// The domain error for a delivery a platform refused.
fn webhook_error(error: WebhookError) -> Error {
    match error {
        WebhookError::BadSignature => Error::Unauthenticated,
        WebhookError::Malformed(reason) => Error::MalformedBody(reason),
        WebhookError::WrongShop(reason) => Error::Forbidden(reason),
        error @ WebhookError::NotTopicPayload { .. } => {
            Error::Validation(FieldError::new("body", error.to_string()).into())
        }
        WebhookError::BadHeader { header, reason } => Error::bad_parameter(header, reason),
    }
}

/// The shop a store's deliveries must name: as the platform said when its webhooks were set up, else (a
/// Shopify store set up before that was recorded) its URL's `*.myshopify.com` host.
fn known_shop(store: &stores::Store) -> Option<ShopIdentity> {
    store.shop_identity.clone().or_else(|| {
        let url = url::Url::parse(&store.store_url).ok()?;
        store.platform.profile().shop_identity(&url)
    })
}

/// Whether the store no longer accepts Pivota's token, asked live: an uninstall notice is acted on only
/// then (a reinstalled app, or a replayed notice, leaves the store connected). Unanswered, the delivery
/// fails with a 503, so the platform retries it.
async fn uninstall_confirmed(
    app: &impl HasStoreUrls,
    store: &stores::Store,
    credentials: &platforms::StoreCredentials,
) -> Result<bool, Error> {
    let url = url::Url::parse(&store.store_url).map_err(|e| Error::Internal(e.to_string()))?;
    // Shopify gives a delivery 5 seconds in all.
    let endpoint = stores::endpoint(app, &url, std::time::Duration::from_secs(3)).await?;
    match platforms::webhooks(store.platform).installation(&endpoint, credentials).await {
        Ok(Installation::Revoked) => Ok(true),
        Ok(Installation::Installed(_)) => Ok(false),
        Err(error) => Err(Error::Unavailable(format!("{} could not confirm the uninstall: {error}", store.platform))),
    }
}

/// A storefront attribute of the order, parsed; one that does not parse is dropped and makes the order not
/// chargeable, the attribute named in the reason (the first reason found is kept).
fn storefront_field(
    raw: Option<String>,
    name: &str,
    parse: fn(&str) -> Result<String, &'static str>,
    unchargeable: &mut Option<String>,
) -> Option<String> {
    match parse(raw.as_deref()?) {
        Ok(value) => Some(value),
        Err(message) => {
            unchargeable.get_or_insert(format!("{name} {message}"));
            None
        }
    }
}

async fn enqueue(app: &impl HasQueue, merchant_id: &MerchantId, order_id: &str) -> Result<(), Error> {
    let message = PaymentMessage { merchant_id: merchant_id.to_string(), order_id: order_id.to_owned() };
    let body = serde_json::to_string(&message).map_err(|e| Error::Internal(e.to_string()))?;
    app.queue().send(app.payment_queue(), &body, std::time::Duration::ZERO).await?;
    Ok(())
}
