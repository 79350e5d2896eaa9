//! The domain's error type. Every failure a handler can meet is one of these; `pivota_http::problem` maps each to
//! an RFC 9457 problem response, in one place.

use crate::kernel::validation::FieldErrors;
use crate::ports::{QueueError, SearchError, SecretsError, StoreError, WorkflowError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The body is not JSON, or not an object: 400.
    #[error("the request body is not valid JSON: {0}")]
    MalformedBody(String),
    /// A query or path parameter is malformed: 400, naming it.
    #[error("{field}: {message}")]
    BadParameter { field: String, message: String },
    /// Fields failed validation: 422, naming each.
    #[error("the request has invalid fields")]
    Validation(FieldErrors),
    /// No credentials, or credentials that do not authenticate: 401.
    #[error("missing or invalid credentials")]
    Unauthenticated,
    /// Authenticated, but this credential may not do this (a test key acting on live resources, a suspended
    /// merchant): 403, saying why.
    #[error("{0}")]
    Forbidden(String),
    /// Not found, or not visible to this caller: 404.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with the resource's state: 409.
    #[error("{0}")]
    Conflict(String),
    /// The path exists but not with this method: 405.
    #[error("this method is not allowed on this path")]
    MethodNotAllowed,
    /// The body is larger than the route accepts: 413.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// The body is not JSON by its content type: 415.
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    /// A PSP refused what the merchant gave us (a bad key, an unknown merchant account): 400, naming
    /// the field and carrying the PSP's reason (never the key).
    #[error("{psp} refused the {field}: {reason}")]
    PspRejected { psp: &'static str, field: &'static str, reason: String },
    /// A store platform refused what the merchant gave us (a bad token): 400, naming the field and carrying
    /// the platform's reason (never the token).
    #[error("{platform} refused the {field}: {reason}")]
    StoreRejected { platform: &'static str, field: &'static str, reason: String },
    /// A store is unreachable, rate limiting, timed out or answered unexpectedly: 502. Says to retry.
    #[error("{0}")]
    StoreUnavailable(String),
    /// A PSP is unreachable, timed out or failed: 502. The message says to retry.
    #[error("{0}")]
    BadGateway(String),
    /// A payment was declined: 402, with the payment's details as extension members.
    #[error("the payment was declined ({decline_code})")]
    PaymentDeclined { decline_code: String, payment: Box<serde_json::Value> },
    /// A dependency failed in a way worth retrying: 503.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    /// A bug or a misconfiguration: 500. The message is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn bad_parameter(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::BadParameter { field: field.into(), message: message.into() }
    }

    /// Whether retrying the same call later may succeed (drives Lambda's and Step Functions' retries).
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Unavailable(_))
    }
}

impl From<FieldErrors> for Error {
    fn from(errors: FieldErrors) -> Self {
        Error::Validation(errors)
    }
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Transient(e) => Error::Unavailable(format!("table: {e}")),
            StoreError::InvalidCursor => Error::bad_parameter("cursor", "is not a cursor returned by this listing"),
            StoreError::ConditionFailed | StoreError::TransactionCancelled { .. } => {
                Error::Conflict("the resource was changed concurrently; retry the request".into())
            }
            StoreError::Other(e) => Error::Internal(format!("table: {e}")),
        }
    }
}

impl From<SecretsError> for Error {
    fn from(error: SecretsError) -> Self {
        match error {
            SecretsError::Transient(e) => Error::Unavailable(format!("secrets: {e}")),
            // Pivota names every secret afresh; a reused name is a bug, not the caller's fault.
            e @ SecretsError::NameDeleted(_) => Error::Internal(format!("secrets: {e}")),
            SecretsError::Other(e) => Error::Internal(format!("secrets: {e}")),
        }
    }
}

impl From<WorkflowError> for Error {
    fn from(error: WorkflowError) -> Self {
        match error {
            WorkflowError::Transient(e) => Error::Unavailable(format!("workflow: {e}")),
            WorkflowError::Other(e) => Error::Internal(format!("workflow: {e}")),
        }
    }
}

impl From<SearchError> for Error {
    fn from(error: SearchError) -> Self {
        match error {
            SearchError::InvalidCursor => Error::bad_parameter("cursor", "is not a cursor returned by this search"),
            SearchError::Transient(e) => Error::Unavailable(format!("search index: {e}")),
            SearchError::Other(e) => Error::Internal(format!("search index: {e}")),
        }
    }
}

impl From<QueueError> for Error {
    fn from(error: QueueError) -> Self {
        match error {
            QueueError::Transient(e) => Error::Unavailable(format!("queue: {e}")),
            other => Error::Internal(format!("queue: {other}")),
        }
    }
}
