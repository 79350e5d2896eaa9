//! [`SecretsManagerStore`]: the [`Secrets`] port on Secrets Manager. Rotation is Secrets Manager's own:
//! a new version takes the `AWSCURRENT` stage and the old one becomes `AWSPREVIOUS`.
//!
//! Secret values only ever travel inside [`SecretString`]; errors carry the service's code and message,
//! never a request, so a value cannot reach a log through them.
//!
//! Deletion ("DeleteSecret", https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html)
//! schedules the secret for deletion after a recovery window (7 days here, recoverable by an operator with
//! `RestoreSecret`); meanwhile reads and writes answer `InvalidRequestException` ("…marked for deletion"),
//! and creating a secret of that name too ("…already scheduled for deletion"). So a deleted secret reads as
//! absent, a second delete is done, and a put to its name is [`SecretsError::NameDeleted`]: Pivota never
//! reuses a name (each connection's secret has a name of its own).

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};

use super::sdk_error::{OperationError, code, describe, is_transient};
use pivota::ports::{Secrets, SecretsError};

const NOT_FOUND: &str = "ResourceNotFoundException";
const INVALID_REQUEST: &str = "InvalidRequestException";
/// Days a deleted secret can be restored (Secrets Manager's minimum is 7).
const RECOVERY_WINDOW_DAYS: i64 = 7;

/// `InvalidRequestException` because the secret is scheduled for deletion (AWS's messages say "marked for
/// deletion", "scheduled for deletion" or "currently marked deleted").
fn is_scheduled_for_deletion<E: OperationError>(
    err: &aws_sdk_secretsmanager::error::SdkError<E, aws_sdk_secretsmanager::config::http::HttpResponse>,
) -> bool {
    use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
    code(err) == Some(INVALID_REQUEST)
        && err.as_service_error().and_then(ProvideErrorMetadata::message).is_some_and(|message| {
            let message = message.split_whitespace().collect::<Vec<_>>().join(" ").to_ascii_lowercase();
            ["marked for deletion", "scheduled for deletion", "marked deleted"].iter().any(|m| message.contains(m))
        })
}

#[derive(Clone, Debug)]
pub struct SecretsManagerStore {
    client: Client,
    name_prefix: String,
    kms_key: Option<String>,
}

impl SecretsManagerStore {
    pub fn new(client: Client) -> Self {
        Self { client: super::call_log::secrets_manager(client), name_prefix: String::new(), kms_key: None }
    }

    /// Creates secrets encrypted under this customer-managed KMS key (its key policy names the roles that
    /// may decrypt; `template.yaml`), instead of the account's `aws/secretsmanager` key. Later versions of
    /// a secret keep its key.
    pub fn with_kms_key(mut self, key: Option<String>) -> Self {
        self.kms_key = key;
        self
    }

    /// Stores every secret under `prefix` + name (e.g. `pivota/prod/`), so stages or test runs sharing
    /// an account never see each other's secrets.
    pub fn with_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.name_prefix = prefix.into();
        self
    }

    fn secret_id(&self, name: &str) -> String {
        format!("{}{name}", self.name_prefix)
    }

    async fn get_stage(&self, name: &str, stage: &str) -> Result<Option<SecretString>, SecretsError> {
        let result = self.client.get_secret_value().secret_id(self.secret_id(name)).version_stage(stage).send().await;
        match result {
            Ok(output) => Ok(output.secret_string.map(SecretString::from)),
            // Both "no such secret" and "no version in that stage"; and a deleted secret still in its window.
            Err(err) if code(&err) == Some(NOT_FOUND) || is_scheduled_for_deletion(&err) => Ok(None),
            Err(err) => Err(secrets_error("GetSecretValue", &err)),
        }
    }
}

#[async_trait]
impl Secrets for SecretsManagerStore {
    async fn put(&self, name: &str, value: &SecretString) -> Result<String, SecretsError> {
        let secret_id = self.secret_id(name);
        // One token for this logical write: if the SDK retries a call that did land, Secrets Manager
        // recognises the token and does not add a second version.
        let token = request_token();
        let updated = self
            .client
            .put_secret_value()
            .secret_id(&secret_id)
            .secret_string(value.expose_secret())
            .client_request_token(&token)
            .send()
            .await;
        match updated {
            Ok(output) => return version_id(output.version_id),
            Err(err) if code(&err) == Some(NOT_FOUND) => {} // First version: create the secret.
            Err(err) if is_scheduled_for_deletion(&err) => return Err(SecretsError::NameDeleted(name.to_owned())),
            Err(err) => return Err(secrets_error("PutSecretValue", &err)),
        }
        let created = self
            .client
            .create_secret()
            .name(&secret_id)
            .set_kms_key_id(self.kms_key.clone())
            .secret_string(value.expose_secret())
            .client_request_token(&token)
            .send()
            .await;
        match created {
            Ok(output) => version_id(output.version_id),
            // Someone created it between our two calls: add our value as a new version after all.
            Err(err) if code(&err) == Some("ResourceExistsException") => self
                .client
                .put_secret_value()
                .secret_id(&secret_id)
                .secret_string(value.expose_secret())
                .client_request_token(request_token())
                .send()
                .await
                .map_err(|err| secrets_error("PutSecretValue", &err))
                .and_then(|output| version_id(output.version_id)),
            Err(err) if is_scheduled_for_deletion(&err) => Err(SecretsError::NameDeleted(name.to_owned())),
            Err(err) => Err(secrets_error("CreateSecret", &err)),
        }
    }

    async fn get(&self, name: &str) -> Result<Option<SecretString>, SecretsError> {
        self.get_stage(name, "AWSCURRENT").await
    }

    async fn get_previous(&self, name: &str) -> Result<Option<SecretString>, SecretsError> {
        self.get_stage(name, "AWSPREVIOUS").await
    }

    async fn delete(&self, name: &str) -> Result<(), SecretsError> {
        let result = self
            .client
            .delete_secret()
            .secret_id(self.secret_id(name))
            .recovery_window_in_days(RECOVERY_WINDOW_DAYS)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if code(&err) == Some(NOT_FOUND) || is_scheduled_for_deletion(&err) => Ok(()),
            Err(err) => Err(secrets_error("DeleteSecret", &err)),
        }
    }
}

/// Secrets Manager wants 32 to 64 characters.
fn request_token() -> String {
    let mut rng = rand::thread_rng();
    format!("{:016x}{:016x}", rng.r#gen::<u64>(), rng.r#gen::<u64>())
}

fn version_id(version_id: Option<String>) -> Result<String, SecretsError> {
    version_id.ok_or_else(|| SecretsError::Other("Secrets Manager returned no version id".into()))
}

fn secrets_error<E: OperationError>(
    operation: &str,
    err: &aws_sdk_secretsmanager::error::SdkError<E, aws_sdk_secretsmanager::config::http::HttpResponse>,
) -> SecretsError {
    if is_transient(err) {
        SecretsError::Transient(describe(operation, err))
    } else {
        SecretsError::Other(describe(operation, err))
    }
}
