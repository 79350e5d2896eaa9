//! The product catalog (search, filters, low-stock badges, inline price edit) and the orders with their
//! payments.

use http::{Method, StatusCode};
use maud::{Markup, html};
use serde_json::{Value, json};

use super::super::layout::{FormState, badge, csrf, empty, form_message, money, page, paging, status_filter, time};
use super::super::{ConsoleError, Ctx, PageResult, html as respond, redirect};
use pivota::kernel::money::Currency;

const PRODUCT_FILTERS: [&str; 6] = ["q", "store_id", "status", "in_stock", "low_stock", "sort"];

pub async fn products(ctx: &Ctx<'_>) -> PageResult {
    products_page(ctx, StatusCode::OK, &FormState::default()).await
}

async fn products_page(ctx: &Ctx<'_>, status: StatusCode, state: &FormState) -> PageResult {
    let merchant_id = ctx.merchant_id()?;
    let filters: Vec<(&str, String)> = PRODUCT_FILTERS.iter().map(|f| (*f, ctx.query(f))).collect();
    let cursor = ctx.query("cursor");
    let mut query: Vec<(&str, &str)> = filters.iter().map(|(k, v)| (*k, v.as_str())).collect();
    query.push(("cursor", &cursor));
    query.push(("limit", "25"));
    let api = ctx.api();
    let stores = api.get(&format!("/merchant/{merchant_id}/stores"), &[]).await;
    let reply = api.get(&format!("/merchant/{merchant_id}/products"), &query).await;
    let value = |name: &str| filters.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str()).unwrap_or_default();
    let refused = (!reply.is_success()).then(|| reply.field_errors());
    // A price edit comes back to this very search; its form posts with the same query, so a refused
    // edit shows the same search too.
    let search = ctx.req.uri().query().filter(|q| !q.is_empty()).map_or(String::new(), |q| format!("?{q}"));
    if reply.status == 401 {
        return Err(ConsoleError::SignIn);
    }
    let body = html! {
        form.filters method="get" action="/console/products" role="search" {
            div.field {
                label for="q" { "Search by name, SKU, vendor or type" }
                input #q type="search" name="q" value=(value("q")) aria-describedby="q-error";
                p.error #q-error { @if let Some(e) = refused.as_ref().and_then(|e| e.get("q")) { (e) } }
            }
            div.field {
                label for="store_id" { "Store" }
                select #store_id name="store_id" {
                    option value="" { "All stores" }
                    @for s in stores.items() {
                        @let id = s["store_id"].as_str().unwrap_or_default();
                        option value=(id) selected[value("store_id") == id] { (s["store_name"].as_str().unwrap_or(id)) }
                    }
                }
            }
            div.field {
                label for="status" { "Status" }
                select #status name="status" {
                    option value="" { "Any" }
                    @for s in ["active", "draft", "archived", "removed"] { option value=(s) selected[value("status") == s] { (s) } }
                }
            }
            div.field.check {
                input #in_stock type="checkbox" name="in_stock" value="true" checked[value("in_stock") == "true"];
                label for="in_stock" { "Only in stock" }
            }
            div.field.check {
                input #low_stock type="checkbox" name="low_stock" value="true" checked[value("low_stock") == "true"];
                label for="low_stock" { "Only low stock" }
            }
            div.field {
                label for="sort" { "Sort by" }
                select #sort name="sort" {
                    @for (s, label) in [("relevance", "Best match"), ("price_asc", "Price, low to high"), ("price_desc", "Price, high to low"), ("updated", "Recently updated")] {
                        option value=(s) selected[value("sort") == s] { (label) }
                    }
                }
            }
            button type="submit" { "Search" }
        }
        (form_message(state))
        @if let Some(errors) = &refused {
            div.alert role="alert" { p { (reply.detail()) } @for (field, e) in errors { p { (field) ": " (e) } } }
        } @else if reply.items().is_empty() {
            @if stores.items().is_empty() {
                (empty("No products yet. Connect a store and sync it to import its catalog.", Some(("/console/stores/new", "Add a store"))))
            } @else if filters.iter().any(|(_, v)| !v.is_empty()) {
                (empty("No product matches these filters. Try fewer words or another store.", Some(("/console/products", "Clear filters"))))
            } @else {
                (empty("No products yet. Sync a store to import its catalog.", Some(("/console/stores", "Go to stores"))))
            }
        } @else {
            @let total = reply.body["total"].as_u64().unwrap_or_default();
            p.count { (total) @if total == 1 { " product" } @else { " products" } }
            div.table-wrap { table.products {
                caption.visually-hidden { "Products" }
                thead { tr { th scope="col" { "Product" } th scope="col" { "Variant / SKU" } th scope="col" { "Stock" } th scope="col" { "Price" } } }
                tbody {
                    @for product in reply.items() { (product_rows(ctx, product, state, &search)) }
                }
            } }
            (paging("/console/products", &filters.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>(), reply.str("next_cursor"), !cursor.is_empty()))
        }
    };
    Ok(respond(status, page(ctx, "Products", body)))
}

fn product_rows(ctx: &Ctx<'_>, product: &Value, state: &FormState, search: &str) -> Markup {
    let back = format!("/console/products{search}");
    let product_id = product["product_id"].as_str().unwrap_or_default();
    let title = product["title"].as_str().unwrap_or_default();
    let currency = product["currency"].as_str().unwrap_or_default();
    let variants = product["variants"].as_array().map(Vec::as_slice).unwrap_or_default();
    html! {
        @for (i, v) in variants.iter().enumerate() {
            @let variant_id = v["variant_id"].as_str().unwrap_or_default();
            @let field = format!("price-{product_id}-{variant_id}");
            @let price = v["price_minor"].as_i64();
            tr {
                @if i == 0 {
                    th scope="rowgroup" rowspan=(variants.len()) {
                        (title) br;
                        (badge(product["status"].as_str().unwrap_or_default()))
                        @if product["low_stock"] == true { " " span.badge.bad { "Low stock" } }
                    }
                }
                td { (v["title"].as_str().unwrap_or_default()) @if let Some(sku) = v["sku"].as_str() { br; code { (sku) } } }
                td { (v["inventory_quantity"].as_i64().map_or("—".to_owned(), |q| q.to_string())) }
                td {
                    form.inline method="post" action={ "/console/products/" (product_id) "/price" (search) } {
                        (csrf(ctx))
                        input type="hidden" name="variant_id" value=(variant_id);
                        input type="hidden" name="currency" value=(currency);
                        input type="hidden" name="back" value=(back);
                        label.visually-hidden for=(field) { "Price of " (title) " " (v["title"].as_str().unwrap_or_default()) ", " (currency) }
                        input.price id=(field) name="price" type="text" inputmode="decimal" pattern="[0-9]+([.][0-9]+)?"
                            value=(price.zip(Currency::parse(currency).ok()).map(|(p, c)| c.format_minor(p)).unwrap_or_default())
                            aria-describedby={ (field) "-error" } aria-invalid=[state.errors.get(&field).map(|_| "true")];
                        " " (currency) " "
                        button.secondary type="submit" aria-label={ "Save the price of " (title) } { "Save" }
                        @if v["price_override_minor"].is_i64() {
                            span.hint { " (store: " (money(v["store_price_minor"].as_i64(), Some(currency))) ")" }
                        }
                        p.error id={ (field) "-error" } { @if let Some(e) = state.errors.get(&field) { (e) } }
                    }
                }
            }
        }
    }
}

pub async fn update_price(ctx: &Ctx<'_>) -> PageResult {
    let merchant_id = ctx.merchant_id()?;
    let form = ctx.form().await?;
    let product_id = ctx.param("product_id");
    let variant_id = form.get("variant_id");
    let field = format!("price-{product_id}-{variant_id}");
    let refuse = |message: String, status: StatusCode| async move {
        let mut state =
            FormState { message: Some(format!("The price was not saved: {message}")), ..FormState::default() };
        state.errors.insert(field.clone(), message);
        products_page(ctx, status, &state).await
    };
    let Ok(currency) = Currency::parse(form.get("currency")) else {
        return refuse("the product has no currency".into(), StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let price_minor = match currency.parse_major(form.get("price")) {
        Ok(0) => return refuse("must be more than zero".into(), StatusCode::UNPROCESSABLE_ENTITY).await,
        Ok(minor) => minor,
        Err(e) => return refuse(format!("the price {e}"), StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    let body = json!({"variant_id": variant_id, "price_minor": price_minor});
    let reply = ctx.api().send(Method::PATCH, &format!("/merchant/{merchant_id}/products/{product_id}"), body).await;
    match reply.status {
        200..=299 => Ok(redirect(&back_to_search(form.get("back")))),
        401 => Err(ConsoleError::SignIn),
        404 => Err(ConsoleError::NotFound),
        status => {
            let message = reply.field_errors().into_values().next().unwrap_or_else(|| reply.detail());
            refuse(message, StatusCode::from_u16(status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY)).await
        }
    }
}

/// The search a price edit came from, with the saved notice; only ever a console products path.
fn back_to_search(back: &str) -> String {
    let url = url::Url::parse(&format!("http://console{back}")).ok().filter(|u| u.path() == "/console/products");
    let Some(mut url) = url else { return "/console/products?notice=price-saved".into() };
    let kept: Vec<(String, String)> =
        url.query_pairs().filter(|(k, _)| k != "notice").map(|(k, v)| (k.into(), v.into())).collect();
    url.query_pairs_mut().clear().extend_pairs(kept).append_pair("notice", "price-saved");
    format!("{}?{}", url.path(), url.query().unwrap_or_default())
}

const ORDER_STATUSES: [&str; 8] = [
    "received",
    "awaiting_payment_method",
    "already_paid",
    "paid",
    "declined",
    "requires_action",
    "failed",
    "not_chargeable",
];

pub async fn orders(ctx: &Ctx<'_>) -> PageResult {
    let merchant_id = ctx.merchant_id()?;
    let (status, cursor) = (ctx.query("status"), ctx.query("cursor"));
    let query = [("status", status.as_str()), ("cursor", cursor.as_str()), ("limit", "25")];
    let reply = ctx.api().get(&format!("/merchant/{merchant_id}/orders"), &query).await;
    if !reply.is_success() {
        return Err(ConsoleError::from_reply(reply));
    }
    let body = html! {
        (status_filter("/console/orders", "Payment status", &ORDER_STATUSES, &status))
        @if reply.items().is_empty() {
            @if status.is_empty() {
                (empty("No orders yet. Set up webhooks on a connected store: each new store order then appears here and is paid through your payment provider.", Some(("/console/stores", "Go to stores"))))
            } @else {
                (empty("No order has this status.", Some(("/console/orders", "Show all orders"))))
            }
        } @else {
            div.table-wrap { table {
                caption.visually-hidden { "Orders" }
                thead { tr {
                    th scope="col" { "Order" } th scope="col" { "Customer" } th scope="col" { "Amount" } th scope="col" { "Payment" }
                    th scope="col" { "Marked paid in store" } th scope="col" { "PSP reference" } th scope="col" { "Decline code" } th scope="col" { "Received" }
                } }
                tbody {
                    @for o in reply.items() {
                        tr {
                            th scope="row" { (o["name"].as_str().or(o["external_id"].as_str()).unwrap_or_default()) }
                            td { @match o["customer"]["email"].as_str().or(o["customer"]["name"].as_str()) {
                                Some(who) => (who),
                                None => span.hint { (if o["customer"].is_null() { "redacted or none" } else { "—" }) },
                            } }
                            td { (money(o["amount"].as_i64(), o["currency"].as_str())) }
                            td { (badge(o["status"].as_str().unwrap_or_default()))
                                @if let Some(f) = o["failure"].as_str() { br; span.hint { (f) } }
                                @if let Some(next) = o["next_action"]["description"].as_str() {
                                    br; span.next-action { strong { "Next step: " } (next) }
                                    @if let Some(url) = o["next_action"]["url"].as_str() { " " a href=(url) rel="noopener noreferrer" { "Open" } }
                                } }
                            td { (badge(o["write_back"].as_str().unwrap_or_default()))
                                @if let Some(e) = o["write_back_error"].as_str() { br; span.hint { (e) } } }
                            td { @if let Some(r) = o["psp_reference"].as_str() { (o["psp"].as_str().unwrap_or_default()) " " code { (r) } } @else { "—" } }
                            td { @if let Some(c) = o["decline_code"].as_str() { code { (c) } } @else { "—" } }
                            td { (time(o["created_at"].as_str())) }
                        }
                    }
                }
            } }
            (paging("/console/orders", &[("status", status.as_str())], reply.str("next_cursor"), !cursor.is_empty()))
        }
    };
    Ok(respond(StatusCode::OK, page(ctx, "Orders and payments", body)))
}
