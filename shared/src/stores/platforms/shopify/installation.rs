//! Whether the shop still accepts the access token: what an `app/uninstalled` delivery is confirmed with
//! before the store is marked uninstalled, and where the shop's identity is read when webhooks are set up.
//!
//! Uninstalling revokes the app's access token at once, and a call with it is then a 401
//! `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}` ("Shopify API
//! response status and error codes", https://shopify.dev/docs/api/usage/response-codes: 401 "The client
//! doesn't have correct authentication credentials"; the uninstall case as Shopify staff describe it,
//! https://community.shopify.com/t/expired-accesstoken-when-handling-app-uninstalled-webhook/105849). So a
//! 401 confirms the uninstall; an answer means the app is (again) installed.
//!
//! The call is made here rather than through the shared GraphQL call because only the HTTP status tells a
//! revoked token (401) from a frozen (402) or locked (423) shop, where the app is still installed.

use serde::Deserialize;
use serde_json::json;

use super::queries::SHOP_IDENTITY;
use crate::stores::platforms::{
    Installation, PlatformError, ShopIdentity, StoreCredentials, StoreEndpoint, store_http,
};

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    shop: Shop,
}

#[derive(Deserialize)]
struct Shop {
    /// `gid://shopify/Shop/548380009`.
    id: String,
    #[serde(rename = "myshopifyDomain")]
    domain: String,
}

pub(super) async fn installation(
    endpoint: &StoreEndpoint,
    credentials: &StoreCredentials,
) -> Result<Installation, PlatformError> {
    let response = super::transport::post(endpoint, credentials, &json!({ "query": SHOP_IDENTITY }))
        .await?
        .map_err(|error| store_http::send_failure("Shopify", &error))?;
    let status = response.status().as_u16();
    let retry = store_http::retry_after(response.headers());
    match status {
        401 => return Ok(Installation::Revoked),
        // A frozen or locked shop still has the app installed.
        402 | 423 => return Ok(Installation::Installed(None)),
        200 => {}
        _ => return Err(store_http::status_error("Shopify", status, retry, format!("HTTP {status}"))),
    }
    let body = store_http::read_body("Shopify", response, store_http::STORE_BODY_LIMIT).await?;
    let answer: Answer = serde_json::from_slice(&body)
        .map_err(|error| PlatformError::Invalid { reason: format!("unexpected answer to the shop query: {error}") })?;
    // A 200 without `data` is a GraphQL error (THROTTLED, most likely): the question stays open.
    let shop = answer
        .data
        .map(|data| data.shop)
        .ok_or_else(|| PlatformError::Unavailable { reason: "Shopify answered the shop query without data".into() })?;
    Ok(Installation::Installed(Some(ShopIdentity {
        domain: ShopIdentity::normalise_domain(&shop.domain),
        id: shop.id.rsplit('/').next().filter(|id| !id.is_empty()).map(str::to_owned),
    })))
}
