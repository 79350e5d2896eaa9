//! Sign-in, sign-out, registration and the merchant's overview with its live KYC status.

use std::collections::HashMap;

use http::{Method, StatusCode};
use maud::{Markup, html};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use super::super::layout::{self, Field, FormState, badge, csrf, form_message, page, section, time};
use super::super::session::{Role, Session};
use super::super::{ConsoleError, Ctx, PageResult, html as respond, redirect};
use pivota::kernel::error::Error;
use pivota::onboarding::api_key::HasApiKeyHasher as _;

/// Where to go after signing in: a console path from `?next=`, never another site.
fn next_or(ctx_next: &str, default: &str) -> String {
    let safe = ctx_next.starts_with("/console") && !ctx_next.contains("//") && !ctx_next.contains('\\');
    if safe { ctx_next.to_owned() } else { default.to_owned() }
}

pub async fn home(ctx: &Ctx<'_>) -> PageResult {
    Ok(redirect(match ctx.session.role {
        Some(Role::Merchant) => "/console/overview",
        Some(Role::Admin) => "/console/admin/merchants",
        None => "/console/sign-in",
    }))
}

pub async fn sign_in_page(ctx: &Ctx<'_>) -> PageResult {
    Ok(respond(StatusCode::OK, sign_in(ctx, &ctx.query("next"), None, &FormState::default())))
}

fn sign_in(ctx: &Ctx<'_>, next: &str, refused: Option<&str>, state: &FormState) -> Markup {
    let blank = FormState::default();
    let form = |role: &str, field: Field<'_>, button: &str| {
        let state = if refused == Some(role) { state } else { &blank };
        html! {
            form method="post" action="/console/sign-in" novalidate {
                (csrf(ctx))
                input type="hidden" name="role" value=(role);
                input type="hidden" name="next" value=(next);
                (form_message(state))
                (field.render(state, role))
                button type="submit" { (button) }
            }
        }
    };
    let key_hint = "A key that starts with pvk_, from registration or the API keys page.";
    let body = html! {
        div.columns {
            section aria-labelledby="merchant-sign-in" {
                h2 #merchant-sign-in { "Merchants" }
                (form("merchant", Field::new("api_key", "API key").kind("password").hint(key_hint), "Sign in"))
                p { "New to Pivota? " a href="/console/register" { "Register your business" } }
            }
            (section("admin-sign-in", "Pivota admins", form("admin", Field::new("admin_token", "Admin token").kind("password"), "Sign in as admin")))
        }
    };
    page(ctx, "Sign in", body)
}

pub async fn sign_in_submit(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.form().await?;
    let next = form.get("next").to_owned();
    let now = ctx.now();
    let refuse = |role: &str, field: &str, message: &str| {
        let mut state = FormState { message: Some(message.to_owned()), ..FormState::default() };
        state.errors.insert(field.to_owned(), message.to_owned());
        Ok(respond(StatusCode::UNAUTHORIZED, sign_in(ctx, &next, Some(role), &state)))
    };
    match form.get("role") {
        "admin" => {
            let token = form.secret("admin_token");
            if token.expose_secret().is_empty() {
                return refuse("admin", "admin_token", "Enter the admin token.");
            }
            if !pivota::kernel::secret::secrets_match(token.expose_secret(), &ctx.app.admin_token().await?) {
                tracing::warn!("console admin sign-in refused");
                return refuse("admin", "admin_token", "That admin token is not valid.");
            }
            let session = Session::signed_in(Role::Admin, None, None, token, now);
            ctx.with_session(redirect(&next_or(&next, "/console/admin/merchants")), &session).await
        }
        _ => {
            let key = form.secret("api_key");
            if key.expose_secret().is_empty() {
                return refuse("merchant", "api_key", "Enter your API key.");
            }
            let hasher = ctx.app.api_key_hasher().await?;
            match pivota::onboarding::api_keys::authenticate(ctx.app.table.as_ref(), &hasher, key.expose_secret(), now)
                .await
            {
                Ok(caller) => {
                    let session = Session::signed_in(
                        Role::Merchant,
                        Some(caller.merchant_id.to_string()),
                        Some(caller.key_id),
                        key,
                        now,
                    );
                    ctx.with_session(redirect(&next_or(&next, "/console/overview")), &session).await
                }
                Err(Error::Unauthenticated) => {
                    refuse("merchant", "api_key", "That API key is not valid, or it was revoked or has expired.")
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

pub async fn sign_out(ctx: &Ctx<'_>) -> PageResult {
    ctx.form().await?;
    ctx.without_session(redirect("/console/sign-in?notice=signed-out"))
}

const REGISTRATION_FIELDS: [&str; 4] = ["business_name", "email", "country", "website"];

pub async fn register_page(ctx: &Ctx<'_>) -> PageResult {
    Ok(respond(StatusCode::OK, register_form(ctx, &FormState::default())))
}

fn register_form(ctx: &Ctx<'_>, state: &FormState) -> Markup {
    let body = html! {
        p { "Register your business. Identity checks (KYC) run automatically; most businesses are approved within seconds." }
        form method="post" action="/console/register" data-validate {
            (csrf(ctx))
            (form_message(state))
            (Field::new("business_name", "Business name").autocomplete("organization").render(state, "register"))
            (Field::new("email", "Contact e-mail").kind("email").autocomplete("email").render(state, "register"))
            (Field::new("country", "Country of incorporation").hint("Two letters, ISO 3166-1, e.g. DE or US.").pattern("[A-Za-z]{2}").autocomplete("country").render(state, "register"))
            (Field::new("website", "Website").kind("url").hint("https://…").autocomplete("url").render(state, "register"))
            button type="submit" { "Register" }
        }
        p { "Already registered? " a href="/console/sign-in" { "Sign in" } }
    };
    page(ctx, "Register", body)
}

pub async fn register_submit(ctx: &Ctx<'_>) -> PageResult {
    let form = ctx.form().await?;
    let values: HashMap<String, String> =
        REGISTRATION_FIELDS.iter().map(|f| ((*f).to_owned(), form.get(f).to_owned())).collect();
    let body = json!(values);
    let reply = ctx.api().send(Method::POST, "/merchant/register", body).await;
    if !reply.is_success() {
        let mut state = FormState::refused(values, &reply);
        if reply.status == 409 {
            state.errors.insert("email".into(), reply.detail());
        }
        let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
        return Ok(respond(status, register_form(ctx, &state)));
    }
    let (Some(merchant_id), Some(api_key)) = (reply.str("merchant_id"), reply.str("api_key")) else {
        return Err(ConsoleError::Api(reply));
    };
    let hasher = ctx.app.api_key_hasher().await?;
    let caller =
        pivota::onboarding::api_keys::authenticate(ctx.app.table.as_ref(), &hasher, api_key, ctx.now()).await?;
    let session = Session::signed_in(
        Role::Merchant,
        Some(merchant_id.to_owned()),
        Some(caller.key_id),
        secrecy::SecretString::from(api_key.to_owned()),
        ctx.now(),
    );
    // The page is rendered for the new session: its navigation, and its forms' CSRF token.
    let signed_in = ctx.signed_in_as(session).await?;
    let ctx = &signed_in;
    let body = html! {
        (section("key-heading", "Your API key", reveal_key(api_key)))
        (section("kyc-heading", "Verification", kyc_status(&json!({"status": reply.str("status"), "next_step": reply.str("next_step")}))))
        p { a.button href="/console/overview" { "Continue to your overview" } }
    };
    let markup = page(ctx, "Welcome to Pivota", body);
    ctx.with_session(respond(StatusCode::CREATED, markup), &ctx.session).await
}

/// A secret shown once, with a copy button.
pub fn reveal_key(key: &str) -> Markup {
    html! {
        div.reveal {
            p.warning role="note" { strong { "Copy this key now. " } "It is shown only once; Pivota keeps only a hash of it." }
            label for="revealed-key" { "API key" }
            div.copy-row {
                input #revealed-key type="text" readonly value=(key) autocomplete="off" spellcheck="false";
                button type="button" data-copy="revealed-key" { "Copy" }
            }
            p.hint data-copy-status aria-live="polite" {}
        }
    }
}

/// The KYC status; while pending, the script refreshes it from `/console/fragments/kyc`.
fn kyc_status(merchant: &Value) -> Markup {
    let status = merchant["status"].as_str().unwrap_or("unknown");
    let waiting = matches!(status, "pending_kyc");
    html! {
        div #kyc-status.live data-poll=[waiting.then_some("/console/fragments/kyc")] aria-live="polite" {
            p { "KYC status: " (badge(status)) }
            p.hint { (next_step(status)) }
            @if waiting { p.hint { "This updates by itself; no need to reload." } }
        }
    }
}

/// What the merchant does next, in words.
fn next_step(status: &str) -> &'static str {
    match status {
        "pending_kyc" => "Automatic checks are running; this takes a few seconds.",
        "manual_review" => "A Pivota admin is reviewing your registration.",
        "approved" => "You are verified. Next: connect a payment provider.",
        "rejected" => "Your registration was not approved. Contact Pivota support.",
        _ => "",
    }
}

pub async fn kyc_fragment(ctx: &Ctx<'_>) -> PageResult {
    let merchant_id = ctx.merchant_id()?;
    let reply = ctx.api().get(&format!("/merchant/{merchant_id}"), &[]).await;
    if !reply.is_success() {
        return Err(ConsoleError::from_reply(reply));
    }
    Ok(respond(StatusCode::OK, kyc_status(&reply.body)))
}

pub async fn overview(ctx: &Ctx<'_>) -> PageResult {
    let merchant_id = ctx.merchant_id()?;
    let api = ctx.api();
    let merchant = api.get(&format!("/merchant/{merchant_id}"), &[]).await;
    if !merchant.is_success() {
        return Err(ConsoleError::from_reply(merchant));
    }
    let psps = api.get(&format!("/merchant/{merchant_id}/psp"), &[]).await;
    let stores = api.get(&format!("/merchant/{merchant_id}/stores"), &[]).await;
    let m = &merchant.body;
    let has_webhooks = stores.items().iter().any(|s| s["webhooks"].as_array().is_some_and(|w| !w.is_empty()));
    let steps = [
        (m["status"] == "approved", "Get verified (KYC)", "/console/overview"),
        (!psps.items().is_empty(), "Connect a payment provider", "/console/psp"),
        (!stores.items().is_empty(), "Connect your store", "/console/stores"),
        (has_webhooks, "Set up order webhooks on the store", "/console/stores"),
    ];
    let body = html! {
        (section("kyc-heading", "Verification", kyc_status(m)))
        section aria-labelledby="steps-heading" {
            h2 #steps-heading { "Getting started" }
            ol.checklist {
                @for (done, label, href) in steps {
                    li class=(if done { "done" } else { "todo" }) {
                        span.visually-hidden { (if done { "Done: " } else { "To do: " }) }
                        @if done { (label) } @else { a href=(href) { (label) } }
                    }
                }
            }
        }
        section aria-labelledby="business-heading" {
            h2 #business-heading { "Business" }
            dl.facts {
                dt { "Name" } dd { (m["business_name"].as_str().unwrap_or_default()) }
                dt { "E-mail" } dd { (m["email"].as_str().unwrap_or_default()) }
                dt { "Country" } dd { (m["country"].as_str().unwrap_or_default()) }
                dt { "Website" } dd { (m["website"].as_str().unwrap_or_default()) }
                dt { "Merchant id" } dd { code { (merchant_id) } }
                dt { "Registered" } dd { (time(m["created_at"].as_str())) }
            }
        }
        (section("history-heading", "Decision history", decisions(m)))
    };
    Ok(respond(StatusCode::OK, page(ctx, "Overview", body)))
}

/// A merchant's KYC decisions, oldest first.
pub fn decisions(merchant: &Value) -> Markup {
    let decisions = merchant["decisions"].as_array().map(Vec::as_slice).unwrap_or_default();
    html! {
        @if decisions.is_empty() {
            p.hint { "No decision yet." }
        } @else {
            ol.history {
                @for d in decisions {
                    li {
                        (badge(d["outcome"].as_str().unwrap_or_default())) " "
                        (time(d["decided_at"].as_str())) " by "
                        (layout::actor(&d["actor"]))
                        @if let Some(reason) = d["reason"].as_str() { ": " q { (reason) } }
                    }
                }
            }
        }
    }
}
