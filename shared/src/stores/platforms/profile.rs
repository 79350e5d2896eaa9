//! What one platform's module declares about connecting to it: its URL rule, how a connect request becomes
//! credentials, which webhooks Pivota subscribes to, and what outlives a disconnect. [`StorePlatform`]
//! (the catalog) and [`StoreWebhooks`] (deliveries and write-back) are the platform's other two sides.
//!
//! [`StorePlatform`]: super::StorePlatform
//! [`StoreWebhooks`]: super::StoreWebhooks

use secrecy::SecretString;
use url::Url;

use super::{ShopIdentity, StoreCredentials, StorePlatform, StoreWebhooks, WebhookTopic};
use crate::kernel::connect_form::ConnectForm;
use crate::kernel::validation::FieldErrors;

/// The webhooks every platform is asked for: new orders, and product changes for the catalog.
const ORDER_AND_PRODUCT_TOPICS: &[WebhookTopic] = &[WebhookTopic::OrderCreated, WebhookTopic::ProductUpdated];

/// A platform's implementation is all three sides: [`Platform::catalog`](super::Platform::catalog) and
/// [`Platform::webhooks`](super::Platform::webhooks) are its profile seen as the other two.
pub trait PlatformProfile: StorePlatform + StoreWebhooks {
    /// Checks and normalises a store URL past the rules for every store (`stores/url_safety.rs`); `strict`
    /// unless local fakes are allowed. The refusal is the `store_url` field's message.
    fn store_url(&self, url: &mut Url, strict: bool) -> Result<(), &'static str> {
        let _ = (url, strict);
        Ok(())
    }
    /// The credentials a connect request gives, or `None` with each refusal recorded against its field.
    fn credentials(&self, fields: CredentialFields, errors: &mut FieldErrors) -> Option<StoreCredentials>;
    /// What a person is asked for to connect a store: its URL and the fields [`credentials`](Self::credentials)
    /// reads.
    fn connect_form(&self) -> ConnectForm;
    /// The webhooks Pivota subscribes to on the store.
    fn webhook_topics(&self) -> &'static [WebhookTopic] {
        ORDER_AND_PRODUCT_TOPICS
    }
    /// The shop a store URL names, for a store whose shop was not recorded when it connected.
    fn shop_identity(&self, url: &Url) -> Option<ShopIdentity> {
        let _ = url;
        None
    }
    /// Whether deliveries still arrive, and must still be verified, after the merchant disconnects the store:
    /// its webhook secret is then kept on its own, with no credential that reaches the store.
    fn verifies_after_disconnect(&self) -> bool {
        false
    }
}

/// The credential fields of a store-connect request (`POST /merchant/{merchant_id}/store/connect`), as
/// sent: each platform reads the ones it uses ([`PlatformProfile::credentials`]).
#[derive(Debug, Default)]
pub struct CredentialFields {
    pub api_token: Option<String>,
    pub consumer_key: Option<String>,
    pub consumer_secret: Option<String>,
    pub site_id: Option<String>,
    pub webhook_secret: Option<String>,
}

impl StoreCredentials {
    /// Credentials holding only a bearer token (and, for the platforms that have one, a webhook secret).
    pub fn token(api_token: SecretString, webhook_secret: Option<SecretString>) -> Self {
        Self { api_token, consumer_key: None, consumer_secret: None, site_id: None, webhook_secret }
    }
}

/// A secret field: 1 to `max` characters once trimmed.
pub fn secret_text(max: usize) -> impl Fn(&str) -> Result<SecretString, String> {
    move |raw: &str| {
        let value = raw.trim();
        if value.is_empty() || value.len() > max {
            Err(format!("must be 1 to {max} characters"))
        } else {
            Ok(SecretString::from(value.to_owned()))
        }
    }
}
