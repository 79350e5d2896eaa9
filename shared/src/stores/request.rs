//! The store-connect request, parsed field by field.

use secrecy::SecretString;
use serde::Deserialize;

use crate::kernel::validation::FieldErrors;
use crate::payments::psp::PspMode;
use crate::stores::platforms::{Platform, StoreCredentials};
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

fn secret_text(max: usize) -> impl Fn(&str) -> Result<SecretString, String> {
    move |raw: &str| {
        let value = raw.trim();
        if value.is_empty() || value.len() > max {
            Err(format!("must be 1 to {max} characters"))
        } else {
            Ok(SecretString::from(value.to_owned()))
        }
    }
}

impl StoreConnectCommand {
    pub fn parse(request: StoreConnectRequest, policy: StoreUrlPolicy) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let platform = errors.field("platform", request.platform, |raw| {
            Platform::parse(raw.trim()).ok_or("must be one of shopify, woocommerce, wix, custom")
        });
        let store_url = match platform {
            Some(platform) => errors.field("store_url", request.store_url, |raw| policy.parse(raw, platform)),
            None => None,
        };
        let mode =
            errors.optional("mode", request.mode, |raw| PspMode::parse(raw.trim()).ok_or("must be test or live"));
        let mut credentials = StoreCredentials {
            api_token: SecretString::from(String::new()),
            consumer_key: None,
            consumer_secret: None,
            site_id: None,
            webhook_secret: None,
        };
        match platform {
            Some(Platform::WooCommerce) => {
                let pair = request.api_token.as_deref().and_then(|token| token.split_once(':'));
                let (key, secret) = match pair {
                    Some((key, secret)) => (Some(key.to_owned()), Some(secret.to_owned())),
                    None => (request.consumer_key, request.consumer_secret),
                };
                credentials.consumer_key = errors.field("consumer_key", key, secret_text(512));
                credentials.consumer_secret = errors.field("consumer_secret", secret, secret_text(512));
                // Pivota signs its WooCommerce webhooks with a secret of its own.
                credentials.webhook_secret = Some(crate::kernel::secret::random_token(32));
            }
            Some(platform) => {
                if let Some(token) = errors.field("api_token", request.api_token, secret_text(4096)) {
                    credentials.api_token = token;
                }
                if platform == Platform::Wix {
                    credentials.site_id = errors.field("site_id", request.site_id, |raw| {
                        let id = raw.trim();
                        if id.is_empty() || id.len() > 100 { Err("must be the site's id") } else { Ok(id.to_owned()) }
                    });
                    credentials.webhook_secret =
                        errors.optional("webhook_secret", request.webhook_secret, secret_text(8192));
                } else if platform == Platform::Shopify {
                    credentials.webhook_secret =
                        errors.field("webhook_secret", request.webhook_secret, secret_text(512));
                } else {
                    credentials.webhook_secret = Some(crate::kernel::secret::random_token(32));
                }
            }
            None => {}
        }
        match (platform, store_url) {
            (Some(platform), Some(store_url)) if errors.is_empty() => {
                Ok(Self { platform, store_url, credentials, mode })
            }
            _ => Err(errors),
        }
    }
}
