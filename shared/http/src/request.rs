//! Reading requests: JSON bodies, bearer credentials, path and query parameters, and building JSON
//! responses.

use http::{HeaderValue, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use pivota::kernel::error::Error;
use pivota::kernel::validation::FieldErrors;
use pivota::ports::PageCursor;

/// The largest JSON body any route accepts.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// Parses the body as a JSON object into `T`. Not JSON, or not an object → 400; a field of the wrong type
/// → 422 naming it. An empty body counts as `{}` when `empty_is_object`.
pub fn json_body<T: DeserializeOwned>(req: &Request, empty_is_object: bool) -> Result<T, Error> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.len() > MAX_JSON_BODY {
        return Err(Error::PayloadTooLarge { limit: MAX_JSON_BODY });
    }
    if let Some(content_type) = req.headers().get(header::CONTENT_TYPE) {
        let essence = content_type.to_str().unwrap_or_default().split(';').next().unwrap_or_default().trim();
        let is_json =
            essence.eq_ignore_ascii_case("application/json") || essence.to_ascii_lowercase().ends_with("+json");
        if !(is_json || bytes.is_empty() && empty_is_object) {
            return Err(Error::UnsupportedMediaType);
        }
    }
    let mut value: serde_json::Value = if bytes.iter().all(u8::is_ascii_whitespace) && empty_is_object {
        serde_json::Value::Object(Default::default())
    } else {
        serde_json::from_slice(bytes).map_err(|e| Error::MalformedBody(e.to_string()))?
    };
    // Where the body is optional, JSON `null` is no body.
    if value.is_null() && empty_is_object {
        value = serde_json::Value::Object(Default::default());
    }
    if !value.is_object() {
        return Err(Error::MalformedBody("the body must be a JSON object".into()));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        let mut errors = FieldErrors::default();
        errors.push(if field == "." { "body".to_owned() } else { field }, type_message(e.inner()));
        Error::Validation(errors)
    })
}

/// serde's message without its position suffix, which means nothing for a parsed value.
fn type_message(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.find(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message,
    }
}

/// The `Authorization: Bearer <token>` credential, if any.
pub fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

pub fn path_param<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.path_parameters_ref().and_then(|params| params.first(name))
}

pub fn query_param<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.query_string_parameters_ref().and_then(|params| params.first(name))
}

/// Named text parameters: a request's query string, or an MCP tool call's arguments written the same way,
/// so both are read, and refused, by the same code with the same messages.
pub trait Params {
    fn param(&self, name: &str) -> Option<&str>;
}

impl Params for Request {
    fn param(&self, name: &str) -> Option<&str> {
        query_param(self, name)
    }
}

impl Params for std::collections::BTreeMap<&str, String> {
    fn param(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

/// `?limit=` (default 20, 1..=100) and `?cursor=`.
pub fn paging(params: &impl Params) -> Result<(u32, Option<PageCursor>), Error> {
    let cursor = params.param("cursor").filter(|c| !c.is_empty()).map(super::cursor::open).transpose()?;
    Ok((limit(params)?, cursor))
}

/// `?limit=` (default 20, 1..=100).
pub fn limit(params: &impl Params) -> Result<u32, Error> {
    Ok(match params.param("limit") {
        None => 20,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|limit| (1..=100).contains(limit))
            .ok_or_else(|| Error::bad_parameter("limit", "must be an integer from 1 to 100"))?,
    })
}

/// Pivota's public base URL, where stores deliver webhooks and shoppers come back: `PIVOTA_PUBLIC_BASE_URL`
/// when set; when it is set empty (the template's default), the API's own domain, from API Gateway's
/// request context (`domainName`), else the `Host` header (the console's calls through the API carry its
/// own request's host). So one `sam deploy` gives working addresses before any custom domain exists.
pub fn public_base(app: &pivota::app::App, req: &Request) -> Result<String, Error> {
    if !app.settings.public_base_url.is_empty() {
        return Ok(app.settings.public_base_url.clone());
    }
    let context_domain = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.domain_name.clone().filter(|d| !d.is_empty()),
        _ => None,
    };
    let host = context_domain.or_else(|| {
        req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned).filter(|h| !h.is_empty())
    });
    // A host name and port only: nothing that could turn the base into another URL.
    match host.filter(|host| host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:".contains(&b))) {
        Some(host) => Ok(format!("https://{host}")),
        None => Err(Error::Internal("PIVOTA_PUBLIC_BASE_URL is empty and the request names no host".into())),
    }
}

/// The request id: API Gateway's, else a sane `x-request-id` from the caller, else a new one.
pub fn request_id(req: &Request) -> String {
    if let Some(RequestContext::ApiGatewayV2(context)) = req.request_context_ref()
        && let Some(id) = context.request_id.as_deref().filter(|id| !id.is_empty())
    {
        return id.to_owned();
    }
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| ulid::Ulid::new().to_string(), str::to_owned)
}

pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Result<Response<Body>, Error> {
    let body = serde_json::to_string(body).map_err(|e| Error::Internal(format!("serialising a response: {e}")))?;
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
