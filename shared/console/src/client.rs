//! The console is a client of the public API, in process: each action is an API request dispatched
//! through the API functions in [`API`] with the session's credential as its bearer token. The console so gets
//! exactly the API's validation, tenant isolation and idempotency, and its field errors to show next to
//! the form fields.

use std::collections::HashMap;

use http::{Method, header};
use lambda_http::{Body, Request, RequestExt};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use pivota::app::App;
use pivota_http::{Route, routes};

/// The API functions the console's pages call: the console's binary links these handlers and no others,
/// and its IAM role needs what they need (`infra/iam/check.py` reads this list).
pub static API: &[&[Route]] = &[
    routes::REGISTER,
    routes::MERCHANT_GET,
    routes::API_KEYS,
    routes::PSP_CONNECT,
    routes::PSP_CONNECTIONS,
    routes::ROUTING,
    routes::ORDERS_LIST,
    routes::PRODUCTS,
    routes::STORE_CONNECT,
    routes::STORES_LIST,
    routes::STORE_UPDATE,
    routes::STORE_SYNC,
    routes::STORE_DISCONNECT,
    routes::WEBHOOKS_SETUP,
    routes::ADMIN_MERCHANTS,
    routes::ADMIN_REVIEW,
];

/// The API, as one signed-in user.
pub struct Client<'a> {
    pub app: &'a App,
    pub bearer: Option<&'a SecretString>,
    pub request_id: &'a str,
    /// The console request's `Host`, passed on: the API derives Pivota's public address from it when
    /// `PIVOTA_PUBLIC_BASE_URL` is empty.
    pub host: Option<&'a str>,
}

/// An API answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The problem's `detail`, for a message above a form.
    pub fn detail(&self) -> String {
        self.body["detail"].as_str().unwrap_or("the request failed").to_owned()
    }

    /// The problem's field errors, by field name (the first message of each).
    pub fn field_errors(&self) -> HashMap<String, String> {
        let mut errors = HashMap::new();
        for error in self.body["errors"].as_array().into_iter().flatten() {
            if let (Some(field), Some(message)) = (error["field"].as_str(), error["message"].as_str()) {
                errors.entry(field.to_owned()).or_insert_with(|| message.to_owned());
            }
        }
        errors
    }

    pub fn str(&self, field: &str) -> Option<&str> {
        self.body[field].as_str()
    }

    pub fn items(&self) -> &[Value] {
        self.body["items"].as_array().map(Vec::as_slice).unwrap_or_default()
    }
}

impl Client<'_> {
    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> Reply {
        self.call(Method::GET, path, query, None).await
    }

    pub async fn send(&self, method: Method, path: &str, body: Value) -> Reply {
        self.call(method, path, &[], Some(body)).await
    }

    async fn call(&self, method: Method, path: &str, query: &[(&str, &str)], body: Option<Value>) -> Reply {
        let query: HashMap<String, String> =
            query.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let mut builder = http::Request::builder().method(method).uri(path).header("x-request-id", self.request_id);
        if let Some(host) = self.host {
            builder = builder.header(header::HOST, host);
        }
        if let Some(bearer) = self.bearer {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {}", bearer.expose_secret()));
        }
        let body = match body {
            Some(json) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Body::Text(json.to_string())
            }
            None => Body::Empty,
        };
        let request: Request = match builder.body(body) {
            Ok(request) => request.with_query_string_parameters(query),
            Err(e) => return Reply { status: 400, body: serde_json::json!({"detail": e.to_string()}) },
        };
        let routes: Vec<&Route> = API.iter().flat_map(|routes| routes.iter()).collect();
        let response = pivota_http::dispatch(self.app, &routes, request).await;
        let status = response.status().as_u16();
        let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
        Reply { status, body }
    }
}
