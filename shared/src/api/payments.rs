//! `payment-execute` and `payments-list`.

use http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::merchants::own_merchant;
use super::problem::PROBLEM_JSON;
use super::request::{json_body, json_response, paging, query_param};
use super::{HandlerResult, cursor, require_merchant};
use crate::app::App;
use crate::error::Error;
use crate::payments::{self, ExecuteRequest, PaymentCommand, PaymentStatus};

/// Charge through the routed PSP, exactly once per `Idempotency-Key`.
///
/// The same key with the same body replays the first response; with another body it is refused (422);
/// while the first request is still running, 409. A 502 with status `unknown` means the PSP's answer was
/// lost: retry with the same key, and the PSP is asked again with the same PSP idempotency key.
#[utoipa::path(
    post, path = "/payment/execute", operation_id = "executePayment", tag = "payments",
    params(("Idempotency-Key" = String, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$", description = "Unique per payment; reuse it to retry: 1 to 255 printable ASCII characters")),
    request_body = ExecuteRequest,
    security(("merchant_api_key" = [])),
    responses(
        (status = 200, description = "Succeeded: {payment_id, status, psp, psp_reference, …}"),
        (status = 402, description = "Declined, with decline_code (`/problems/payment-declined`); or not charged because the shopper must act first, with next_action {type, url, description} (`/problems/payment-requires-action`, payment_status `requires_action`)", content_type = "application/problem+json"),
        (status = 409, description = "In progress, or no PSP connected", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, a reused key with another body, or a request the PSP refused", content_type = "application/problem+json"),
        (status = 502, description = "No PSP charged (failed) or the answer was lost (unknown): retry with the same key", content_type = "application/problem+json"),
    )
)]
pub async fn execute(app: &App, req: &Request) -> HandlerResult {
    // The answer comes within the payment budget (25 s) of the request, whatever the PSPs do.
    let deadline = std::time::Instant::now() + app.settings.connectors.payment_budget;
    let caller = require_merchant(app, req).await?;
    let idempotency_key =
        payments::parse_idempotency_key(req.headers().get("idempotency-key").map(|v| v.to_str().unwrap_or_default()))?;
    let mut command = PaymentCommand::parse(json_body::<ExecuteRequest>(req, false)?)?;
    command.return_base = Some(super::request::public_base(app, req)?);
    let stored = payments::execute(app, &caller, &idempotency_key, command, deadline).await?;
    let status = StatusCode::from_u16(stored.status).map_err(|e| Error::Internal(e.to_string()))?;
    let body = serde_json::to_string(&stored.body).map_err(|e| Error::Internal(e.to_string()))?;
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    let content_type = if status.is_success() { "application/json" } else { PROBLEM_JSON };
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PaymentList {
    /// Payments with their attempts: PSP, PSP request id, outcome, latency.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
    pub next_cursor: Option<String>,
}

/// The merchant's payments, newest first.
#[utoipa::path(
    get, path = "/merchant/{merchant_id}/payments", operation_id = "listPayments", tag = "payments",
    params(
        ("merchant_id" = String, Path, description = "The merchant's id"),
        ("status" = Option<PaymentStatus>, Query, description = "Only payments in this status"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 100 (default 20)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    security(("merchant_api_key" = [])),
    responses((status = 200, description = "A page of payments", body = PaymentList))
)]
pub async fn list(app: &App, req: &Request) -> HandlerResult {
    let caller = require_merchant(app, req).await?;
    let merchant_id = own_merchant(req, &caller)?;
    let status = query_param(req, "status")
        .map(|raw| {
            PaymentStatus::parse(raw).ok_or_else(|| {
                Error::bad_parameter(
                    "status",
                    "must be one of processing, succeeded, declined, requires_action, failed, unknown",
                )
            })
        })
        .transpose()?;
    let (limit, cursor) = paging(req)?;
    let (payments, next) = payments::list(app, &merchant_id, status, limit, cursor).await?;
    json_response(
        StatusCode::OK,
        &PaymentList {
            items: payments.iter().map(|p| p.view()).collect(),
            next_cursor: next.as_ref().map(cursor::seal),
        },
    )
}
