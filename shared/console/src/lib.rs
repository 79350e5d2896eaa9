//! The console: server-rendered pages (maud) for merchants and admins, served by the `console` Lambda
//! under `/console`. Plain forms that work without JavaScript; a small script adds live updates (KYC
//! status, sync progress), inline validation and the copy button.
//!
//! Every page action goes through the public API in process ([`client`]), so the console can never do
//! what the API would refuse.

mod client;
mod layout;
mod pages;
pub mod session;

use std::collections::HashMap;

use futures::future::BoxFuture;
use http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use maud::Markup;
use secrecy::SecretString;
use tracing::Instrument as _;

pub use client::{Client, Reply};
use pivota::app::App;
use pivota::kernel::error::Error;
use session::{Role, Session};

/// The Lambda function that serves the console.
pub const FUNCTION: &str = "console";
/// Everything under this prefix is the console's.
pub const PREFIX: &str = "/console";

/// The API Gateway routes of the `console` function, as declared in `template.yaml`.
pub const GATEWAY_ROUTES: [(&str, &str); 2] = [("GET", "/console"), ("ANY", "/console/{proxy+}")];

/// Whether a request path is the console's.
pub fn owns(path: &str) -> bool {
    path == PREFIX || path.starts_with("/console/")
}

/// What a page handler returns.
pub type PageResult = Result<Response<Body>, ConsoleError>;
pub type PageHandler = for<'a> fn(&'a Ctx<'a>) -> BoxFuture<'a, PageResult>;

/// One console page: method, path template (`{name}` matches one segment) and handler.
pub struct Page {
    pub method: Method,
    pub path: &'static str,
    pub handler: PageHandler,
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum ConsoleError {
    /// Not signed in (or the session's credential stopped working): go to the sign-in page.
    SignIn,
    /// Signed in, but not as someone who may see this.
    Forbidden(&'static str),
    /// A form without a valid CSRF token.
    Csrf,
    NotFound,
    /// The API refused or failed, where no form can show it.
    Api(Reply),
    Internal(Error),
}

impl From<Error> for ConsoleError {
    fn from(error: Error) -> Self {
        match error {
            Error::Unauthenticated => Self::SignIn,
            Error::NotFound(_) => Self::NotFound,
            Error::Forbidden(_) => Self::Forbidden(
                "this credential may not do that (a test key on live resources, or a suspended merchant)",
            ),
            other => Self::Internal(other),
        }
    }
}

impl ConsoleError {
    /// An API answer that is not a success, where the page has nothing better to do with it.
    pub fn from_reply(reply: Reply) -> Self {
        match reply.status {
            401 => Self::SignIn,
            404 => Self::NotFound,
            _ => Self::Api(reply),
        }
    }
}

/// One request to the console.
pub struct Ctx<'a> {
    pub app: &'a App,
    pub req: &'a Request,
    pub session: Session,
    pub params: HashMap<String, String>,
    pub request_id: String,
    /// This session's CSRF token, for the forms of the page.
    pub csrf: String,
    /// Whether cookies get `Secure` (everywhere but a loopback host).
    pub secure_cookies: bool,
}

impl Ctx<'_> {
    /// The API as the signed-in user.
    pub fn api(&self) -> Client<'_> {
        Client {
            app: self.app,
            bearer: self.session.credential.as_ref(),
            request_id: &self.request_id,
            host: self.req.headers().get(http::header::HOST).and_then(|host| host.to_str().ok()),
        }
    }

    pub fn param(&self, name: &str) -> &str {
        self.params.get(name).map(String::as_str).unwrap_or_default()
    }

    /// A query string parameter ("" when absent).
    pub fn query(&self, name: &str) -> String {
        self.req
            .uri()
            .query()
            .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == name))
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    }

    /// The signed-in merchant's id; otherwise the user must sign in (as a merchant).
    pub fn merchant_id(&self) -> Result<&str, ConsoleError> {
        match (self.session.role, self.session.merchant_id.as_deref()) {
            (Some(Role::Merchant), Some(id)) => Ok(id),
            (Some(Role::Admin), _) => {
                Err(ConsoleError::Forbidden("This page is for merchants; sign in with an API key."))
            }
            _ => Err(ConsoleError::SignIn),
        }
    }

    pub fn require_admin(&self) -> Result<(), ConsoleError> {
        match self.session.role {
            Some(Role::Admin) => Ok(()),
            Some(Role::Merchant) => Err(ConsoleError::Forbidden("This page is for Pivota admins.")),
            None => Err(ConsoleError::SignIn),
        }
    }

    /// The submitted form, once its CSRF token is checked.
    pub async fn form(&self) -> Result<Form, ConsoleError> {
        let body: &[u8] = self.req.body().as_ref();
        if body.len() > 64 * 1024 {
            return Err(ConsoleError::Api(Reply {
                status: 413,
                body: serde_json::json!({"detail": "the form is too large"}),
            }));
        }
        let form = Form(url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect());
        if !self.session.csrf_matches(self.app, form.get("csrf")).await? {
            return Err(ConsoleError::Csrf);
        }
        Ok(form)
    }

    /// A response that starts `session` (sign-in, registration) in place of the current one.
    pub async fn with_session(&self, mut response: Response<Body>, session: &Session) -> PageResult {
        let now = self.app.clock.now();
        let cookie = session::set_cookie(&session.seal(self.app).await?, session.expires_at, now, self.secure_cookies);
        response.headers_mut().append(header::SET_COOKIE, header_value(&cookie)?);
        Ok(response)
    }

    /// A response that ends the session.
    pub fn without_session(&self, mut response: Response<Body>) -> PageResult {
        response.headers_mut().append(header::SET_COOKIE, header_value(&session::clear_cookie(self.secure_cookies))?);
        Ok(response)
    }

    /// This request, as seen by `session` (which starts with the response): for a page rendered right
    /// after registering, with the new session's navigation and CSRF token.
    pub async fn signed_in_as(&self, session: Session) -> Result<Ctx<'_>, ConsoleError> {
        Ok(Ctx {
            app: self.app,
            req: self.req,
            csrf: session.csrf_token(self.app).await?,
            session,
            params: self.params.clone(),
            request_id: self.request_id.clone(),
            secure_cookies: self.secure_cookies,
        })
    }

    pub fn now(&self) -> time::OffsetDateTime {
        self.app.clock.now()
    }
}

fn header_value(text: &str) -> Result<HeaderValue, ConsoleError> {
    HeaderValue::from_str(text).map_err(|e| ConsoleError::Internal(Error::Internal(e.to_string())))
}

/// A submitted `application/x-www-form-urlencoded` form.
pub struct Form(Vec<(String, String)>);

impl Form {
    /// The first value of `name`, trimmed ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).unwrap_or_default()
    }

    /// `name`'s value, or `None` when absent or blank.
    pub fn optional(&self, name: &str) -> Option<String> {
        Some(self.get(name)).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    pub fn secret(&self, name: &str) -> SecretString {
        SecretString::from(self.get(name).to_owned())
    }
}

/// A form field for a JSON integer: the number when it is one, else the text as typed, which the API then
/// refuses naming the field (rather than the console guessing).
pub fn integer_or_text(raw: &str) -> serde_json::Value {
    raw.parse::<i64>().map_or_else(|_| serde_json::Value::from(raw), serde_json::Value::from)
}

/// A page's HTML.
pub fn html(status: StatusCode, markup: Markup) -> Response<Body> {
    let mut response = Response::new(Body::Text(markup.into_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response
}

/// `303 See Other` to `location` (after a form: the browser GETs the result).
pub fn redirect(location: &str) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Serves one console request.
pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let request_id = pivota_http::request::request_id(&req);
    let span =
        tracing::info_span!("console", request_id = %request_id, method = %req.method(), path = %req.uri().path());
    let started = std::time::Instant::now();
    let mut response =
        pivota::invocation::serve_as("console", serve(app, &req, request_id.clone())).instrument(span.clone()).await;
    let _entered = span.enter();
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.entry(*name).or_insert(HeaderValue::from_static(value));
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("x-request-id", value);
    }
    tracing::info!(status = response.status().as_u16(), latency_us = started.elapsed().as_micros() as u64, "handled");
    response
}

const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; connect-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cache-control", "no-store"),
];

async fn serve(app: &App, req: &Request, request_id: String) -> Response<Body> {
    let path = req.uri().path();
    if let Some(asset) = pages::static_asset(req.method(), path) {
        return asset;
    }
    let Some((page, params)) = find_page(req.method(), path) else {
        let status = if pages::PAGES.iter().any(|p| pivota_http::match_template(p.path, path).is_some()) {
            StatusCode::METHOD_NOT_ALLOWED
        } else {
            StatusCode::NOT_FOUND
        };
        return html(status, layout::error_page(status, "There is no such page.", &request_id));
    };
    let now = app.clock.now();
    let opened = match session::cookie_value(req.headers()) {
        Some(value) => Session::open(app, value, now).await,
        None => Ok(None),
    };
    let (session, is_new) = match opened {
        Ok(Some(session)) => (session, false),
        Ok(None) => (Session::visitor(now), true),
        Err(e) => return failure(ConsoleError::Internal(e), req, &request_id),
    };
    let secure_cookies =
        !req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).is_some_and(session::is_loopback_host);
    let csrf = match session.csrf_token(app).await {
        Ok(csrf) => csrf,
        Err(e) => return failure(ConsoleError::Internal(e), req, &request_id),
    };
    let ctx = Ctx { app, req, session, params, request_id: request_id.clone(), csrf, secure_cookies };
    let mut response = match (page.handler)(&ctx).await {
        Ok(response) => response,
        Err(error) => failure(error, req, &request_id),
    };
    // A new visitor keeps the session its forms' CSRF tokens were made for (pages only, not assets).
    let is_page = response.headers().get(header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    if is_new && is_page && !response.headers().contains_key(header::SET_COOKIE) {
        let cookie = match ctx.session.seal(app).await {
            Ok(value) => session::set_cookie(&value, ctx.session.expires_at, now, secure_cookies),
            Err(e) => return failure(ConsoleError::Internal(e), req, &request_id),
        };
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

fn find_page(method: &Method, path: &str) -> Option<(&'static Page, HashMap<String, String>)> {
    pages::PAGES
        .iter()
        .filter(|page| page.method == method)
        .find_map(|page| pivota_http::match_template(page.path, path).map(|params| (page, params)))
}

fn failure(error: ConsoleError, req: &Request, request_id: &str) -> Response<Body> {
    match error {
        ConsoleError::SignIn => {
            let next = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or(PREFIX);
            let next = if req.method() == Method::GET { next } else { PREFIX };
            let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("next", next).finish();
            redirect(&format!("{PREFIX}/sign-in?{query}"))
        }
        ConsoleError::Forbidden(why) => {
            html(StatusCode::FORBIDDEN, layout::error_page(StatusCode::FORBIDDEN, why, request_id))
        }
        ConsoleError::Csrf => html(
            StatusCode::FORBIDDEN,
            layout::error_page(
                StatusCode::FORBIDDEN,
                "This form expired or did not come from this console. Go back, reload the page and try again.",
                request_id,
            ),
        ),
        ConsoleError::NotFound => {
            html(StatusCode::NOT_FOUND, layout::error_page(StatusCode::NOT_FOUND, "There is no such page.", request_id))
        }
        ConsoleError::Api(reply) => {
            let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
            html(status, layout::error_page(status, &reply.detail(), request_id))
        }
        ConsoleError::Internal(error) => {
            tracing::error!(error = %error, "console page failed");
            let problem = pivota_http::problem::Problem::from_error(&error, req.uri().path(), request_id);
            let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            html(status, layout::error_page(status, &problem.detail, request_id))
        }
    }
}
