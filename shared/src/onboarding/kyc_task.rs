//! The `kyc-approve` task, as the KYC state machine (or the local runner playing it) invokes it.

use serde::{Deserialize, Serialize};

use crate::kernel::error::Error;
use crate::onboarding::kyc::HasKycRules;
use crate::onboarding::merchant::MerchantId;
use crate::onboarding::{self, KycRun};
use crate::ports::HasClock;
use crate::ports::HasTable;
use crate::ports::KycWaitInput;

/// The task's output, recorded in the execution history.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct KycTaskOutput {
    pub merchant_id: String,
    #[serde(flatten)]
    pub run: KycRun,
}

/// A failed task. `error_type` tells the state machine whether to retry: its Retry matches `TransientError`.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("transient: {0}")]
    Transient(String),
    #[error("{0}")]
    Fatal(String),
}

impl TaskError {
    /// The error's name in the execution history, which the state machine's Retry and Catch match on.
    pub fn error_type(&self) -> &'static str {
        match self {
            TaskError::Transient(_) => "TransientError",
            TaskError::Fatal(_) => "KycTaskError",
        }
    }
}

impl From<Error> for TaskError {
    fn from(error: Error) -> Self {
        if error.is_transient() { TaskError::Transient(error.to_string()) } else { TaskError::Fatal(error.to_string()) }
    }
}

/// What the state machine passes: the execution's input, and after a caught failure of the checks the
/// failure (the `Catch`'s `ResultPath: $.failure`, Step Functions' `{"Error", "Cause"}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KycTaskInput {
    pub merchant_id: String,
    #[serde(default)]
    pub wait_seconds: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<TaskFailure>,
}

/// A failed state's error, as Step Functions hands it to a `Catch`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFailure {
    #[serde(rename = "Error", default)]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

/// The checks, or, after they failed for good, the merchant routed to manual review with the reason.
pub async fn handle_event(
    app: &(impl HasTable + HasClock + HasKycRules),
    input: KycTaskInput,
) -> Result<KycTaskOutput, TaskError> {
    crate::invocation::serve_as("kyc-approve", decide(app, input)).await
}

async fn decide(
    app: &(impl HasTable + HasClock + HasKycRules),
    input: KycTaskInput,
) -> Result<KycTaskOutput, TaskError> {
    let merchant_id = parse_merchant_id(&input.merchant_id)?;
    let run = match &input.failure {
        None => onboarding::run_automatic_kyc(app, &merchant_id).await?,
        Some(failure) => {
            // The cause can be long (a stack of SDK errors); the reason is for an admin to read.
            let cause: String = failure.cause.chars().take(300).collect();
            let reason = format!("the automatic KYC checks failed ({}: {cause}); review by hand", failure.error);
            onboarding::route_to_manual_review(app, &merchant_id, reason).await?
        }
    };
    Ok(KycTaskOutput { merchant_id: input.merchant_id, run })
}

pub async fn handle(
    app: &(impl HasTable + HasClock + HasKycRules),
    input: KycWaitInput,
) -> Result<KycTaskOutput, TaskError> {
    handle_event(app, KycTaskInput { merchant_id: input.merchant_id, wait_seconds: input.wait_seconds, failure: None })
        .await
}

fn parse_merchant_id(raw: &str) -> Result<MerchantId, TaskError> {
    MerchantId::parse(raw).ok_or_else(|| TaskError::Fatal(format!("{raw:?} is not a merchant id")))
}
