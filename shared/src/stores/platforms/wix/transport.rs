//! How a Wix call is made: its headers, a Wix error body's `message` (with the key redacted), URLs under
//! the base, and the answer read as JSON.
//!
//! Source (Wix developer docs): "API Keys" / Wix API core headers: `Authorization: <API key>` (no scheme)
//! and `wix-site-id: <site id>`.

use secrecy::ExposeSecret;
use serde::Deserialize;
use url::Url;

use super::NAME;
use crate::stores::platforms::store_http::{
    STORE_BODY_LIMIT, read_body, redact, retry_after, send_failure, status_error,
};
use crate::stores::platforms::{PlatformError, StoreCredentials};

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
}

pub(super) fn site_id(credentials: &StoreCredentials) -> Result<&str, PlatformError> {
    credentials
        .site_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| PlatformError::Invalid { reason: "Wix needs the site id (`wix-site-id`)".into() })
}

pub(super) async fn call(
    request: reqwest::RequestBuilder,
    credentials: &StoreCredentials,
) -> Result<Vec<u8>, PlatformError> {
    send(request, credentials, false).await.map(Option::unwrap_or_default)
}

/// As [`call`], with a 404 read as "not there" (`None`).
pub(super) async fn call_found(
    request: reqwest::RequestBuilder,
    credentials: &StoreCredentials,
) -> Result<Option<Vec<u8>>, PlatformError> {
    send(request, credentials, true).await
}

pub(super) async fn send(
    request: reqwest::RequestBuilder,
    credentials: &StoreCredentials,
    absent_is_none: bool,
) -> Result<Option<Vec<u8>>, PlatformError> {
    let key = credentials.api_token.expose_secret();
    let response = request
        .header(reqwest::header::AUTHORIZATION, key)
        .header("wix-site-id", site_id(credentials)?)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|error| send_failure(NAME, &error))?;
    let status = response.status().as_u16();
    let retry = retry_after(response.headers());
    let body = read_body(NAME, response, STORE_BODY_LIMIT).await?;
    if (200..300).contains(&status) {
        return Ok(Some(body));
    }
    if status == 404 && absent_is_none {
        return Ok(None);
    }
    let message = serde_json::from_slice::<ErrorBody>(&body)
        .ok()
        .map(|error| error.message)
        .filter(|message| !message.is_empty())
        .unwrap_or_else(|| "no error message".into());
    Err(status_error(NAME, status, retry, redact(&message, &[key])))
}

pub(super) fn url(base: &Url, path: &str) -> String {
    format!("{}/{path}", base.as_str().trim_end_matches('/'))
}

/// `path` followed by `segments`, each percent-encoded as one path segment.
pub(super) fn url_with(base: &Url, path: &str, segments: &[&str]) -> Result<Url, PlatformError> {
    let cannot = || PlatformError::Invalid { reason: "the Wix base URL cannot take a path".into() };
    let mut url = Url::parse(&url(base, path)).map_err(|_| cannot())?;
    url.path_segments_mut().map_err(|_| cannot())?.extend(segments);
    Ok(url)
}

pub(super) fn parse<T: for<'de> Deserialize<'de>>(body: &[u8], what: &str) -> Result<T, PlatformError> {
    serde_json::from_slice(body)
        .map_err(|error| PlatformError::Invalid { reason: format!("Wix {what} was not understood: {error}") })
}

pub(super) fn invalid(reason: String) -> PlatformError {
    PlatformError::Invalid { reason: format!("Wix {reason}") }
}
