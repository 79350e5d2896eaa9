//! The answers of the root fields the fake knows, as full objects (trimmed to the selection by the caller).

use serde_json::{Value, json};

use super::catalog;
use super::graphql::{Field, Kind};
use super::{FakeWebhookSubscription, State};

fn string_arg<'a>(field: &'a Field, name: &str) -> Option<&'a str> {
    field.arg(name).and_then(Value::as_str)
}

fn subscription_json(subscription: &FakeWebhookSubscription) -> Value {
    json!({
        "id": subscription.id,
        "topic": subscription.topic,
        "uri": subscription.uri,
        "callbackUrl": subscription.uri,
        "format": "JSON",
        "endpoint": { "__typename": "WebhookHttpEndpoint", "callbackUrl": subscription.uri },
    })
}

pub(super) fn resolve(state: &mut State, kind: Kind, field: &Field) -> Result<Value, String> {
    let root = if kind == Kind::Mutation { "Mutation" } else { "QueryRoot" };
    Ok(match (kind, field.name.as_str()) {
        (Kind::Query, "shop") => json!({
            "id": format!("gid://shopify/Shop/{}", state.shop.id),
            "name": state.shop.name,
            "myshopifyDomain": state.shop.domain,
            "currencyCode": state.shop.currency,
        }),
        (Kind::Query, "productsCount") => json!({
            "count": (0..state.catalog.len).filter(|&index| state.catalog.exists(index)).count(),
            "precision": "EXACT",
        }),
        (Kind::Query, "products") => {
            state.pages_served += 1;
            let first = field.arg("first").and_then(Value::as_u64).unwrap_or(0).min(250) as usize;
            let (indices, has_next) = state.catalog.page(first, string_arg(field, "after"));
            let variants = field.child("nodes").and_then(|nodes| nodes.child("variants"));
            let variants_first = variants.and_then(|v| v.arg("first")).and_then(Value::as_u64).unwrap_or(0) as usize;
            let nodes: Vec<Value> =
                indices.iter().map(|&index| state.catalog.product(index, variants_first, None)).collect();
            let cursor =
                |index: Option<&usize>| index.map(|&index| catalog::cursor(catalog::PRODUCT_ID_BASE + index as u64));
            json!({
                "pageInfo": {
                    "hasNextPage": has_next,
                    "hasPreviousPage": string_arg(field, "after").is_some(),
                    "startCursor": cursor(indices.first()),
                    "endCursor": cursor(indices.last()),
                },
                "nodes": nodes,
            })
        }
        (Kind::Query, "product") => {
            let variants = field.child("variants");
            let first = variants.and_then(|v| v.arg("first")).and_then(Value::as_u64).unwrap_or(0) as usize;
            let after = variants.and_then(|v| string_arg(v, "after"));
            match string_arg(field, "id").and_then(|id| state.catalog.index_of(id)) {
                Some(index) => state.catalog.product(index, first, after),
                None => Value::Null,
            }
        }
        (Kind::Mutation, "webhookSubscriptionCreate") => {
            let topic = string_arg(field, "topic").unwrap_or_default().to_owned();
            let input = field.arg("webhookSubscription").cloned().unwrap_or(Value::Null);
            let uri = input.get("uri").or_else(|| input.get("callbackUrl")).and_then(Value::as_str);
            let user_error = |message: &str| {
                json!({ "webhookSubscription": null, "userErrors": [
                    { "field": ["webhookSubscription", "callbackUrl"], "message": message }
                ] })
            };
            let Some(uri) = uri.filter(|uri| !uri.is_empty()) else { return Ok(user_error("Address can't be blank")) };
            if state.subscriptions.values().any(|existing| existing.topic == topic && existing.uri == uri) {
                return Ok(user_error("Address for this topic has already been taken"));
            }
            let number = state.next_subscription;
            state.next_subscription += 1;
            let subscription = FakeWebhookSubscription {
                id: format!("gid://shopify/WebhookSubscription/{number}"),
                topic,
                uri: uri.to_owned(),
            };
            let node = subscription_json(&subscription);
            state.subscriptions.insert(number, subscription);
            json!({ "webhookSubscription": node, "userErrors": [] })
        }
        (Kind::Query, "webhookSubscriptions") => {
            let first = field.arg("first").and_then(Value::as_u64).unwrap_or(0) as usize;
            let topics: Vec<&str> = field
                .arg("topics")
                .and_then(Value::as_array)
                .map_or(Vec::new(), |topics| topics.iter().filter_map(Value::as_str).collect());
            let uri = string_arg(field, "uri").or_else(|| string_arg(field, "callbackUrl"));
            let nodes: Vec<Value> = state
                .subscriptions
                .values()
                .filter(|s| topics.is_empty() || topics.contains(&s.topic.as_str()))
                .filter(|s| uri.is_none_or(|uri| s.uri == uri))
                .take(first)
                .map(subscription_json)
                .collect();
            json!({ "nodes": nodes, "pageInfo": { "hasNextPage": false, "endCursor": null } })
        }
        (Kind::Query, "webhookSubscription") => {
            let id = string_arg(field, "id").unwrap_or_default();
            state.subscriptions.values().find(|s| s.id == id).map_or(Value::Null, subscription_json)
        }
        (Kind::Mutation, "webhookSubscriptionDelete") => {
            let id = string_arg(field, "id").unwrap_or_default().to_owned();
            let number = state.subscriptions.iter().find(|(_, s)| s.id == id).map(|(number, _)| *number);
            match number {
                Some(number) => {
                    state.subscriptions.remove(&number);
                    json!({ "deletedWebhookSubscriptionId": id, "userErrors": [] })
                }
                None => json!({ "deletedWebhookSubscriptionId": null, "userErrors": [
                    { "field": ["id"], "message": "Webhook subscription does not exist" }
                ] }),
            }
        }
        (Kind::Mutation, "orderMarkAsPaid") => {
            let id = field.arg("input").and_then(|input| input.get("id")).and_then(Value::as_str);
            let Some(id) = id.filter(|id| id.starts_with("gid://shopify/Order/")) else {
                return Ok(json!({ "order": null, "userErrors": [
                    { "field": ["input", "id"], "message": "Order does not exist" }
                ] }));
            };
            let order = json!({ "id": id, "displayFinancialStatus": "PAID" });
            if state.orders_marked_paid.iter().any(|paid| paid == id) {
                return Ok(json!({ "order": order, "userErrors": [
                    { "field": ["id"], "message": "Order cannot be marked as paid." }
                ] }));
            }
            state.orders_marked_paid.push(id.to_owned());
            json!({ "order": order, "userErrors": [] })
        }
        (Kind::Query, "order") => {
            let id = string_arg(field, "id").unwrap_or_default();
            let paid = state.orders_marked_paid.iter().any(|paid| paid == id);
            json!({ "id": id, "displayFinancialStatus": if paid { "PAID" } else { "PENDING" } })
        }
        (_, name) => return Err(format!("Field '{name}' doesn't exist on type '{root}'")),
    })
}
