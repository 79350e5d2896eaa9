//! What all adapters need to know about a failed SDK call: may it be retried, and what to say about it.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// Error codes that mean "try again later", across the services we use.
const TRANSIENT_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "InternalServerError",
    "InternalServerErrorException",
    "InternalFailure",
    "InternalServiceError",
    "InternalServiceErrorException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    // A single write that collided with a transaction in flight on the same item.
    "TransactionConflictException",
];

/// An operation's modeled error, as every generated SDK error type is.
pub(crate) trait OperationError: ProvideErrorMetadata + std::error::Error + 'static {}

impl<E: ProvideErrorMetadata + std::error::Error + 'static> OperationError for E {}

/// Throttling, 5xx responses, timeouts and failures to reach the service at all.
pub(crate) fn is_transient<E: OperationError>(err: &SdkError<E, HttpResponse>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => {
            service.raw().status().is_server_error()
                || service.err().code().is_some_and(|code| TRANSIENT_CODES.contains(&code))
        }
        _ => false,
    }
}

/// The service's error code, when the service answered with one.
pub(crate) fn code<E: OperationError>(err: &SdkError<E, HttpResponse>) -> Option<&str> {
    err.as_service_error().and_then(ProvideErrorMetadata::code)
}

/// `"<operation>: <code>: <message>"`, or the transport failure. Never includes the request, so secret
/// values and item contents cannot leak into logs through it.
pub(crate) fn describe<E: OperationError>(operation: &str, err: &SdkError<E, HttpResponse>) -> String {
    match err.as_service_error() {
        Some(service) => format!(
            "{operation}: {}: {}",
            service.code().unwrap_or("UnknownError"),
            service.message().unwrap_or("no message")
        ),
        None => format!("{operation}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(err)),
    }
}
