//! `psp-connect` and `psp-connections`: connecting, listing and disconnecting a merchant's PSPs.

use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use time::OffsetDateTime;

use super::merchants::own_merchant;
use super::request::{json_body, json_response, path_param};
use super::{HandlerResult, require_merchant};
use pivota::app::App;
use pivota::kernel::error::Error;
use pivota::payments::psp_connections::{self, ConnectCommand, ConnectRequest, PspConnection};
use pivota::payments::{connectors::PspMode, psp::PspKind};

/// A connection as the API shows it: never the key, only its last four characters.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PspConnectionView {
    pub psp: PspKind,
    pub mode: PspMode,
    pub last4: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_account: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub connected_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<&PspConnection> for PspConnectionView {
    fn from(c: &PspConnection) -> Self {
        Self {
            psp: c.psp,
            mode: c.mode,
            last4: c.last4.clone(),
            merchant_account: c.merchant_account.clone(),
            connected_at: c.connected_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PspConnectionList {
    pub items: Vec<PspConnectionView>,
    pub next_cursor: Option<String>,
}

/// Connect Stripe, Adyen or the sandbox. The credentials are checked live with the PSP first; nothing is
/// stored unless the PSP accepts them. Connecting the same PSP again rotates its key.
#[utoipa::path(
    post, path = "/merchant/{merchant_id}/psp/connect", operation_id = "connectPsp", tag = "psp",
    params(("merchant_id" = String, Path, description = "The merchant's id")),
    request_body = ConnectRequest,
    security(("merchant_api_key" = [])),
    responses(
        (status = 201, description = "Connected", body = PspConnectionView),
        (status = 200, description = "Re-connected: the key was rotated", body = PspConnectionView),
        (status = 400, description = "The PSP refused the key or merchant account", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The merchant is not approved", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (e.g. a publishable key)", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 502, description = "The PSP is unreachable; retry", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn connect(app: &App, req: &Request) -> HandlerResult {
    let caller = require_merchant(app, req).await?;
    let merchant_id = own_merchant(req, &caller)?;
    let command = ConnectCommand::try_from(json_body::<ConnectRequest>(req, false)?)?;
    let connected = psp_connections::connect(app, &merchant_id, caller.mode.into(), command).await?;
    let status = if connected.rotated { StatusCode::OK } else { StatusCode::CREATED };
    json_response(status, &PspConnectionView::from(&connected.connection))
}

/// The merchant's PSP connections, without secrets.
#[utoipa::path(
    get, path = "/merchant/{merchant_id}/psp", operation_id = "listPspConnections", tag = "psp",
    params(("merchant_id" = String, Path, description = "The merchant's id")),
    security(("merchant_api_key" = [])),
    responses((status = 200, description = "Connections", body = PspConnectionList))
)]
pub async fn list(app: &App, req: &Request) -> HandlerResult {
    let caller = require_merchant(app, req).await?;
    let merchant_id = own_merchant(req, &caller)?;
    let connections = psp_connections::list(app, &merchant_id).await?;
    json_response(
        StatusCode::OK,
        &PspConnectionList { items: connections.iter().map(PspConnectionView::from).collect(), next_cursor: None },
    )
}

/// Disconnect a PSP and delete its credentials.
#[utoipa::path(
    delete, path = "/merchant/{merchant_id}/psp/{psp}", operation_id = "disconnectPsp", tag = "psp",
    params(
        ("merchant_id" = String, Path, description = "The merchant's id"),
        ("psp" = PspKind, Path, description = "stripe, adyen or sandbox"),
    ),
    security(("merchant_api_key" = [])),
    responses(
        (status = 204, description = "Disconnected: the calling key's mode's connection (a test key removes the test connection, never the live one)"),
        (status = 404, description = "Not connected", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn disconnect(app: &App, req: &Request) -> HandlerResult {
    let caller = require_merchant(app, req).await?;
    let merchant_id = own_merchant(req, &caller)?;
    let psp = path_param(req, "psp").and_then(PspKind::parse).ok_or(Error::NotFound("PSP connection"))?;
    psp_connections::disconnect(app, &merchant_id, psp, caller.mode.into()).await?;
    no_content()
}

pub fn no_content() -> HandlerResult {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}
