//! The store-connect request, parsed field by field.

use serde::Deserialize;

use crate::kernel::validation::FieldErrors;
use crate::payments::connectors::PspMode;
use crate::stores::platforms::{CredentialFields, Platform, StoreCredentials};
use crate::stores::url_safety::StoreUrlPolicy;

/// The body of `POST /merchant/{merchant_id}/store/connect`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct StoreConnectRequest {
    /// `shopify`, `woocommerce`, `wix` or `custom`.
    #[schema(value_type = crate::stores::platforms::Platform, required = true)]
    pub platform: Option<String>,
    /// `https://acme.myshopify.com`, the WordPress site URL, `https://www.wixapis.com` for Wix, or the custom
    /// store's base URL.
    pub store_url: Option<String>,
    /// Shopify Admin API access token; Wix API key; custom bearer token; WooCommerce `ck_…:cs_…`.
    pub api_token: Option<String>,
    /// WooCommerce REST API consumer key and secret (instead of `api_token`).
    pub consumer_key: Option<String>,
    pub consumer_secret: Option<String>,
    /// Wix: the site id.
    pub site_id: Option<String>,
    /// Shopify: the app's client secret, which signs its webhooks. Wix: the app's webhook public key (PEM).
    pub webhook_secret: Option<String>,
    /// `test` or `live` (default: the calling key's mode). A test key cannot connect a live store.
    #[schema(value_type = Option<PspMode>)]
    pub mode: Option<String>,
}

pub struct StoreConnectCommand {
    pub platform: Platform,
    pub store_url: url::Url,
    pub credentials: StoreCredentials,
    /// As asked; `None`: the calling key's mode.
    pub mode: Option<PspMode>,
}

impl StoreConnectCommand {
    pub fn parse(request: StoreConnectRequest, policy: StoreUrlPolicy) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let platform = errors.field("platform", request.platform, |raw| {
            Platform::parse(raw.trim()).ok_or_else(|| format!("must be one of {}", Platform::names()))
        });
        let store_url = match platform {
            Some(platform) => errors.field("store_url", request.store_url, |raw| policy.parse(raw, platform)),
            None => None,
        };
        let mode =
            errors.optional("mode", request.mode, |raw| PspMode::parse(raw.trim()).ok_or("must be test or live"));
        let fields = CredentialFields {
            api_token: request.api_token,
            consumer_key: request.consumer_key,
            consumer_secret: request.consumer_secret,
            site_id: request.site_id,
            webhook_secret: request.webhook_secret,
        };
        let credentials = platform.and_then(|platform| platform.profile().credentials(fields, &mut errors));
        match (platform, store_url, credentials) {
            (Some(platform), Some(store_url), Some(credentials)) if errors.is_empty() => {
                Ok(Self { platform, store_url, credentials, mode })
            }
            _ => Err(errors),
        }
    }
}
