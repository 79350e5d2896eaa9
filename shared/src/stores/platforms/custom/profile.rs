//! Connecting a custom store: the bearer token of the contract (module docs), and a webhook secret Pivota
//! generates and sends with each subscription (`POST {base}/pivota/v1/webhooks` `{"secret"}`).

use super::CustomStore;
use crate::kernel::connect_form::{ConnectForm, FormField};
use crate::kernel::validation::FieldErrors;
use crate::stores::platforms::{CredentialFields, PlatformProfile, StoreCredentials, secret_text};

impl PlatformProfile for CustomStore {
    fn connect_form(&self) -> ConnectForm {
        const FORM: ConnectForm = ConnectForm {
            title: "Custom store",
            intro: None,
            fields: &[
                FormField::url("store_url", "Store API URL")
                    .hint("The base URL of your store's Pivota-compatible API, https://…"),
                FormField::secret("api_token", "API token").hint("A bearer token for that API."),
            ],
            submit: "Connect store",
        };
        FORM
    }

    fn credentials(&self, fields: CredentialFields, errors: &mut FieldErrors) -> Option<StoreCredentials> {
        let token = errors.field("api_token", fields.api_token, secret_text(4096))?;
        Some(StoreCredentials::token(token, Some(crate::kernel::secret::random_token(32))))
    }
}
