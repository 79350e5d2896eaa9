//! The HTTP API. Every route belongs to one Lambda function (`Route::function`); each function serves its
//! own list from [`routes`], the local runner all of them, through [`dispatch`].

pub mod admin;
pub mod api_keys;
pub mod cursor;
pub mod merchants;
pub mod openapi;
pub mod orders;
pub mod payments;
pub mod problem;
pub mod products;
pub mod psp;
pub mod request;
pub mod routes;
pub mod routing;
pub mod stores;

use std::collections::HashMap;
use std::time::Instant;

use futures::future::BoxFuture;
use http::{HeaderValue, Method};
use lambda_http::{Body, Request, RequestExt, Response};
use tracing::{Instrument, info, info_span};

use pivota::app::App;
use pivota::kernel::error::Error;
use pivota::onboarding::api_key::HasApiKeyHasher as _;

pub type HandlerResult = Result<Response<Body>, Error>;
pub type Handler = for<'a> fn(&'a App, &'a Request) -> BoxFuture<'a, HandlerResult>;

/// One route: method and path template as declared in `template.yaml`, the Lambda function that serves
/// it, and its handler.
pub struct Route {
    pub function: &'static str,
    pub method: Method,
    pub path: &'static str,
    pub handler: Handler,
}

impl Route {
    /// The path parameters if `path` matches this route's template.
    pub fn match_path(&self, path: &str) -> Option<HashMap<String, String>> {
        match_template(self.path, path)
    }
}

/// The path parameters if `path` matches `template` (`{name}` matches one non-empty segment).
pub fn match_template(template: &str, path: &str) -> Option<HashMap<String, String>> {
    let template: Vec<&str> = template.trim_matches('/').split('/').collect();
    let actual: Vec<&str> = path.trim_matches('/').split('/').collect();
    if template.len() != actual.len() {
        return None;
    }
    let mut params = HashMap::new();
    for (expected, segment) in template.iter().zip(&actual) {
        match expected.strip_prefix('{').and_then(|name| name.strip_suffix('}')) {
            Some(name) if !segment.is_empty() => {
                params.insert(name.to_owned(), percent_decode(segment)?);
            }
            Some(_) => return None,
            None if expected == segment => {}
            None => return None,
        }
    }
    Some(params)
}

fn percent_decode(segment: &str) -> Option<String> {
    url::form_urlencoded::parse(format!("v={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
}

/// How a request's method and path fit a set of routes.
pub enum RouteMatch<'r> {
    Found(&'r Route, HashMap<String, String>),
    /// The path exists, with other methods: these (for the `Allow` header).
    WrongMethod(Vec<Method>),
    NoSuchPath,
}

pub fn find_route<'r>(routes: &[&'r Route], method: &Method, path: &str) -> RouteMatch<'r> {
    let matching: Vec<(&'r Route, HashMap<String, String>)> =
        routes.iter().filter_map(|route| route.match_path(path).map(|params| (*route, params))).collect();
    // The resource is the most specific template that matches: `/merchant/register` is registration, not
    // the merchant `register`, and `DELETE /merchant/{id}/psp/connect` is a wrong method, not a PSP named
    // `connect`. Then the method.
    let specificity = |route: &Route| route.path.split('/').filter(|s| !s.starts_with('{')).count();
    let Some(most_specific) = matching.iter().map(|(route, _)| specificity(route)).max() else {
        return RouteMatch::NoSuchPath;
    };
    let resource = matching.into_iter().filter(|(route, _)| specificity(route) == most_specific);
    let mut allowed = Vec::new();
    for (route, params) in resource {
        if route.method == method {
            return RouteMatch::Found(route, params);
        }
        allowed.push(route.method.clone());
    }
    RouteMatch::WrongMethod(allowed)
}

/// Serves one request with one of `routes`: request id, logging span, error → problem+json.
pub async fn dispatch(app: &App, routes: &[&Route], req: Request) -> Response<Body> {
    let request_id = request::request_id(&req);
    let span = info_span!("request", request_id = %request_id, method = %req.method(), path = %req.uri().path());
    async move {
        let started = Instant::now();
        let instance = req.uri().path().to_owned();
        let mut response = match find_route(routes, req.method(), &instance) {
            RouteMatch::Found(route, params) => {
                // API Gateway fills in path parameters; the local runner and tests may not have.
                let has_params = req.path_parameters_ref().is_some_and(|p| !p.is_empty());
                let req = if has_params || params.is_empty() { req } else { req.with_path_parameters(params) };
                match pivota::invocation::serve_as(route.function, (route.handler)(app, &req)).await {
                    Ok(response) => response,
                    Err(error) => problem::error_response(&error, &instance, &request_id),
                }
            }
            RouteMatch::WrongMethod(allowed) => {
                let mut response = problem::error_response(&Error::MethodNotAllowed, &instance, &request_id);
                let allow = allowed.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
                if let Ok(value) = HeaderValue::from_str(&allow) {
                    // RFC 9110 §15.5.6: a 405 lists the methods the resource supports.
                    response.headers_mut().insert(http::header::ALLOW, value);
                }
                response
            }
            RouteMatch::NoSuchPath => problem::error_response(&Error::NotFound("route"), &instance, &request_id),
        };
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert("x-request-id", value);
        }
        info!(status = response.status().as_u16(), latency_us = started.elapsed().as_micros() as u64, "handled");
        response
    }
    .instrument(span)
    .await
}

/// Requires the admin bearer token, compared in constant time.
pub async fn require_admin(app: &App, req: &Request) -> Result<(), Error> {
    let presented = request::bearer(req).ok_or(Error::Unauthenticated)?;
    let expected = app.admin_token().await?;
    if pivota::kernel::secret::secrets_match(presented, &expected) { Ok(()) } else { Err(Error::Unauthenticated) }
}

/// Requires a merchant API key of a merchant that is not suspended; returns who it belongs to. The owner
/// credential is refused here: it only manages keys ([`require_key_manager`]).
pub async fn require_merchant(
    app: &App,
    req: &Request,
) -> Result<pivota::onboarding::api_keys::AuthenticatedMerchant, Error> {
    let caller = require_key_manager(app, req).await?;
    if caller.owner {
        return Err(Error::Forbidden("the owner credential only manages API keys; use an API key".into()));
    }
    Ok(caller)
}

/// Requires a merchant API key or the owner credential, of a merchant that is not suspended: the API-key
/// routes.
pub async fn require_key_manager(
    app: &App,
    req: &Request,
) -> Result<pivota::onboarding::api_keys::AuthenticatedMerchant, Error> {
    let presented = request::bearer(req).ok_or(Error::Unauthenticated)?;
    let hasher = app.api_key_hasher().await?;
    let caller =
        pivota::onboarding::api_keys::authenticate(app.table.as_ref(), &hasher, presented, app.clock.now()).await?;
    refuse_suspended(app, &caller.merchant_id).await?;
    Ok(caller)
}

/// A suspended merchant's credentials get 403 on every route (read strongly consistent: a suspension
/// applies from the next request on).
pub async fn refuse_suspended(app: &App, merchant_id: &pivota::onboarding::merchant::MerchantId) -> Result<(), Error> {
    let merchant = pivota::onboarding::merchants::Merchants::new(app.table.as_ref()).get(merchant_id).await?;
    match merchant {
        Some(merchant) if merchant.status == pivota::onboarding::merchant::MerchantStatus::Suspended => Err(
            Error::Forbidden("the merchant is suspended; its API keys are refused until an admin reinstates it".into()),
        ),
        Some(_) => Ok(()),
        None => Err(Error::Unauthenticated),
    }
}
