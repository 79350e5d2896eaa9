//! The merchant's payment set-up: PSP connections, API keys and the routing editor.

use std::collections::HashMap;

use http::{Method, StatusCode};
use maud::html;
use serde_json::{Value, json};

use pivota::kernel::connect_form::FieldKind;
use pivota::payments::psp::PspKind;

use super::super::layout::{Field, FormState, badge, connect_fields, csrf, empty, form_message, page, time, with_code};
use super::super::{ConsoleError, Ctx, PageResult, html as respond, integer_or_text, redirect};
use super::onboarding::reveal_key;

// ---- PSP connections ----

/// Every registered PSP by its title: `Stripe, Adyen or Sandbox`.
fn providers() -> String {
    let titles = PspKind::ALL.map(|psp| psp.profile().connect_form().title);
    match titles.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

pub async fn psp_page(ctx: &Ctx<'_>) -> PageResult {
    psp(ctx, StatusCode::OK, None, &FormState::default()).await
}

/// The connections and the three connect forms; `refused` names the form whose submission failed.
async fn psp(ctx: &Ctx<'_>, status: StatusCode, refused: Option<&str>, state: &FormState) -> PageResult {
    let merchant_id = ctx.merchant_id()?;
    let reply = ctx.api().get(&format!("/merchant/{merchant_id}/psp"), &[]).await;
    if !reply.is_success() {
        return Err(ConsoleError::from_reply(reply));
    }
    let blank = FormState::default();
    let state_of = |psp: &str| if refused == Some(psp) { state } else { &blank };
    let body = html! {
        section aria-labelledby="connected-heading" {
            h2 #connected-heading { "Connected" }
            @if reply.items().is_empty() {
                (empty(&format!("No payment provider is connected yet. Connect {} below to take payments.", providers()), None))
            } @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Provider" } th scope="col" { "Mode" } th scope="col" { "Key" } th scope="col" { "Connected" } th scope="col" { span.visually-hidden { "Actions" } } } }
                    tbody {
                        @for c in reply.items() {
                            @let psp = c["psp"].as_str().unwrap_or_default();
                            tr {
                                td { (psp) @if let Some(account) = c["merchant_account"].as_str() { br; span.hint { (account) } } }
                                td { (badge(c["mode"].as_str().unwrap_or_default())) }
                                td { "…" (c["last4"].as_str().unwrap_or_default()) }
                                td { (time(c["connected_at"].as_str())) }
                                td {
                                    form method="post" action={ "/console/psp/" (psp) "/disconnect" } {
                                        (csrf(ctx))
                                        button.secondary type="submit" aria-label={ "Disconnect " (psp) } { "Disconnect" }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
        }
        h2 { "Connect a provider" }
        p.hint { "Keys are checked live with the provider before anything is saved, and kept only in the secret store." }
        div.columns {
            @for psp in PspKind::ALL {
                @let form = psp.profile().connect_form();
                @let id = psp.as_str();
                section aria-labelledby={ (id) "-heading" } {
                    h3 id={ (id) "-heading" } { (form.title) }
                    @if let Some(intro) = form.intro { p { (with_code(intro)) } }
                    form method="post" action="/console/psp/connect" novalidate {
                        (csrf(ctx))
                        input type="hidden" name="psp" value=(id);
                        (form_message(state_of(id)))
                        (connect_fields(&form, state_of(id), id))
                        button type="submit" { (form.submit) }
                    }
                }
            }
        }
    };
    Ok(respond(status, page(ctx, "Payment providers", body)))
}

pub async fn psp_connect(ctx: &Ctx<'_>) -> PageResult {
    let merchant_id = ctx.merchant_id()?;
    let form = ctx.form().await?;
    let kind = form.get("psp").to_owned();
    let fields = PspKind::parse(&kind).map_or(&[][..], |psp| psp.profile().connect_form().fields);
    let mut body = json!({"psp": kind});
    for field in fields {
        if let Some(value) = form.optional(field.name) {
            body[field.name] = Value::String(value);
        }
    }
    let reply = ctx.api().send(Method::POST, &format!("/merchant/{merchant_id}/psp/connect"), body).await;
    if reply.is_success() {
        return Ok(redirect("/console/psp?notice=psp-connected"));
    }
    if reply.status == 401 {
        return Err(ConsoleError::SignIn);
    }
    // Show the refusal on the form that was sent; the key itself is never shown again.
    let values: HashMap<String, String> = fields
        .iter()
        .filter(|field| field.kind != FieldKind::Secret)
        .map(|field| (field.name.to_owned(), form.get(field.name).to_owned()))
        .collect();
    let state = FormState::refused(values, &reply);
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
    psp(ctx, status, Some(&kind), &state).await
}

pub async fn psp_disconnect(ctx: &Ctx<'_>) -> PageResult {
    let merchant_id = ctx.merchant_id()?;
    ctx.form().await?;
    let reply =
        ctx.api().send(Method::DELETE, &format!("/merchant/{merchant_id}/psp/{}", ctx.param("psp")), json!({})).await;
    if !reply.is_success() {
        return Err(ConsoleError::from_reply(reply));
    }
    Ok(redirect("/console/psp?notice=psp-disconnected"))
}

// ---- API keys ----

pub async fn keys_page(ctx: &Ctx<'_>) -> PageResult {
    keys(ctx, StatusCode::OK, None, &FormState::default()).await
}

async fn keys(ctx: &Ctx<'_>, status: StatusCode, revealed: Option<&str>, state: &FormState) -> PageResult {
    let merchant_id = ctx.merchant_id()?;
    let reply = ctx.api().get(&format!("/merchant/{merchant_id}/api-keys"), &[]).await;
    if !reply.is_success() {
        return Err(ConsoleError::from_reply(reply));
    }
    let current = ctx.session.key_id.as_deref();
    let body = html! {
        @if let Some(key) = revealed {
            section aria-labelledby="new-key-heading" {
                h2 #new-key-heading { "New key" }
                (reveal_key(key))
            }
        }
        section aria-labelledby="keys-heading" {
            h2 #keys-heading { "Keys" }
            div.table-wrap { table {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Key" } th scope="col" { "Mode" } th scope="col" { "Status" } th scope="col" { "Last used" } th scope="col" { span.visually-hidden { "Actions" } } } }
                tbody {
                    @for k in reply.items() {
                        @let key_id = k["key_id"].as_str().unwrap_or_default();
                        @let name = k["name"].as_str().unwrap_or_default();
                        tr {
                            td { (name) @if current == Some(key_id) { br; span.hint { "(this session)" } } }
                            td { code { (k["prefix"].as_str().unwrap_or_default()) "…" } }
                            td { (k["mode"].as_str().unwrap_or_default()) }
                            td { (badge(k["status"].as_str().unwrap_or_default())) }
                            td { (time(k["last_used_at"].as_str())) }
                            td {
                                @if k["status"] == "active" {
                                    form method="post" action={ "/console/api-keys/" (key_id) "/revoke" } {
                                        (csrf(ctx))
                                        button.secondary type="submit" aria-label={ "Revoke " (name) } { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            } }
        }
        section aria-labelledby="create-heading" {
            h2 #create-heading { "Create a key" }
            form method="post" action="/console/api-keys" novalidate {
                (csrf(ctx))
                (form_message(state))
                (Field::new("name", "Name").hint("What uses this key, e.g. checkout server.").render(state, "key"))
                div.field {
                    label for="key-mode" { "Mode" }
                    select #key-mode name="mode" {
                        option value="test" { "Test" }
                        option value="live" selected[state.value("mode") == "live"] { "Live" }
                    }
                }
                button type="submit" { "Create key" }
            }
        }
    };
    Ok(respond(status, page(ctx, "API keys", body)))
}

pub async fn key_create(ctx: &Ctx<'_>) -> PageResult {
    let merchant_id = ctx.merchant_id()?;
    let form = ctx.form().await?;
    let body = json!({"name": form.get("name"), "mode": form.get("mode")});
    let reply = ctx.api().send(Method::POST, &format!("/merchant/{merchant_id}/api-keys"), body).await;
    match reply.str("api_key") {
        Some(key) if reply.is_success() => keys(ctx, StatusCode::CREATED, Some(key), &FormState::default()).await,
        _ if reply.status == 401 => Err(ConsoleError::SignIn),
        _ => {
            let values = [("name", form.get("name")), ("mode", form.get("mode"))];
            let values = values.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
            let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            keys(ctx, status, None, &FormState::refused(values, &reply)).await
        }
    }
}

pub async fn key_revoke(ctx: &Ctx<'_>) -> PageResult {
    let merchant_id = ctx.merchant_id()?;
    ctx.form().await?;
    let path = format!("/merchant/{merchant_id}/api-keys/{}", ctx.param("key_id"));
    let reply = ctx.api().send(Method::DELETE, &path, json!({})).await;
    match reply.status {
        200..=299 => Ok(redirect("/console/api-keys?notice=key-revoked")),
        409 => {
            let state = FormState { message: Some(reply.detail()), ..FormState::default() };
            keys(ctx, StatusCode::CONFLICT, None, &state).await
        }
        _ => Err(ConsoleError::from_reply(reply)),
    }
}

// ---- Routing ----

pub async fn routing_page(ctx: &Ctx<'_>) -> PageResult {
    let merchant_id = ctx.merchant_id()?;
    let reply = ctx.api().get(&format!("/merchant/{merchant_id}/routing"), &[]).await;
    if !reply.is_success() {
        return Err(ConsoleError::from_reply(reply));
    }
    let mut state = FormState::default();
    for (i, psp) in reply.body["priority"].as_array().into_iter().flatten().enumerate() {
        state.values.insert(format!("priority[{i}]"), psp.as_str().unwrap_or_default().to_owned());
    }
    for (i, rule) in reply.body["rules"].as_array().into_iter().flatten().enumerate() {
        for field in ["currency", "min_amount", "max_amount", "psp"] {
            let value = match &rule[field] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => String::new(),
            };
            state.values.insert(format!("rules[{i}].{field}"), value);
        }
    }
    if let Some(method) = reply.str("test_payment_method") {
        state.values.insert("test_payment_method".into(), method.to_owned());
    }
    let rules = reply.body["rules"].as_array().map_or(0, Vec::len);
    routing(ctx, StatusCode::OK, &state, rules).await
}

async fn routing(ctx: &Ctx<'_>, status: StatusCode, state: &FormState, rules: usize) -> PageResult {
    let merchant_id = ctx.merchant_id()?;
    let connections = ctx.api().get(&format!("/merchant/{merchant_id}/psp"), &[]).await;
    let connected: Vec<&str> = connections.items().iter().filter_map(|c| c["psp"].as_str()).collect();
    let error = |name: &str| state.errors.get(name).map(String::as_str).unwrap_or_default();
    let select = |name: String, label: String| {
        let chosen = state.value(&name).to_owned();
        html! {
            div.field {
                label for=(name) { (label) }
                select id=(name) name=(name) aria-describedby={ (name) "-error" } {
                    option value="" { "—" }
                    @for psp in PspKind::ALL.map(PspKind::as_str) { option value=(psp) selected[chosen == psp] disabled[!connected.contains(&psp)] { (psp) } }
                }
                p.error id={ (name) "-error" } { (error(&name)) }
            }
        }
    };
    let body = html! {
        @if connected.is_empty() {
            (empty("Connect a payment provider first; routing chooses among connected providers.", Some(("/console/psp", "Connect a provider"))))
        } @else {
            form method="post" action="/console/routing" novalidate {
                (csrf(ctx))
                (form_message(state))
                fieldset {
                    legend { "Priority" }
                    p.hint { "The first provider charges unless a rule below picks another; the rest are fallbacks when a provider is down or rate-limited (never after a decline)." }
                    p.error { (error("priority")) }
                    @for i in 0..connected.len() { (select(format!("priority[{i}]"), format!("Choice {}", i + 1))) }
                }
                fieldset {
                    legend { "Rules" }
                    p.hint { "The first matching rule picks the provider. Amounts are in minor units (cents). Leave a row empty to skip it." }
                    div.table-wrap { table {
                        thead { tr { th scope="col" { "Currency" } th scope="col" { "Min amount" } th scope="col" { "Max amount" } th scope="col" { "Provider" } } }
                        tbody {
                            @for i in 0..rules + 2 {
                                tr {
                                    @for (field, label, kind) in [("currency", "Currency", "text"), ("min_amount", "Min amount", "number"), ("max_amount", "Max amount", "number")] {
                                        @let name = format!("rules[{i}].{field}");
                                        td {
                                            label.visually-hidden for=(name) { (label) ", rule " (i + 1) }
                                            input id=(name) name=(name) type=(kind) value=(state.value(&name)) aria-describedby={ (name) "-error" } aria-invalid=[state.errors.get(&name).map(|_| "true")];
                                            p.error id={ (name) "-error" } { (error(&name)) }
                                        }
                                    }
                                    @let name = format!("rules[{i}].psp");
                                    td {
                                        label.visually-hidden for=(name) { "Provider, rule " (i + 1) }
                                        select id=(name) name=(name) aria-describedby={ (name) "-error" } {
                                            option value="" { "—" }
                                            @for psp in PspKind::ALL.map(PspKind::as_str) { option value=(psp) selected[state.value(&name) == psp] { (psp) } }
                                        }
                                        p.error id={ (name) "-error" } { (error(&name)) }
                                    }
                                }
                            }
                        }
                    } }
                }
                fieldset {
                    legend { "Test orders" }
                    (Field::new("test_payment_method", "Test payment method").optional()
                        .hint("Charged for store orders in test mode that carry no payment method: a Stripe pm_… or an Adyen stored token. Empty: pm_card_visa, or the sandbox's success card.")
                        .render(state, "routing"))
                }
                button type="submit" { "Save routing" }
            }
        }
    };
    Ok(respond(status, page(ctx, "Routing", body)))
}

pub async fn routing_save(ctx: &Ctx<'_>) -> PageResult {
    let merchant_id = ctx.merchant_id()?;
    let form = ctx.form().await?;
    let mut values = HashMap::new();
    let priority: Vec<&str> = (0..PspKind::ALL.len())
        .map(|i| {
            let value = form.get(&format!("priority[{i}]"));
            values.insert(format!("priority[{i}]"), value.to_owned());
            value
        })
        .filter(|v| !v.is_empty())
        .collect();
    // Rows as typed; empty rows are skipped, so the API's rule indexes map back to form rows.
    let mut rules = Vec::new();
    let mut rows = Vec::new();
    for i in 0..50 {
        let field = |name: &str| form.get(&format!("rules[{i}].{name}")).to_owned();
        let (currency, min, max, psp) = (field("currency"), field("min_amount"), field("max_amount"), field("psp"));
        if [&currency, &min, &max, &psp].iter().all(|v| v.is_empty()) {
            continue;
        }
        let mut rule = json!({"psp": psp});
        if !currency.is_empty() {
            rule["currency"] = json!(currency);
        }
        for (name, raw) in [("min_amount", &min), ("max_amount", &max)] {
            if !raw.is_empty() {
                rule[name] = integer_or_text(raw);
            }
        }
        for (name, value) in [("currency", currency), ("min_amount", min), ("max_amount", max), ("psp", psp)] {
            values.insert(format!("rules[{}].{name}", rows.len()), value);
        }
        rules.push(rule);
        rows.push(i);
    }
    let mut body = json!({"priority": priority, "rules": rules});
    if let Some(method) = form.optional("test_payment_method") {
        body["test_payment_method"] = json!(method);
    }
    values.insert("test_payment_method".into(), form.get("test_payment_method").to_owned());
    let reply = ctx.api().send(Method::PUT, &format!("/merchant/{merchant_id}/routing"), body).await;
    if reply.is_success() {
        return Ok(redirect("/console/routing?notice=routing-saved"));
    }
    if reply.status == 401 {
        return Err(ConsoleError::SignIn);
    }
    let mut state = FormState::refused(values, &reply);
    // `priority[0]`-style and `priority` errors show on the priority fieldset.
    if let Some(message) = state.errors.iter().find(|(k, _)| k.starts_with("priority")).map(|(_, v)| v.clone()) {
        state.errors.insert("priority".into(), message);
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    routing(ctx, status, &state, rows.len()).await
}
