//! What the HTTP layer's failures mean for money, shared by the connectors.
//!
//! The line is whether the request could have reached the PSP: a failure to connect (refused, DNS, TLS
//! handshake, connect timeout) means nothing was sent, so nothing was processed; any failure after that (a
//! timeout waiting for the answer, a reset connection, an unreadable body) leaves the PSP's action unknown.
//!
//! Also here, because the store platforms read HTTP answers the same way: [`read_capped`] (a body is never read
//! past a cap) and [`retry_after`] (a bounded `Retry-After`).

use std::time::Duration;

use super::ConnectorError;

/// Whether the call can move money, which decides how an unknown outcome is classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallKind {
    /// A read (credential verification): nothing is charged whatever happened, so every failure is
    /// "not processed".
    Read,
    /// A charge: a failure after sending is ambiguous.
    Charge,
}

/// Classifies a `reqwest` failure. The reason names the PSP and the failure kind only: never a URL, a
/// header, or a key.
pub(crate) fn send_failure(psp: &str, kind: CallKind, error: &reqwest::Error) -> ConnectorError {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "failed reading the response"
    } else {
        "failed in transit"
    };
    if error.is_connect() || error.is_builder() {
        ConnectorError::NotProcessed {
            reason: format!("{psp}: the request {what}; nothing was sent"),
            retry_after: None,
        }
    } else {
        after_sending(psp, kind, what)
    }
}

/// A failure once the request may have reached the PSP: harmless for a read, ambiguous for a charge.
fn after_sending(psp: &str, kind: CallKind, what: &str) -> ConnectorError {
    match kind {
        CallKind::Read => ConnectorError::NotProcessed {
            reason: format!("{psp}: the request {what}; a read moves no money"),
            retry_after: None,
        },
        CallKind::Charge => {
            ConnectorError::Ambiguous { reason: format!("{psp}: the request {what} after it was sent") }
        }
    }
}

/// The most a PSP answer may weigh. Stripe's PaymentIntent and error objects and Adyen's `/payments` answer are
/// a few KiB; Adyen's `/paymentMethods` lists the account's methods and their brands, tens of KiB. A MiB is far
/// beyond any real answer and small enough that a broken or hostile endpoint cannot exhaust memory.
pub(crate) const PSP_BODY_LIMIT: usize = 1024 * 1024;

/// Why a response body was not read whole.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// Longer than the cap, as announced by `Content-Length` or counted while reading. The rest is not read.
    TooLarge { limit: usize },
    /// The connection failed while reading.
    Read(reqwest::Error),
}

/// Reads a response body of at most `limit` bytes: refused up front when `Content-Length` announces more, and
/// as soon as the chunks received pass the cap otherwise (chunked or lying answers). Dropping the response
/// then closes the connection, so the rest is never downloaded.
pub(crate) async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    let announced = response.content_length();
    if announced.is_some_and(|length| length > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = Vec::with_capacity(announced.map_or(0, |length| length as usize));
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A PSP's answer, at most [`PSP_BODY_LIMIT`] bytes. Too large counts as failing to read the response: the
/// request was sent, so for a charge the outcome is unknown.
pub(crate) async fn read_body(
    psp: &str,
    kind: CallKind,
    response: reqwest::Response,
) -> Result<Vec<u8>, ConnectorError> {
    read_capped(response, PSP_BODY_LIMIT).await.map_err(|error| match error {
        BodyError::Read(error) => send_failure(psp, kind, &error),
        BodyError::TooLarge { limit } => {
            after_sending(psp, kind, &format!("failed reading the response (longer than {limit} bytes)"))
        }
    })
}

/// The longest `Retry-After` honoured. Beyond an hour the wait is no longer a rate limit worth honouring in
/// process, and capping it keeps every `Duration` and `Instant` sum built from it far from overflowing.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// `Retry-After` in seconds, at most [`MAX_RETRY_AFTER`] (a run of digits too long for a `u64` is the maximum
/// too). The HTTP-date form is not used by the PSPs and stores we call, and is ignored.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if value.is_empty() || !value.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

/// A header's value as text, if present and printable.
pub(crate) fn header(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_owned)
}

/// The idempotency key as sent to a PSP that accepts at most `max_len` characters (Adyen 64, "API
/// idempotency"; Stripe 255, "Idempotent requests"). A longer key is replaced by its SHA-256 in hex (64
/// characters): still deterministic, so a retry sends the same key, and still unique in practice.
pub(crate) fn idempotency_key(key: &str, max_len: usize) -> String {
    use sha2::{Digest, Sha256};
    if key.len() <= max_len { key.to_owned() } else { hex::encode(Sha256::digest(key.as_bytes())) }
}

/// A one-connection HTTP/1.1 server on 127.0.0.1 that answers with a body of a chosen size and counts how much
/// of it the client let it write: what proves a capped read stops early.
#[cfg(test)]
pub(crate) mod test_server {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::thread::JoinHandle;

    /// How the body is framed.
    #[derive(Clone, Copy)]
    pub(crate) enum Framing {
        /// `Content-Length: {total}`, then nothing: a client that trusts the header never waits for the body.
        AnnouncedOnly,
        /// `Content-Length: {total}` and the whole body.
        Length,
        /// `Transfer-Encoding: chunked`, no length announced.
        Chunked,
    }

    /// Serves one request with `status` and a `total`-byte body. The handle yields the body bytes written
    /// before the client hung up (or `total`).
    pub(crate) fn serve_once(status: u16, framing: Framing, total: usize) -> (String, JoinHandle<usize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut byte = [0u8; 1];
            while !request.ends_with(b"\r\n\r\n") && socket.read(&mut byte).unwrap_or(0) == 1 {
                request.push(byte[0]);
            }
            let framing_header = match framing {
                Framing::AnnouncedOnly | Framing::Length => format!("Content-Length: {total}"),
                Framing::Chunked => "Transfer-Encoding: chunked".to_owned(),
            };
            let head = format!("HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{framing_header}\r\n\r\n");
            if socket.write_all(head.as_bytes()).is_err() {
                return 0;
            }
            if let Framing::AnnouncedOnly = framing {
                // Wait for the client to give up on the connection: reading returns 0 (or fails) once it does.
                let _ = socket.read(&mut [0u8; 1]);
                return 0;
            }
            let chunk = vec![b' '; 64 * 1024];
            let mut written = 0;
            while written < total {
                let part = &chunk[..chunk.len().min(total - written)];
                let sent = match framing {
                    Framing::Chunked => socket
                        .write_all(format!("{:x}\r\n", part.len()).as_bytes())
                        .and_then(|()| socket.write_all(part))
                        .and_then(|()| socket.write_all(b"\r\n")),
                    _ => socket.write_all(part),
                };
                if sent.is_err() {
                    return written;
                }
                written += part.len();
            }
            if let Framing::Chunked = framing {
                let _ = socket.write_all(b"0\r\n\r\n");
            }
            written
        });
        (base, handle)
    }

    pub(crate) fn client() -> reqwest::Client {
        crate::kernel::http_client::builder().timeout(std::time::Duration::from_secs(20)).build().unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::test_server::{Framing, client, serve_once};
    use super::*;

    const MIB: usize = 1024 * 1024;

    #[test]
    fn long_idempotency_keys_are_hashed_deterministically() {
        assert_eq!(idempotency_key("short", 64), "short");
        let long = "k".repeat(300);
        let hashed = idempotency_key(&long, 64);
        assert_eq!(hashed.len(), 64);
        assert_eq!(hashed, idempotency_key(&long, 64));
        assert_ne!(hashed, idempotency_key(&"k".repeat(301), 64));
    }

    #[test]
    fn retry_after_is_bounded() {
        let retry = |value: &str| {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(reqwest::header::RETRY_AFTER, value.parse().unwrap());
            retry_after(&headers)
        };
        assert_eq!(retry("120"), Some(Duration::from_secs(120)));
        assert_eq!(retry(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(retry("3600"), Some(MAX_RETRY_AFTER));
        assert_eq!(retry("3601"), Some(MAX_RETRY_AFTER));
        assert_eq!(retry(&u64::MAX.to_string()), Some(MAX_RETRY_AFTER));
        // One more than u64::MAX does not parse as a u64; it is still a (very long) number of seconds.
        assert_eq!(retry("18446744073709551616"), Some(MAX_RETRY_AFTER));
        assert_eq!(retry(&"9".repeat(400)), Some(MAX_RETRY_AFTER));
        for ignored in ["", "-5", "1.5", "soon", "Wed, 21 Oct 2015 07:28:00 GMT"] {
            assert_eq!(retry(ignored), None, "{ignored:?}");
        }
        // Whatever was sent, adding it to now cannot overflow.
        let _ = std::time::Instant::now() + retry(&u64::MAX.to_string()).unwrap();
    }

    #[tokio::test]
    async fn a_body_within_the_cap_is_read_whole() {
        let (base, server) = serve_once(200, Framing::Chunked, 300 * 1024);
        let response = client().get(&base).send().await.unwrap();
        assert_eq!(read_capped(response, MIB).await.unwrap().len(), 300 * 1024);
        assert_eq!(tokio::task::spawn_blocking(move || server.join().unwrap()).await.unwrap(), 300 * 1024);
    }

    #[tokio::test]
    async fn an_announced_oversized_body_is_refused_before_reading_any_of_it() {
        let (base, server) = serve_once(200, Framing::AnnouncedOnly, 100 * MIB);
        let response = client().get(&base).send().await.unwrap();
        // The server sends no body at all: reading would wait for the 20 s timeout, refusing is immediate.
        let started = std::time::Instant::now();
        assert!(matches!(read_capped(response, MIB).await, Err(BodyError::TooLarge { limit: MIB })));
        assert!(started.elapsed() < Duration::from_secs(5));
        // Joined off the runtime: the connection is closed by a task on it once the response is dropped.
        assert_eq!(tokio::task::spawn_blocking(move || server.join().unwrap()).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn an_unannounced_oversized_body_stops_being_read_at_the_cap() {
        let total = 256 * MIB;
        let (base, server) = serve_once(200, Framing::Chunked, total);
        let response = client().get(&base).send().await.unwrap();
        assert!(matches!(read_capped(response, MIB).await, Err(BodyError::TooLarge { .. })));
        // The connection is closed once the cap is passed: what the server wrote is the cap plus what the
        // sockets buffered, nowhere near the whole body.
        let written = tokio::task::spawn_blocking(move || server.join().unwrap()).await.unwrap();
        assert!(written < 32 * MIB, "the server wrote {written} bytes");
    }

    #[tokio::test]
    async fn an_oversized_psp_answer_fails_like_an_unreadable_one() {
        let (base, _server) = serve_once(200, Framing::Length, 2 * MIB);
        let response = client().get(&base).send().await.unwrap();
        match read_body("Stripe", CallKind::Charge, response).await {
            Err(ConnectorError::Ambiguous { reason }) => {
                assert!(reason.starts_with("Stripe: the request failed reading the response"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        let (base, _server) = serve_once(200, Framing::Chunked, 2 * MIB);
        let response = client().get(&base).send().await.unwrap();
        assert!(matches!(
            read_body("Adyen", CallKind::Read, response).await,
            Err(ConnectorError::NotProcessed { retry_after: None, .. })
        ));
    }
}
