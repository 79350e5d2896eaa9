//! `register` and `merchant-get`.

use http::{HeaderValue, StatusCode, header};
use lambda_http::Request;
use serde::Serialize;
use time::OffsetDateTime;

use super::request::{json_body, json_response, path_param};
use super::{HandlerResult, require_merchant};
use pivota::app::App;
use pivota::kernel::error::Error;
use pivota::onboarding;
use pivota::onboarding::kyc::KycDecision;
use pivota::onboarding::merchant::{Merchant, MerchantId, MerchantStatus, Registration, RegistrationRequest};
use pivota::onboarding::merchants::Merchants;

/// A merchant's profile and status, without secrets.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MerchantView {
    pub merchant_id: String,
    pub business_name: String,
    pub email: String,
    pub country: String,
    pub website: String,
    pub status: MerchantStatus,
    /// What to do next: `wait_for_kyc`, `wait_for_review`, `connect_psp` or `contact_support`.
    pub next_step: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    /// Every KYC decision, oldest first: who, when, why.
    pub decisions: Vec<KycDecision>,
}

impl From<&Merchant> for MerchantView {
    fn from(merchant: &Merchant) -> Self {
        Self {
            merchant_id: merchant.id.to_string(),
            business_name: merchant.business_name.as_str().to_owned(),
            email: merchant.email.to_string(),
            country: merchant.country.to_string(),
            website: merchant.website.as_str().to_owned(),
            status: merchant.status,
            next_step: merchant.status.next_step(),
            created_at: merchant.created_at,
            updated_at: merchant.updated_at,
            decisions: merchant.decisions.clone(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RegistrationResponse {
    pub merchant_id: String,
    pub status: MerchantStatus,
    /// The merchant's first secret API key. Shown only in this response; store it now.
    #[schema(example = "pvk_test_…")]
    pub api_key: String,
    /// The key's first characters, as listings will show it.
    pub api_key_prefix: String,
    /// The owner credential (`pvo_…`), shown only in this response. It manages API keys and nothing
    /// else: once the merchant is approved, it creates the first live key (a test key never can).
    #[schema(example = "pvo_…")]
    pub owner_credential: String,
    pub next_step: &'static str,
}

/// Register a merchant. Starts the KYC wait; the merchant is approved (or sent to manual review) after it.
#[utoipa::path(
    post, path = "/merchant/register", operation_id = "registerMerchant", tag = "onboarding",
    request_body = RegistrationRequest,
    responses(
        (status = 201, description = "Registered", body = RegistrationResponse),
        (status = 400, description = "Malformed JSON", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "E-mail already registered", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn register(app: &App, req: &Request) -> HandlerResult {
    let registration = Registration::try_from(json_body::<RegistrationRequest>(req, false)?)?;
    let registered = onboarding::register(app, registration).await?;
    let merchant = &registered.merchant;
    let mut response = json_response(
        StatusCode::CREATED,
        &RegistrationResponse {
            merchant_id: merchant.id.to_string(),
            status: merchant.status,
            api_key: registered.api_key.reveal().to_owned(),
            api_key_prefix: registered.api_key.display_prefix(),
            owner_credential: registered.owner_credential.reveal().to_owned(),
            next_step: merchant.status.next_step(),
        },
    )?;
    if let Ok(location) = HeaderValue::from_str(&format!("/merchant/{}", merchant.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// The merchant's profile and status. Needs that merchant's own API key; any other key gets 404.
#[utoipa::path(
    get, path = "/merchant/{merchant_id}", operation_id = "getMerchant", tag = "onboarding",
    params(("merchant_id" = String, Path, description = "The merchant's id")),
    security(("merchant_api_key" = [])),
    responses(
        (status = 200, description = "The merchant", body = MerchantView),
        (status = 401, description = "Missing or invalid API key", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such merchant for this key", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get(app: &App, req: &Request) -> HandlerResult {
    let caller = require_merchant(app, req).await?;
    let merchant_id = own_merchant(req, &caller)?;
    let merchant = Merchants::new(app.table.as_ref()).get(&merchant_id).await?.ok_or(Error::NotFound("merchant"))?;
    json_response(StatusCode::OK, &MerchantView::from(&merchant))
}

/// The `{merchant_id}` of the path, if it is the caller's own; another merchant's id is `NotFound`, so a
/// key never reveals whether another merchant exists.
pub fn own_merchant(
    req: &Request,
    caller: &pivota::onboarding::api_keys::AuthenticatedMerchant,
) -> Result<MerchantId, Error> {
    path_param(req, "merchant_id")
        .and_then(MerchantId::parse)
        .filter(|id| *id == caller.merchant_id)
        .ok_or(Error::NotFound("merchant"))
}
