//! The page shell and the pieces every page uses: navigation, form fields with their errors, status
//! badges, amounts, times and paging links.

use std::collections::HashMap;

use http::StatusCode;
use maud::{DOCTYPE, Markup, html};

use super::Ctx;
use super::session::Role;
use pivota::kernel::connect_form::{ConnectForm, FieldKind, FormField};
use pivota::kernel::money::Currency;

/// A whole page: header with navigation for who is signed in, a skip link, then `body`.
pub fn page(ctx: &Ctx<'_>, title: &str, body: Markup) -> Markup {
    let path = ctx.req.uri().path();
    let nav: &[(&str, &str)] = match ctx.session.role {
        Some(Role::Merchant) => &[
            ("/console/overview", "Overview"),
            ("/console/psp", "Payment providers"),
            ("/console/api-keys", "API keys"),
            ("/console/routing", "Routing"),
            ("/console/stores", "Stores"),
            ("/console/products", "Products"),
            ("/console/orders", "Orders"),
        ],
        Some(Role::Admin) => &[("/console/admin/merchants", "Merchants")],
        None => &[("/console/sign-in", "Sign in"), ("/console/register", "Register")],
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/console" { "Pivota" }
                    nav aria-label="Main" {
                        ul {
                            @for (href, label) in nav {
                                li {
                                    @if path.starts_with(href) {
                                        a href=(href) aria-current="page" { (label) }
                                    } @else {
                                        a href=(href) { (label) }
                                    }
                                }
                            }
                        }
                    }
                    @if ctx.session.role.is_some() {
                        form.sign-out method="post" action="/console/sign-out" {
                            (csrf(ctx))
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" {
                    h1 { (title) }
                    (notice(ctx))
                    (body)
                }
            }
        }
    }
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Pivota console" }
            link rel="icon" href="data:,";
            link rel="stylesheet" href="/console/static/app.css";
            script src="/console/static/app.js" defer {}
        }
    }
}

/// The notice a redirect after a form asks for (`?notice=…`): fixed texts only, nothing echoed.
fn notice(ctx: &Ctx<'_>) -> Markup {
    let text = match ctx.query("notice").as_str() {
        "psp-connected" => "The payment provider is connected.",
        "psp-disconnected" => "The payment provider is disconnected and its key deleted.",
        "key-revoked" => "The API key is revoked.",
        "routing-saved" => "Routing saved.",
        "store-connected" => "The store is connected. Sync it to import its catalog.",
        "sync-started" => "Sync started.",
        "webhooks-ready" => "Order webhooks are set up on the store.",
        "store-disconnected" => "The store is disconnected.",
        "store-saved" => "Store settings saved.",
        "price-saved" => "Price saved.",
        "decided" => "Decision recorded.",
        "signed-out" => "You are signed out.",
        _ => return html! {},
    };
    html! { p.notice role="status" { (text) } }
}

/// The hidden CSRF field every state-changing form carries.
pub fn csrf(ctx: &Ctx<'_>) -> Markup {
    html! { input type="hidden" name="csrf" value=(ctx.csrf); }
}

/// What a form shows again after the server refused it: the values typed and each field's error.
#[derive(Default)]
pub struct FormState {
    pub values: HashMap<String, String>,
    pub errors: HashMap<String, String>,
    /// A message for the whole form (the API's `detail`).
    pub message: Option<String>,
}

impl FormState {
    pub fn value(&self, name: &str) -> &str {
        self.values.get(name).map(String::as_str).unwrap_or_default()
    }

    /// The form's errors from an API answer: field errors under their fields, the rest above the form.
    pub fn refused(values: HashMap<String, String>, reply: &super::Reply) -> Self {
        let errors = reply.field_errors();
        let message = Some(reply.detail());
        Self { values, errors, message }
    }
}

/// A labelled input with its hint and its error, tied together for screen readers.
pub struct Field<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub kind: &'a str,
    pub hint: Option<&'a str>,
    pub required: bool,
    pub autocomplete: &'a str,
    pub pattern: Option<&'a str>,
}

impl<'a> Field<'a> {
    pub fn new(name: &'a str, label: &'a str) -> Self {
        Self { name, label, kind: "text", hint: None, required: true, autocomplete: "off", pattern: None }
    }
    pub fn kind(mut self, kind: &'a str) -> Self {
        self.kind = kind;
        self
    }
    pub fn hint(mut self, hint: &'a str) -> Self {
        self.hint = Some(hint);
        self
    }
    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }
    pub fn autocomplete(mut self, autocomplete: &'a str) -> Self {
        self.autocomplete = autocomplete;
        self
    }
    pub fn pattern(mut self, pattern: &'a str) -> Self {
        self.pattern = Some(pattern);
        self
    }

    /// The field; secrets (`password` inputs) are never filled in again.
    pub fn render(&self, state: &FormState, form_id: &str) -> Markup {
        let id = format!("{form_id}-{}", self.name);
        let error_id = format!("{id}-error");
        let hint_id = format!("{id}-hint");
        let error = state.errors.get(self.name);
        let described = match self.hint {
            Some(_) => format!("{hint_id} {error_id}"),
            None => error_id.clone(),
        };
        let value = if self.kind == "password" { "" } else { state.value(self.name) };
        html! {
            div.field {
                label for=(id) { (self.label) @if !self.required { span.optional { " (optional)" } } }
                @if let Some(hint) = self.hint { p.hint id=(hint_id) { (hint) } }
                input id=(id) name=(self.name) type=(self.kind) value=(value) required[self.required]
                    autocomplete=(self.autocomplete) pattern=[self.pattern] aria-describedby=(described)
                    aria-invalid=[error.map(|_| "true")];
                p.error id=(error_id) aria-live="polite" { @if let Some(error) = error { (error) } }
            }
        }
    }
}

/// A connect form's fields (`pivota::kernel::connect_form`), as the PSP's or platform's module declares
/// them; a choice is a select, the first option chosen unless the refused form chose another.
pub fn connect_fields(form: &ConnectForm, state: &FormState, form_id: &str) -> Markup {
    html! {
        @for field in form.fields {
            @match field.kind {
                FieldKind::Choice(options) => {
                    @let id = format!("{form_id}-{}", field.name);
                    @let chosen = state.value(field.name);
                    @let chosen = if options.iter().any(|(value, _)| *value == chosen) { chosen } else { options.first().map_or("", |o| o.0) };
                    div.field {
                        label for=(id) { (field.label) }
                        select id=(id) name=(field.name) {
                            @for (value, label) in options { option value=(value) selected[*value == chosen] { (label) } }
                        }
                    }
                }
                _ => { (input(field).render(state, form_id)) }
            }
        }
    }
}

fn input(field: &FormField) -> Field<'static> {
    let kind = match field.kind {
        FieldKind::Url => "url",
        FieldKind::Secret => "password",
        FieldKind::Text | FieldKind::Choice(_) => "text",
    };
    let mut input = Field::new(field.name, field.label).kind(kind);
    if let Some(hint) = field.hint {
        input = input.hint(hint);
    }
    if field.optional {
        input = input.optional();
    }
    input
}

/// A sentence whose parts in backticks are code.
pub fn with_code(text: &str) -> Markup {
    html! {
        @for (at, part) in text.split('`').enumerate() {
            @if at % 2 == 1 { code { (part) } } @else { (part) }
        }
    }
}

/// The message above a refused form.
pub fn form_message(state: &FormState) -> Markup {
    html! {
        @if let Some(message) = &state.message {
            div.alert role="alert" { p { (message) } }
        }
    }
}

/// A coloured badge with its text (the colour is never the only signal).
pub fn badge(status: &str) -> Markup {
    let tone = match status {
        "approved" | "connected" | "succeeded" | "paid" | "done" | "active" | "already_paid" => "good",
        "pending_kyc"
        | "manual_review"
        | "running"
        | "queued"
        | "pending"
        | "received"
        | "awaiting_payment_method"
        | "requires_action"
        | "syncing" => "wait",
        "rejected" | "error" | "failed" | "declined" | "revoked" | "disconnected" | "expired" | "suspended"
        | "not_chargeable" => "bad",
        _ => "neutral",
    };
    html! { span class={ "badge " (tone) } { (status.replace('_', " ")) } }
}

/// An amount in minor units, written in major units with its currency.
pub fn money(amount_minor: Option<i64>, currency: Option<&str>) -> Markup {
    match (amount_minor, currency.and_then(|c| Currency::parse(c).ok())) {
        (Some(amount), Some(currency)) => html! { (currency.format_minor(amount)) " " (currency.code()) },
        (Some(amount), None) => html! { (amount) " (minor units)" },
        _ => html! { "—" },
    }
}

/// An RFC 3339 time, shown to the minute in UTC.
pub fn time(rfc3339: Option<&str>) -> Markup {
    match rfc3339 {
        Some(t) if t.len() >= 16 => html! { time datetime=(t) { (t[..10]) " " (t[11..16]) " UTC" } },
        _ => html! { "—" },
    }
}

/// "Next page" (with the API's cursor) and "First page" links, keeping the other query parameters.
pub fn paging(path: &str, query: &[(&str, &str)], next_cursor: Option<&str>, on_later_page: bool) -> Markup {
    let link = |cursor: Option<&str>| {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in query.iter().filter(|(_, v)| !v.is_empty()) {
            serializer.append_pair(name, value);
        }
        if let Some(cursor) = cursor {
            serializer.append_pair("cursor", cursor);
        }
        let query = serializer.finish();
        if query.is_empty() { path.to_owned() } else { format!("{path}?{query}") }
    };
    html! {
        @if on_later_page || next_cursor.is_some() {
            nav.paging aria-label="Pages" {
                @if on_later_page { a href=(link(None)) { "First page" } }
                @if let Some(cursor) = next_cursor { a href=(link(Some(cursor))) rel="next" { "Next page" } }
            }
        }
    }
}

/// A titled section, labelled by its heading.
pub fn section(id: &str, heading: &str, content: Markup) -> Markup {
    html! {
        section aria-labelledby=(id) {
            h2 id=(id) { (heading) }
            (content)
        }
    }
}

/// A filter form with one status select (`?status=`), submitting to `action`.
pub fn status_filter(action: &str, label: &str, statuses: &[&str], chosen: &str) -> Markup {
    html! {
        form.filters method="get" action=(action) {
            div.field {
                label for="status" { (label) }
                select #status name="status" {
                    option value="" { "Any" }
                    @for s in statuses { option value=(s) selected[chosen == *s] { (s.replace('_', " ")) } }
                }
            }
            button type="submit" { "Filter" }
        }
    }
}

/// A page for what went wrong: the status, a readable reason and the request id to quote.
pub fn error_page(status: StatusCode, detail: &str, request_id: &str) -> Markup {
    let title = status.canonical_reason().unwrap_or("Error");
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                main #main {
                    h1 { (title) }
                    div.alert role="alert" { p { (detail) } }
                    p.hint { "Request id: " code { (request_id) } }
                    p { a href="/console" { "Back to the console" } }
                }
            }
        }
    }
}

/// Static assets, compiled into the binary.
pub const CSS: &str = include_str!("assets/app.css");
pub const JS: &str = include_str!("assets/app.js");

/// Text for an empty list: what to do next.
pub fn empty(message: &str, action: Option<(&str, &str)>) -> Markup {
    html! {
        div.empty {
            p { (message) }
            @if let Some((href, label)) = action { p { a.button href=(href) { (label) } } }
        }
    }
}

/// Who took a KYC decision: `{"type": "system"|"admin", "name": …}`.
pub fn actor(actor: &serde_json::Value) -> Markup {
    let name = actor["name"].as_str().unwrap_or("unknown");
    match actor["type"].as_str() {
        Some("system") => html! { "automatic checks (" (name) ")" },
        _ => html! { "admin " (name) },
    }
}
