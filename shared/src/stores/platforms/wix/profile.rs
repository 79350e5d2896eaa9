//! Connecting a Wix site: an API key ("API Keys", https://dev.wix.com/docs/go-headless/develop-your-project/admin-operations/api-keys),
//! the id of the site it acts on (`wix-site-id`), and optionally the app's webhook public key (PEM), which
//! verifies the JWTs Wix delivers webhooks as (`webhooks.rs`).

use super::Wix;
use crate::kernel::connect_form::{ConnectForm, FormField};
use crate::kernel::validation::FieldErrors;
use crate::stores::platforms::{CredentialFields, PlatformProfile, StoreCredentials, secret_text};

impl PlatformProfile for Wix {
    fn connect_form(&self) -> ConnectForm {
        const FORM: ConnectForm = ConnectForm {
            title: "Wix",
            intro: None,
            fields: &[
                FormField::url("store_url", "Wix API URL").hint("https://www.wixapis.com"),
                FormField::secret("api_token", "API key").hint("From the Wix API Keys Manager."),
                FormField::text("site_id", "Site id").hint("The id of the site with Wix Stores."),
            ],
            submit: "Connect store",
        };
        FORM
    }

    fn credentials(&self, fields: CredentialFields, errors: &mut FieldErrors) -> Option<StoreCredentials> {
        let token = errors.field("api_token", fields.api_token, secret_text(4096));
        let site_id = errors.field("site_id", fields.site_id, |raw| {
            let id = raw.trim();
            if id.is_empty() || id.len() > 100 { Err("must be the site's id") } else { Ok(id.to_owned()) }
        });
        let webhook_secret = errors.optional("webhook_secret", fields.webhook_secret, secret_text(8192));
        Some(StoreCredentials { site_id: Some(site_id?), ..StoreCredentials::token(token?, webhook_secret) })
    }
}
