//! `payment-execute` and `payments-list`.

use http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::merchants::own_merchant;
use super::problem::PROBLEM_JSON;
use super::request::{Params, json_body, json_response, paging};
use super::{HandlerResult, cursor, require_merchant};
use pivota::app::App;
use pivota::kernel::error::Error;
use pivota::onboarding::api_keys::AuthenticatedMerchant;
use pivota::payments::{self, ExecuteRequest, Payer, Payment, PaymentCommand, PaymentOutcome, PaymentStatus};
use pivota::ports::PageCursor;

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
    let idempotency_key = req.headers().get("idempotency-key").map(|v| v.to_str().unwrap_or_default());
    let request = json_body::<ExecuteRequest>(req, false)?;
    let payment =
        charge(app, &caller, idempotency_key, request, super::request::public_base(app, req)?, deadline).await?;
    let (status, body) = render(&payment);
    let body = serde_json::to_string(&body).map_err(|e| Error::Internal(e.to_string()))?;
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    let content_type = if status.is_success() { "application/json" } else { PROBLEM_JSON };
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `/payment/execute` for an authenticated caller (the REST route, or the MCP tool): the key, then the
/// body, are validated as the route does; then the payment is charged once per key, or replayed.
pub async fn charge(
    app: &App,
    caller: &AuthenticatedMerchant,
    idempotency_key: Option<&str>,
    request: ExecuteRequest,
    return_base: String,
    deadline: std::time::Instant,
) -> Result<Payment, Error> {
    let idempotency_key = payments::parse_idempotency_key(idempotency_key)?;
    let mut command = PaymentCommand::parse(request)?;
    command.return_base = Some(return_base);
    let payer = Payer { merchant_id: caller.merchant_id.clone(), mode: caller.mode.into() };
    // The merchant's connections and routing are read only if the payment is charged (not for a replay).
    payments::execute(app, &payer, None, &idempotency_key, command, deadline).await
}

/// A payment as `/payment/execute` answers with it, by its outcome: 200 when charged; 402 for a decline
/// (`/problems/payment-declined`) or a payment that requires the shopper's action
/// (`/problems/payment-requires-action`, with `next_action`); 422 when the PSP refused the request; 502 when
/// no PSP charged or the answer was lost. Problems are RFC 9457 bodies carrying the payment's fields as
/// extension members. A replay renders the same stored payment, so it gets the same answer.
pub fn render(payment: &Payment) -> (StatusCode, serde_json::Value) {
    let mut body = payment.view();
    let failure = || payment.failure.clone().unwrap_or_default();
    let (status, slug, title, detail) = match payment.outcome() {
        PaymentOutcome::Succeeded => return (StatusCode::OK, body),
        PaymentOutcome::Declined => (
            StatusCode::PAYMENT_REQUIRED,
            "payment-declined",
            "Payment declined",
            format!("the PSP declined the payment ({})", payment.decline_code.as_deref().unwrap_or("declined")),
        ),
        PaymentOutcome::RequiresAction => (
            StatusCode::PAYMENT_REQUIRED,
            "payment-requires-action",
            "Payment requires the shopper's action",
            payment.next_action.as_ref().map_or_else(
                || "the shopper must act before the payment can complete".into(),
                |next| next.description.clone(),
            ),
        ),
        PaymentOutcome::Refused => {
            (StatusCode::UNPROCESSABLE_ENTITY, "payment-refused", "Payment request refused", failure())
        }
        PaymentOutcome::Retry => {
            (StatusCode::BAD_GATEWAY, "psp-unavailable", "Payment provider unavailable", failure())
        }
    };
    if let Some(fields) = body.as_object_mut() {
        // RFC 9457's `status` is the HTTP status; the payment's own moves to `payment_status`.
        if let Some(payment_status) = fields.remove("status") {
            fields.insert("payment_status".into(), payment_status);
        }
        fields.insert("type".into(), format!("/problems/{slug}").into());
        fields.insert("title".into(), title.into());
        fields.insert("status".into(), status.as_u16().into());
        fields.insert("detail".into(), detail.into());
    }
    (status, body)
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
    let (status, limit, cursor) = list_filter(req)?;
    let (payments, next) = payments::list(app, &merchant_id, status, limit, cursor).await?;
    json_response(
        StatusCode::OK,
        &PaymentList {
            items: payments.iter().map(|p| p.view()).collect(),
            next_cursor: next.as_ref().map(cursor::seal),
        },
    )
}

/// The `status`, `limit` and `cursor` of a payments listing (from a query string or a tool call); each bad
/// one is a 400 naming it.
pub fn list_filter(params: &impl Params) -> Result<(Option<PaymentStatus>, u32, Option<PageCursor>), Error> {
    let status = params
        .param("status")
        .map(|raw| {
            PaymentStatus::parse(raw).ok_or_else(|| {
                Error::bad_parameter(
                    "status",
                    "must be one of processing, succeeded, declined, requires_action, failed, unknown",
                )
            })
        })
        .transpose()?;
    let (limit, cursor) = paging(params)?;
    Ok((status, limit, cursor))
}
