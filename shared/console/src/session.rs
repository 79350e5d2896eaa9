//! Console sessions and CSRF tokens.
//!
//! A session lives in one cookie, sealed with AES-256-GCM under a key derived from the platform pepper
//! (so it is both secret and tamper-evident), `HttpOnly`, `SameSite=Strict`, `Secure` except on a
//! loopback host, with an expiry inside the sealed payload as well as on the cookie. It holds the
//! credential the console presents to the API on the user's behalf (the merchant's API key or the admin
//! token), so a revoked key or a rotated admin token ends the session on its next request.
//!
//! Every visitor gets a session, signed in or not; each form carries a CSRF token derived from the
//! session's random id, and signing in starts a new id (no session fixation).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac as _;
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use pivota::app::App;
use pivota::kernel::error::Error;

pub const COOKIE: &str = "pivota_session";
/// How long a sign-in lasts.
pub const LIFETIME: Duration = Duration::hours(8);
const SESSION_KEY_PURPOSE: &str = "pivota/console/session-cookie/v1";
const CSRF_KEY_PURPOSE: &str = "pivota/console/csrf/v1";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Merchant,
    Admin,
}

/// Who is signed in, if anyone.
pub struct Session {
    /// Random per session; CSRF tokens are derived from it.
    pub sid: String,
    pub role: Option<Role>,
    pub merchant_id: Option<String>,
    /// The key id of the API key a merchant signed in with.
    pub key_id: Option<String>,
    pub credential: Option<SecretString>,
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("role", &self.role)
            .field("merchant_id", &self.merchant_id)
            .field("credential", &self.credential.as_ref().map(|_| "[REDACTED]"))
            .finish_non_exhaustive()
    }
}

/// The sealed form of a [`Session`].
#[derive(Serialize, Deserialize)]
struct Sealed {
    sid: String,
    role: Option<Role>,
    merchant_id: Option<String>,
    key_id: Option<String>,
    credential: Option<String>,
    exp: i64,
}

impl Session {
    /// A new visitor session: nobody signed in yet.
    pub fn visitor(now: OffsetDateTime) -> Self {
        Self::new(None, None, None, None, now)
    }

    /// A new signed-in session, with a fresh id.
    pub fn signed_in(
        role: Role,
        merchant_id: Option<String>,
        key_id: Option<String>,
        credential: SecretString,
        now: OffsetDateTime,
    ) -> Self {
        Self::new(Some(role), merchant_id, key_id, Some(credential), now)
    }

    fn new(
        role: Option<Role>,
        merchant_id: Option<String>,
        key_id: Option<String>,
        credential: Option<SecretString>,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            sid: pivota::kernel::secret::random_token(18).expose_secret().to_owned(),
            role,
            merchant_id,
            key_id,
            credential,
            expires_at: now + LIFETIME,
        }
    }

    /// Seals the session into a cookie value.
    pub async fn seal(&self, app: &App) -> Result<String, Error> {
        let sealed = Sealed {
            sid: self.sid.clone(),
            role: self.role,
            merchant_id: self.merchant_id.clone(),
            key_id: self.key_id.clone(),
            credential: self.credential.as_ref().map(|c| c.expose_secret().to_owned()),
            exp: self.expires_at.unix_timestamp(),
        };
        let plaintext = serde_json::to_vec(&sealed).map_err(|e| Error::Internal(e.to_string()))?;
        let cipher = cipher(app).await?;
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: &plaintext, aad: COOKIE.as_bytes() })
            .map_err(|_| Error::Internal("sealing a console session failed".into()))?;
        let mut value = nonce.to_vec();
        value.extend(ciphertext);
        Ok(URL_SAFE_NO_PAD.encode(value))
    }

    /// Opens a cookie value; `None` if it was not sealed by us, was altered, or has expired.
    pub async fn open(app: &App, value: &str, now: OffsetDateTime) -> Result<Option<Self>, Error> {
        let Ok(raw) = URL_SAFE_NO_PAD.decode(value) else { return Ok(None) };
        if raw.len() < 12 + 16 {
            return Ok(None);
        }
        let (nonce, ciphertext) = raw.split_at(12);
        let cipher = cipher(app).await?;
        let Ok(plaintext) =
            cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: COOKIE.as_bytes() })
        else {
            return Ok(None);
        };
        let Ok(sealed) = serde_json::from_slice::<Sealed>(&plaintext) else { return Ok(None) };
        let Ok(expires_at) = OffsetDateTime::from_unix_timestamp(sealed.exp) else { return Ok(None) };
        if expires_at <= now {
            return Ok(None);
        }
        Ok(Some(Self {
            sid: sealed.sid,
            role: sealed.role,
            merchant_id: sealed.merchant_id,
            key_id: sealed.key_id,
            credential: sealed.credential.map(SecretString::from),
            expires_at,
        }))
    }

    /// The CSRF token every state-changing form of this session carries.
    pub async fn csrf_token(&self, app: &App) -> Result<String, Error> {
        Ok(URL_SAFE_NO_PAD.encode(csrf_mac(app, &self.sid).await?.finalize().into_bytes()))
    }

    /// Whether `presented` is this session's CSRF token (constant time).
    pub async fn csrf_matches(&self, app: &App, presented: &str) -> Result<bool, Error> {
        let Ok(presented) = URL_SAFE_NO_PAD.decode(presented) else { return Ok(false) };
        Ok(csrf_mac(app, &self.sid).await?.verify_slice(&presented).is_ok())
    }
}

async fn cipher(app: &App) -> Result<Aes256Gcm, Error> {
    let key = app.derived_key(SESSION_KEY_PURPOSE).await?;
    Aes256Gcm::new_from_slice(key.expose_secret()).map_err(|e| Error::Internal(e.to_string()))
}

async fn csrf_mac(app: &App, sid: &str) -> Result<hmac::Hmac<sha2::Sha256>, Error> {
    let key = app.derived_key(CSRF_KEY_PURPOSE).await?;
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(key.expose_secret())
        .map_err(|e| Error::Internal(e.to_string()))?;
    mac.update(sid.as_bytes());
    Ok(mac)
}

/// The `Set-Cookie` value for a session. `Secure` unless the console is served from a loopback host
/// (a plain-HTTP local run), where browsers would drop a secure cookie.
pub fn set_cookie(value: &str, expires_at: OffsetDateTime, now: OffsetDateTime, secure: bool) -> String {
    let max_age = (expires_at - now).whole_seconds().max(0);
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={value}; Path=/console; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

/// The `Set-Cookie` value that ends a session.
pub fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/console; Max-Age=0; HttpOnly; SameSite=Strict{secure}")
}

/// The session cookie's value in a `Cookie` header, if present.
pub fn cookie_value(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// Whether a `Host` header names this machine (`localhost`, `127.0.0.1`, `[::1]`, any port).
pub fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        for host in ["localhost", "localhost:3000", "127.0.0.1:3000", "127.0.0.1", "[::1]:3000", "LOCALHOST"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in
            ["console.pivota.example", "abc.execute-api.eu-west-1.amazonaws.com", "10.0.0.1:80", "[2001:db8::1]"]
        {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn cookies_carry_the_security_attributes() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let cookie = set_cookie("v", now + LIFETIME, now, true);
        assert_eq!(cookie, "pivota_session=v; Path=/console; Max-Age=28800; HttpOnly; SameSite=Strict; Secure");
        assert!(!set_cookie("v", now + LIFETIME, now, false).contains("Secure"));
        assert!(clear_cookie(true).contains("Max-Age=0"));
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::COOKIE, "a=1; pivota_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie_value(&headers), Some("abc"));
    }
}
