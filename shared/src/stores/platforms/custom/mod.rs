//! Custom stores: Pivota's own JSON contract, which a merchant's store implements.
//!
//! # The Pivota custom store contract, v1
//!
//! Every request carries `Authorization: Bearer <api_token>` and `Accept: application/json`; bodies are
//! JSON. `{base}` is the store URL the merchant registered (it may include a path).
//!
//! | call | request | success |
//! |------|---------|---------|
//! | store | `GET {base}/pivota/v1/store` | 200 `{"name": "My shop", "currency": "EUR"}` |
//! | products | `GET {base}/pivota/v1/products?limit=100&cursor=<c>` (no `cursor` on the first page) | 200, below |
//! | subscribe | `POST {base}/pivota/v1/webhooks` `{"topic", "url", "secret"}` | 200/201 `{"id": "…"}` |
//! | unsubscribe | `DELETE {base}/pivota/v1/webhooks/{id}` | 200/204 (404: already gone, fine) |
//! | mark paid | `POST {base}/pivota/v1/orders/{id}/paid` `{"psp_reference": "…"}` | 200/204 |
//!
//! Products page: `{"products": [{"id", "title", "status": "active"|"draft"|"archived", "image_url": …|null,
//! "updated_at": RFC 3339|null, "vendor"?: …|null, "product_type"?: …|null, "variants": [{"id", "title",
//! "sku": …|null, "price_minor": integer, "inventory_quantity": integer|null}]}], "next_cursor": "…"|null}`,
//! in a stable order; `next_cursor` is `null` on the last page. Prices are integer minor units of the store's
//! currency (1999 = 19.99 EUR). `vendor` (who makes or sells it) and `product_type` (the store's own category
//! name) are optional; an empty one counts as none.
//!
//! Webhooks: `topic` is `order.created` or `product.updated`. Creating a webhook whose topic and URL
//! already exist must return the existing `id` (and take the new secret), so subscribing twice leaves one.
//! Each delivery is a `POST` to `url` with the JSON body and the headers `X-Pivota-Topic`,
//! `X-Pivota-Event-Id` (unique per event, repeated on retries) and
//! `X-Pivota-Signature: t=<unix seconds>,v1=<lowercase hex HMAC-SHA256 keyed with secret>`, the HMAC taken
//! over `<t>.<topic>.<raw body>` (the `t` value, a dot, the `X-Pivota-Topic` value, a dot, the body bytes).
//! The signature thus covers the topic and the time as well as the body (the scheme of Stripe's
//! `Stripe-Signature`, https://docs.stripe.com/webhooks#verify-manually): a body signed as one topic cannot
//! be replayed as another, nor replayed later. Pivota compares it in constant time and refuses (400, naming
//! `X-Pivota-Signature`) a `t` more than [`SIGNATURE_TOLERANCE`] (5 minutes) before or after its own
//! clock, so the store signs each attempt when it sends it, retries included, keeping the event id. Several
//! `v1=` entries may be sent (while a secret changes); one matching is enough. An `order.created` body is
//! `{"id", "number"?, "currency", "total_minor", "paid": bool, "payment_method"?, "payment_customer"? (the
//! PSP customer the payment method is stored under: a Stripe `cus_…`, an Adyen `shopperReference`), "line_items": [{"title",
//! "quantity", "sku"?, "price_minor"}], "customer"?: {"id"?, "email"?, "name"?}}`; a `product.updated`
//! body is one product as in the products page.
//!
//! Errors: any JSON body with a `message` (`{"message": "…"}`) is shown to the merchant. 401/403: the
//! token is refused. 429: slow down, with `Retry-After` in seconds. 5xx: try later.
//!
//! The catalog side (store, products) is in `catalog.rs`; the webhook side (subscriptions, signed
//! deliveries, orders, mark paid) in `webhooks.rs`.

use secrecy::ExposeSecret;
use serde::Deserialize;
use url::Url;

use super::store_http::{STORE_BODY_LIMIT, read_body, redact, retry_after, send_failure, status_error};
use super::{PlatformError, StoreCredentials};

mod catalog;
mod profile;
mod webhooks;

pub use webhooks::SIGNATURE_TOLERANCE;

const NAME: &str = "the custom store";

#[derive(Clone, Copy, Debug, Default)]
pub struct CustomStore;

fn url(base: &Url, path: &str) -> String {
    format!("{}/pivota/v1/{path}", base.as_str().trim_end_matches('/'))
}

#[derive(Deserialize)]
struct ErrorBody {
    message: String,
}

/// Sends a request; the body of a 2xx, `None` for a tolerated 404.
async fn call(
    request: reqwest::RequestBuilder,
    credentials: &StoreCredentials,
    not_found_ok: bool,
) -> Result<Option<Vec<u8>>, PlatformError> {
    let token = credentials.api_token.expose_secret();
    let response = request
        .bearer_auth(token)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|error| send_failure(NAME, &error))?;
    let status = response.status().as_u16();
    let retry = retry_after(response.headers());
    let body = read_body(NAME, response, STORE_BODY_LIMIT).await?;
    match status {
        200..=299 => Ok(Some(body)),
        404 if not_found_ok => Ok(None),
        _ => {
            let message = serde_json::from_slice::<ErrorBody>(&body)
                .map(|error| error.message)
                .unwrap_or_else(|_| "no error message".into());
            Err(status_error(NAME, status, retry, redact(&message, &[token])))
        }
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8], what: &str) -> Result<T, PlatformError> {
    serde_json::from_slice(body).map_err(|error| PlatformError::Invalid {
        reason: format!("the custom store's {what} was not understood: {error}"),
    })
}
