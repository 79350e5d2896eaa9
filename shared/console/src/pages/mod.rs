//! Every console page, and the static assets.

mod admin;
mod catalog;
mod onboarding;
mod settings;
mod stores;

use http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Response};

use super::Page;
use super::layout::{CSS, JS};

macro_rules! page {
    ($method:ident $path:literal => $handler:path) => {
        Page { method: Method::$method, path: $path, handler: |ctx| Box::pin($handler(ctx)) }
    };
}

pub static PAGES: &[Page] = &[
    page!(GET "/console" => onboarding::home),
    page!(GET "/console/sign-in" => onboarding::sign_in_page),
    page!(POST "/console/sign-in" => onboarding::sign_in_submit),
    page!(POST "/console/sign-out" => onboarding::sign_out),
    page!(GET "/console/register" => onboarding::register_page),
    page!(POST "/console/register" => onboarding::register_submit),
    page!(GET "/console/overview" => onboarding::overview),
    page!(GET "/console/fragments/kyc" => onboarding::kyc_fragment),
    page!(GET "/console/psp" => settings::psp_page),
    page!(POST "/console/psp/connect" => settings::psp_connect),
    page!(POST "/console/psp/{psp}/disconnect" => settings::psp_disconnect),
    page!(GET "/console/api-keys" => settings::keys_page),
    page!(POST "/console/api-keys" => settings::key_create),
    page!(POST "/console/api-keys/{key_id}/revoke" => settings::key_revoke),
    page!(GET "/console/routing" => settings::routing_page),
    page!(POST "/console/routing" => settings::routing_save),
    page!(GET "/console/stores" => stores::list),
    page!(GET "/console/stores/new" => stores::new_page),
    page!(POST "/console/stores" => stores::connect),
    page!(POST "/console/stores/{store_id}/sync" => stores::sync),
    page!(GET "/console/fragments/stores/{store_id}/sync" => stores::sync_fragment),
    page!(POST "/console/stores/{store_id}/webhooks" => stores::webhooks),
    page!(POST "/console/stores/{store_id}/settings" => stores::settings),
    page!(GET "/console/stores/{store_id}/disconnect" => stores::disconnect_page),
    page!(POST "/console/stores/{store_id}/disconnect" => stores::disconnect),
    page!(GET "/console/products" => catalog::products),
    page!(POST "/console/products/{product_id}/price" => catalog::update_price),
    page!(GET "/console/orders" => catalog::orders),
    page!(GET "/console/admin/merchants" => admin::merchants),
    page!(GET "/console/admin/merchants/{merchant_id}" => admin::merchant),
    page!(POST "/console/admin/merchants/{merchant_id}/approve" => admin::approve),
    page!(POST "/console/admin/merchants/{merchant_id}/reject" => admin::reject),
];

/// The stylesheet and the script, compiled into the binary; served without a session (so without any
/// secret-store read).
pub fn static_asset(method: &Method, path: &str) -> Option<Response<Body>> {
    let (content_type, text) = match path {
        "/console/static/app.css" => ("text/css; charset=utf-8", CSS),
        "/console/static/app.js" => ("text/javascript; charset=utf-8", JS),
        _ => return None,
    };
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let mut response = Response::new(Body::Text(text.to_owned()));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    Some(response)
}
