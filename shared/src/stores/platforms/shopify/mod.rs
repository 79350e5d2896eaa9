//! Shopify: the Admin GraphQL API at `{shop}/admin/api/{API_VERSION}/graphql.json`, authenticated with the
//! `X-Shopify-Access-Token` header. The documents and their costs live in [`queries`], the response shapes,
//! money strings and cost-bucket arithmetic in [`wire`], the call and its error classification in
//! [`transport`], the webhook deliveries in [`webhooks`].
//!
//! A product's vendor and product type are `Product.vendor` and `Product.productType` in GraphQL
//! ([`queries::PRODUCTS_PAGE`]) and `vendor` and `product_type` in the REST webhook payload
//! ([`webhooks`]); both are strings, `""` when the merchant set none, which is kept as none.
//!
//! How answers are classified ("Shopify API response status and error codes",
//! https://shopify.dev/docs/api/usage/response-codes; "GraphQL Admin API rate limits",
//! https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits):
//!
//! | answer                                                   | error                                    |
//! |----------------------------------------------------------|------------------------------------------|
//! | 200 with `data` and no `errors`                          | ok                                       |
//! | 200 with `errors[].extensions.code == "THROTTLED"`       | Throttled, until the requested cost fits |
//! | 200 with `ACCESS_DENIED` / `SHOP_INACTIVE`               | Unauthorized                             |
//! | 200 with `INTERNAL_SERVER_ERROR`                         | Unavailable                              |
//! | 200 with other errors (`MAX_COST_EXCEEDED`, bad query)   | Invalid                                  |
//! | 401 (invalid token), 402 (frozen shop), 403, 423 (locked shop) | Unauthorized, with Shopify's reason |
//! | 429                                                      | Throttled (`Retry-After`, else 1 s)      |
//! | 5xx, timeout, connection failure                         | Unavailable                              |
//! | anything else                                            | Invalid                                  |

mod delivery_rules;
mod installation;
mod profile;
mod queries;
mod transport;
mod webhooks;
mod wire;

use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::Url;

pub use self::queries::DOCUMENTS;
use self::queries::*;
use self::transport::Answer;
pub use self::wire::{MoneyError, parse_money};
use self::wire::{QueryCost, wait_for};
use super::{
    Delivery, ExternalOrder, ExternalProduct, ExternalVariant, Platform, PlatformError, ProductPage, StoreCredentials,
    StoreEndpoint, StoreInfo, StorePlatform, StoreWebhooks, WebhookError, WebhookSubscription, WebhookTopic, label,
};
use crate::kernel::money::Currency;

/// The Admin API version every call pins, so the shop's default cannot change the shapes we parse. A stable
/// version is supported for at least 12 months after its release ("About Shopify API versioning",
/// https://shopify.dev/docs/api/usage/versioning); 2026-07 is the newest released stable one.
pub const API_VERSION: &str = "2026-07";

#[derive(Clone, Copy, Debug, Default)]
pub struct ShopifyPlatform;

impl ShopifyPlatform {
    /// The variants of a product past the first [`VARIANTS_PER_PRODUCT`], waiting for the bucket before each
    /// follow-up. Returns the last cost seen.
    async fn remaining_variants(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        product_id: &str,
        mut cursor: Option<String>,
        variants: &mut Vec<VariantNode>,
        mut cost: Option<QueryCost>,
    ) -> Result<Option<QueryCost>, PlatformError> {
        while let Some(after) = cursor.take() {
            if let Some(cost) = &cost {
                tokio::time::sleep(wait_for(
                    f64::from(product_variants_cost(VARIANTS_PER_FOLLOW_UP)),
                    &cost.throttle_status,
                ))
                .await;
            }
            let answer: Answer<ProductVariantsData> = self
                .graphql(endpoint, credentials, PRODUCT_VARIANTS, json!({ "id": product_id, "after": after }))
                .await?;
            cost = answer.cost.or(cost);
            let Some(product) = answer.data.product else { break };
            variants.extend(product.variants.nodes);
            if product.variants.page_info.has_next_page {
                cursor = product.variants.page_info.end_cursor;
            }
        }
        Ok(cost)
    }
}

fn currency_of(code: &str) -> Result<Currency, PlatformError> {
    Currency::parse(code).map_err(|_| PlatformError::Invalid { reason: format!("unknown shop currency `{code}`") })
}

fn variant(node: VariantNode, currency: Currency) -> Result<ExternalVariant, PlatformError> {
    let price_minor = parse_money(&node.price, currency)
        .map_err(|error| PlatformError::Invalid { reason: format!("variant {}: {error}", node.id) })?;
    Ok(ExternalVariant {
        external_id: node.id,
        title: node.title,
        sku: node.sku.filter(|sku| !sku.is_empty()),
        price_minor,
        inventory_quantity: node.inventory_quantity,
    })
}

fn product(
    node: ProductNode,
    variants: Vec<VariantNode>,
    currency: Currency,
) -> Result<ExternalProduct, PlatformError> {
    Ok(ExternalProduct {
        external_id: node.id,
        title: node.title,
        // ACTIVE / DRAFT / ARCHIVED.
        status: node.status.to_ascii_lowercase(),
        image_url: node.featured_media.and_then(|media| media.image).map(|image| image.url),
        updated_at: node.updated_at.and_then(|at| OffsetDateTime::parse(&at, &Rfc3339).ok()),
        variants: variants.into_iter().map(|node| variant(node, currency)).collect::<Result<_, _>>()?,
        vendor: label(node.vendor),
        product_type: label(node.product_type),
    })
}

#[async_trait]
impl StorePlatform for ShopifyPlatform {
    fn platform(&self) -> Platform {
        Platform::Shopify
    }

    async fn verify(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
    ) -> Result<StoreInfo, PlatformError> {
        let answer: Answer<ShopData> = self.graphql(endpoint, credentials, SHOP, json!({})).await?;
        let shop = answer.data.shop;
        let name = shop.name.or(shop.my_shopify_domain).unwrap_or_default();
        Ok(StoreInfo { name, currency: Some(currency_of(&shop.currency_code)?) })
    }

    async fn products_page(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        cursor: Option<&str>,
    ) -> Result<ProductPage, PlatformError> {
        let answer: Answer<ProductsData> =
            self.graphql(endpoint, credentials, PRODUCTS_PAGE, json!({ "after": cursor })).await?;
        let page_cost =
            answer.cost.map_or(f64::from(products_page_cost(PRODUCTS_PER_PAGE, VARIANTS_PER_PRODUCT)), |cost| {
                cost.requested_query_cost
            });
        let mut last_cost = answer.cost;
        let currency = currency_of(&answer.data.shop.currency_code)?;
        let total = answer.data.products_count.filter(|count| count.precision == "EXACT").map(|count| count.count);
        let connection = answer.data.products;
        let mut products = Vec::with_capacity(connection.nodes.len());
        for mut node in connection.nodes {
            let mut variants = std::mem::take(&mut node.variants.nodes);
            if node.variants.page_info.has_next_page {
                let cursor = node.variants.page_info.end_cursor.take();
                last_cost =
                    self.remaining_variants(endpoint, credentials, &node.id, cursor, &mut variants, last_cost).await?;
            }
            products.push(product(node, variants, currency)?);
        }
        let next = if connection.page_info.has_next_page {
            Some(
                connection
                    .page_info
                    .end_cursor
                    .ok_or_else(|| PlatformError::Invalid { reason: "hasNextPage without an endCursor".into() })?,
            )
        } else {
            None
        };
        // Reported on the last page too: the next request may be the first page of the next sync.
        let wait_before_next =
            last_cost.as_ref().map_or(Duration::ZERO, |cost| wait_for(page_cost, &cost.throttle_status));
        Ok(ProductPage { products, currency, next, wait_before_next, total })
    }
}

fn topic_enum(topic: WebhookTopic) -> &'static str {
    match topic {
        WebhookTopic::OrderCreated => "ORDERS_CREATE",
        WebhookTopic::ProductUpdated => "PRODUCTS_UPDATE",
        WebhookTopic::AppUninstalled => "APP_UNINSTALLED",
    }
}

fn user_error_text(errors: &[UserError]) -> String {
    errors.iter().map(|error| error.message.as_str()).collect::<Vec<_>>().join("; ")
}

/// `gid://shopify/Order/<id>` from the webhook's numeric id (a GID is taken as is).
fn order_gid(order_id: &str) -> Result<String, PlatformError> {
    if order_id.starts_with("gid://shopify/Order/") {
        Ok(order_id.to_owned())
    } else if !order_id.is_empty() && order_id.bytes().all(|byte| byte.is_ascii_digit()) {
        Ok(format!("gid://shopify/Order/{order_id}"))
    } else {
        Err(PlatformError::Invalid { reason: format!("`{order_id}` is not a Shopify order id") })
    }
}

#[async_trait]
impl StoreWebhooks for ShopifyPlatform {
    async fn subscribe(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        address: &Url,
        topics: &[WebhookTopic],
    ) -> Result<Vec<WebhookSubscription>, PlatformError> {
        let mut subscriptions = Vec::with_capacity(topics.len());
        for &topic in topics {
            let variables = json!({
                "topic": topic_enum(topic),
                "webhookSubscription": { "uri": address.as_str(), "format": "JSON" },
            });
            let answer: Answer<SubscriptionCreateData> =
                self.graphql(endpoint, credentials, WEBHOOK_SUBSCRIPTION_CREATE, variables).await?;
            let payload = answer.data.webhook_subscription_create;
            let created = payload.webhook_subscription.filter(|_| payload.user_errors.is_empty());
            let subscription = match created {
                Some(subscription) => subscription,
                // "Address for this topic has already been taken": the subscription exists, so find it.
                // Looked up whatever the message says, so a reworded message does not break idempotency.
                None => {
                    let variables = json!({ "topics": [topic_enum(topic)], "uri": address.as_str() });
                    let existing: Answer<SubscriptionsData> =
                        self.graphql(endpoint, credentials, WEBHOOK_SUBSCRIPTIONS, variables).await?;
                    existing.data.webhook_subscriptions.nodes.into_iter().next().ok_or_else(|| {
                        PlatformError::Invalid {
                            reason: format!(
                                "Shopify refused the {} subscription: {}",
                                topic_enum(topic),
                                user_error_text(&payload.user_errors)
                            ),
                        }
                    })?
                }
            };
            subscriptions.push(WebhookSubscription {
                topic,
                external_id: subscription.id,
                address: subscription.uri.unwrap_or_else(|| address.to_string()),
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
        for subscription in subscriptions {
            let variables = json!({ "id": subscription.external_id });
            let answer: Answer<SubscriptionDeleteData> =
                self.graphql(endpoint, credentials, WEBHOOK_SUBSCRIPTION_DELETE, variables.clone()).await?;
            let errors = answer.data.webhook_subscription_delete.user_errors;
            if errors.is_empty() {
                continue;
            }
            // Refused: fine if it is already gone (the documented error text is not relied on).
            let lookup: Answer<SubscriptionData> =
                self.graphql(endpoint, credentials, WEBHOOK_SUBSCRIPTION, variables).await?;
            if lookup.data.webhook_subscription.is_some() {
                return Err(PlatformError::Invalid {
                    reason: format!("Shopify refused to delete the subscription: {}", user_error_text(&errors)),
                });
            }
        }
        Ok(())
    }

    fn verify_delivery(
        &self,
        credentials: &StoreCredentials,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<Delivery, WebhookError> {
        webhooks::verify_delivery(credentials, headers, body)
    }

    fn screen(
        &self,
        delivery: &Delivery,
        context: &super::DeliveryContext<'_>,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<super::Screening, WebhookError> {
        delivery_rules::screen(delivery, context, headers, body)
    }

    async fn installation(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
    ) -> Result<super::Installation, PlatformError> {
        installation::installation(endpoint, credentials).await
    }

    fn parse_order(&self, body: &[u8]) -> Result<ExternalOrder, WebhookError> {
        webhooks::parse_order(body)
    }

    fn parse_product(&self, body: &[u8], currency: Currency) -> Result<ExternalProduct, WebhookError> {
        webhooks::parse_product(body, Some(currency))
    }

    async fn mark_order_paid(
        &self,
        endpoint: &StoreEndpoint,
        credentials: &StoreCredentials,
        order_id: &str,
        psp_reference: &str,
    ) -> Result<(), PlatformError> {
        let id = order_gid(order_id)?;
        let answer: Answer<MarkAsPaidData> =
            self.graphql(endpoint, credentials, ORDER_MARK_AS_PAID, json!({ "input": { "id": id } })).await?;
        let errors = answer.data.order_mark_as_paid.user_errors;
        if errors.is_empty() {
            // `OrderMarkAsPaidInput` has no reference field; the PSP reference stays in Pivota's records.
            tracing::info!(order = %id, psp_reference, "Shopify order marked paid");
            return Ok(());
        }
        // "An order can be marked as paid only if it has a positive outstanding balance and its financial
        // status isn't already PAID": a retry after a lost answer lands here, and is a success.
        let status: Answer<OrderData> =
            self.graphql(endpoint, credentials, ORDER_FINANCIAL_STATUS, json!({ "id": id })).await?;
        match status.data.order.and_then(|order| order.display_financial_status).as_deref() {
            Some("PAID") => Ok(()),
            _ => Err(PlatformError::Invalid {
                reason: format!("Shopify refused to mark the order paid: {}", user_error_text(&errors)),
            }),
        }
    }
}
