//! The platform's own secrets in the embedded secret store: the admin token and the API key pepper.
//! On AWS the SAM template generates both in Secrets Manager; locally the runner creates them.

use pivota::kernel::secret::{ExposeSecret, random_token, secrets_match};
use pivota::ports::Secrets;
use pivota::settings::Settings;
use secrecy::SecretString;

/// Where the admin token in force came from.
pub enum AdminToken {
    /// `PIVOTA_ADMIN_TOKEN`.
    FromEnvironment,
    /// Generated now or at an earlier start, and stored: printed so the operator can use it.
    Stored(SecretString),
}

pub async fn ensure(
    secrets: &dyn Secrets,
    settings: &Settings,
    from_env: Option<SecretString>,
) -> Result<AdminToken, pivota::ports::SecretsError> {
    if secrets.get(&settings.api_key_pepper_secret_id).await?.is_none() {
        secrets.put(&settings.api_key_pepper_secret_id, &random_token(32)).await?;
    }
    let stored = secrets.get(&settings.admin_token_secret_id).await?;
    match (from_env, stored) {
        (Some(wanted), stored) => {
            if !stored.is_some_and(|s| secrets_match(wanted.expose_secret(), &s)) {
                secrets.put(&settings.admin_token_secret_id, &wanted).await?;
            }
            Ok(AdminToken::FromEnvironment)
        }
        (None, Some(stored)) => Ok(AdminToken::Stored(stored)),
        (None, None) => {
            let token = random_token(32);
            secrets.put(&settings.admin_token_secret_id, &token).await?;
            Ok(AdminToken::Stored(token))
        }
    }
}
