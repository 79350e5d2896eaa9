//! The store's side: `order.created` payloads and their signed deliveries, retried as a store retries them.

use std::sync::Arc;
use std::time::Instant;

use pivota_fakes::FakeCustomStore;
use serde_json::json;

use crate::{DELIVERY_ATTEMPTS, DELIVERY_RETRY_PAUSE};

/// A custom-contract `order.created` payload (the shape of `shared/tests/it/fixtures/shop.rs`).
pub(crate) fn order(n: u32) -> Vec<u8> {
    let id = 7000 + n;
    serde_json::to_vec(&json!({
        "id": id.to_string(), "number": format!("#{id}"), "currency": "EUR", "total_minor": 1000 + n as i64, "paid": false,
        "line_items": [{"title": "Trail shoe", "quantity": 1, "sku": "TS-42", "price_minor": 1000 + n as i64}],
        "customer": {"id": format!("c-{id}"), "email": format!("buyer{id}@example.com"), "name": "Ada Buyer"},
    }))
    .unwrap()
}

pub(crate) fn external_id(n: u32) -> String {
    (7000 + n).to_string()
}

/// One delivery, with the store's retries. Returns when it was first sent, the final status (0: never
/// answered), and the attempts made.
pub(crate) async fn deliver(
    http: reqwest::Client,
    url: String,
    secret: Arc<str>,
    n: u32,
    event_id: String,
) -> (Instant, u16, u32) {
    let body = order(n);
    let signature = FakeCustomStore::sign_with(&secret, "order.created", &body);
    let first_sent = Instant::now();
    let mut status = 0;
    let mut attempts = 0;
    while attempts < DELIVERY_ATTEMPTS {
        attempts += 1;
        let sent = http
            .post(&url)
            .header("content-type", "application/json")
            .header("x-pivota-topic", "order.created")
            .header("x-pivota-event-id", &event_id)
            .header("x-pivota-signature", &signature)
            .body(body.clone())
            .send()
            .await;
        status = match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                let _ = response.bytes().await;
                status
            }
            Err(_) => 0,
        };
        if (1..500).contains(&status) {
            break;
        }
        tokio::time::sleep(DELIVERY_RETRY_PAUSE).await;
    }
    (first_sent, status, attempts)
}
