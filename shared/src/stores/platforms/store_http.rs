//! What the WooCommerce, Wix and custom-store modules share (and Shopify, for reading answers): how an HTTP
//! answer becomes a [`PlatformError`], bounded body reads and `Retry-After`, a throttled request retried alone
//! ([`send_retrying`]), decimal prices as integer minor units, and constant-time HMAC checks.

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::PlatformError;
use crate::kernel::money::Currency;

/// When a 429 carries no usable `Retry-After`, wait this long.
pub(crate) const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(2);

/// The longest `Retry-After` a request waits out itself; a longer one ends the call and the sync waits
/// instead (across invocations if need be, see `sync.rs`).
pub(crate) const LONGEST_WAIT_IN_CALL: Duration = Duration::from_secs(30);

/// How many times one request is sent while it is throttled, the first time included.
pub(crate) const MAX_ATTEMPTS: u32 = 5;

/// How long a throttled answer asks to wait: a 429 (RFC 6585 §4) its `Retry-After` or
/// [`DEFAULT_RETRY_AFTER`]; a 503 only when it carries a `Retry-After` (RFC 9110 §15.6.4: the server says
/// when it expects to recover). `None` for any other answer.
fn asked_to_wait(response: &reqwest::Response) -> Option<Duration> {
    match response.status().as_u16() {
        429 => Some(retry_after(response.headers()).unwrap_or(DEFAULT_RETRY_AFTER)),
        503 => retry_after(response.headers()),
        _ => None,
    }
}

/// Sends `request`, and sends it again alone, after its `Retry-After`, while the store answers "throttled"
/// (see [`asked_to_wait`]): at most [`MAX_ATTEMPTS`] times, only for a wait up to [`LONGEST_WAIT_IN_CALL`],
/// and only when the retry starts before `deadline`. The last answer is returned whatever it is, for the
/// caller to read (a 429 it was not worth waiting for becomes [`PlatformError::Throttled`] there).
pub(crate) async fn send_retrying(
    platform: &str,
    mut request: reqwest::RequestBuilder,
    deadline: Instant,
) -> Result<reqwest::Response, PlatformError> {
    let mut attempt = 1;
    loop {
        // A body that cannot be cloned (a stream) cannot be sent twice: that request gets one attempt.
        let retry = request.try_clone().filter(|_| attempt < MAX_ATTEMPTS);
        let response = request.send().await.map_err(|error| send_failure(platform, &error))?;
        let wait = asked_to_wait(&response).filter(|wait| *wait <= LONGEST_WAIT_IN_CALL);
        match (wait, retry) {
            (Some(wait), Some(retry)) if Instant::now() + wait < deadline => {
                tracing::info!(platform, attempt, ?wait, "throttled; retrying the request alone");
                tokio::time::sleep(wait).await;
                (request, attempt) = (retry, attempt + 1);
            }
            _ => return Ok(response),
        }
    }
}

/// A failure to send or to read the answer. Every store call is retried later by the sync, so all of
/// them are "unavailable". The reason names the platform and the failure kind only: never a URL or a key.
pub(crate) fn send_failure(platform: &str, error: &reqwest::Error) -> PlatformError {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "failed reading the response"
    } else {
        "failed in transit"
    };
    PlatformError::Unavailable { reason: format!("{platform}: the request {what}") }
}

/// `Retry-After` in whole seconds, at most an hour (the HTTP-date form is not used by these platforms and is
/// ignored). The same reading as the PSP connectors'.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    crate::payments::connectors::transport::retry_after(headers)
}

/// The most a store API answer may weigh. Custom stores, Wix and Shopify pages hold at most 100 products (Shopify
/// 50, with only the fields we query): a few hundred KiB in practice, so 8 MiB (over 80 KiB a product) leaves
/// room for long descriptions while no endpoint can exhaust memory.
pub(crate) const STORE_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// WooCommerce lists 100 products a page with every field (full HTML descriptions, images, meta data, which
/// plugins grow), so its pages get twice the room.
pub(crate) const WOOCOMMERCE_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// A store's answer, at most `limit` bytes. A connection failure is "unavailable" (retried later); an answer
/// over the cap is "not understood": asking again would only get the same oversized answer.
pub(crate) async fn read_body(
    platform: &str,
    response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, PlatformError> {
    use crate::payments::connectors::transport::{BodyError, read_capped};
    read_capped(response, limit).await.map_err(|error| match error {
        BodyError::Read(error) => send_failure(platform, &error),
        BodyError::TooLarge { limit } => PlatformError::Invalid {
            reason: format!("{platform} answered with more than {} MiB; the answer was not read", limit >> 20),
        },
    })
}

/// An answer that was not a success, classified: 401/403 refused credentials, 429 throttled, 5xx
/// unavailable, anything else not understood. `reason` is the platform's own message (already free of
/// secrets).
pub(crate) fn status_error(platform: &str, status: u16, retry: Option<Duration>, reason: String) -> PlatformError {
    match status {
        401 | 403 => PlatformError::Unauthorized { reason },
        429 => PlatformError::Throttled { retry_after: retry.unwrap_or(DEFAULT_RETRY_AFTER) },
        500..=599 => PlatformError::Unavailable { reason: format!("{platform} answered {status}: {reason}") },
        _ => PlatformError::Invalid { reason: format!("{platform} answered {status}: {reason}") },
    }
}

/// Replaces every occurrence of each secret in `text` (a platform's message could echo what was sent).
pub(crate) fn redact(text: &str, secrets: &[&str]) -> String {
    secrets.iter().filter(|secret| secret.len() >= 4).fold(text.to_owned(), |text, secret| text.replace(secret, "****"))
}

/// A decimal amount as the platform writes it (`"19.99"`, `"20"`, `"0.5"`, `"-3.10"`) in integer minor
/// units of `currency`, with integer arithmetic only. Digits past the currency's exponent must be zeros
/// (`"19.990"` is fine, `"19.999"` is not an amount in EUR); `None` for anything that is not a plain
/// decimal or does not fit.
pub(crate) fn decimal_to_minor(raw: &str, currency: Currency) -> Option<i64> {
    let raw = raw.trim();
    let (negative, digits) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let exponent = usize::from(currency.minor_units());
    let (kept, dropped) = fraction.split_at(fraction.len().min(exponent));
    if dropped.bytes().any(|b| b != b'0') {
        return None;
    }
    let mut minor: i64 = 0;
    for digit in whole.bytes().chain(kept.bytes()).chain(std::iter::repeat_n(b'0', exponent - kept.len())) {
        minor = minor.checked_mul(10)?.checked_add(i64::from(digit - b'0'))?;
    }
    Some(if negative { -minor } else { minor })
}

/// HMAC-SHA256 of `body` under `secret`.
#[cfg(test)]
pub(crate) fn hmac_sha256(secret: &[u8], body: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Whether `claimed` is the HMAC-SHA256 of `body` under `secret`, compared in constant time.
pub(crate) fn hmac_sha256_matches(secret: &[u8], body: &[u8], claimed: &[u8]) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    mac.verify_slice(claimed).is_ok()
}

/// A delivery signed as an HMAC-SHA256 of its raw body under the store's webhook secret (WooCommerce, the
/// custom contract), checked before anything else is read: its signature is in `signature_header`, written
/// as `decode` reads it; its topic (`order.created`, `product.updated`, others ignored) in `topic_header`; its
/// event id in `event_id_header`.
pub(crate) fn verify_signed_delivery(
    credentials: &super::StoreCredentials,
    headers: &http::HeaderMap,
    body: &[u8],
    signature_header: &str,
    decode: impl Fn(&str) -> Option<Vec<u8>>,
    topic_header: &str,
    event_id_header: &str,
) -> Result<super::Delivery, super::WebhookError> {
    use super::{Delivery, DeliveryTopic, WebhookError};
    use secrecy::ExposeSecret as _;
    let secret = credentials.webhook_secret.as_ref().ok_or(WebhookError::BadSignature)?;
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::trim);
    let claimed = header(signature_header).and_then(decode).ok_or(WebhookError::BadSignature)?;
    if !hmac_sha256_matches(secret.expose_secret().as_bytes(), body, &claimed) {
        return Err(WebhookError::BadSignature);
    }
    let topic = match header(topic_header) {
        Some("order.created") => DeliveryTopic::OrderCreated,
        Some("product.updated") => DeliveryTopic::ProductUpdated,
        Some(other) => DeliveryTopic::Other(other.to_owned()),
        None => return Err(WebhookError::Malformed(format!("the delivery has no {topic_header} header"))),
    };
    Ok(Delivery { event_id: header(event_id_header).map(str::to_owned), topic })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::connectors::transport::test_server::{Framing, client, serve_once};

    #[tokio::test]
    async fn an_oversized_store_answer_is_not_understood_and_not_read() {
        let (base, server) = serve_once(200, Framing::Chunked, 64 * STORE_BODY_LIMIT);
        let response = client().get(&base).send().await.unwrap();
        let error = read_body("WooCommerce", response, STORE_BODY_LIMIT).await.unwrap_err();
        assert_eq!(
            error,
            PlatformError::Invalid {
                reason: "WooCommerce answered with more than 8 MiB; the answer was not read".into()
            }
        );
        let written = tokio::task::spawn_blocking(move || server.join().unwrap()).await.unwrap();
        assert!(written < 4 * STORE_BODY_LIMIT, "the server wrote {written} bytes");

        let (base, _server) = serve_once(200, Framing::AnnouncedOnly, 2 * STORE_BODY_LIMIT);
        let response = client().get(&base).send().await.unwrap();
        assert!(matches!(read_body("Wix", response, STORE_BODY_LIMIT).await, Err(PlatformError::Invalid { .. })));

        let (base, _server) = serve_once(200, Framing::Length, 1000);
        let response = client().get(&base).send().await.unwrap();
        assert_eq!(read_body("Wix", response, STORE_BODY_LIMIT).await.unwrap().len(), 1000);
    }

    /// Answers each connection with the next of `answers` (status and headers, no body), counting them.
    fn answer_in_turn(answers: &[&'static str]) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (answers, counter) = (answers.to_vec(), served.clone());
        std::thread::spawn(move || {
            for answer in answers {
                let (mut socket, _) = listener.accept().unwrap();
                let mut request = Vec::new();
                let mut byte = [0u8; 1];
                while !request.ends_with(b"\r\n\r\n") && socket.read(&mut byte).unwrap_or(0) == 1 {
                    request.push(byte[0]);
                }
                // Counted before answering, so a client holding the answer sees the count.
                counter.fetch_add(1, Ordering::SeqCst);
                let reply = format!("HTTP/1.1 {answer}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                let _ = socket.write_all(reply.as_bytes());
            }
        });
        (base, served)
    }

    async fn send(base: &str, deadline: Instant) -> u16 {
        let request = client().get(base);
        send_retrying("Wix", request, deadline).await.unwrap().status().as_u16()
    }

    #[tokio::test]
    async fn a_throttled_request_is_sent_again_alone_within_its_bounds() {
        use std::sync::atomic::Ordering::SeqCst;
        let later = Instant::now() + Duration::from_secs(60);
        // A 503 that says when to come back is waited out like a 429.
        let (base, served) = answer_in_turn(&["503 Service Unavailable\r\nRetry-After: 1", "200 OK"]);
        assert_eq!((send(&base, later).await, served.load(SeqCst)), (200, 2));
        // A 503 that does not is an outage, answered as it is.
        let (base, served) = answer_in_turn(&["503 Service Unavailable", "200 OK"]);
        assert_eq!((send(&base, later).await, served.load(SeqCst)), (503, 1));
        // A wait that would pass the deadline, or is longer than a call waits, is not waited.
        let (base, served) = answer_in_turn(&["429 Too Many Requests\r\nRetry-After: 1", "200 OK"]);
        let started = Instant::now();
        assert_eq!(send(&base, Instant::now() + Duration::from_millis(500)).await, 429);
        assert!(started.elapsed() < Duration::from_secs(1) && served.load(SeqCst) == 1);
        let (base, served) = answer_in_turn(&["429 Too Many Requests\r\nRetry-After: 31", "200 OK"]);
        assert_eq!((send(&base, later).await, served.load(SeqCst)), (429, 1));
        // At most MAX_ATTEMPTS sends (a 429 without Retry-After waits DEFAULT_RETRY_AFTER; keep it short here).
        let throttled = "429 Too Many Requests\r\nRetry-After: 0";
        let (base, served) = answer_in_turn(&[throttled; MAX_ATTEMPTS as usize + 1]);
        assert_eq!((send(&base, later).await, served.load(SeqCst)), (429, MAX_ATTEMPTS as usize));
    }

    #[test]
    fn a_huge_retry_after_is_an_hour() {
        for huge in ["18446744073709551615", "18446744073709551616"] {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(reqwest::header::RETRY_AFTER, huge.parse().unwrap());
            assert_eq!(retry_after(&headers), Some(Duration::from_secs(3600)));
        }
    }

    #[test]
    fn decimals_become_minor_units_exactly() {
        let eur = Currency::parse("EUR").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(decimal_to_minor("19.99", eur), Some(1999));
        assert_eq!(decimal_to_minor("0.1", eur), Some(10));
        assert_eq!(decimal_to_minor("20", eur), Some(2000));
        assert_eq!(decimal_to_minor("19.990000", eur), Some(1999));
        assert_eq!(decimal_to_minor(".5", eur), Some(50));
        assert_eq!(decimal_to_minor("-3.10", eur), Some(-310));
        assert_eq!(decimal_to_minor("1500", jpy), Some(1500));
        assert_eq!(decimal_to_minor("1500.00", jpy), Some(1500));
        assert_eq!(decimal_to_minor("1.234", kwd), Some(1234));
        for bad in ["", "-", ".", "19.999", "1e3", "1,50", "abc", " 1 2", "99999999999999999999"] {
            assert_eq!(decimal_to_minor(bad, eur), None, "{bad:?}");
        }
        assert_eq!(decimal_to_minor("1500.5", jpy), None);
    }

    #[test]
    fn hmac_checks_are_exact() {
        let mac = hmac_sha256(b"secret", b"body");
        assert!(hmac_sha256_matches(b"secret", b"body", &mac));
        assert!(!hmac_sha256_matches(b"secret", b"body!", &mac));
        assert!(!hmac_sha256_matches(b"other", b"body", &mac));
        assert!(!hmac_sha256_matches(b"secret", b"body", &mac[..31]));
    }
}
