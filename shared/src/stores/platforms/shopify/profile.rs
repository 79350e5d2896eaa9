//! Connecting a Shopify store.
//!
//! - The store URL is the shop's `*.myshopify.com` domain ("Shopify domain"; a shop name is 1 to 63
//!   lowercase letters, digits or hyphens), with no path: the Admin API lives at its root.
//! - Credentials: the Admin API access token, and the app's client secret, which signs its webhooks
//!   ("Deliver webhooks through HTTPS", https://shopify.dev/docs/apps/build/webhooks/subscribe/https).
//! - Pivota subscribes to `app/uninstalled` too, and Shopify sends its compliance topics whatever Pivota's
//!   state (`shop/redact` 48 hours after an uninstall), so the client secret outlives a disconnect.

use url::Url;

use super::ShopifyPlatform;
use crate::kernel::connect_form::{ConnectForm, FormField};
use crate::kernel::validation::FieldErrors;
use crate::stores::platforms::{
    CredentialFields, PlatformProfile, ShopIdentity, StoreCredentials, WebhookTopic, secret_text,
};

impl PlatformProfile for ShopifyPlatform {
    fn store_url(&self, url: &mut Url, strict: bool) -> Result<(), &'static str> {
        if strict && !url.host_str().is_some_and(is_shop_domain) {
            return Err("must be the shop's myshopify.com domain, like https://acme.myshopify.com");
        }
        url.set_path("");
        Ok(())
    }

    fn connect_form(&self) -> ConnectForm {
        const FORM: ConnectForm = ConnectForm {
            title: "Shopify",
            intro: None,
            fields: &[
                FormField::url("store_url", "Shop URL").hint("https://your-shop.myshopify.com"),
                FormField::secret("api_token", "Admin API access token").hint("From your custom app: shpat_…"),
                FormField::secret("webhook_secret", "App API secret key")
                    .hint("The app's client secret; Shopify signs webhooks with it."),
            ],
            submit: "Connect store",
        };
        FORM
    }

    fn credentials(&self, fields: CredentialFields, errors: &mut FieldErrors) -> Option<StoreCredentials> {
        let token = errors.field("api_token", fields.api_token, secret_text(4096));
        let webhook_secret = errors.field("webhook_secret", fields.webhook_secret, secret_text(512));
        Some(StoreCredentials::token(token?, Some(webhook_secret?)))
    }

    fn webhook_topics(&self) -> &'static [WebhookTopic] {
        &[WebhookTopic::OrderCreated, WebhookTopic::ProductUpdated, WebhookTopic::AppUninstalled]
    }

    fn shop_identity(&self, url: &Url) -> Option<ShopIdentity> {
        let host = url.host_str()?;
        host.ends_with(".myshopify.com")
            .then(|| ShopIdentity { domain: ShopIdentity::normalise_domain(host), id: None })
    }

    fn verifies_after_disconnect(&self) -> bool {
        true
    }
}

/// `{shop}.myshopify.com`, the shop name being what Shopify allows.
fn is_shop_domain(host: &str) -> bool {
    host.strip_suffix(".myshopify.com").is_some_and(|shop| {
        !shop.is_empty()
            && shop.len() <= 63
            && !shop.starts_with('-')
            && shop.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })
}
