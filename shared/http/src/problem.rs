//! RFC 9457 problem details: the one place where a domain [`Error`] becomes an HTTP response.

use http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;
use tracing::{error, info};

use pivota::kernel::error::Error;
use pivota::kernel::validation::FieldError;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An `application/problem+json` body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem, e.g. `/problems/validation-error`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request path.
    pub instance: String,
    /// The id in the `x-request-id` header and in the logs.
    pub request_id: String,
    /// Each offending field, for 400 and 422.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Extension members of the problem type (a declined payment's `payment_id`, `decline_code`, …).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

impl Problem {
    pub fn from_error(error: &Error, instance: &str, request_id: &str) -> Self {
        let (status, slug, title) = classify(error);
        // Third parties' messages may echo what they were sent: nothing card-like is ever returned.
        let detail = pivota::payments::card::redact_card_numbers(&match error {
            // Internal details stay in the logs.
            Error::Internal(_) => "an unexpected error occurred; quote the request id when reporting it".to_owned(),
            Error::Unavailable(_) => "a dependency is temporarily unavailable; retry the request shortly".to_owned(),
            other => other.to_string(),
        });
        let errors = match error {
            Error::Validation(fields) => fields.iter().cloned().collect(),
            Error::BadParameter { field, message } => {
                vec![FieldError::new(field.clone(), message.clone())]
            }
            Error::MalformedBody(_) => vec![FieldError::new("body", "is not valid JSON")],
            Error::PspRejected { field, reason, .. } | Error::StoreRejected { field, reason, .. } => {
                vec![FieldError::new(*field, pivota::payments::card::redact_card_numbers(reason))]
            }
            _ => Vec::new(),
        };
        let extensions = match error {
            Error::PaymentDeclined { payment, .. } => payment.as_object().cloned().unwrap_or_default(),
            _ => Default::default(),
        };
        Self {
            kind: format!("/problems/{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            instance: instance.to_owned(),
            request_id: request_id.to_owned(),
            errors,
            extensions,
        }
    }
}

fn classify(error: &Error) -> (StatusCode, &'static str, &'static str) {
    match error {
        Error::MalformedBody(_) => (StatusCode::BAD_REQUEST, "malformed-body", "Malformed request body"),
        Error::BadParameter { .. } => (StatusCode::BAD_REQUEST, "invalid-parameter", "Invalid parameter"),
        Error::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation-error", "Validation failed"),
        Error::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated", "Authentication required"),
        Error::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
        Error::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
        Error::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
        Error::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed"),
        Error::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", "Payload too large"),
        Error::UnsupportedMediaType => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported media type")
        }
        Error::PspRejected { .. } => (StatusCode::BAD_REQUEST, "psp-rejected", "Rejected by the payment provider"),
        Error::StoreRejected { .. } => (StatusCode::BAD_REQUEST, "store-rejected", "Rejected by the store"),
        Error::StoreUnavailable(_) => (StatusCode::BAD_GATEWAY, "store-unavailable", "Store unavailable"),
        Error::BadGateway(_) => (StatusCode::BAD_GATEWAY, "psp-unavailable", "Payment provider unavailable"),
        Error::PaymentDeclined { .. } => (StatusCode::PAYMENT_REQUIRED, "payment-declined", "Payment declined"),
        Error::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable"),
        Error::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
    }
}

/// The problem for an error, logged at a level that fits it (the REST API's responses, the MCP tools'
/// refusals).
pub fn logged(error: &Error, instance: &str, request_id: &str) -> Problem {
    let problem = Problem::from_error(error, instance, request_id);
    if problem.status >= 500 {
        error!(status = problem.status, error = %error, instance, "request failed");
    } else {
        info!(status = problem.status, error = %error, instance, "request refused");
    }
    problem
}

/// The response for an error, logged at a level that fits it.
pub fn error_response(error: &Error, instance: &str, request_id: &str) -> Response<Body> {
    let problem = logged(error, instance, request_id);
    let body = serde_json::to_string(&problem).unwrap_or_default();
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    match error {
        Error::Unauthenticated => {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        Error::Unavailable(_) => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        _ => {}
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use pivota::kernel::validation::FieldErrors;

    #[test]
    fn validation_errors_become_422_naming_each_field() {
        let mut fields = FieldErrors::default();
        fields.push("email", "is required");
        fields.push("country", "must be an ISO code");
        let response = error_response(&Error::Validation(fields), "/merchant/register", "req-1");
        assert_eq!(response.status(), 422);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        let body: serde_json::Value = serde_json::from_slice(response.body().as_ref()).unwrap();
        assert_eq!(body["type"], "/problems/validation-error");
        assert_eq!(body["status"], 422);
        assert_eq!(body["errors"][0]["field"], "email");
        assert_eq!(body["errors"][1]["field"], "country");
        assert_eq!(body["request_id"], "req-1");
    }

    #[test]
    fn internal_details_are_never_shown() {
        let response = error_response(&Error::Internal("table pivota-prod exploded".into()), "/x", "req-2");
        assert_eq!(response.status(), 500);
        let body = String::from_utf8(response.body().to_vec()).unwrap();
        assert!(!body.contains("pivota-prod"), "{body}");
    }
}
