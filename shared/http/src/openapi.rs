//! `openapi`: the OpenAPI 3.1 document of the HTTP API, generated from the handlers' annotations.

use http::{HeaderValue, header};
use lambda_http::Request;
use lambda_http::{Body, Response};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

mod completion;

use super::{HandlerResult, admin, api_keys, merchants, orders, payments, products, psp, routing, stores};
use pivota::app::App;

#[derive(OpenApi)]
#[openapi(
    info(title = "Pivota API", description = "Merchant onboarding, PSP connections, stores and payments."),
    paths(
        merchants::register, merchants::get, admin::list, admin::approve, admin::reject, admin::suspend, admin::reinstate,
        admin::rebuild_search_index,
        psp::connect, psp::list, psp::disconnect, api_keys::create, api_keys::list, api_keys::revoke,
        routing::put, routing::get, payments::execute, payments::list,
        stores::connect, stores::list, stores::update, stores::disconnect, stores::start_sync, stores::sync_job,
        products::list, products::update_price, orders::setup, orders::receive, orders::list, serve,
    ),
    components(schemas(pivota::orders::OrderStatus, pivota::payments::PaymentStatus, super::problem::Problem)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "onboarding", description = "Registration and the merchant's own profile"),
        (name = "admin", description = "Merchant review (admin token)"),
        (name = "psp", description = "Payment provider connections"),
        (name = "api-keys", description = "The merchant's API keys"),
        (name = "routing", description = "Which PSP charges a payment"),
        (name = "payments", description = "Charging, and the payment history"),
        (name = "stores", description = "Store connections and catalog sync"),
        (name = "products", description = "The synced catalog"),
        (name = "orders", description = "Store order webhooks, and the orders they paid"),
        (name = "meta", description = "This document"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, description) in [
            ("merchant_api_key", "A merchant API key (`pvk_test_…` or `pvk_live_…`)"),
            ("admin_token", "The platform's admin token"),
        ] {
            let mut scheme = Http::new(HttpAuthScheme::Bearer);
            scheme.description = Some(description.to_owned());
            components.add_security_scheme(name, SecurityScheme::Http(scheme));
        }
    }
}

/// This OpenAPI document.
#[utoipa::path(get, path = "/openapi.json", operation_id = "getOpenApiDocument", tag = "meta", responses((status = 200, description = "OpenAPI 3.1 document")))]
pub async fn serve(_app: &App, req: &Request) -> HandlerResult {
    let gzip = accepts_gzip(req.headers());
    let mut response = if gzip {
        Response::new(Body::Binary(SERVED_GZIP.to_vec()))
    } else {
        Response::new(Body::Text(SERVED.to_owned()))
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    // The answer depends on Accept-Encoding, so caches must key on it.
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok(response)
}

/// Whether `Accept-Encoding` accepts gzip (RFC 9110 §12.5.3): `gzip` (or its alias `x-gzip`) with a
/// non-zero weight, or else `*` with one. `gzip;q=0` refuses it even when `*` is accepted; no header, or a
/// header that names neither, means the identity encoding.
fn accepts_gzip(headers: &http::HeaderMap) -> bool {
    let (mut gzip, mut any) = (None, None);
    let codings = headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|value| value.to_str().ok());
    for coding in codings.flat_map(|value| value.split(',')) {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let weight = parts
            .filter_map(|param| param.split_once('='))
            .find(|(key, _)| key.trim().eq_ignore_ascii_case("q"))
            .map_or(Some(1.0), |(_, value)| value.trim().parse::<f32>().ok());
        // A weight that does not parse is ignored, as an unknown coding would be.
        let Some(weight) = weight else { continue };
        if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(weight > 0.0);
        } else if name == "*" {
            any = Some(weight > 0.0);
        }
    }
    gzip.or(any).unwrap_or(false)
}

/// The document as served: generated from the annotations and checked in (`shared/http/openapi.json`), so a
/// cold start serves bytes instead of building the document. `shared/tests/it/contract.rs` fails when
/// the file is stale; `PIVOTA_UPDATE_OPENAPI=1 cargo test -p pivota-shared --test it contract::` rewrites it.
pub const DOCUMENT: &str = include_str!("../openapi.json");

/// [`DOCUMENT`] without its indentation (by `shared/http/build.rs`): what `GET /openapi.json` sends.
pub const SERVED: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.min.json"));

/// [`SERVED`] gzip-compressed (by `shared/http/build.rs`): what a client that accepts gzip is sent.
pub const SERVED_GZIP: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/openapi.min.json.gz"));

/// The document generated now: the annotations, then [`completion`] (shared statuses, webhook signature
/// schemes, links).
pub fn document() -> serde_json::Value {
    let mut document = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serialises");
    completion::complete(&mut document);
    document
}

/// The document generated now, pretty-printed as the checked-in file is.
pub fn generate() -> String {
    let mut text = serde_json::to_string_pretty(&document()).expect("the OpenAPI document serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::accepts_gzip;
    use http::{HeaderMap, HeaderValue, header::ACCEPT_ENCODING};

    fn accepts(values: &[&str]) -> bool {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        }
        accepts_gzip(&headers)
    }

    #[test]
    fn gzip_is_sent_only_to_clients_that_accept_it() {
        assert!(!accepts(&[]), "no header: identity");
        assert!(accepts(&["gzip"]));
        assert!(accepts(&["gzip, deflate, br"]), "what browsers and requests send");
        assert!(accepts(&["br;q=1.0, GZIP;q=0.5"]));
        assert!(accepts(&["x-gzip"]));
        assert!(accepts(&["deflate", "gzip"]), "a second header line counts");
        assert!(accepts(&["*"]));
        assert!(!accepts(&["identity"]));
        assert!(!accepts(&["deflate, br"]));
        assert!(!accepts(&["gzip;q=0"]), "a zero weight refuses it");
        assert!(!accepts(&["gzip; q=0.000"]));
        assert!(!accepts(&["*, gzip;q=0"]), "an explicit refusal beats the wildcard");
        assert!(!accepts(&["*;q=0"]));
        assert!(!accepts(&["gzip;q=abc"]), "a weight that does not parse is ignored");
        assert!(!accepts(&["gzipped"]));
    }
}
