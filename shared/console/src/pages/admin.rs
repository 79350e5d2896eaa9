//! Admin pages: merchants filtered by status with paging, one merchant's decision history, approve and
//! reject with a reason.

use http::{Method, StatusCode};
use maud::html;
use secrecy::ExposeSecret as _;
use serde_json::json;

use super::super::layout::{Field, FormState, badge, csrf, empty, form_message, page, paging, status_filter, time};
use super::super::{ConsoleError, Ctx, PageResult, html as respond, redirect};
use super::onboarding::decisions;
use pivota::onboarding::merchant::MerchantId;
use pivota::onboarding::merchants::Merchants;
use pivota_http::merchants::MerchantView;

const STATUSES: [&str; 5] = ["pending_kyc", "manual_review", "approved", "rejected", "suspended"];

pub async fn merchants(ctx: &Ctx<'_>) -> PageResult {
    ctx.require_admin()?;
    let (status, cursor) = (ctx.query("status"), ctx.query("cursor"));
    let query = [("status", status.as_str()), ("cursor", cursor.as_str()), ("limit", "20")];
    let reply = ctx.api().get("/admin/merchants", &query).await;
    if !reply.is_success() {
        return Err(ConsoleError::from_reply(reply));
    }
    let body = html! {
        (status_filter("/console/admin/merchants", "Status", &STATUSES, &status))
        @if reply.items().is_empty() {
            (empty(if status.is_empty() { "No merchant has registered yet." } else { "No merchant has this status." }, None))
        } @else {
            div.table-wrap { table {
                caption.visually-hidden { "Merchants" }
                thead { tr { th scope="col" { "Business" } th scope="col" { "E-mail" } th scope="col" { "Country" } th scope="col" { "Status" } th scope="col" { "Registered" } } }
                tbody {
                    @for m in reply.items() {
                        @let id = m["merchant_id"].as_str().unwrap_or_default();
                        tr {
                            th scope="row" { a href={ "/console/admin/merchants/" (id) } { (m["business_name"].as_str().unwrap_or(id)) } }
                            td { (m["email"].as_str().unwrap_or_default()) }
                            td { (m["country"].as_str().unwrap_or_default()) }
                            td { (badge(m["status"].as_str().unwrap_or_default())) }
                            td { (time(m["created_at"].as_str())) }
                        }
                    }
                }
            } }
            (paging("/console/admin/merchants", &[("status", status.as_str())], reply.str("next_cursor"), !cursor.is_empty()))
        }
    };
    Ok(respond(StatusCode::OK, page(ctx, "Merchants", body)))
}

/// The admin session's token must still be the admin token (a rotation ends admin sessions).
async fn verified_admin(ctx: &Ctx<'_>) -> Result<(), ConsoleError> {
    ctx.require_admin()?;
    let presented = ctx.session.credential.as_ref().ok_or(ConsoleError::SignIn)?;
    if pivota::kernel::secret::secrets_match(presented.expose_secret(), &ctx.app.admin_token().await?) {
        Ok(())
    } else {
        Err(ConsoleError::SignIn)
    }
}

pub async fn merchant(ctx: &Ctx<'_>) -> PageResult {
    merchant_page(ctx, StatusCode::OK, &FormState::default()).await
}

async fn merchant_page(ctx: &Ctx<'_>, status: StatusCode, state: &FormState) -> PageResult {
    verified_admin(ctx).await?;
    let id = MerchantId::parse(ctx.param("merchant_id")).ok_or(ConsoleError::NotFound)?;
    let merchant = Merchants::new(ctx.app.table.as_ref()).get(&id).await?.ok_or(ConsoleError::NotFound)?;
    let view = serde_json::to_value(MerchantView::from(&merchant))
        .map_err(|e| ConsoleError::Internal(pivota::kernel::error::Error::Internal(e.to_string())))?;
    let current = view["status"].as_str().unwrap_or_default();
    let decidable = matches!(current, "pending_kyc" | "manual_review");
    let title = format!("Merchant {}", view["business_name"].as_str().unwrap_or_default());
    let body = html! {
        p { a href="/console/admin/merchants" { "← All merchants" } }
        dl.facts {
            dt { "Status" } dd { (badge(current)) }
            dt { "E-mail" } dd { (view["email"].as_str().unwrap_or_default()) }
            dt { "Country" } dd { (view["country"].as_str().unwrap_or_default()) }
            dt { "Website" } dd { (view["website"].as_str().unwrap_or_default()) }
            dt { "Merchant id" } dd { code { (id) } }
            dt { "Registered" } dd { (time(view["created_at"].as_str())) }
        }
        section aria-labelledby="history-heading" {
            h2 #history-heading { "Decision history" }
            (decisions(&view))
            @for d in view["decisions"].as_array().into_iter().flatten() {
                @for check in d["checks"].as_array().into_iter().flatten() {
                    p.hint { (if check["passed"] == true { "✓ " } else { "✗ " }) (check["rule"].as_str().unwrap_or_default()) ": " (check["detail"].as_str().unwrap_or_default()) }
                }
            }
        }
        @if decidable {
            section aria-labelledby="decide-heading" {
                h2 #decide-heading { "Decide" }
                (form_message(state))
                div.columns {
                    form method="post" action={ "/console/admin/merchants/" (id) "/approve" } {
                        (csrf(ctx))
                        (Field::new("reason", "Reason").optional().render(&FormState::default(), "approve"))
                        button type="submit" { "Approve" }
                    }
                    form method="post" action={ "/console/admin/merchants/" (id) "/reject" } novalidate {
                        (csrf(ctx))
                        (Field::new("reason", "Reason for rejecting").hint("Required; recorded in the history.").render(state, "reject"))
                        button.danger type="submit" { "Reject" }
                    }
                }
            }
        } @else {
            p.hint { "This merchant is " (current.replace('_', " ")) "; decisions are final." }
        }
    };
    Ok(respond(status, page(ctx, &title, body)))
}

async fn decide(ctx: &Ctx<'_>, outcome: &str) -> PageResult {
    ctx.require_admin()?;
    let form = ctx.form().await?;
    let id = ctx.param("merchant_id");
    let mut body = json!({"reviewer": "console"});
    if let Some(reason) = form.optional("reason") {
        body["reason"] = json!(reason);
    }
    let reply = ctx.api().send(Method::POST, &format!("/admin/merchants/{id}/{outcome}"), body).await;
    match reply.status {
        200..=299 => Ok(redirect(&format!("/console/admin/merchants/{id}?notice=decided"))),
        401 => Err(ConsoleError::SignIn),
        404 => Err(ConsoleError::NotFound),
        status => {
            let values = [("reason".to_owned(), form.get("reason").to_owned())].into_iter().collect();
            let state = FormState::refused(values, &reply);
            merchant_page(ctx, StatusCode::from_u16(status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY), &state).await
        }
    }
}

pub async fn approve(ctx: &Ctx<'_>) -> PageResult {
    decide(ctx, "approve").await
}

pub async fn reject(ctx: &Ctx<'_>) -> PageResult {
    decide(ctx, "reject").await
}
