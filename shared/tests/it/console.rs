//! The console's security and error behaviour, in process (the browser journey is
//! `infra/local/tests/it/console_e2e.rs`): sealed `HttpOnly` / `SameSite=Strict` / `Secure`-off-loopback
//! cookies, CSRF on every state change, sessions that end with their credential, merchant and admin pages
//! kept apart, and readable error pages.

use http::header;
use lambda_http::{Body, Request, RequestExt, Response};
use pivota::app::App;
use pivota::settings::Settings;
use pivota_console::{self as console, session::Role, session::Session};
use secrecy::SecretString;

use crate::fixtures::{ADMIN_TOKEN, approved_merchant, call, embedded_app};

/// A browser of one: keeps the session cookie, reads the CSRF token off the last page.
struct Browser<'a> {
    app: &'a App,
    host: &'static str,
    cookie: Option<String>,
    csrf: Option<String>,
}

struct Page {
    status: u16,
    location: Option<String>,
    set_cookie: Option<String>,
    html: String,
}

impl<'a> Browser<'a> {
    fn new(app: &'a App) -> Self {
        Self { app, host: "127.0.0.1:3000", cookie: None, csrf: None }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send("GET", path, Body::Empty).await
    }

    /// Posts a form, with this session's CSRF token unless the fields carry one.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        if !fields.iter().any(|(k, _)| *k == "csrf") {
            form.append_pair("csrf", self.csrf.as_deref().unwrap_or_default());
        }
        for (name, value) in fields {
            form.append_pair(name, value);
        }
        self.send("POST", path, Body::Text(form.finish())).await
    }

    async fn send(&mut self, method: &str, path: &str, body: Body) -> Page {
        let mut builder = http::Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, self.host)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(cookie) = &self.cookie {
            builder = builder.header(header::COOKIE, format!("{}={cookie}", console::session::COOKIE));
        }
        let request: Request = builder.body(body).unwrap();
        let query: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes()).into_owned().collect();
        let response = console::handle(self.app, request.with_query_string_parameters(query)).await;
        self.read(response)
    }

    fn read(&mut self, response: Response<Body>) -> Page {
        let header = |name: header::HeaderName| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
        let set_cookie = header(header::SET_COOKIE);
        if let Some(cookie) = &set_cookie {
            let value = cookie.split(';').next().unwrap().split_once('=').unwrap().1;
            self.cookie = (!value.is_empty()).then(|| value.to_owned());
        }
        let html = String::from_utf8_lossy(response.body().as_ref()).into_owned();
        if let Some(at) = html.find(r#"name="csrf" value=""#) {
            let rest = &html[at + r#"name="csrf" value=""#.len()..];
            self.csrf = Some(rest[..rest.find('"').unwrap()].to_owned());
        }
        Page { status: response.status().as_u16(), location: header(header::LOCATION), set_cookie, html }
    }

    /// Signs in and opens the page it lands on (whose forms carry the new session's token).
    async fn sign_in_as_merchant(&mut self, key: &str) -> Page {
        self.get("/console/sign-in").await;
        let signed_in = self.post("/console/sign-in", &[("role", "merchant"), ("api_key", key)]).await;
        assert_eq!(signed_in.status, 303, "{}", signed_in.html);
        self.get(&signed_in.location.unwrap()).await
    }
}

#[tokio::test]
async fn session_cookies_are_sealed_httponly_strict_and_secure_except_on_loopback() {
    let test = embedded_app(Settings::default()).await;
    let (_, key) = approved_merchant(&test.app, "cookie@acme.example").await;
    let mut local = Browser::new(&test.app);
    let page = local.get("/console/sign-in").await;
    let cookie = page.set_cookie.expect("a visitor gets a session for the forms' CSRF tokens");
    assert!(cookie.contains("; Path=/console; Max-Age=28800; HttpOnly; SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains("Secure"), "no Secure cookie over plain HTTP on a loopback host: {cookie}");
    let signed_in = local.post("/console/sign-in", &[("role", "merchant"), ("api_key", &key)]).await;
    assert_eq!((signed_in.status, signed_in.location.as_deref()), (303, Some("/console/overview")));
    let cookie = signed_in.set_cookie.expect("signing in starts a new session");
    assert!(!cookie.contains(&key) && !cookie.contains(&key[9..]), "the key is sealed, not readable: {cookie}");
    assert!(cookie.contains("HttpOnly; SameSite=Strict"));
    let mut remote = Browser { host: "console.pivota.example", ..Browser::new(&test.app) };
    let cookie = remote.get("/console/sign-in").await.set_cookie.unwrap();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    // The stylesheet and script need no session (no secret is read to serve them) and set no cookie.
    let mut fresh = Browser::new(&test.app);
    let css = fresh.get("/console/static/app.css").await;
    assert_eq!(css.status, 200);
    assert!(css.set_cookie.is_none() && css.html.contains("--accent"));
    assert_eq!(fresh.get("/console/static/app.js").await.status, 200);
    // Security headers on every page.
    let response = console::handle(&test.app, http::Request::get("/console/sign-in").body(Body::Empty).unwrap()).await;
    let csp = response.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn forms_without_this_sessions_csrf_token_are_refused_and_change_nothing() {
    let test = embedded_app(Settings::default()).await;
    let (_, key) = approved_merchant(&test.app, "csrf@acme.example").await;
    let mut victim = Browser::new(&test.app);
    victim.get("/console/sign-in").await;
    // No token, a made-up token, and another session's token.
    let mut other = Browser::new(&test.app);
    other.get("/console/sign-in").await;
    let foreign = other.csrf.clone().unwrap();
    for token in ["", "forged", foreign.as_str()] {
        let page = victim.post("/console/sign-in", &[("csrf", token), ("role", "merchant"), ("api_key", &key)]).await;
        assert_eq!(page.status, 403, "token {token:?}");
        assert!(page.set_cookie.is_none(), "no session starts");
        assert!(page.html.contains("This form expired"), "{}", page.html);
    }
    // Signed in, a cross-site form (no token) cannot create a key.
    victim.sign_in_as_merchant(&key).await;
    let page = victim.post("/console/api-keys", &[("csrf", "forged"), ("name", "attacker"), ("mode", "test")]).await;
    assert_eq!(page.status, 403);
    let keys = victim.get("/console/api-keys").await;
    assert!(!keys.html.contains("attacker"));
    // With the token, it can.
    let created = victim.post("/console/api-keys", &[("name", "checkout"), ("mode", "test")]).await;
    assert_eq!(created.status, 201, "{}", created.html);
    assert!(created.html.contains("pvk_test_"));
}

#[tokio::test]
async fn tampered_expired_and_revoked_sessions_go_back_to_sign_in() {
    let test = embedded_app(Settings::default()).await;
    let (id, key) = approved_merchant(&test.app, "revoked@acme.example").await;
    let mut browser = Browser::new(&test.app);
    browser.sign_in_as_merchant(&key).await;
    assert_eq!(browser.get("/console/overview").await.status, 200);
    // One flipped character: not ours.
    let good = browser.cookie.clone().unwrap();
    let mut tampered = good.clone().into_bytes();
    tampered[20] = if tampered[20] == b'A' { b'B' } else { b'A' };
    browser.cookie = Some(String::from_utf8(tampered).unwrap());
    let page = browser.get("/console/overview").await;
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/console/sign-in?next=%2Fconsole%2Foverview")));
    // Expired: sealed by us, but its time is up.
    let then = test.app.clock.now() - time::Duration::hours(9);
    let expired = Session::signed_in(Role::Merchant, Some(id.clone()), None, SecretString::from(key.clone()), then);
    browser.cookie = Some(expired.seal(&test.app).await.unwrap());
    assert_eq!(browser.get("/console/overview").await.status, 303);
    // Revoked: the key the session holds stops working, and so does the session.
    browser.cookie = Some(good);
    let (status, second) = call(&test.app, "POST", &format!("/merchant/{id}/api-keys"))
        .bearer(&key)
        .json(serde_json::json!({"name": "second", "mode": "test"}))
        .send()
        .await;
    assert_eq!(status, 201);
    let first_key_id = call(&test.app, "GET", &format!("/merchant/{id}/api-keys")).bearer(&key).send().await.1["items"]
        [0]["key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = call(&test.app, "DELETE", &format!("/merchant/{id}/api-keys/{first_key_id}"))
        .bearer(second["api_key"].as_str().unwrap())
        .send()
        .await;
    assert_eq!(status, 204);
    let page = browser.get("/console/overview").await;
    assert_eq!(page.status, 303, "{}", page.html);
    assert!(page.location.unwrap().starts_with("/console/sign-in"));
}

#[tokio::test]
async fn merchant_and_admin_pages_are_kept_apart() {
    let test = embedded_app(Settings::default()).await;
    let (id, key) = approved_merchant(&test.app, "apart@acme.example").await;
    let mut merchant = Browser::new(&test.app);
    merchant.sign_in_as_merchant(&key).await;
    assert_eq!(merchant.get("/console/admin/merchants").await.status, 403);
    assert_eq!(merchant.get(&format!("/console/admin/merchants/{id}")).await.status, 403);
    let mut admin = Browser::new(&test.app);
    admin.get("/console/sign-in").await;
    let refused = admin.post("/console/sign-in", &[("role", "admin"), ("admin_token", "not-the-token")]).await;
    assert_eq!(refused.status, 401);
    assert!(refused.html.contains("That admin token is not valid."));
    let signed_in = admin.post("/console/sign-in", &[("role", "admin"), ("admin_token", ADMIN_TOKEN)]).await;
    assert_eq!(signed_in.location.as_deref(), Some("/console/admin/merchants"));
    assert_eq!(admin.get("/console/stores").await.status, 403);
    let list = admin.get("/console/admin/merchants?status=approved").await;
    assert_eq!(list.status, 200);
    assert!(list.html.contains("apart@acme.example"));
    // A decided merchant offers no decision forms, and the API's 409 guards a forged one.
    let detail = admin.get(&format!("/console/admin/merchants/{id}")).await;
    assert!(detail.html.contains("decisions are final") && !detail.html.contains(">Reject</button>"));
    let forged = admin.post(&format!("/console/admin/merchants/{id}/reject"), &[("reason", "late")]).await;
    assert_eq!(forged.status, 409, "{}", forged.html);
    // A sign-in link never sends anyone off-site.
    for next in ["https://evil.example/", "//evil.example", "/console/../x\\y"] {
        let mut visitor = Browser::new(&test.app);
        visitor.get("/console/sign-in").await;
        let page =
            visitor.post("/console/sign-in", &[("role", "admin"), ("admin_token", ADMIN_TOKEN), ("next", next)]).await;
        assert_eq!(page.location.as_deref(), Some("/console/admin/merchants"), "next={next}");
    }
}

#[tokio::test]
async fn errors_are_readable_pages_with_the_request_id_never_a_trace() {
    let test = embedded_app(Settings::default()).await;
    let (_, key) = approved_merchant(&test.app, "errors@acme.example").await;
    let mut browser = Browser::new(&test.app);
    let missing = browser.get("/console/no-such-page").await;
    assert_eq!(missing.status, 404);
    assert!(missing.html.contains("There is no such page.") && missing.html.contains("Request id"));
    let wrong_method = browser.post("/console/overview", &[]).await;
    assert_eq!(wrong_method.status, 405);
    browser.sign_in_as_merchant(&key).await;
    // The registration form comes back with each server error next to its field.
    let mut visitor = Browser::new(&test.app);
    visitor.get("/console/register").await;
    let refused = visitor
        .post(
            "/console/register",
            &[("business_name", ""), ("email", "nope"), ("country", "XX"), ("website", "ftp://x")],
        )
        .await;
    assert_eq!(refused.status, 422);
    for (field, message) in [("email", "e-mail address"), ("country", "ISO 3166-1"), ("website", "http or https")] {
        let slot = format!(r#"id="register-{field}-error" aria-live="polite">"#);
        let at = refused.html.find(&slot).unwrap_or_else(|| panic!("{field} has an error slot"));
        assert!(refused.html[at..at + 200].contains(message), "{field}: {}", &refused.html[at..at + 200]);
    }
    assert!(refused.html.contains(r#"aria-invalid="true""#));
    // A routing rule naming an unconnected PSP: the API's field error shows on that rule's row, whichever
    // form row it was typed in (empty rows are skipped).
    let connected = browser.post("/console/psp/connect", &[("psp", "sandbox")]).await;
    assert_eq!(connected.location.as_deref(), Some("/console/psp?notice=psp-connected"));
    browser.get("/console/routing").await;
    let routing = browser
        .post(
            "/console/routing",
            &[("priority[0]", "sandbox"), ("rules[1].psp", "adyen"), ("rules[1].currency", "EUR")],
        )
        .await;
    assert_eq!(routing.status, 422, "{}", routing.html);
    let slot = r#"id="rules[0].psp-error">"#;
    let at = routing.html.find(slot).expect("the rule's error slot");
    assert!(routing.html[at..at + 120].contains("not connected"), "{}", &routing.html[at..at + 120]);
    for page in [&missing, &refused, &routing] {
        assert!(!page.html.contains("panicked") && !page.html.contains("src/"), "no internals leak");
    }
}

#[tokio::test]
async fn the_console_sample_event_is_served_by_the_console() {
    let test = embedded_app(Settings::default()).await;
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../events/console.json")).unwrap();
    let request = lambda_http::request::from_str(&text).expect("a valid API Gateway v2 payload");
    assert_eq!(request.uri().path(), "/console/products");
    // The sample's cookie is not a session Pivota sealed: the visitor is sent to sign in, and back after.
    let response = console::handle(&test.app, request).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/console/sign-in?next=%2Fconsole%2Fproducts%3Fq%3Dtrail%26low_stock%3Dtrue"
    );
    assert_eq!(response.headers()["x-request-id"], "Vx1aRgEXAMPLE42=");
}

#[tokio::test]
async fn the_routing_editor_saves_the_test_payment_method_and_shows_its_error() {
    let test = embedded_app(Settings::default()).await;
    let (_, key) = approved_merchant(&test.app, "pm@acme.example").await;
    let mut browser = Browser::new(&test.app);
    browser.sign_in_as_merchant(&key).await;
    browser.post("/console/psp/connect", &[("psp", "sandbox")]).await;
    browser.get("/console/routing").await;
    let refused =
        browser.post("/console/routing", &[("priority[0]", "sandbox"), ("test_payment_method", "pm card visa")]).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    let slot = r#"id="routing-test_payment_method-error" aria-live="polite">"#;
    let at = refused.html.find(slot).expect("the field's error slot");
    assert!(!refused.html[at + slot.len()..].starts_with('<'), "an error is shown: {}", &refused.html[at..at + 150]);
    let saved = browser
        .post("/console/routing", &[("priority[0]", "sandbox"), ("test_payment_method", "pm_card_mastercard")])
        .await;
    assert_eq!(saved.location.as_deref(), Some("/console/routing?notice=routing-saved"));
    let page = browser.get("/console/routing").await;
    assert!(
        page.html.contains(r#"name="test_payment_method" type="text" value="pm_card_mastercard""#),
        "{}",
        page.html
    );
}

#[tokio::test]
async fn adyens_refusal_shows_on_the_adyen_form_next_to_the_field_it_names() {
    use pivota::payments::psp::{ConnectorSettings, PspKind};
    use pivota_fakes::FakeAdyen;
    let adyen = FakeAdyen::start().await;
    let settings = Settings {
        connectors: ConnectorSettings::default().with_api_base(PspKind::Adyen, adyen.uri()),
        ..Settings::default()
    };
    let test = embedded_app(settings).await;
    let (_, key) = approved_merchant(&test.app, "adyen@acme.example").await;
    let mut browser = Browser::new(&test.app);
    browser.sign_in_as_merchant(&key).await;
    let form = |key: &'static str, account: &'static str| {
        [("psp", "adyen"), ("api_key", key), ("merchant_account", account), ("environment", "test")]
    };
    let refused = browser.post("/console/psp/connect", &form(FakeAdyen::API_KEY, "SomeoneElseECOM")).await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    let slot = r#"id="adyen-merchant_account-error" aria-live="polite">"#;
    let at = refused.html.find(slot).expect("the Adyen form's merchant account slot");
    assert!(refused.html[at..at + 200].contains("merchant account"), "{}", &refused.html[at..at + 200]);
    assert!(refused.html.contains(r#"value="SomeoneElseECOM""#), "the account typed is kept");
    assert!(!refused.html.contains(FakeAdyen::API_KEY), "the key is never shown again");
    // The Stripe form is untouched by Adyen's refusal.
    assert!(refused.html.contains(r#"id="stripe-api_key-error" aria-live="polite"></p>"#));
    let refused = browser.post("/console/psp/connect", &form("AQEwrong", FakeAdyen::MERCHANT_ACCOUNT)).await;
    assert_eq!(refused.status, 400);
    assert!(!refused.html.contains(r#"id="adyen-api_key-error" aria-live="polite"></p>"#), "the key's error shows");
    let connected = browser.post("/console/psp/connect", &form(FakeAdyen::API_KEY, FakeAdyen::MERCHANT_ACCOUNT)).await;
    assert_eq!(connected.location.as_deref(), Some("/console/psp?notice=psp-connected"));
    assert_eq!(adyen.requests(), 3);
}
