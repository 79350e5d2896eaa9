//! `admin-merchants` and `admin-review`: the admin's merchant list and KYC decisions.

use http::StatusCode;
use lambda_http::Request;
use serde::{Deserialize, Serialize};

use super::merchants::MerchantView;
use super::request::{json_body, json_response, paging, path_param, query_param};
use super::{HandlerResult, cursor, require_admin};
use pivota::app::App;
use pivota::kernel::error::Error;
use pivota::kernel::validation::FieldErrors;
use pivota::onboarding;
use pivota::onboarding::merchant::{MerchantId, MerchantStatus};
use pivota::onboarding::merchants::Merchants;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MerchantList {
    pub items: Vec<MerchantView>,
    /// Pass as `?cursor=` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Merchants, newest first, optionally filtered by status.
#[utoipa::path(
    get, path = "/admin/merchants", operation_id = "listMerchants", tag = "admin",
    params(
        ("status" = Option<MerchantStatus>, Query, description = "Only merchants in this status"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 100 (default 20)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "A page of merchants", body = MerchantList),
        (status = 400, description = "Invalid parameter, named", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid admin token", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(app: &App, req: &Request) -> HandlerResult {
    require_admin(app, req).await?;
    let status = query_param(req, "status")
        .map(|raw| {
            MerchantStatus::parse(raw).ok_or_else(|| {
                Error::bad_parameter(
                    "status",
                    "must be one of pending_kyc, manual_review, approved, rejected, suspended",
                )
            })
        })
        .transpose()?;
    let (limit, cursor) = paging(req)?;
    let page = Merchants::new(app.table.as_ref()).list(status, limit, cursor).await?;
    json_response(
        StatusCode::OK,
        &MerchantList {
            items: page.merchants.iter().map(MerchantView::from).collect(),
            next_cursor: page.next.as_ref().map(cursor::seal),
        },
    )
}

/// The body of approve and reject.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ReviewRequest {
    /// Why. Required to reject, optional to approve; at most 1000 characters.
    #[schema(
        max_length = 1000,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub reason: Option<String>,
    /// Who is deciding, recorded with the decision (default `admin`).
    #[schema(
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub reviewer: Option<String>,
}

struct Review {
    reason: Option<String>,
    reviewer: String,
}

fn parse_review(request: ReviewRequest, reason_required: bool) -> Result<Review, Error> {
    let mut errors = FieldErrors::default();
    let text = |max: usize| {
        move |raw: &str| {
            let value = raw.trim();
            if value.is_empty() {
                Err("must not be empty".to_owned())
            } else if value.chars().count() > max || value.chars().any(char::is_control) {
                Err(format!("must be at most {max} characters without control characters"))
            } else {
                Ok(value.to_owned())
            }
        }
    };
    let reason = if reason_required {
        errors.field("reason", request.reason, text(1000))
    } else {
        errors.optional("reason", request.reason, text(1000))
    };
    let reviewer = errors.optional("reviewer", request.reviewer, text(200));
    errors.into_result()?;
    Ok(Review { reason, reviewer: reviewer.unwrap_or_else(|| "admin".to_owned()) })
}

async fn decide(app: &App, req: &Request, outcome: MerchantStatus, suspension: bool) -> HandlerResult {
    require_admin(app, req).await?;
    let merchant_id = path_param(req, "merchant_id").and_then(MerchantId::parse).ok_or(Error::NotFound("merchant"))?;
    let reason_required = matches!(outcome, MerchantStatus::Rejected | MerchantStatus::Suspended);
    let review = parse_review(json_body(req, true)?, reason_required)?;
    let merchant = if suspension {
        onboarding::suspend_or_reinstate(app, &merchant_id, outcome, &review.reviewer, review.reason).await?
    } else {
        onboarding::decide_by_admin(app, &merchant_id, outcome, &review.reviewer, review.reason).await?
    };
    json_response(StatusCode::OK, &MerchantView::from(&merchant))
}

/// Approve a merchant in `pending_kyc` or `manual_review`.
#[utoipa::path(
    post, path = "/admin/merchants/{merchant_id}/approve", operation_id = "approveMerchant", tag = "admin",
    params(("merchant_id" = String, Path, description = "The merchant's id")),
    request_body(content = Option<ReviewRequest>, description = "Optional reason and reviewer"),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Approved", body = MerchantView),
        (status = 401, description = "Missing or invalid admin token", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such merchant", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn approve(app: &App, req: &Request) -> HandlerResult {
    decide(app, req, MerchantStatus::Approved, false).await
}

/// Reject a merchant in `pending_kyc` or `manual_review`, with a reason.
#[utoipa::path(
    post, path = "/admin/merchants/{merchant_id}/reject", operation_id = "rejectMerchant", tag = "admin",
    params(("merchant_id" = String, Path, description = "The merchant's id")),
    request_body = ReviewRequest,
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Rejected", body = MerchantView),
        (status = 401, description = "Missing or invalid admin token", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such merchant", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing reason", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reject(app: &App, req: &Request) -> HandlerResult {
    decide(app, req, MerchantStatus::Rejected, false).await
}

/// Suspend an approved merchant, with a reason: its API keys get 403 on every route and its store orders
/// are recorded without being charged, until it is reinstated.
#[utoipa::path(
    post, path = "/admin/merchants/{merchant_id}/suspend", operation_id = "suspendMerchant", tag = "admin",
    params(("merchant_id" = String, Path, description = "The merchant's id")),
    request_body = ReviewRequest,
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Suspended", body = MerchantView),
        (status = 409, description = "Not approved (only an approved merchant can be suspended)", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing reason", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn suspend(app: &App, req: &Request) -> HandlerResult {
    decide(app, req, MerchantStatus::Suspended, true).await
}

/// Reinstate a suspended merchant: approved again, its keys work and its new orders are charged.
#[utoipa::path(
    post, path = "/admin/merchants/{merchant_id}/reinstate", operation_id = "reinstateMerchant", tag = "admin",
    params(("merchant_id" = String, Path, description = "The merchant's id")),
    request_body(content = Option<ReviewRequest>, description = "Optional reason and reviewer"),
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Approved again", body = MerchantView),
        (status = 409, description = "Not suspended", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn reinstate(app: &App, req: &Request) -> HandlerResult {
    decide(app, req, MerchantStatus::Approved, true).await
}

/// Rebuild a merchant's product search index from the catalog (the table is the source of truth): queued
/// for the search indexer, which replaces the index in one commit. Searches go on meanwhile.
#[utoipa::path(
    post, path = "/admin/merchants/{merchant_id}/search-index/rebuild", operation_id = "rebuildSearchIndex", tag = "admin",
    params(("merchant_id" = String, Path, description = "The merchant's id")),
    security(("admin_token" = [])),
    responses(
        (status = 202, description = "Queued: {merchant_id, status: \"queued\"}"),
        (status = 401, description = "Missing or invalid admin token", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such merchant", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn rebuild_search_index(app: &App, req: &Request) -> HandlerResult {
    require_admin(app, req).await?;
    let merchant_id = path_param(req, "merchant_id").and_then(MerchantId::parse).ok_or(Error::NotFound("merchant"))?;
    Merchants::new(app.table.as_ref()).get(&merchant_id).await?.ok_or(Error::NotFound("merchant"))?;
    pivota::catalog::search::request_rebuild(app, &merchant_id).await?;
    json_response(StatusCode::ACCEPTED, &serde_json::json!({"merchant_id": merchant_id, "status": "queued"}))
}
