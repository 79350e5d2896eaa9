//! PSP connections: a merchant's credentials for Stripe, Adyen or the sandbox.
//!
//! | item           | pk              | sk           |
//! |----------------|-----------------|--------------|
//! | PSP connection | `MERCHANT#<id>` | `PSP#<psp>#<mode>`  |
//!
//! A merchant has at most one connection per (PSP, mode): a test connection never replaces or removes a
//! live one, and a payment only ever uses connections of its own mode. The mode is the credentials' own
//! (Stripe's `sk_test_`/`sk_live_`, Adyen's environment, the sandbox is test), confirmed by the PSP.
//!
//! The credentials live in the secret store only (`<namespace>/merchants/<id>/psp/<psp>/<mode>/<ulid>`, one
//! JSON secret per connection, named afresh for each new connection: Secrets Manager keeps a deleted
//! secret's name scheduled for deletion, so a name is never reused); the item holds the secret's name, the
//! key's last four characters, the mode and timestamps. Connecting again rotates the secret (a new version
//! of the same secret) and updates the item.

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::kernel::error::Error;
use crate::kernel::validation::FieldErrors;
use crate::onboarding::merchant::{MerchantId, MerchantStatus};
use crate::onboarding::merchants::Merchants;
use crate::payments::connectors::{ConnectorError, CredentialFields, PspCredentials};
use crate::payments::psp::HasConnectors;
use crate::payments::{connectors::PspMode, psp::PspKind};
use crate::ports::HasClock;
use crate::ports::HasDeployment;
use crate::ports::HasSecrets;
use crate::ports::HasTable;
use crate::ports::{Index, ItemKey, Query};
use crate::record::{FIRST_VERSION, Record, Written};

/// A stored connection, without secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PspConnection {
    pub psp: PspKind,
    pub mode: PspMode,
    /// The last four characters of the key, to recognise it.
    pub last4: String,
    /// The secret store's name of the credentials.
    pub secret_ref: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_account: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub connected_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// The record's key ([`connection_key`]): its merchant is not among the stored attributes, so it is
    /// kept beside them and taken from the item read.
    #[serde(skip)]
    pub key: ItemKey,
    #[serde(skip)]
    pub version: u64,
}

impl Record for PspConnection {
    crate::record::key_field!();

    crate::record::version_field!();
}

fn connection_key(merchant_id: &MerchantId, psp: PspKind, mode: PspMode) -> ItemKey {
    ItemKey::new(format!("MERCHANT#{merchant_id}"), format!("PSP#{psp}#{}", mode.as_str()))
}

/// A new connection's secret name, never used before.
fn new_secret_name(app: &impl HasDeployment, merchant_id: &MerchantId, psp: PspKind, mode: PspMode) -> String {
    format!("{}/merchants/{merchant_id}/psp/{psp}/{}/{}", app.secret_namespace(), mode.as_str(), ulid::Ulid::new())
}

/// The body of `POST /merchant/{merchant_id}/psp/connect`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ConnectRequest {
    /// `stripe`, `adyen` or `sandbox`.
    #[schema(value_type = crate::payments::psp::PspKind, required = true)]
    pub psp: Option<String>,
    /// Stripe: a secret (`sk_…`) or restricted (`rk_…`) key. Adyen: the API key. Sandbox: not needed.
    pub api_key: Option<String>,
    /// Adyen: the merchant account to charge.
    pub merchant_account: Option<String>,
    /// Adyen: `test` or `live`.
    pub environment: Option<String>,
    /// Adyen live: the prefix of your live endpoints.
    pub live_url_prefix: Option<String>,
}

/// A connect request that passed the format checks.
pub struct ConnectCommand {
    pub psp: PspKind,
    pub credentials: PspCredentials,
}

impl TryFrom<ConnectRequest> for ConnectCommand {
    type Error = FieldErrors;

    fn try_from(request: ConnectRequest) -> Result<Self, Self::Error> {
        let mut errors = FieldErrors::default();
        let psp = errors.field("psp", request.psp, |raw| {
            PspKind::parse(raw.trim()).ok_or_else(|| format!("must be one of {}", PspKind::names()))
        });
        let fields = CredentialFields {
            api_key: request.api_key,
            merchant_account: request.merchant_account,
            environment: request.environment,
            live_url_prefix: request.live_url_prefix,
        };
        let command = psp.and_then(|psp| psp.profile().credentials(fields, &mut errors));
        match (psp, command) {
            (Some(psp), Some(credentials)) if errors.is_empty() => Ok(ConnectCommand { psp, credentials }),
            _ => Err(errors),
        }
    }
}

/// The outcome of a connect.
pub struct Connected {
    pub connection: PspConnection,
    /// `true` when an existing connection's key was replaced.
    pub rotated: bool,
}

fn last4(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

/// Connects (or re-connects) a PSP in the credentials' mode: only for an approved merchant, only after the
/// PSP accepted the credentials live, and nothing is stored unless it did. A test-mode caller may not
/// connect live credentials (`Forbidden`, before the PSP is called).
pub async fn connect(
    app: &(impl HasTable + HasSecrets + HasClock + HasDeployment + HasConnectors),
    merchant_id: &MerchantId,
    caller_mode: PspMode,
    command: ConnectCommand,
) -> Result<Connected, Error> {
    if caller_mode == PspMode::Test && command.credentials.mode == PspMode::Live {
        return Err(Error::Forbidden(
            "a test key cannot connect live PSP credentials; use a live key (see the README: live keys)".into(),
        ));
    }
    let merchant = Merchants::new(app.table()).get(merchant_id).await?.ok_or(Error::NotFound("merchant"))?;
    if merchant.status != MerchantStatus::Approved {
        return Err(Error::Conflict(format!(
            "the merchant is {}; only approved merchants may connect a PSP",
            merchant.status.as_str()
        )));
    }
    let psp = command.psp;
    let verified = app.connectors().get(psp).verify(&command.credentials).await.map_err(|e| connect_error(psp, e))?;
    if verified.mode != command.credentials.mode {
        return Err(Error::PspRejected {
            psp: psp.as_str(),
            field: "api_key",
            reason: format!("{psp} reports {} mode for this key", verified.mode.as_str()),
        });
    }

    // Secret first, then the item: the item never names a secret that does not exist. A rotation adds a
    // version to the connection's own secret; a new connection gets a secret of its own. A failure between
    // the two leaves only an unreferenced secret (version), which the item never names.
    let mode = command.credentials.mode;
    let key = connection_key(merchant_id, psp, mode);
    let existing = app.table().get(&key).await?.as_ref().map(PspConnection::from_item).transpose()?;
    let secret_ref = match &existing {
        Some(connection) => connection.secret_ref.clone(),
        None => new_secret_name(app, merchant_id, psp, mode),
    };
    let serialized = serde_json::to_string(&command.credentials).map_err(|e| Error::Internal(e.to_string()))?;
    app.secrets().put(&secret_ref, &serialized.into()).await?;

    let now = app.clock().now();
    let mut connection = PspConnection {
        psp,
        mode: command.credentials.mode,
        last4: last4(command.credentials.api_key.expose_secret()),
        secret_ref,
        merchant_account: command.credentials.merchant_account.clone(),
        connected_at: existing.as_ref().map_or(now, |c| c.connected_at),
        updated_at: now,
        key,
        version: existing.as_ref().map_or(FIRST_VERSION, |c| c.version),
    };
    let written = match &existing {
        Some(_) => connection.save(app.table()).await?,
        None => connection.create(app.table()).await?,
    };
    if written == Written::Lost {
        return Err(Error::Conflict("the connection changed concurrently; retry".into()));
    }
    tracing::info!(%merchant_id, psp = psp.as_str(), mode = connection.mode.as_str(), rotated = existing.is_some(), "PSP connected");
    Ok(Connected { connection, rotated: existing.is_some() })
}

fn connect_error(psp: PspKind, error: ConnectorError) -> Error {
    match error {
        ConnectorError::Rejected { reason } => Error::PspRejected { psp: psp.as_str(), field: "api_key", reason },
        ConnectorError::InvalidMerchantAccount { reason } => Error::PspRejected {
            psp: psp.as_str(),
            field: "merchant_account",
            reason: format!("invalid merchant account: {reason}"),
        },
        ConnectorError::InvalidRequest { reason } => Error::PspRejected { psp: psp.as_str(), field: "api_key", reason },
        ConnectorError::NotProcessed { reason, .. } | ConnectorError::Ambiguous { reason } => {
            Error::BadGateway(format!("{psp} could not be reached to check the credentials ({reason}); retry shortly"))
        }
    }
}

/// The merchant's connections, in PSP order.
pub async fn list(app: &impl HasTable, merchant_id: &MerchantId) -> Result<Vec<PspConnection>, Error> {
    let mut query = Query::new(Index::Primary, format!("MERCHANT#{merchant_id}"), 100);
    query.sk_prefix = Some("PSP#".into());
    app.table().query(query).await?.items.iter().map(PspConnection::from_item).collect()
}

/// One connection and its credentials, for charging.
pub async fn credentials(app: &impl HasSecrets, connection: &PspConnection) -> Result<PspCredentials, Error> {
    let secret =
        app.secrets().get(&connection.secret_ref).await?.ok_or_else(|| {
            Error::Internal(format!("the secret {} of a connection is missing", connection.secret_ref))
        })?;
    serde_json::from_str(secret.expose_secret())
        .map_err(|_| Error::Internal(format!("the secret {} does not parse", connection.secret_ref)))
}

/// Disconnects the connection of one mode: the item goes first (so nothing charges with it any more), then
/// the secret. The other mode's connection is untouched.
pub async fn disconnect(
    app: &(impl HasTable + HasSecrets),
    merchant_id: &MerchantId,
    psp: PspKind,
    mode: PspMode,
) -> Result<(), Error> {
    let key = connection_key(merchant_id, psp, mode);
    let connection = app
        .table()
        .get(&key)
        .await?
        .as_ref()
        .map(PspConnection::from_item)
        .transpose()?
        .ok_or(Error::NotFound("PSP connection"))?;
    if connection.delete(app.table()).await? == Written::Lost {
        return Err(Error::Conflict("the connection changed concurrently; retry".into()));
    }
    app.secrets().delete(&connection.secret_ref).await?;
    tracing::info!(%merchant_id, psp = psp.as_str(), mode = mode.as_str(), "PSP disconnected");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(psp: &str, key: Option<&str>) -> ConnectRequest {
        ConnectRequest { psp: Some(psp.into()), api_key: key.map(str::to_owned), ..Default::default() }
    }

    #[test]
    fn stripe_secret_and_restricted_keys_of_any_length_are_accepted() {
        for (key, mode) in [
            ("sk_test_51Habc", PspMode::Test),
            ("rk_live_1234567890abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ", PspMode::Live),
        ] {
            let command =
                ConnectCommand::try_from(request("stripe", Some(key))).unwrap_or_else(|e| panic!("{key}: {e:?}"));
            assert_eq!(command.credentials.mode, mode);
        }
    }

    #[test]
    fn a_publishable_key_is_refused_with_a_helpful_message() {
        let errors = ConnectCommand::try_from(request("stripe", Some("pk_test_123456789"))).err().unwrap();
        let error = errors.iter().next().unwrap();
        assert_eq!(error.field, "api_key");
        assert!(error.message.contains("secret key"), "{}", error.message);
    }

    #[test]
    fn adyen_needs_account_and_environment_and_a_prefix_when_live() {
        let errors = ConnectCommand::try_from(request("adyen", Some("AQE…"))).err().unwrap();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["api_key", "merchant_account", "environment"]);
        let live = ConnectRequest {
            psp: Some("adyen".into()),
            api_key: Some("AQEyhmfxKonIYxZGw0m".into()),
            merchant_account: Some("AcmeECOM".into()),
            environment: Some("live".into()),
            live_url_prefix: None,
        };
        let errors = ConnectCommand::try_from(live).err().unwrap();
        assert_eq!(errors.iter().next().unwrap().field, "live_url_prefix");
    }

    #[test]
    fn the_sandbox_needs_nothing_and_unknown_psps_are_named() {
        assert_eq!(ConnectCommand::try_from(request("sandbox", None)).ok().unwrap().psp, PspKind::Sandbox);
        let errors = ConnectCommand::try_from(request("paypal", None)).err().unwrap();
        assert_eq!(errors.iter().next().unwrap().field, "psp");
    }

    #[test]
    fn last4_counts_characters() {
        assert_eq!(last4("sk_test_abcd1234"), "1234");
        assert_eq!(last4("ab"), "ab");
    }
}
