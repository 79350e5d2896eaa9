//! Connecting a WooCommerce store: REST API keys, a consumer key and secret ("Authentication"), given as two
//! fields or as one `api_token` `ck_…:cs_…`. WooCommerce signs a webhook with the secret it was created with
//! (`X-WC-Webhook-Signature`), so Pivota generates one of its own for its subscriptions.

use secrecy::SecretString;

use super::WooCommerce;
use crate::kernel::connect_form::{ConnectForm, FormField};
use crate::kernel::validation::FieldErrors;
use crate::stores::platforms::{CredentialFields, PlatformProfile, StoreCredentials, secret_text};

impl PlatformProfile for WooCommerce {
    fn connect_form(&self) -> ConnectForm {
        const FORM: ConnectForm = ConnectForm {
            title: "WooCommerce",
            intro: None,
            fields: &[
                FormField::url("store_url", "Site URL").hint("Your WordPress site, https://…"),
                FormField::secret("consumer_key", "Consumer key")
                    .hint("WooCommerce → Settings → Advanced → REST API: ck_…"),
                FormField::secret("consumer_secret", "Consumer secret").hint("cs_…"),
            ],
            submit: "Connect store",
        };
        FORM
    }

    fn credentials(&self, fields: CredentialFields, errors: &mut FieldErrors) -> Option<StoreCredentials> {
        let pair = fields.api_token.as_deref().and_then(|token| token.split_once(':'));
        let (key, secret) = match pair {
            Some((key, secret)) => (Some(key.to_owned()), Some(secret.to_owned())),
            None => (fields.consumer_key, fields.consumer_secret),
        };
        let consumer_key = errors.field("consumer_key", key, secret_text(512));
        let consumer_secret = errors.field("consumer_secret", secret, secret_text(512));
        Some(StoreCredentials {
            consumer_key: Some(consumer_key?),
            consumer_secret: Some(consumer_secret?),
            ..StoreCredentials::token(SecretString::from(String::new()), Some(crate::kernel::secret::random_token(32)))
        })
    }
}
