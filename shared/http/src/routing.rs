//! `routing`: the merchant's payment routing document.

use http::StatusCode;
use lambda_http::Request;
use serde::Serialize;
use time::OffsetDateTime;

use super::merchants::own_merchant;
use super::request::{json_body, json_response};
use super::{HandlerResult, require_merchant};
use pivota::app::App;
use pivota::payments::psp::PspKind;
use pivota::payments::psp_connections;
use pivota::payments::routing::{self, RoutingDocument, RoutingRequest, RoutingRule, TestPaymentMethod};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RoutingView {
    pub priority: Vec<PspKind>,
    pub rules: Vec<RoutingRule>,
    /// Charged in test mode for store orders without a payment method; `null`: each PSP's test default.
    pub test_payment_method: Option<TestPaymentMethod>,
    /// `null` when the merchant has no document yet (the PSPs are then tried in the order connected).
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<OffsetDateTime>,
}

impl RoutingView {
    fn of(document: RoutingDocument, updated_at: Option<OffsetDateTime>) -> Self {
        Self {
            priority: document.priority,
            rules: document.rules,
            test_payment_method: document.test_payment_method,
            updated_at,
        }
    }
}

/// Replace the routing document. Every PSP it names must be connected.
#[utoipa::path(
    put, path = "/merchant/{merchant_id}/routing", operation_id = "putRouting", tag = "routing",
    params(("merchant_id" = String, Path, description = "The merchant's id")),
    request_body = RoutingRequest,
    security(("merchant_api_key" = [])),
    responses(
        (status = 200, description = "Stored", body = RoutingView),
        (status = 422, description = "Invalid document, e.g. a rule naming an unconnected PSP or a malformed test_payment_method", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn put(app: &App, req: &Request) -> HandlerResult {
    let caller = require_merchant(app, req).await?;
    let merchant_id = own_merchant(req, &caller)?;
    let request: RoutingRequest = json_body(req, false)?;
    let connected: Vec<PspKind> = psp_connections::list(app, &merchant_id).await?.iter().map(|c| c.psp).collect();
    let document = RoutingDocument::parse(request, &connected)?;
    let now = app.clock.now();
    routing::put(app.table.as_ref(), &merchant_id, document.clone(), now).await?;
    json_response(StatusCode::OK, &RoutingView::of(document, Some(now)))
}

/// The routing document; without one, the connected PSPs in the order they were connected.
#[utoipa::path(
    get, path = "/merchant/{merchant_id}/routing", operation_id = "getRouting", tag = "routing",
    params(("merchant_id" = String, Path, description = "The merchant's id")),
    security(("merchant_api_key" = [])),
    responses((status = 200, description = "The document", body = RoutingView))
)]
pub async fn get(app: &App, req: &Request) -> HandlerResult {
    let caller = require_merchant(app, req).await?;
    let merchant_id = own_merchant(req, &caller)?;
    let view = match routing::get(app.table.as_ref(), &merchant_id).await? {
        Some((document, updated_at)) => RoutingView::of(document, Some(updated_at)),
        None => {
            let mut connections = psp_connections::list(app, &merchant_id).await?;
            connections.sort_by_key(|c| c.connected_at);
            let priority = connections.iter().map(|c| c.psp).collect();
            RoutingView::of(RoutingDocument { priority, rules: Vec::new(), test_payment_method: None }, None)
        }
    };
    json_response(StatusCode::OK, &view)
}
