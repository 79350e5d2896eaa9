//! Stores: the list with status, product count and last sync; adding a store; sync with a live progress
//! bar; webhooks; the low-stock threshold; disconnecting with a confirmation.

use std::collections::HashMap;

use http::{Method, StatusCode};
use maud::{Markup, html};
use serde_json::{Value, json};

use pivota::kernel::connect_form::FieldKind;
use pivota::stores::platforms::Platform;

use super::super::layout::{FormState, badge, connect_fields, csrf, empty, form_message, page, time, with_code};
use super::super::{ConsoleError, Ctx, Form, PageResult, html as respond, integer_or_text, redirect};

pub async fn list(ctx: &Ctx<'_>) -> PageResult {
    let merchant_id = ctx.merchant_id()?;
    let reply = ctx.api().get(&format!("/merchant/{merchant_id}/stores"), &[]).await;
    if !reply.is_success() {
        return Err(ConsoleError::from_reply(reply));
    }
    let body = html! {
        p { a.button href="/console/stores/new" { "Add a store" } }
        @if reply.items().is_empty() {
            (empty("No store is connected yet. Add your store to import its catalog and take its orders.", None))
        } @else {
            ul.cards {
                @for store in reply.items() { li { (store_card(ctx, store)) } }
            }
        }
    };
    Ok(respond(StatusCode::OK, page(ctx, "Stores", body)))
}

fn store_card(ctx: &Ctx<'_>, store: &Value) -> Markup {
    let id = store["store_id"].as_str().unwrap_or_default();
    let name = store["store_name"].as_str().unwrap_or(id);
    let connected = !matches!(store["connection_status"].as_str(), Some("disconnected" | "uninstalled"));
    let uninstalled = store["connection_status"] == "uninstalled";
    let webhooks = store["webhooks"].as_array().map_or(0, Vec::len);
    html! {
        article.card aria-labelledby={ "store-" (id) } {
            h2 id={ "store-" (id) } { (name) }
            p { (store["platform"].as_str().unwrap_or_default()) " · " (badge(store["connection_status"].as_str().unwrap_or_default())) }
            dl.facts {
                dt { "Products" } dd { (store["product_count"].as_u64().unwrap_or(0)) }
                dt { "Last sync" } dd { (time(store["last_sync_at"].as_str())) }
                dt { "Order webhooks" } dd { @if webhooks > 0 { (webhooks) " subscriptions" } @else { "not set up" } }
                @if let Some(error) = store["last_error"].as_str() { dt { "Last error" } dd.error-text { (error) } }
            }
            (sync_progress(id, &store["last_sync_job"], store["product_count"].as_u64()))
            @if uninstalled {
                p { "The store uninstalled Pivota's app: nothing syncs and no order is paid through Pivota until it is connected again." }
                div.actions {
                    a.button href={ "/console/stores/new?platform=" (store["platform"].as_str().unwrap_or_default()) } {
                        "Reconnect…" span.visually-hidden { " " (name) }
                    }
                }
            }
            @if connected {
                div.actions {
                    form method="post" action={ "/console/stores/" (id) "/sync" } {
                        (csrf(ctx))
                        button type="submit" { "Sync now" span.visually-hidden { ": " (name) } }
                    }
                    form method="post" action={ "/console/stores/" (id) "/webhooks" } {
                        (csrf(ctx))
                        button.secondary type="submit" aria-label={ "Set up webhooks for " (name) } { "Set up webhooks" }
                    }
                    a.button.secondary href={ "/console/stores/" (id) "/disconnect" } { "Disconnect…" span.visually-hidden { " " (name) } }
                }
                form.inline method="post" action={ "/console/stores/" (id) "/settings" } {
                    (csrf(ctx))
                    label for={ "threshold-" (id) } { "Low-stock warning at" }
                    input id={ "threshold-" (id) } name="low_stock_threshold" type="number" min="0" inputmode="numeric"
                        value=(store["low_stock_threshold"].as_i64().unwrap_or(5));
                    span { " units or fewer " }
                    button.secondary type="submit" aria-label={ "Save the low-stock threshold of " (name) } { "Save" }
                }
            }
        }
    }
}

/// The last sync job as a progress bar; while it runs, the script refreshes it from its fragment.
/// The share is of the products the store says it has (WooCommerce, Wix), else of those it had at its last
/// sync, capped below 100 % until the job has finished; without either, the bar is indeterminate.
fn sync_progress(store_id: &str, job: &Value, last_count: Option<u64>) -> Markup {
    if job.is_null() {
        return html! {};
    }
    let state = job["state"].as_str().unwrap_or("queued");
    let seen = job["progress"]["products_seen"].as_u64().unwrap_or(0);
    let running = matches!(state, "queued" | "running");
    let expected = job["progress"]["expected"].as_u64().or(last_count);
    let percent = match (state, expected) {
        ("succeeded", _) => Some(100),
        (_, Some(total)) if total > 0 && running => Some((seen * 100 / total).min(99)),
        _ => None,
    };
    let fragment = format!("/console/fragments/stores/{store_id}/sync");
    html! {
        div.sync.live id={ "sync-" (store_id) } data-poll=[running.then_some(fragment.as_str())] aria-live="polite" {
            p { "Sync: " (badge(state)) " · " (seen) " products"
                @if let Some(percent) = percent { " · " span.percent { (percent) " %" } } }
            @match percent {
                Some(percent) => progress max="100" value=(percent) aria-label="Sync progress" { (percent) " %" },
                None if running => progress aria-label="Sync progress" {},
                None => {},
            }
            @if let Some(error) = job["error"].as_str() { p.error-text { (error) } }
        }
    }
}

pub async fn sync_fragment(ctx: &Ctx<'_>) -> PageResult {
    let merchant_id = ctx.merchant_id()?;
    let reply = ctx.api().get(&format!("/merchant/{merchant_id}/stores"), &[]).await;
    if !reply.is_success() {
        return Err(ConsoleError::from_reply(reply));
    }
    let store_id = ctx.param("store_id");
    let store = reply.items().iter().find(|s| s["store_id"] == store_id).ok_or(ConsoleError::NotFound)?;
    // The count before this job, for the share; the store's count changes when the job ends.
    let expected = store["product_count"].as_u64();
    Ok(respond(StatusCode::OK, sync_progress(store_id, &store["last_sync_job"], expected)))
}

pub async fn new_page(ctx: &Ctx<'_>) -> PageResult {
    ctx.merchant_id()?;
    let platform = ctx.query("platform");
    Ok(respond(StatusCode::OK, new_form(ctx, &platform, &FormState::default())))
}

fn new_form(ctx: &Ctx<'_>, platform: &str, state: &FormState) -> Markup {
    let chosen = Platform::parse(platform);
    let body = html! {
        form method="get" action="/console/stores/new" {
            fieldset {
                legend { "Platform" }
                div.choices {
                    @for choice in Platform::ALL {
                        label.choice {
                            input type="radio" name="platform" value=(choice.as_str()) checked[chosen == Some(choice)] required;
                            " " (choice.profile().connect_form().title)
                        }
                    }
                }
                button.secondary type="submit" { "Choose" }
            }
        }
        @if let Some(platform) = chosen {
            @let form = platform.profile().connect_form();
            form method="post" action="/console/stores" novalidate {
                (csrf(ctx))
                input type="hidden" name="platform" value=(platform.as_str());
                h2 { "Connect " (form.title) }
                p.hint { "Pivota checks these details with the store before saving anything; tokens are kept only in the secret store." }
                @if let Some(intro) = form.intro { p { (with_code(intro)) } }
                (form_message(state))
                (connect_fields(&form, state, "store"))
                button type="submit" { (form.submit) }
            }
        }
    };
    page(ctx, "Add a store", body)
}

pub async fn connect(ctx: &Ctx<'_>) -> PageResult {
    let merchant_id = ctx.merchant_id()?;
    let form = ctx.form().await?;
    let platform = form.get("platform").to_owned();
    let fields = Platform::parse(&platform).map_or(&[][..], |platform| platform.profile().connect_form().fields);
    let mut body = json!({"platform": platform});
    for field in fields {
        body[field.name] = json!(form.get(field.name));
    }
    let reply = ctx.api().send(Method::POST, &format!("/merchant/{merchant_id}/store/connect"), body).await;
    if reply.is_success() {
        return Ok(redirect("/console/stores?notice=store-connected"));
    }
    if reply.status == 401 {
        return Err(ConsoleError::SignIn);
    }
    let values: HashMap<String, String> = fields
        .iter()
        .filter(|field| field.kind != FieldKind::Secret)
        .map(|field| (field.name.to_owned(), form.get(field.name).to_owned()))
        .collect();
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
    Ok(respond(status, new_form(ctx, &platform, &FormState::refused(values, &reply))))
}

/// Runs a store action through the API, with a body made from the form, and comes back to the list with a
/// notice.
async fn store_action(
    ctx: &Ctx<'_>,
    method: Method,
    suffix: &str,
    body: impl FnOnce(&Form) -> Value,
    notice: &str,
) -> PageResult {
    let merchant_id = ctx.merchant_id()?;
    let form = ctx.form().await?;
    let path = format!("/merchant/{merchant_id}/store/{}{suffix}", ctx.param("store_id"));
    let reply = ctx.api().send(method, &path, body(&form)).await;
    if !reply.is_success() {
        return Err(ConsoleError::from_reply(reply));
    }
    Ok(redirect(&format!("/console/stores?notice={notice}")))
}

pub async fn sync(ctx: &Ctx<'_>) -> PageResult {
    store_action(ctx, Method::POST, "/sync", |_| json!({}), "sync-started").await
}

pub async fn webhooks(ctx: &Ctx<'_>) -> PageResult {
    store_action(ctx, Method::POST, "/webhooks/setup", |_| json!({}), "webhooks-ready").await
}

pub async fn settings(ctx: &Ctx<'_>) -> PageResult {
    let body = |form: &Form| json!({"low_stock_threshold": integer_or_text(form.get("low_stock_threshold"))});
    store_action(ctx, Method::PATCH, "", body, "store-saved").await
}

pub async fn disconnect_page(ctx: &Ctx<'_>) -> PageResult {
    let merchant_id = ctx.merchant_id()?;
    let reply = ctx.api().get(&format!("/merchant/{merchant_id}/stores"), &[]).await;
    let store_id = ctx.param("store_id");
    let store = reply.items().iter().find(|s| s["store_id"] == store_id).ok_or(ConsoleError::NotFound)?;
    let name = store["store_name"].as_str().unwrap_or(store_id);
    let body = html! {
        div.alert role="alert" {
            p { "Disconnecting " strong { (name) } " removes Pivota's webhooks from the store, deletes its credentials, and marks its products removed (shortly after, for a large catalog). Orders placed in the store are no longer paid through Pivota." }
        }
        div.actions {
            form method="post" action={ "/console/stores/" (store_id) "/disconnect" } {
                (csrf(ctx))
                button.danger type="submit" { "Disconnect " (name) }
            }
            a.button.secondary href="/console/stores" { "Cancel" }
        }
    };
    Ok(respond(StatusCode::OK, page(ctx, "Disconnect a store", body)))
}

pub async fn disconnect(ctx: &Ctx<'_>) -> PageResult {
    store_action(ctx, Method::DELETE, "", |_| json!({}), "store-disconnected").await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(state: &str, seen: u64, expected: Option<u64>) -> Value {
        json!({"state": state, "progress": {"products_seen": seen, "expected": expected}})
    }

    #[test]
    fn the_sync_bar_measures_against_the_stores_own_count_then_the_last_one() {
        let running = sync_progress("sto_1", &job("running", 50, Some(200)), Some(10)).into_string();
        assert!(running.contains(r#"<progress max="100" value="25""#), "{running}");
        assert!(running.contains(r#"data-poll="/console/fragments/stores/sto_1/sync""#), "it refreshes while running");
        let by_last_count = sync_progress("sto_1", &job("running", 50, None), Some(40)).into_string();
        assert!(by_last_count.contains(r#"value="99""#), "capped below 100 until done: {by_last_count}");
        let unknown = sync_progress("sto_1", &job("queued", 0, None), Some(0)).into_string();
        assert!(unknown.contains(r#"<progress aria-label="Sync progress">"#), "indeterminate: {unknown}");
        let done = sync_progress("sto_1", &job("succeeded", 230, Some(230)), Some(0)).into_string();
        assert!(done.contains(r#"value="100""#) && !done.contains("data-poll"), "{done}");
        assert!(sync_progress("sto_1", &Value::Null, None).into_string().is_empty());
    }
}
