//! `api-keys`: creating, listing and revoking a merchant's API keys.

use http::StatusCode;
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::merchants::own_merchant;
use super::psp::no_content;
use super::request::{json_body, json_response, path_param};
use super::{HandlerResult, require_key_manager};
use pivota::app::App;
use pivota::kernel::error::Error;
use pivota::kernel::validation::FieldErrors;
use pivota::onboarding::api_key::HasApiKeyHasher as _;
use pivota::onboarding::api_key::{ApiKeyMode, PlaintextApiKey};
use pivota::onboarding::api_keys::{ApiKeyRecord, ApiKeys};
use pivota::onboarding::merchant::MerchantStatus;
use pivota::onboarding::merchants::Merchants;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct CreateKeyRequest {
    /// What the key is for, e.g. `checkout-server`.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100)]
    pub name: Option<String>,
    /// When the key stops working (RFC 3339, in the future). Omit for no expiry.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<String>,
    /// `test` (default) or `live`: which PSP credentials the key charges through. Visible in its prefix.
    #[schema(value_type = Option<pivota::onboarding::api_key::ApiKeyMode>)]
    pub mode: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    pub key_id: String,
    /// The secret. Shown only in this response.
    pub api_key: String,
    pub prefix: String,
    pub name: String,
    pub mode: ApiKeyMode,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyView {
    pub key_id: String,
    pub name: String,
    pub prefix: String,
    pub mode: ApiKeyMode,
    /// `active`, `expired` or `revoked`.
    pub status: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<OffsetDateTime>,
}

impl ApiKeyView {
    fn new(record: &ApiKeyRecord, now: OffsetDateTime) -> Self {
        Self {
            key_id: record.key_id.clone(),
            name: record.name.clone(),
            prefix: record.prefix.clone(),
            mode: record.mode,
            status: record.state(now),
            created_at: record.created_at,
            last_used_at: record.last_used_at,
            expires_at: record.valid_until,
            revoked_at: record.revoked_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyList {
    pub items: Vec<ApiKeyView>,
    pub next_cursor: Option<String>,
}

/// Create an API key. The secret is in this response only; what is stored is its keyed hash.
#[utoipa::path(
    post, path = "/merchant/{merchant_id}/api-keys", operation_id = "createApiKey", tag = "api-keys",
    params(("merchant_id" = String, Path, description = "The merchant's id")),
    request_body = CreateKeyRequest,
    security(("merchant_api_key" = [])),
    responses(
        (status = 201, description = "Created", body = CreatedKey),
        (status = 409, description = "Live keys need an approved merchant", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(app: &App, req: &Request) -> HandlerResult {
    let caller = require_key_manager(app, req).await?;
    let merchant_id = own_merchant(req, &caller)?;
    let request: CreateKeyRequest = json_body(req, false)?;
    let now = app.clock.now();
    let mut errors = FieldErrors::default();
    let name = errors.field("name", request.name, |raw| {
        let name = raw.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            Err("must be 1 to 100 characters")
        } else {
            Ok(name.to_owned())
        }
    });
    let expires_at = errors.optional("expires_at", request.expires_at, |raw| {
        match OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339) {
            Ok(at) if at > now => Ok(at),
            Ok(_) => Err("must be in the future"),
            Err(_) => Err("must be an RFC 3339 timestamp such as 2030-01-01T00:00:00Z"),
        }
    });
    let mode = errors
        .optional("mode", request.mode, |raw| match raw {
            "test" => Ok(ApiKeyMode::Test),
            "live" => Ok(ApiKeyMode::Live),
            _ => Err("must be test or live"),
        })
        .unwrap_or(ApiKeyMode::Test);
    errors.into_result()?;
    let name = name.ok_or_else(|| Error::Internal("name parsed without a value".into()))?;
    if mode == ApiKeyMode::Live {
        caller.may_act_in(pivota::onboarding::api_key::ApiKeyMode::Live, "create a live key")?;
        let merchant =
            Merchants::new(app.table.as_ref()).get(&merchant_id).await?.ok_or(Error::NotFound("merchant"))?;
        if merchant.status != MerchantStatus::Approved {
            return Err(Error::Conflict("live keys need an approved merchant".into()));
        }
    }
    let key = PlaintextApiKey::generate(mode);
    let mut record = ApiKeyRecord::issue(&merchant_id, &name, &key, &app.api_key_hasher().await?, now);
    record.valid_until = expires_at;
    ApiKeys::new(app.table.as_ref()).create(&record).await?;
    json_response(
        StatusCode::CREATED,
        &CreatedKey {
            key_id: record.key_id,
            api_key: key.reveal().to_owned(),
            prefix: record.prefix,
            name: record.name,
            mode,
            expires_at,
        },
    )
}

/// The merchant's keys: prefix, name, mode, status, created, last used, expiry.
#[utoipa::path(
    get, path = "/merchant/{merchant_id}/api-keys", operation_id = "listApiKeys", tag = "api-keys",
    params(("merchant_id" = String, Path, description = "The merchant's id")),
    security(("merchant_api_key" = [])),
    responses((status = 200, description = "Keys", body = ApiKeyList))
)]
pub async fn list(app: &App, req: &Request) -> HandlerResult {
    let caller = require_key_manager(app, req).await?;
    let merchant_id = own_merchant(req, &caller)?;
    let now = app.clock.now();
    let keys = ApiKeys::new(app.table.as_ref()).list(&merchant_id).await?;
    json_response(
        StatusCode::OK,
        &ApiKeyList { items: keys.iter().map(|k| ApiKeyView::new(k, now)).collect(), next_cursor: None },
    )
}

/// Revoke a key. It gets 401 from its very next use.
#[utoipa::path(
    delete, path = "/merchant/{merchant_id}/api-keys/{key_id}", operation_id = "revokeApiKey", tag = "api-keys",
    params(
        ("merchant_id" = String, Path, description = "The merchant's id"),
        ("key_id" = String, Path, description = "The key's id"),
    ),
    security(("merchant_api_key" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The merchant's last usable key, or the key making the request", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke(app: &App, req: &Request) -> HandlerResult {
    let caller = require_key_manager(app, req).await?;
    let merchant_id = own_merchant(req, &caller)?;
    let key_id = path_param(req, "key_id").ok_or(Error::NotFound("API key"))?;
    ApiKeys::new(app.table.as_ref()).revoke(&merchant_id, key_id, &caller, app.clock.now()).await?;
    no_content()
}
